//! The Terraform front-end: parses HCL with hcl-edit, keeping byte spans,
//! and lowers top-level blocks into [`Resource`]s.
//!
//! Literal values (strings, numbers, bools, null, lists, objects, heredocs
//! and templates without interpolation) are known. Every other expression
//! becomes `null` in the JSON view and its pointer is recorded as unknown,
//! for the evaluator to resolve.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use hcl_edit::expr::{Expression, ObjectKey, UnaryOperator};
use hcl_edit::structure::{Block, BlockLabel, Body, Structure};
use hcl_edit::template::{Element, Template};
use hcl_edit::Span as _;
use serde_json::{Map, Value};

use crate::error::FileError;
use crate::model::{attribute_path, push_pointer, push_token, token_len, BlockKind, Resource};
use crate::source::{SourceFile, Span};
use crate::terraform::value::Value as TfValue;

/// What one Terraform file lowers to.
#[derive(Debug, Default)]
pub struct Lowered {
    pub resources: Vec<Resource>,
    /// Problems that do not stop the file from being checked, such as a
    /// resource block with the wrong number of labels.
    pub errors: Vec<FileError>,
}

/// What lowering asks of the Terraform evaluator: the value of each
/// expression that is not a literal, and evaluators with an iterator bound
/// for the contents of `dynamic` blocks. Without one, every non-literal
/// expression is unknown.
pub trait Evaluate {
    fn evaluate(&self, expr: &Expression) -> TfValue;
    /// The same evaluator with `name` bound to `{ key, value }`.
    fn bind(&self, name: &str, key: TfValue, value: TfValue) -> Box<dyn Evaluate + '_>;
}

/// Parses one `.tf` file. A syntax error carries the span where parsing
/// stopped.
pub fn parse(source: &SourceFile) -> Result<Body, FileError> {
    hcl_edit::parser::parse_body(&source.text).map_err(|err| {
        let location = err.location();
        let start = source.lines.offset(
            &source.text,
            location.line(),
            location.column().saturating_sub(1),
        );
        let start = start.min(source.text.len());
        let end = next_char_end(&source.text, start);
        FileError::new(
            source.path(),
            Some(Span::new(start, end)),
            format!("HCL syntax error: {}", err.message()),
        )
    })
}

/// Parses one `.tf` file and lowers its blocks with literal values only.
pub fn lower_file(file_index: usize, source: &SourceFile) -> Result<Lowered, FileError> {
    let body = parse(source)?;
    let mut lowered = Lowered::default();
    for block in body.blocks() {
        match classify(block) {
            Ok(Some(header)) => lowered
                .resources
                .push(lower_block(file_index, block, header, None, policy_comment(block)).0),
            Ok(None) => {}
            Err(message) => lowered.errors.push(FileError::new(
                source.path(),
                Some(header_span(block)),
                message,
            )),
        }
    }
    Ok(lowered)
}

fn next_char_end(text: &str, start: usize) -> usize {
    text[start..]
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8())
}

/// What a top-level block is: its kind, Terraform address and type.
#[derive(Debug, Clone)]
pub struct Header {
    pub kind: BlockKind,
    pub address: String,
    pub resource_type: String,
}

