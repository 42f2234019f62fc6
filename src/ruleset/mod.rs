//! Loading rules: the built-in pack embedded in the binary and folders of
//! user rules in the same format. Every rule file is validated against
//! `rules/rule.schema.json` and its schemas are compiled once, here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{include_dir, Dir};
use jsonschema::Validator;
use serde::Deserialize;
use serde_json::Value;

use crate::engine::native::Native;
use crate::engine::schema::{compile, CompiledSchema};
use crate::error::FileError;
use crate::finding::{Category, RuleId, Severity};
use crate::parse::yaml;
use crate::source::SourceFile;

static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// The meta-schema every rule file must satisfy.
pub const RULE_SCHEMA: &str = include_str!("../../rules/rule.schema.json");

/// Folder name holding named sets of resource types (`@name`).
const TYPE_SET_DIR: &str = "type-sets";

/// The language a rule's resources (and examples) are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Terraform,
    Kubernetes,
    Compose,
    Dockerfile,
}

impl Target {
    /// The file name a rule's examples are checked under, which decides
    /// how they are parsed.
    pub fn example_file_name(self) -> &'static str {
        match self {
            Target::Terraform => "example.tf",
            Target::Kubernetes => "example.yaml",
            Target::Compose => "compose.yaml",
            Target::Dockerfile => "Dockerfile",
        }
    }
}

/// A fail example: the code, and the line its finding must start on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailExample {
    pub line: usize,
    pub code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    pub pass: Vec<String>,
    pub fail: Vec<FailExample>,
}

/// A rule file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: RuleId,
    title: String,
    severity: Severity,
    category: Category,
    controls: Vec<String>,
    target: Target,
    #[serde(default)]
    resource_types: Vec<String>,
    description: String,
    #[serde(rename = "where")]
    selector: Option<Value>,
    assert: Option<Value>,
    native: Option<String>,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    focus: Vec<String>,
    #[serde(default)]
    defaults: BTreeMap<String, String>,
    message: String,
    remediation: String,
    #[serde(default)]
    links: Vec<String>,
    examples: Examples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeSetFile {
    name: String,
    description: String,
    types: Vec<String>,
}

/// How a rule decides.
#[derive(Debug)]
pub enum Check {
    /// The resource must satisfy this schema.
    Schema(Box<CompiledSchema>),
    /// A check written in Rust.
    Native(Native),
}

/// A loaded, compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: RuleId,
    pub title: String,
    pub severity: Severity,
    pub category: Category,
    pub controls: Vec<String>,
    pub target: Target,
    /// The folder the rule came from (`aws`, `aptible`, or a user's).
    pub pack: String,
    /// Where the rule file was read from (`builtin:aws/x.yaml` for embedded ones).
    pub origin: String,
    /// Resource types as written, `@set` references included.
    pub declared_types: Vec<String>,
    /// Every resource type the rule applies to, sets expanded.
    pub resource_types: BTreeSet<String>,
    pub description: String,
    pub selector: Option<CompiledSchema>,
    pub check: Check,
    pub focus: Vec<String>,
    /// The provider's default for attributes the rule reads, by pointer
    /// (`/storage_encrypted`: `false`), said when one is left out.
    pub defaults: BTreeMap<String, String>,
    pub message: String,
    pub remediation: String,
    pub links: Vec<String>,
    pub examples: Examples,
    /// SHA-256 of the rule's canonical content: its file as JSON with
    /// keys sorted (comments, layout and key order do not count), then
    /// the resource types its `@sets` expand to. See [`RuleSet::digest`].
    pub digest: [u8; 32],
}

impl Rule {
    pub fn applies_to(&self, resource_type: &str) -> bool {
        self.resource_types.contains(resource_type)
    }
}

/// Every rule in force, in a stable order (by id), and the settings the
/// checks share.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The role classifier every check and the posture use: the built-in
    /// lists, extended by the configuration's `roles`.
    pub classifier: std::sync::Arc<crate::roles::Classifier>,
    /// The id of every rule loaded, selected or not: a suppression naming
    /// an id outside it names no rule at all.
    pub known: BTreeSet<String>,
}

