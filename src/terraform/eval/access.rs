//! Traversals: a root name resolved through the [`Scope`], then attribute
//! access, indexing (including the legacy `.0` form) and splats, with
//! HCL's errors for missing attributes, keys and indices.

use std::ops::Range;

use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
use hcl_edit::{Decorated, Ident, Span as _};

use super::{EvalError, Evaluator, Result, Scope, Value};

type Operator = Decorated<TraversalOperator>;

impl Evaluator<'_> {
    pub(super) fn traversal(&self, traversal: &Traversal, scope: &dyn Scope) -> Result {
        let operators = traversal.operators.as_slice();
        let (base, rest) = match &traversal.expr {
            Expression::Variable(root) => root_value(root, operators, scope)?,
            other => (self.eval(other, scope)?, operators),
        };
        self.apply(base, rest, scope)
    }

    /// Applies traversal operators to a value. An attribute splat takes the
    /// attribute and legacy index steps after it; a full splat takes every
    /// step after it (nested splats included), as HCL parses them.
    fn apply(&self, mut value: Value, operators: &[Operator], scope: &dyn Scope) -> Result {
        let mut i = 0;
        while let Some(operator) = operators.get(i) {
            let span = operator.span();
            let rest = operators.get(i + 1..).unwrap_or_default();
            i += 1;
            value = match operator.value() {
                TraversalOperator::GetAttr(name) => get_attr(value, name.as_str(), span)?,
                TraversalOperator::Index(key) => {
                    let key = self.eval(key, scope)?;
                    index(value, &key, span)?
                }
                TraversalOperator::LegacyIndex(n) => {
                    index(value, &Value::Number((*n.value()).into()), span)?
                }
                TraversalOperator::AttrSplat(_) => {
                    let each = rest
                        .iter()
                        .take_while(|op| {
                            matches!(
                                op.value(),
                                TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_)
                            )
                        })
                        .count();
                    i += each;
                    let each = rest.get(..each).unwrap_or_default();
                    self.splat(value, each, scope, span)?
                }
                TraversalOperator::FullSplat(_) => return self.splat(value, rest, scope, span),
            };
        }
        Ok(value)
    }

    /// Applies `each` to every element of `source`: a list's elements, a
    /// single non-list value (as a one-element list), nothing for null.
    fn splat(
        &self,
        source: Value,
        each: &[Operator],
        scope: &dyn Scope,
        span: Option<Range<usize>>,
    ) -> Result {
        let _depth = self.enter(span.clone())?;
        match source {
            Value::Unknown => Ok(Value::Unknown),
            Value::Null => Ok(Value::List(Vec::new())),
            Value::List(items) => {
                self.charge(items.len(), &span)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.apply(item, each, scope)?);
                }
                Ok(Value::List(out))
            }
            other => Ok(Value::List(vec![self.apply(other, each, scope)?])),
        }
    }
}

/// The value a traversal starts from, and the operators left to apply:
/// `root.attr` is asked of the scope as one name, then `root` alone.
fn root_value<'o>(
    root: &Decorated<Ident>,
    operators: &'o [Operator],
    scope: &dyn Scope,
) -> Result<(Value, &'o [Operator])> {
    let name = root.as_str();
    let first = operators
        .split_first()
        .and_then(|(first, rest)| match first.value() {
            TraversalOperator::GetAttr(attr) => Some((attr, first.span(), rest)),
            _ => None,
        });
    if let Some((attr, _, rest)) = first {
        if let Some(value) = scope.resolve(name, Some(attr.as_str())) {
            return Ok((value, rest));
        }
    }
    if let Some(value) = scope.resolve(name, None) {
        return Ok((value, operators));
    }
    let start = root.span();
    Err(match first {
        Some((attr, attr_span, _)) => EvalError::new(
            join(start, attr_span),
            format!("reference to undeclared name \"{name}.{}\"", attr.as_str()),
        ),
        None => EvalError::new(start, format!("reference to undeclared name \"{name}\"")),
    })
}

fn join(a: Option<Range<usize>>, b: Option<Range<usize>>) -> Option<Range<usize>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.start.min(b.start)..a.end.max(b.end)),
        (a, b) => a.or(b),
    }
}

/// `value.name`.
pub(super) fn get_attr(value: Value, name: &str, span: Option<Range<usize>>) -> Result {
    match value {
        Value::Unknown => Ok(Value::Unknown),
        Value::Map(mut map) => map.remove(name).ok_or_else(|| {
            EvalError::new(
                span,
                format!("Unsupported attribute: this object does not have an attribute named \"{name}\""),
            )
        }),
        Value::Null => Err(EvalError::new(
            span,
            "Attempt to get attribute from null value: this value is null, so it does not have any attributes",
        )),
        Value::List(_) => Err(EvalError::new(
            span,
            format!(
                "Unsupported attribute: can't access attributes on a list of objects; did you mean to access attribute \"{name}\" for a specific element of the list, or across all elements of the list (with [*])?"
            ),
        )),
        other => Err(EvalError::new(
            span,
            format!(
                "Unsupported attribute: can't access attributes on a primitive-typed value ({})",
                other.type_name()
            ),
        )),
    }
}

/// `value[key]`: a whole, in-range number for a list (strings holding a
/// number convert), a string for a map (numbers and bools convert).
pub(super) fn index(value: Value, key: &Value, span: Option<Range<usize>>) -> Result {
    let invalid = |detail: &str| {
        EvalError::new(
            span.clone(),
            format!("Invalid index: the given key does not identify an element in this collection value{detail}"),
        )
    };
    if value.is_null() {
        return Err(EvalError::new(
            span,
            "Attempt to index null value: this value is null, so it does not have any indices",
        ));
    }
    if key.is_null() {
        return Err(EvalError::new(
            span,
            "Invalid index: can't use a null value as an indexing key",
        ));
    }
    if matches!(value, Value::Unknown) || matches!(key, Value::Unknown) {
        return Ok(Value::Unknown);
    }
    match value {
        Value::List(mut items) => {
            let number = key.to_tf_number().map_err(|e| invalid(&format!(": {e}")))?;
            let number = Value::Number(number);
            let Some(i) = number.as_i64() else {
                let fractional = number.as_f64().is_some_and(|f| f.fract() != 0.0);
                return Err(invalid(if fractional {
                    ": indexing a sequence requires a whole number, but the given index has a fractional part"
                } else {
                    ": the given index is greater than or equal to the length of the collection"
                }));
            };
            if i < 0 {
                return Err(invalid(
                    ": a negative number is not a valid index for a sequence",
                ));
            }
            match usize::try_from(i) {
                Ok(i) if i < items.len() => Ok(items.swap_remove(i)),
                _ if items.is_empty() => Err(invalid(": the collection has no elements")),
                _ => Err(invalid(
                    ": the given index is greater than or equal to the length of the collection",
                )),
            }
        }
        Value::Map(mut map) => {
            let key = match key {
                Value::List(_) | Value::Map(_) => {
                    return Err(invalid(&format!(
                        ": cannot convert {} to string",
                        key.type_name()
                    )))
                }
                key => key.to_tf_string().map_err(|e| invalid(&format!(": {e}")))?,
            };
            map.remove(&key).ok_or_else(|| invalid(""))
        }
        other => Err(EvalError::new(
            span,
            format!(
                "Invalid index: this value ({}) does not have any indices",
                other.type_name()
            ),
        )),
    }
}
