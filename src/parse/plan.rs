//! Terraform plan JSON (`terraform show -json tfplan`): the resources a
//! plan will leave in place, with the values Terraform worked out, as
//! [`Resource`]s every rule checks like those of `.tf` files.
//!
//! A plan file is recognised by content: a JSON object with
//! `format_version` and `planned_values` or `resource_changes`. Resources
//! come from `planned_values` (every module), or from `resource_changes`'
//! `after` for those it lacks; a change that only deletes is not checked.
//! Values known only after apply (`after_unknown`) and sensitive values
//! (`sensitive_values`, never printed) are unknown. `tags_all` (the
//! provider's `default_tags` merged in) is read as `tags`, and
//! `terraform_labels` as `labels`, as the `.tf` front-end merges them.
//! References between resources come from the `configuration` block's
//! expressions.
//!
//! Spans point into the plan's JSON (each value's member) unless the
//! module's `.tf` sources were evaluated too: then [`Located`] lends each
//! planned resource the spans, provenance and module calls of the `.tf`
//! resource with its address, so findings point at the `.tf` lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use serde_json::{Map, Value};

use super::hcl::{MAX_POINTER_LEN, MIN_POINTER_BUDGET, POINTER_BUDGET_FACTOR};
use super::json::{self, Json, Member, Node};
use crate::error::FileError;
use crate::model::{attribute_path, push_pointer, BlockKind, Origin, Resource};
use crate::source::{SourceFile, Span};

/// How much of a `.json` file discovery reads to tell a plan: Terraform
/// writes `format_version` first.
pub const HEAD_BYTES: usize = 4 * 1024;

/// Maps whose values a provider's schema types as strings: a `"true"` in
/// them stays a string (see [`coerce`]).
const MAP_ATTRIBUTES: &[&str] = super::tfjson::MAP_ATTRIBUTES;

/// The merged maps a plan records beside the resource's own: the
/// resource's (`tags`) and the one with the provider's defaults merged in.
const MERGED: &[(&str, &str)] = &[("tags", "tags_all"), ("labels", "terraform_labels")];

/// How many reference steps one resource's relations may take (following
/// variables and module outputs), against hostile configurations.
const REFERENCE_STEPS: usize = 10_000;

/// Whether the start of a `.json` file may be a plan's: an object whose
/// first bytes name `format_version`. [`is_plan`] decides on the text.
pub fn may_be_plan(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    // The standard library's UTF-8 check and substring search, which
    // stay fast in debug builds: every `.json` file of a tree is looked
    // at.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    text.trim_start().starts_with('{') && text.contains("\"format_version\"")
}

/// Whether a file ending `.json` may be a plan, by name: not a Terraform
/// JSON configuration or variables file.
pub fn is_plan_name(path: &std::path::Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.ends_with(".json") && !n.ends_with(".tf.json") && !n.ends_with(".tfvars.json")
    })
}

/// Whether a JSON text is a plan: its top-level object has
/// `format_version` and `planned_values` or `resource_changes`. Scans the
/// top-level keys without building anything. A text that names
/// `format_version` and then breaks off is taken for a broken plan, so
/// that its error is reported.
pub fn is_plan(text: &str) -> bool {
    let keys = top_level_keys(text.as_bytes());
    let version = keys.names.iter().any(|k| k == "format_version");
    version
        && (keys.broken
            || keys
                .names
                .iter()
                .any(|k| k == "planned_values" || k == "resource_changes"))
}

struct Keys {
    names: Vec<String>,
    broken: bool,
}

/// The keys of a top-level JSON object, and whether the text broke off.
fn top_level_keys(bytes: &[u8]) -> Keys {
    let mut keys = Keys {
        names: Vec::new(),
        broken: true,
    };
    let mut pos = 0;
    let skip_ws = |pos: &mut usize| {
        while bytes.get(*pos).is_some_and(u8::is_ascii_whitespace) {
            *pos += 1;
        }
    };
    if bytes.starts_with(b"\xef\xbb\xbf") {
        pos = 3;
    }
    skip_ws(&mut pos);
    if bytes.get(pos) != Some(&b'{') {
        keys.broken = false;
        return keys;
    }
    pos += 1;
    loop {
        skip_ws(&mut pos);
        match bytes.get(pos) {
            Some(b'}') if keys.names.is_empty() => break,
            Some(b'"') => {}
            _ => return keys,
        }
        let start = pos + 1;
        let Some(end) = string_end(bytes, pos) else {
            return keys;
        };
        keys.names
            .push(String::from_utf8_lossy(&bytes[start..end - 1]).into_owned());
        pos = end;
        skip_ws(&mut pos);
        if bytes.get(pos) != Some(&b':') {
            return keys;
        }
        pos += 1;
        // The value, skipped with a bracket count.
        let mut depth = 0usize;
        loop {
            match bytes.get(pos) {
                None => return keys,
                Some(b'"') => match string_end(bytes, pos) {
                    Some(end) => pos = end,
                    None => return keys,
                },
                Some(b'{' | b'[') => {
                    depth += 1;
                    pos += 1;
                }
                Some(b'}' | b']') if depth > 0 => {
                    depth -= 1;
                    pos += 1;
                }
                Some(b',' | b'}') if depth == 0 => break,
                Some(_) => pos += 1,
            }
        }
        if bytes[pos] == b'}' {
            break;
        }
        pos += 1;
    }
    keys.broken = false;
    keys
}

