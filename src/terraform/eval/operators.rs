//! Operators and the conditional expression: cty's arithmetic,
//! comparison, equality and logic, with its unknown propagation and HCL's
//! short-circuit rules.

use std::cmp::Ordering;
use std::ops::Range;

use hcl_edit::expr::{BinaryOp, BinaryOperator, Conditional, Expression, UnaryOp, UnaryOperator};
use hcl_edit::Span as _;
use serde_json::Number;

use super::{EvalError, Evaluator, Result, Scope, Value};
use crate::terraform::value::{number_as_i64, number_from_f64};

impl Evaluator<'_> {
    pub(super) fn unary(&self, op: &UnaryOp, scope: &dyn Scope) -> Result {
        let value = self.eval(&op.expr, scope)?;
        let span = op.expr.span();
        match op.operator.value() {
            UnaryOperator::Neg => {
                let Some(n) = number_operand(&value, "unary", span)? else {
                    return Ok(Value::Unknown);
                };
                negate(&n).map(Value::Number).ok_or_else(|| {
                    EvalError::new(op.span(), "Operation failed: result out of range")
                })
            }
            UnaryOperator::Not => Ok(
                bool_operand(&value, "unary", span)?.map_or(Value::Unknown, |b| Value::Bool(!b))
            ),
        }
    }

    pub(super) fn binary(&self, op: &BinaryOp, scope: &dyn Scope) -> Result {
        let operator = *op.operator.value();
        if let BinaryOperator::And | BinaryOperator::Or = operator {
            return self.logical(op, operator == BinaryOperator::And, scope);
        }
        let lhs = self.eval(&op.lhs_expr, scope)?;
        let rhs = self.eval(&op.rhs_expr, scope)?;
        match operator {
            BinaryOperator::Eq => Ok(lhs.tf_equals(&rhs).map_or(Value::Unknown, Value::Bool)),
            BinaryOperator::NotEq => Ok(lhs
                .tf_equals(&rhs)
                .map_or(Value::Unknown, |equal| Value::Bool(!equal))),
            _ => {
                let a = number_operand(&lhs, "left", op.lhs_expr.span())?;
                let b = number_operand(&rhs, "right", op.rhs_expr.span())?;
                let (Some(a), Some(b)) = (a, b) else {
                    return Ok(Value::Unknown);
                };
                numeric(operator, &a, &b).map_err(|message| {
                    EvalError::new(op.span(), format!("Operation failed: {message}"))
                })
            }
        }
    }

    /// `&&` and `||`. Both sides are evaluated; a side that decides the
    /// result (false for `&&`, true for `||`) wins over an unknown or
    /// failed other side; a failed side otherwise fails the operation.
    fn logical(&self, op: &BinaryOp, and: bool, scope: &dyn Scope) -> Result {
        let lhs = self.logical_operand(&op.lhs_expr, "left", scope)?;
        let rhs = self.logical_operand(&op.rhs_expr, "right", scope)?;
        let decisive = !and;
        let value = |side: &Operand| side.as_ref().ok().copied().flatten();
        let (l, r) = (value(&lhs), value(&rhs));
        if l == Some(decisive) || r == Some(decisive) {
            return Ok(Value::Bool(decisive));
        }
        match (lhs, rhs) {
            (Ok(Some(a)), Ok(Some(b))) => Ok(Value::Bool(if and { a && b } else { a || b })),
            (Err(err), _) => Err(err),
            // A cleanly unknown left side decides before a failed right one.
            (Ok(None), Err(_)) => Ok(Value::Unknown),
            (_, Err(err)) => Err(err),
            _ => Ok(Value::Unknown),
        }
    }

    /// A logical operand: `Ok(None)` when unknown, `Err` when its
    /// evaluation failed (which the other side may still override). A
    /// value of the wrong type fails the whole operation at once.
    fn logical_operand(&self, expr: &Expression, side: &str, scope: &dyn Scope) -> Result<Operand> {
        match self.eval(expr, scope) {
            Ok(value) => Ok(Ok(bool_operand(&value, side, expr.span())?)),
            Err(err) if self.exhausted.get() => Err(err),
            Err(err) => Ok(Err(err)),
        }
    }

    pub(super) fn conditional(&self, c: &Conditional, scope: &dyn Scope) -> Result {
        let condition = self.eval(&c.cond_expr, scope)?;
        match condition_value(condition, c.cond_expr.span())? {
            None => self.either(c, scope),
            Some(true) => self.eval(&c.true_expr, scope),
            Some(false) => self.eval(&c.false_expr, scope),
        }
    }

    /// A conditional whose condition is unknown: known only when both
    /// branches agree.
    fn either(&self, c: &Conditional, scope: &dyn Scope) -> Result {
        let yes = self.eval_lenient(&c.true_expr, scope)?;
        let no = self.eval_lenient(&c.false_expr, scope)?;
        Ok(match (yes, no) {
            (Some(Value::Null), Some(Value::Null)) => Value::Null,
            (Some(a), Some(b)) if a.is_known() && a.tf_equals(&b) == Some(true) => a,
            _ => Value::Unknown,
        })
    }
}

