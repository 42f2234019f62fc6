//! The Dockerfile front-end: instructions with their spans (line
//! continuations, comments, the `escape` directive and heredocs handled),
//! grouped into build stages, each lowered to one resource (`stage:build`
//! or `stage:0`, type `dockerfile_stage`).
//!
//! A stage's attributes (`/from`, `/instructions`, `/packages`,
//! `/expose`, `/user`, `/labels`, `/env`, `/cmd`, `/entrypoint`) include
//! what it inherits from an earlier stage it is built `FROM`, with the
//! spans of the lines that wrote it. `RUN` lines are read for package
//! installs (apt-get, apt, apk, yum, dnf, microdnf, zypper); `ARG` and
//! `ENV` values are substituted (`$VAR`, `${VAR:-default}`), and a value
//! that needs an `ARG` without a default is unknown. Substitution and
//! inheritance are bounded ([`super::expansion`]): past the bounds a
//! value is unknown and an error names the instruction.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{json, Map, Value};

use crate::error::FileError;
use crate::model::{push_pointer, BlockKind, Resource};
use crate::source::{SourceFile, Span};

use super::expansion::{Budget, Limit, MAX_VALUE};

/// The resource type of a build stage.
pub const STAGE_TYPE: &str = "dockerfile_stage";

const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One instruction: its keyword, its arguments with continuations joined
/// (and heredoc bodies appended), and where each argument byte came from.
#[derive(Debug, Clone)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
    /// Source offset of each byte of `args`.
    offsets: Vec<usize>,
    /// From the keyword to the end of the instruction's last line.
    pub span: Span,
}

impl Instruction {
    /// The source span of `args[range]`.
    fn source_span(&self, start: usize, end: usize) -> Span {
        if start >= end || start >= self.offsets.len() {
            return self.span;
        }
        let end = end.min(self.offsets.len());
        Span::new(self.offsets[start], self.offsets[end - 1] + 1)
    }
}

/// Splits a Dockerfile into instructions.
pub fn instructions(source: &SourceFile) -> (Vec<Instruction>, Vec<FileError>) {
    let text: &str = &source.text;
    let mut escape = '\\';
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // Lines with their start offsets, line breaks excluded.
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        lines.push((offset, body));
        offset += line.len();
    }
    let mut i = 0;
    let mut directives = true;
    while i < lines.len() {
        let (start, line) = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            directives = false;
            i += 1;
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if directives {
                if let Some((key, value)) = comment.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("escape") {
                        escape = value.trim().chars().next().unwrap_or('\\');
                    }
                } else {
                    directives = false;
                }
            }
            i += 1;
            continue;
        }
        directives = false;
        let indent = line.len() - trimmed.len();
        let keyword_end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let keyword = trimmed[..keyword_end].to_ascii_uppercase();
        let mut args = String::new();
        let mut offsets = Vec::new();
        let mut end = start + line.len();
        // The first physical line's arguments, then continuations.
        let mut piece_start = start + indent + keyword_end;
        let mut piece = &trimmed[keyword_end..];
        loop {
            let continued = piece.trim_end().ends_with(escape);
            let body = if continued {
                let t = piece.trim_end();
                &t[..t.len() - escape.len_utf8()]
            } else {
                piece
            };
            args.push_str(body);
            offsets.extend((0..body.len()).map(|b| piece_start + b));
            if !continued {
                break;
            }
            // Skip comment and empty lines inside a continuation.
            i += 1;
            while i < lines.len() {
                let t = lines[i].1.trim_start();
                if t.starts_with('#') || t.is_empty() {
                    i += 1;
                } else {
                    break;
                }
            }
            let Some(&(next_start, next_line)) = lines.get(i) else {
                break;
            };
            piece_start = next_start;
            piece = next_line;
            end = next_start + next_line.len();
        }
        i += 1;
        // Heredocs (`RUN <<EOF`): their bodies follow the instruction.
        for marker in heredoc_markers(&args) {
            // The line break joining the body maps to the line's last
            // byte: `end` may be the end of the text, and a span must not
            // run past it (found by tests/fuzz.rs).
            args.push('\n');
            offsets.push(end.saturating_sub(1).max(piece_start));
            while i < lines.len() {
                let (line_start, body) = lines[i];
                i += 1;
                let candidate = if marker.strip_tabs {
                    body.trim_start_matches('\t')
                } else {
                    body
                };
                end = line_start + body.len();
                if candidate == marker.word {
                    break;
                }
                args.push_str(body);
                offsets.extend((0..body.len()).map(|b| line_start + b));
                args.push('\n');
                offsets.push(line_start + body.len());
            }
        }
        let span = Span::new(start + indent, end);
        if !INSTRUCTIONS.contains(&keyword.as_str()) {
            errors.push(FileError::new(
                source.path(),
                Some(Span::new(start + indent, start + indent + keyword_end)),
                format!(
                    "unknown Dockerfile instruction `{}`",
                    &trimmed[..keyword_end]
                ),
            ));
            continue;
        }
        out.push(Instruction {
            keyword,
            args,
            offsets,
            span,
        });
    }
    (out, errors)
}