/// The offset after the string opening at `pos`.
fn string_end(bytes: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos + 1;
    loop {
        match bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Parses a plan's JSON. A syntax error carries its span.
pub fn parse(source: &SourceFile) -> Result<Node, FileError> {
    json::parse(&source.text).map_err(|e| {
        let at = e.at.min(source.text.len());
        let end = source.text[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8());
        FileError::new(
            source.path(),
            Some(Span::new(at, end)),
            format!("JSON syntax error in a Terraform plan: {}", e.message),
        )
    })
}

/// Whether a plan records its configuration, which findings need to be
/// located in the `.tf` sources.
pub fn has_configuration(root: &Node) -> bool {
    get(root, "configuration").is_some_and(|c| matches!(c.value, Json::Object(_)))
}

/// The `.tf` resources of the plan's module, by address: where the
/// planned resources' findings point when the sources were evaluated.
#[derive(Default)]
pub struct Located<'r> {
    by_address: HashMap<&'r str, &'r Resource>,
    /// By address without instance keys, for instances the evaluator
    /// could not expand (an unknown `count` gives `[*]`).
    by_block: HashMap<String, &'r Resource>,
}

impl<'r> Located<'r> {
    pub fn new(resources: impl IntoIterator<Item = &'r Resource>) -> Located<'r> {
        let mut located = Located::default();
        for r in resources {
            located.by_address.entry(r.address.as_str()).or_insert(r);
            located
                .by_block
                .entry(without_keys(&r.address))
                .or_insert(r);
        }
        located
    }

    fn find(&self, address: &str) -> Option<&'r Resource> {
        self.by_address
            .get(address)
            .or_else(|| self.by_block.get(&without_keys(address)))
            .copied()
    }
}

/// An address with every instance key left out:
/// `module.a["x"].aws_s3_bucket.b[0]` -> `module.a.aws_s3_bucket.b`.
fn without_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut chars = address.chars();
    while let Some(c) = chars.next() {
        if c != '[' {
            out.push(c);
            continue;
        }
        let mut quoted = false;
        let mut escaped = false;
        for c in chars.by_ref() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ']' if !quoted => break,
                _ => {}
            }
        }
    }
    out
}

/// What lowering a plan gives.
#[derive(Debug, Default)]
pub struct Lowered {
    pub resources: Vec<Resource>,
    pub errors: Vec<FileError>,
    /// The byte ranges of the plan's text holding sensitive values
    /// (inside their quotes): to be masked before any report quotes the
    /// file, as `terraform show -json` writes them in clear.
    pub secrets: Vec<Range<usize>>,
}

/// Lowers a parsed plan (file `index`) to resources in `scope`; with
/// `located`, the resources found there lend their `.tf` spans.
pub fn lower(
    index: usize,
    file: &SourceFile,
    root: &Node,
    located: Option<&Located<'_>>,
    scope: u32,
) -> Lowered {
    let mut out = Lowered::default();
    let problem = |out: &mut Lowered, span: &Range<usize>, message: &str| {
        out.errors.push(FileError::new(
            file.path(),
            Some(Span::new(span.start, span.end)),
            format!("not a valid Terraform plan: {message}"),
        ));
    };
    if !matches!(root.value, Json::Object(_)) {
        problem(&mut out, &root.span, "a plan is a JSON object");
        return out;
    }
    out.secrets = secrets(root);
    let mut planned = Vec::new();
    let mut modules = Vec::new();
    if let Some(values) = get(root, "planned_values") {
        if let Some(module) = get(values, "root_module") {
            if let Err(span) = planned_module(module, "", &mut planned, &mut modules) {
                problem(
                    &mut out,
                    &span,
                    "expected an object for each module and resource",
                );
            }
        }
    }
    let changes = changes(root);
    let config = Config::new(root, &modules);
    if located.is_none() {
        out.resources.extend(providers(index, root, scope));
    }
    let seen: BTreeSet<&str> = planned.iter().map(|p| p.address).collect();
    for change in changes.values() {
        if seen.contains(change.address) || deletes_only(change) {
            continue;
        }
        if let Some(after) = get(change.node, "change").and_then(|c| get(c, "after")) {
            if matches!(after.value, Json::Object(_)) {
                planned.push(Planned {
                    values: Some(after),
                    sensitive: get(change.node, "change").and_then(|c| get(c, "after_sensitive")),
                    ..change.clone()
                });
            }
        }
    }
    for p in planned {
        let change = changes.get(p.address);
        if change.is_some_and(deletes_only) {
            continue;
        }
        let Some(kind) = (match p.mode {
            "managed" => Some(BlockKind::Resource),
            "data" => Some(BlockKind::Data),
            _ => None,
        }) else {
            problem(
                &mut out,
                &p.node.span,
                "a resource's `mode` is `managed` or `data`",
            );
            continue;
        };
        let template = located.and_then(|l| l.find(p.address));
        // With sources, data sources are the `.tf` ones.
        if kind == BlockKind::Data && located.is_some() {
            continue;
        }
        let unknown = change
            .and_then(|c| get(c.node, "change"))
            .and_then(|c| get(c, "after_unknown"));
        let mut resource = resource(index, &p, kind, unknown, template);
        let mut steps = REFERENCE_STEPS;
        let mut references = config.references(&p, &mut steps);
        if let Some(t) = template {
            references.extend(t.references.iter().cloned());
        }
        references.sort();
        references.dedup();
        resource.references = references;
        resource.scope = scope;
        out.resources.push(resource);
    }
    out
}