/// The kind, address and type of a top-level block; `None` for blocks
/// provcheck does not model (`terraform`, `moved` ...), an error for
/// blocks with the wrong number of labels.
pub fn classify(block: &Block) -> Result<Option<Header>, String> {
    let Some(kind) = BlockKind::from_keyword(block.ident.as_str()) else {
        return Ok(None);
    };
    let labels: Vec<&str> = block.labels.iter().map(BlockLabel::as_str).collect();
    let (address, resource_type) = match (kind, labels.as_slice()) {
        (BlockKind::Resource, [ty, name]) => (format!("{ty}.{name}"), ty.to_string()),
        (BlockKind::Data, [ty, name]) => (format!("data.{ty}.{name}"), ty.to_string()),
        (BlockKind::Provider, [name]) => (format!("provider.{name}"), "provider".into()),
        (BlockKind::Variable, [name]) => (format!("var.{name}"), "variable".into()),
        (BlockKind::Module, [name]) => (format!("module.{name}"), "module".into()),
        (BlockKind::Output, [name]) => (format!("output.{name}"), "output".into()),
        (BlockKind::Locals, []) => ("locals".into(), "locals".into()),
        _ => {
            let expected = match kind {
                BlockKind::Resource | BlockKind::Data => "two labels (type and name)",
                BlockKind::Locals => "no labels",
                _ => "one label",
            };
            return Err(format!(
                "a `{}` block needs {expected}; this one has {}",
                block.ident.as_str(),
                labels.len()
            ));
        }
    };
    Ok(Some(Header {
        kind,
        address,
        resource_type,
    }))
}

/// The `key=value` pairs of `# policy:` (or `// policy:`) comments in the
/// lines right above a block. It reads every comment line above the block,
/// so a caller lowering many instances of one block reads it once.
pub fn policy_comment(block: &Block) -> BTreeMap<String, String> {
    use hcl_edit::Decorate;
    let mut pairs = BTreeMap::new();
    let Some(prefix) = block.decor().prefix() else {
        return pairs;
    };
    for line in prefix.lines() {
        let line = line.trim();
        let text = line
            .strip_prefix('#')
            .or_else(|| line.strip_prefix("//"))
            .map(str::trim_start);
        let Some(rest) = text.and_then(|t| t.strip_prefix("policy:")) else {
            continue;
        };
        for pair in rest.split_whitespace() {
            if let Some((key, value)) = pair.split_once('=') {
                pairs.insert(key.to_string(), value.to_string());
            }
        }
    }
    pairs
}

/// Lowers one top-level block, evaluating what is not literal with `eval`;
/// `policy` is the block's [`policy_comment`]. Past the pointer limits
/// ([`MAX_POINTER_LEN`], [`POINTER_BUDGET_FACTOR`]) values are recorded at
/// an ancestor; the note says where that began.
pub fn lower_block(
    file_index: usize,
    block: &Block,
    header: Header,
    eval: Option<&dyn Evaluate>,
    policy: BTreeMap<String, String>,
) -> (Resource, Option<(Span, String)>) {
    let span = header_span(block);
    let length = block.span().map_or(span.end - span.start, |r| r.len());
    let mut lowerer = Lowerer {
        spans: BTreeMap::new(),
        unknown: BTreeSet::new(),
        expressions: BTreeMap::new(),
        budget: length
            .saturating_mul(POINTER_BUDGET_FACTOR)
            .max(MIN_POINTER_BUDGET),
        header: span,
        note: None,
    };
    let mut attributes = lowerer.body(&block.body, &At::ROOT, eval);
    absent_nulls(&mut attributes, &mut String::new(), &lowerer.unknown);
    let resource = Resource {
        attributes,
        spans: lowerer.spans.into_iter().collect(),
        unknown: lowerer.unknown,
        expressions: lowerer.expressions.into_iter().collect(),
        policy,
        ..outline(file_index, block, header)
    };
    (resource, lowerer.note)
}

/// A block no rule reads after evaluation (a data source): its address
/// and where it is, for the suppression comments inside it and the files
/// that hold resources, without attributes, spans or expressions, which
/// only the evaluator needs, from the syntax tree.
pub fn outline(file_index: usize, block: &Block, header: Header) -> Resource {
    let span = header_span(block);
    Resource {
        kind: header.kind,
        address: header.address,
        resource_type: header.resource_type,
        file: file_index,
        header: span,
        span: block.span().map_or(span, Span::from),
        attributes: Value::Object(serde_json::Map::new()),
        ..Resource::default()
    }
}

