//! `for` expressions, and the child scope that binds loop variables over
//! the enclosing one (shared with template `%{for}` directives).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::expr::{ForCond, ForExpr};
use hcl_edit::Span as _;

use super::{EvalError, Evaluator, Result, Scope, Value};

/// A scope binding up to two loop variables; other names go to `parent`.
pub(super) struct Bindings<'a> {
    parent: &'a dyn Scope,
    key: Option<(&'a str, Value)>,
    value: (&'a str, Value),
}

impl<'a> Bindings<'a> {
    pub(super) fn new(
        parent: &'a dyn Scope,
        key: Option<(&'a str, Value)>,
        value: (&'a str, Value),
    ) -> Bindings<'a> {
        Bindings { parent, key, value }
    }
}

impl Scope for Bindings<'_> {
    fn resolve(&self, root: &str, attr: Option<&str>) -> Option<Value> {
        let bound = std::iter::once(&self.value).chain(self.key.as_ref());
        for (name, value) in bound {
            if *name == root {
                // `x.attr` of a bound `x` is looked up by the evaluator in
                // the value itself; the parent's `x` is shadowed.
                return attr.is_none().then(|| value.clone());
            }
        }
        self.parent.resolve(root, attr)
    }
}

/// The (key, value) pairs a `for` iterates over: a list's indices and
/// elements, a map's keys (sorted) and values. `None` when the collection
/// is unknown.
pub(super) fn iteration(
    collection: Value,
    span: Option<Range<usize>>,
) -> Result<Option<Vec<(Value, Value)>>> {
    match collection {
        Value::Unknown => Ok(None),
        Value::List(items) => Ok(Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (Value::from(i64::try_from(i).unwrap_or(i64::MAX)), item))
                .collect(),
        )),
        Value::Map(map) => Ok(Some(
            map.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        )),
        Value::Null => Err(EvalError::new(
            span,
            "Iteration over null value: a null value cannot be used as the collection in a 'for' expression",
        )),
        other => Err(EvalError::new(
            span,
            format!(
                "Iteration over non-iterable value: a value of type {} cannot be used as the collection in a 'for' expression",
                other.type_name()
            ),
        )),
    }
}

/// The loop variable names, refusing the same name twice.
pub(super) fn loop_names<'a>(
    key: Option<&'a str>,
    value: &'a str,
    span: Option<Range<usize>>,
) -> Result<(Option<&'a str>, &'a str)> {
    if key == Some(value) {
        return Err(EvalError::new(
            span,
            format!(
                "Invalid 'for' expression: the key and value variables are both named \"{value}\""
            ),
        ));
    }
    Ok((key, value))
}

impl Evaluator<'_> {
    pub(super) fn for_expr(&self, f: &ForExpr, scope: &dyn Scope) -> Result {
        // A `for` counts as two levels of nesting: its stack frames are the
        // largest, and this keeps the deepest nesting allowed within a
        // 2 MiB thread stack even in debug builds.
        let _weight = self.enter(f.span())?;
        let (key_var, value_var) = loop_names(
            f.intro.key_var.as_ref().map(|k| k.as_str()),
            f.intro.value_var.as_str(),
            f.intro.span(),
        )?;
        let collection = self.eval(&f.intro.collection_expr, scope)?;
        let Some(items) = iteration(collection, f.intro.collection_expr.span())? else {
            // HCL still checks the condition, with the variables unknown.
            if let Some(cond) = &f.cond {
                let unknown = key_var.map(|name| (name, Value::Unknown));
                let scope = Bindings::new(scope, unknown, (value_var, Value::Unknown));
                self.eval(&cond.expr, &scope)?;
            }
            return Ok(Value::Unknown);
        };
        let span = f.span();
        let mut known = true;
        let mut collected = Collected::default();
        for (key, value) in items {
            self.charge(1, &span)?;
            let scope = Bindings::new(scope, key_var.map(|name| (name, key)), (value_var, value));
            match self.produce(f, &scope)? {
                Produced::Skipped => {}
                Produced::Unknown => known = false,
                Produced::Item(key, value) => {
                    self.charge_value(&value, &span)?;
                    collected.add(f, key, value)?;
                }
            }
        }
        Ok(if known {
            collected.finish(f)
        } else {
            Value::Unknown
        })
    }

    /// One iteration's contribution. (Kept apart from the loop so that the
    /// stack frames of nested `for`s stay small.)
    fn produce(&self, f: &ForExpr, scope: &dyn Scope) -> Result<Produced> {
        match self.included(f.cond.as_ref(), scope)? {
            Some(true) => {}
            Some(false) => return Ok(Produced::Skipped),
            None => return Ok(Produced::Unknown),
        }
        let key = match &f.key_expr {
            None => None,
            Some(key_expr) => match object_key(self.eval(key_expr, scope)?, key_expr.span())? {
                Some(key) => Some(key),
                None => return Ok(Produced::Unknown),
            },
        };
        Ok(Produced::Item(key, self.eval(&f.value_expr, scope)?))
    }

    /// Whether an element passes the `if` clause; `None` when unknown.
    fn included(&self, cond: Option<&ForCond>, scope: &dyn Scope) -> Result<Option<bool>> {
        let Some(cond) = cond else {
            return Ok(Some(true));
        };
        let value = self.eval(&cond.expr, scope)?;
        for_condition(value, cond.expr.span())
    }
}