/// The root module's provider configurations (`configuration.provider_config`
/// keys without a module), as the `.tf` front-end lowers `provider`
/// blocks: checks about account roots look for them.
fn providers(index: usize, root: &Node, scope: u32) -> Vec<Resource> {
    members_of(get(root, "configuration").and_then(|c| get(c, "provider_config")))
        .iter()
        .filter(|m| !m.key.contains(':'))
        .map(|m| {
            let name = m.key.split('.').next().unwrap_or(&m.key);
            Resource {
                kind: BlockKind::Provider,
                address: format!("provider.{name}"),
                resource_type: "provider".to_string(),
                file: index,
                header: Span::new(m.key_span.start, m.key_span.end),
                span: Span::new(m.key_span.start, m.value.span.end),
                attributes: Value::Object(Map::new()),
                scope,
                ..Resource::default()
            }
        })
        .collect()
}

/// A resource of `planned_values` (or a change's `after`).
#[derive(Clone)]
struct Planned<'a> {
    address: &'a str,
    mode: &'a str,
    resource_type: &'a str,
    /// `module.a["x"].module.b`, empty in the root module.
    module: &'a str,
    node: &'a Node,
    /// The `"address": "..."` member: the header of findings.
    header: Range<usize>,
    values: Option<&'a Node>,
    sensitive: Option<&'a Node>,
}

fn planned_module<'a>(
    module: &'a Node,
    address: &'a str,
    out: &mut Vec<Planned<'a>>,
    modules: &mut Vec<&'a str>,
) -> Result<(), Range<usize>> {
    if !matches!(module.value, Json::Object(_)) {
        return Err(module.span.clone());
    }
    for node in items(get(module, "resources")) {
        let Some(p) = planned_resource(node, address) else {
            return Err(node.span.clone());
        };
        out.push(Planned {
            values: get(node, "values"),
            sensitive: get(node, "sensitive_values"),
            ..p
        });
    }
    for child in items(get(module, "child_modules")) {
        let child_address = get(child, "address").and_then(string).unwrap_or_default();
        modules.push(child_address);
        planned_module(child, child_address, out, modules)?;
    }
    Ok(())
}

/// The identity of a resource object; `None` when it lacks one.
fn planned_resource<'a>(node: &'a Node, module: &'a str) -> Option<Planned<'a>> {
    let member = members(node).iter().rev().find(|m| m.key == "address")?;
    Some(Planned {
        address: string(&member.value)?,
        mode: get(node, "mode").and_then(string)?,
        resource_type: get(node, "type").and_then(string)?,
        module: get(node, "module_address")
            .and_then(string)
            .unwrap_or(module),
        node,
        header: member.key_span.start..member.value.span.end,
        values: None,
        sensitive: None,
    })
}

/// `resource_changes` by address.
fn changes(root: &Node) -> BTreeMap<&str, Planned<'_>> {
    items(get(root, "resource_changes"))
        .iter()
        .filter_map(|node| planned_resource(node, ""))
        .map(|p| (p.address, p))
        .collect()
}

/// A change that removes the resource (`delete`, `forget`) and creates
/// nothing.
fn deletes_only(change: &Planned<'_>) -> bool {
    let actions: Vec<&str> = get(change.node, "change")
        .and_then(|c| get(c, "actions"))
        .map(|a| items(Some(a)).iter().filter_map(string).collect())
        .unwrap_or_default();
    !actions.is_empty()
        && !actions.contains(&"create")
        && actions.iter().any(|a| *a == "delete" || *a == "forget")
}

