//! The configuration file `.provcheck.yaml`: found by walking up from the
//! scanned path (or given with `--config`), validated against
//! `schemas/provcheck-config.schema.json`, and applied to the rule set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use globset::{Glob, GlobSet, GlobSetBuilder};
use jsonschema::Validator;
use serde::Deserialize;

use crate::engine::native::Native;
use crate::error::FileError;
use crate::finding::Severity;
use crate::parse::yaml;
use crate::read;
use crate::roles::{Classifier, RoleData};
use crate::ruleset::{Check, RuleSet, Target};
use crate::source::SourceFile;

/// The published schema of the configuration file.
pub const CONFIG_SCHEMA: &str = include_str!("../schemas/provcheck-config.schema.json");

/// File names looked for, in order, in each folder walking up.
pub const CONFIG_NAMES: &[&str] = &[".provcheck.yaml", ".provcheck.yml"];

/// The environment `parity` compares every other one against.
pub const REFERENCE_ENVIRONMENT: &str = "production";

/// The waivers file looked for beside the configuration file.
pub const WAIVERS_NAME: &str = ".provcheck-waivers.yaml";

/// The lowest severity that fails a run, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
    Never,
}

impl FailOn {
    /// Whether a finding of this severity fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        let threshold = match self {
            FailOn::Critical => Severity::Critical,
            FailOn::High => Severity::High,
            FailOn::Medium => Severity::Medium,
            FailOn::Low => Severity::Low,
            FailOn::Info => Severity::Info,
            FailOn::Never => return false,
        };
        severity >= threshold
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    select: Option<Vec<String>>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    severity: BTreeMap<String, Severity>,
    fail_on: Option<FailOn>,
    #[serde(default)]
    exclude: Vec<String>,
    approval_tags: Option<ApprovalTags>,
    inline_suppressions: Option<bool>,
    waivers: Option<String>,
    baseline: Option<String>,
    roles: Option<RoleData>,
    production: Option<ProductionFile>,
    ephi: Option<EphiFile>,
    compose: Option<ComposeFile>,
    environments: Option<serde_json::Map<String, serde_json::Value>>,
    parity: Option<ParityFile>,
}

/// The `parity` section.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParityFile {
    #[serde(default)]
    ignore: Vec<String>,
}

/// One entry of `environments`: a folder, or a folder with its variable
/// files.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EnvironmentFile {
    Path(String),
    Full {
        path: String,
        #[serde(default, rename = "var-files")]
        var_files: Vec<String>,
    },
}

/// An environment root that `parity` compares (`environments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    /// The folder, from the project root, as users name it.
    pub path: PathBuf,
    /// Its variable files, as `--var-file`.
    pub var_files: Vec<PathBuf>,
}

/// The `compose` section.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeFile {
    #[serde(default)]
    environment: Vec<String>,
}

/// The `ephi` section: replaces the ePHI placement rules' params key by
/// key.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EphiFile {
    keys: Option<Vec<String>>,
    values: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    allowed: Option<Vec<crate::engine::native::ephi::Allowed>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProductionFile {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    raise_severity: u8,
}

/// What marks production: paths and tag or label values.
#[derive(Debug, Clone)]
pub struct Production {
    root: PathBuf,
    paths: GlobSet,
    tags: BTreeMap<String, Vec<String>>,
    /// Severity levels added to findings on production resources.
    pub raise_severity: u8,
}

