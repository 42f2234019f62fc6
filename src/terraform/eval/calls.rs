//! Function calls: arguments (with `...` expansion) for the built-in
//! library, and the functions only the evaluator can run: `try` and `can`
//! (which need their arguments unevaluated) and `templatefile` and
//! `templatestring` (which render templates with their own scope).

use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::expr::{Expression, FuncCall, FuncName};
use hcl_edit::{Ident, Span as _};

use super::references::{references, template_references, Reference};
use super::{EvalError, Evaluator, Result, Scope, Value};
use crate::terraform::functions::{self, FunctionError};

impl Evaluator<'_> {
    pub(super) fn call(&self, call: &FuncCall, scope: &dyn Scope) -> Result {
        let name = function_name(&call.name);
        match name.strip_prefix("core::").unwrap_or(&name) {
            "try" => self.try_call(call, scope),
            "can" => self.can_call(call, scope),
            own @ ("templatefile" | "templatestring") if self.rendering.get() => {
                Err(EvalError::new(
                    call.span(),
                    format!("cannot recursively call {own} from inside another template function"),
                ))
            }
            "templatefile" => self.templatefile(call, scope),
            "templatestring" => self.templatestring(call, scope),
            _ => {
                let Some(args) = self.arguments(call, scope)? else {
                    return Ok(Value::Unknown);
                };
                let value = match functions::call(&name, args, self.ctx) {
                    Ok(value) => value,
                    Err(e @ functions::FunctionError::TooLarge { .. }) => {
                        return Err(self.limit(call.span(), e.to_string()))
                    }
                    Err(e) => return Err(function_error(e, call)),
                };
                // What a function builds (`replace`, `formatlist`,
                // `setproduct`) counts against the budgets.
                self.charge_value(&value, &call.span())?;
                Ok(value)
            }
        }
    }

    /// The argument values, the last one spread when written `f(xs...)`;
    /// `None` when the spread argument is unknown (so is the result).
    fn arguments(&self, call: &FuncCall, scope: &dyn Scope) -> Result<Option<Vec<Value>>> {
        let count = call.args.len();
        let mut values = Vec::with_capacity(count);
        for (i, arg) in call.args.iter().enumerate() {
            let value = self.eval(arg, scope)?;
            if !(call.args.expand_final() && i + 1 == count) {
                values.push(value);
                continue;
            }
            let invalid = |detail: &str| {
                EvalError::new(
                    arg.span(),
                    format!("Invalid expanding argument value: the expanding argument (indicated by ...) {detail}"),
                )
            };
            match value {
                Value::List(items) => values.extend(items),
                Value::Unknown => return Ok(None),
                Value::Null => return Err(invalid("must not be null")),
                _ => return Err(invalid("must be of a tuple, list, or set type")),
            }
        }
        Ok(Some(values))
    }

    /// `try(a, b, ...)`: the first argument that evaluates without error.
    /// An argument reading unknown values, or evaluating to a value not
    /// wholly known, makes the result unknown: it might fail once known.
    fn try_call(&self, call: &FuncCall, scope: &dyn Scope) -> Result {
        lazy_arity(call, "try", 1, usize::MAX)?;
        let mut errors = Vec::new();
        for arg in call.args.iter() {
            if self.depends_on_unknowns(arg, scope) {
                return Ok(Value::Unknown);
            }
            match self.eval(arg, scope) {
                Ok(value) if value.is_known() => return Ok(value),
                Ok(_) => return Ok(Value::Unknown),
                Err(err) if self.exhausted.get() => return Err(err),
                Err(err) => errors.push(err.message),
            }
        }
        Err(EvalError::new(
            call.span(),
            format!(
                "call to \"try\" failed: no expression succeeded: {}",
                errors.join("; ")
            ),
        ))
    }

    /// `can(expr)`: whether `expr` evaluates without error; unknown when
    /// it reads unknown values or its value is not wholly known.
    fn can_call(&self, call: &FuncCall, scope: &dyn Scope) -> Result {
        lazy_arity(call, "can", 1, 1)?;
        let Some(arg) = call.args.get(0) else {
            return Ok(Value::Unknown);
        };
        if self.depends_on_unknowns(arg, scope) {
            return Ok(Value::Unknown);
        }
        match self.eval(arg, scope) {
            Ok(value) if value.is_known() => Ok(Value::Bool(true)),
            Ok(_) => Ok(Value::Unknown),
            Err(err) if self.exhausted.get() => Err(err),
            Err(_) => Ok(Value::Bool(false)),
        }
    }

    /// Whether a name `expr` reads (with its static path) is not wholly
    /// known: Terraform's `dependsOnUnknowns` for `try` and `can`.
    fn depends_on_unknowns(&self, expr: &Expression, scope: &dyn Scope) -> bool {
        references(expr)
            .iter()
            .any(|reference| lookup(reference, scope).is_some_and(|v| !v.is_known()))
    }

    /// `templatefile(path, vars)`: the file read under the root, parsed as
    /// a template and rendered with only `vars` in scope.
    fn templatefile(&self, call: &FuncCall, scope: &dyn Scope) -> Result {
        let Some(args) = self.arguments(call, scope)? else {
            return Ok(Value::Unknown);
        };
        let [path, vars] = args.as_slice() else {
            return Err(arity_error(call, "templatefile", "2", args.len()));
        };
        let path_span = arg_span(call, 0);
        let path = match path {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {
                return Err(argument_error(
                    path_span,
                    "templatefile",
                    1,
                    "argument must not be null",
                ))
            }
            path => path
                .to_tf_string()
                .map_err(|e| argument_error(path_span.clone(), "templatefile", 1, &e.0))?,
        };
        let Some(vars) = template_vars(vars, "templatefile", arg_span(call, 1))? else {
            return Ok(Value::Unknown);
        };
        let text = functions::read_file(self.ctx, &path)
            .map_err(|e| EvalError::new(path_span, e.to_string()))?;
        self.render_text(&text, vars, &format!("templatefile({path:?})"), call.span())
    }

    /// `templatestring(ref, vars)`: like `templatefile`, with the template
    /// taken from a reference (Terraform refuses template literals there).
    fn templatestring(&self, call: &FuncCall, scope: &dyn Scope) -> Result {
        lazy_arity(call, "templatestring", 2, 2)?;
        let (Some(template), Some(vars)) = (call.args.get(0), call.args.get(1)) else {
            return Ok(Value::Unknown);
        };
        if !is_reference(template) {
            return Err(argument_error(
                template.span(),
                "templatestring",
                1,
                "invalid template expression: must be a direct reference to a single string from elsewhere, containing valid Terraform template syntax",
            ));
        }
        let text = self.eval(template, scope)?;
        let vars = self.eval(vars, scope)?;
        let text = match text {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {
                return Err(argument_error(
                    template.span(),
                    "templatestring",
                    1,
                    "template string must not be null",
                ))
            }
            text => text
                .to_tf_string()
                .map_err(|e| argument_error(template.span(), "templatestring", 1, &e.0))?,
        };
        let Some(vars) = template_vars(&vars, "templatestring", arg_span(call, 1))? else {
            return Ok(Value::Unknown);
        };
        self.render_text(&text, vars, "templatestring", call.span())
    }

    /// Parses and renders template text with `vars` as the only names.
    /// Errors inside the template are reported at the call, their position
    /// in the template given in the message.
    fn render_text(
        &self,
        text: &str,
        vars: &BTreeMap<String, Value>,
        label: &str,
        span: Option<Range<usize>>,
    ) -> Result {
        let template = hcl_edit::parser::parse_template(text).map_err(|e| {
            let location = e.location();
            EvalError::new(
                span.clone(),
                format!(
                    "{label}: template syntax error at {}:{}: {}",
                    location.line(),
                    location.column(),
                    e.message()
                ),
            )
        })?;
        for reference in template_references(&template) {
            if !vars.contains_key(&reference.root) {
                let (line, column) = line_column(text, reference.span.start);
                return Err(EvalError::new(
                    span,
                    format!(
                        "{label}: vars map does not contain key \"{}\", referenced at {line}:{column}",
                        reference.root
                    ),
                ));
            }
        }
        let was_rendering = self.rendering.replace(true);
        let result = self.template(&template, &Vars(vars));
        self.rendering.set(was_rendering);
        result.map_err(|e| {
            let message = match e.span {
                Some(at) => {
                    let (line, column) = line_column(text, at.start);
                    format!("{label}:{line}:{column}: {}", e.message)
                }
                None => format!("{label}: {}", e.message),
            };
            EvalError::new(span, message)
        })
    }
}