impl Default for RuleSet {
    fn default() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            classifier: crate::roles::Classifier::builtin(),
            known: BTreeSet::new(),
        }
    }
}

impl RuleSet {
    /// The built-in rules, plus user rule folders. Every broken rule file
    /// is reported; the others still load.
    pub fn load(user_dirs: &[PathBuf]) -> (RuleSet, Vec<FileError>) {
        let mut files = Vec::new();
        collect_embedded(&BUILTIN, &mut files);
        let mut errors = Vec::new();
        for dir in user_dirs {
            if let Err(err) = collect_dir(dir, &mut files) {
                errors.push(err);
            }
        }
        let (set, mut load_errors) = load_files(&files);
        errors.append(&mut load_errors);
        (set, errors)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.as_str() == id)
    }

    /// `sha256:<hex>` over every rule of the set, built-in and user, in
    /// id order: its id and its [`Rule::digest`]. The set is the one a run
    /// uses, after the configuration's `select` and `ignore`; the
    /// configuration's other changes (severities, tag names) are the
    /// configuration file's, which reports name and hash apart.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut rules: Vec<&Rule> = self.rules.iter().collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let mut hasher = Sha256::new();
        for rule in rules {
            hasher.update(rule.id.as_str().as_bytes());
            hasher.update([0]);
            hasher.update(rule.digest);
        }
        format!("sha256:{}", hex(&hasher.finalize()))
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// JSON with object keys sorted at every level, no spaces: the same
/// text for the same content, however the YAML was written.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_json(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// One rule or type-set file to load: where it came from and its text.
struct RuleText {
    /// Path shown in errors.
    path: PathBuf,
    origin: String,
    pack: String,
    is_type_set: bool,
    text: String,
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Vec<RuleText>) {
    for file in dir.files() {
        let path = file.path();
        if !is_yaml(path) {
            continue;
        }
        let Some(text) = file.contents_utf8() else {
            continue;
        };
        out.push(RuleText {
            path: Path::new("rules").join(path),
            origin: format!("builtin:{}", path.display()),
            pack: pack_of(path),
            is_type_set: in_type_set_dir(path),
            text: text.to_string(),
        });
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

fn collect_dir(root: &Path, out: &mut Vec<RuleText>) -> Result<(), FileError> {
    if !root.is_dir() {
        return Err(FileError::new(root, None, "rule folder not found"));
    }
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|err| FileError::new(root, None, err.to_string()))?;
        let path = entry.path();
        if !entry.file_type().is_file() || !is_yaml(path) {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(path);
        // The user named the folder: anywhere, but regular files only.
        let text = crate::read::text(path, crate::read::Within::Anywhere)
            .map_err(|err| FileError::new(path, None, err.describe("rule file")))?;
        out.push(RuleText {
            path: path.to_path_buf(),
            origin: path.display().to_string(),
            pack: pack_of(relative),
            is_type_set: in_type_set_dir(relative),
            text,
        });
    }
    Ok(())
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn in_type_set_dir(relative: &Path) -> bool {
    relative
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == TYPE_SET_DIR)
}

/// The first folder of the path relative to the rules root, or `user`.
fn pack_of(relative: &Path) -> String {
    let mut components = relative.components();
    match (components.next(), components.next()) {
        (Some(first), Some(_)) => first.as_os_str().to_string_lossy().into_owned(),
        _ => "user".to_string(),
    }
}

fn meta_schema() -> &'static Validator {
    static META: OnceLock<Validator> = OnceLock::new();
    META.get_or_init(|| crate::engine::schema::builtin(RULE_SCHEMA))
}

/// What one rule or type-set file gave, before ids are compared.
enum Loaded<'a> {
    TypeSet(String, Vec<String>),
    /// The document keeps only its spans, to place later errors.
    Rule(&'a RuleText, yaml::Document, Box<RuleFile>, String),
    Failed(Vec<FileError>),
}