/// Removes the object members whose value is a known `null`: in
/// Terraform an argument (or an object attribute, a tag) set to `null` is
/// the same as one left out, so the provider's default applies. Unknown
/// values, which the JSON view also holds as `null`, stay. List elements
/// stay too: a `null` in a list is an element. So does everything in an
/// object recorded as unknown as a whole (past the pointer limits).
fn absent_nulls(value: &mut Value, pointer: &mut String, unknown: &crate::model::Unknown) {
    let base = pointer.len();
    match value {
        Value::Object(_) if unknown.contains(pointer.as_str()) => {}
        Value::Object(map) => {
            map.retain(|key, member| {
                if !member.is_null() {
                    return true;
                }
                pointer.truncate(base);
                push_token(pointer, key);
                unknown.contains(pointer.as_str())
            });
            for (key, member) in map.iter_mut() {
                if member.is_object() || member.is_array() {
                    pointer.truncate(base);
                    push_token(pointer, key);
                    absent_nulls(member, pointer, unknown);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                if item.is_object() || item.is_array() {
                    pointer.truncate(base);
                    push_token(pointer, &i.to_string());
                    absent_nulls(item, pointer, unknown);
                }
            }
        }
        _ => {}
    }
    pointer.truncate(base);
}

/// From the block keyword to the end of its last label.
pub fn header_span(block: &Block) -> Span {
    let start = block.ident.span().map_or(0, |r| r.start);
    let end = block
        .labels
        .iter()
        .filter_map(|label| match label {
            BlockLabel::Ident(ident) => ident.span(),
            BlockLabel::String(string) => string.span(),
        })
        .map(|r| r.end)
        .max()
        .or_else(|| block.ident.span().map(|r| r.end))
        .unwrap_or(start);
    Span::new(start, end)
}

/// Top-level arguments that expand a block into instances rather than
/// configure it.
pub const META_ARGUMENTS: &[&str] = &["count", "for_each"];

/// The longest JSON pointer recorded (in the span map, the unknowns and
/// the expressions) for a value below a top-level attribute or block: a
/// value deeper than that is recorded at its nearest recorded ancestor.
/// Each pointer repeats the keys and block names above it, so without a
/// bound a long key above many values is copied into each of theirs.
pub const MAX_POINTER_LEN: usize = 4 * 1024;
/// The bytes of pointers a block may record: this many times its own
/// length, and at least [`MIN_POINTER_BUDGET`] (for `dynamic` blocks,
/// which repeat their content). Past it, values are recorded at their
/// nearest recorded ancestor, as past [`MAX_POINTER_LEN`].
pub const POINTER_BUDGET_FACTOR: usize = 16;
pub const MIN_POINTER_BUDGET: usize = 64 * 1024;

struct Lowerer {
    spans: crate::model::Spans,
    unknown: crate::model::Unknown,
    expressions: BTreeMap<crate::model::Pointer, crate::model::Pointer>,
    /// Pointer bytes the block may still record.
    budget: usize,
    /// The block's header, where a note points when nothing closer does.
    header: Span,
    /// Where values began to be recorded at an ancestor, and why.
    note: Option<(Span, String)>,
}

/// Where a value is recorded: at its own pointer, or, past the pointer
/// limits, at its nearest recorded ancestor's (`exact` false), which then
/// stands for everything below it: its span locates them, and an unknown
/// value among them makes the whole ancestor unknown, so a verdict that
/// reads it is undecided rather than wrong.
struct At<'p> {
    pointer: Cow<'p, str>,
    exact: bool,
}

impl At<'_> {
    const ROOT: At<'static> = At {
        pointer: Cow::Borrowed(""),
        exact: true,
    };
}

/// Expressions longer than this are shortened when recorded as what an
/// unknown value came from, and so are attribute paths in notes.
const EXPRESSION_TEXT: usize = 80;

/// An expression as written, on one line and at most
/// [`EXPRESSION_TEXT`] characters.
fn expression_text(expr: &Expression) -> String {
    let text = expr.to_string();
    let mut out = String::new();
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    shorten(out)
}

