//! Terraform's JSON syntax (`*.tf.json`): builds from a JSON file the
//! hcl-edit tree its native equivalent parses to, with every block,
//! attribute and value spanning its JSON text, so the evaluator,
//! provenance, rules and suppressions treat both syntaxes alike.
//!
//! The structure follows Terraform's JSON syntax: `resource.TYPE.NAME`,
//! `data.TYPE.NAME`, `variable.NAME`, `module.NAME`, `output.NAME`,
//! `provider.NAME`, `locals` and `terraform`, each level an object or an
//! array of objects; a `"//"` member of an object holding a body or its
//! labels is a comment. Strings are templates (`"${var.x}"`) except where
//! Terraform reads them otherwise: a variable's `type` and the
//! `provider`, `depends_on` and module `providers` references are
//! expressions, a variable's `default` is a literal.
//!
//! Whether a nested object is a block or an attribute's value depends, in
//! Terraform, on the provider's schema, which provcheck does not have:
//! see [`MAP_ATTRIBUTES`] for the rule used instead.

use std::ops::Range;
use std::path::Path;

use hcl_edit::expr::{Array, Expression, Object, ObjectKey, ObjectValue};
use hcl_edit::structure::{Attribute, Block, BlockLabel, Body};
use hcl_edit::template::{Element, StringTemplate, Template};
use hcl_edit::visit_mut::{self, VisitMut};
use hcl_edit::{Decorated, Formatted, Ident, Number, SetSpan};

use super::json::{self, Json, Member, Node};
use crate::error::FileError;
use crate::source::{SourceFile, Span};

/// Attribute names whose object value is a map, not a nested block, when
/// every value in it is a string, number, boolean or null: Terraform's
/// schema types them `map(string)`. Any other object (or array of
/// objects) in a resource, data source, provider or nested block is read
/// as a block, which is what a generator (CDK for Terraform) writes for
/// `versioning { enabled = true }`. The value test keeps
/// `aws_lambda_function`'s `environment { variables = {...} }` a block.
pub const MAP_ATTRIBUTES: &[&str] = &[
    "tags",
    "tags_all",
    "labels",
    "user_labels",
    "resource_labels",
    "default_labels",
    "annotations",
    "environment",
    "environment_variables",
    "variables",
    "metadata",
    "parameters",
    "options",
    "attributes",
    "properties",
    "selector",
    "node_selector",
    "match_labels",
    "triggers",
    "keepers",
    "secret_environment_variables",
    "build_args",
    "settings",
];

/// Whether a path names a Terraform JSON file (`main.tf.json`).
pub fn is_tf_json(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tf.json"))
}

/// A problem in a JSON file that Terraform would refuse: where and why.
struct Problem {
    span: Range<usize>,
    message: String,
}

impl Problem {
    fn new(span: &Range<usize>, message: impl Into<String>) -> Self {
        Problem {
            span: span.clone(),
            message: message.into(),
        }
    }
}

type Built<T> = Result<T, Problem>;

/// Parses one `.tf.json` file into the body its native syntax would give.
/// A syntax error, or a structure Terraform would refuse, carries its
/// span.
pub fn parse(source: &SourceFile) -> Result<Body, FileError> {
    let error = |span: Range<usize>, message: String| {
        let start = span.start.min(source.text.len());
        let end = if span.end > start {
            span.end.min(source.text.len())
        } else {
            next_char_end(&source.text, start)
        };
        FileError::new(source.path(), Some(Span::new(start, end)), message)
    };
    let root = json::parse(&source.text).map_err(|e| {
        error(
            e.at..e.at,
            format!("JSON syntax error in a Terraform JSON file: {}", e.message),
        )
    })?;
    body(&root).map_err(|p| error(p.span, p.message))
}

fn next_char_end(text: &str, start: usize) -> usize {
    text[start..]
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8())
}

/// What a body is, which decides how its members read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A resource, data source or module call: meta-arguments first.
    Resource,
    /// A provider, `terraform` block or nested block: blocks by
    /// [`MAP_ATTRIBUTES`].
    Schema,
    Module,
    Variable,
    /// `locals` and `output`: attributes only.
    Attributes,
}

