//! Date and time functions on RFC 3339 timestamps, with the proleptic
//! Gregorian calendar done by hand (days since the Unix epoch). The
//! current time (`timestamp`, `plantimestamp`) is unknown by design.

use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("formatdate", Exactly(2), formatdate),
    Function::new("plantimestamp", Exactly(0), super::unknown),
    Function::new("timeadd", Exactly(2), timeadd),
    Function::new("timecmp", Exactly(2), timecmp),
    Function::new("timestamp", Exactly(0), super::unknown),
];

/// An instant with the UTC offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timestamp {
    /// Seconds since the epoch, UTC.
    seconds: i64,
    nanos: u32,
    /// Seconds east of UTC.
    offset: i32,
}

/// The local calendar fields of a timestamp.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 is Sunday.
    weekday: u32,
}

impl Timestamp {
    /// Strict RFC 3339, as Terraform reads it.
    fn parse(text: &str) -> Result<Timestamp, String> {
        let bad = |what: &str| format!("not a valid RFC3339 timestamp: {what}");
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(bad("too short"));
        }
        let field = |range: std::ops::Range<usize>, min: u32, max: u32, what: &str| {
            let part = &text[range];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                let v: u32 = part.parse().unwrap_or(0);
                if (min..=max).contains(&v) {
                    return Ok(v);
                }
            }
            Err(bad(&format!("cannot use {part:?} as {what}")))
        };
        if !b[..19].is_ascii() {
            return Err(bad("unexpected character"));
        }
        let year = field(0..4, 0, 9999, "year")?;
        let month = field(5..7, 1, 12, "month")?;
        let day = field(
            8..10,
            1,
            days_in_month(i64::from(year), month),
            "day of month",
        )?;
        let hour = field(11..13, 0, 23, "hour")?;
        let minute = field(14..16, 0, 59, "minute")?;
        let second = field(17..19, 0, 59, "second")?;
        for (at, want) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
            if b[at] != want {
                return Err(bad(&format!(
                    "found {:?} where {:?} is expected",
                    char::from(b[at]),
                    char::from(want)
                )));
            }
        }
        let mut rest = &text[19..];
        let mut nanos = 0u32;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("missing digits after the decimal point"));
            }
            let padded = format!("{:0<9}", &fraction[..digits.min(9)]);
            nanos = padded.parse().unwrap_or(0);
            rest = &fraction[digits..];
        }
        let offset = if rest == "Z" {
            0
        } else {
            let o = rest.as_bytes();
            if o.len() != 6 || !matches!(o[0], b'+' | b'-') || o[3] != b':' {
                return Err(bad("missing or invalid UTC offset"));
            }
            let hours = parse_digits(&rest[1..3]).filter(|h| *h < 24);
            let minutes = parse_digits(&rest[4..6]).filter(|m| *m < 60);
            let (Some(h), Some(m)) = (hours, minutes) else {
                return Err(bad("UTC offset out of range"));
            };
            let seconds = i32::try_from(h * 3600 + m * 60).unwrap_or(0);
            if o[0] == b'-' {
                -seconds
            } else {
                seconds
            }
        };
        let days = days_from_civil(i64::from(year), month, day);
        let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Ok(Timestamp {
            seconds: local - i64::from(offset),
            nanos,
            offset,
        })
    }

    fn civil(&self) -> Civil {
        let local = self.seconds + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let secs = u32::try_from(local.rem_euclid(86_400)).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
        }
    }

    /// Go's RFC 3339 layout: no fractional seconds, `Z` for UTC.
    fn rfc3339(&self) -> String {
        let c = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            self.zone(true, true)
        )
    }

    /// `Z` or `+hh:mm` (`z_for_utc`), and `+hhmm` without the colon.
    fn zone(&self, z_for_utc: bool, colon: bool) -> String {
        if z_for_utc && self.offset == 0 {
            return "Z".to_string();
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let abs = self.offset.unsigned_abs();
        let separator = if colon { ":" } else { "" };
        format!("{sign}{:02}{separator}{:02}", abs / 3600, abs / 60 % 60)
    }
}

