//! Set algebra. Sets are lists here; results are deduplicated and in
//! [`Value::set`] order. Elements of all arguments are first given one
//! type, as Terraform unifies the element types of its set arguments.

use super::conversion::unify;
use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("distinct", Exactly(1), distinct),
    Function::new("setintersection", AtLeast(1), setintersection),
    Function::new("setproduct", AtLeast(2), setproduct),
    Function::new("setsubtract", Exactly(2), setsubtract),
    Function::new("setunion", AtLeast(1), setunion),
];

/// Removes duplicates, keeping the first of each in order (after giving
/// the elements one type, as the list conversion does).
fn distinct(args: &Args<'_>) -> Result<Value, FunctionError> {
    let items = unify(args.list(0)?.to_vec()).map_err(|m| args.fail(m))?;
    let mut out: Vec<Value> = Vec::new();
    for item in &items {
        if !out.iter().any(|seen| seen.tf_equals(item) == Some(true)) {
            out.push(item.clone());
        }
    }
    Ok(Value::List(out))
}

/// Every argument's elements, unified, split back per argument.
fn unified_sets(args: &Args<'_>) -> Result<Vec<Vec<Value>>, FunctionError> {
    let mut lengths = Vec::new();
    let mut all = Vec::new();
    for i in 0..args.len() {
        let list = args.list(i)?;
        lengths.push(list.len());
        all.extend_from_slice(list);
    }
    let mut all = unify(all).map_err(|m| args.fail(m))?.into_iter();
    Ok(lengths
        .into_iter()
        .map(|len| all.by_ref().take(len).collect())
        .collect())
}

fn member(set: &[Value], item: &Value) -> bool {
    set.iter().any(|v| v.tf_equals(item) == Some(true))
}

fn setunion(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::set(unified_sets(args)?.concat()))
}

fn setintersection(args: &Args<'_>) -> Result<Value, FunctionError> {
    let mut sets = unified_sets(args)?.into_iter();
    let first = sets.next().unwrap_or_default();
    let others: Vec<_> = sets.collect();
    Ok(Value::set(
        first
            .into_iter()
            .filter(|item| others.iter().all(|set| member(set, item)))
            .collect(),
    ))
}

fn setsubtract(args: &Args<'_>) -> Result<Value, FunctionError> {
    let sets = unified_sets(args)?;
    Ok(Value::set(
        sets[0]
            .iter()
            .filter(|item| !member(&sets[1], item))
            .cloned()
            .collect(),
    ))
}

/// Every combination, one element from each argument, the last argument
/// varying fastest. Arguments keep their own order and duplicates (a
/// Terraform set would already have neither).
fn setproduct(args: &Args<'_>) -> Result<Value, FunctionError> {
    let lists: Vec<&[Value]> = (0..args.len())
        .map(|i| args.list(i))
        .collect::<Result<_, _>>()?;
    let total = lists
        .iter()
        .try_fold(1usize, |acc, l| acc.checked_mul(l.len()))
        .filter(|&t| t <= 100_000)
        .ok_or_else(|| args.fail("the product has more than 100000 elements"))?;
    let mut out = Vec::with_capacity(total);
    let mut counters = vec![0usize; lists.len()];
    for _ in 0..total {
        out.push(Value::List(
            counters
                .iter()
                .zip(&lists)
                .map(|(&i, l)| l[i].clone())
                .collect(),
        ));
        for (counter, list) in counters.iter_mut().zip(&lists).rev() {
            *counter += 1;
            if *counter < list.len() {
                break;
            }
            *counter = 0;
        }
    }
    Ok(Value::List(out))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok(
            "distinct",
            vec![j(json!(["a", "b", "a", "c", "d", "b"]))],
            j(json!(["a", "b", "c", "d"])),
        ),
        ok("distinct", vec![j(json!([1, 1.0, "1"]))], j(json!(["1"]))),
        ok(
            "distinct",
            vec![Value::List(vec![Value::Unknown])],
            Value::Unknown,
        ),
        ok(
            "setunion",
            vec![j(json!(["b", "a"])), j(json!(["c", "a"]))],
            j(json!(["a", "b", "c"])),
        ),
        ok(
            "setunion",
            vec![j(json!(["a"])), j(json!([1]))],
            j(json!(["1", "a"])),
        ),
        err(
            "setunion",
            vec![j(json!(["a"])), s("b")],
            "list, tuple or set required",
        ),
        ok(
            "setintersection",
            vec![
                j(json!(["a", "b"])),
                j(json!(["b", "c"])),
                j(json!(["b", "d"])),
            ],
            j(json!(["b"])),
        ),
        ok(
            "setintersection",
            vec![j(json!(["a", "a"]))],
            j(json!(["a"])),
        ),
        ok(
            "setsubtract",
            vec![j(json!(["a", "b", "c"])), j(json!(["a", "c"]))],
            j(json!(["b"])),
        ),
        ok(
            "setproduct",
            vec![j(json!(["dev", "prod"])), j(json!(["a", "b"]))],
            j(json!([
                ["dev", "a"],
                ["dev", "b"],
                ["prod", "a"],
                ["prod", "b"]
            ])),
        ),
        ok(
            "setproduct",
            vec![j(json!(["a"])), j(json!([]))],
            j(json!([])),
        ),
        err("setproduct", vec![j(json!(["a"]))], "expected at least 2"),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn table() {
        super::super::testing::run(super::cases());
    }
}