/// Builds one resource: values, spans and unknowns from the plan; with a
/// template, the `.tf` resource's place.
fn resource(
    index: usize,
    p: &Planned<'_>,
    kind: BlockKind,
    unknown: Option<&Node>,
    template: Option<&Resource>,
) -> Resource {
    let header = Span::new(p.header.start, p.header.end);
    let mut spans = Spans {
        map: BTreeMap::new(),
        budget: (p.node.span.len() * POINTER_BUDGET_FACTOR).max(MIN_POINTER_BUDGET),
    };
    let mut attributes = match p.values {
        Some(values) => convert(values, &mut String::new(), true, false, &mut spans),
        None => Value::Object(Map::new()),
    };
    if !attributes.is_object() {
        attributes = Value::Object(Map::new());
    }
    let mut unknowns = BTreeSet::new();
    let mut marked = BTreeMap::new();
    if let Some(node) = unknown {
        mark(node, &mut String::new(), &mut unknowns, &mut spans.budget);
    }
    for pointer in &unknowns {
        marked.insert(
            pointer.clone(),
            format!("{} (known after apply)", attribute_path(pointer)),
        );
    }
    if let Some(node) = p.sensitive {
        let mut sensitive = BTreeSet::new();
        mark(node, &mut String::new(), &mut sensitive, &mut spans.budget);
        for pointer in sensitive {
            marked.insert(
                pointer.clone(),
                format!("{} (sensitive in the plan)", attribute_path(&pointer)),
            );
            unknowns.insert(pointer);
        }
    }
    for pointer in &unknowns {
        set_null(&mut attributes, pointer);
    }
    merge_defaults(&mut attributes, &mut unknowns, &mut spans.map, &mut marked);
    let mut resource = Resource {
        kind,
        address: p.address.to_string(),
        resource_type: p.resource_type.to_string(),
        file: index,
        header,
        span: Span::new(p.node.span.start, p.node.span.end),
        attributes,
        spans: spans.map.into_iter().collect(),
        unknown: unknowns,
        ..Resource::default()
    };
    if let Some(t) = template {
        resource.file = t.file;
        resource.header = t.header;
        resource.span = t.span;
        resource.spans.clone_from(&t.spans);
        resource.related.clone_from(&t.related);
        resource.module.clone_from(&t.module);
        resource.policy.clone_from(&t.policy);
        resource.expressions.clone_from(&t.expressions);
        resource.planned = Some(Box::new(Origin {
            file: index,
            span: header,
            message: format!("planned as {}", p.address).into(),
            from_environment: false,
        }));
    }
    // Merged in one sort: inserted one by one, each would shift the
    // expressions after it.
    let absent: Vec<_> = marked
        .into_iter()
        .filter(|(pointer, _)| !resource.expressions.contains_key(pointer))
        .map(|(pointer, text)| (pointer, text.into()))
        .collect();
    resource.expressions.extend(absent);
    resource
}

/// Pointers and their spans, recorded within a budget as the `.tf`
/// front-end records them: a value past it is located at its parent.
struct Spans {
    map: crate::model::Spans,
    budget: usize,
}

impl Spans {
    /// Records a pointer's span, a top-level one whatever its length;
    /// whether it was.
    fn record(&mut self, pointer: &str, span: Range<usize>, top: bool) -> bool {
        if top || (pointer.len() <= MAX_POINTER_LEN && pointer.len() <= self.budget) {
            self.budget = self.budget.saturating_sub(pointer.len());
            self.map
                .insert(pointer.into(), Span::new(span.start, span.end));
            return true;
        }
        false
    }
}

/// A plan value as the `.tf` front-end would give it: `null`s and empty
/// lists left out (an argument not written), and `"true"`/`"false"`
/// outside maps read as booleans (provider schemas type some boolean
/// arguments as strings, such as AWS 5's `at_rest_encryption_enabled`,
/// which `.tf` files write as booleans).
fn convert(
    node: &Node,
    pointer: &mut String,
    recording: bool,
    in_map: bool,
    spans: &mut Spans,
) -> Value {
    match &node.value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(text) => text
            .parse::<serde_json::Number>()
            .map_or(Value::Null, Value::Number),
        Json::String { text, .. } => match text.as_str() {
            "true" if !in_map => Value::Bool(true),
            "false" if !in_map => Value::Bool(false),
            _ => Value::String(text.clone()),
        },
        Json::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    child(
                        pointer,
                        recording,
                        &i.to_string(),
                        item.span.clone(),
                        spans,
                        |p, r, s| convert(item, p, r, in_map, s),
                    )
                })
                .collect(),
        ),
        Json::Object(members) => {
            let mut map = Map::new();
            for member in members {
                if is_absent(&member.value) {
                    continue;
                }
                let span = member.key_span.start..member.value.span.end;
                let map_valued = in_map || (MAP_ATTRIBUTES.contains(&member.key.as_str()));
                let value = child(pointer, recording, &member.key, span, spans, |p, r, s| {
                    convert(&member.value, p, r, map_valued, s)
                });
                map.insert(member.key.clone(), value);
            }
            Value::Object(map)
        }
    }
}

/// Converts one value below `pointer`, recording its span while the
/// limits allow; below a value past them, nothing more is recorded (nor
/// are pointers built), so a long key above many values costs nothing.
fn child(
    pointer: &mut String,
    recording: bool,
    token: &str,
    span: Range<usize>,
    spans: &mut Spans,
    convert: impl FnOnce(&mut String, bool, &mut Spans) -> Value,
) -> Value {
    if !recording {
        return convert(pointer, false, spans);
    }
    let length = pointer.len();
    crate::model::push_token(pointer, token);
    let recorded = spans.record(pointer, span, length == 0);
    let value = convert(pointer, recorded, spans);
    pointer.truncate(length);
    value
}

