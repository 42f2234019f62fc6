//! `format` and `formatlist`: Terraform's printf, following cty's rules
//! (Go's verbs, flags, width, precision and `[n]` argument indexes).
//!
//! Verbs: `%v` (strings as they are, numbers in Go's shortest `%g` form,
//! anything else as JSON; `%#v` always JSON), `%t`, `%b %d %o %x %X`
//! (whole numbers), `%e %E %f %g %G`, `%s`, `%q` (a JSON string) and `%%`.

use super::serialization::json_encode;
use super::strings::graphemes;
use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("format", AtLeast(1), format),
    Function::handling_unknowns("formatlist", AtLeast(1), formatlist),
];

fn format(args: &Args<'_>) -> Result<Value, FunctionError> {
    let spec = args.string(0)?;
    sprintf(&spec, args.rest(1))
        .map(Value::from)
        .map_err(|m| args.fail(m))
}

/// Unknown handling: an unknown format string or list argument makes the
/// whole result unknown; an unknown element makes only the strings built
/// from it unknown.
fn formatlist(args: &Args<'_>) -> Result<Value, FunctionError> {
    if !args.get(0).is_known() {
        return Ok(Value::Unknown);
    }
    let spec = args.string(0)?;
    let rest = args.rest(1);
    let mut length: Option<(usize, usize)> = None;
    for (i, arg) in rest.iter().enumerate() {
        match arg {
            Value::Unknown => return Ok(Value::Unknown),
            Value::List(items) => match length {
                Some((len, first)) if len != items.len() => {
                    return Err(args.invalid(
                        i + 1,
                        format!(
                            "argument {} has length {}, which is inconsistent with argument {} of length {len}",
                            i + 1,
                            items.len(),
                            first + 1
                        ),
                    ))
                }
                Some(_) => {}
                None => length = Some((items.len(), i)),
            },
            _ => {}
        }
    }
    let iterations = length.map_or(1, |(len, _)| len);
    let mut out = Vec::with_capacity(iterations);
    for iteration in 0..iterations {
        let values: Vec<Value> = rest
            .iter()
            .map(|arg| match arg {
                Value::List(items) => items[iteration].clone(),
                other => other.clone(),
            })
            .collect();
        if !values.iter().all(Value::is_known) {
            out.push(Value::Unknown);
            continue;
        }
        let text = sprintf(&spec, &values)
            .map_err(|m| args.fail(format!("error on format iteration {iteration}: {m}")))?;
        out.push(Value::from(text));
    }
    Ok(Value::List(out))
}

/// One parsed `%` verb.
#[derive(Default)]
struct Verb<'s> {
    raw: &'s str,
    offset: usize,
    arg: usize,
    mode: char,
    zero: bool,
    sharp: bool,
    plus: bool,
    minus: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Widths and precisions beyond this are refused rather than allocated.
const MAX_WIDTH: usize = 1_000_000;

/// Formats `values` by `spec`; all values must be known.
pub(super) fn sprintf(spec: &str, values: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut next_arg = 1;
    let mut highest = 0;
    let bytes = spec.as_bytes();
    let mut p = 0;
    while p < spec.len() {
        if bytes[p] != b'%' {
            let c = spec[p..].chars().next().unwrap_or_default();
            out.push(c);
            p += c.len_utf8();
            continue;
        }
        if bytes.get(p + 1) == Some(&b'%') {
            out.push('%');
            p += 2;
            continue;
        }
        let start = p;
        let mut verb = Verb {
            offset: start,
            arg: next_arg,
            ..Verb::default()
        };
        p += 1;
        while let Some(&b) = bytes.get(p) {
            match b {
                b'0' => verb.zero = true,
                b'#' => verb.sharp = true,
                b'-' => verb.minus = true,
                b'+' => verb.plus = true,
                b' ' => verb.space = true,
                _ => break,
            }
            p += 1;
        }
        if matches!(bytes.get(p), Some(b'1'..=b'9')) {
            verb.width = Some(read_number(bytes, &mut p));
        }
        if bytes.get(p) == Some(&b'.') {
            p += 1;
            verb.precision = Some(read_number(bytes, &mut p));
        }
        if bytes.get(p) == Some(&b'[') {
            p += 1;
            if !matches!(bytes.get(p), Some(b'1'..=b'9')) {
                return Err(unrecognized(spec, p));
            }
            verb.arg = read_number(bytes, &mut p);
            if bytes.get(p) != Some(&b']') {
                return Err(unrecognized(spec, p));
            }
            p += 1;
        }
        match bytes.get(p) {
            Some(b) if b.is_ascii_alphabetic() => {
                verb.mode = char::from(*b);
                p += 1;
                verb.raw = &spec[start..p];
            }
            Some(_) => return Err(unrecognized(spec, p)),
            None => return Err(format!("invalid format string starting at offset {p}")),
        }
        if verb.width.max(verb.precision).unwrap_or(0) > MAX_WIDTH {
            return Err(format!(
                "width or precision of {:?} at offset {start} is over {MAX_WIDTH}",
                verb.raw
            ));
        }
        highest = highest.max(verb.arg);
        append(&verb, values, &mut out)?;
        next_arg = verb.arg + 1;
    }
    if highest < values.len() {
        return Err(if highest == 0 {
            "too many arguments; no verbs in format string".to_string()
        } else {
            format!("too many arguments; only {highest} used by format string")
        });
    }
    Ok(out)
}