fn body(root: &Node) -> Built<Body> {
    let members = object(root, "a Terraform JSON file holds an object")?;
    let mut body = Body::new();
    for member in members.iter().filter(|m| !is_comment(m)) {
        let labels = match member.key.as_str() {
            "resource" | "data" => 2,
            "variable" | "module" | "output" | "provider" => 1,
            "locals" | "terraform" => 0,
            // `moved`, `import`, `check`, `removed`: not modelled, as in
            // the native syntax.
            _ => continue,
        };
        let kind = match member.key.as_str() {
            "resource" | "data" => Kind::Resource,
            "module" => Kind::Module,
            "variable" => Kind::Variable,
            "locals" | "output" => Kind::Attributes,
            _ => Kind::Schema,
        };
        let mut found = Vec::new();
        labelled(&member.value, labels, &mut Vec::new(), &mut found)?;
        for (path, value) in found {
            for item in bodies(value)? {
                body.push(block(member, &path, item, kind)?);
            }
        }
    }
    Ok(body)
}

/// The members of an object, or the problem when `node` is not one.
fn object<'a>(node: &'a Node, message: &str) -> Built<&'a [Member]> {
    match &node.value {
        Json::Object(members) => Ok(members),
        _ => Err(Problem::new(&node.span, message)),
    }
}

fn is_comment(member: &Member) -> bool {
    member.key == "//"
}

/// Walks `depth` levels of labels (each an object, or an array of
/// objects) and collects the label keys with the value below them.
fn labelled<'a>(
    node: &'a Node,
    depth: usize,
    path: &mut Vec<&'a Member>,
    out: &mut Vec<(Vec<&'a Member>, &'a Node)>,
) -> Built<()> {
    if depth == 0 {
        out.push((path.clone(), node));
        return Ok(());
    }
    let objects: Vec<&Node> = match &node.value {
        Json::Array(items) => items.iter().collect(),
        _ => vec![node],
    };
    for object_node in objects {
        let members = object(
            object_node,
            "expected an object whose keys are block labels",
        )?;
        for member in members.iter().filter(|m| !is_comment(m)) {
            path.push(member);
            labelled(&member.value, depth - 1, path, out)?;
            path.pop();
        }
    }
    Ok(())
}

/// A block's bodies: one object, or an array of objects (several blocks).
fn bodies(node: &Node) -> Built<Vec<&Node>> {
    match &node.value {
        Json::Object(_) => Ok(vec![node]),
        Json::Array(items) => items
            .iter()
            .map(|item| match item.value {
                Json::Object(_) => Ok(item),
                _ => Err(Problem::new(
                    &item.span,
                    "expected an object (a block's body)",
                )),
            })
            .collect(),
        _ => Err(Problem::new(
            &node.span,
            "expected an object (a block's body)",
        )),
    }
}

/// One block: `keyword` is the member naming its type, `labels` the keys
/// below it. Its header spans the last key (the one on the block's own
/// line), its span that key to the end of the body.
fn block(keyword: &Member, labels: &[&Member], node: &Node, kind: Kind) -> Built<Block> {
    let header = labels.last().map_or(&keyword.key_span, |m| &m.key_span);
    let mut ident = Decorated::new(ident(&keyword.key, &keyword.key_span)?);
    ident.set_span(header.clone());
    let mut block = Block::new(ident);
    for label in labels {
        let mut text = Decorated::new(label.key.clone());
        text.set_span(header.clone());
        block.labels.push(BlockLabel::String(text));
    }
    block.body = block_body(node, kind)?;
    block.set_span(header.start..node.span.end);
    Ok(block)
}

fn ident(name: &str, span: &Range<usize>) -> Built<Ident> {
    Ident::try_new(name)
        .map_err(|_| Problem::new(span, format!("`{name}` is not a valid Terraform name")))
}