/// An `if` clause's value; `None` when unknown.
fn for_condition(value: Value, span: Option<Range<usize>>) -> Result<Option<bool>> {
    match value {
        Value::Unknown => Ok(None),
        Value::Null => Err(EvalError::new(
            span,
            "Invalid 'for' condition: the value of the 'if' clause must not be null",
        )),
        value => value.to_tf_bool().map(Some).map_err(|e| {
            EvalError::new(
                span,
                format!("Invalid 'for' condition: the 'if' clause value is invalid: {e}"),
            )
        }),
    }
}

/// What one iteration of a `for` expression contributes.
enum Produced {
    /// Filtered out by the `if` clause.
    Skipped,
    /// Its condition or key is unknown: so is the whole result.
    Unknown,
    /// An element, with its key in the object form.
    Item(Option<String>, Value),
}

/// The elements of a `for` expression's result so far.
#[derive(Default)]
struct Collected {
    list: Vec<Value>,
    object: BTreeMap<String, Value>,
    groups: BTreeMap<String, Vec<Value>>,
}

impl Collected {
    fn add(&mut self, f: &ForExpr, key: Option<String>, value: Value) -> Result<()> {
        let Some(key) = key else {
            self.list.push(value);
            return Ok(());
        };
        if f.grouping {
            self.groups.entry(key).or_default().push(value);
            return Ok(());
        }
        match self.object.entry(key) {
            Entry::Vacant(entry) => {
                entry.insert(value);
                Ok(())
            }
            Entry::Occupied(entry) => Err(EvalError::new(
                f.key_expr.as_ref().and_then(|k| k.span()),
                format!(
                    "Duplicate object key: two different items produced the key \"{}\" in this 'for' expression; if duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key",
                    entry.key()
                ),
            )),
        }
    }

    fn finish(self, f: &ForExpr) -> Value {
        if f.key_expr.is_none() {
            Value::List(self.list)
        } else if f.grouping {
            Value::Map(
                self.groups
                    .into_iter()
                    .map(|(k, v)| (k, Value::List(v)))
                    .collect(),
            )
        } else {
            Value::Map(self.object)
        }
    }
}

/// The key of an object-form `for` element; `None` when unknown.
fn object_key(key: Value, span: Option<Range<usize>>) -> Result<Option<String>> {
    match key {
        Value::Unknown => Ok(None),
        Value::Null => Err(EvalError::new(
            span,
            "Invalid object key: key expression in 'for' expression must not produce a null value",
        )),
        key => key.to_tf_string().map(Some).map_err(|e| {
            EvalError::new(
                span,
                format!("Invalid object key: the key expression produced an invalid result: {e}"),
            )
        }),
    }
}
