//! docker-compose files: recognised by name (`compose.yaml`,
//! `docker-compose*.yml`, ...) or by a top-level `services:` mapping, and
//! lowered to one resource per service (`compose:web`, type
//! `compose_service`) and per declared network (`compose:network/back`,
//! type `compose_network`).
//!
//! As `docker compose` reads them:
//! - `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
//!   `${VAR:+alt}` and `$$` are interpolated from the variables of the
//!   process environment the user allowed (`--env`, `compose.environment`;
//!   a pull request must not copy a CI secret into the report), then from
//!   the `.env` file beside the compose file; a variable set nowhere else
//!   leaves its value unknown (never guessed empty);
//! - list forms of `environment`, `labels`, `annotations`, `sysctls`,
//!   `build.args` and `networks` become mappings (`KEY=value` items keyed
//!   by `KEY`, spans kept on the item);
//! - `compose.yaml` and `compose.override.yaml` (or `docker-compose.yml`
//!   and `docker-compose.override.yml`) beside each other are merged with
//!   the Compose Specification's rules: mappings merge key by key,
//!   sequences append, `command`, `entrypoint` and `healthcheck.test` are
//!   replaced, and `ports`, `volumes`, `secrets` and `configs` entries with
//!   the same unique key are replaced. Each file lowers the services it
//!   mentions, with the merged attributes but the spans of the values it
//!   wrote itself; the engine reports a finding once, in the file that
//!   wrote the offending value.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::FileError;
use crate::model::{push_pointer, BlockKind, Resource};
use crate::parse::document::{first_line, rebase};
use crate::parse::yaml::{self, Document};
use crate::read::{self, Project, Within};
use crate::source::{SourceFile, Span};

use super::expansion::{Budget, Limit, MAX_DEPTH, MAX_VALUE};

/// The resource type of a compose service.
pub const SERVICE_TYPE: &str = "compose_service";
/// The resource type of a network declared under the top-level `networks`.
pub const NETWORK_TYPE: &str = "compose_network";

/// Whether a file name is one `docker compose` reads: `compose.yaml`,
/// `compose.override.yml`, `docker-compose.prod.yaml`, ...
pub fn is_compose_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
    else {
        return false;
    };
    stem == "compose" || stem.starts_with("compose.") || stem.starts_with("docker-compose")
}

/// Whether a parsed YAML file is a compose file: a compose file name, or
/// a single document with a top-level `services` mapping of
/// container-like services. The dispatcher (`manifest.rs`) asks the
/// Kubernetes front-end first.
pub fn is_compose(path: &Path, documents: &[Document]) -> bool {
    let [document] = documents else {
        return false;
    };
    let Some(map) = document.value.as_object() else {
        return false;
    };
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_compose_name);
    if named {
        return true;
    }
    // By content: a `services` mapping in which some service looks like a
    // container (an application config's `services:` section does not).
    map.get("services")
        .and_then(Value::as_object)
        .is_some_and(|services| {
            services.values().any(|service| {
                service
                    .as_object()
                    .is_some_and(|s| SERVICE_KEYS.iter().any(|k| s.contains_key(*k)))
            })
        })
}

/// Keys that make a mapping a compose service.
const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "ports",
    "expose",
    "environment",
    "env_file",
    "networks",
    "network_mode",
    "volumes",
    "depends_on",
    "extends",
    "container_name",
    "restart",
    "deploy",
    "healthcheck",
    "labels",
    "profiles",
];