fn block_body(node: &Node, kind: Kind) -> Built<Body> {
    let members = object(node, "expected an object (a block's body)")?;
    let mut body = Body::new();
    for member in members.iter().filter(|m| !is_comment(m)) {
        let key = member.key.as_str();
        let value = &member.value;
        let meta = matches!(kind, Kind::Resource | Kind::Module);
        let expr = match (kind, key) {
            (_, "depends_on") if meta => references(value)?,
            (Kind::Resource, "provider") => reference(value)?,
            (Kind::Module, "providers") => providers(value)?,
            (Kind::Module, "source" | "version") => expression(value, false)?,
            (Kind::Variable, "type") => reference(value)?,
            (Kind::Variable, "validation") => {
                for item in bodies(value)? {
                    body.push(block(member, &[], item, Kind::Schema)?);
                }
                continue;
            }
            (Kind::Variable, _) => expression(value, false)?,
            (Kind::Resource | Kind::Schema, "dynamic") => {
                let mut found = Vec::new();
                labelled(value, 1, &mut Vec::new(), &mut found)?;
                for (labels, item) in found {
                    for content in bodies(item)? {
                        body.push(dynamic(member, &labels, content)?);
                    }
                }
                continue;
            }
            (Kind::Resource | Kind::Schema, _) if is_block(key, value) => {
                for item in bodies(value)? {
                    body.push(block(member, &[], item, Kind::Schema)?);
                }
                continue;
            }
            _ => expression(value, true)?,
        };
        body.push(attribute(member, expr)?);
    }
    Ok(body)
}

/// The schema-free guess: see [`MAP_ATTRIBUTES`].
fn is_block(key: &str, value: &Node) -> bool {
    let scalar = |node: &Node| !matches!(node.value, Json::Object(_) | Json::Array(_));
    match &value.value {
        Json::Object(members) => {
            !(MAP_ATTRIBUTES.contains(&key) && members.iter().all(|m| scalar(&m.value)))
        }
        Json::Array(items) => {
            !items.is_empty()
                && items.iter().all(|i| matches!(i.value, Json::Object(_)))
                && !MAP_ATTRIBUTES.contains(&key)
        }
        _ => false,
    }
}

/// `dynamic "label" { for_each, iterator, labels, content { ... } }`.
fn dynamic(keyword: &Member, labels: &[&Member], node: &Node) -> Built<Block> {
    let mut block = block(keyword, labels, &empty_object(node), Kind::Schema)?;
    for member in object(node, "expected an object (a block's body)")? {
        match member.key.as_str() {
            "//" => {}
            "content" => {
                for item in bodies(&member.value)? {
                    block.body.push(block_of(member, item, Kind::Schema)?);
                }
            }
            "iterator" => block
                .body
                .push(attribute(member, reference(&member.value)?)?),
            _ => block
                .body
                .push(attribute(member, expression(&member.value, true)?)?),
        }
    }
    block.set_span(
        labels
            .last()
            .map_or(&keyword.key_span, |m| &m.key_span)
            .start..node.span.end,
    );
    Ok(block)
}

fn block_of(member: &Member, node: &Node, kind: Kind) -> Built<Block> {
    block(member, &[], node, kind)
}

fn empty_object(node: &Node) -> Node {
    Node {
        span: node.span.clone(),
        value: Json::Object(Vec::new()),
    }
}

fn attribute(member: &Member, value: Expression) -> Built<Attribute> {
    let mut key = Decorated::new(ident(&member.key, &member.key_span)?);
    key.set_span(member.key_span.clone());
    let mut attribute = Attribute::new(key, value);
    attribute.set_span(member.key_span.start..member.value.span.end);
    Ok(attribute)
}

