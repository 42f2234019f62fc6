//! Collection queries: length, membership, picking an element or the first
//! usable value, and reducing a list to one value. (Reshaping lists is in
//! `sequences.rs`, maps in `maps.rs`, set algebra in `sets.rs`.)

use super::{as_number, Args, Arity, Function, FunctionError, Value};
use crate::terraform::value::number_as_i64;

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::handling_unknowns("alltrue", Exactly(1), alltrue),
    Function::handling_unknowns("anytrue", Exactly(1), anytrue),
    Function::handling_unknowns("coalesce", AtLeast(1), coalesce),
    Function::handling_unknowns("coalescelist", AtLeast(1), coalescelist),
    Function::handling_unknowns("contains", Exactly(2), contains),
    Function::handling_unknowns("element", Exactly(2), element),
    Function::handling_unknowns("index", Exactly(2), index),
    Function::handling_unknowns("length", Exactly(1), length),
    Function::handling_unknowns("one", Exactly(1), one),
    Function::new("sum", Exactly(1), sum),
];

/// True when every element is true (or `"true"`); a null element is false.
/// Unknown handling: walks in order, so a false element before any unknown
/// one still answers false.
fn alltrue(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    for item in args.list(0)? {
        match item {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => return Ok(Value::from(false)),
            v => {
                if !v.to_tf_bool().map_err(|e| args.invalid(0, e.0))? {
                    return Ok(Value::from(false));
                }
            }
        }
    }
    Ok(Value::from(true))
}

/// True when any element is true. Unknown handling: a true element settles
/// it whatever the unknowns; otherwise any unknown makes it unknown.
fn anytrue(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    let mut unknown = false;
    for item in args.list(0)? {
        match item {
            Value::Unknown => unknown = true,
            Value::Null => {}
            v => {
                if v.to_tf_bool().map_err(|e| args.invalid(0, e.0))? {
                    return Ok(Value::from(true));
                }
            }
        }
    }
    Ok(if unknown {
        Value::Unknown
    } else {
        Value::from(false)
    })
}

/// The first argument that is neither null nor `""`, after giving all
/// arguments one type (mixed primitives become strings). Unknown handling:
/// an unknown before the first such argument makes the result unknown (it
/// might have been chosen); unknowns after it do not matter.
fn coalesce(args: &Args<'_>) -> Result<Value, FunctionError> {
    let unified = super::conversion::unify(args.rest(0).to_vec()).map_err(|m| args.fail(m))?;
    for v in unified {
        match v {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            other => return Ok(other),
        }
    }
    Err(args.fail("no non-null, non-empty-string arguments"))
}

/// The first non-empty list. Unknown handling: as `coalesce`.
fn coalescelist(args: &Args<'_>) -> Result<Value, FunctionError> {
    for (i, v) in args.rest(0).iter().enumerate() {
        match v {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {}
            Value::List(items) if items.is_empty() => {}
            Value::List(_) => return Ok(v.clone()),
            other => {
                return Err(args.invalid(
                    i,
                    format!("list, tuple or set required, got {}", other.type_name()),
                ))
            }
        }
    }
    Err(args.fail("no non-null arguments"))
}

/// Unknown handling: true as soon as a known element equals the value;
/// otherwise unknown if any comparison involved an unknown.
fn contains(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    let list = match args.get(0) {
        Value::Null => return Err(args.invalid(0, "cannot search a nil list or set")),
        Value::List(items) => items,
        other => {
            return Err(args.invalid(
                0,
                format!(
                    "argument must be list, tuple, or set, got {}",
                    other.type_name()
                ),
            ))
        }
    };
    if list.is_empty() {
        return Ok(Value::from(false));
    }
    let needle = args.get(1);
    let mut unknown = false;
    for item in list {
        match needle.tf_equals(item) {
            Some(true) => return Ok(Value::from(true)),
            Some(false) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Unknown
    } else {
        Value::from(false)
    })
}