/// The text, cut to [`EXPRESSION_TEXT`] characters with `…` when longer.
fn shorten(text: String) -> String {
    if text.chars().count() <= EXPRESSION_TEXT {
        return text;
    }
    let mut out: String = text.chars().take(EXPRESSION_TEXT - 1).collect();
    out.push('…');
    out
}

impl Lowerer {
    /// Where `token` below `at` is recorded: at its own pointer while the
    /// limits allow (charged to the budget), else where `at` is. A
    /// top-level attribute or block always has its own: it is written in
    /// the block, so these pointers cannot add up to more than the block's
    /// text, and an unknown is never recorded for the whole resource.
    /// `span` is where the note points, when this is the first value
    /// refused.
    fn child<'a>(&mut self, at: &'a At<'_>, token: &str, span: Option<Span>) -> At<'a> {
        if at.exact {
            let length = at.pointer.len().saturating_add(token_len(token));
            let top = at.pointer.is_empty();
            if top || (length <= MAX_POINTER_LEN && length <= self.budget) {
                self.budget = self.budget.saturating_sub(length);
                return At {
                    pointer: Cow::Owned(push_pointer(&at.pointer, token)),
                    exact: true,
                };
            }
            if self.note.is_none() {
                let why = if length > MAX_POINTER_LEN {
                    format!("their JSON pointers would be longer than {MAX_POINTER_LEN} bytes")
                } else {
                    format!(
                        "the block's JSON pointers would add up to more than \
                         {POINTER_BUDGET_FACTOR} times its length (at least {} KiB)",
                        MIN_POINTER_BUDGET / 1024
                    )
                };
                self.note = Some((
                    span.unwrap_or(self.header),
                    format!(
                        "the values here and below are located at `{}`, and any \
                         unknown among them makes it unknown: {why}",
                        shorten(attribute_path(&at.pointer))
                    ),
                ));
            }
        }
        At {
            pointer: Cow::Borrowed(&at.pointer),
            exact: false,
        }
    }

    /// Records where the value at `at` was written.
    fn span(&mut self, at: &At<'_>, span: Span) {
        if at.exact {
            self.spans.insert(at.pointer.as_ref().into(), span);
        }
    }

    /// Records the value at `at` as unknown (or the ancestor that stands
    /// for it).
    fn mark_unknown(&mut self, at: &At<'_>) {
        self.unknown.insert(at.pointer.as_ref().into());
    }