fn read_number(bytes: &[u8], p: &mut usize) -> usize {
    let mut n: usize = 0;
    while let Some(d) = bytes.get(*p).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *p += 1;
    }
    n
}

fn unrecognized(spec: &str, p: usize) -> String {
    let c = spec[p..].chars().next().unwrap_or_default();
    format!("unrecognized format character {c:?} at offset {p}")
}

fn append(verb: &Verb<'_>, values: &[Value], out: &mut String) -> Result<(), String> {
    let Some(arg) = values.get(verb.arg - 1) else {
        return Err(format!(
            "not enough arguments for {:?} at {}: need index {} but have {} total",
            verb.raw,
            verb.offset,
            verb.arg,
            values.len()
        ));
    };
    let unsupported = |why: &str| {
        format!(
            "unsupported value for {:?} at {}: {why}",
            verb.raw, verb.offset
        )
    };
    if verb.mode != 'v' && arg.is_null() {
        return Err(unsupported("null value cannot be formatted"));
    }
    match verb.mode {
        'v' => {
            let text = match arg {
                Value::String(s) if !verb.sharp => s.clone(),
                Value::Number(_) if !verb.sharp => float_g(arg.as_f64().unwrap_or(0.0), None, 'e'),
                other => json_encode(other),
            };
            out.push_str(&pad(verb, text));
        }
        't' => {
            let b = arg.to_tf_bool().map_err(|e| unsupported(&e.0))?;
            out.push_str(if b { "true" } else { "false" });
        }
        'b' | 'd' | 'o' | 'x' | 'X' => {
            let n = arg.to_tf_number().map_err(|e| unsupported(&e.0))?;
            let i = super::super::value::number_as_i64(&n)
                .ok_or_else(|| unsupported("an integer is required"))?;
            out.push_str(&format_integer(verb, i));
        }
        'e' | 'E' | 'f' | 'g' | 'G' => {
            let n = arg.to_tf_number().map_err(|e| unsupported(&e.0))?;
            out.push_str(&format_float(verb, n.as_f64().unwrap_or(0.0)));
        }
        's' | 'q' => {
            let mut text = match arg {
                Value::List(_) | Value::Map(_) => {
                    return Err(unsupported(&format!(
                        "string required, got {}",
                        arg.type_name()
                    )))
                }
                other => other.to_tf_string().map_err(|e| unsupported(&e.0))?,
            };
            if let Some(precision) = verb.precision.filter(|&p| p > 0) {
                text = graphemes(&text).into_iter().take(precision).collect();
            }
            if verb.mode == 'q' {
                text = json_encode(&Value::String(text));
            }
            out.push_str(&pad(verb, text));
        }
        other => {
            return Err(format!(
                "unsupported format verb {other:?} in {:?} at offset {}",
                verb.raw, verb.offset
            ))
        }
    }
    Ok(())
}

/// Pads to the width in characters, with zeros under the `0` flag (as cty
/// does, even for strings), on the right under `-`.
fn pad(verb: &Verb<'_>, text: String) -> String {
    let Some(width) = verb.width else {
        return text;
    };
    let len = graphemes(&text).len();
    if len >= width {
        return text;
    }
    let fill = if verb.zero { "0" } else { " " }.repeat(width - len);
    if verb.minus {
        text + &fill
    } else {
        fill + &text
    }
}