/// Lowers one compose file, merged with its override (or base) file when
/// `docker compose` would read them together. The `.env` file and the
/// partner are read only inside the project.
pub fn lower(
    file_index: usize,
    source: &SourceFile,
    document: &Document,
    lowering: crate::Lowering<'_>,
) -> (Vec<Resource>, Vec<FileError>) {
    let dir = source
        .path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut errors = Vec::new();
    let env = match Environment::load(&dir, lowering.project, lowering.compose_env) {
        Ok(env) => env,
        Err(error) => {
            errors.push(error);
            Environment {
                process: lowering.compose_env.clone(),
                ..Environment::default()
            }
        }
    };
    let own = Layer::new(document, &env);
    // A refused partner is reported when it is discovered itself.
    let partner = partner_file(source.path()).and_then(|(path, own_is_base)| {
        let text = read::text(&path, Within::Project(lowering.project)).ok()?;
        let partner_source = SourceFile::new(path, text);
        let documents = yaml::parse(&partner_source).ok()?;
        let [partner_document] = &documents[..] else {
            return None;
        };
        partner_document.value.as_object()?;
        Some((Layer::new(partner_document, &env), own_is_base))
    });
    // Where interpolation passed a bound: in this file, and in the
    // `.env` (said by the base file only, when there are two).
    errors.extend(own.spent.iter().map(|(span, limit)| {
        FileError::new(
            source.path(),
            *span,
            format!("a value is taken as unknown: {}", limit.describe()),
        )
    }));
    if partner.as_ref().is_none_or(|(_, own_is_base)| *own_is_base) {
        for (line, limit) in &env.spent {
            errors.push(FileError::new(
                &dir.join(".env"),
                None,
                format!(
                    "line {line}: the variable is taken as unknown: {}",
                    limit.describe()
                ),
            ));
        }
    }
    let merged = match &partner {
        None => Merged::alone(&own),
        Some((other, true)) => Merging::new(&own, other).for_base(),
        Some((other, false)) => Merging::new(other, &own).for_override(),
    };
    let mut resources = Vec::new();
    for (section, resource_type, prefix) in [
        ("services", SERVICE_TYPE, "compose:"),
        ("networks", NETWORK_TYPE, "compose:network/"),
    ] {
        let Some(entries) = own.value.get(section).and_then(Value::as_object) else {
            continue;
        };
        for name in entries.keys() {
            let base = push_pointer(&push_pointer("", section), name);
            let Some(attributes) = merged.value.pointer(&base) else {
                continue;
            };
            let attributes = match attributes {
                Value::Null if !merged.unknown.contains(base.as_str()) => Value::Object(Map::new()),
                other => other.clone(),
            };
            let span = own.spans.get(base.as_str()).copied().unwrap_or_default();
            let mut spans = rebase(&merged.spans, &base, "");
            if !merged.owns_root {
                spans.remove("");
            }
            let unknown = merged
                .unknown
                .iter()
                .filter(|p| p.len() > base.len() && p.starts_with(&base))
                .filter(|p| p.as_bytes()[base.len()] == b'/')
                .map(|p| crate::model::Pointer::new(&p[base.len()..]))
                .collect();
            let built = (resource_type == SERVICE_TYPE)
                .then(|| built(&dir, &attributes, &unknown, lowering.project))
                .flatten();
            resources.push(Resource {
                built: built.map(Box::new),
                kind: BlockKind::Manifest,
                address: format!("{prefix}{name}"),
                resource_type: resource_type.to_string(),
                file: file_index,
                header: first_line(source, span),
                span,
                attributes,
                spans: spans.into_iter().collect(),
                unknown,
                ..Resource::default()
            });
        }
    }
    (resources, errors)
}

/// What a service's `build:` builds: its Dockerfile (`context` joined
/// with `dockerfile`, by default `Dockerfile`; or `dockerfile_inline`)
/// and the base image of the stage it builds (`target`, else the last),
/// stage aliases followed. The Dockerfile is read only inside the
/// project; a remote context, or one not known statically, gives
/// nothing, and an unreadable Dockerfile an unknown base.
fn built(
    dir: &Path,
    service: &Value,
    unknown: &crate::model::Unknown,
    project: &Project,
) -> Option<crate::model::Built> {
    let build = service.get("build")?;
    if unknown
        .iter()
        .any(|p| p == "/build" || p.starts_with("/build/"))
    {
        let known = |key: &str| !unknown.contains(format!("/build/{key}").as_str());
        if !(known("context") && known("dockerfile") && known("target")) || build.is_null() {
            return Some(crate::model::Built {
                dockerfile: "its Dockerfile".into(),
                base_image: None,
            });
        }
    }
    let text = |key: &str| build.get(key).and_then(Value::as_str);
    let (context, dockerfile, target, inline) = match build {
        Value::String(context) => (context.as_str(), "Dockerfile", None, None),
        Value::Object(_) => (
            text("context").unwrap_or("."),
            text("dockerfile").unwrap_or("Dockerfile"),
            text("target"),
            text("dockerfile_inline"),
        ),
        _ => return None,
    };
    let remote = context.contains("://") || context.starts_with("git@");
    if remote && inline.is_none() {
        return None;
    }
    // `web/./Dockerfile` and `web/../api/Dockerfile` as written once.
    let mut path = PathBuf::new();
    for part in dir.join(context).join(dockerfile).components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if matches!(
                    path.components().next_back(),
                    Some(std::path::Component::Normal(_))
                ) =>
            {
                path.pop();
            }
            other => path.push(other),
        }
    }
    let shown = crate::source::display_path(&path);
    let read = match inline {
        Some(inline) => Ok(inline.to_string()),
        None => read::text(&path, Within::Project(project)).map_err(|_| ()),
    };
    let Ok(text) = read else {
        return Some(crate::model::Built {
            dockerfile: shown,
            base_image: None,
        });
    };
    let source = SourceFile::new(path, text);
    let (stages, _) = super::dockerfile::lower(0, &source);
    let stage = match target {
        Some(target) => stages.iter().find(|s| {
            s.attributes
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
        }),
        None => stages.last(),
    };
    let base_image = stage
        .filter(|s| !s.unknown.contains("/base_image"))
        .and_then(|s| s.attributes.get("base_image"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(crate::model::Built {
        dockerfile: if inline.is_some() {
            "its dockerfile_inline".into()
        } else {
            shown
        },
        base_image,
    })
}

/// The file `docker compose` reads together with this one, and whether
/// this one is the base: `compose.yaml` with `compose.override.yaml`,
/// `docker-compose.yml` with `docker-compose.override.yml`.
fn partner_file(path: &Path) -> Option<(PathBuf, bool)> {
    let name = path.file_name()?.to_str()?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))?;
    let (base_stem, own_is_base) = match stem.strip_suffix(".override") {
        Some(base) => (base, false),
        None => (stem, true),
    };
    if base_stem != "compose" && base_stem != "docker-compose" {
        return None;
    }
    let candidates: Vec<String> = if own_is_base {
        vec![
            format!("{base_stem}.override.yaml"),
            format!("{base_stem}.override.yml"),
        ]
    } else {
        vec![format!("{base_stem}.yaml"), format!("{base_stem}.yml")]
    };
    candidates
        .into_iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file())
        .map(|p| (p, own_is_base))
}