/// The scope of a rendered template: its variables and nothing else.
struct Vars<'a>(&'a BTreeMap<String, Value>);

impl Scope for Vars<'_> {
    fn resolve(&self, root: &str, attr: Option<&str>) -> Option<Value> {
        match attr {
            None => self.0.get(root).cloned(),
            Some(_) => None,
        }
    }
}

/// The vars argument of a template function: `None` when unknown.
fn template_vars<'v>(
    vars: &'v Value,
    function: &str,
    span: Option<Range<usize>>,
) -> Result<Option<&'v BTreeMap<String, Value>>> {
    let map = match vars {
        Value::Unknown => return Ok(None),
        Value::Map(map) => map,
        _ => {
            return Err(argument_error(
                span,
                function,
                2,
                "invalid vars value: must be a map",
            ))
        }
    };
    if let Some(bad) = map.keys().find(|k| Ident::try_new(k.as_str()).is_err()) {
        return Err(argument_error(
            span,
            function,
            2,
            &format!(
                "invalid template variable name {bad:?}: must start with a letter, followed by zero or more letters, digits, and underscores"
            ),
        ));
    }
    Ok(Some(map))
}

/// The value a reference's static path leads to, `None` when it leads
/// nowhere (an error the evaluation itself will report).
fn lookup(reference: &Reference, scope: &dyn Scope) -> Option<Value> {
    let mut path = reference.path.iter();
    let first = reference.path.first();
    let mut value = match first.and_then(|attr| scope.resolve(&reference.root, Some(attr))) {
        Some(value) => {
            path.next();
            value
        }
        None => scope.resolve(&reference.root, None)?,
    };
    for step in path {
        value = match value {
            Value::Unknown => return Some(Value::Unknown),
            Value::Map(mut map) => map.remove(step)?,
            Value::List(mut items) => {
                let i: usize = step.parse().ok()?;
                if i >= items.len() {
                    return None;
                }
                items.swap_remove(i)
            }
            _ => return None,
        };
    }
    Some(value)
}