/// Go's integer formatting of `%b %d %o %x %X` with flags.
fn format_integer(verb: &Verb<'_>, i: i64) -> String {
    let magnitude = i.unsigned_abs();
    let mut digits = match verb.mode {
        'b' => format!("{magnitude:b}"),
        'o' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    };
    if let Some(precision) = verb.precision {
        if precision == 0 && magnitude == 0 {
            digits.clear();
        } else if digits.len() < precision {
            digits = "0".repeat(precision - digits.len()) + &digits;
        }
    }
    let prefix = match (verb.sharp, verb.mode) {
        (true, 'b') => "0b",
        (true, 'o') => "0",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        _ => "",
    };
    let sign = sign(verb, i < 0);
    let body_len = sign.len() + prefix.len() + digits.len();
    let width = verb.width.unwrap_or(0);
    if width <= body_len {
        return format!("{sign}{prefix}{digits}");
    }
    let fill = width - body_len;
    if verb.minus {
        format!("{sign}{prefix}{digits}{}", " ".repeat(fill))
    } else if verb.zero && verb.precision.is_none() {
        format!("{sign}{prefix}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{sign}{prefix}{digits}", " ".repeat(fill))
    }
}

fn sign(verb: &Verb<'_>, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if verb.plus {
        "+"
    } else if verb.space {
        " "
    } else {
        ""
    }
}

/// Go's big.Float formatting of `%e %E %f %g %G` with flags.
fn format_float(verb: &Verb<'_>, f: f64) -> String {
    let magnitude = f.abs();
    let body = match verb.mode {
        'e' | 'E' => float_e(magnitude, verb.precision.unwrap_or(6), exp_char(verb.mode)),
        'f' => format!("{magnitude:.*}", verb.precision.unwrap_or(6)),
        _ => float_g(magnitude, verb.precision, exp_char(verb.mode)),
    };
    let sign = sign(verb, f.is_sign_negative() && f != 0.0);
    let width = verb.width.unwrap_or(0);
    let len = sign.len() + body.len();
    if width <= len {
        return format!("{sign}{body}");
    }
    let fill = width - len;
    if verb.minus {
        format!("{sign}{body}{}", " ".repeat(fill))
    } else if verb.zero {
        format!("{sign}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{body}", " ".repeat(fill))
    }
}

fn exp_char(mode: char) -> char {
    if mode.is_ascii_uppercase() {
        'E'
    } else {
        'e'
    }
}

/// `d.ddde+XX`: Go writes at least two exponent digits and a sign.
fn float_e(f: f64, precision: usize, e: char) -> String {
    let text = format!("{f:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    go_exponent(mantissa, exponent.parse().unwrap_or(0), e)
}

fn go_exponent(mantissa: &str, exponent: i32, e: char) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}{e}{sign}{:02}", exponent.unsigned_abs())
}

