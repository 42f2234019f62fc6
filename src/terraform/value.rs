//! Terraform values as the evaluator sees them: a JSON-like tree plus
//! `Unknown`, with Terraform's conversion and equality rules.
//!
//! Terraform's list, tuple and set types all become [`Value::List`] (a set
//! is a deduplicated list in [`Value::set`] order); map and object types
//! become [`Value::Map`], whose keys iterate sorted as Terraform's do.
//! Numbers are kept as exact integers (`i64`) whenever they are whole, and
//! as `f64` otherwise: every constructor here normalizes, so structural
//! equality (`==`) agrees with numeric equality for normalized values.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Number;

use crate::model::{push_token, token_len};

/// A Terraform value, possibly not known until apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    /// A list, tuple or set.
    List(Vec<Value>),
    /// A map or object.
    Map(BTreeMap<String, Value>),
    /// A value not known statically: an unset variable, an attribute known
    /// only after apply, the result of a non-deterministic function.
    Unknown,
}

/// A value that cannot be converted to the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConversionError(pub String);

impl ConversionError {
    fn new(from: &Value, to: &str) -> ConversionError {
        ConversionError(format!("cannot convert {} to {to}", from.type_name()))
    }
}

impl Value {
    /// False if `Unknown` appears anywhere inside.
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(items) => items.iter().all(Value::is_known),
            Value::Map(map) => map.values().all(Value::is_known),
            _ => true,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Terraform's name for the kind of value, as used in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Unknown => "unknown",
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(normalize(n)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The JSON view of the value, with every `Unknown` written as `null`
    /// and listed by JSON pointer (RFC 6901; the whole value is `""`).
    pub fn to_json(&self) -> (serde_json::Value, Vec<String>) {
        self.to_json_within(usize::MAX)
    }

    /// As [`Value::to_json`], with no unknown's pointer longer than
    /// `limit`: an unknown deeper than that is listed at its nearest
    /// ancestor within it, which then stands for everything below. The
    /// pointers grow and shrink in one buffer, so a long key costs its
    /// length once, not once per value below it.
    pub fn to_json_within(&self, limit: usize) -> (serde_json::Value, Vec<String>) {
        let mut unknowns = Vec::new();
        let mut pointer = String::new();
        let json = self.to_json_at(&mut pointer, true, limit, &mut unknowns);
        (json, unknowns)
    }

    /// `exact`: whether `pointer` is this value's own, not an ancestor's.
    fn to_json_at(
        &self,
        pointer: &mut String,
        exact: bool,
        limit: usize,
        unknowns: &mut Vec<String>,
    ) -> serde_json::Value {
        let mut child = |pointer: &mut String, token: &str, value: &Value| {
            let base = pointer.len();
            let fits = exact && base.saturating_add(token_len(token)) <= limit;
            if fits {
                push_token(pointer, token);
            }
            let json = value.to_json_at(pointer, fits, limit, unknowns);
            pointer.truncate(base);
            json
        };
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Unknown => {
                // Unknowns below one ancestor come one after another.
                if unknowns.last().map(String::as_str) != Some(pointer.as_str()) {
                    unknowns.push(pointer.clone());
                }
                serde_json::Value::Null
            }
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| child(pointer, &i.to_string(), item))
                    .collect(),
            ),
            Value::Map(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), child(pointer, k, v)))
                    .collect(),
            ),
        }
    }

    /// A number value from a float; `None` for NaN and infinities, which
    /// JSON (and so this model) cannot hold.
    pub fn from_f64(f: f64) -> Option<Value> {
        number_from_f64(f).map(Value::Number)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The number as an `i64` when it is a whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => number_as_i64(n),
            _ => None,
        }
    }

    /// Terraform's conversion to string: strings as they are, numbers in
    /// decimal without a trailing `.0`, bools as `true`/`false`. Null,
    /// collections and unknowns are errors: the caller decides what an
    /// unknown becomes.
    pub fn to_tf_string(&self) -> Result<String, ConversionError> {
        match self {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(format_number(n)),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(ConversionError::new(other, "string")),
        }
    }

    /// Terraform's conversion to number: numbers, and strings holding a
    /// decimal number.
    pub fn to_tf_number(&self) -> Result<Number, ConversionError> {
        match self {
            Value::Number(n) => Ok(n.clone()),
            Value::String(s) => parse_number(s).ok_or_else(|| {
                ConversionError(format!(
                    "cannot convert {s:?} to number; given string must be a decimal representation of a number"
                ))
            }),
            other => Err(ConversionError::new(other, "number")),
        }
    }

    /// Terraform's conversion to bool: bools, and the strings `"true"` and
    /// `"false"`.
    pub fn to_tf_bool(&self) -> Result<bool, ConversionError> {
        match self {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s == "true" => Ok(true),
            Value::String(s) if s == "false" => Ok(false),
            Value::String(s) => Err(ConversionError(format!(
                "cannot convert {s:?} to bool; only the strings \"true\" or \"false\" are allowed"
            ))),
            other => Err(ConversionError::new(other, "bool")),
        }
    }

    /// Terraform's `==`: no conversion between types (`"1" == 1` is false),
    /// numbers compared by value. `None` when the answer depends on an
    /// unknown value; a difference found elsewhere still answers `false`.
    pub fn tf_equals(&self, other: &Value) -> Option<bool> {
        match (self, other) {
            (Value::Unknown, _) | (_, Value::Unknown) => None,
            (Value::Number(a), Value::Number(b)) => Some(numbers_equal(a, b)),
            (Value::List(a), Value::List(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                all_equal(a.iter().zip(b))
            }
            (Value::Map(a), Value::Map(b)) => {
                if a.len() != b.len() || a.keys().ne(b.keys()) {
                    return Some(false);
                }
                all_equal(a.values().zip(b.values()))
            }
            (a, b) => Some(a == b),
        }
    }

    /// A set: the values deduplicated and in Terraform's set order (see
    /// [`Value::total_cmp`]). Unknown elements should be dealt with first:
    /// a set holding one cannot be deduplicated.
    pub fn set(mut values: Vec<Value>) -> Value {
        values.sort_by(Value::total_cmp);
        values.dedup_by(|a, b| a.total_cmp(b) == Ordering::Equal);
        Value::List(values)
    }

    /// A total order: by kind (null, bool, number, string, list, map,
    /// unknown), then by value; strings by bytes, numbers numerically, as
    /// Terraform orders the elements of a set.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Number(_) => 2,
                Value::String(_) => 3,
                Value::List(_) => 4,
                Value::Map(_) => 5,
                Value::Unknown => 6,
            }
        }
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::List(a), Value::List(b)) => a
                .iter()
                .zip(b)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            (Value::Map(a), Value::Map(b)) => a
                .iter()
                .zip(b)
                .map(|((ka, va), (kb, vb))| ka.cmp(kb).then_with(|| va.total_cmp(vb)))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