/// Variables for interpolation: the allowed variables of the process
/// environment first, then the project's `.env` file. Interpolation is
/// bounded (value length, total, `${...}` nesting:
/// [`super::expansion`]); a value past a bound is unknown.
#[derive(Debug, Default)]
pub struct Environment {
    /// Only those the user allowed, read by the caller: no other variable
    /// of the process is ever looked at.
    pub process: BTreeMap<String, String>,
    dotenv: HashMap<String, String>,
    /// `.env` variables whose value passed a bound: unknown, defaults
    /// notwithstanding.
    unknown: HashSet<String>,
    /// `.env` lines whose value passed a bound, and which bound.
    pub spent: Vec<(usize, Limit)>,
    budget: Budget,
}

impl Environment {
    /// The environment of the project in `dir`: the allowed process
    /// variables, then its `.env`, if there is one that may be read (an
    /// error says why not).
    pub fn load(
        dir: &Path,
        project: &Project,
        process: &BTreeMap<String, String>,
    ) -> Result<Environment, FileError> {
        let env = Environment {
            process: process.clone(),
            ..Environment::default()
        };
        let path = dir.join(".env");
        match read::text(&path, Within::Project(project)) {
            Ok(text) => Ok(env.with_dotenv(&text)),
            Err(e) if e.is_not_found() => Ok(env),
            Err(e) => Err(FileError::new(&path, None, e.to_string())),
        }
    }

    /// Parses `.env` text: `KEY=value` lines, `export` prefixes, quotes,
    /// `#` comments, and `${VAR}` references to earlier lines.
    pub fn from_dotenv(text: &str) -> Environment {
        Environment::default().with_dotenv(text)
    }

    /// Adds the variables of `.env` text, which may refer to the allowed
    /// process variables and to earlier lines.
    fn with_dotenv(self, text: &str) -> Environment {
        let mut env = self;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let value = value.trim();
            let value = if let Some(inner) = quoted(value, '\'') {
                Some(inner.to_string())
            } else if let Some(inner) = quoted(value, '"') {
                env.interpolate(&inner.replace("\\n", "\n").replace("\\\"", "\""))
            } else {
                let bare = match value.find(" #") {
                    Some(i) => value[..i].trim_end(),
                    None => value,
                };
                env.interpolate(bare)
            };
            if let Some(limit) = env.budget.take() {
                env.spent.push((number + 1, limit));
                env.dotenv.remove(key);
                env.unknown.insert(key.to_string());
            } else if let Some(value) = value {
                env.unknown.remove(key);
                env.dotenv.insert(key.to_string(), value);
            }
        }
        env
    }

    /// A `.env` variable whose value passed a bound, and that the process
    /// environment does not set.
    fn is_unknown(&self, name: &str) -> bool {
        self.unknown.contains(name) && std::env::var_os(name).is_none()
    }

    /// The bound an interpolation reached since the last call, if any.
    pub fn spent(&self) -> Option<Limit> {
        self.budget.take()
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.process
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .cloned()
    }

    /// Interpolates `text`; `None` when a variable it needs is set
    /// nowhere (or is malformed), or when the result would pass a bound
    /// ([`Environment::spent`] then says which).
    pub fn interpolate(&self, text: &str) -> Option<String> {
        if !text.contains('$') {
            return Some(text.to_string());
        }
        let out = self.expand(text, 0)?;
        self.budget.charge(out.len()).ok()?;
        Some(out)
    }

    fn expand(&self, text: &str, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            self.budget.reach(Limit::Depth);
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            // Each piece is at most one value: stop as soon as the result
            // is too long.
            if out.len() > MAX_VALUE {
                self.budget.reach(Limit::Value);
                return None;
            }
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(inner) = after.strip_prefix('{') {
                let end = closing_brace(inner)?;
                out.push_str(&self.braced(&inner[..end], depth + 1)?);
                rest = &inner[end + 1..];
            } else {
                let len = name_length(after);
                if len == 0 {
                    out.push('$');
                    rest = after;
                } else {
                    let name = &after[..len];
                    if self.is_unknown(name) {
                        return None;
                    }
                    out.push_str(&self.lookup(name)?);
                    rest = &after[len..];
                }
            }
        }
        out.push_str(rest);
        Some(out)
    }

    /// `NAME`, `NAME:-default`, `NAME-default`, `NAME:?err`, `NAME?err`,
    /// `NAME:+alt`, `NAME+alt`.
    fn braced(&self, inner: &str, depth: usize) -> Option<String> {
        let len = name_length(inner);
        if len == 0 || self.is_unknown(&inner[..len]) {
            return None;
        }
        let value = self.lookup(&inner[..len]);
        let op = &inner[len..];
        let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
        if op.is_empty() {
            value
        } else if let Some(default) = op.strip_prefix(":-") {
            if set_nonempty {
                value
            } else {
                self.expand(default, depth)
            }
        } else if let Some(default) = op.strip_prefix('-') {
            match value {
                Some(v) => Some(v),
                None => self.expand(default, depth),
            }
        } else if op.starts_with(":?") {
            value.filter(|v| !v.is_empty())
        } else if op.starts_with('?') {
            value
        } else if let Some(alt) = op.strip_prefix(":+") {
            if set_nonempty {
                self.expand(alt, depth)
            } else {
                Some(String::new())
            }
        } else if let Some(alt) = op.strip_prefix('+') {
            match value {
                Some(_) => self.expand(alt, depth),
                None => Some(String::new()),
            }
        } else {
            None
        }
    }
}