/// A JSON value as an expression; strings are templates when `templates`.
fn expression(node: &Node, templates: bool) -> Built<Expression> {
    let mut expr = match &node.value {
        Json::Null => Expression::Null(Decorated::new(hcl_edit::expr::Null)),
        Json::Bool(b) => Expression::from(*b),
        Json::Number(text) => Expression::Number(Formatted::new(number(text, &node.span)?)),
        Json::String { text, escaped } => {
            if templates && (text.contains("${") || text.contains("%{")) {
                return template(text, *escaped, &node.span);
            }
            Expression::String(Decorated::new(text.clone()))
        }
        Json::Array(items) => {
            let items = items
                .iter()
                .map(|item| expression(item, templates))
                .collect::<Built<Vec<_>>>()?;
            Expression::Array(Array::from(items))
        }
        Json::Object(members) => {
            let items = members
                .iter()
                .map(|member| {
                    let mut key = Expression::String(Decorated::new(member.key.clone()));
                    key.set_span(member.key_span.clone());
                    let value = expression(&member.value, templates)?;
                    Ok((ObjectKey::Expression(key), ObjectValue::new(value)))
                })
                .collect::<Built<Vec<_>>>()?;
            Expression::Object(Object::from_items(items))
        }
    };
    expr.set_span(node.span.clone());
    Ok(expr)
}

fn number(text: &str, span: &Range<usize>) -> Built<Number> {
    let integer = !text.contains(['.', 'e', 'E']);
    let parsed = if integer {
        text.parse::<i64>()
            .ok()
            .map(Number::from)
            .or_else(|| text.parse::<u64>().ok().map(Number::from))
    } else {
        None
    };
    parsed
        .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
        .ok_or_else(|| Problem::new(span, "number out of range"))
}

/// A string read as an expression (`"aws.west"`, `"list(string)"`).
fn reference(node: &Node) -> Built<Expression> {
    let Json::String { text, escaped } = &node.value else {
        return Err(Problem::new(
            &node.span,
            "expected a string holding an expression",
        ));
    };
    let mut expr = hcl_edit::parser::parse_expr(text).map_err(|e| {
        Problem::new(
            &node.span,
            format!("invalid expression in a JSON string: {}", e.message()),
        )
    })?;
    if *escaped {
        expr.set_span(node.span.clone());
    } else {
        Shift(node.span.start + 1).visit_expr_mut(&mut expr);
    }
    Ok(expr)
}

fn references(node: &Node) -> Built<Expression> {
    let Json::Array(items) = &node.value else {
        return Err(Problem::new(&node.span, "expected an array of references"));
    };
    let items = items.iter().map(reference).collect::<Built<Vec<_>>>()?;
    let mut expr = Expression::Array(Array::from(items));
    expr.set_span(node.span.clone());
    Ok(expr)
}

/// A module's `providers`: `{"aws": "aws.west"}`.
fn providers(node: &Node) -> Built<Expression> {
    let members = object(node, "expected an object of provider references")?;
    let items = members
        .iter()
        .map(|member| {
            let mut key = Expression::String(Decorated::new(member.key.clone()));
            key.set_span(member.key_span.clone());
            Ok((
                ObjectKey::Expression(key),
                ObjectValue::new(reference(&member.value)?),
            ))
        })
        .collect::<Built<Vec<_>>>()?;
    let mut expr = Expression::Object(Object::from_items(items));
    expr.set_span(node.span.clone());
    Ok(expr)
}

/// A string with interpolations or directives. A string that is one
/// interpolation is its expression's value, not a string, as in
/// Terraform. Spans inside point into the JSON text when the string has
/// no escapes; otherwise they are the whole string's.
fn template(text: &str, escaped: bool, span: &Range<usize>) -> Built<Expression> {
    let mut template: Template = hcl_edit::parser::parse_template(text).map_err(|e| {
        Problem::new(
            span,
            format!("invalid template in a JSON string: {}", e.message()),
        )
    })?;
    Shift(span.start + 1).visit_template_mut(&mut template);
    let single = match template.iter().collect::<Vec<_>>().as_slice() {
        [Element::Interpolation(i)] if !i.strip.strip_start() && !i.strip.strip_end() => {
            Some(i.expr.clone())
        }
        _ => None,
    };
    let mut expr = match single {
        Some(expr) => expr,
        None => Expression::StringTemplate(StringTemplate::from(template)),
    };
    if escaped || matches!(expr, Expression::StringTemplate(_)) {
        expr.set_span(span.clone());
    }
    Ok(expr)
}

