//! Map functions: keys and values, lookup, merging, building maps from
//! lists, and the key-matching helpers.

use std::collections::BTreeMap;

use super::{as_string, Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::handling_unknowns("keys", Exactly(1), keys),
    Function::handling_unknowns("lookup", Between(2, 3), lookup),
    Function::new("matchkeys", Exactly(3), matchkeys),
    Function::handling_unknowns("merge", AtLeast(0), merge),
    Function::new("transpose", Exactly(1), transpose),
    Function::handling_unknowns("values", Exactly(1), values),
    Function::handling_unknowns("zipmap", Exactly(2), zipmap),
];

/// The keys, sorted. Unknown handling: keys are always known in a known
/// map, whatever its values.
fn keys(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    Ok(Value::List(
        args.map(0)?
            .keys()
            .map(|k| Value::from(k.as_str()))
            .collect(),
    ))
}

/// The values, in key order. Unknown handling: unknown values are kept.
fn values(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    Ok(Value::List(args.map(0)?.values().cloned().collect()))
}

/// `lookup(map, key, default)`; without a default a missing key is an
/// error. Unknown handling: needs a known map and key; the value found may
/// be unknown, other values do not matter.
fn lookup(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) || !args.get(1).is_known() {
        return Ok(Value::Unknown);
    }
    let map = args.map(0)?;
    let key = args.string(1)?;
    if let Some(v) = map.get(&*key) {
        return Ok(v.clone());
    }
    if args.len() == 3 {
        return Ok(args.get(2).clone());
    }
    Err(args.fail(format!("lookup failed to find key {key:?}")))
}

/// Later maps win; null arguments are skipped. Unknown handling: unknown
/// values are kept in the result; an unknown map makes it unknown (any key
/// might be overridden).
fn merge(args: &Args<'_>) -> Result<Value, FunctionError> {
    let mut out = BTreeMap::new();
    for (i, arg) in args.rest(0).iter().enumerate() {
        match arg {
            Value::Null => {}
            Value::Unknown => return Ok(Value::Unknown),
            Value::Map(map) => out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => {
                return Err(args.invalid(
                    i,
                    format!(
                        "arguments must be maps or objects, got {}",
                        other.type_name()
                    ),
                ))
            }
        }
    }
    Ok(Value::Map(out))
}

/// A map from a list of keys and a list of values. Unknown handling: the
/// keys must be wholly known; unknown values are kept.
fn zipmap(args: &Args<'_>) -> Result<Value, FunctionError> {
    if !args.get(0).is_known() || matches!(args.get(1), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    let keys = args.string_list(0)?;
    let values = args.list(1)?;
    if keys.len() != values.len() {
        return Err(args.fail(format!(
            "number of keys ({}) does not match number of values ({})",
            keys.len(),
            values.len()
        )));
    }
    Ok(Value::Map(
        keys.into_iter()
            .map(|k| k.into_owned())
            .zip(values.iter().cloned())
            .collect(),
    ))
}

/// Swaps the keys and values of a map of lists of strings.
fn transpose(args: &Args<'_>) -> Result<Value, FunctionError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, list) in args.map(0)? {
        let items = match list {
            Value::List(items) => items,
            Value::Null => return Err(args.fail("input must not contain null list")),
            _ => return Err(args.fail("input must be a map of lists of strings")),
        };
        for item in items {
            if item.is_null() {
                return Err(args.fail("input list must not contain null string"));
            }
            let value = as_string(item)
                .map_err(|_| args.fail("input must be a map of lists of strings"))?;
            out.entry(value.into_owned()).or_default().push(key.clone());
        }
    }
    Ok(Value::Map(
        out.into_iter()
            .map(|(k, mut v)| {
                v.sort();
                (k, Value::List(v.into_iter().map(Value::from).collect()))
            })
            .collect(),
    ))
}