fn parse_digits(s: &str) -> Option<u32> {
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse().ok())?
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `formatdate(spec, timestamp)`: runs of a letter are verbs (`YYYY`,
/// `MMM`, `hh`, `ZZZZZ`, ...), `'...'` is literal text (`''` a quote).
fn formatdate(args: &Args<'_>) -> Result<Value, FunctionError> {
    let spec = args.string(0)?;
    let t = Timestamp::parse(&args.string(1)?).map_err(|m| args.invalid(1, m))?;
    let c = t.civil();
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c0 = chars[i];
        if c0 == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err(args.invalid(0, "unterminated literal '")),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        out.push(ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c0.is_ascii_alphabetic() {
            out.push(c0);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&ch| ch == c0).count();
        let verb: String = chars[i..i + run].iter().collect();
        let invalid =
            |rule: &str| args.invalid(0, format!("invalid date format verb {verb:?}: {rule}"));
        let text = match (c0, run) {
            ('Y', 2) => format!("{:02}", c.year.rem_euclid(100)),
            ('Y', 4) => format!("{:04}", c.year),
            ('Y', _) => return Err(invalid("year must either be \"YY\" or \"YYYY\"")),
            ('M', 1) => c.month.to_string(),
            ('M', 2) => format!("{:02}", c.month),
            ('M', 3) => MONTHS[c.month as usize - 1][..3].to_string(),
            ('M', 4) => MONTHS[c.month as usize - 1].to_string(),
            ('M', _) => return Err(invalid("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")),
            ('D', 1) => c.day.to_string(),
            ('D', 2) => format!("{:02}", c.day),
            ('D', _) => return Err(invalid("day of month must either be \"D\" or \"DD\"")),
            ('E', 3) => WEEKDAYS[c.weekday as usize][..3].to_string(),
            ('E', 4) => WEEKDAYS[c.weekday as usize].to_string(),
            ('E', _) => return Err(invalid("day of week must either be \"EEE\" or \"EEEE\"")),
            ('h', 1) => c.hour.to_string(),
            ('h', 2) => format!("{:02}", c.hour),
            ('h', _) => return Err(invalid("24-hour must either be \"h\" or \"hh\"")),
            ('H', 1 | 2) => {
                let h = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
                if run == 1 {
                    h.to_string()
                } else {
                    format!("{h:02}")
                }
            }
            ('H', _) => return Err(invalid("12-hour must either be \"H\" or \"HH\"")),
            ('A' | 'a', 2) => {
                let pm = if c.hour >= 12 { "PM" } else { "AM" };
                if c0 == 'a' {
                    pm.to_lowercase()
                } else {
                    pm.to_string()
                }
            }
            ('A' | 'a', _) => return Err(invalid(&format!("must be \"{c0}{c0}\""))),
            ('m', 1) => c.minute.to_string(),
            ('m', 2) => format!("{:02}", c.minute),
            ('m', _) => return Err(invalid("minute must either be \"m\" or \"mm\"")),
            ('s', 1) => c.second.to_string(),
            ('s', 2) => format!("{:02}", c.second),
            ('s', _) => return Err(invalid("second must either be \"s\" or \"ss\"")),
            ('Z', 1) => t.zone(true, true),
            ('Z', 3) if t.offset == 0 => "UTC".to_string(),
            ('Z', 3 | 4) => t.zone(false, false),
            ('Z', 5) => t.zone(false, true),
            ('Z', _) => return Err(invalid("timezone must be Z, ZZZZ, or ZZZZZ")),
            _ => return Err(args.invalid(0, format!("invalid date format verb {verb:?}"))),
        };
        out.push_str(&text);
        i += run;
    }
    Ok(Value::from(out))
}

/// `timeadd(timestamp, duration)`, the result written in the timestamp's
/// own offset.
fn timeadd(args: &Args<'_>) -> Result<Value, FunctionError> {
    let t = Timestamp::parse(&args.string(0)?).map_err(|m| args.invalid(0, m))?;
    let duration = parse_duration(&args.string(1)?).map_err(|m| args.invalid(1, m))?;
    let total = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos) + duration;
    let seconds = i64::try_from(total.div_euclid(1_000_000_000))
        .map_err(|_| args.fail("the result is out of range"))?;
    let result = Timestamp {
        seconds,
        nanos: u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0),
        offset: t.offset,
    };
    Ok(Value::from(result.rfc3339()))
}

/// -1, 0 or 1 as the first timestamp is before, equal to or after the
/// second.
fn timecmp(args: &Args<'_>) -> Result<Value, FunctionError> {
    let a = Timestamp::parse(&args.string(0)?).map_err(|m| args.invalid(0, m))?;
    let b = Timestamp::parse(&args.string(1)?).map_err(|m| args.invalid(1, m))?;
    let ordering = (a.seconds, a.nanos).cmp(&(b.seconds, b.nanos));
    Ok(Value::from(ordering as i64))
}