/// `name`, `core::name` or `provider::aws::name`.
fn function_name(name: &FuncName) -> String {
    let mut full = String::new();
    for part in &name.namespace {
        full.push_str(part.as_str());
        full.push_str("::");
    }
    full.push_str(name.name.as_str());
    full
}

/// Terraform's `templatestring` accepts a reference, possibly indexed or
/// splatted, and nothing else.
fn is_reference(expr: &Expression) -> bool {
    match expr {
        Expression::Variable(_) => true,
        Expression::Traversal(traversal) => is_reference(&traversal.expr),
        _ => false,
    }
}

/// The argument count of a function whose arguments are expressions.
fn lazy_arity(call: &FuncCall, name: &str, min: usize, max: usize) -> Result<()> {
    if call.args.expand_final() {
        return Err(EvalError::new(
            call.span(),
            format!("\"{name}\" does not accept an expanded (...) argument"),
        ));
    }
    let got = call.args.len();
    if (min..=max).contains(&got) {
        return Ok(());
    }
    let expected = if max == usize::MAX {
        format!("at least {min}")
    } else {
        min.to_string()
    };
    Err(arity_error(call, name, &expected, got))
}

fn arity_error(call: &FuncCall, name: &str, expected: &str, got: usize) -> EvalError {
    let error = FunctionError::Arity {
        name: name.to_string(),
        expected: expected.to_string(),
        got,
    };
    EvalError::new(call.span(), error.to_string())
}

fn argument_error(
    span: Option<Range<usize>>,
    name: &str,
    position: usize,
    message: &str,
) -> EvalError {
    let error = FunctionError::InvalidArgument {
        name: name.to_string(),
        position,
        message: message.to_string(),
    };
    EvalError::new(span, error.to_string())
}

/// The span of argument `i`, or of the call.
fn arg_span(call: &FuncCall, i: usize) -> Option<Range<usize>> {
    call.args
        .get(i)
        .and_then(|arg| arg.span())
        .or_else(|| call.span())
}

/// A function's error, placed on the argument it names when that argument
/// was written out (not spread from a list).
fn function_error(error: FunctionError, call: &FuncCall) -> EvalError {
    let written = call
        .args
        .len()
        .saturating_sub(usize::from(call.args.expand_final()));
    let span = match &error {
        FunctionError::InvalidArgument { position, .. } if (1..=written).contains(position) => {
            arg_span(call, position - 1)
        }
        _ => call.span(),
    };
    EvalError::new(span, error.to_string())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}
