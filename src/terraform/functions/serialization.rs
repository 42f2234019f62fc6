//! JSON and YAML encoding and decoding, byte-for-byte as Terraform writes
//! them where that is practical: `jsonencode` escapes like Go's
//! `encoding/json` (`<`, `>`, `&` included) with sorted keys and plain
//! decimal numbers; `yamlencode` follows libyaml's block emitter as
//! go-cty-yaml drives it (double-quoted strings, literal blocks for
//! multi-line strings, indentless sequences in mappings, lines folded past
//! 80 columns, `...` after a document that ends open).
//!
//! `yamldecode` reuses the project's YAML front-end, which resolves plain
//! scalars by YAML 1.2's core schema; go-cty-yaml uses YAML 1.1's, so
//! `yes`/`no`/`on`/`off`/`y`/`n` stay strings here where Terraform reads
//! bools, and `.inf` stays a string.

use std::fmt::Write as _;

use crate::parse::yaml;
use crate::source::SourceFile;

use super::{Args, Arity, Function, FunctionError, Value};
use crate::terraform::value::format_number;

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("jsondecode", Exactly(1), jsondecode),
    Function::new("jsonencode", Exactly(1), jsonencode),
    Function::new("yamldecode", Exactly(1), yamldecode),
    Function::new("yamlencode", Exactly(1), yamlencode),
];

fn jsondecode(args: &Args<'_>) -> Result<Value, FunctionError> {
    let json: serde_json::Value =
        serde_json::from_str(&args.string(0)?).map_err(|e| args.invalid(0, e.to_string()))?;
    Ok(Value::from_json(&json))
}

fn jsonencode(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(json_encode(args.get(0))))
}

fn yamldecode(args: &Args<'_>) -> Result<Value, FunctionError> {
    let source = SourceFile::new("<yamldecode>", args.string(0)?.into_owned());
    let documents = yaml::parse(&source).map_err(|e| args.invalid(0, e.message))?;
    match documents.as_slice() {
        [] => Ok(Value::Null),
        [document] => Ok(Value::from_json(&document.value)),
        _ => Err(args.invalid(0, "only a single document is allowed")),
    }
}

fn yamlencode(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(yaml_encode(args.get(0))))
}