/// Moves every span of a tree parsed from a string by the string's
/// offset in the file.
struct Shift(usize);

impl Shift {
    fn apply<T: hcl_edit::Span + SetSpan + ?Sized>(&self, node: &mut T) {
        if let Some(r) = node.span() {
            node.set_span(r.start + self.0..r.end + self.0);
        }
    }
}

impl VisitMut for Shift {
    fn visit_expr_mut(&mut self, expr: &mut Expression) {
        self.apply(expr);
        // The leaves' spans are the expression's own: moved once.
        if !matches!(
            expr,
            Expression::Null(_)
                | Expression::Bool(_)
                | Expression::Number(_)
                | Expression::String(_)
                | Expression::Variable(_)
        ) {
            visit_mut::visit_expr_mut(self, expr);
        }
    }
    fn visit_ident_mut(&mut self, node: &mut Decorated<Ident>) {
        self.apply(node);
    }
    fn visit_literal_mut(&mut self, node: &mut hcl_edit::Spanned<String>) {
        self.apply(node);
    }
    fn visit_traversal_mut(&mut self, node: &mut hcl_edit::expr::Traversal) {
        self.visit_expr_mut(&mut node.expr);
        for operator in &mut node.operators {
            self.apply(operator);
            self.visit_traversal_operator_mut(operator);
        }
    }
    fn visit_splat_mut(&mut self, node: &mut Decorated<hcl_edit::expr::Splat>) {
        self.apply(node);
    }
    fn visit_u64_mut(&mut self, node: &mut Decorated<u64>) {
        self.apply(node);
    }
    fn visit_for_intro_mut(&mut self, node: &mut hcl_edit::expr::ForIntro) {
        self.apply(node);
        visit_mut::visit_for_intro_mut(self, node);
    }
    fn visit_for_cond_mut(&mut self, node: &mut hcl_edit::expr::ForCond) {
        self.apply(node);
        visit_mut::visit_for_cond_mut(self, node);
    }
    fn visit_template_mut(&mut self, node: &mut Template) {
        self.apply(node);
        visit_mut::visit_template_mut(self, node);
    }
    fn visit_interpolation_mut(&mut self, node: &mut hcl_edit::template::Interpolation) {
        self.apply(node);
        visit_mut::visit_interpolation_mut(self, node);
    }
    fn visit_if_directive_mut(&mut self, node: &mut hcl_edit::template::IfDirective) {
        self.apply(node);
        visit_mut::visit_if_directive_mut(self, node);
    }
    fn visit_for_directive_mut(&mut self, node: &mut hcl_edit::template::ForDirective) {
        self.apply(node);
        visit_mut::visit_for_directive_mut(self, node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = include_str!("../../tests/data/tfjson/json/main.tf.json");

    #[test]
    fn no_prefix_of_a_module_panics() {
        for end in (0..=MODULE.len()).filter(|&i| MODULE.is_char_boundary(i)) {
            let _ = parse(&SourceFile::new("main.tf.json", &MODULE[..end]));
        }
    }

    #[test]
    fn a_large_object_builds_in_linear_time() {
        let items: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\": \"v\"")).collect();
        let text = format!(
            "{{\"locals\": {{\"m\": {{{}}}, \"t\": \"${{local.m}}\"}}}}",
            items.join(",")
        );
        let start = std::time::Instant::now();
        let body = parse(&SourceFile::new("big.tf.json", text)).unwrap();
        assert_eq!(body.blocks().count(), 1);
        assert!(start.elapsed().as_secs() < 10);
    }

    #[test]
    fn template_spans_point_into_the_json_text() {
        let text = r#"{"output": {"o": {"value": "${var.x}"}}}"#;
        let body = parse(&SourceFile::new("o.tf.json", text)).unwrap();
        let block = body.blocks().next().unwrap();
        let value = &block.body.get_attribute("value").unwrap().value;
        let span = hcl_edit::Span::span(value).unwrap();
        assert_eq!(&text[span], "var.x");
    }
}