fn quoted(value: &str, quote: char) -> Option<&str> {
    value
        .strip_prefix(quote)
        .and_then(|v| v.strip_suffix(quote))
        .filter(|_| value.len() >= 2)
}

/// Length of the variable name at the start of `text`.
fn name_length(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return 0,
    }
    chars
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i)
}

/// The index of the `}` closing a `${`, nested `${...}` skipped.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// One compose file, normalized and interpolated.
struct Layer {
    value: Value,
    spans: crate::model::Spans,
    unknown: crate::model::Unknown,
    /// Where interpolation passed a bound, and which.
    spent: Vec<(Option<Span>, Limit)>,
}

/// Service keys written as a list of `KEY=value` or as a mapping.
const KEY_VALUE_LISTS: &[&str] = &["environment", "labels", "annotations", "sysctls"];

impl Layer {
    fn new(document: &Document, env: &Environment) -> Layer {
        let mut layer = Layer {
            value: document.value.clone(),
            spans: document.spans.clone(),
            unknown: BTreeSet::new(),
            spent: Vec::new(),
        };
        let services: Vec<String> = layer
            .value
            .get("services")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut passed_through = Vec::new();
        for name in &services {
            let base = push_pointer("/services", name);
            for key in KEY_VALUE_LISTS {
                let pointer = push_pointer(&base, key);
                let environment = *key == "environment";
                layer.key_values(&pointer, environment, &mut passed_through);
            }
            layer.key_values(&format!("{base}/build/args"), true, &mut passed_through);
            layer.key_values(&format!("{base}/build/labels"), false, &mut passed_through);
            layer.network_list(&push_pointer(&base, "networks"));
        }
        let mut value = std::mem::take(&mut layer.value);
        layer.interpolate(&mut value, String::new(), env);
        layer.value = value;
        // `KEY` alone in `environment` passes the variable through.
        for pointer in passed_through {
            let name = pointer
                .rsplit('/')
                .next()
                .unwrap_or("")
                .replace("~1", "/")
                .replace("~0", "~");
            match env.lookup(&name) {
                Some(v) => set(&mut layer.value, &pointer, Value::String(v)),
                None => {
                    layer.unknown.insert(pointer.into());
                }
            }
        }
        layer
    }