/// Terraform's JSON text for a known value (an unknown writes `null`).
pub(super) fn json_encode(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Unknown => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format_number(n)),
        Value::String(s) => write_json_string(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

/// Go's `encoding/json` string escaping, HTML-safe.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Terraform's YAML text for a known value.
pub(super) fn yaml_encode(value: &Value) -> String {
    let mut emitter = Emitter::default();
    match value {
        Value::List(items) if !items.is_empty() => emitter.sequence(items, 0, false),
        Value::Map(map) if !map.is_empty() => emitter.mapping(map, 0, false),
        scalar => emitter.scalar(scalar, 2, true),
    }
    if !emitter.out.ends_with('\n') {
        emitter.out.push('\n');
    }
    if emitter.open_ended {
        emitter.out.push_str("...\n");
    }
    emitter.out
}

/// libyaml's best width: double-quoted scalars fold after this column.
const BEST_WIDTH: usize = 80;

#[derive(Default)]
struct Emitter {
    out: String,
    /// The document ends in a way a reader needs `...` to close.
    open_ended: bool,
}

impl Emitter {
    fn column(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.chars().count()
    }

    /// Starts a line at `indent`, unless the current line is still empty.
    fn line(&mut self, indent: usize) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out.push_str(&" ".repeat(indent));
    }

    /// Entries at `indent`; `inline` continues the current line (after a
    /// sequence dash) for the first one.
    fn mapping(
        &mut self,
        map: &std::collections::BTreeMap<String, Value>,
        indent: usize,
        inline: bool,
    ) {
        for (i, (key, value)) in map.iter().enumerate() {
            if !(inline && i == 0) {
                self.line(indent);
            }
            self.open_ended = false;
            self.double_quoted(key, indent + 2, false);
            self.out.push(':');
            match value {
                Value::Map(inner) if !inner.is_empty() => self.mapping(inner, indent + 2, false),
                Value::List(items) if !items.is_empty() => self.sequence(items, indent, false),
                scalar => {
                    self.out.push(' ');
                    self.scalar(scalar, indent + 2, false);
                }
            }
        }
    }

    fn sequence(&mut self, items: &[Value], indent: usize, inline: bool) {
        for (i, item) in items.iter().enumerate() {
            if !(inline && i == 0) {
                self.line(indent);
            }
            self.open_ended = false;
            self.out.push_str("- ");
            match item {
                Value::Map(inner) if !inner.is_empty() => self.mapping(inner, indent + 2, true),
                Value::List(inner) if !inner.is_empty() => self.sequence(inner, indent + 2, true),
                scalar => self.scalar(scalar, indent + 2, false),
            }
        }
    }

    /// A scalar (or empty collection) whose continuation lines sit at
    /// `indent`.
    fn scalar(&mut self, value: &Value, indent: usize, root: bool) {
        let plain = match value {
            Value::List(_) => "[]".to_string(),
            Value::Map(_) => "{}".to_string(),
            Value::Null | Value::Unknown => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format_number(n),
            Value::String(s) => {
                if s.contains('\n') && literal_allowed(s) {
                    self.literal(s, indent);
                } else {
                    self.double_quoted(s, indent, true);
                }
                return;
            }
        };
        self.out.push_str(&plain);
        self.open_ended = root && !matches!(value, Value::List(_) | Value::Map(_));
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        if s.starts_with([' ', '\n']) {
            self.out.push('2');
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        match trailing {
            0 => self.out.push('-'),
            1 if s.len() > 1 => {}
            _ => self.out.push('+'),
        }
        self.out.push('\n');
        let mut at_line_start = true;
        for c in s.chars() {
            if c == '\n' {
                self.out.push('\n');
                at_line_start = true;
            } else {
                if at_line_start {
                    self.out.push_str(&" ".repeat(indent));
                    at_line_start = false;
                }
                self.out.push(c);
            }
        }
        self.open_ended = trailing > 1 || s == "\n";
    }

    fn double_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.out.push('"');
        let chars: Vec<char> = s.chars().collect();
        let mut column = self.column();
        let mut spaces = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks && !spaces && column > BEST_WIDTH && i > 0 && i < chars.len() - 1 {
                    self.out.push('\n');
                    self.out.push_str(&" ".repeat(indent));
                    column = indent;
                    if chars[i + 1] == ' ' {
                        self.out.push('\\');
                        column += 1;
                    }
                } else {
                    self.out.push(' ');
                    column += 1;
                }
                spaces = true;
            } else {
                let before = self.out.len();
                push_yaml_char(c, &mut self.out);
                column += self.out[before..].chars().count();
                spaces = false;
            }
            i += 1;
        }
        self.out.push('"');
    }
}

/// libyaml's printable set, in which only `\n` of the control characters
/// appears, and no character outside the Basic Multilingual Plane.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// A literal block is refused for non-printable characters, a trailing
/// space, or a space before a line break.
fn literal_allowed(s: &str) -> bool {
    s.chars().all(is_printable) && !s.ends_with(' ') && !s.contains(" \n")
}