struct Heredoc {
    word: String,
    strip_tabs: bool,
}

fn heredoc_markers(args: &str) -> Vec<Heredoc> {
    let mut markers = Vec::new();
    let mut rest = args;
    while let Some(at) = rest.find("<<") {
        let after = &rest[at + 2..];
        let (strip_tabs, after) = match after.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, after),
        };
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let body = quote.map_or(after, |q| &after[q.len_utf8()..]);
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if len > 0
            && body[..len]
                .chars()
                .next()
                .is_some_and(|c| !c.is_ascii_digit())
        {
            markers.push(Heredoc {
                word: body[..len].to_string(),
                strip_tabs,
            });
        }
        rest = &body[len..];
    }
    markers
}

/// A token of an instruction's arguments: its text (quotes removed) and
/// its byte range in the arguments.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    start: usize,
    end: usize,
}

/// Shell-like words with quotes removed; a command separator (`&&`,
/// `||`, `;`, `|`, `&`, a line break) is a token of its own.
fn shell_words(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' || c == b';' || c == b'|' || c == b'&' || c == b'(' || c == b')' {
            let len = if (c == b'&' || c == b'|') && bytes.get(i + 1) == Some(&c) {
                2
            } else {
                1
            };
            tokens.push(Token {
                text: ";".into(),
                start: i,
                end: i + len,
            });
            i += len;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // A shell comment runs to the end of the line.
        if c == b'#' {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        let start = i;
        let mut word = String::new();
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_whitespace() || matches!(c, b';' | b'|' | b'&' | b'(' | b')') {
                break;
            }
            match c {
                b'\'' | b'"' => {
                    let close = text[i + 1..].find(c as char).map(|j| i + 1 + j);
                    let end = close.unwrap_or(bytes.len());
                    word.push_str(&text[i + 1..end]);
                    i = (end + 1).min(bytes.len());
                }
                b'\\' if i + 1 < bytes.len() => {
                    let ch = text[i + 1..].chars().next().unwrap_or(' ');
                    word.push(ch);
                    i += 1 + ch.len_utf8();
                }
                _ => {
                    let ch = text[i..].chars().next().unwrap_or(' ');
                    word.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
        tokens.push(Token {
            text: word,
            start,
            end: i,
        });
    }
    tokens
}

/// A package an instruction installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub manager: String,
    /// `None` when the name comes from a variable not known statically.
    pub name: Option<String>,
    /// Byte range in the instruction's arguments.
    start: usize,
    end: usize,
}

/// The packages a `RUN` script installs.
fn installed_packages(script: &str, vars: &Vars) -> Vec<Package> {
    let tokens = shell_words(script);
    let mut packages = Vec::new();
    for command in tokens.split(|t| t.text == ";" && t.end - t.start <= 2) {
        let mut words = command.iter().peekable();
        // Leading assignments and wrappers.
        while let Some(t) = words.peek() {
            let is_assignment = t.text.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if is_assignment
                || matches!(
                    t.text.as_str(),
                    "sudo" | "env" | "command" | "nice" | "time" | "exec"
                )
            {
                words.next();
            } else {
                break;
            }
        }
        let Some(program) = words.next() else {
            continue;
        };
        let manager = program.text.rsplit('/').next().unwrap_or("").to_string();
        let (subcommands, value_options): (&[&str], &[&str]) = match manager.as_str() {
            "apt-get" | "apt" | "aptitude" => (
                &["install"],
                &[
                    "-t",
                    "--target-release",
                    "-o",
                    "-c",
                    "--option",
                    "--config-file",
                ],
            ),
            "apk" => (
                &["add"],
                &[
                    "-X",
                    "--repository",
                    "-t",
                    "--virtual",
                    "--repositories-file",
                    "-p",
                    "--root",
                    "--arch",
                    "--cache-dir",
                ],
            ),
            "yum" | "dnf" | "microdnf" | "tdnf" => (
                &["install"],
                &[
                    "-x",
                    "--exclude",
                    "--installroot",
                    "--releasever",
                    "-c",
                    "--config",
                    "--enablerepo",
                    "--disablerepo",
                    "--setopt",
                ],
            ),
            "zypper" => (&["install", "in"], &["-r", "--repo", "-t", "--type", "-n"]),
            _ => continue,
        };
        let mut installing = false;
        let mut skip_next = false;
        for word in words {
            if skip_next {
                skip_next = false;
                continue;
            }
            let text = word.text.as_str();
            if text.starts_with('-') {
                if !text.contains('=') && value_options.contains(&text) {
                    skip_next = true;
                }
                continue;
            }
            if !installing {
                if subcommands.contains(&text) {
                    installing = true;
                    continue;
                }
                // Another subcommand (`update`, `upgrade`, `clean`).
                break;
            }
            let name = match vars.substitute(text) {
                Some(name) => {
                    if name.contains('/') || name.ends_with(".deb") || name.ends_with(".rpm") {
                        continue;
                    }
                    // A substituted list of packages counts by its first.
                    let name = name.split_whitespace().next().unwrap_or("").to_string();
                    let name = name
                        .split(['=', '~', '>', '<'])
                        .next()
                        .unwrap_or("")
                        .to_string();
                    if name.is_empty() {
                        continue;
                    }
                    Some(name)
                }
                None => None,
            };
            packages.push(Package {
                manager: manager.clone(),
                name,
                start: word.start,
                end: word.end,
            });
        }
    }
    packages
}

/// `ARG` and `ENV` values in scope; `None`: declared without a known value.
/// Every scope of a file charges the file's one expansion budget.
#[derive(Debug, Clone, Default)]
struct Vars {
    values: HashMap<String, Option<String>>,
    budget: Rc<Budget>,
}

impl Vars {
    /// Substitutes `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`;
    /// `None` when a variable has no known value, or when the value would
    /// pass the expansion budget (which then records why).
    fn substitute(&self, text: &str) -> Option<String> {
        if !text.contains('$') {
            return Some(text.to_string());
        }
        let out = self.expand(text)?;
        self.budget.charge(out.len()).ok()?;
        Some(out)
    }

    fn expand(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            // Each piece is at most one known value: stop as soon as the
            // result is too long, before it doubles again.
            if out.len() > MAX_VALUE {
                self.budget.reach(Limit::Value);
                return None;
            }
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(inner) = after.strip_prefix('{') {
                let end = inner.find('}')?;
                let body = &inner[..end];
                let (name, op) = match body.find(':') {
                    Some(i) => (&body[..i], &body[i..]),
                    None => (body, ""),
                };
                let value = self.values.get(name).cloned().flatten();
                let value = if let Some(default) = op.strip_prefix(":-") {
                    Some(
                        value
                            .filter(|v| !v.is_empty())
                            .unwrap_or_else(|| default.to_string()),
                    )
                } else if let Some(alt) = op.strip_prefix(":+") {
                    Some(if value.is_some_and(|v| !v.is_empty()) {
                        alt.to_string()
                    } else {
                        String::new()
                    })
                } else {
                    value
                };
                out.push_str(&value?);
                rest = &inner[end + 1..];
            } else {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                if len == 0 {
                    out.push('$');
                    rest = after;
                    continue;
                }
                out.push_str(&self.values.get(&after[..len]).cloned().flatten()?);
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        Some(out)
    }
}

/// `key=value` pairs (`LABEL`, `ENV`, `ARG`), or the legacy `key value`
/// form; each with the byte range of the pair.
fn pairs(args: &str, legacy: bool) -> Vec<(String, Option<String>, usize, usize)> {
    let tokens = shell_words(args);
    let words: Vec<&Token> = tokens.iter().filter(|t| t.text != ";").collect();
    if legacy {
        if let Some(first) = words.first() {
            if !first.text.contains('=') {
                let value_start = words.get(1).map_or(first.end, |t| t.start);
                let value = args[value_start..].trim().to_string();
                let value = value.trim_matches(['"', '\'']).to_string();
                let end = words.last().map_or(first.end, |t| t.end);
                return vec![(first.text.clone(), Some(value), first.start, end)];
            }
        }
    }
    words
        .iter()
        .map(|t| match t.text.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string()), t.start, t.end),
            None => (t.text.clone(), None, t.start, t.end),
        })
        .collect()
}