/// `element(list, index)`, wrapping around. Unknown handling: the list
/// must be known and the index known; the element itself may be unknown.
fn element(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) || !args.get(1).is_known() {
        return Ok(Value::Unknown);
    }
    let list = args.list(0)?;
    let index = args
        .int(1)
        .map_err(|_| args.invalid(1, "invalid index: a whole number is required"))?;
    if list.is_empty() {
        return Err(args.fail("cannot use element function with an empty list"));
    }
    let len = i64::try_from(list.len()).unwrap_or(i64::MAX);
    let at = usize::try_from(index.rem_euclid(len)).unwrap_or(0);
    Ok(list[at].clone())
}

/// The index of the first element equal to the value. Unknown handling:
/// an unknown comparison before the match makes the result unknown.
fn index(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    let list = args.list(0)?;
    if list.is_empty() {
        return Err(args.fail("cannot search an empty list"));
    }
    for (i, item) in list.iter().enumerate() {
        match item.tf_equals(args.get(1)) {
            None => return Ok(Value::Unknown),
            Some(true) => return Ok(Value::from(i64::try_from(i).unwrap_or(i64::MAX))),
            Some(false) => {}
        }
    }
    Err(args.fail("item not found"))
}

/// Elements of a list, entries of a map, characters of a string. Unknown
/// handling: only the shape matters, so unknown elements do not.
fn length(args: &Args<'_>) -> Result<Value, FunctionError> {
    let len = match args.get(0) {
        Value::Unknown => return Ok(Value::Unknown),
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        Value::String(s) => super::strings::graphemes(s).len(),
        Value::Null => return Err(args.invalid(0, "argument must not be null")),
        other => {
            return Err(args.invalid(
                0,
                format!(
                    "argument must be a string, a collection type, or a structural type, got {}",
                    other.type_name()
                ),
            ))
        }
    };
    Ok(Value::from(i64::try_from(len).unwrap_or(i64::MAX)))
}

/// Null for an empty list, the element of a one-element list. Unknown
/// handling: the element may be unknown.
fn one(args: &Args<'_>) -> Result<Value, FunctionError> {
    match args.get(0) {
        Value::Unknown => Ok(Value::Unknown),
        Value::List(items) if items.is_empty() => Ok(Value::Null),
        Value::List(items) if items.len() == 1 => Ok(items[0].clone()),
        Value::Null => Err(args.invalid(0, "argument must not be null")),
        _ => Err(args.invalid(
            0,
            "must be a list, set, or tuple value with either zero or one elements",
        )),
    }
}

