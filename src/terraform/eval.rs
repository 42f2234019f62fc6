//! Evaluating HCL expressions to Terraform values, statically.
//!
//! The contract the module-level evaluator relies on:
//!
//! - [`Scope`] resolves the names an expression starts from (`var`,
//!   `local`, `module`, `data`, resource types, `count`, `each`, `path`,
//!   `terraform`, `self`, and iterator names bound by `dynamic` blocks).
//! - [`eval`] never panics and never loops: anything it cannot know is
//!   [`Value::Unknown`]; a genuine evaluation error (a type error, an
//!   unknown function) is an `Err` the caller turns into an unknown value
//!   with a reason.
//! - [`references`] lists the names an expression reads, for dependency
//!   ordering, cycle detection and resource relations.
//!
//! # Semantics
//!
//! Terraform's (HCL's and cty's) rules, with these approximations:
//!
//! - Lists, tuples and sets are one kind of value, as are maps and objects
//!   (see [`super::value`]): `[1] == tolist([1])` is true here, a tuple and
//!   a list in Terraform; a `for` over a set binds the index, not the value,
//!   to the key variable; the branches of a conditional are not unified to
//!   one type.
//! - Numbers are `i64` when whole and `f64` otherwise; an integer operation
//!   that overflows continues in `f64`.
//! - `&&` and `||` follow HCL's short-circuit table (hashicorp/hcl#713):
//!   both operands are evaluated, a `false` operand decides `&&` (a `true`
//!   one `||`) even when the other is unknown or failed; an unknown operand
//!   otherwise makes the result unknown.
//! - A conditional with an unknown condition is unknown, unless both
//!   branches evaluate to the same known value (or both to null); errors in
//!   either branch are then ignored, as HCL drops them.
//! - `try` and `can` give `Unknown` when an argument reads an unknown value
//!   (Terraform's `dependsOnUnknowns`), and also when the successful
//!   argument's value is not wholly known.
//!
//! # Limits
//!
//! One call to [`eval`] nests at most [`MAX_DEPTH`] evaluations (a `for`
//! expression counts twice: its stack frames are the largest), spends at
//! most [`MAX_WORK`] work units (one per loop iteration or splat element,
//! plus the size of each value a loop produces and of each rendered string,
//! a unit per node or 64 bytes), and renders no string longer than
//! [`MAX_STRING`]. Past a limit the evaluation fails, and `try`/`can` do not
//! swallow that failure.

mod access;
mod calls;
mod iteration;
mod operators;
mod references;
mod template;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::expr::{Array, Expression, Object, ObjectKey};
use hcl_edit::{Ident, Span as _};

use super::functions::Context;
use super::value::Value;

pub use references::{references, Reference};

/// How deep evaluations may nest (expressions, template directives,
/// splats) before evaluation fails.
pub const MAX_DEPTH: usize = 256;

/// Work units one evaluation may spend (see the module docs).
pub const MAX_WORK: usize = 1_000_000;

/// The longest string a template may render, in bytes.
pub const MAX_STRING: usize = 16 * 1024 * 1024;

/// Bytes of string that count as one work unit.
const BYTES_PER_UNIT: usize = 64;

/// Where names come from.
pub trait Scope {
    /// The value of `root.attr` for a root name and its first attribute
    /// (`var.region` is `("var", Some("region"))`); `attr` is `None` for
    /// a bare name (`count`, `each`, an iterator). `None` when the name is
    /// not defined at all (an error in Terraform).
    ///
    /// When `resolve(root, Some(attr))` is `None`, the evaluator asks for
    /// `resolve(root, None)` and looks `attr` up in that value itself, so a
    /// scope may answer either form.
    fn resolve(&self, root: &str, attr: Option<&str>) -> Option<Value>;
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
    /// Byte span of the offending sub-expression, when known.
    pub span: Option<std::ops::Range<usize>>,
    /// A limit was reached (depth, work, a budget, a result's size): the
    /// value is unknown for want of resources, not because the
    /// configuration is wrong, and a report must say so.
    pub limit: bool,
}

impl EvalError {
    pub fn new(span: Option<Range<usize>>, message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
            span,
            limit: false,
        }
    }
}

/// Evaluates an expression.
pub fn eval(
    expr: &Expression,
    scope: &dyn Scope,
    ctx: &Context,
) -> std::result::Result<Value, EvalError> {
    Evaluator::new(ctx, None).eval(expr, scope)
}