    fn body(&mut self, body: &Body, at: &At<'_>, eval: Option<&dyn Evaluate>) -> Value {
        let mut object = Map::new();
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attribute) => {
                    let key = attribute.key.as_str();
                    // The expansion meta-arguments are the evaluator's:
                    // an instance's `for_each` collection is not one of
                    // its attributes, and copying it into every instance
                    // made a `for_each` over n keys cost n² memory.
                    if at.pointer.is_empty() && META_ARGUMENTS.contains(&key) {
                        continue;
                    }
                    let span = attribute.span().map(Span::from);
                    let path = self.child(at, key, span);
                    if let Some(span) = span {
                        self.span(&path, span);
                    }
                    let value = self.expression(&attribute.value, &path, eval);
                    object.insert(key.to_string(), value);
                }
                Structure::Block(block) => self.nested_block(block, at, &mut object, eval),
            }
        }
        Value::Object(object)
    }

    /// Whether the value at `at` itself was recorded as unknown.
    fn is_unknown(&self, at: &At<'_>) -> bool {
        at.exact && self.unknown.contains(at.pointer.as_ref())
    }

    fn nested_block(
        &mut self,
        block: &Block,
        at: &At<'_>,
        object: &mut Map<String, Value>,
        eval: Option<&dyn Evaluate>,
    ) {
        let header = header_span(block);
        // A `dynamic "ingress"` block generates `ingress` blocks from a
        // collection: expanded when the evaluator knows it, unknown
        // otherwise.
        if block.ident.as_str() == "dynamic" {
            if let Some(label) = block.labels.first() {
                let name = label.as_str();
                let path = self.child(at, name, Some(header));
                if path.exact {
                    self.spans
                        .entry(path.pointer.as_ref().into())
                        .or_insert(header);
                }
                if !self.is_unknown(&path) && self.dynamic(block, name, &path, object, eval) {
                    return;
                }
                self.mark_unknown(&path);
                object.insert(name.to_string(), Value::Null);
            }
            return;
        }
        let name = block.ident.as_str();
        let path = self.child(at, name, Some(header));
        if self.is_unknown(&path) {
            return;
        }
        let entry = object
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(items) = entry else {
            // An attribute and a block of the same name: keep the attribute.
            return;
        };
        if path.exact {
            self.spans
                .entry(path.pointer.as_ref().into())
                .or_insert(header);
        }
        let item_path = self.child(&path, &items.len().to_string(), Some(header));
        self.span(&item_path, header);
        let value = self.body(&block.body, &item_path, eval);
        items.push(value);
    }

    /// Expands a `dynamic` block over a known collection; false when the
    /// collection (or the block's shape) is not known.
    fn dynamic(
        &mut self,
        block: &Block,
        name: &str,
        path: &At<'_>,
        object: &mut Map<String, Value>,
        eval: Option<&dyn Evaluate>,
    ) -> bool {
        let Some(eval) = eval else {
            return false;
        };
        let Some(for_each) = block.body.get_attribute("for_each") else {
            return false;
        };
        let iterator = block
            .body
            .get_attribute("iterator")
            .and_then(|a| match &a.value {
                Expression::Variable(v) => Some(v.as_str().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| name.to_string());
        let Some(content) = block.body.get_blocks("content").next() else {
            return false;
        };
        let pairs: Vec<(TfValue, TfValue)> = match eval.evaluate(&for_each.value) {
            TfValue::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (TfValue::from(i as i64), v))
                .collect(),
            TfValue::Map(map) => map
                .into_iter()
                .map(|(k, v)| (TfValue::String(k), v))
                .collect(),
            TfValue::Null => Vec::new(),
            _ => return false,
        };
        let header = header_span(block);
        let entry = object
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(items) = entry else {
            return false;
        };
        for (key, value) in pairs {
            let item_path = self.child(path, &items.len().to_string(), Some(header));
            self.span(&item_path, header);
            let bound = eval.bind(&iterator, key, value);
            let lowered = self.body(&content.body, &item_path, Some(bound.as_ref()));
            items.push(lowered);
        }
        true
    }

    fn expression(
        &mut self,
        expr: &Expression,
        pointer: &At<'_>,
        eval: Option<&dyn Evaluate>,
    ) -> Value {
        match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => {
                number(n.value()).unwrap_or_else(|| self.unknown(pointer, expr, eval))
            }
            Expression::String(s) => Value::String(s.value().clone()),
            Expression::Array(array) => {
                let mut items = Vec::with_capacity(array.len());
                for (i, item) in array.iter().enumerate() {
                    let span = item.span().map(Span::from);
                    let path = self.child(pointer, &i.to_string(), span);
                    if let Some(span) = span {
                        self.span(&path, span);
                    }
                    items.push(self.expression(item, &path, eval));
                }
                Value::Array(items)
            }
            Expression::Object(object) => {
                let mut map = Map::new();
                for (key, value) in object.iter() {
                    let Some(name) = object_key(key) else {
                        // A computed key: only the evaluator knows the shape.
                        return self.unknown(pointer, expr, eval);
                    };
                    let key_span = match key {
                        ObjectKey::Ident(ident) => ident.span(),
                        ObjectKey::Expression(expr) => expr.span(),
                    };
                    let span = match (key_span, value.expr().span()) {
                        (Some(k), Some(v)) => Some(Span::new(k.start, v.end)),
                        _ => None,
                    };
                    let path = self.child(pointer, &name, span);
                    if map.contains_key(&name) {
                        // `a` and `"a"` are the same key, and the later one
                        // wins, as in Terraform (the parser already drops
                        // earlier items written the same way).
                        self.forget(&path);
                    }
                    if let Some(span) = span {
                        self.span(&path, span);
                    }
                    let lowered = self.expression(value.expr(), &path, eval);
                    map.insert(name, lowered);
                }
                Value::Object(map)
            }
            Expression::StringTemplate(template) => literal_template(template)
                .map_or_else(|| self.unknown(pointer, expr, eval), Value::String),
            Expression::HeredocTemplate(heredoc) => literal_template(&heredoc.template)
                .map_or_else(|| self.unknown(pointer, expr, eval), Value::String),
            Expression::Parenthesis(inner) => self.expression(inner.inner(), pointer, eval),
            Expression::UnaryOp(op) => match (op.operator.value(), &op.expr) {
                (UnaryOperator::Neg, Expression::Number(n)) => n
                    .value()
                    .as_f64()
                    .and_then(|f| number(&hcl_edit::Number::from_f64(-f)?))
                    .unwrap_or_else(|| self.unknown(pointer, expr, eval)),
                (UnaryOperator::Not, Expression::Bool(b)) => Value::Bool(!*b.value()),
                _ => self.unknown(pointer, expr, eval),
            },
            _ => self.unknown(pointer, expr, eval),
        }
    }

    /// Drops the spans and unknowns recorded at `at` and below it. (An
    /// ancestor standing for `at` keeps what it holds: it stands for other
    /// values too.)
    fn forget(&mut self, at: &At<'_>) {
        if !at.exact {
            return;
        }
        let path = at.pointer.as_ref();
        // The pointers below `path` sort together: from `path/` up to
        // `path0`, `0` being the byte after `/`.
        let (from, to) = (format!("{path}/"), format!("{path}0"));
        let below = (
            std::ops::Bound::Included(from.as_str()),
            std::ops::Bound::Excluded(to.as_str()),
        );
        let spans: Vec<crate::model::Pointer> = self
            .spans
            .range::<str, _>(below)
            .map(|(p, _)| p.clone())
            .collect();
        for pointer in spans.iter().map(|p| p.as_str()).chain([path]) {
            self.spans.remove(pointer);
        }
        let unknown: Vec<crate::model::Pointer> =
            self.unknown.range::<str, _>(below).cloned().collect();
        for pointer in unknown.iter().map(|p| p.as_str()).chain([path]) {
            self.unknown.remove(pointer);
        }
    }

    /// The value of a non-literal expression: the evaluator's, with the
    /// pointers of what it cannot know recorded; unknown without one.
    fn unknown(&mut self, at: &At<'_>, expr: &Expression, eval: Option<&dyn Evaluate>) -> Value {
        if at.exact {
            self.expressions
                .insert(at.pointer.as_ref().into(), expression_text(expr).into());
        }
        let Some(eval) = eval else {
            self.mark_unknown(at);
            return Value::Null;
        };
        let limit = MAX_POINTER_LEN.saturating_sub(at.pointer.len());
        let (value, unknown) = eval.evaluate(expr).to_json_within(limit);
        for relative in unknown {
            let length = at.pointer.len().saturating_add(relative.len());
            if !at.exact || length > self.budget {
                // `at` unknown stands for this one and all the others.
                self.mark_unknown(at);
                break;
            }
            self.budget -= length;
            self.unknown
                .insert(format!("{}{relative}", at.pointer).into());
        }
        value
    }
}