/// A condition's value (of a conditional or an `%{if}`); `None` when
/// unknown.
pub(super) fn condition_value(value: Value, span: Option<Range<usize>>) -> Result<Option<bool>> {
    match value {
        Value::Unknown => Ok(None),
        Value::Null => Err(EvalError::new(
            span,
            "Null condition: the condition value is null; conditions must either be true or false",
        )),
        value => value.to_tf_bool().map(Some).map_err(|_| {
            EvalError::new(
                span,
                "Incorrect condition type: the condition expression must be of type bool",
            )
        }),
    }
}

/// A logical operand's value (`None`: unknown) or its evaluation error.
type Operand = std::result::Result<Option<bool>, EvalError>;

fn operand_error(
    span: Option<Range<usize>>,
    side: &str,
    detail: impl std::fmt::Display,
) -> EvalError {
    EvalError::new(
        span,
        format!("Invalid operand: unsuitable value for {side} operand: {detail}"),
    )
}

/// A number operand after conversion, `None` when unknown.
fn number_operand(value: &Value, side: &str, span: Option<Range<usize>>) -> Result<Option<Number>> {
    match value {
        Value::Unknown => Ok(None),
        Value::Null => Err(operand_error(span, side, "argument must not be null")),
        value => value
            .to_tf_number()
            .map(Some)
            .map_err(|e| operand_error(span, side, e)),
    }
}

/// A bool operand after conversion, `None` when unknown.
fn bool_operand(value: &Value, side: &str, span: Option<Range<usize>>) -> Result<Option<bool>> {
    match value {
        Value::Unknown => Ok(None),
        Value::Null => Err(operand_error(span, side, "argument must not be null")),
        value => value
            .to_tf_bool()
            .map(Some)
            .map_err(|e| operand_error(span, side, e)),
    }
}

fn negate(n: &Number) -> Option<Number> {
    if let Some(i) = number_as_i64(n).and_then(i64::checked_neg) {
        return Some(Number::from(i));
    }
    number_from_f64(-n.as_f64()?)
}

/// Arithmetic and comparison on two known numbers. Whole operands stay
/// exact `i64`s while the result is whole and in range; everything else is
/// computed in `f64`.
fn numeric(operator: BinaryOperator, a: &Number, b: &Number) -> std::result::Result<Value, String> {
    use BinaryOperator::*;
    match operator {
        Less | LessEq | Greater | GreaterEq => {
            let order = Value::Number(a.clone()).total_cmp(&Value::Number(b.clone()));
            let result = match operator {
                Less => order == Ordering::Less,
                LessEq => order != Ordering::Greater,
                Greater => order == Ordering::Greater,
                _ => order != Ordering::Less,
            };
            return Ok(Value::Bool(result));
        }
        Div | Mod if is_zero(b) => {
            return Err(if operator == Div {
                "can't divide by zero".to_string()
            } else {
                "can't use modulo with zero".to_string()
            });
        }
        _ => {}
    }
    if let (Some(x), Some(y)) = (number_as_i64(a), number_as_i64(b)) {
        let exact = match operator {
            Plus => x.checked_add(y),
            Minus => x.checked_sub(y),
            Mul => x.checked_mul(y),
            Div => match x.checked_rem(y) {
                Some(0) => x.checked_div(y),
                _ => None,
            },
            Mod => x.checked_rem(y),
            _ => None,
        };
        if let Some(result) = exact {
            return Ok(Value::from(result));
        }
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return Err("number out of range".to_string());
    };
    let result = match operator {
        Plus => x + y,
        Minus => x - y,
        Mul => x * y,
        Div => x / y,
        // Truncated remainder (the dividend's sign), as cty computes it.
        _ => x % y,
    };
    Value::from_f64(result).ok_or_else(|| "result out of range".to_string())
}

fn is_zero(n: &Number) -> bool {
    number_as_i64(n) == Some(0) || n.as_f64() == Some(0.0)
}