/// Parses and validates one file: independent of every other file, so
/// the built-in pack's 139 files load in parallel.
fn load_file(file: &RuleText) -> Loaded<'_> {
    let source = SourceFile::new(file.path.clone(), file.text.as_str());
    let documents = match yaml::parse(&source) {
        Ok(docs) => docs,
        Err(err) => return Loaded::Failed(vec![err]),
    };
    let Some(document) = documents.into_iter().next() else {
        return Loaded::Failed(vec![FileError::new(&file.path, None, "rule file is empty")]);
    };
    if file.is_type_set {
        return match serde_json::from_value::<TypeSetFile>(document.value) {
            Ok(set) if !set.description.is_empty() => Loaded::TypeSet(set.name, set.types),
            Ok(_) => Loaded::Failed(vec![FileError::new(
                &file.path,
                None,
                "type set needs a description",
            )]),
            Err(err) => Loaded::Failed(vec![FileError::new(
                &file.path,
                None,
                format!("invalid type set: {err}"),
            )]),
        };
    }
    let schema_errors = document.validate(meta_schema(), &file.path, "rule");
    if !schema_errors.is_empty() {
        return Loaded::Failed(schema_errors);
    }
    let yaml::Document { value, spans } = document;
    let mut canonical = String::new();
    canonical_json(&value, &mut canonical);
    match serde_json::from_value::<RuleFile>(value) {
        Ok(rule) => Loaded::Rule(
            file,
            yaml::Document {
                value: Value::Null,
                spans,
            },
            Box::new(rule),
            canonical,
        ),
        Err(err) => Loaded::Failed(vec![FileError::new(
            &file.path,
            None,
            format!("invalid rule: {err}"),
        )]),
    }
}

