//! Type conversion functions (`tostring`, `tolist`, ...) and the marking
//! functions (`sensitive`, ...), which this model passes through: values
//! carry no sensitivity or ephemerality marks here.

use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("tobool", Exactly(1), tobool),
    Function::handling_unknowns("tolist", Exactly(1), tolist),
    Function::handling_unknowns("tomap", Exactly(1), tomap),
    Function::new("tonumber", Exactly(1), tonumber),
    Function::new("toset", Exactly(1), toset),
    Function::new("tostring", Exactly(1), tostring),
    Function::handling_unknowns("sensitive", Exactly(1), identity),
    Function::handling_unknowns("nonsensitive", Exactly(1), identity),
    // Ephemeral values are not modelled, so none is turned into null.
    Function::handling_unknowns("ephemeralasnull", Exactly(1), identity),
    // Sensitivity is not tracked, so it cannot be answered.
    Function::handling_unknowns("issensitive", Exactly(1), super::unknown),
    Function::handling_unknowns("list", AtLeast(0), removed),
    Function::handling_unknowns("map", AtLeast(0), removed),
];

/// `list` and `map` were removed in Terraform 0.12.
fn removed(args: &Args<'_>) -> Result<Value, FunctionError> {
    let (name, replacement) = match args.name {
        "list" => ("list", "tolist([ ... ])"),
        _ => ("map", "tomap({ ... })"),
    };
    Err(args.fail(format!(
        "the \"{name}\" function was deprecated in Terraform v0.12 and is no longer available; use {replacement} syntax to write a literal {name}"
    )))
}

/// Unknown handling: passes its argument through, unknowns included.
fn identity(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(args.get(0).clone())
}

fn tostring(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        v => v
            .to_tf_string()
            .map(Value::String)
            .map_err(|e| args.invalid(0, e.0)),
    }
}

fn tonumber(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        v => v
            .to_tf_number()
            .map(Value::Number)
            .map_err(|e| args.invalid(0, e.0)),
    }
}

fn tobool(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        v => v
            .to_tf_bool()
            .map(Value::Bool)
            .map_err(|e| args.invalid(0, e.0)),
    }
}

/// Unknown handling: a known list keeps its unknown elements.
fn tolist(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::Null => Ok(Value::Null),
        Value::List(items) => unify(items.clone())
            .map(Value::List)
            .map_err(|m| args.invalid(0, m)),
        other => Err(args.invalid(0, format!("cannot convert {} to list", other.type_name()))),
    }
}

/// A set cannot be built while an element is unknown (it might equal
/// another), so unknowns propagate.
fn toset(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Null => Ok(Value::Null),
        Value::List(items) => unify(items.clone())
            .map(Value::set)
            .map_err(|m| args.invalid(0, m)),
        other => Err(args.invalid(0, format!("cannot convert {} to set", other.type_name()))),
    }
}

/// Unknown handling: a known map keeps its unknown values.
fn tomap(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::Null => Ok(Value::Null),
        Value::Map(map) => {
            let (keys, values): (Vec<_>, Vec<_>) = map.clone().into_iter().unzip();
            let values = unify(values).map_err(|m| args.invalid(0, m))?;
            Ok(Value::Map(keys.into_iter().zip(values).collect()))
        }
        other => Err(args.invalid(0, format!("cannot convert {} to map", other.type_name()))),
    }
}

/// Gives the elements of a collection one type, as Terraform does when a
/// tuple or object becomes a list, set or map: mixed primitives all become
/// strings; a mix of primitives and collections, or of lists and maps, has
/// no common type. Nulls and unknowns fit any type.
pub(super) fn unify(values: Vec<Value>) -> Result<Vec<Value>, String> {
    let mut kinds: Vec<&'static str> = values
        .iter()
        .filter(|v| !matches!(v, Value::Null | Value::Unknown))
        .map(Value::type_name)
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let primitive = |k: &&str| matches!(*k, "bool" | "number" | "string");
    match kinds.as_slice() {
        [] | [_] => Ok(values),
        many if many.iter().all(primitive) => Ok(values
            .into_iter()
            .map(|v| match v {
                Value::Bool(_) | Value::Number(_) => {
                    Value::String(v.to_tf_string().unwrap_or_default())
                }
                other => other,
            })
            .collect()),
        many => Err(format!(
            "all elements must have the same type, but they mix {}",
            many.join(", ")
        )),
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    let partly_unknown = Value::List(vec![Value::from(1), Value::Unknown]);
    let unknown_value = Value::Map(BTreeMap::from([
        ("a".to_string(), Value::Unknown),
        ("b".to_string(), Value::from(true)),
    ]));
    vec![
        ok("tostring", vec![n(1.5)], s("1.5")),
        ok("tostring", vec![Value::from(true)], s("true")),
        ok("tostring", vec![Value::Null], Value::Null),
        ok("tostring", vec![Value::Unknown], Value::Unknown),
        err(
            "tostring",
            vec![j(json!([]))],
            "cannot convert list to string",
        ),
        ok("tonumber", vec![s("1.5")], n(1.5)),
        ok("tonumber", vec![n(3.0)], n(3.0)),
        ok("tonumber", vec![Value::Null], Value::Null),
        err("tonumber", vec![s("no")], "decimal representation"),
        err(
            "tonumber",
            vec![Value::from(true)],
            "cannot convert bool to number",
        ),
        ok("tobool", vec![s("true")], Value::from(true)),
        ok("tobool", vec![Value::from(false)], Value::from(false)),
        ok("tobool", vec![Value::Null], Value::Null),
        err("tobool", vec![s("yes")], "only the strings"),
        err("tobool", vec![n(1.0)], "cannot convert number to bool"),
        ok(
            "tolist",
            vec![j(json!(["a", 1, true, null]))],
            j(json!(["a", "1", "true", null])),
        ),
        ok("tolist", vec![j(json!([1, 2]))], j(json!([1, 2]))),
        ok(
            "tolist",
            vec![partly_unknown.clone()],
            partly_unknown.clone(),
        ),
        ok("tolist", vec![Value::Unknown], Value::Unknown),
        err("tolist", vec![j(json!(["a", ["b"]]))], "same type"),
        err(
            "tolist",
            vec![j(json!({"a": 1}))],
            "cannot convert map to list",
        ),
        ok(
            "toset",
            vec![j(json!(["b", "a", "b", 1]))],
            j(json!(["1", "a", "b"])),
        ),
        ok("toset", vec![partly_unknown.clone()], Value::Unknown),
        err("toset", vec![s("a")], "cannot convert string to set"),
        ok(
            "tomap",
            vec![j(json!({"a": 1, "b": "x"}))],
            j(json!({"a": "1", "b": "x"})),
        ),
        ok("tomap", vec![unknown_value.clone()], unknown_value.clone()),
        err("tomap", vec![j(json!([1]))], "cannot convert list to map"),
        ok("sensitive", vec![s("secret")], s("secret")),
        ok(
            "sensitive",
            vec![partly_unknown.clone()],
            partly_unknown.clone(),
        ),
        ok("nonsensitive", vec![s("x")], s("x")),
        ok("ephemeralasnull", vec![s("x")], s("x")),
        ok("issensitive", vec![s("x")], Value::Unknown),
        err("list", vec![s("a")], "no longer available; use tolist"),
        err(
            "map",
            vec![s("a"), s("b")],
            "no longer available; use tomap",
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