fn number(n: &hcl_edit::Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(Value::from(u));
    }
    n.as_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

/// An object key that is a bare identifier or a literal string.
fn object_key(key: &ObjectKey) -> Option<String> {
    match key {
        ObjectKey::Ident(ident) => Some(ident.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.value().clone()),
        ObjectKey::Expression(Expression::StringTemplate(t)) => literal_template(t),
        ObjectKey::Expression(Expression::Parenthesis(p)) => match p.inner() {
            Expression::String(s) => Some(s.value().clone()),
            _ => None,
        },
        ObjectKey::Expression(_) => None,
    }
}

/// The text of a template made only of literal parts.
fn literal_template(template: &Template) -> Option<String> {
    let mut text = String::new();
    for element in template.iter() {
        match element {
            Element::Literal(literal) => text.push_str(literal.value()),
            _ => return None,
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lower(text: &str) -> Lowered {
        let source = SourceFile::new("main.tf", text);
        lower_file(0, &source).expect("parses")
    }

    #[test]
    fn lowers_literals_blocks_and_unknowns() {
        let text = r#"
resource "aws_security_group" "db" {
  name = "db"
  ingress {
    from_port   = -1
    cidr_blocks = ["0.0.0.0/0", var.extra]
  }
  tags = { owner = "team-a", "change_request" = "OPS-1", env = local.env }
  vpc_id = aws_vpc.main.id
  description = <<-EOT
    hello
  EOT
}
"#;
        let lowered = lower(text);
        let r = &lowered.resources[0];
        assert_eq!(r.address, "aws_security_group.db");
        assert_eq!(
            r.attributes,
            json!({
                "name": "db",
                "ingress": [{"from_port": -1, "cidr_blocks": ["0.0.0.0/0", null]}],
                "tags": {"owner": "team-a", "change_request": "OPS-1", "env": null},
                "vpc_id": null,
                "description": "hello\n",
            })
        );
        let unknown: Vec<&str> = r.unknown.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            unknown,
            ["/ingress/0/cidr_blocks/1", "/tags/env", "/vpc_id"]
        );
        let span = r.spans.get("/ingress/0/cidr_blocks").copied().unwrap();
        assert!(text[span.start..span.end].starts_with("cidr_blocks"));
        assert_eq!(
            &text[r.header.start..r.header.end],
            r#"resource "aws_security_group" "db""#
        );
        let span = r.spans.get("/tags/owner").copied().unwrap();
        assert_eq!(&text[span.start..span.end], r#"owner = "team-a""#);
    }

    #[test]
    fn templates_with_interpolation_and_dynamic_blocks_are_unknown() {
        let lowered = lower(
            r#"resource "a" "b" {
  name = "x-${var.env}"
  plain = "x-$${literal}"
  dynamic "ingress" {
    for_each = var.rules
    content {}
  }
}"#,
        );
        let r = &lowered.resources[0];
        assert!(r.is_unknown("/name"));
        assert!(r.is_unknown("/ingress/0/cidr_blocks"));
        assert_eq!(r.attributes["plain"], json!("x-${literal}"));
    }

    #[test]
    fn syntax_errors_carry_a_span() {
        let source = SourceFile::new("bad.tf", "resource \"a\" \"b\" {\n  x = \n}\n");
        let err = lower_file(0, &source).unwrap_err();
        assert!(err.span.is_some());
        assert!(
            err.message.starts_with("HCL syntax error"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_redefined_object_key_takes_the_last_value() {
        let text = r#"resource "aws_instance" "x" {
  tags = { a = "1", a = "2" }
  labels = {
    b = var.unknown
    "b" = { c = "3" }
  }
}
"#;
        let lowered = lower(text);
        let r = &lowered.resources[0];
        assert_eq!(r.attributes["tags"], json!({"a": "2"}));
        assert_eq!(r.attributes["labels"], json!({"b": {"c": "3"}}));
        assert!(r.unknown.is_empty(), "{:?}", r.unknown);
        let span = r.spans.get("/tags/a").copied().unwrap();
        assert_eq!(&text[span.start..span.end], r#"a = "2""#);
        let span = r.spans.get("/labels/b").copied().unwrap();
        assert_eq!(&text[span.start..span.end], r#""b" = { c = "3" }"#);
    }

    /// Not a benchmark: the bound is loose enough for a debug build on a
    /// busy machine (this takes about half a second) and still catches a
    /// quadratic key check, which took 45 s here.
    #[test]
    fn a_large_object_literal_parses_in_linear_time() {
        const KEYS: usize = 50_000;
        let mut text = String::from("locals {\n  big = {\n");
        for i in 0..KEYS {
            text.push_str(&format!("    key_{i} = {i}\n"));
        }
        text.push_str("  }\n}\n");
        let source = SourceFile::new("big.tf", text);
        let started = std::time::Instant::now();
        let body = parse(&source).expect("parses");
        let elapsed = started.elapsed();
        let Some(Expression::Object(object)) = body
            .get_blocks("locals")
            .next()
            .and_then(|b| b.body.get_attribute("big"))
            .map(|a| &a.value)
        else {
            panic!("no object");
        };
        assert_eq!(object.len(), KEYS);
        assert!(
            elapsed < std::time::Duration::from_secs(5),
            "{KEYS} keys took {elapsed:?}"
        );
    }

    fn lower_noted(text: &str) -> (Resource, Option<(Span, String)>) {
        let source = SourceFile::new("main.tf", text);
        let body = parse(&source).expect("parses");
        let block = body.blocks().next().expect("a block");
        let header = classify(block).expect("valid").expect("modelled");
        lower_block(0, block, header, None, BTreeMap::new())
    }

    #[test]
    fn values_below_a_long_key_are_recorded_at_its_parent() {
        let long = "k".repeat(MAX_POINTER_LEN);
        let text = format!(
            "resource \"a\" \"b\" {{\n  tags = {{ \"{long}\" = {{ x = 1, y = var.y }} }}\n  {long} = var.z\n}}\n"
        );
        let (r, note) = lower_noted(&text);
        let deep = format!("/tags/{long}/y");
        assert_eq!(r.attributes["tags"][&long], json!({"x": 1, "y": null}));
        assert_eq!(r.locate(&deep), r.spans.get("/tags").copied().unwrap());
        assert!(r.spans.keys().all(|p| p.len() <= MAX_POINTER_LEN + 1));
        // The unknown below makes the parent unknown.
        assert!(r.is_unknown(&deep) && r.unknown.contains("/tags"));
        // A top-level attribute always has its own pointer, and nothing is
        // recorded for the whole resource.
        assert!(r.unknown.contains(format!("/{long}").as_str()));
        assert!(!r.unknown.contains(""));
        let (span, message) = note.expect("a note");
        assert!(text[span.start..].starts_with(&format!("\"{long}\" = {{ x")));
        assert!(message.contains("located at `tags`"), "{message}");
    }

    #[test]
    fn a_block_records_pointers_up_to_its_budget() {
        let key = "k".repeat(3000);
        let items = vec!["1"; 1000].join(", ");
        let text = format!("locals {{\n  x = {{ \"{key}\" = [{items}] }}\n}}\n");
        let (r, note) = lower_noted(&text);
        let budget = text.len() * POINTER_BUDGET_FACTOR;
        let recorded: usize = r.spans.keys().map(|p| p.len()).sum();
        assert!(recorded <= budget, "{recorded} > {budget}");
        let first = format!("/x/{key}/0");
        let last = format!("/x/{key}/999");
        assert!(r.spans.contains_key(first.as_str()) && !r.spans.contains_key(last.as_str()));
        assert_eq!(
            r.locate(&last),
            r.spans.get(format!("/x/{key}").as_str()).copied().unwrap()
        );
        assert!(note.expect("a note").1.contains("add up to"));
        let (_, note) = lower_noted("resource \"a\" \"b\" { x = [1, 2] }");
        assert!(note.is_none());
    }

    #[test]
    fn wrong_label_counts_are_reported_and_skipped() {
        let lowered = lower("resource \"only_type\" {}\nvariable \"v\" {}\n");
        assert_eq!(lowered.resources.len(), 1);
        assert_eq!(lowered.errors.len(), 1);
    }
}