fn load_files(files: &[RuleText]) -> (RuleSet, Vec<FileError>) {
    use rayon::prelude::*;
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    let mut type_sets: HashMap<String, Vec<String>> = HashMap::new();
    let loaded: Vec<Loaded<'_>> = files.par_iter().map(load_file).collect();
    for item in loaded {
        match item {
            Loaded::TypeSet(name, types) => {
                type_sets.insert(name, types);
            }
            Loaded::Rule(file, spans, rule, canonical) => {
                parsed.push((file, spans, rule, canonical))
            }
            Loaded::Failed(mut failed) => errors.append(&mut failed),
        }
    }

    // Built in parallel; then, in file order, the first rule built with
    // an id keeps it and later files that use it are errors.
    let built: Vec<_> = parsed
        .into_par_iter()
        .map(|(file, spans, rule, canonical)| {
            let id = rule.id.clone();
            (
                file,
                spans,
                id,
                build_rule(file, *rule, &canonical, &type_sets),
            )
        })
        .collect();
    let mut rules = Vec::new();
    let mut seen: BTreeMap<RuleId, PathBuf> = BTreeMap::new();
    for (file, spans, id, result) in built {
        let at = |pointer: &str| Some(spans.locate(pointer));
        if let Some(first) = seen.get(&id) {
            errors.push(FileError::new(
                &file.path,
                at("/id"),
                format!("rule id `{id}` is already used by {}", first.display()),
            ));
            continue;
        }
        match result {
            Ok(rule) => {
                seen.insert(rule.id.clone(), file.path.clone());
                rules.push(rule);
            }
            Err((pointer, message)) => {
                errors.push(FileError::new(&file.path, at(&pointer), message))
            }
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let known = rules.iter().map(|r| r.id.as_str().to_string()).collect();
    (
        RuleSet {
            rules,
            known,
            ..RuleSet::default()
        },
        errors,
    )
}

fn build_rule(
    file: &RuleText,
    rule: RuleFile,
    canonical: &str,
    type_sets: &HashMap<String, Vec<String>>,
) -> Result<Rule, (String, String)> {
    let mut resource_types = BTreeSet::new();
    for (i, ty) in rule.resource_types.iter().enumerate() {
        if let Some(name) = ty.strip_prefix('@') {
            let set = type_sets.get(name).ok_or_else(|| {
                (
                    format!("/resource_types/{i}"),
                    format!(
                        "unknown type set `{name}` (expected rules/{TYPE_SET_DIR}/{name}.yaml)"
                    ),
                )
            })?;
            resource_types.extend(set.iter().cloned());
        } else {
            resource_types.insert(ty.clone());
        }
    }
    let selector = rule
        .selector
        .as_ref()
        .map(compile)
        .transpose()
        .map_err(|e| {
            (
                "/where".to_string(),
                format!("rule `{}`: invalid `where` schema: {e}", rule.id),
            )
        })?;
    let check = match (&rule.assert, &rule.native) {
        (Some(schema), None) => Check::Schema(Box::new(compile(schema).map_err(|e| {
            (
                "/assert".to_string(),
                format!("rule `{}`: invalid `assert` schema: {e}", rule.id),
            )
        })?)),
        (None, Some(name)) => {
            let mut native =
                Native::new(name, &rule.params).map_err(|e| ("/params".to_string(), e))?;
            resource_types = native.subjects(&resource_types);
            native.set_types(&resource_types);
            Check::Native(native)
        }
        _ => {
            return Err((
                String::new(),
                "a rule needs exactly one of `assert` and `native`".to_string(),
            ))
        }
    };
    let digest = {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(canonical.as_bytes());
        for ty in &resource_types {
            hasher.update([0]);
            hasher.update(ty.as_bytes());
        }
        hasher.finalize().into()
    };
    Ok(Rule {
        id: rule.id,
        title: rule.title,
        severity: rule.severity,
        category: rule.category,
        controls: rule.controls,
        target: rule.target,
        pack: file.pack.clone(),
        origin: file.origin.clone(),
        declared_types: rule.resource_types,
        resource_types,
        description: rule.description,
        selector,
        check,
        focus: rule.focus,
        defaults: rule.defaults,
        message: rule.message,
        remediation: rule.remediation,
        links: rule.links,
        examples: rule.examples,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(text: &str) -> (RuleSet, Vec<FileError>) {
        load_files(&[RuleText {
            path: PathBuf::from("user/x.yaml"),
            origin: "user/x.yaml".into(),
            pack: "user".into(),
            is_type_set: false,
            text: text.into(),
        }])
    }

    #[test]
    fn builtin_rules_load_without_errors() {
        let (set, errors) = RuleSet::load(&[]);
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(!set.rules.is_empty());
    }

    #[test]
    fn the_digest_follows_content_not_layout() {
        let rule = |text: &str| load_one(text).0;
        let base = r#"id: x-y
title: T
severity: low
category: baseline
controls: ["CMP 8.3.3"]
target: terraform
resource_types: [aws_s3_bucket]
description: D
assert: { required: [acl] }
message: M
remediation: R
examples: { pass: ["x"], fail: [{ line: 1, code: "y" }] }
"#;
        let set = rule(base);
        assert_eq!(set.rules.len(), 1, "{:?}", load_one(base).1);
        let digest = set.digest();
        assert!(digest.starts_with("sha256:") && digest.len() == 7 + 64);
        // Comments, key order and quoting are layout.
        let relaid = format!("# a comment\n{}", base.replace("title: T", "title: \"T\""));
        let relaid = relaid.replacen("id: x-y\n", "", 1) + "id: x-y\n";
        assert_eq!(rule(&relaid).digest(), digest);
        // A word of the message is content.
        assert_ne!(
            rule(&base.replace("message: M", "message: N")).digest(),
            digest
        );
        // So is which rules are in the set.
        assert_ne!(RuleSet::default().digest(), digest);
    }

    #[test]
    fn a_broken_rule_file_points_at_the_offending_line() {
        let text = "id: x-y\ntitle: T\nseverity: severe\n";
        let (set, errors) = load_one(text);
        assert!(set.rules.is_empty());
        let source = SourceFile::new("x.yaml", text);
        let lines: Vec<usize> = errors
            .iter()
            .filter_map(|e| e.span)
            .map(|s| source.position(s.start).line)
            .collect();
        assert!(lines.contains(&3), "{errors:#?}");
    }
}