fn all_equal<'a>(pairs: impl Iterator<Item = (&'a Value, &'a Value)>) -> Option<bool> {
    let mut unknown = false;
    for (a, b) in pairs {
        match a.tf_equals(b) {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(true)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::from(i))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::List(items)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(map: BTreeMap<String, Value>) -> Value {
        Value::Map(map)
    }
}

/// Whole floats within `i64` range become integers; NaN and infinities
/// have no JSON number.
pub fn number_from_f64(f: f64) -> Option<Number> {
    // 2^63 is exactly representable; anything below it in magnitude that is
    // whole converts to i64 without loss.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && f.abs() < LIMIT {
        return Some(Number::from(f as i64));
    }
    Number::from_f64(f)
}

/// A number as an `i64` when it is whole and in range.
pub fn number_as_i64(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    let limit = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && f.abs() < limit).then_some(f as i64)
}

fn normalize(n: &Number) -> Number {
    if n.is_i64() || n.is_u64() {
        return n.clone();
    }
    n.as_f64()
        .and_then(number_from_f64)
        .unwrap_or_else(|| n.clone())
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    compare_numbers(a, b) == Ordering::Equal
}

fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (number_as_i64(a), number_as_i64(b)) {
        return x.cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.cmp(&y);
    }
    let x = a.as_f64().unwrap_or(0.0);
    let y = b.as_f64().unwrap_or(0.0);
    x.total_cmp(&y)
}

/// A number as Terraform writes it when converting to string: decimal
/// notation, never an exponent, no trailing `.0`.
pub fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    // Rust's float Display is the shortest round-trip digits in plain
    // decimal notation, as Go's big.Float Text('f', -1) is.
    format!("{}", n.as_f64().unwrap_or(0.0))
}