impl Production {
    /// Whether a resource, read from `path`, is in production.
    pub fn contains(&self, resource: &crate::model::Resource, path: &Path) -> bool {
        let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let relative = absolute.strip_prefix(&self.root).unwrap_or(path);
        if self.paths.is_match(relative) {
            return true;
        }
        let labels = [
            resource.attributes.get("tags"),
            resource.attributes.pointer("/metadata/labels"),
            resource.attributes.get("labels"),
        ];
        labels.into_iter().flatten().any(|labels| {
            self.tags.iter().any(|(key, values)| {
                labels
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|v| values.iter().any(|w| w == v))
            })
        })
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ApprovalTags {
    change_request: Option<TagSpec>,
    approver: Option<TagSpec>,
    owner: Option<TagSpec>,
    resource_types: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagSpec {
    name: Option<String>,
    pattern: Option<String>,
}

/// The resolved configuration of one run.
#[derive(Debug, Default)]
pub struct Config {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Where relative paths, globs and fingerprints are anchored: the
    /// configuration file's folder, else the enclosing git work tree,
    /// else the first scanned folder — never the current folder for
    /// being current: it bounds what the run may read.
    pub root: PathBuf,
    /// Where the reports' paths are anchored (`meta.project_root`): the
    /// top of the git work tree holding the first scanned path, else the
    /// configuration file's folder, else the current folder. Unlike
    /// `root`, the work tree comes first: code-scanning services and CI
    /// annotations read paths from the repository's top.
    pub report_root: PathBuf,
    /// Whether `report_root` is the top of a git work tree.
    pub in_git: bool,
    pub fail_on: Option<FailOn>,
    /// Globs of paths not to check, relative to `root`.
    pub exclude: Option<GlobSet>,
    /// The patterns `exclude` was built from (the file's, then the
    /// command line's).
    exclude_patterns: Vec<String>,
    pub inline_suppressions: bool,
    pub waivers: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
    select: Option<Vec<String>>,
    ignore: Vec<String>,
    severity: BTreeMap<String, Severity>,
    approval: ApprovalTags,
    /// Additions to the built-in role lists (`data/roles.yaml`).
    roles: Option<RoleData>,
    /// Where ePHI may live, when the file says.
    ephi: Option<EphiFile>,
    /// What marks production, when the file says.
    pub production: Option<Production>,
    /// Variables of the process environment that compose files may
    /// interpolate (`compose.environment`).
    pub compose_environment: Vec<String>,
    /// The environment roots `parity` compares (`environments`), in the
    /// file's order.
    pub environments: Vec<Environment>,
    /// Attributes `parity` never compares (`parity.ignore`).
    pub parity_ignore: Vec<String>,
    /// Where each top-level key was written, for errors found later.
    spans: Option<(SourceFile, yaml::Document)>,
}

fn schema() -> &'static Validator {
    static SCHEMA: OnceLock<Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| crate::engine::schema::builtin(CONFIG_SCHEMA))
}

