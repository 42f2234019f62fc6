//! The YAML front-end: turns YAML text into JSON values with a byte span
//! for every mapping entry and sequence item, keyed by JSON pointer.
//!
//! Built on saphyr-parser's event stream so that spans are exact, anchors,
//! aliases and `<<` merge keys resolve, and hostile input (alias bombs,
//! deep nesting, huge scalars) is refused with an error instead of
//! exhausting memory. Complex mapping keys (`? [a, b]`) are valid YAML that
//! JSON cannot hold: they become their JSON text.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YamlSpan};
use serde_json::{Map, Number, Value};

use crate::error::FileError;
use crate::model::{push_pointer, token_len};
use crate::source::{SourceFile, Span};

/// Nesting deeper than this is refused.
pub const MAX_DEPTH: usize = 128;
/// Values produced, aliases expanded, beyond which a document is refused.
pub const MAX_NODES: usize = 1_000_000;
/// A single scalar longer than this is refused (Kubernetes caps a whole
/// ConfigMap at 1 MiB; nothing legitimate comes close).
pub const MAX_SCALAR_BYTES: usize = 4 * 1024 * 1024;
/// Scalar text produced per document, aliases expanded, beyond which the
/// document is refused: an alias bomb built from long strings stays
/// under [`MAX_NODES`] but not under this.
pub const MAX_SCALAR_TOTAL_BYTES: usize = 64 * 1024 * 1024;
/// Values that aliases may produce in one file, all its documents
/// together, beyond which the file is refused at the alias that goes
/// over: an alias bomb split over many `---` documents stays under the
/// per-document limits but not under this.
pub const MAX_ALIAS_NODES: usize = MAX_NODES;
/// Scalar text that aliases may produce in one file, all its documents
/// together.
pub const MAX_ALIAS_BYTES: usize = MAX_SCALAR_TOTAL_BYTES;
/// The JSON pointers of a file's values, aliases expanded, may add up to
/// this many bytes; the value that goes over is refused. Each value's
/// pointer repeats the keys above it, so a long key above many values is
/// copied into every one of their pointers (a 300 KB key above 100,000
/// values: 30 GB), which the span map keeps and the compose and
/// Kubernetes lowering walk again. Every later walk over a document's
/// pointers is bounded by this too.
pub const MAX_POINTER_BYTES: usize = 64 * 1024 * 1024;

/// Pointers below this one belong to a complex mapping key, not to the
/// document's values: no span is recorded for them.
const KEY_POINTER: &str = "\u{0}key";

/// One YAML document.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    /// The span of every mapping entry (key through value) and sequence
    /// item; the empty pointer spans the whole document.
    pub spans: crate::model::Spans,
}

impl Document {
    /// The span of the pointer, or of its nearest ancestor that has one.
    pub fn locate(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Some(span) = self.spans.get(pointer) {
                return *span;
            }
            if pointer.is_empty() {
                return Span::default();
            }
            pointer = crate::model::parent_pointer(pointer);
        }
    }

    /// Validates the document against a JSON Schema; each error points at
    /// the offending entry and names it.
    pub fn validate(
        &self,
        validator: &jsonschema::Validator,
        path: &std::path::Path,
        what: &str,
    ) -> Vec<FileError> {
        validator
            .iter_errors(&self.value)
            .map(|err| {
                let pointer = err.instance_path().as_str().to_string();
                let at = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at `{pointer}`")
                };
                FileError::new(
                    path,
                    Some(self.locate(&pointer)),
                    format!("invalid {what}{at}: {err}"),
                )
            })
            .collect()
    }
}

/// Parses every document of a YAML stream.
pub fn parse(source: &SourceFile) -> Result<Vec<Document>, FileError> {
    match parse_partial(source) {
        (documents, None) => Ok(documents),
        (_, Some(err)) => Err(err),
    }
}