/// Go's `%g`: shortest digits (or `precision` significant ones), in
/// exponent form when the exponent is below -4 or at least the precision
/// (6 when shortest).
fn float_g(f: f64, precision: Option<usize>, e: char) -> String {
    let negative = f < 0.0;
    let f = f.abs();
    // Decimal digits and exponent of the (rounded) value.
    let text = match precision {
        None => format!("{f:e}"),
        Some(p) => format!("{f:.*e}", p.max(1) - 1),
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let shown = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let decimal_point = exponent + 1;
    let eprec = match precision {
        None => 6,
        Some(p) => {
            let p = i32::try_from(p.max(1)).unwrap_or(i32::MAX);
            if p > shown && shown >= decimal_point {
                shown
            } else {
                p
            }
        }
    };
    let sign = if negative { "-" } else { "" };
    if exponent < -4 || exponent >= eprec {
        let mantissa = match digits.split_at(1) {
            (first, "") => first.to_string(),
            (first, rest) => format!("{first}.{rest}"),
        };
        return format!("{sign}{}", go_exponent(&mantissa, exponent, e));
    }
    // Plain notation with exactly the significant digits.
    let body = if decimal_point <= 0 {
        format!(
            "0.{}{digits}",
            "0".repeat(decimal_point.unsigned_abs() as usize)
        )
    } else {
        let point = decimal_point as usize;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok(
            "format",
            vec![s("Hello, %s!"), s("Ander")],
            s("Hello, Ander!"),
        ),
        ok(
            "format",
            vec![s("There are %d lights"), n(4.0)],
            s("There are 4 lights"),
        ),
        ok("format", vec![s("%d"), s("12")], s("12")),
        ok(
            "format",
            vec![s("%5d|%-5d|%05d"), n(42.0), n(42.0), n(-42.0)],
            s("   42|42   |-0042"),
        ),
        ok(
            "format",
            vec![
                s("%+d % d %x %X %o %b %#x"),
                n(5.0),
                n(5.0),
                n(255.0),
                n(255.0),
                n(8.0),
                n(5.0),
                n(255.0),
            ],
            s("+5  5 ff FF 10 101 0xff"),
        ),
        ok(
            "format",
            vec![s("%.2f %f %.0f"), n(3.14659), n(1.5), n(2.5)],
            s("3.15 1.500000 2"),
        ),
        ok(
            "format",
            vec![s("%e %.2E"), n(1234.5678), n(0.000123)],
            s("1.234568e+03 1.23E-04"),
        ),
        ok(
            "format",
            vec![
                s("%g %g %g %.3g"),
                n(100000.0),
                n(1000000.0),
                n(0.00001),
                n(3.14659),
            ],
            s("100000 1e+06 1e-05 3.15"),
        ),
        ok(
            "format",
            vec![s("%v %v %v"), s("a"), n(1.5), Value::from(true)],
            s("a 1.5 true"),
        ),
        ok(
            "format",
            vec![s("%v|%#v"), j(json!({"b": [1], "a": "<"})), s("x")],
            s("{\"a\":\"\\u003c\",\"b\":[1]}|\"x\""),
        ),
        ok("format", vec![s("%v"), Value::Null], s("null")),
        ok("format", vec![s("%t"), s("true")], s("true")),
        ok("format", vec![s("%q"), s("a\"b")], s("\"a\\\"b\"")),
        ok(
            "format",
            vec![s("%.3s|%-4s|%4s"), s("abcdef"), s("ab"), s("ab")],
            s("abc|ab  |  ab"),
        ),
        ok(
            "format",
            vec![s("%[2]s %[1]s %s"), s("a"), s("b")],
            s("b a b"),
        ),
        ok("format", vec![s("100%%")], s("100%")),
        ok("format", vec![s("%s"), n(1.0)], s("1")),
        err("format", vec![s("%s")], "not enough arguments"),
        err(
            "format",
            vec![s("%s"), s("a"), s("b")],
            "too many arguments; only 1 used",
        ),
        err("format", vec![s("x"), s("a")], "no verbs in format string"),
        err("format", vec![s("%d"), n(1.5)], "an integer is required"),
        err(
            "format",
            vec![s("%s"), j(json!([1]))],
            "string required, got list",
        ),
        err(
            "format",
            vec![s("%d"), Value::Null],
            "null value cannot be formatted",
        ),
        err("format", vec![s("%y"), s("a")], "unsupported format verb"),
        err(
            "format",
            vec![s("%!"), s("a")],
            "unrecognized format character",
        ),
        err("format", vec![s("abc %"), s("a")], "invalid format string"),
        err("format", vec![s("%999999999s"), s("a")], "is over 1000000"),
        ok("format", vec![s("%s"), Value::Unknown], Value::Unknown),
        ok(
            "formatlist",
            vec![s("Hello, %s!"), j(json!(["a", "b"]))],
            j(json!(["Hello, a!", "Hello, b!"])),
        ),
        ok(
            "formatlist",
            vec![s("%s=%s"), j(json!(["a", "b"])), s("x")],
            j(json!(["a=x", "b=x"])),
        ),
        ok("formatlist", vec![s("%s"), j(json!([]))], j(json!([]))),
        ok("formatlist", vec![s("x")], j(json!(["x"]))),
        ok(
            "formatlist",
            vec![s("%s"), Value::List(vec![s("a"), Value::Unknown])],
            Value::List(vec![s("a"), Value::Unknown]),
        ),
        ok("formatlist", vec![s("%s"), Value::Unknown], Value::Unknown),
        err(
            "formatlist",
            vec![s("%s%s"), j(json!(["a"])), j(json!(["b", "c"]))],
            "inconsistent",
        ),
        err(
            "formatlist",
            vec![s("%d"), j(json!(["a"]))],
            "error on format iteration 0",
        ),
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
    fn go_g_formatting() {
        assert_eq!(float_g(123456789.0, None, 'e'), "1.23456789e+08");
        assert_eq!(float_g(123456.0, None, 'e'), "123456");
        assert_eq!(float_g(0.0001, None, 'e'), "0.0001");
        assert_eq!(float_g(0.0, None, 'e'), "0");
        assert_eq!(float_g(1.0, Some(3), 'e'), "1");
        assert_eq!(float_g(1234.0, Some(2), 'E'), "1.2E+03");
        assert_eq!(float_g(-2.5, None, 'e'), "-2.5");
    }
}