fn is_absent(node: &Node) -> bool {
    match &node.value {
        Json::Null => true,
        Json::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Collects the pointers a mirror of the values (`after_unknown`,
/// `sensitive_values`) marks `true`.
fn mark(node: &Node, pointer: &mut String, out: &mut crate::model::Unknown, budget: &mut usize) {
    match &node.value {
        Json::Bool(true) => {
            if pointer.is_empty() {
                return;
            }
            *budget = budget.saturating_sub(pointer.len());
            out.insert(pointer.as_str().into());
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if !descend(pointer, &i.to_string(), item, out, budget) {
                    return;
                }
            }
        }
        Json::Object(members) => {
            for member in members {
                if !descend(pointer, &member.key, &member.value, out, budget) {
                    return;
                }
            }
        }
        _ => {}
    }
}

/// [`mark`] one level down; past the pointer limits, the parent is
/// marked instead, so that nothing unknown is taken for known, and its
/// other members need no look (false). A top-level attribute has its
/// pointer whatever its length.
fn descend(
    pointer: &mut String,
    token: &str,
    node: &Node,
    out: &mut crate::model::Unknown,
    budget: &mut usize,
) -> bool {
    if !matches!(
        node.value,
        Json::Bool(true) | Json::Array(_) | Json::Object(_)
    ) {
        return true;
    }
    let length = pointer.len();
    crate::model::push_token(pointer, token);
    if length > 0 && (pointer.len() > MAX_POINTER_LEN || pointer.len() > *budget) {
        pointer.truncate(length);
        out.insert(pointer.as_str().into());
        return false;
    }
    mark(node, pointer, out, budget);
    pointer.truncate(length);
    true
}

/// Sets the value at `pointer` to `null` (unknown), making the objects
/// on the way; under an array, only where the element exists.
fn set_null(value: &mut Value, pointer: &str) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut at = value;
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        at = match at {
            Value::Object(map) => {
                if last {
                    map.insert(token.clone(), Value::Null);
                    return;
                }
                map.entry(token.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            Value::Array(items) => {
                let Some(item) = token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) else {
                    return;
                };
                if last {
                    *item = Value::Null;
                    return;
                }
                item
            }
            _ => return,
        };
    }
}

/// Reads the merged map (`tags_all`) as the resource's own (`tags`), as
/// the `.tf` front-end merges `default_tags` under `tags`.
fn merge_defaults(
    attributes: &mut Value,
    unknown: &mut crate::model::Unknown,
    spans: &mut crate::model::Spans,
    marked: &mut BTreeMap<crate::model::Pointer, String>,
) {
    let Value::Object(map) = attributes else {
        return;
    };
    for (own, merged) in MERGED {
        let Some(value) = map.get(*merged).cloned() else {
            continue;
        };
        let own_pointer = push_pointer("", own);
        let merged_pointer = push_pointer("", merged);
        let moved = |pointer: &str| {
            pointer
                .strip_prefix(merged_pointer.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .map(|rest| format!("{own_pointer}{rest}"))
        };
        let below: Vec<(String, Span)> = spans
            .range::<str, _>((
                std::ops::Bound::Included(merged_pointer.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(p, _)| p.starts_with(merged_pointer.as_str()))
            .filter_map(|(p, s)| moved(p).map(|q| (q, *s)))
            .collect();
        for (pointer, span) in below {
            spans.entry(pointer.into()).or_insert(span);
        }
        let unknown_below: Vec<String> = unknown.iter().filter_map(|p| moved(p)).collect();
        unknown.retain(|p| !(**p == *own_pointer || p.starts_with(&format!("{own_pointer}/"))));
        for pointer in unknown_below {
            marked
                .entry(pointer.as_str().into())
                .or_insert_with(|| format!("{} (known after apply)", attribute_path(&pointer)));
            unknown.insert(pointer.into());
        }
        map.insert((*own).to_string(), value);
    }
}

/// Where the plan's text holds a sensitive value: one that a resource's
/// `sensitive_values` (in `planned_values` and `prior_state`) or a
/// change's `after_sensitive`/`before_sensitive` marks, a sensitive
/// output's or root variable's. Every string equal to one, wherever it
/// is repeated (the configuration's `constant_value`, `variables`).
fn secrets(root: &Node) -> Vec<Range<usize>> {
    let mut values = std::collections::HashSet::new();
    find_sensitive(root, &mut values);
    values.remove("");
    let mut out = Vec::new();
    if !values.is_empty() {
        strings_among(root, &values, &mut out);
    }
    out
}

/// The sensitive strings, looked for where the format puts them, so
/// that each value is walked a bounded number of times.
fn find_sensitive<'a>(root: &'a Node, out: &mut std::collections::HashSet<&'a str>) {
    let states = [
        get(root, "planned_values"),
        get(root, "prior_state").and_then(|s| get(s, "values")),
    ];
    for state in states.into_iter().flatten() {
        if let Some(module) = get(state, "root_module") {
            module_sensitive(module, out);
        }
        for output in members_of(get(state, "outputs")) {
            if get(&output.value, "sensitive").is_some_and(|s| s.value == Json::Bool(true)) {
                if let Some(value) = get(&output.value, "value") {
                    all_strings(value, out);
                }
            }
        }
    }
    let changes = items(get(root, "resource_changes"))
        .iter()
        .chain(items(get(root, "resource_drift")));
    for change in changes.filter_map(|c| get(c, "change")) {
        for (values, mirror) in [("after", "after_sensitive"), ("before", "before_sensitive")] {
            if let (Some(values), Some(mirror)) = (get(change, values), get(change, mirror)) {
                sensitive_strings(values, mirror, out);
            }
        }
    }
    let declared = get(root, "configuration")
        .and_then(|c| get(c, "root_module"))
        .and_then(|m| get(m, "variables"));
    for variable in members_of(declared) {
        if get(&variable.value, "sensitive").is_some_and(|s| s.value == Json::Bool(true)) {
            if let Some(value) = get(root, "variables")
                .and_then(|v| get(v, &variable.key))
                .and_then(|v| get(v, "value"))
            {
                all_strings(value, out);
            }
        }
    }
}

fn module_sensitive<'a>(module: &'a Node, out: &mut std::collections::HashSet<&'a str>) {
    for resource in items(get(module, "resources")) {
        if let (Some(values), Some(mirror)) =
            (get(resource, "values"), get(resource, "sensitive_values"))
        {
            sensitive_strings(values, mirror, out);
        }
    }
    for child in items(get(module, "child_modules")) {
        module_sensitive(child, out);
    }
}

/// The strings of `values` where `mirror` says `true`.
fn sensitive_strings<'a>(
    values: &'a Node,
    mirror: &Node,
    out: &mut std::collections::HashSet<&'a str>,
) {
    match (&mirror.value, &values.value) {
        (Json::Bool(true), _) => all_strings(values, out),
        (Json::Object(marks), Json::Object(_)) => {
            for mark in marks {
                if let Some(value) = get(values, &mark.key) {
                    sensitive_strings(value, &mark.value, out);
                }
            }
        }
        (Json::Array(marks), Json::Array(items)) => {
            for (mark, item) in marks.iter().zip(items) {
                sensitive_strings(item, mark, out);
            }
        }
        _ => {}
    }
}

fn all_strings<'a>(node: &'a Node, out: &mut std::collections::HashSet<&'a str>) {
    match &node.value {
        Json::String { text, .. } => {
            out.insert(text);
        }
        Json::Array(items) => items.iter().for_each(|item| all_strings(item, out)),
        Json::Object(members) => members
            .iter()
            .for_each(|member| all_strings(&member.value, out)),
        _ => {}
    }
}