/// Parses a YAML stream as far as it goes: the documents completed before
/// the first error, and that error. A manifest file whose third document
/// is broken still has its first two checked.
pub fn parse_partial(source: &SourceFile) -> (Vec<Document>, Option<FileError>) {
    let mut builder = Builder {
        source,
        documents: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        spans: BTreeMap::new(),
        nodes: 0,
        scalar_bytes: 0,
        alias_nodes: 0,
        alias_bytes: 0,
        pointer_bytes: 0,
        cursor: Cell::new((0, 0, 0)),
    };
    let mut parser = Parser::new_from_str(&source.text);
    while let Some(next) = parser.next_event() {
        let result = next
            .map_err(|err| scan_error(source, &err))
            .and_then(|(event, span)| builder.event(event, span));
        if let Err(err) = result {
            return (builder.documents, Some(err));
        }
    }
    (builder.documents, None)
}

fn scan_error(source: &SourceFile, err: &ScanError) -> FileError {
    let marker = err.marker();
    let start = source
        .lines
        .offset(&source.text, marker.line(), marker.col());
    FileError::new(
        source.path(),
        Some(Span::new(start, start)),
        format!("YAML syntax error: {}", err.info()),
    )
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        pointer: String,
        start: usize,
        end: usize,
        anchor: usize,
    },
    Mapping {
        map: Map<String, Value>,
        pointer: String,
        start: usize,
        end: usize,
        anchor: usize,
        /// The key read, waiting for its value, and where it starts.
        key: Option<(String, usize)>,
    },
}

struct Builder<'s> {
    source: &'s SourceFile,
    documents: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    spans: crate::model::Spans,
    /// Values and scalar text produced in the current document.
    nodes: usize,
    scalar_bytes: usize,
    /// Values and scalar text produced by aliases in the whole file.
    alias_nodes: usize,
    alias_bytes: usize,
    /// Bytes of the pointers built in the whole file.
    pointer_bytes: usize,
    /// The last position converted to a byte offset: line, column and
    /// offset.
    cursor: Cell<(usize, usize, usize)>,
}

