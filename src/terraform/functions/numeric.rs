//! Numeric functions. Whole-number inputs take exact integer paths where
//! they can; everything else is `f64`. Terraform's arbitrary precision is
//! not modelled, and results JSON cannot hold (NaN, infinities) are errors.

use std::cmp::Ordering;

use super::{Args, Arity, Function, FunctionError, Value};
use crate::terraform::value::number_as_i64;

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("abs", Exactly(1), abs),
    Function::new("ceil", Exactly(1), ceil),
    Function::new("floor", Exactly(1), floor),
    Function::new("log", Exactly(2), log),
    Function::new("max", AtLeast(1), max),
    Function::new("min", AtLeast(1), min),
    Function::new("parseint", Exactly(2), parseint),
    Function::new("pow", Exactly(2), pow),
    Function::new("signum", Exactly(1), signum),
];

fn abs(args: &Args<'_>) -> Result<Value, FunctionError> {
    let n = args.number(0)?;
    if let Some(i) = number_as_i64(&n).and_then(i64::checked_abs) {
        return Ok(Value::from(i));
    }
    super::number_result(args, n.as_f64().unwrap_or(0.0).abs())
}

fn ceil(args: &Args<'_>) -> Result<Value, FunctionError> {
    super::number_result(args, args.float(0)?.ceil())
}

fn floor(args: &Args<'_>) -> Result<Value, FunctionError> {
    super::number_result(args, args.float(0)?.floor())
}

/// `log(number, base)`.
fn log(args: &Args<'_>) -> Result<Value, FunctionError> {
    super::number_result(args, args.float(0)?.ln() / args.float(1)?.ln())
}

fn max(args: &Args<'_>) -> Result<Value, FunctionError> {
    extreme(args, Ordering::Greater)
}

fn min(args: &Args<'_>) -> Result<Value, FunctionError> {
    extreme(args, Ordering::Less)
}

fn extreme(args: &Args<'_>, wanted: Ordering) -> Result<Value, FunctionError> {
    let mut best = Value::Number(args.number(0)?);
    for i in 1..args.len() {
        let candidate = Value::Number(args.number(i)?);
        if candidate.total_cmp(&best) == wanted {
            best = candidate;
        }
    }
    Ok(best)
}

/// `parseint(string, base)`, base 2 to 62: digits, then `a`-`z`, then (for
/// bases above 36, where case matters) `A`-`Z`.
fn parseint(args: &Args<'_>) -> Result<Value, FunctionError> {
    let text = match args.get(0) {
        Value::String(s) => s,
        other => {
            return Err(args.invalid(
                0,
                format!("first argument must be a string, not {}", other.type_name()),
            ))
        }
    };
    let base = args.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(args.invalid(1, "base must be a whole number between 2 and 62 inclusive"));
    }
    let cannot = || args.invalid(0, format!("cannot parse {text:?} as a base {base} integer"));
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() {
        return Err(cannot());
    }
    let base_u = u32::try_from(base).map_err(|_| cannot())?;
    let mut exact: Option<i128> = Some(0);
    let mut approx = 0f64;
    for c in digits.chars() {
        let digit = digit_value(c, base_u).ok_or_else(cannot)?;
        exact = exact
            .and_then(|v| v.checked_mul(i128::from(base_u)))
            .and_then(|v| v.checked_add(i128::from(digit)));
        approx = approx * f64::from(base_u) + f64::from(digit);
    }
    let sign = if negative { -1 } else { 1 };
    match exact.map(|v| v * sign).and_then(|v| i64::try_from(v).ok()) {
        Some(v) => Ok(Value::from(v)),
        None => super::number_result(args, approx * sign as f64),
    }
}

fn digit_value(c: char, base: u32) -> Option<u32> {
    let value = match c {
        '0'..='9' => u32::from(c) - u32::from('0'),
        'a'..='z' => u32::from(c) - u32::from('a') + 10,
        'A'..='Z' if base <= 36 => u32::from(c) - u32::from('A') + 10,
        'A'..='Z' => u32::from(c) - u32::from('A') + 36,
        _ => return None,
    };
    (value < base).then_some(value)
}

/// `pow(base, exponent)`.
fn pow(args: &Args<'_>) -> Result<Value, FunctionError> {
    let base = args.number(0)?;
    let exponent = args.number(1)?;
    if let (Some(b), Some(e)) = (number_as_i64(&base), number_as_i64(&exponent)) {
        if let Some(v) = u32::try_from(e).ok().and_then(|e| b.checked_pow(e)) {
            return Ok(Value::from(v));
        }
    }
    let result = base
        .as_f64()
        .unwrap_or(0.0)
        .powf(exponent.as_f64().unwrap_or(0.0));
    super::number_result(args, result)
}

fn signum(args: &Args<'_>) -> Result<Value, FunctionError> {
    let f = args.float(0)?;
    Ok(Value::from(if f > 0.0 {
        1
    } else if f < 0.0 {
        -1
    } else {
        0
    }))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    vec![
        ok("abs", vec![n(-12.4)], n(12.4)),
        ok("abs", vec![n(-3.0)], n(3.0)),
        ok("abs", vec![s("-5")], n(5.0)),
        ok("ceil", vec![n(5.1)], n(6.0)),
        ok("ceil", vec![n(-5.1)], n(-5.0)),
        ok("floor", vec![n(4.9)], n(4.0)),
        ok("floor", vec![n(-4.1)], n(-5.0)),
        ok("log", vec![n(16.0), n(2.0)], n(4.0)),
        ok("log", vec![n(1.0), n(10.0)], n(0.0)),
        err("log", vec![n(-1.0), n(10.0)], "result is not a number"),
        err("log", vec![n(0.0), n(10.0)], "result is infinite"),
        ok("max", vec![n(12.0), n(54.0), n(3.0)], n(54.0)),
        ok("max", vec![n(1.5), s("2")], n(2.0)),
        err("max", vec![], "expected at least 1, got 0"),
        ok("min", vec![n(12.0), n(54.0), n(3.0)], n(3.0)),
        ok("min", vec![n(-1.5), n(0.0)], n(-1.5)),
        ok("parseint", vec![s("100"), n(10.0)], n(100.0)),
        ok("parseint", vec![s("FF"), n(16.0)], n(255.0)),
        ok("parseint", vec![s("-10"), n(2.0)], n(-2.0)),
        ok("parseint", vec![s("zA"), n(62.0)], n(35.0 * 62.0 + 36.0)),
        err(
            "parseint",
            vec![s("12"), n(2.0)],
            "cannot parse \"12\" as a base 2 integer",
        ),
        err("parseint", vec![n(12.0), n(10.0)], "must be a string"),
        err("parseint", vec![s("1"), n(63.0)], "between 2 and 62"),
        ok("pow", vec![n(3.0), n(2.0)], n(9.0)),
        ok("pow", vec![n(4.0), n(0.5)], n(2.0)),
        ok("pow", vec![n(2.0), n(-1.0)], n(0.5)),
        ok("signum", vec![n(-13.0)], n(-1.0)),
        ok("signum", vec![n(0.0)], n(0.0)),
        ok("signum", vec![n(344.0)], n(1.0)),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn table() {
        super::super::testing::run(super::cases());
    }
}