/// `matchkeys(values, keys, searchset)`: the values whose key at the same
/// index is in the search set.
fn matchkeys(args: &Args<'_>) -> Result<Value, FunctionError> {
    let values = args.list(0)?;
    let keys = args.list(1)?;
    let search = args.list(2)?;
    if values.len() != keys.len() {
        return Err(args.fail("length of keys and values should be equal"));
    }
    // Keys and search set are compared after being given one type.
    let mut both = keys.to_vec();
    both.extend_from_slice(search);
    let both = super::conversion::unify(both).map_err(|m| args.fail(m))?;
    let (keys, search) = both.split_at(keys.len());
    Ok(Value::List(
        values
            .iter()
            .zip(keys)
            .filter(|(_, key)| search.iter().any(|s| key.tf_equals(s) == Some(true)))
            .map(|(v, _)| v.clone())
            .collect(),
    ))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    let u = || Value::Unknown;
    let partly = Value::Map(BTreeMap::from([
        ("a".to_string(), u()),
        ("b".to_string(), Value::from(1)),
    ]));
    vec![
        ok(
            "keys",
            vec![j(json!({"b": 1, "a": 2}))],
            j(json!(["a", "b"])),
        ),
        ok("keys", vec![partly.clone()], j(json!(["a", "b"]))),
        ok("keys", vec![u()], u()),
        err("keys", vec![j(json!([1]))], "map or object required"),
        ok("values", vec![j(json!({"b": 1, "a": 2}))], j(json!([2, 1]))),
        ok(
            "values",
            vec![partly.clone()],
            Value::List(vec![u(), Value::from(1)]),
        ),
        ok("lookup", vec![j(json!({"a": "x"})), s("a")], s("x")),
        ok("lookup", vec![j(json!({"a": "x"})), s("b"), s("d")], s("d")),
        ok("lookup", vec![partly.clone(), s("b")], n(1.0)),
        ok("lookup", vec![partly.clone(), s("a")], u()),
        ok("lookup", vec![j(json!({"a": "x"})), u(), s("d")], u()),
        err(
            "lookup",
            vec![j(json!({"a": "x"})), s("b")],
            "lookup failed to find key \"b\"",
        ),
        ok(
            "merge",
            vec![j(json!({"a": 1, "b": 2})), j(json!({"b": 3})), Value::Null],
            j(json!({"a": 1, "b": 3})),
        ),
        ok("merge", vec![], j(json!({}))),
        ok(
            "merge",
            vec![
                Value::Map(BTreeMap::from([("a".to_string(), u())])),
                j(json!({"b": 1})),
            ],
            partly.clone(),
        ),
        ok("merge", vec![u(), j(json!({"b": 1}))], u()),
        err(
            "merge",
            vec![j(json!({})), j(json!([1]))],
            "must be maps or objects",
        ),
        ok(
            "zipmap",
            vec![j(json!(["a", "b"])), j(json!([1, 2]))],
            j(json!({"a": 1, "b": 2})),
        ),
        ok(
            "zipmap",
            vec![j(json!(["a", "b"])), Value::List(vec![u(), Value::from(1)])],
            partly.clone(),
        ),
        ok("zipmap", vec![Value::List(vec![u()]), j(json!([1]))], u()),
        err(
            "zipmap",
            vec![j(json!(["a"])), j(json!([1, 2]))],
            "number of keys (1) does not match",
        ),
        ok(
            "transpose",
            vec![j(json!({"a": ["1", "2"], "b": ["2", "3"]}))],
            j(json!({"1": ["a"], "2": ["a", "b"], "3": ["b"]})),
        ),
        err("transpose", vec![j(json!({"a": [null]}))], "null string"),
        ok(
            "matchkeys",
            vec![
                j(json!(["i-1", "i-2", "i-3"])),
                j(json!(["us-a", "us-b", "us-a"])),
                j(json!(["us-a"])),
            ],
            j(json!(["i-1", "i-3"])),
        ),
        ok(
            "matchkeys",
            vec![j(json!(["x"])), j(json!(["1"])), j(json!([1]))],
            j(json!(["x"])),
        ),
        err(
            "matchkeys",
            vec![j(json!(["x"])), j(json!([])), j(json!([]))],
            "should be equal",
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn table() {
        super::super::testing::run(super::cases());
    }
}