/// Work many evaluations share: one root module's, so that values built
/// across locals, module calls and instances (each evaluation within
/// [`MAX_WORK`]) cannot together grow without bound. The value each
/// evaluation returns is charged too, since every reference copies it.
#[derive(Debug)]
pub struct Budget {
    remaining: Cell<usize>,
    total: usize,
    spent: Cell<bool>,
    /// What all budgets drawing on the same pool have left, across
    /// threads.
    pool: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl Budget {
    pub fn new(units: usize) -> Budget {
        Budget {
            remaining: Cell::new(units),
            total: units,
            spent: Cell::new(false),
            pool: None,
        }
    }

    /// A budget of `units` that also draws every unit from `pool`.
    pub fn shared(units: usize, pool: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Budget {
        Budget {
            pool: Some(pool),
            ..Budget::new(units)
        }
    }

    /// The units it started with.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether an evaluation failed for want of budget.
    pub fn is_spent(&self) -> bool {
        self.spent.get()
    }

    fn take(&self, units: usize) -> bool {
        use std::sync::atomic::Ordering;
        let pooled = self.pool.as_ref().is_none_or(|pool| {
            pool.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(units)
            })
            .is_ok()
        });
        match self.remaining.get().checked_sub(units) {
            Some(left) if pooled => {
                self.remaining.set(left);
                true
            }
            _ => {
                self.remaining.set(0);
                self.spent.set(true);
                false
            }
        }
    }
}

/// Evaluates an expression, charging its work and the value it returns
/// to `budget`; once the budget is spent, every evaluation fails.
pub fn eval_within(
    expr: &Expression,
    scope: &dyn Scope,
    ctx: &Context,
    budget: &Budget,
) -> std::result::Result<Value, EvalError> {
    let evaluator = Evaluator::new(ctx, Some(budget));
    let value = evaluator.eval(expr, scope)?;
    evaluator.charge_value(&value, &expr.span())?;
    Ok(value)
}

type Result<T = Value> = std::result::Result<T, EvalError>;

/// The state of one evaluation: the limits spent so far.
struct Evaluator<'c> {
    ctx: &'c Context,
    /// The budget shared with other evaluations, if any.
    budget: Option<&'c Budget>,
    depth: Cell<usize>,
    work: Cell<usize>,
    /// Set once a limit is hit: the evaluation as a whole must fail, so
    /// `try`, `can` and the lenient paths re-raise instead of recovering.
    exhausted: Cell<bool>,
    /// Inside `templatefile`/`templatestring`, which may not recurse.
    rendering: Cell<bool>,
}

/// Leaves one level of nesting when dropped.
struct Depth<'a>(&'a Cell<usize>);

impl Drop for Depth<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