    /// `["A=1", "B"]` or `{A: 1, B: }` becomes `{A: "1", B: ...}`.
    fn key_values(&mut self, pointer: &str, environment: bool, passed: &mut Vec<String>) {
        let Some(current) = self.value.pointer(pointer).cloned() else {
            return;
        };
        let mut map = Map::new();
        match current {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(text) = scalar_text(item) else {
                        continue;
                    };
                    let (key, value) = match text.split_once('=') {
                        Some((k, v)) => (k.trim().to_string(), Some(v.to_string())),
                        None => (text.trim().to_string(), None),
                    };
                    if key.is_empty() {
                        continue;
                    }
                    let item_pointer = format!("{pointer}/{i}");
                    let entry = push_pointer(pointer, &key);
                    if let Some(span) = self.spans.remove(item_pointer.as_str()) {
                        self.spans.insert(entry.as_str().into(), span);
                    }
                    let value = match value {
                        Some(v) => Value::String(v),
                        None if environment => {
                            passed.push(entry.clone());
                            Value::Null
                        }
                        None => Value::String(String::new()),
                    };
                    map.insert(key, value);
                }
            }
            Value::Object(entries) => {
                for (key, value) in entries {
                    let entry = push_pointer(pointer, &key);
                    let value = match value {
                        Value::Null if environment => {
                            passed.push(entry);
                            Value::Null
                        }
                        Value::Null => Value::String(String::new()),
                        Value::Number(n) => Value::String(n.to_string()),
                        Value::Bool(b) => Value::String(b.to_string()),
                        other => other,
                    };
                    map.insert(key, value);
                }
            }
            _ => return,
        }
        set(&mut self.value, pointer, Value::Object(map));
    }

    /// `networks: [front, back]` becomes `{front: null, back: null}`.
    fn network_list(&mut self, pointer: &str) {
        let Some(Value::Array(items)) = self.value.pointer(pointer).cloned() else {
            return;
        };
        let mut map = Map::new();
        for (i, item) in items.iter().enumerate() {
            let Some(name) = item.as_str() else {
                continue;
            };
            let item_pointer = format!("{pointer}/{i}");
            if let Some(span) = self.spans.remove(item_pointer.as_str()) {
                self.spans.insert(push_pointer(pointer, name).into(), span);
            }
            map.insert(name.to_string(), Value::Null);
        }
        set(&mut self.value, pointer, Value::Object(map));
    }

    /// Interpolates every string value; a value that needs an unset
    /// variable, or passes a bound, becomes unknown (`null`, pointer
    /// recorded; `spent` says where a bound was reached).
    fn interpolate(&mut self, value: &mut Value, pointer: String, env: &Environment) {
        match value {
            Value::String(text) => match env.interpolate(text) {
                Some(done) => *text = done,
                None => {
                    if let Some(limit) = env.spent() {
                        let span = self.spans.get(pointer.as_str()).copied();
                        self.spent.push((span, limit));
                    }
                    *value = Value::Null;
                    self.unknown.insert(pointer.into());
                }
            },
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.interpolate(item, format!("{pointer}/{i}"), env);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    // Extension fields (`x-...`) are templates, read only
                    // through anchors.
                    if pointer.is_empty() && key.starts_with("x-") {
                        continue;
                    }
                    let child = push_pointer(&pointer, key);
                    self.interpolate(item, child, env);
                }
            }
            _ => {}
        }
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Replaces the value at `pointer` (which exists).
fn set(root: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = root.pointer_mut(pointer) {
        *slot = value;
    }
}

/// The project as `docker compose` sees it, with the spans of the values
/// one of its files wrote.
struct Merged {
    value: Value,
    spans: crate::model::Spans,
    unknown: crate::model::Unknown,
    /// Whether the file lowered is the one whose spans are kept for the
    /// resource itself (the base, or a file read alone): on a tie, the
    /// engine reports there.
    owns_root: bool,
}

/// How one sequence merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SequenceMerge {
    Append,
    Replace,
    Unique,
}

fn sequence_merge(pointer: &str) -> SequenceMerge {
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    match parts[..] {
        ["services", _, "command" | "entrypoint"] => SequenceMerge::Replace,
        ["services", _, "healthcheck", "test"] => SequenceMerge::Replace,
        ["services", _, "ports" | "volumes" | "secrets" | "configs"] => SequenceMerge::Unique,
        _ => SequenceMerge::Append,
    }
}

/// The merge result before it is cut down to one file's spans.
struct Merging<'a> {
    base: &'a Layer,
    over: &'a Layer,
    value: Value,
    base_spans: crate::model::Spans,
    over_spans: crate::model::Spans,
    unknown: crate::model::Unknown,
}

impl Merged {
    fn alone(layer: &Layer) -> Merged {
        Merged {
            value: layer.value.clone(),
            spans: layer.spans.clone(),
            unknown: layer.unknown.clone(),
            owns_root: true,
        }
    }
}