fn sum(args: &Args<'_>) -> Result<Value, FunctionError> {
    let list = args.list(0)?;
    if list.is_empty() {
        return Err(args.invalid(0, "cannot sum an empty list"));
    }
    let not_numbers = || args.invalid(0, "argument must be list, set, or tuple of number values");
    let numbers = list
        .iter()
        .map(|v| as_number(v).map_err(|_| not_numbers()))
        .collect::<Result<Vec<_>, _>>()?;
    let exact = numbers.iter().try_fold(0i64, |acc, n| {
        number_as_i64(n).and_then(|i| acc.checked_add(i))
    });
    if let Some(total) = exact {
        return Ok(Value::from(total));
    }
    let total = numbers.iter().map(|n| n.as_f64().unwrap_or(0.0)).sum();
    super::number_result(args, total)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    let u = || Value::Unknown;
    let with_unknown = Value::List(vec![s("a"), u()]);
    vec![
        ok("alltrue", vec![j(json!([true, "true"]))], Value::from(true)),
        ok("alltrue", vec![j(json!([]))], Value::from(true)),
        ok("alltrue", vec![j(json!([true, false]))], Value::from(false)),
        ok("alltrue", vec![j(json!([true, null]))], Value::from(false)),
        ok(
            "alltrue",
            vec![Value::List(vec![Value::from(false), u()])],
            Value::from(false),
        ),
        ok(
            "alltrue",
            vec![Value::List(vec![Value::from(true), u()])],
            u(),
        ),
        err("alltrue", vec![j(json!(["yes"]))], "only the strings"),
        ok(
            "anytrue",
            vec![j(json!([false, "true"]))],
            Value::from(true),
        ),
        ok("anytrue", vec![j(json!([]))], Value::from(false)),
        ok(
            "anytrue",
            vec![Value::List(vec![u(), Value::from(true)])],
            Value::from(true),
        ),
        ok(
            "anytrue",
            vec![Value::List(vec![u(), Value::from(false)])],
            u(),
        ),
        ok("coalesce", vec![Value::Null, s(""), s("b")], s("b")),
        ok("coalesce", vec![n(1.0), s("a")], s("1")),
        ok("coalesce", vec![n(0.0), n(1.0)], n(0.0)),
        ok("coalesce", vec![u(), s("x")], u()),
        ok("coalesce", vec![s("x"), u()], s("x")),
        err("coalesce", vec![Value::Null, s("")], "no non-null"),
        ok(
            "coalescelist",
            vec![j(json!([])), j(json!(["a"])), j(json!(["b"]))],
            j(json!(["a"])),
        ),
        ok("coalescelist", vec![u(), j(json!(["a"]))], u()),
        err(
            "coalescelist",
            vec![j(json!([])), Value::Null],
            "no non-null arguments",
        ),
        err("coalescelist", vec![s("a")], "list, tuple or set required"),
        ok(
            "contains",
            vec![j(json!(["a", "b"])), s("b")],
            Value::from(true),
        ),
        ok(
            "contains",
            vec![j(json!(["a", "b"])), s("c")],
            Value::from(false),
        ),
        ok(
            "contains",
            vec![j(json!([1, 2])), n(2.0)],
            Value::from(true),
        ),
        ok(
            "contains",
            vec![j(json!(["1"])), n(1.0)],
            Value::from(false),
        ),
        ok("contains", vec![j(json!([])), u()], Value::from(false)),
        ok(
            "contains",
            vec![with_unknown.clone(), s("a")],
            Value::from(true),
        ),
        ok("contains", vec![with_unknown.clone(), s("z")], u()),
        err("contains", vec![Value::Null, s("a")], "nil list"),
        ok("element", vec![j(json!(["a", "b", "c"])), n(1.0)], s("b")),
        ok("element", vec![j(json!(["a", "b", "c"])), n(5.0)], s("c")),
        ok("element", vec![j(json!(["a", "b", "c"])), n(-1.0)], s("c")),
        ok("element", vec![with_unknown.clone(), n(0.0)], s("a")),
        ok("element", vec![with_unknown.clone(), n(1.0)], u()),
        err("element", vec![j(json!([])), n(0.0)], "empty list"),
        ok("index", vec![j(json!(["a", "b", "c"])), s("b")], n(1.0)),
        ok(
            "index",
            vec![Value::List(vec![s("b"), u()]), s("b")],
            n(0.0),
        ),
        ok("index", vec![Value::List(vec![u(), s("b")]), s("b")], u()),
        err("index", vec![j(json!(["a"])), s("z")], "item not found"),
        err("index", vec![j(json!([])), s("z")], "empty list"),
        ok("length", vec![j(json!(["a", "b"]))], n(2.0)),
        ok("length", vec![j(json!({"a": 1}))], n(1.0)),
        ok("length", vec![s("héllo")], n(5.0)),
        ok("length", vec![Value::List(vec![u(), u()])], n(2.0)),
        ok("length", vec![u()], u()),
        err(
            "length",
            vec![n(5.0)],
            "argument must be a string, a collection",
        ),
        err("length", vec![Value::Null], "must not be null"),
        ok("one", vec![j(json!([]))], Value::Null),
        ok("one", vec![j(json!(["a"]))], s("a")),
        ok("one", vec![Value::List(vec![u()])], u()),
        err("one", vec![j(json!(["a", "b"]))], "either zero or one"),
        ok("sum", vec![j(json!([10, 2.5, "3"]))], n(15.5)),
        ok("sum", vec![j(json!([1, 2]))], n(3.0)),
        err("sum", vec![j(json!([]))], "cannot sum an empty list"),
        err("sum", vec![j(json!(["a"]))], "number values"),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn table() {
        super::super::testing::run(super::cases());
    }
}