/// The configuration file that applies to `start`: the nearest
/// `.provcheck.yaml` in it or a folder above, up to its git work tree's
/// root (without one, in `start`'s folder only). A file planted above the
/// repository, where a pull request cannot be reviewed, is never read.
pub fn find(start: &Path) -> Option<PathBuf> {
    let first = start_dir(start)?;
    let top = git_root(&first);
    let mut dir = Some(first.as_path());
    while let Some(d) = dir {
        for name in CONFIG_NAMES {
            let candidate = d.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        if top.as_deref().is_none_or(|top| d == top) {
            break;
        }
        dir = d.parent();
    }
    None
}

/// The folder of `start` (itself when it is one), links resolved.
fn start_dir(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    if start.is_dir() {
        Some(start)
    } else {
        start.parent().map(Path::to_path_buf)
    }
}

/// Compiles the globs written at `pointer`; an invalid one is an error at
/// its line.
fn globs(
    patterns: &[String],
    pointer: &str,
    document: &yaml::Document,
    file: &Path,
) -> Result<GlobSet, Vec<FileError>> {
    let mut set = GlobSetBuilder::new();
    for (i, pattern) in patterns.iter().enumerate() {
        match Glob::new(pattern) {
            Ok(glob) => {
                set.add(glob);
            }
            Err(e) => {
                let span = document.locate(&format!("{pointer}/{i}"));
                return Err(vec![FileError::new(
                    file,
                    Some(span),
                    format!("invalid glob `{pattern}`: {e}"),
                )]);
            }
        }
    }
    set.build().map_err(|e| {
        vec![FileError::new(
            file,
            Some(document.locate(pointer)),
            format!("invalid globs: {e}"),
        )]
    })
}

/// The `environments` entries, resolved from the project root: each
/// folder must exist, and one must be `production` (what the others are
/// compared against). Errors point at the entry.
fn environments(
    written: Option<&serde_json::Map<String, serde_json::Value>>,
    root: &Path,
    document: &yaml::Document,
    file: &Path,
) -> Result<Vec<Environment>, Vec<FileError>> {
    let Some(written) = written else {
        return Ok(Vec::new());
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (name, value) in written {
        let pointer = crate::model::push_pointer("/environments", name);
        let entry: EnvironmentFile = match serde_json::from_value(value.clone()) {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(FileError::new(
                    file,
                    Some(document.locate(&pointer)),
                    format!("invalid environment `{name}`: {e}"),
                ));
                continue;
            }
        };
        let (path, var_files, at) = match entry {
            EnvironmentFile::Path(path) => (path, Vec::new(), pointer.clone()),
            EnvironmentFile::Full { path, var_files } => {
                (path, var_files, format!("{pointer}/path"))
            }
        };
        if !root.join(&path).is_dir() {
            errors.push(FileError::new(
                file,
                Some(document.locate(&at)),
                format!("environment `{name}`: `{path}` is not a folder"),
            ));
        }
        for (i, var_file) in var_files.iter().enumerate() {
            if !root.join(var_file).is_file() {
                errors.push(FileError::new(
                    file,
                    Some(document.locate(&format!("{pointer}/var-files/{i}"))),
                    format!("environment `{name}`: `{var_file}` is not a file"),
                ));
            }
        }
        out.push(Environment {
            name: name.clone(),
            path: presentable(root.join(&path)),
            var_files: var_files
                .iter()
                .map(|v| presentable(root.join(v)))
                .collect(),
        });
    }
    if errors.is_empty() && !out.iter().any(|e| e.name == REFERENCE_ENVIRONMENT) {
        errors.push(FileError::new(
            file,
            Some(document.locate("/environments")),
            format!(
                "`environments` names no `{}`: every environment is compared against it",
                REFERENCE_ENVIRONMENT
            ),
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A path found from the project root, shown relative to the current
/// folder when it is below it (as users name files).
fn presentable(path: PathBuf) -> PathBuf {
    let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) else {
        return path;
    };
    match path.strip_prefix(&cwd) {
        Ok(relative) => relative.to_path_buf(),
        Err(_) => path,
    }
}

/// The nearest folder at or above `start` holding `.git` (a folder, or a
/// file in a linked work tree or submodule).
fn git_root(start: &Path) -> Option<PathBuf> {
    let start = start_dir(start)?;
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

impl Config {
    /// Reads `explicit`, or the configuration found from `start`; without
    /// either, the defaults. Errors point at the offending line.
    pub fn load(explicit: Option<&Path>, start: &Path) -> Result<Config, Vec<FileError>> {
        let file = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => find(start),
        };
        let scanned = || start_dir(start).unwrap_or_else(|| start.to_path_buf());
        let top = git_root(start);
        let in_git = top.is_some();
        let here = || std::env::current_dir().unwrap_or_default();
        let Some(file) = file else {
            let root = top.clone().unwrap_or_else(scanned);
            let waivers = Some(root.join(WAIVERS_NAME))
                .filter(|p| p.is_file())
                .map(presentable);
            return Ok(Config {
                root,
                report_root: top.unwrap_or_else(here),
                in_git,
                inline_suppressions: true,
                waivers,
                ..Config::default()
            });
        };
        // A file named with --config is the user's; a file found is the
        // project's, read only inside its work tree (or its own folder).
        let project = match explicit {
            Some(_) => None,
            None => Some(read::Project::new([top
                .clone()
                .or_else(|| file.parent().map(Path::to_path_buf))
                .unwrap_or_default()])),
        };
        let within = project
            .as_ref()
            .map_or(read::Within::Anywhere, read::Within::Project);
        let text = read::text(&file, within).map_err(|e| {
            vec![FileError::new(
                &file,
                None,
                e.describe("the configuration file"),
            )]
        })?;
        let source = SourceFile::new(file.clone(), text);
        let document = yaml::parse(&source)
            .map_err(|e| vec![e])?
            .into_iter()
            .next()
            .unwrap_or(yaml::Document {
                value: serde_json::Value::Object(Default::default()),
                spans: Default::default(),
            });
        let document = if document.value.is_null() {
            yaml::Document {
                value: serde_json::Value::Object(Default::default()),
                spans: document.spans,
            }
        } else {
            document
        };
        let errors = document.validate(schema(), &file, "configuration");
        if !errors.is_empty() {
            return Err(errors);
        }
        let parsed: ConfigFile = serde_json::from_value(document.value.clone()).map_err(|e| {
            vec![FileError::new(
                &file,
                None,
                format!("invalid configuration: {e}"),
            )]
        })?;
        let root = file
            .canonicalize()
            .ok()
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .unwrap_or_else(scanned);
        let exclude = Some(globs(&parsed.exclude, "/exclude", &document, &file)?)
            .filter(|set| !set.is_empty());

        let production = match &parsed.production {
            Some(p) => Some(Production {
                root: root.clone(),
                paths: globs(&p.paths, "/production/paths", &document, &file)?,
                tags: p.tags.clone(),
                raise_severity: p.raise_severity,
            }),
            None => None,
        };
        let resolve = |p: &str| presentable(root.join(p));
        let waivers = match &parsed.waivers {
            Some(p) => Some(resolve(p)),
            None => Some(root.join(WAIVERS_NAME))
                .filter(|p| p.is_file())
                .map(presentable),
        };
        let environments = environments(parsed.environments.as_ref(), &root, &document, &file)?;
        let report_root = top.unwrap_or_else(|| root.clone());
        Ok(Config {
            file: Some(file),
            report_root,
            in_git,
            fail_on: parsed.fail_on,
            exclude,
            exclude_patterns: parsed.exclude.clone(),
            inline_suppressions: parsed.inline_suppressions.unwrap_or(true),
            waivers,
            baseline: parsed.baseline.as_deref().map(resolve),
            select: parsed.select,
            ignore: parsed.ignore,
            severity: parsed.severity,
            approval: parsed.approval_tags.unwrap_or_default(),
            roles: parsed.roles,
            ephi: parsed.ephi,
            production,
            compose_environment: parsed.compose.map(|c| c.environment).unwrap_or_default(),
            environments,
            parity_ignore: parsed.parity.map(|p| p.ignore).unwrap_or_default(),
            spans: Some((source, document)),
            root,
        })
    }

    /// The rule ids, categories or packs the file selects (`None`: all).
    pub fn select(&self) -> Option<&[String]> {
        self.select.as_deref()
    }

    /// The rule ids, categories or packs the file ignores.
    pub fn ignore(&self) -> &[String] {
        &self.ignore
    }

    /// `sha256:<hex>` of the configuration file as read, if any.
    pub fn digest(&self) -> Option<String> {
        self.spans
            .as_ref()
            .map(|(source, _)| crate::provenance::sha256(source.text.as_bytes()))
    }

    /// The configuration file, as reports show it (relative to the
    /// current folder when below it).
    pub fn shown_file(&self) -> Option<PathBuf> {
        self.file.clone().map(presentable)
    }

    fn error_at(&self, pointer: &str, message: String) -> FileError {
        match &self.spans {
            Some((source, document)) => {
                FileError::new(source.path(), Some(document.locate(pointer)), message)
            }
            None => FileError::new(Path::new(".provcheck.yaml"), None, message),
        }
    }

    /// Applies the command line's `--select`, `--ignore` and `--exclude`
    /// on top of the file: a `--select` list replaces the file's, `--ignore`
    /// names and `--exclude` globs add to its own. Rule names that match
    /// no rule, category or pack in `rules`, and globs that do not
    /// compile, are errors (with a close name suggested), as in the file.
    pub fn command_line(
        &mut self,
        rules: &RuleSet,
        select: &[String],
        ignore: &[String],
        exclude: &[String],
    ) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        let names: Vec<&str> = rules
            .rules
            .iter()
            .flat_map(|r| [r.id.as_str(), r.category.as_str(), r.pack.as_str()])
            .collect();
        for (flag, list) in [("--select", select), ("--ignore", ignore)] {
            for name in list {
                if !names.contains(&name.as_str()) {
                    let hint = closest(name, &names)
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default();
                    errors.push(format!(
                        "{flag} {name}: not a rule id, category or pack{hint}"
                    ));
                }
            }
        }
        if !select.is_empty() {
            self.select = Some(select.to_vec());
        }
        self.ignore.extend(ignore.iter().cloned());
        if !exclude.is_empty() {
            let mut set = GlobSetBuilder::new();
            for pattern in self.exclude_patterns.iter().chain(exclude) {
                match Glob::new(pattern) {
                    Ok(glob) => {
                        set.add(glob);
                    }
                    Err(e) => errors.push(format!("--exclude {pattern}: invalid glob: {e}")),
                }
            }
            match set.build() {
                Ok(set) => self.exclude = Some(set),
                Err(e) => errors.push(format!("--exclude: {e}")),
            }
            self.exclude_patterns.extend(exclude.iter().cloned());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Whether a path (as discovered) is excluded.
    pub fn is_excluded(&self, path: &Path) -> bool {
        let Some(exclude) = &self.exclude else {
            return false;
        };
        let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let relative = absolute.strip_prefix(&self.root).unwrap_or(path);
        exclude.is_match(relative)
    }

    /// Selects, drops and re-grades rules, renames approval tags and
    /// extends the role lists, as the file says. Names that match no rule,
    /// category or pack are errors: a typo must not silently turn a rule
    /// off.
    pub fn apply(&self, rules: &mut RuleSet) -> Vec<FileError> {
        let mut errors = Vec::new();
        // ePHI placement first: the role classifier below reaches the
        // rebuilt checks.
        if let Some(ephi) = &self.ephi {
            for rule in &mut rules.rules {
                let Check::Native(Native::EphiPlacement(check)) = &mut rule.check else {
                    continue;
                };
                let mut params = check.params().clone();
                if let Some(keys) = &ephi.keys {
                    params.keys.clone_from(keys);
                }
                if let Some(values) = &ephi.values {
                    params.values.clone_from(values);
                }
                if let Some(resources) = &ephi.resources {
                    params.resources.clone_from(resources);
                }
                if let Some(allowed) = &ephi.allowed {
                    params.allowed.clone_from(allowed);
                }
                match crate::engine::native::ephi::EphiPlacement::from_params(params) {
                    Ok(rebuilt) => *check = std::sync::Arc::new(rebuilt),
                    Err(e) => {
                        // Only keys the file set can be wrong: the rule
                        // files' own params were checked when they loaded.
                        errors.push(self.error_at(&format!("/ephi{}", e.pointer), e.message));
                        break;
                    }
                }
            }
        }
        // The role classifier: built once; every check and the posture
        // read it from the rule set.
        if let Some(additions) = &self.roles {
            match Classifier::with_additions(additions) {
                Ok(classifier) => rules.classifier = std::sync::Arc::new(classifier),
                Err(message) => errors.push(self.error_at("/roles", message)),
            }
        }
        let matches = |name: &str, rule: &crate::ruleset::Rule| {
            rule.id.as_str() == name || rule.category.as_str() == name || rule.pack == name
        };
        let known = |name: &str| rules.rules.iter().any(|r| matches(name, r));
        for (key, names) in [
            ("select", self.select.as_deref().unwrap_or(&[])),
            ("ignore", &self.ignore),
        ] {
            let all: Vec<&str> = rules
                .rules
                .iter()
                .flat_map(|r| [r.id.as_str(), r.category.as_str(), r.pack.as_str()])
                .collect();
            for (i, name) in names.iter().enumerate() {
                if !known(name) {
                    let hint = closest(name, &all)
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default();
                    errors.push(self.error_at(
                        &format!("/{key}/{i}"),
                        format!("`{name}` is not a rule id, category or pack{hint}"),
                    ));
                }
            }
        }
        for id in self.severity.keys() {
            if rules.get(id).is_none() {
                errors.push(self.error_at(
                    &format!(
                        "/severity/{}",
                        crate::model::push_pointer("", id).trim_start_matches('/')
                    ),
                    format!("`{id}` is not a rule id"),
                ));
            }
        }
        rules.rules.retain(|rule| {
            let selected = self
                .select
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| matches(n, rule)));
            selected && !self.ignore.iter().any(|n| matches(n, rule))
        });
        for rule in &mut rules.rules {
            if let Some(severity) = self.severity.get(rule.id.as_str()) {
                rule.severity = *severity;
            }
            let Check::Native(Native::RequiredTag(check)) = &mut rule.check else {
                continue;
            };
            let (slot_key, spec) = match check.slot.as_deref() {
                Some("change-request") => ("change-request", &self.approval.change_request),
                Some("approver") => ("approver", &self.approval.approver),
                Some("owner") => ("owner", &self.approval.owner),
                _ => continue,
            };
            if let Some(spec) = spec {
                if let Err(message) = check.configure(spec.name.clone(), spec.pattern.clone()) {
                    errors.push(
                        self.error_at(&format!("/approval-tags/{slot_key}/pattern"), message),
                    );
                }
            }
            // The list replaces the taggable Terraform types, each rule
            // keeping those of its own provider (`aws_`, `google_`,
            // `azurerm_`: AWS tags, GCP labels and Azure tags are checked
            // by separate rules); Kubernetes and compose approval rules
            // keep theirs.
            if let Some(types) = self
                .approval
                .resource_types
                .as_ref()
                .filter(|_| rule.target == Target::Terraform)
            {
                let providers: BTreeSet<&str> =
                    rule.resource_types.iter().map(|t| provider_of(t)).collect();
                let kept: Vec<String> = types
                    .iter()
                    .filter(|t| providers.contains(provider_of(t)))
                    .cloned()
                    .collect();
                rule.resource_types = kept.iter().cloned().collect();
                rule.declared_types = kept;
            }
        }
        errors
    }
}

/// The provider a Terraform resource type belongs to: the part before its
/// first underscore (`aws`, `google`, `azurerm`).
fn provider_of(resource_type: &str) -> &str {
    resource_type
        .split_once('_')
        .map_or(resource_type, |(provider, _)| provider)
}

/// The name in `names` closest to `typed` (edit distance at most a third
/// of its length), for a did-you-mean.
pub fn closest<'n>(typed: &str, names: &[&'n str]) -> Option<&'n str> {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let current = row[j + 1];
                row[j + 1] = if ca == *cb {
                    previous
                } else {
                    1 + previous.min(row[j]).min(current)
                };
                previous = current;
            }
        }
        row[b.len()]
    };
    names
        .iter()
        .map(|n| (distance(typed, n), *n))
        .filter(|(d, _)| *d <= typed.chars().count().div_ceil(3).max(1))
        .min()
        .map(|(_, n)| n)
}