/// An exec-form JSON array, or the shell form as one string.
fn command_value(args: &str) -> Value {
    let trimmed = args.trim();
    if trimmed.starts_with('[') {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(trimmed) {
            return Value::Array(items);
        }
    }
    Value::String(trimmed.to_string())
}

/// A stage being built.
#[derive(Debug, Clone, Default)]
struct Stage {
    name: Option<String>,
    attributes: Map<String, Value>,
    spans: crate::model::Spans,
    unknown: crate::model::Unknown,
    header: Span,
    span: Span,
    vars: Vars,
}

/// Roughly how many bytes a copy of these variables takes, counted only
/// up to a little past `cap`.
fn vars_weight(vars: &Vars, cap: usize) -> usize {
    let mut sum = 0;
    for (k, v) in &vars.values {
        sum += 32 + k.len() + v.as_ref().map_or(0, String::len);
        if sum > cap {
            break;
        }
    }
    sum
}

/// Roughly how many bytes a copy of a JSON value takes, counted only up
/// to a little past `cap`.
fn value_weight(value: &Value, cap: usize) -> usize {
    let mut sum = 16;
    match value {
        Value::String(s) => sum += s.len(),
        Value::Array(items) => {
            for item in items {
                sum += value_weight(item, cap.saturating_sub(sum));
                if sum > cap {
                    break;
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                sum += k.len() + value_weight(v, cap.saturating_sub(sum));
                if sum > cap {
                    break;
                }
            }
        }
        _ => {}
    }
    sum
}

impl Stage {
    /// Roughly how many bytes a copy of the stage takes, counted only up
    /// to a little past `cap`: what is past the budget need not be summed.
    fn weight(&self, cap: usize) -> usize {
        let mut sum = vars_weight(&self.vars, cap);
        for p in self.spans.keys().chain(&self.unknown) {
            sum += 32 + p.len();
            if sum > cap {
                return sum;
            }
        }
        for (k, v) in &self.attributes {
            sum += k.len() + value_weight(v, cap.saturating_sub(sum));
            if sum > cap {
                break;
            }
        }
        sum
    }

    fn list(&mut self, key: &str) -> &mut Vec<Value> {
        let entry = self
            .attributes
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entry.is_array() {
            *entry = Value::Array(Vec::new());
        }
        match entry {
            Value::Array(items) => items,
            _ => unreachable!("just made an array"),
        }
    }

    fn push(&mut self, key: &str, value: Value, span: Span) -> String {
        let items = self.list(key);
        items.push(value);
        let pointer = format!("/{key}/{}", items.len() - 1);
        self.spans.insert(pointer.as_str().into(), span);
        pointer
    }

    fn map_entry(&mut self, key: &str, name: &str, value: Option<String>, span: Span) {
        let map = self
            .attributes
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = map {
            map.insert(
                name.to_string(),
                value.clone().map_or(Value::Null, Value::String),
            );
        }
        let pointer = push_pointer(&push_pointer("", key), name);
        self.spans.insert(pointer.as_str().into(), span);
        if value.is_none() {
            self.unknown.insert(pointer.into());
        } else {
            self.unknown.remove(pointer.as_str());
        }
    }
}

/// Lowers a Dockerfile's stages to resources.
pub fn lower(file_index: usize, source: &SourceFile) -> (Vec<Resource>, Vec<FileError>) {
    let name = source
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    // `Dockerfile.dockerignore` is the ignore file of `Dockerfile`.
    if name.ends_with(".dockerignore") {
        return (Vec::new(), Vec::new());
    }
    let (instructions, mut errors) = instructions(source);
    if source.text.contains("{{") || source.text.contains("{%") {
        // A template, not a Dockerfile until rendered.
        errors.clear();
    }
    let mut global = Vars::default();
    let mut stages: Vec<Stage> = Vec::new();
    // Says where an expansion bound was reached, once per instruction,
    // and for inheritance once per file.
    let mut inheritance_spent = false;
    let mut spent = |errors: &mut Vec<FileError>, instruction: &Instruction, budget: &Budget| {
        if let Some(limit) = budget.take() {
            if limit == Limit::Inherited && std::mem::replace(&mut inheritance_spent, true) {
                return;
            }
            errors.push(FileError::new(
                source.path(),
                Some(instruction.span),
                format!(
                    "`{}`: a value is taken as unknown: {}",
                    instruction.keyword,
                    limit.describe()
                ),
            ));
        }
    };
    for instruction in &instructions {
        if instruction.keyword == "FROM" {
            let stage = from_stage(instruction, &global, &stages);
            stages.push(stage);
            spent(&mut errors, instruction, &global.budget);
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            if instruction.keyword == "ARG" {
                for (k, v, _, _) in pairs(&instruction.args, false) {
                    let v = v.and_then(|v| global.substitute(&v));
                    global.values.insert(k, v);
                }
                spent(&mut errors, instruction, &global.budget);
            } else {
                errors.push(FileError::new(
                    source.path(),
                    Some(instruction.span),
                    format!("`{}` before the first FROM", instruction.keyword),
                ));
            }
            continue;
        };
        stage.span = stage.span.join(instruction.span);
        apply(stage, instruction, &global);
        spent(&mut errors, instruction, &global.budget);
    }
    let count = stages.len();
    let resources = stages
        .into_iter()
        .enumerate()
        .map(|(index, mut stage)| {
            stage.attributes.insert("index".into(), Value::from(index));
            stage
                .attributes
                .insert("final".into(), Value::Bool(index + 1 == count));
            let address = match &stage.name {
                Some(name) => format!("stage:{name}"),
                None => format!("stage:{index}"),
            };
            Resource {
                kind: BlockKind::Manifest,
                address,
                resource_type: STAGE_TYPE.to_string(),
                file: file_index,
                header: stage.header,
                span: stage.span,
                attributes: Value::Object(stage.attributes),
                spans: stage.spans.into_iter().collect(),
                unknown: stage.unknown,
                ..Resource::default()
            }
        })
        .collect();
    (resources, errors)
}

/// Starts a stage: `FROM [--platform=...] image [AS name]`, inheriting an
/// earlier stage's attributes when built from it.
fn from_stage(instruction: &Instruction, global: &Vars, stages: &[Stage]) -> Stage {
    let tokens = shell_words(&instruction.args);
    let words: Vec<&Token> = tokens
        .iter()
        .filter(|t| t.text != ";" && !t.text.starts_with("--"))
        .collect();
    let platform = tokens
        .iter()
        .find_map(|t| t.text.strip_prefix("--platform="))
        .map(str::to_string);
    let image_token = words.first();
    let name = match (words.get(1), words.get(2)) {
        (Some(kw), Some(n)) if kw.text.eq_ignore_ascii_case("as") => Some(n.text.clone()),
        _ => None,
    };
    let image = image_token.and_then(|t| global.substitute(&t.text));
    let parent = image.as_deref().and_then(|image| {
        stages.iter().rev().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(image))
        })
    });
    let header = instruction.span;
    // Each stage copies what it inherits: a long chain of stages, or
    // many built from one large stage, is bounded by the file's budget.
    let cap = global.budget.inheritable();
    let copied = vars_weight(global, cap) + parent.map_or(0, |p| p.weight(cap));
    let inherited = match global.budget.inherit(copied) {
        Ok(()) => parent,
        Err(_) => None,
    };
    let spent = global.budget.take();
    let mut stage = match inherited {
        Some(parent) => {
            let mut stage = parent.clone();
            stage.attributes.remove("instructions");
            stage.spans.retain(|p, _| !p.starts_with("/instructions"));
            // The parent's root image stays the base image.
            stage.attributes.remove("from");
            stage.spans.remove("/from");
            stage.spans.retain(|p, _| !p.starts_with("/from/"));
            stage.unknown.retain(|p| !p.starts_with("/from"));
            stage
        }
        None => Stage::default(),
    };
    stage.name = name.clone();
    stage.header = header;
    stage.span = instruction.span;
    stage.vars.budget = global.budget.clone();
    if let Some(limit) = spent {
        // Not copied: what it would have inherited is unknown.
        let kept = ["instructions", "from", "name", "base_image"];
        for key in parent.iter().flat_map(|p| p.attributes.keys()) {
            if !kept.contains(&key.as_str()) {
                stage.attributes.insert(key.clone(), Value::Null);
                stage.unknown.insert(format!("/{key}").into());
            }
        }
        if let Some(parent) = parent {
            // The parent's root image stays the base image.
            if let Some(base) = parent.attributes.get("base_image") {
                stage.attributes.insert("base_image".into(), base.clone());
            }
            if let Some(span) = parent.spans.get("/base_image") {
                stage.spans.insert("/base_image".into(), *span);
            }
            if parent.unknown.contains("/base_image") {
                stage.unknown.insert("/base_image".into());
            }
        }
        global.budget.reach(limit);
    } else {
        stage
            .vars
            .values
            .extend(global.values.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut from = Map::new();
    let base_image = parent
        .and_then(|p| p.attributes.get("base_image").cloned())
        .unwrap_or_else(|| image.clone().map_or(Value::Null, Value::String));
    from.insert(
        "image".into(),
        image.clone().map_or(Value::Null, Value::String),
    );
    from.insert(
        "stage".into(),
        parent
            .and_then(|p| p.name.clone())
            .map_or(Value::Null, Value::String),
    );
    from.insert(
        "platform".into(),
        platform.map_or(Value::Null, Value::String),
    );
    if let Some(image) = image.as_deref().filter(|_| parent.is_none()) {
        let parsed = crate::roles::ImageName::parse(image);
        from.insert("repository".into(), Value::String(parsed.repository));
        from.insert("tag".into(), parsed.tag.map_or(Value::Null, Value::String));
        from.insert(
            "digest".into(),
            parsed.digest.map_or(Value::Null, Value::String),
        );
    }
    stage.attributes.insert("from".into(), Value::Object(from));
    stage
        .attributes
        .insert("name".into(), name.map_or(Value::Null, Value::String));
    stage.spans.insert("/from".into(), instruction.span);
    if let Some(t) = image_token {
        stage.spans.insert(
            "/from/image".into(),
            instruction.source_span(t.start, t.end),
        );
    }
    if image.is_none() {
        stage.unknown.insert("/from/image".into());
    }
    if parent.is_none() {
        if base_image.is_null() {
            stage.unknown.insert("/base_image".into());
        }
        stage.attributes.insert("base_image".into(), base_image);
        if let Some(t) = image_token {
            stage.spans.insert(
                "/base_image".into(),
                instruction.source_span(t.start, t.end),
            );
        }
    }
    stage.push(
        "instructions",
        json!({"instruction": "FROM", "value": instruction.args.trim()}),
        instruction.span,
    );
    stage
}

/// Applies one instruction to the stage it belongs to.
fn apply(stage: &mut Stage, instruction: &Instruction, global: &Vars) {
    let args = &instruction.args;
    stage.push(
        "instructions",
        json!({"instruction": instruction.keyword, "value": args.trim()}),
        instruction.span,
    );
    match instruction.keyword.as_str() {
        "ARG" => {
            for (k, v, _, _) in pairs(args, false) {
                // `ARG NAME` re-declares a global ARG with its value.
                let value = match v {
                    Some(v) => stage.vars.substitute(&v),
                    None => global.values.get(&k).cloned().flatten(),
                };
                stage.vars.values.insert(k, value);
            }
        }
        "ENV" => {
            for (k, v, start, end) in pairs(args, true) {
                let value = v.and_then(|v| stage.vars.substitute(&v));
                let span = instruction.source_span(start, end);
                stage.map_entry("env", &k, value.clone(), span);
                stage.vars.values.insert(k, value);
            }
        }
        "LABEL" => {
            for (k, v, start, end) in pairs(args, true) {
                let value = v.and_then(|v| stage.vars.substitute(&v));
                let span = instruction.source_span(start, end);
                stage.map_entry("labels", &k, value, span);
            }
        }
        "EXPOSE" => {
            for token in shell_words(args).iter().filter(|t| t.text != ";") {
                let span = instruction.source_span(token.start, token.end);
                let value = stage.vars.substitute(&token.text).map(|text| {
                    let (port, protocol) = match text.split_once('/') {
                        Some((p, proto)) => (p.to_string(), proto.to_ascii_lowercase()),
                        None => (text.clone(), "tcp".to_string()),
                    };
                    json!({"port": port, "protocol": protocol})
                });
                let unknown = value.is_none();
                let pointer = stage.push("expose", value.unwrap_or(Value::Null), span);
                if unknown {
                    stage.unknown.insert(pointer.into());
                }
            }
        }
        "USER" => {
            let user = args.split_whitespace().next().unwrap_or("");
            let value = stage.vars.substitute(user);
            stage.spans.insert("/user".into(), instruction.span);
            match value {
                Some(v) => {
                    stage.unknown.remove("/user");
                    stage.attributes.insert("user".into(), Value::String(v));
                }
                None => {
                    stage.unknown.insert("/user".into());
                    stage.attributes.insert("user".into(), Value::Null);
                }
            }
        }
        "CMD" | "ENTRYPOINT" => {
            let key = instruction.keyword.to_ascii_lowercase();
            stage.attributes.insert(key.clone(), command_value(args));
            stage
                .spans
                .insert(format!("/{key}").into(), instruction.span);
        }
        "RUN" => {
            for package in installed_packages(args, &stage.vars) {
                let span = instruction.source_span(package.start, package.end);
                let unknown = package.name.is_none();
                let pointer = stage.push(
                    "packages",
                    json!({"manager": package.manager, "name": package.name}),
                    span,
                );
                if unknown {
                    stage.unknown.insert(format!("{pointer}/name").into());
                    stage.spans.insert(format!("{pointer}/name").into(), span);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower_text(text: &str) -> (SourceFile, Vec<Resource>, Vec<FileError>) {
        let source = SourceFile::new("Dockerfile", text);
        let (resources, errors) = lower(0, &source);
        (source, resources, errors)
    }

    fn at<'s>(source: &'s SourceFile, r: &Resource, pointer: &str) -> &'s str {
        let span = r.locate(pointer);
        &source.text[span.start..span.end]
    }

    #[test]
    fn stages_packages_and_spans() {
        let text = "\
# syntax=docker/dockerfile:1
ARG BASE=debian:12
FROM ${BASE} AS base
RUN apt-get update \\
    # a comment inside
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      nginx=1.22.* postgresql-15 libpq-dev \\
 && rm -rf /var/lib/apt/lists/*
EXPOSE 80 5432/tcp
FROM base
USER app
LABEL tier=backend \"owner\"=\"team a\"
RUN apk add --no-cache --virtual .deps redis $EXTRA
";
        let (source, resources, errors) = lower_text(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(resources.len(), 2);
        let base = &resources[0];
        assert_eq!(base.address, "stage:base");
        assert_eq!(base.attributes["from"]["image"], "debian:12");
        let names: Vec<&Value> = base.attributes["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["name"])
            .collect();
        assert_eq!(names, ["nginx", "postgresql-15", "libpq-dev"]);
        assert_eq!(at(&source, base, "/packages/1"), "postgresql-15");
        assert_eq!(at(&source, base, "/expose/1"), "5432/tcp");
        let last = &resources[1];
        assert_eq!(last.address, "stage:1");
        assert_eq!(last.attributes["final"], true);
        assert_eq!(last.attributes["base_image"], "debian:12");
        assert_eq!(last.attributes["from"]["stage"], "base");
        // Inherited and own packages, each at its line.
        assert_eq!(at(&source, last, "/packages/0"), "nginx=1.22.*");
        assert_eq!(last.attributes["packages"][3]["name"], "redis");
        assert!(last.unknown.contains("/packages/4/name"));
        assert_eq!(last.attributes["labels"]["owner"], "team a");
        assert_eq!(at(&source, last, "/user"), "USER app");
        assert_eq!(source.position(last.header.start).line, 10);
    }

    #[test]
    fn heredocs_exec_forms_and_errors() {
        let text = "\
FROM alpine:3.20
RUN <<EOF
apk add nginx
EOF
CMD [\"nginx\", \"-g\", \"daemon off;\"]
FROOM x
";
        let (source, resources, errors) = lower_text(text);
        assert_eq!(errors.len(), 1);
        assert_eq!(source.position(errors[0].span.unwrap().start).line, 6);
        let stage = &resources[0];
        assert_eq!(stage.attributes["packages"][0]["name"], "nginx");
        assert_eq!(at(&source, stage, "/packages/0"), "nginx");
        assert_eq!(stage.attributes["cmd"][0], "nginx");
    }
}