impl Builder<'_> {
    /// The byte offset of a parser position (a line, and a column in
    /// characters). Positions come in order, so each one is found by
    /// walking on from the last one when it is on the same line, not from
    /// the line's start: a document written on one long line (minified
    /// JSON) takes linear time, not quadratic.
    fn offset(&self, marker: &saphyr_parser::Marker) -> usize {
        let text = &self.source.text;
        let (line, column) = (marker.line(), marker.col());
        let (last_line, last_column, last_offset) = self.cursor.get();
        let (from_column, from) = if line == last_line && column >= last_column {
            (last_column, last_offset)
        } else {
            (0, self.source.lines.line_span(text, line).start)
        };
        let offset = text
            .get(from..)
            .and_then(|rest| rest.char_indices().nth(column - from_column))
            .map_or(text.len(), |(i, _)| from + i);
        self.cursor.set((line, column, offset));
        offset
    }

    fn span(&self, span: YamlSpan) -> Span {
        let start = self.offset(&span.start);
        Span::new(start, self.offset(&span.end).max(start))
    }

    /// A quoted scalar ends at its closing quote (the parser's end marker
    /// may sit past a comment that follows it).
    fn quoted_span(&self, span: Span) -> Span {
        let text = &self.source.text;
        let Some(&quote) = text.as_bytes().get(span.start) else {
            return span;
        };
        if quote != b'"' && quote != b'\'' {
            return span;
        }
        let bytes = text.as_bytes();
        let mut i = span.start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                c if c == quote => return Span::new(span.start, i + 1),
                _ => i += 1,
            }
        }
        span
    }

    fn error(&self, span: Span, message: impl Into<String>) -> FileError {
        FileError::new(self.source.path(), Some(span), message)
    }

    /// The pointer of the value about to be produced at the top of the
    /// stack ([`KEY_POINTER`] when the top mapping is waiting for a key),
    /// counted against the file's pointer budget before it is built.
    fn next_pointer(&mut self, span: Span) -> Result<String, FileError> {
        let (base, token) = match self.stack.last() {
            None => return Ok(String::new()),
            Some(Frame::Sequence { items, pointer, .. }) => {
                (pointer, Cow::Owned(items.len().to_string()))
            }
            Some(Frame::Mapping {
                key: Some((key, _)),
                pointer,
                ..
            }) => (pointer, Cow::Borrowed(key.as_str())),
            Some(Frame::Mapping { key: None, .. }) => return Ok(KEY_POINTER.to_string()),
        };
        let bytes = base.len().saturating_add(token_len(&token));
        self.pointer_bytes = self.pointer_bytes.saturating_add(bytes);
        if self.pointer_bytes > MAX_POINTER_BYTES {
            return Err(self.pointer_budget_error(span));
        }
        Ok(push_pointer(base, &token))
    }

    /// Counts the pointers below a value an alias copies to `pointer`.
    fn count_alias_pointers(
        &mut self,
        pointer: &str,
        size: Size,
        span: Span,
    ) -> Result<(), FileError> {
        let below = size.values.saturating_sub(1).saturating_mul(pointer.len());
        let bytes = below.saturating_add(size.pointers);
        self.pointer_bytes = self.pointer_bytes.saturating_add(bytes);
        if self.pointer_bytes > MAX_POINTER_BYTES {
            return Err(self.pointer_budget_error(span));
        }
        Ok(())
    }

    fn pointer_budget_error(&self, span: Span) -> FileError {
        self.error(
            span,
            format!(
                "the paths to this file's YAML values add up to more than {} MiB \
                 (a long key above many values?)",
                MAX_POINTER_BYTES / 1024 / 1024
            ),
        )
    }

    fn count(&mut self, nodes: usize, bytes: usize, span: Span) -> Result<(), FileError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(self.error(
                span,
                format!("YAML document expands to more than {MAX_NODES} values (alias bomb?)"),
            ));
        }
        self.scalar_bytes = self.scalar_bytes.saturating_add(bytes);
        if self.scalar_bytes > MAX_SCALAR_TOTAL_BYTES {
            return Err(self.error(
                span,
                format!(
                    "YAML document expands to more than {} MiB of text (alias bomb?)",
                    MAX_SCALAR_TOTAL_BYTES / 1024 / 1024
                ),
            ));
        }
        Ok(())
    }

    /// Counts what an alias expands to, against the document's budget,
    /// then the whole file's.
    fn count_alias(&mut self, nodes: usize, bytes: usize, span: Span) -> Result<(), FileError> {
        self.count(nodes, bytes, span)?;
        self.alias_nodes = self.alias_nodes.saturating_add(nodes);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(self.error(
                span,
                format!(
                    "YAML aliases in this file expand to more than {MAX_ALIAS_NODES} values \
                     (alias bomb?)"
                ),
            ));
        }
        self.alias_bytes = self.alias_bytes.saturating_add(bytes);
        if self.alias_bytes > MAX_ALIAS_BYTES {
            return Err(self.error(
                span,
                format!(
                    "YAML aliases in this file expand to more than {} MiB of text (alias bomb?)",
                    MAX_ALIAS_BYTES / 1024 / 1024
                ),
            ));
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, yaml_span: YamlSpan) -> Result<(), FileError> {
        let span = self.span(yaml_span);
        match event {
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.spans.clear();
                self.nodes = 0;
                self.scalar_bytes = 0;
            }
            Event::DocumentEnd => {}
            Event::Scalar(text, style, anchor, tag) => {
                let span = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => self.quoted_span(span),
                    _ => span,
                };
                if text.len() > MAX_SCALAR_BYTES {
                    return Err(self.error(
                        span,
                        format!(
                            "YAML scalar of {} bytes is longer than the {} MiB allowed",
                            text.len(),
                            MAX_SCALAR_BYTES / 1024 / 1024
                        ),
                    ));
                }
                let is_key = matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }));
                let bytes = text.len();
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                self.count(1, bytes, span)?;
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                if is_key {
                    let key = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if let Some(Frame::Mapping { key: slot, .. }) = self.stack.last_mut() {
                        *slot = Some((key, span.start));
                    }
                } else {
                    let pointer = self.next_pointer(span)?;
                    self.push_value(value, span, pointer)?;
                }
            }
            Event::Alias(anchor) => {
                let Some(value) = self.anchors.get(&anchor).cloned() else {
                    return Err(self.error(span, "YAML alias refers to an unknown anchor"));
                };
                let size = measure(&value);
                self.count_alias(size.values, size.text, span)?;
                if let Some(Frame::Mapping {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    let text = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    *key = Some((text, span.start));
                } else {
                    let pointer = self.next_pointer(span)?;
                    self.count_alias_pointers(&pointer, size, span)?;
                    self.push_value(value, span, pointer)?;
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.error(
                        span,
                        format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.count(1, 0, span)?;
                // A collection where a key is expected is a complex key:
                // built like any value, then turned into its JSON text.
                let pointer = self.next_pointer(span)?;
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Sequence {
                        items: Vec::new(),
                        pointer,
                        start: span.start,
                        end: span.end,
                        anchor,
                    }
                } else {
                    Frame::Mapping {
                        map: Map::new(),
                        pointer,
                        start: span.start,
                        end: span.end,
                        anchor,
                        key: None,
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, pointer, start, end, anchor) = match frame {
                    Frame::Sequence {
                        items,
                        pointer,
                        start,
                        end,
                        anchor,
                    } => (Value::Array(items), pointer, start, end, anchor),
                    Frame::Mapping {
                        map,
                        pointer,
                        start,
                        end,
                        anchor,
                        ..
                    } => (Value::Object(map), pointer, start, end, anchor),
                };
                // A flow collection ends at its closing bracket; a block
                // one at its last child (its end event sits at the next
                // token, possibly lines away).
                let flow = matches!(self.source.text.as_bytes().get(start), Some(b'[' | b'{'));
                let end = if flow { end.max(span.end) } else { end };
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value, Span::new(start, end), pointer)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Adds a finished value at `pointer` (from [`Builder::next_pointer`])
    /// to the collection being built, or ends the document with it.
    fn push_value(&mut self, value: Value, span: Span, pointer: String) -> Result<(), FileError> {
        match self.stack.last_mut() {
            None => {
                self.spans.insert(crate::model::Pointer::default(), span);
                self.documents.push(Document {
                    value,
                    spans: std::mem::take(&mut self.spans),
                });
            }
            Some(Frame::Sequence { items, end, .. }) => {
                if !pointer.starts_with(KEY_POINTER) {
                    self.spans.insert(pointer.into(), span);
                }
                *end = (*end).max(span.end);
                items.push(value);
            }
            Some(Frame::Mapping { map, key, end, .. }) => {
                let Some((name, key_start)) = key.take() else {
                    // A complex key just completed.
                    *key = Some((value.to_string(), span.start));
                    return Ok(());
                };
                *end = (*end).max(span.end);
                if name == "<<" {
                    merge_into(map, value);
                    return Ok(());
                }
                if !pointer.starts_with(KEY_POINTER) {
                    self.spans
                        .insert(pointer.into(), Span::new(key_start, span.end));
                }
                map.insert(name, value);
            }
        }
        Ok(())
    }
}

/// `<<: *base` or `<<: [*a, *b]`: keys not set explicitly are copied in,
/// earlier sources winning. A key already in the map was set explicitly
/// or by an earlier source, so it stays; an explicit key written after the
/// merge replaces the merged value when it is inserted. Each merged key
/// costs one map lookup, whatever the number of explicit keys.
fn merge_into(map: &mut Map<String, Value>, value: Value) {
    let sources = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    for source in sources {
        if let Value::Object(source) = source {
            for (k, v) in source {
                map.entry(k).or_insert(v);
            }
        }
    }
}

/// What an alias copies: values (itself included), text (keys included;
/// a byte for each scalar that is not a string) and the bytes of the
/// pointers below it, relative to it.
#[derive(Debug, Clone, Copy)]
struct Size {
    values: usize,
    text: usize,
    pointers: usize,
}

fn measure(value: &Value) -> Size {
    let mut size = Size {
        values: 1,
        text: 0,
        pointers: 0,
    };
    let mut add = |token: usize, child: Size| {
        size.values = size.values.saturating_add(child.values);
        size.text = size.text.saturating_add(child.text);
        // The child and every value below it repeat its `/token`.
        let below = child.values.saturating_mul(token);
        size.pointers = size
            .pointers
            .saturating_add(child.pointers.saturating_add(below));
    };
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let digits = i.checked_ilog10().map_or(1, |d| d as usize + 1);
                add(1 + digits, measure(item));
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let mut child = measure(item);
                child.text = child.text.saturating_add(key.len());
                add(token_len(key), child);
            }
        }
        Value::String(s) => size.text = s.len(),
        _ => size.text = 1,
    }
    size
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(int) = resolve_int(text) {
        return Value::from(int);
    }
    let bytes = text.as_bytes();
    let looks_numeric = bytes
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && bytes.iter().any(u8::is_ascii_digit);
    if looks_numeric {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

fn resolve_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docs(text: &str) -> Result<Vec<Document>, FileError> {
        parse(&SourceFile::new("x.yaml", text))
    }

    fn slice<'t>(text: &'t str, doc: &Document, pointer: &str) -> &'t str {
        let span = doc.spans[pointer];
        &text[span.start..span.end]
    }

    #[test]
    fn values_and_spans() {
        let text = "a: 1\nb:\n  - x\n  - \"y\"\nc: {d: true, e: ~}\nf: 0x1F\ng: 1.5\n";
        let d = &docs(text).unwrap()[0];
        assert_eq!(
            d.value,
            json!({"a": 1, "b": ["x", "y"], "c": {"d": true, "e": null}, "f": 31, "g": 1.5})
        );
        assert_eq!(slice(text, d, "/a"), "a: 1");
        assert_eq!(slice(text, d, "/b/1"), "\"y\"");
        assert_eq!(slice(text, d, "/c/d"), "d: true");
        assert!(slice(text, d, "/b").starts_with("b:\n  - x"));
    }

    #[test]
    fn multiple_documents_anchors_and_merge_keys() {
        let text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n---\nsecond: yes\n";
        let d = docs(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].value["use"], json!({"x": 1, "y": 3}));
        assert_eq!(d[1].value, json!({"second": "yes"}));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = (b'a' + i - 1) as char;
            let name = (b'a' + i) as char;
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = docs(&bomb).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = docs(&deep).unwrap_err();
        assert!(err.message.contains("deeper"), "{}", err.message);
    }

    #[test]
    fn aliases_are_counted_over_the_whole_file() {
        // Nine hundred thousand values a document: under the limits for
        // one document, not for two.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous, copies) in [
            ('b', 'a', 10),
            ('c', 'b', 10),
            ('d', 'c', 10),
            ('e', 'd', 10),
            ('f', 'e', 7),
        ] {
            let items = vec![format!("*{previous}"); copies].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        assert_eq!(docs(&bomb).unwrap().len(), 1);
        let source = SourceFile::new("x.yaml", format!("{bomb}---\n{bomb}"));
        let (documents, error) = parse_partial(&source);
        assert_eq!(documents.len(), 1);
        let error = error.unwrap();
        assert!(
            error.message.contains("aliases in this file"),
            "{}",
            error.message
        );
        assert!(error.span.unwrap().start > bomb.len());
    }

    #[test]
    fn pointers_past_the_budget_are_refused() {
        let key = "k".repeat(64 * 1024);
        let items = vec!["1"; 1100].join(", ");
        let text = format!("a: 1\n---\n? {key}\n: [{items}]\n");
        let (documents, error) = parse_partial(&SourceFile::new("x.yaml", text.as_str()));
        assert_eq!(documents.len(), 1);
        let error = error.unwrap();
        assert!(error.message.contains("paths"), "{}", error.message);
        // At the item that went over, the 1,023rd.
        let at = error.span.unwrap().start;
        assert!(at > key.len() + 3000 && at < text.len() - 200, "{at}");
        // Aliases count what they copy.
        let items = vec!["1"; 1100].join(", ");
        let text = format!("a: &a [{items}]\n? {key}\n: *a\n");
        let error = docs(&text).unwrap_err();
        assert!(error.message.contains("paths"), "{}", error.message);
        // Well under it, both are fine.
        let small = format!("a: &a [1, 2]\n? {key}\n: [*a, *a]\n");
        assert!(docs(&small).is_ok());
    }

    #[test]
    fn merge_keys_keep_explicit_keys_and_earlier_sources() {
        let text =
            "a: &a {x: 1, y: 1, z: 1}\nb: &b {x: 2, w: 2}\nuse:\n  y: 3\n  <<: [*a, *b]\n  z: 4\n";
        let d = &docs(text).unwrap()[0];
        assert_eq!(d.value["use"], json!({"y": 3, "x": 1, "z": 4, "w": 2}));
    }

    #[test]
    fn positions_on_a_long_line_are_exact() {
        let text = "{\"é\": [1, \"two\", 3], \"b\": {\"c\": 4}}\n";
        let d = &docs(text).unwrap()[0];
        assert_eq!(slice(text, d, "/é/1"), "\"two\"");
        assert_eq!(slice(text, d, "/é/2"), "3");
        assert_eq!(slice(text, d, "/b/c"), "\"c\": 4");
    }

    #[test]
    fn huge_scalars_and_long_string_bombs_are_refused() {
        let huge = format!("a: {}\n", "x".repeat(MAX_SCALAR_BYTES + 1));
        let err = docs(&huge).unwrap_err();
        assert!(err.message.contains("longer than"), "{}", err.message);
        // Few values, but each alias repeats a megabyte of text.
        let mut bomb = format!("a: &a {}\nb: [", "y".repeat(1024 * 1024));
        bomb.push_str(&vec!["*a"; 100].join(", "));
        bomb.push_str("]\n");
        let err = docs(&bomb).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{}", err.message);
    }

    #[test]
    fn complex_keys_become_their_json_text() {
        let d = &docs("? [a, b]\n: 1\nc: 2\n").unwrap()[0];
        assert_eq!(d.value, json!({"[\"a\",\"b\"]": 1, "c": 2}));
        assert!(d.spans.keys().all(|k| !k.contains('\u{0}')));
    }

    #[test]
    fn partial_parses_keep_the_documents_before_an_error() {
        let source = SourceFile::new("x.yaml", "a: 1\n---\nb: [\n");
        let (documents, error) = parse_partial(&source);
        assert_eq!(documents.len(), 1);
        assert!(error.is_some());
    }

    #[test]
    fn quoted_scalars_end_at_their_quote() {
        let text =
            "a:\n  - \"5432:5432\"  # a comment\n  - 'it''s'  # another\nb: \"x\\\"y\" # c\n";
        let d = &docs(text).unwrap()[0];
        assert_eq!(slice(text, d, "/a/0"), "\"5432:5432\"");
        assert_eq!(slice(text, d, "/a/1"), "'it''s'");
        assert_eq!(slice(text, d, "/b"), "b: \"x\\\"y\"");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = docs("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.is_some());
        assert!(err.message.starts_with("YAML syntax error"));
    }
}