/// The ranges inside the quotes of every string value in `values`.
fn strings_among(
    node: &Node,
    values: &std::collections::HashSet<&str>,
    out: &mut Vec<Range<usize>>,
) {
    match &node.value {
        Json::String { text, .. } if values.contains(text.as_str()) && node.span.len() >= 2 => {
            out.push(node.span.start + 1..node.span.end - 1);
        }
        Json::Array(items) => items
            .iter()
            .for_each(|item| strings_among(item, values, out)),
        Json::Object(members) => members
            .iter()
            .for_each(|member| strings_among(&member.value, values, out)),
        _ => {}
    }
}

/// The plan's `configuration`: where relations come from.
struct Config<'a> {
    /// Each module's configuration by its call path (`a.b`; `` for the
    /// root module).
    modules: HashMap<String, &'a Node>,
    /// Each module's resources by call path and address (`aws_s3_bucket.b`,
    /// `data.aws_vpc.v`).
    resources: HashMap<(String, &'a str), &'a Node>,
    /// The instances of each module call, by the call's address without
    /// a key (`module.a["x"].module.b`): `module.a["x"].module.b[0]`.
    instances: HashMap<String, Vec<&'a str>>,
}

impl<'a> Config<'a> {
    fn new(root: &'a Node, planned_modules: &[&'a str]) -> Config<'a> {
        let mut modules = HashMap::new();
        if let Some(module) = get(root, "configuration").and_then(|c| get(c, "root_module")) {
            collect_modules(module, String::new(), &mut modules);
        }
        let mut instances: HashMap<String, Vec<&'a str>> = HashMap::new();
        for address in planned_modules {
            let base = match address
                .strip_suffix(']')
                .and_then(|a| a.rfind('[').map(|i| &a[..i]))
            {
                Some(base) => base,
                None => address,
            };
            instances.entry(base.to_string()).or_default().push(address);
        }
        let mut resources = HashMap::new();
        for (path, module) in &modules {
            for resource in items(get(module, "resources")) {
                if let Some(address) = get(resource, "address").and_then(string) {
                    resources.entry((path.clone(), address)).or_insert(resource);
                }
            }
        }
        Config {
            modules,
            resources,
            instances,
        }
    }

    /// The addresses a planned resource refers to, as the `.tf`
    /// front-end records them: resources and data sources in its module
    /// instance, and those reached through variables and module outputs.
    fn references(&self, p: &Planned<'_>, steps: &mut usize) -> Vec<String> {
        let calls = module_calls(p.module);
        let path: Vec<&str> = calls.iter().map(|(name, _)| *name).collect();
        let local = match p.address.strip_prefix(p.module) {
            Some(rest) => rest.trim_start_matches('.'),
            None => p.address,
        };
        let local = without_keys(local);
        let wanted = if p.mode == "data" {
            local.clone()
        } else {
            local.trim_start_matches("data.").to_string()
        };
        let Some(config) = self.resources.get(&(path.join("."), wanted.as_str())) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        collect_references(config, &mut found, steps);
        let mut out = Vec::new();
        for reference in found {
            self.resolve(&calls, reference, 0, steps, &mut out);
        }
        out
    }

    /// What one reference, written in the module instance `calls` leads
    /// to, stands for.
    fn resolve(
        &self,
        calls: &[(&str, &str)],
        reference: &str,
        depth: usize,
        steps: &mut usize,
        out: &mut Vec<String>,
    ) {
        if *steps == 0 || depth > 4 {
            return;
        }
        *steps -= 1;
        let prefix = calls.last().map_or(String::new(), |(_, p)| format!("{p}."));
        let parts = reference_parts(reference);
        let (Some(root), Some(name)) = (parts.first(), parts.get(1)) else {
            return;
        };
        let name = without_keys(name);
        match *root {
            "var" => {
                let Some(((call, _), parent)) = calls.split_last() else {
                    return;
                };
                let parent_path: Vec<&str> = parent.iter().map(|(n, _)| *n).collect();
                let argument = self
                    .modules
                    .get(&parent_path.join("."))
                    .and_then(|m| get(m, "module_calls"))
                    .and_then(|c| get(c, call))
                    .and_then(|c| get(c, "expressions"))
                    .and_then(|e| get(e, &name));
                if let Some(argument) = argument {
                    let mut found = Vec::new();
                    collect_references(argument, &mut found, steps);
                    for r in found {
                        self.resolve(parent, r, depth + 1, steps, out);
                    }
                }
            }
            "module" => {
                let base = format!("{prefix}module.{name}");
                out.push(base.clone());
                let Some(output) = parts.get(2) else {
                    return;
                };
                let mut path: Vec<&str> = calls.iter().map(|(n, _)| *n).collect();
                path.push(&name);
                let Some(expression) = self
                    .modules
                    .get(&path.join("."))
                    .and_then(|m| get(m, "outputs"))
                    .and_then(|o| get(o, output))
                    .and_then(|o| get(o, "expression"))
                else {
                    return;
                };
                let mut found = Vec::new();
                collect_references(expression, &mut found, steps);
                for instance in self.instances.get(&base).into_iter().flatten() {
                    let mut inner: Vec<(&str, &str)> = calls.to_vec();
                    let name = path.last().copied().unwrap_or_default();
                    inner.push((name, instance));
                    for r in &found {
                        self.resolve(&inner, r, depth + 1, steps, out);
                    }
                }
            }
            "data" => {
                if let Some(data_name) = parts.get(2) {
                    out.push(format!("{prefix}data.{name}.{}", without_keys(data_name)));
                }
            }
            "local" | "count" | "each" | "path" | "terraform" | "self" => {}
            root if root.contains('_') => out.push(format!("{prefix}{root}.{name}")),
            _ => {}
        }
    }
}