impl<'c> Evaluator<'c> {
    fn new(ctx: &'c Context, budget: Option<&'c Budget>) -> Evaluator<'c> {
        Evaluator {
            ctx,
            budget,
            depth: Cell::new(0),
            work: Cell::new(0),
            exhausted: Cell::new(false),
            rendering: Cell::new(false),
        }
    }

    fn eval(&self, expr: &Expression, scope: &dyn Scope) -> Result {
        let _depth = self.enter(expr.span())?;
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => number_literal(n.value())
                .ok_or_else(|| EvalError::new(expr.span(), "number literal out of range")),
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(array) => self.array(array, scope),
            Expression::Object(object) => self.object(object, scope),
            Expression::StringTemplate(t) => self.template(t, scope),
            Expression::HeredocTemplate(heredoc) => self.template(&heredoc.template, scope),
            Expression::Parenthesis(inner) => self.eval(inner.inner(), scope),
            Expression::Variable(name) => self.variable(name.value(), expr.span(), scope),
            Expression::Conditional(c) => self.conditional(c, scope),
            Expression::FuncCall(call) => self.call(call, scope),
            Expression::Traversal(traversal) => self.traversal(traversal, scope),
            Expression::UnaryOp(op) => self.unary(op, scope),
            Expression::BinaryOp(op) => self.binary(op, scope),
            Expression::ForExpr(f) => self.for_expr(f, scope),
        }
    }

    /// Evaluates, turning an ordinary error into `None` (limit errors
    /// still fail).
    fn eval_lenient(&self, expr: &Expression, scope: &dyn Scope) -> Result<Option<Value>> {
        match self.eval(expr, scope) {
            Ok(value) => Ok(Some(value)),
            Err(err) if self.exhausted.get() => Err(err),
            Err(_) => Ok(None),
        }
    }

    /// One level deeper, or a limit error.
    fn enter(&self, span: Option<Range<usize>>) -> Result<Depth<'_>> {
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            return Err(self.limit(
                span,
                format!("expression nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth.set(depth);
        Ok(Depth(&self.depth))
    }

    /// Spends work units, or fails past [`MAX_WORK`].
    fn charge(&self, units: usize, span: &Option<Range<usize>>) -> Result<()> {
        if let Some(budget) = self.budget {
            if !budget.take(units) {
                return Err(self.limit(
                    span.clone(),
                    format!(
                        "the root module's evaluation budget of {} steps is spent",
                        budget.total
                    ),
                ));
            }
        }
        let work = self.work.get().saturating_add(units);
        self.work.set(work);
        if work > MAX_WORK {
            return Err(self.limit(
                span.clone(),
                format!(
                    "evaluation needs more than {MAX_WORK} steps (loop iterations and the values they produce)"
                ),
            ));
        }
        Ok(())
    }

    /// Spends the work a produced value represents.
    fn charge_value(&self, value: &Value, span: &Option<Range<usize>>) -> Result<()> {
        let remaining = MAX_WORK.saturating_sub(self.work.get());
        self.charge(cost(value, remaining), span)
    }

    /// A limit error: the whole evaluation fails.
    fn limit(&self, span: Option<Range<usize>>, message: String) -> EvalError {
        self.exhausted.set(true);
        EvalError {
            limit: true,
            ..EvalError::new(span, message)
        }
    }

    fn variable(&self, name: &Ident, span: Option<Range<usize>>, scope: &dyn Scope) -> Result {
        scope.resolve(name.as_str(), None).ok_or_else(|| {
            EvalError::new(
                span,
                format!("reference to undeclared name \"{}\"", name.as_str()),
            )
        })
    }

    fn array(&self, array: &Array, scope: &dyn Scope) -> Result {
        let mut items = Vec::with_capacity(array.len());
        for item in array.iter() {
            items.push(self.eval(item, scope)?);
        }
        Ok(Value::List(items))
    }

    /// An object constructor; an unknown key makes the whole object
    /// unknown (its attributes are not known), and a later duplicate key
    /// wins, as in HCL.
    fn object(&self, object: &Object, scope: &dyn Scope) -> Result {
        let mut map = BTreeMap::new();
        let mut known = true;
        for (key, value) in object.iter() {
            let key = self.object_key(key, scope)?;
            let value = self.eval(value.expr(), scope)?;
            match key {
                Some(key) => {
                    map.insert(key, value);
                }
                None => known = false,
            }
        }
        Ok(if known {
            Value::Map(map)
        } else {
            Value::Unknown
        })
    }

    /// A key's string, `None` when unknown.
    fn object_key(&self, key: &ObjectKey, scope: &dyn Scope) -> Result<Option<String>> {
        let expr = match key {
            ObjectKey::Ident(ident) => return Ok(Some(ident.as_str().to_string())),
            ObjectKey::Expression(expr) => expr,
        };
        let span = expr.span();
        match expr {
            // A bare name is a literal key, as `{ name = 1 }`; so are the
            // keywords, unparenthesized (HCL reads them back as names).
            Expression::Variable(name) => return Ok(Some(name.as_str().to_string())),
            Expression::Null(_) => return Ok(Some("null".to_string())),
            Expression::Bool(b) => return Ok(Some(b.value().to_string())),
            Expression::Traversal(t) if matches!(t.expr, Expression::Variable(_)) => {
                return Err(EvalError::new(
                    span,
                    "Ambiguous attribute key: if this expression is intended to be a reference, wrap it in parentheses; if it is a literal name containing periods, wrap it in quotes",
                ));
            }
            _ => {}
        }
        match self.eval(expr, scope)? {
            Value::Unknown => Ok(None),
            Value::Null => Err(EvalError::new(
                span,
                "Null value as key: can't use a null value as a key",
            )),
            value => value.to_tf_string().map(Some).map_err(|e| {
                EvalError::new(
                    span,
                    format!("Incorrect key type: can't use this value as a key: {e}"),
                )
            }),
        }
    }
}

fn number_literal(n: &hcl_edit::Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(Value::Number(u.into()));
    }
    n.as_f64().and_then(Value::from_f64)
}

/// The work a value represents: a unit per node and per
/// [`BYTES_PER_UNIT`] bytes of string, counted up to `limit` (then
/// `limit + 1`).
fn cost(value: &Value, limit: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        total = total.saturating_add(1);
        match value {
            Value::String(s) => total = total.saturating_add(s.len() / BYTES_PER_UNIT),
            Value::List(items) => stack.extend(items),
            Value::Map(map) => {
                for (key, item) in map {
                    total = total.saturating_add(key.len() / BYTES_PER_UNIT);
                    stack.push(item);
                }
            }
            _ => {}
        }
        if total > limit {
            return total;
        }
    }
    total
}