/// Terraform's string-to-number conversion: an optional sign, decimal
/// digits with an optional fraction, an optional exponent. No hex, no
/// `inf`, no surrounding space.
pub fn parse_number(s: &str) -> Option<Number> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = fraction.is_none_or(digits);
    if !digits(whole) || !fraction_ok || whole.len() + fraction.map_or(0, str::len) == 0 {
        return None;
    }
    if let Some(exp) = exponent {
        let exp_digits = exp.strip_prefix(['-', '+']).unwrap_or(exp);
        if exp_digits.is_empty() || !digits(exp_digits) {
            return None;
        }
    }
    if fraction.is_none() && exponent.is_none() {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Number::from(i));
        }
    }
    s.parse::<f64>().ok().and_then(number_from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn knownness_is_deep() {
        assert!(Value::from_json(&json!({"a": [1, {"b": null}]})).is_known());
        let nested = Value::List(vec![Value::Map(BTreeMap::from([(
            "x".to_string(),
            Value::Unknown,
        )]))]);
        assert!(!nested.is_known());
        assert!(!Value::Unknown.is_known());
    }

    #[test]
    fn json_round_trip_normalizes_numbers_and_sorts_keys() {
        let v = Value::from_json(&json!({"b": 1.0, "a": [2.5, -3, true, null, "s"]}));
        let Value::Map(map) = &v else { panic!() };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(map["b"], Value::from(1));
        let (json, unknowns) = v.to_json();
        assert_eq!(json, json!({"a": [2.5, -3, true, null, "s"], "b": 1}));
        assert!(unknowns.is_empty());
    }

    #[test]
    fn to_json_records_escaped_pointers_of_unknowns() {
        let v = Value::Map(BTreeMap::from([
            ("a/b".to_string(), Value::Unknown),
            (
                "c~d".to_string(),
                Value::List(vec![Value::from(1), Value::Unknown]),
            ),
        ]));
        let (json, unknowns) = v.to_json();
        assert_eq!(json, json!({"a/b": null, "c~d": [1, null]}));
        assert_eq!(unknowns, ["/a~1b", "/c~0d/1"]);
        assert_eq!(Value::Unknown.to_json().1, [""]);
    }

    #[test]
    fn to_json_within_lists_deep_unknowns_at_an_ancestor() {
        let long = "k".repeat(100);
        let v = Value::Map(BTreeMap::from([
            ("a".to_string(), Value::List(vec![Value::Unknown])),
            (
                long.clone(),
                Value::Map(BTreeMap::from([
                    ("x".to_string(), Value::Unknown),
                    ("y".to_string(), Value::Unknown),
                ])),
            ),
        ]));
        let (json, unknowns) = v.to_json_within(10);
        assert_eq!(json, v.to_json().0);
        assert_eq!(json[&long], json!({"x": null, "y": null}));
        assert_eq!(unknowns, ["/a/0", ""]);
    }

    #[test]
    fn type_names() {
        let names: Vec<_> = [
            Value::Null,
            Value::from(true),
            Value::from(1),
            Value::from("s"),
            Value::List(vec![]),
            Value::Map(BTreeMap::new()),
            Value::Unknown,
        ]
        .iter()
        .map(Value::type_name)
        .collect();
        assert_eq!(
            names,
            ["null", "bool", "number", "string", "list", "map", "unknown"]
        );
    }

    #[test]
    fn string_conversion() {
        assert_eq!(Value::from(5).to_tf_string().unwrap(), "5");
        assert_eq!(Value::from_f64(5.0).unwrap().to_tf_string().unwrap(), "5");
        assert_eq!(Value::from_f64(1.5).unwrap().to_tf_string().unwrap(), "1.5");
        assert_eq!(
            Value::from_f64(1e21).unwrap().to_tf_string().unwrap(),
            "1000000000000000000000"
        );
        assert_eq!(Value::from(false).to_tf_string().unwrap(), "false");
        assert_eq!(
            Value::List(vec![]).to_tf_string().unwrap_err().to_string(),
            "cannot convert list to string"
        );
        assert!(Value::Null.to_tf_string().is_err());
        assert!(Value::Unknown.to_tf_string().is_err());
    }

    #[test]
    fn number_and_bool_conversion() {
        assert_eq!(Value::from("12").to_tf_number().unwrap(), Number::from(12));
        assert_eq!(
            Value::from("-1.5e2").to_tf_number().unwrap(),
            Number::from(-150)
        );
        assert_eq!(
            Value::from("0.25").to_tf_number().unwrap().as_f64(),
            Some(0.25)
        );
        for bad in ["", "abc", "0x10", "inf", " 1", "1.2.3", "1e", "."] {
            assert!(Value::from(bad).to_tf_number().is_err(), "{bad}");
        }
        assert!(Value::from(true).to_tf_number().is_err());
        assert!(Value::from("true").to_tf_bool().unwrap());
        assert!(!Value::from(false).to_tf_bool().unwrap());
        let err = Value::from("yes").to_tf_bool().unwrap_err().to_string();
        assert!(err.contains("only the strings"), "{err}");
        assert!(Value::from(1).to_tf_bool().is_err());
    }

    #[test]
    fn equality_follows_terraform() {
        let one_f = Value::Number(Number::from_f64(1.0).unwrap());
        assert_eq!(Value::from(1).tf_equals(&one_f), Some(true));
        assert_eq!(Value::from("1").tf_equals(&Value::from(1)), Some(false));
        let known = Value::List(vec![Value::from(1), Value::from(2)]);
        let partly = Value::List(vec![Value::Unknown, Value::from(2)]);
        let differs = Value::List(vec![Value::Unknown, Value::from(3)]);
        assert_eq!(known.tf_equals(&partly), None);
        assert_eq!(known.tf_equals(&differs), Some(false));
        assert_eq!(Value::Null.tf_equals(&Value::Null), Some(true));
        assert_eq!(Value::Null.tf_equals(&Value::Unknown), None);
    }

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let set = Value::set(vec![
            Value::from("b"),
            Value::from(2),
            Value::from("a"),
            Value::from("b"),
            Value::from(10),
        ]);
        assert_eq!(
            set,
            Value::List(vec![
                Value::from(2),
                Value::from(10),
                Value::from("a"),
                Value::from("b"),
            ])
        );
    }

    #[test]
    fn floats_normalize() {
        assert_eq!(Value::from_f64(3.0), Some(Value::from(3)));
        assert_eq!(Value::from_f64(f64::NAN), None);
        assert_eq!(Value::from_f64(2.5).unwrap().as_i64(), None);
        assert_eq!(Value::from(7).as_f64(), Some(7.0));
    }
}