fn collect_modules<'a>(module: &'a Node, path: String, out: &mut HashMap<String, &'a Node>) {
    for member in members_of(get(module, "module_calls")) {
        if let Some(child) = get(&member.value, "module") {
            let child_path = if path.is_empty() {
                member.key.clone()
            } else {
                format!("{path}.{}", member.key)
            };
            collect_modules(child, child_path, out);
        }
    }
    out.insert(path, module);
}

/// Every string of every `references` array below `node`.
fn collect_references<'a>(node: &'a Node, out: &mut Vec<&'a str>, steps: &mut usize) {
    match &node.value {
        Json::Object(members) => {
            for member in members {
                if *steps == 0 {
                    return;
                }
                *steps -= 1;
                if member.key == "references" {
                    out.extend(items(Some(&member.value)).iter().filter_map(string));
                } else {
                    collect_references(&member.value, out, steps);
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                collect_references(item, out, steps);
            }
        }
        _ => {}
    }
}

/// A module instance address split into calls: `module.a["x"].module.b`
/// -> `[("a", "module.a[\"x\"]"), ("b", "module.a[\"x\"].module.b")]`.
fn module_calls(address: &str) -> Vec<(&str, &str)> {
    part_ranges(address)
        .chunks(2)
        .filter_map(|pair| match pair {
            [keyword, name] if &address[keyword.clone()] == "module" => {
                let text = &address[name.clone()];
                Some((text.split('[').next().unwrap_or(text), &address[..name.end]))
            }
            _ => None,
        })
        .collect()
}

/// A reference split at the dots outside instance keys:
/// `aws_s3_bucket.logs["a.b"].id` -> `["aws_s3_bucket", "logs[\"a.b\"]", "id"]`.
fn reference_parts(reference: &str) -> Vec<&str> {
    part_ranges(reference)
        .into_iter()
        .map(|r| &reference[r])
        .collect()
}

/// Where each part of [`reference_parts`] is.
fn part_ranges(reference: &str) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in reference.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            '.' if !quoted && depth == 0 => {
                parts.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(start..reference.len());
    parts
}

fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    members(node)
        .iter()
        .rev()
        .find(|m| m.key == key)
        .map(|m| &m.value)
}

fn members(node: &Node) -> &[Member] {
    match &node.value {
        Json::Object(members) => members,
        _ => &[],
    }
}

