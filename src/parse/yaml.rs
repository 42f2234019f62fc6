//! The YAML front-end: turns YAML text into JSON values with a byte span
//! for every mapping entry and sequence item, keyed by JSON pointer.
//!
//! Built on saphyr-parser's event stream so that spans are exact, anchors,
//! aliases and `<<` merge keys resolve, and hostile input (alias bombs,
//! deep nesting) is refused with an error instead of exhausting memory.

use std::collections::{BTreeMap, HashMap};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YamlSpan};
use serde_json::{Map, Number, Value};

use crate::error::FileError;
use crate::model::push_pointer;
use crate::source::{SourceFile, Span};

/// Nesting deeper than this is refused.
pub const MAX_DEPTH: usize = 128;
/// Values produced, aliases expanded, beyond which a document is refused.
pub const MAX_NODES: usize = 1_000_000;

/// One YAML document.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    /// The span of every mapping entry (key through value) and sequence
    /// item; the empty pointer spans the whole document.
    pub spans: BTreeMap<String, Span>,
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
    let mut builder = Builder {
        source,
        documents: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        spans: BTreeMap::new(),
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(&source.text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|err| scan_error(source, &err))?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
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
        /// Keys set explicitly, which merged (`<<`) keys never override.
        explicit: Vec<String>,
    },
}

struct Builder<'s> {
    source: &'s SourceFile,
    documents: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    spans: BTreeMap<String, Span>,
    nodes: usize,
}

impl Builder<'_> {
    fn offset(&self, marker: &saphyr_parser::Marker) -> usize {
        self.source
            .lines
            .offset(&self.source.text, marker.line(), marker.col())
    }

    fn span(&self, span: YamlSpan) -> Span {
        let start = self.offset(&span.start);
        Span::new(start, self.offset(&span.end).max(start))
    }

    fn error(&self, span: Span, message: impl Into<String>) -> FileError {
        FileError::new(self.source.path(), Some(span), message)
    }

    /// The pointer of the value about to be produced at the top of the
    /// stack, or `None` when the top mapping is waiting for a key.
    fn next_pointer(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Sequence { items, pointer, .. }) => {
                Some(push_pointer(pointer, &items.len().to_string()))
            }
            Some(Frame::Mapping { key, pointer, .. }) => {
                key.as_ref().map(|(k, _)| push_pointer(pointer, k))
            }
        }
    }

    fn count(&mut self, nodes: usize, span: Span) -> Result<(), FileError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(self.error(
                span,
                format!("YAML document expands to more than {MAX_NODES} values (alias bomb?)"),
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
            }
            Event::DocumentEnd => {}
            Event::Scalar(text, style, anchor, tag) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }));
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                self.count(1, span)?;
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
                    self.push_value(value, span)?;
                }
            }
            Event::Alias(anchor) => {
                let Some(value) = self.anchors.get(&anchor).cloned() else {
                    return Err(self.error(span, "YAML alias refers to an unknown anchor"));
                };
                self.count(value_size(&value), span)?;
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
                    self.push_value(value, span)?;
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. })) {
                    return Err(self.error(span, "complex YAML mapping keys are not supported"));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.error(
                        span,
                        format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.count(1, span)?;
                let pointer = self.next_pointer().unwrap_or_default();
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
                        explicit: Vec::new(),
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, start, end, anchor) = match frame {
                    Frame::Sequence {
                        items,
                        start,
                        end,
                        anchor,
                        ..
                    } => (Value::Array(items), start, end, anchor),
                    Frame::Mapping {
                        map,
                        start,
                        end,
                        anchor,
                        ..
                    } => (Value::Object(map), start, end, anchor),
                };
                // A flow collection ends at its closing bracket; a block
                // one at its last child (its end event sits at the next
                // token, possibly lines away).
                let flow = matches!(self.source.text.as_bytes().get(start), Some(b'[' | b'{'));
                let end = if flow { end.max(span.end) } else { end };
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push_value(value, Span::new(start, end))?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn push_value(&mut self, value: Value, span: Span) -> Result<(), FileError> {
        let pointer = self.next_pointer();
        match self.stack.last_mut() {
            None => {
                self.spans.insert(String::new(), span);
                self.documents.push(Document {
                    value,
                    spans: std::mem::take(&mut self.spans),
                });
            }
            Some(Frame::Sequence { items, end, .. }) => {
                if let Some(pointer) = pointer {
                    self.spans.insert(pointer, span);
                }
                *end = (*end).max(span.end);
                items.push(value);
            }
            Some(Frame::Mapping {
                map,
                key,
                end,
                explicit,
                ..
            }) => {
                let Some((name, key_start)) = key.take() else {
                    return Ok(());
                };
                *end = (*end).max(span.end);
                if name == "<<" {
                    merge_into(map, explicit, value);
                    return Ok(());
                }
                if let Some(pointer) = pointer {
                    self.spans.insert(pointer, Span::new(key_start, span.end));
                }
                explicit.push(name.clone());
                map.insert(name, value);
            }
        }
        Ok(())
    }
}

/// `<<: *base` or `<<: [*a, *b]`: keys not set explicitly are copied in,
/// earlier sources winning.
fn merge_into(map: &mut Map<String, Value>, explicit: &[String], value: Value) {
    let sources = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    for source in sources {
        if let Value::Object(source) = source {
            for (k, v) in source {
                if explicit.contains(&k) {
                    continue;
                }
                map.entry(k).or_insert(v);
            }
        }
    }
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(value_size).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(value_size).sum::<usize>(),
        _ => 1,
    }
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
    fn syntax_errors_have_a_position() {
        let err = docs("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.is_some());
        assert!(err.message.starts_with("YAML syntax error"));
    }
}
