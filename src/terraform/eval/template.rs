//! String templates and heredocs: interpolations, `%{if}` and `%{for}`
//! directives, and `~` strip markers (which trim all whitespace, newlines
//! included, from the adjacent literal, as HCL's parser does).

use std::ops::Range;

use hcl_edit::template::{Directive, Element, ForDirective, IfDirective, Interpolation, Template};
use hcl_edit::Span as _;

use super::iteration::{iteration, loop_names, Bindings};
use super::operators::condition_value;
use super::{EvalError, Evaluator, Result, Scope, Value, BYTES_PER_UNIT, MAX_STRING};

/// What rendering has produced so far.
#[derive(Default)]
struct Rendered {
    text: String,
    /// Some part is unknown: the text no longer matters.
    unknown: bool,
}

impl Evaluator<'_> {
    /// A template's value. A template that is a lone interpolation
    /// (`"${x}"`) is the interpolated value itself, of whatever type, as
    /// in HCL.
    pub(super) fn template(&self, template: &Template, scope: &dyn Scope) -> Result {
        if let Some(Element::Interpolation(interpolation)) = template.as_single_element() {
            return self.eval(&interpolation.expr, scope);
        }
        let mut out = Rendered::default();
        self.render(template, scope, &mut out, false, false)?;
        if out.unknown {
            return Ok(Value::Unknown);
        }
        self.charge(out.text.len() / BYTES_PER_UNIT, &template.span())?;
        Ok(Value::String(out.text))
    }

    /// Renders `template` into `out`. `trim_first`/`trim_last`: the
    /// enclosing directive's markers strip the first/last literal.
    fn render(
        &self,
        template: &Template,
        scope: &dyn Scope,
        out: &mut Rendered,
        trim_first: bool,
        trim_last: bool,
    ) -> Result<()> {
        let _depth = self.enter(template.span())?;
        let elements: Vec<&Element> = template.iter().collect();
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(literal) => {
                    let previous = i.checked_sub(1).and_then(|p| elements.get(p));
                    let trim_start = previous.map_or(trim_first, |e| strip(e).1);
                    let trim_end = elements.get(i + 1).map_or(trim_last, |e| strip(e).0);
                    let mut text = literal.value().as_str();
                    if trim_start {
                        text = text.trim_start();
                    }
                    if trim_end {
                        text = text.trim_end();
                    }
                    self.append(out, text, literal.span())?;
                }
                Element::Interpolation(interpolation) => {
                    self.interpolate(interpolation, scope, out)?;
                }
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(directive) => self.if_directive(directive, scope, out)?,
                    Directive::For(directive) => self.for_directive(directive, scope, out)?,
                },
            }
        }
        Ok(())
    }

    fn append(&self, out: &mut Rendered, text: &str, span: Option<Range<usize>>) -> Result<()> {
        if out.unknown {
            return Ok(());
        }
        if out.text.len().saturating_add(text.len()) > MAX_STRING {
            return Err(self.limit(
                span,
                format!("template renders a string longer than {MAX_STRING} bytes"),
            ));
        }
        out.text.push_str(text);
        Ok(())
    }

    fn interpolate(
        &self,
        interpolation: &Interpolation,
        scope: &dyn Scope,
        out: &mut Rendered,
    ) -> Result<()> {
        let value = self.eval(&interpolation.expr, scope)?;
        let span = interpolation.expr.span();
        match interpolated_text(value, span.clone())? {
            Some(text) => self.append(out, &text, span),
            None => {
                out.unknown = true;
                Ok(())
            }
        }
    }

    fn if_directive(
        &self,
        directive: &IfDirective,
        scope: &dyn Scope,
        out: &mut Rendered,
    ) -> Result<()> {
        let if_expr = &directive.if_expr;
        let condition = self.eval(&if_expr.cond_expr, scope)?;
        let Some(condition) = condition_value(condition, if_expr.cond_expr.span())? else {
            out.unknown = true;
            return Ok(());
        };
        let endif = directive.endif_expr.strip;
        match &directive.else_expr {
            _ if condition => {
                let close = directive.else_expr.as_ref().map_or(endif, |e| e.strip);
                self.render(
                    &if_expr.template,
                    scope,
                    out,
                    if_expr.strip.strip_end(),
                    close.strip_start(),
                )
            }
            Some(else_expr) => self.render(
                &else_expr.template,
                scope,
                out,
                else_expr.strip.strip_end(),
                endif.strip_start(),
            ),
            None => Ok(()),
        }
    }

    fn for_directive(
        &self,
        directive: &ForDirective,
        scope: &dyn Scope,
        out: &mut Rendered,
    ) -> Result<()> {
        let for_expr = &directive.for_expr;
        let span = directive.span();
        let (key_var, value_var) = loop_names(
            for_expr.key_var.as_ref().map(|k| k.as_str()),
            for_expr.value_var.as_str(),
            span.clone(),
        )?;
        let collection = self.eval(&for_expr.collection_expr, scope)?;
        let Some(items) = iteration(collection, for_expr.collection_expr.span())? else {
            out.unknown = true;
            return Ok(());
        };
        let trim_first = for_expr.strip.strip_end();
        let trim_last = directive.endfor_expr.strip.strip_start();
        for (key, value) in items {
            self.charge(1, &span)?;
            let bindings = Bindings::new(scope, key_var.map(|k| (k, key)), (value_var, value));
            self.render(&for_expr.template, &bindings, out, trim_first, trim_last)?;
        }
        Ok(())
    }
}

/// An interpolated value as text; `None` when unknown.
fn interpolated_text(value: Value, span: Option<Range<usize>>) -> Result<Option<String>> {
    let invalid = |detail: &str| {
        EvalError::new(
            span.clone(),
            format!("Invalid template interpolation value: {detail}"),
        )
    };
    match value {
        Value::Unknown => Ok(None),
        Value::Null => Err(invalid(
            "the expression result is null; cannot include a null value in a string template",
        )),
        value @ (Value::List(_) | Value::Map(_)) => Err(invalid(&format!(
            "cannot include the given value in a string template: string required, got {}",
            value.type_name()
        ))),
        value => value.to_tf_string().map(Some).map_err(|e| invalid(&e.0)),
    }
}

/// Whether an element strips the literal before it and the one after it.
fn strip(element: &Element) -> (bool, bool) {
    match element {
        Element::Literal(_) => (false, false),
        Element::Interpolation(interpolation) => (
            interpolation.strip.strip_start(),
            interpolation.strip.strip_end(),
        ),
        Element::Directive(directive) => match directive.as_ref() {
            Directive::If(d) => (
                d.if_expr.strip.strip_start(),
                d.endif_expr.strip.strip_end(),
            ),
            Directive::For(d) => (
                d.for_expr.strip.strip_start(),
                d.endfor_expr.strip.strip_end(),
            ),
        },
    }
}
