//! Reshaping lists: concatenating, flattening, chunking, slicing,
//! reversing, sorting, filtering and generating them.

use super::{as_string, Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::handling_unknowns("chunklist", Exactly(2), chunklist),
    Function::new("compact", Exactly(1), compact),
    Function::handling_unknowns("concat", AtLeast(1), concat),
    Function::handling_unknowns("flatten", Exactly(1), flatten),
    Function::new("range", Between(1, 3), range),
    Function::handling_unknowns("reverse", Exactly(1), reverse),
    Function::handling_unknowns("slice", Exactly(3), slice),
    Function::new("sort", Exactly(1), sort),
];

/// Unknown handling: elements are moved, not inspected.
fn chunklist(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) || !args.get(1).is_known() {
        return Ok(Value::Unknown);
    }
    let list = args.list(0)?;
    let size = args.int(1)?;
    let size =
        usize::try_from(size).map_err(|_| args.invalid(1, "the size argument must be positive"))?;
    if list.is_empty() {
        return Ok(Value::List(vec![]));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(list.to_vec())]));
    }
    Ok(Value::List(
        list.chunks(size).map(|c| Value::List(c.to_vec())).collect(),
    ))
}

/// Drops null and empty-string elements; the rest become strings.
fn compact(args: &Args<'_>) -> Result<Value, FunctionError> {
    let mut out = Vec::new();
    for (n, item) in args.list(0)?.iter().enumerate() {
        if item.is_null() {
            continue;
        }
        let s = as_string(item).map_err(|m| args.invalid(0, format!("element {n}: {m}")))?;
        if !s.is_empty() {
            out.push(Value::from(s.into_owned()));
        }
    }
    Ok(Value::List(out))
}

/// Unknown handling: unknown elements are kept; an unknown list makes the
/// result unknown.
fn concat(args: &Args<'_>) -> Result<Value, FunctionError> {
    if args.rest(0).iter().any(|v| matches!(v, Value::Unknown)) {
        return Ok(Value::Unknown);
    }
    let mut out = Vec::new();
    for i in 0..args.len() {
        out.extend_from_slice(args.list(i)?);
    }
    Ok(Value::List(out))
}

/// Unknown handling: unknown if any element it must look into is unknown
/// (it might be a list to flatten); maps and their unknowns are kept.
fn flatten(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    fn walk(items: &[Value], out: &mut Vec<Value>) -> bool {
        for item in items {
            match item {
                Value::Unknown => return false,
                Value::List(inner) => {
                    if !walk(inner, out) {
                        return false;
                    }
                }
                other => out.push(other.clone()),
            }
        }
        true
    }
    let mut out = Vec::new();
    Ok(if walk(args.list(0)?, &mut out) {
        Value::List(out)
    } else {
        Value::Unknown
    })
}

/// `range(end)`, `range(start, end)`, `range(start, end, step)`.
fn range(args: &Args<'_>) -> Result<Value, FunctionError> {
    let numbers: Vec<f64> = (0..args.len())
        .map(|i| args.float(i))
        .collect::<Result<_, _>>()?;
    let (start, end, step) = match numbers.as_slice() {
        [end] => (0.0, *end, if *end < 0.0 { -1.0 } else { 1.0 }),
        [start, end] => (*start, *end, if end < start { -1.0 } else { 1.0 }),
        [start, end, step] => (*start, *end, *step),
        _ => return Err(args.fail("must have one, two, or three arguments")),
    };
    if step == 0.0 {
        return Err(args.invalid(2, "step must not be zero"));
    }
    let down = step < 0.0;
    if down && end > start {
        return Err(args.invalid(1, "end must be less than start when step is negative"));
    }
    if !down && end < start {
        return Err(args.invalid(1, "end must be greater than start when step is positive"));
    }
    let mut out = Vec::new();
    let mut i = 0.0;
    loop {
        // Multiplying rather than accumulating keeps fractional steps exact
        // for as long as f64 can.
        let current = start + step * i;
        if (down && current <= end) || (!down && current >= end) {
            break;
        }
        if out.len() >= 1024 {
            return Err(args.fail(
                "more than 1024 values were generated; either decrease the difference between start and end or use a smaller step",
            ));
        }
        out.push(super::number_result(args, current)?);
        i += 1.0;
    }
    Ok(Value::List(out))
}

/// Unknown handling: elements are moved, not inspected.
fn reverse(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) {
        return Ok(Value::Unknown);
    }
    Ok(Value::List(args.list(0)?.iter().rev().cloned().collect()))
}

/// `slice(list, start, end)`, end exclusive. Unknown handling: elements
/// are moved, not inspected; unknown indexes make the result unknown.
fn slice(args: &Args<'_>) -> Result<Value, FunctionError> {
    if matches!(args.get(0), Value::Unknown) || !args.get(1).is_known() || !args.get(2).is_known() {
        return Ok(Value::Unknown);
    }
    let list = args.list(0)?;
    let start = args
        .int(1)
        .map_err(|e| args.invalid(1, format!("invalid start index: {e}")))?;
    let end = args
        .int(2)
        .map_err(|e| args.invalid(2, format!("invalid end index: {e}")))?;
    let len = i64::try_from(list.len()).unwrap_or(i64::MAX);
    if start < 0 {
        return Err(args.invalid(1, "start index must not be less than zero"));
    }
    if start > len {
        return Err(args.invalid(
            1,
            "start index must not be greater than the length of the list",
        ));
    }
    if end < 0 {
        return Err(args.invalid(2, "end index must not be less than zero"));
    }
    if end > len {
        return Err(args.invalid(
            2,
            "end index must not be greater than the length of the list",
        ));
    }
    if start > end {
        return Err(args.invalid(1, "start index must not be greater than end index"));
    }
    let (start, end) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    Ok(Value::List(list[start..end].to_vec()))
}