/// Go's `time.ParseDuration`, in nanoseconds: a signed sequence of decimal
/// numbers with units `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`.
fn parse_duration(text: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[number_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        rest = &rest[unit_len..];
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(unit).ok_or_else(invalid)?;
        let mut scale = unit;
        for digit in fraction.bytes().take(18) {
            scale /= 10;
            value += i128::from(digit - b'0') * scale;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
    }
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    let ts = || s("2018-01-02T23:12:01Z");
    vec![
        ok(
            "formatdate",
            vec![s("DD MMM YYYY hh:mm ZZZ"), ts()],
            s("02 Jan 2018 23:12 UTC"),
        ),
        ok(
            "formatdate",
            vec![s("EEEE, DD-MMM-YY hh:mm:ss ZZZ"), ts()],
            s("Tuesday, 02-Jan-18 23:12:01 UTC"),
        ),
        ok(
            "formatdate",
            vec![
                s("EEE, DD MMM YYYY hh:mm:ss ZZZ"),
                s("2018-01-02T23:12:01-08:00"),
            ],
            s("Tue, 02 Jan 2018 23:12:01 -0800"),
        ),
        ok(
            "formatdate",
            vec![s("MMMM D, YYYY"), ts()],
            s("January 2, 2018"),
        ),
        ok(
            "formatdate",
            vec![s("H:mm aa, HH AA"), ts()],
            s("11:12 pm, 11 PM"),
        ),
        ok(
            "formatdate",
            vec![s("YYYYMMDDhhmmss"), ts()],
            s("20180102231201"),
        ),
        ok(
            "formatdate",
            vec![s("h'h'mm 'o''clock' ''"), ts()],
            s("23h12 o'clock '"),
        ),
        ok(
            "formatdate",
            vec![s("Z ZZZZ ZZZZZ"), s("2000-02-29T00:00:00.5+05:30")],
            s("+05:30 +0530 +05:30"),
        ),
        ok("formatdate", vec![s("Z"), ts()], s("Z")),
        err("formatdate", vec![s("YYY"), ts()], "year must either be"),
        err("formatdate", vec![s("'abc"), ts()], "unterminated literal"),
        err(
            "formatdate",
            vec![s("x"), ts()],
            "invalid date format verb \"x\"",
        ),
        err(
            "formatdate",
            vec![s("YYYY"), s("2018-02-30T00:00:00Z")],
            "day of month",
        ),
        err(
            "formatdate",
            vec![s("YYYY"), s("2018-01-02 23:12:01Z")],
            "not a valid RFC3339 timestamp",
        ),
        err(
            "formatdate",
            vec![s("YYYY"), s("2018-01-02T23:12:01")],
            "not a valid RFC3339 timestamp",
        ),
        ok(
            "timeadd",
            vec![s("2017-11-22T00:00:00Z"), s("10m")],
            s("2017-11-22T00:10:00Z"),
        ),
        ok(
            "timeadd",
            vec![s("2017-11-22T00:00:00Z"), s("-1h30m")],
            s("2017-11-21T22:30:00Z"),
        ),
        ok(
            "timeadd",
            vec![s("2017-12-31T23:59:59+01:00"), s("1.5s")],
            s("2018-01-01T00:00:00+01:00"),
        ),
        ok(
            "timeadd",
            vec![s("2020-02-28T12:00:00Z"), s("24h")],
            s("2020-02-29T12:00:00Z"),
        ),
        err(
            "timeadd",
            vec![s("2017-11-22T00:00:00Z"), s("10")],
            "missing unit",
        ),
        err(
            "timeadd",
            vec![s("2017-11-22T00:00:00Z"), s("1d")],
            "unknown unit",
        ),
        ok(
            "timecmp",
            vec![s("2017-11-22T00:00:00Z"), s("2017-11-22T00:00:00Z")],
            n(0.0),
        ),
        ok(
            "timecmp",
            vec![s("2017-11-22T00:00:00Z"), s("2017-11-22T01:00:00Z")],
            n(-1.0),
        ),
        ok(
            "timecmp",
            vec![s("2017-11-22T01:00:00Z"), s("2017-11-22T00:00:00-02:00")],
            n(-1.0),
        ),
        ok(
            "timecmp",
            vec![s("2017-11-22T01:00:00.5Z"), s("2017-11-22T01:00:00Z")],
            n(1.0),
        ),
        ok("timestamp", vec![], Value::Unknown),
        ok("plantimestamp", vec![], Value::Unknown),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        super::super::testing::run(cases());
    }

    #[test]
    fn calendar_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
    }
}