fn push_yaml_char(c: char, out: &mut String) {
    let is_break = matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    if is_printable(c) && !is_break && c != '"' && c != '\\' {
        out.push(c);
        return;
    }
    out.push('\\');
    match c {
        '\0' => out.push('0'),
        '\u{7}' => out.push('a'),
        '\u{8}' => out.push('b'),
        '\t' => out.push('t'),
        '\n' => out.push('n'),
        '\u{b}' => out.push('v'),
        '\u{c}' => out.push('f'),
        '\r' => out.push('r'),
        '\u{1b}' => out.push('e'),
        '"' => out.push('"'),
        '\\' => out.push('\\'),
        '\u{85}' => out.push('N'),
        '\u{A0}' => out.push('_'),
        '\u{2028}' => out.push('L'),
        '\u{2029}' => out.push('P'),
        c => {
            let v = u32::from(c);
            let _ = if v <= 0xFF {
                write!(out, "x{v:02X}")
            } else if v <= 0xFFFF {
                write!(out, "u{v:04X}")
            } else {
                write!(out, "U{v:08X}")
            };
        }
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    let u = Value::List(vec![Value::Unknown]);
    vec![
        ok(
            "jsonencode",
            vec![j(json!({"b": [1, 2.5, true, null], "a": "x"}))],
            s(r#"{"a":"x","b":[1,2.5,true,null]}"#),
        ),
        ok(
            "jsonencode",
            vec![s("<a & b>\n\u{1}")],
            s(r#""\u003ca \u0026 b\u003e\n\u0001""#),
        ),
        ok("jsonencode", vec![n(1e21)], s("1000000000000000000000")),
        ok("jsonencode", vec![Value::Null], s("null")),
        ok("jsonencode", vec![u.clone()], Value::Unknown),
        ok(
            "jsondecode",
            vec![s(r#"{"hello": "world", "n": [1, 2.0, null]}"#)],
            j(json!({"hello": "world", "n": [1, 2, null]})),
        ),
        ok("jsondecode", vec![s("true")], Value::from(true)),
        err("jsondecode", vec![s("{")], "EOF"),
        err("jsondecode", vec![s("{} x")], "trailing characters"),
        ok(
            "yamldecode",
            vec![s("hello: world\nlist: [1, 2]\n")],
            j(json!({"hello": "world", "list": [1, 2]})),
        ),
        ok("yamldecode", vec![s("")], Value::Null),
        ok(
            "yamldecode",
            vec![s("- a\n- b: 1\n")],
            j(json!(["a", {"b": 1}])),
        ),
        err(
            "yamldecode",
            vec![s("a: 1\n---\nb: 2\n")],
            "only a single document",
        ),
        err("yamldecode", vec![s("a: [1,\n")], "YAML syntax error"),
        ok(
            "yamlencode",
            vec![j(json!({"a": "b", "c": "d"}))],
            s("\"a\": \"b\"\n\"c\": \"d\"\n"),
        ),
        ok(
            "yamlencode",
            vec![j(json!({"foo": [1, 2, 3], "bar": "baz"}))],
            s("\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n"),
        ),
        ok(
            "yamlencode",
            vec![j(
                json!({"foo": [1, {"a": "b", "c": "d"}, 3], "bar": "baz"}),
            )],
            s("\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n"),
        ),
        ok(
            "yamlencode",
            vec![j(json!({"a": {"b": {"c": []}}, "d": {}}))],
            s("\"a\":\n  \"b\":\n    \"c\": []\n\"d\": {}\n"),
        ),
        ok(
            "yamlencode",
            vec![j(json!([[1, 2], [3]]))],
            s("- - 1\n  - 2\n- - 3\n"),
        ),
        ok(
            "yamlencode",
            vec![j(json!({"s": "line1\nline2\n", "t": "x\ny"}))],
            s("\"s\": |\n  line1\n  line2\n\"t\": |-\n  x\n  y\n"),
        ),
        ok(
            "yamlencode",
            vec![j(json!({"k": "tab\there", "q": "say \"hi\""}))],
            s("\"k\": \"tab\\there\"\n\"q\": \"say \\\"hi\\\"\"\n"),
        ),
        ok("yamlencode", vec![s("hello")], s("\"hello\"\n")),
        ok("yamlencode", vec![n(1.5)], s("1.5\n...\n")),
        ok("yamlencode", vec![Value::Null], s("null\n...\n")),
        ok(
            "yamlencode",
            vec![j(json!({"a": "x\n\n"}))],
            s("\"a\": |+\n  x\n\n...\n"),
        ),
        ok("yamlencode", vec![u], Value::Unknown),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        super::super::testing::run(cases());
    }

    #[test]
    fn long_yaml_strings_fold_at_80_columns() {
        let words = vec!["word"; 30].join(" ");
        let out = yaml_encode(&Value::Map(std::collections::BTreeMap::from([(
            "k".to_string(),
            Value::from(words.as_str()),
        )])));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[1].starts_with("  word"), "{out}");
        // Folding turns one space into a line break; a reader joins them.
        let joined = out.replace("\n  ", " ");
        assert_eq!(joined, format!("\"k\": \"{words}\"\n"));
    }

    #[test]
    fn yaml_escapes_non_printable_and_astral_characters() {
        assert_eq!(
            yaml_encode(&Value::from("a\u{1}😀")),
            "\"a\\x01\\U0001F600\"\n"
        );
        assert_eq!(yaml_encode(&Value::from(" lead\nx")), "|2-\n   lead\n  x\n");
        assert_eq!(yaml_encode(&Value::from("trail \nx")), "\"trail \\nx\"\n");
    }
}