impl<'a> Merging<'a> {
    fn new(base: &'a Layer, over: &'a Layer) -> Merging<'a> {
        let mut merging = Merging {
            base,
            over,
            value: Value::Null,
            base_spans: BTreeMap::new(),
            over_spans: BTreeMap::new(),
            unknown: BTreeSet::new(),
        };
        merging.value = merging.merge(Some(""), Some(""), "");
        merging
    }

    fn for_base(self) -> Merged {
        Merged {
            value: self.value,
            spans: self.base_spans,
            unknown: self.unknown,
            owns_root: true,
        }
    }

    fn for_override(self) -> Merged {
        Merged {
            value: self.value,
            spans: self.over_spans,
            unknown: self.unknown,
            owns_root: false,
        }
    }

    fn copy(&mut self, from_base: bool, from: &str, to: &str) -> Value {
        let layer = if from_base { self.base } else { self.over };
        let spans = rebase(&layer.spans, from, to);
        let unknown: Vec<crate::model::Pointer> = layer
            .unknown
            .iter()
            .filter(|p| p.starts_with(from))
            .filter(|p| p.len() == from.len() || p.as_bytes()[from.len()] == b'/')
            .map(|p| format!("{to}{}", &p[from.len()..]).into())
            .collect();
        self.unknown.extend(unknown);
        if from_base {
            self.base_spans.extend(spans);
        } else {
            self.over_spans.extend(spans);
        }
        layer.value.pointer(from).cloned().unwrap_or(Value::Null)
    }

    fn mark_both(&mut self, base: &str, over: &str, out: &str) {
        if let Some(span) = self.base.spans.get(base) {
            self.base_spans.insert(out.into(), *span);
        }
        if let Some(span) = self.over.spans.get(over) {
            self.over_spans.insert(out.into(), *span);
        }
    }

    fn merge(&mut self, base: Option<&str>, over: Option<&str>, out: &str) -> Value {
        let (base, over) = match (base, over) {
            (Some(b), None) => return self.copy(true, b, out),
            (None, Some(o)) => return self.copy(false, o, out),
            (None, None) => return Value::Null,
            (Some(b), Some(o)) => (b, o),
        };
        let base_value = self.base.value.pointer(base);
        let over_value = self.over.value.pointer(over);
        let base_known = !self.base.unknown.contains(base);
        let over_known = !self.over.unknown.contains(over);
        match (base_value, over_value) {
            (Some(Value::Object(b)), Some(Value::Object(o))) if base_known && over_known => {
                self.mark_both(base, over, out);
                let mut map = Map::new();
                let keys: Vec<String> = b
                    .keys()
                    .chain(o.keys().filter(|k| !b.contains_key(*k)))
                    .cloned()
                    .collect();
                for key in keys {
                    let b_child = b.contains_key(&key).then(|| push_pointer(base, &key));
                    let o_child = o.contains_key(&key).then(|| push_pointer(over, &key));
                    let child = push_pointer(out, &key);
                    let value = self.merge(b_child.as_deref(), o_child.as_deref(), &child);
                    map.insert(key, value);
                }
                Value::Object(map)
            }
            (Some(Value::Array(b)), Some(Value::Array(o)))
                if base_known && over_known && sequence_merge(out) != SequenceMerge::Replace =>
            {
                self.mark_both(base, over, out);
                let unique = sequence_merge(out) == SequenceMerge::Unique;
                // Each merged item: (from the base?, its pointer there).
                let mut items: Vec<(bool, String, Option<String>)> = b
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (true, format!("{base}/{i}"), unique_key(out, v)))
                    .collect();
                for (i, v) in o.iter().enumerate() {
                    let key = unique_key(out, v);
                    let pointer = format!("{over}/{i}");
                    match items
                        .iter_mut()
                        .find(|(_, _, k)| unique && key.is_some() && *k == key)
                    {
                        Some(slot) => *slot = (false, pointer, key),
                        None => items.push((false, pointer, key)),
                    }
                }
                let values = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, (from_base, pointer, _))| {
                        self.copy(from_base, &pointer, &format!("{out}/{i}"))
                    })
                    .collect();
                Value::Array(values)
            }
            _ => self.copy(false, over, out),
        }
    }
}

/// The key under which `ports`, `volumes`, `secrets` and `configs`
/// entries replace each other.
fn unique_key(pointer: &str, value: &Value) -> Option<String> {
    let field = pointer.rsplit('/').next().unwrap_or("");
    match field {
        "ports" => port(value).map(|p| {
            format!(
                "{}|{}|{}|{}",
                p.host_ip.unwrap_or_default(),
                p.published.unwrap_or_default(),
                p.target,
                p.protocol
            )
        }),
        "volumes" => match value {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                Some(match parts.len() {
                    1 => parts[0].to_string(),
                    _ => parts[1].to_string(),
                })
            }
            Value::Object(m) => m.get("target").and_then(Value::as_str).map(str::to_string),
            _ => None,
        },
        "secrets" | "configs" => match value {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m
                .get("target")
                .or_else(|| m.get("source"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        },
        _ => None,
    }
}

/// One `ports` entry, short (`"127.0.0.1:5432:5432/tcp"`, `5432`) or long
/// (`{target, published, host_ip, protocol}`) syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The host address it binds; `None`: every interface.
    pub host_ip: Option<String>,
    /// The host port (or range); `None`: a random one.
    pub published: Option<String>,
    /// The container port (or range).
    pub target: String,
    pub protocol: String,
}