fn members_of(node: Option<&Node>) -> &[Member] {
    node.map_or(&[], members)
}

fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.value) {
        Some(Json::Array(items)) => items,
        _ => &[],
    }
}

fn string(node: &Node) -> Option<&str> {
    match &node.value {
        Json::String { text, .. } => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_plans_by_their_top_level_keys() {
        assert!(is_plan(
            r#"{"format_version": "1.2", "planned_values": {}}"#
        ));
        assert!(is_plan(
            r#"{"format_version":"1.0","variables":{"x":{"value":"}"}},"resource_changes":[]}"#
        ));
        // A state, a schema dump, a package manifest.
        assert!(!is_plan(r#"{"format_version": "1.0", "values": {}}"#));
        assert!(!is_plan(r#"{"name": "x", "planned_values": {}}"#));
        assert!(!is_plan(
            r#"{"a": {"format_version": 1, "planned_values": 2}}"#
        ));
        assert!(!is_plan("[1, 2]"));
        // A plan that breaks off is one, so that its error is shown.
        assert!(is_plan(r#"{"format_version": "1.2", "planned_values": {"#));
        assert!(may_be_plan(b"\n  {\"format_version\":\"1.2\""));
        assert!(!may_be_plan(b"[\"format_version\"]"));
    }

    #[test]
    fn splits_addresses_outside_keys() {
        assert_eq!(
            reference_parts(r#"module.a["x.y"].aws_s3_bucket.b[0].id"#),
            vec!["module", r#"a["x.y"]"#, "aws_s3_bucket", "b[0]", "id"]
        );
        assert_eq!(
            module_calls(r#"module.a["x.y"].module.b[0]"#),
            vec![
                ("a", r#"module.a["x.y"]"#),
                ("b", r#"module.a["x.y"].module.b[0]"#)
            ]
        );
        assert_eq!(
            without_keys(r#"module.a["x]"].aws_s3_bucket.b[0]"#),
            "module.a.aws_s3_bucket.b"
        );
    }

    /// Relations through a module's variable and another's output, in
    /// keyed module instances.
    #[test]
    fn references_follow_variables_and_outputs() {
        let text = r#"{
          "format_version": "1.2",
          "planned_values": {"root_module": {
            "resources": [{"address": "aws_s3_bucket_policy.p", "mode": "managed",
                           "type": "aws_s3_bucket_policy", "name": "p", "values": {}}],
            "child_modules": [
              {"address": "module.store[\"a\"]", "resources": [
                {"address": "module.store[\"a\"].aws_s3_bucket.b", "mode": "managed",
                 "type": "aws_s3_bucket", "name": "b", "values": {"bucket": "x"}}]}]}},
          "configuration": {
            "provider_config": {"aws": {"name": "aws"}},
            "root_module": {
              "resources": [{"address": "aws_kms_key.k", "mode": "managed",
                             "type": "aws_kms_key", "name": "k", "expressions": {}},
                            {"address": "aws_s3_bucket_policy.p", "mode": "managed",
                             "type": "aws_s3_bucket_policy", "name": "p",
                             "expressions": {"bucket": {"references":
                               ["module.store[\"a\"].name", "module.store"]}}}],
              "module_calls": {"store": {
                "source": "./store",
                "expressions": {"key": {"references": ["aws_kms_key.k.arn", "aws_kms_key.k"]}},
                "module": {
                  "outputs": {"name": {"expression": {"references":
                    ["aws_s3_bucket.b.bucket", "aws_s3_bucket.b"]}}},
                  "resources": [{"address": "aws_s3_bucket.b", "mode": "managed",
                    "type": "aws_s3_bucket", "name": "b",
                    "expressions": {"tags": {"references": ["var.key", "local.t", "each.key"]}}}]}}}}}
        }"#;
        let source = SourceFile::new("plan.json", text);
        let root = parse(&source).unwrap();
        let lowered = lower(0, &source, &root, None, 1);
        assert!(lowered.errors.is_empty(), "{:?}", lowered.errors);
        let refs = |address: &str| {
            lowered
                .resources
                .iter()
                .find(|r| r.address == address)
                .map(|r| r.references.clone())
                .unwrap()
        };
        assert_eq!(
            refs("aws_s3_bucket_policy.p"),
            ["module.store", "module.store[\"a\"].aws_s3_bucket.b"]
        );
        assert_eq!(
            refs("module.store[\"a\"].aws_s3_bucket.b"),
            ["aws_kms_key.k"]
        );
        // The root's provider configuration counts as its block.
        assert!(lowered
            .resources
            .iter()
            .any(|r| r.kind == BlockKind::Provider && r.address == "provider.aws"));
    }

    #[test]
    fn no_prefix_of_a_plan_panics() {
        let text = include_str!("../../tests/data/plan/plan.json");
        for end in (0..text.len())
            .step_by(97)
            .filter(|&i| text.is_char_boundary(i))
        {
            let source = SourceFile::new("plan.json", &text[..end]);
            let _ = is_plan(&source.text);
            if let Ok(root) = parse(&source) {
                let _ = lower(0, &source, &root, None, 1);
            }
        }
    }
}