/// Sorts lexicographically; numbers and bools are sorted as strings.
fn sort(args: &Args<'_>) -> Result<Value, FunctionError> {
    let mut strings = Vec::new();
    for (n, item) in args.list(0)?.iter().enumerate() {
        if item.is_null() {
            return Err(args.fail(format!(
                "given list element {n} is null; a null string cannot be sorted"
            )));
        }
        strings.push(as_string(item).map_err(|m| args.invalid(0, format!("element {n}: {m}")))?);
    }
    strings.sort_unstable();
    Ok(Value::List(
        strings
            .into_iter()
            .map(|s| Value::from(s.into_owned()))
            .collect(),
    ))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    let u = || Value::Unknown;
    let with_unknown = Value::List(vec![s("a"), u()]);
    vec![
        ok(
            "chunklist",
            vec![j(json!(["a", "b", "c"])), n(2.0)],
            j(json!([["a", "b"], ["c"]])),
        ),
        ok(
            "chunklist",
            vec![j(json!(["a"])), n(0.0)],
            j(json!([["a"]])),
        ),
        ok("chunklist", vec![j(json!([])), n(3.0)], j(json!([]))),
        ok(
            "chunklist",
            vec![with_unknown.clone(), n(1.0)],
            Value::List(vec![Value::List(vec![s("a")]), Value::List(vec![u()])]),
        ),
        err(
            "chunklist",
            vec![j(json!(["a"])), n(-1.0)],
            "must be positive",
        ),
        ok(
            "compact",
            vec![j(json!(["a", "", null, 1]))],
            j(json!(["a", "1"])),
        ),
        ok("compact", vec![with_unknown.clone()], u()),
        ok(
            "concat",
            vec![j(json!(["a"])), j(json!([])), j(json!(["b", 1]))],
            j(json!(["a", "b", 1])),
        ),
        ok(
            "concat",
            vec![with_unknown.clone(), j(json!(["b"]))],
            Value::List(vec![s("a"), u(), s("b")]),
        ),
        ok("concat", vec![u(), j(json!(["b"]))], u()),
        err(
            "concat",
            vec![j(json!(["a"])), s("b")],
            "list, tuple or set required, got string",
        ),
        ok(
            "flatten",
            vec![j(json!([["a", "b"], [], ["c", ["d"]], "e"]))],
            j(json!(["a", "b", "c", "d", "e"])),
        ),
        ok(
            "flatten",
            vec![j(json!([{"a": [1]}]))],
            j(json!([{"a": [1]}])),
        ),
        ok("flatten", vec![Value::List(vec![s("a"), u()])], u()),
        ok("range", vec![n(3.0)], j(json!([0, 1, 2]))),
        ok("range", vec![n(1.0), n(4.0)], j(json!([1, 2, 3]))),
        ok("range", vec![n(4.0), n(1.0)], j(json!([4, 3, 2]))),
        ok(
            "range",
            vec![n(0.0), n(1.0), n(0.25)],
            j(json!([0, 0.25, 0.5, 0.75])),
        ),
        ok("range", vec![n(-2.0)], j(json!([0, -1]))),
        ok("range", vec![n(0.0)], j(json!([]))),
        err(
            "range",
            vec![n(0.0), n(5.0), n(0.0)],
            "step must not be zero",
        ),
        err(
            "range",
            vec![n(0.0), n(5.0), n(-1.0)],
            "end must be less than start",
        ),
        err("range", vec![n(5000.0)], "more than 1024 values"),
        ok("reverse", vec![j(json!([1, 2, 3]))], j(json!([3, 2, 1]))),
        ok(
            "reverse",
            vec![with_unknown.clone()],
            Value::List(vec![u(), s("a")]),
        ),
        ok(
            "slice",
            vec![j(json!(["a", "b", "c", "d"])), n(1.0), n(3.0)],
            j(json!(["b", "c"])),
        ),
        ok(
            "slice",
            vec![with_unknown.clone(), n(1.0), n(2.0)],
            Value::List(vec![u()]),
        ),
        err(
            "slice",
            vec![j(json!(["a"])), n(0.0), n(2.0)],
            "end index must not be greater",
        ),
        err(
            "slice",
            vec![j(json!(["a", "b"])), n(2.0), n(1.0)],
            "start index must not be greater than end",
        ),
        ok(
            "sort",
            vec![j(json!(["e", "d", "a", "x"]))],
            j(json!(["a", "d", "e", "x"])),
        ),
        ok(
            "sort",
            vec![j(json!([10, 2, 1]))],
            j(json!(["1", "10", "2"])),
        ),
        err(
            "sort",
            vec![j(json!(["a", null]))],
            "null string cannot be sorted",
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