impl Port {
    /// Whether the port is reachable on every interface of the host (no
    /// host address, or `0.0.0.0` / `::`).
    pub fn on_all_interfaces(&self) -> bool {
        match self.host_ip.as_deref() {
            None => true,
            Some(ip) => {
                let ip = ip.trim_matches(['[', ']']);
                ip.is_empty() || ip == "0.0.0.0" || ip == "::"
            }
        }
    }

    /// The container ports, a range expanded (capped).
    pub fn target_ports(&self) -> Vec<u16> {
        port_range(&self.target)
    }
}

/// `5432` or `8000-8010` (at most 1024 ports).
pub fn port_range(text: &str) -> Vec<u16> {
    let text = text.trim();
    match text.split_once('-') {
        Some((a, b)) => match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            (Ok(a), Ok(b)) if a <= b => (a..=b).take(1024).collect(),
            _ => Vec::new(),
        },
        None => text.parse().map(|p| vec![p]).unwrap_or_default(),
    }
}

/// Parses one `ports` entry.
pub fn port(value: &Value) -> Option<Port> {
    match value {
        Value::Number(n) => Some(Port {
            host_ip: None,
            published: None,
            target: n.to_string(),
            protocol: "tcp".into(),
        }),
        Value::String(s) => {
            let (address, protocol) = match s.rsplit_once('/') {
                Some((a, p)) => (a, p.to_string()),
                None => (s.as_str(), "tcp".to_string()),
            };
            let (host_ip, rest) = match address.strip_prefix('[') {
                Some(bracketed) => {
                    let (ip, rest) = bracketed.split_once(']')?;
                    (Some(ip.to_string()), rest.strip_prefix(':')?)
                }
                None => (None, address),
            };
            let mut parts: Vec<&str> = rest.rsplitn(3, ':').collect();
            parts.reverse();
            let (ip, published, target) = match parts[..] {
                [target] => (None, None, target),
                [published, target] => (None, Some(published), target),
                [ip, published, target] => (Some(ip), Some(published), target),
                _ => return None,
            };
            let host_ip = host_ip.or(ip.map(str::to_string));
            Some(Port {
                host_ip: host_ip.filter(|i| !i.is_empty()),
                published: published.filter(|p| !p.is_empty()).map(str::to_string),
                target: target.to_string(),
                protocol,
            })
        }
        Value::Object(m) => {
            let text = |k: &str| m.get(k).and_then(scalar_text).filter(|s| !s.is_empty());
            Some(Port {
                host_ip: text("host_ip"),
                published: text("published"),
                target: text("target")?,
                protocol: text("protocol").unwrap_or_else(|| "tcp".into()),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(dotenv: &str) -> Environment {
        Environment::from_dotenv(dotenv)
    }

    #[test]
    fn interpolation_follows_compose() {
        let e = env("PROVCHECK_T_A=alpha\nexport PROVCHECK_T_B='x y'\nPROVCHECK_T_E=\nPROVCHECK_T_C=${PROVCHECK_T_A}-c # note\n");
        assert_eq!(e.interpolate("${PROVCHECK_T_A}").as_deref(), Some("alpha"));
        assert_eq!(e.interpolate("$PROVCHECK_T_B!").as_deref(), Some("x y!"));
        assert_eq!(e.interpolate("$${X}").as_deref(), Some("${X}"));
        assert_eq!(
            e.interpolate("${PROVCHECK_T_C}").as_deref(),
            Some("alpha-c")
        );
        assert_eq!(
            e.interpolate("${PROVCHECK_T_NONE:-d}").as_deref(),
            Some("d")
        );
        assert_eq!(e.interpolate("${PROVCHECK_T_E:-d}").as_deref(), Some("d"));
        assert_eq!(e.interpolate("${PROVCHECK_T_E-d}").as_deref(), Some(""));
        assert_eq!(
            e.interpolate("${PROVCHECK_T_NONE:-${PROVCHECK_T_A}}")
                .as_deref(),
            Some("alpha")
        );
        assert_eq!(e.interpolate("${PROVCHECK_T_A:+on}").as_deref(), Some("on"));
        assert_eq!(e.interpolate("a ${PROVCHECK_T_NONE} b"), None);
        assert_eq!(e.interpolate("${PROVCHECK_T_NONE:?required}"), None);
    }

    #[test]
    fn ports_parse_in_every_syntax() {
        let p = port(&json!("127.0.0.1:5432:5432")).unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        assert!(!p.on_all_interfaces());
        assert!(port(&json!("5432:5432")).unwrap().on_all_interfaces());
        assert!(port(&json!(5432)).unwrap().on_all_interfaces());
        let v6 = port(&json!("[::1]:6379:6379/tcp")).unwrap();
        assert_eq!(v6.host_ip.as_deref(), Some("::1"));
        assert_eq!(v6.target, "6379");
        let long = port(&json!({"target": 5432, "published": "5432"})).unwrap();
        assert!(long.on_all_interfaces());
        assert_eq!(long.target_ports(), [5432]);
        assert_eq!(port_range("8000-8002"), [8000, 8001, 8002]);
    }

    fn lower_dir(dir: &Path, name: &str) -> (SourceFile, Vec<Resource>) {
        let path = dir.join(name);
        let source = SourceFile::new(&path, std::fs::read_to_string(&path).unwrap());
        let documents = yaml::parse(&source).unwrap();
        let project = Project::new([dir]);
        let lowering = crate::Lowering {
            project: &project,
            root: std::path::Path::new("."),
            exclude: None,
            inputs: &Default::default(),
            compose_env: &Default::default(),
            plan_source: None,
        };
        let (resources, errors) = lower(0, &source, &documents[0], lowering);
        assert!(errors.is_empty());
        (source, resources)
    }

    #[test]
    fn overrides_merge_as_docker_compose_does() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  db:\n    image: postgres:15\n    command: [postgres, -c, ssl=on]\n    labels: [a=1, b=2]\n    ports: [\"127.0.0.1:5432:5432\", \"9187:9187\"]\n  web:\n    image: nginx\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("compose.override.yaml"),
            "services:\n  db:\n    image: postgres:16\n    command: postgres\n    labels: {b: 3, c: 4}\n    ports: [\"9187:9187\", \"5433:5432\"]\n  admin:\n    image: adminer\n",
        )
        .unwrap();
        let (base_source, base) = lower_dir(dir.path(), "compose.yaml");
        let (over_source, over) = lower_dir(dir.path(), "compose.override.yaml");
        let names = |r: &[Resource]| r.iter().map(|r| r.address.clone()).collect::<Vec<_>>();
        assert_eq!(names(&base), ["compose:db", "compose:web"]);
        assert_eq!(names(&over), ["compose:db", "compose:admin"]);
        let (db, over_db) = (&base[0], &over[0]);
        assert_eq!(db.attributes, over_db.attributes);
        assert_eq!(
            db.attributes,
            json!({
                "image": "postgres:16",
                "command": "postgres",
                "labels": {"a": "1", "b": "3", "c": "4"},
                "ports": ["127.0.0.1:5432:5432", "9187:9187", "5433:5432"]
            })
        );
        // Each file keeps the spans of the values it wrote.
        let text = |source: &SourceFile, r: &Resource, p: &str| {
            let span = r.spans.get(p).copied().unwrap();
            source.text[span.start..span.end].to_string()
        };
        assert_eq!(text(&base_source, db, "/labels/a"), "a=1");
        assert!(!db.spans.contains_key("/labels/b") && !db.spans.contains_key("/image"));
        assert_eq!(text(&over_source, over_db, "/labels/b"), "b: 3");
        assert_eq!(text(&over_source, over_db, "/ports/1"), "\"9187:9187\"");
        assert_eq!(text(&over_source, over_db, "/ports/2"), "\"5433:5432\"");
        assert_eq!(
            text(&base_source, db, "/ports/0"),
            "\"127.0.0.1:5432:5432\""
        );
        assert!(db.spans.contains_key("") && !over_db.spans.contains_key(""));
    }

    #[test]
    fn list_forms_become_mappings_with_item_spans() {
        let source = SourceFile::new(
            "stack.yml",
            "services:\n  api:\n    environment:\n      - A=1\n      - PROVCHECK_T_UNSET\n    networks: [front]\n",
        );
        let documents = yaml::parse(&source).unwrap();
        assert!(is_compose(source.path(), &documents));
        let lowering = crate::Lowering {
            project: &Project::default(),
            root: std::path::Path::new("."),
            exclude: None,
            inputs: &Default::default(),
            compose_env: &Default::default(),
            plan_source: None,
        };
        let (resources, _) = lower(0, &source, &documents[0], lowering);
        let api = &resources[0];
        assert_eq!(
            api.attributes["environment"],
            json!({"A": "1", "PROVCHECK_T_UNSET": null})
        );
        assert!(api.unknown.contains("/environment/PROVCHECK_T_UNSET"));
        assert_eq!(api.attributes["networks"], json!({"front": null}));
        let span = api.spans.get("/environment/A").copied().unwrap();
        assert_eq!(&source.text[span.start..span.end], "A=1");
    }

    #[test]
    fn compose_names() {
        for name in [
            "compose.yaml",
            "compose.override.yml",
            "docker-compose.yml",
            "docker-compose.prod.yaml",
        ] {
            assert!(is_compose_name(name), "{name}");
        }
        for name in ["composer.yaml", "values.yaml", "compose.json"] {
            assert!(!is_compose_name(name), "{name}");
        }
    }
}
