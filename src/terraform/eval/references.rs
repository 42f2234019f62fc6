//! The names an expression reads: every traversal rooted in a scope name,
//! with the static part of its path, in source order. Variables bound by
//! `for` expressions and `%{for}` directives inside the expression are not
//! references; function names and literal object keys are not either.

use std::ops::Range;

use hcl_edit::expr::{Expression, ObjectKey, Traversal, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Ident, Span as _};

use super::{number_literal, MAX_DEPTH};

/// One traversal rooted in a scope name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `var`, `local`, `module`, `data`, a resource type, `each`, `count`,
    /// a `dynamic` block's iterator...
    pub root: String,
    /// The attribute names and literal indices after the root, up to the
    /// first dynamic step (a computed index or a splat):
    /// `aws_s3_bucket.logs.id` is `["logs", "id"]`, `var.list[0]` is
    /// `["list", "0"]`, `aws_instance.web[*].id` is `["web"]`.
    pub path: Vec<String>,
    /// From the root to the end of the static path.
    pub span: Range<usize>,
}

/// Every reference in `expr`, in source order. Nesting deeper than
/// [`MAX_DEPTH`] is not looked into (evaluating it fails anyway).
pub fn references(expr: &Expression) -> Vec<Reference> {
    let mut walker = Walker::default();
    walker.expr(expr);
    walker.finish()
}

/// Every reference in a template (for `templatefile`'s check that each
/// name is among its variables).
pub(super) fn template_references(template: &Template) -> Vec<Reference> {
    let mut walker = Walker::default();
    walker.template(template);
    walker.finish()
}

#[derive(Default)]
struct Walker<'a> {
    /// Loop variables in scope at this point of the walk.
    bound: Vec<&'a str>,
    found: Vec<Reference>,
    depth: usize,
}

impl<'a> Walker<'a> {
    fn finish(mut self) -> Vec<Reference> {
        self.found.sort_by_key(|r| r.span.start);
        self.found
    }

    fn expr(&mut self, expr: &'a Expression) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match expr {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(array) => array.iter().for_each(|item| self.expr(item)),
            Expression::Object(object) => {
                for (key, value) in object.iter() {
                    match key {
                        // A bare name is a literal key.
                        ObjectKey::Ident(_) | ObjectKey::Expression(Expression::Variable(_)) => {}
                        ObjectKey::Expression(key) => self.expr(key),
                    }
                    self.expr(value.expr());
                }
            }
            Expression::StringTemplate(template) => self.template(template),
            Expression::HeredocTemplate(heredoc) => self.template(&heredoc.template),
            Expression::Parenthesis(inner) => self.expr(inner.inner()),
            Expression::Variable(name) => self.reference(name, &[]),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(call) => call.args.iter().for_each(|arg| self.expr(arg)),
            Expression::Traversal(traversal) => self.traversal(traversal),
            Expression::UnaryOp(op) => self.expr(&op.expr),
            Expression::BinaryOp(op) => {
                self.expr(&op.lhs_expr);
                self.expr(&op.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let bound = self.bind(f.intro.key_var.as_ref(), &f.intro.value_var);
                if let Some(key) = &f.key_expr {
                    self.expr(key);
                }
                self.expr(&f.value_expr);
                if let Some(cond) = &f.cond {
                    self.expr(&cond.expr);
                }
                self.bound.truncate(bound);
            }
        }
        self.depth -= 1;
    }

    fn template(&mut self, template: &'a Template) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        for element in template.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(interpolation) => self.expr(&interpolation.expr),
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr);
                        self.template(&d.if_expr.template);
                        if let Some(else_expr) = &d.else_expr {
                            self.template(&else_expr.template);
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        self.expr(&f.collection_expr);
                        let bound = self.bind(f.key_var.as_ref(), &f.value_var);
                        self.template(&f.template);
                        self.bound.truncate(bound);
                    }
                },
            }
        }
        self.depth -= 1;
    }

    /// Binds loop variables; returns the length to truncate back to.
    fn bind(&mut self, key: Option<&'a Decorated<Ident>>, value: &'a Decorated<Ident>) -> usize {
        let before = self.bound.len();
        self.bound.extend(key.map(|k| k.as_str()));
        self.bound.push(value.as_str());
        before
    }

    fn traversal(&mut self, traversal: &'a Traversal) {
        match &traversal.expr {
            Expression::Variable(root) => self.reference(root, &traversal.operators),
            other => self.expr(other),
        }
        for operator in &traversal.operators {
            if let TraversalOperator::Index(key) = operator.value() {
                self.expr(key);
            }
        }
    }

    fn reference(&mut self, root: &Decorated<Ident>, operators: &[Decorated<TraversalOperator>]) {
        let name = root.as_str();
        if self.bound.contains(&name) {
            return;
        }
        let span = root.span().unwrap_or_default();
        let mut end = span.end;
        let mut path = Vec::new();
        for operator in operators {
            let Some(step) = static_step(operator.value()) else {
                break;
            };
            path.push(step);
            if let Some(op_span) = operator.span() {
                end = end.max(op_span.end);
            }
        }
        self.found.push(Reference {
            root: name.to_string(),
            path,
            span: span.start..end,
        });
    }
}

/// The name a traversal step selects, when it is written literally.
fn static_step(operator: &TraversalOperator) -> Option<String> {
    match operator {
        TraversalOperator::GetAttr(name) => Some(name.as_str().to_string()),
        TraversalOperator::LegacyIndex(i) => Some(i.value().to_string()),
        TraversalOperator::Index(Expression::Number(n)) => {
            number_literal(n.value()).and_then(|v| v.to_tf_string().ok())
        }
        TraversalOperator::Index(Expression::String(s)) => Some(s.value().clone()),
        TraversalOperator::Index(Expression::StringTemplate(t)) => {
            let mut text = String::new();
            for element in t.iter() {
                match element {
                    Element::Literal(literal) => text.push_str(literal.value()),
                    _ => return None,
                }
            }
            Some(text)
        }
        _ => None,
    }
}
