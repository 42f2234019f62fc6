//! The security officer's inspection report (`provcheck inspect`): an
//! inventory, a data-store protection matrix, the exposure, the policy
//! clauses and a provisioning checklist, all built from a [`Report`] and
//! the rules that produced it — never a second implementation of a rule.

pub mod exposure;
pub mod html;
pub mod json;
mod links;
pub mod markdown;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use foldhash::{HashMap as FastMap, HashSet as FastSet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::engine::native::container::topology;
use crate::finding::{Category, Finding, Severity};
use crate::model::Resource;
use crate::output::json::{finding_entry, suppressed_entry, JsonFinding, JsonSuppressed};
use crate::roles::{Classifier, Role};
use crate::ruleset::RuleSet;
use crate::source::SourceFile;
use crate::Report;

/// Version of the report's JSON shape.
pub const VERSION: u32 = 1;

/// The protection controls of the data-store matrix, in column order.
pub const CONTROLS: [Category; 6] = [
    Category::EncryptionAtRest,
    Category::EncryptionInTransit,
    Category::PrivateNetwork,
    Category::Backup,
    Category::AuditLogging,
    Category::Approval,
];

/// What kind of thing a resource type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DataStore,
    Compute,
    Network,
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DataStore => "data-store",
            Kind::Compute => "compute",
            Kind::Network => "network",
            Kind::Other => "other",
        }
    }
}

/// What the report is asked for, beside the scan.
#[derive(Debug, Clone)]
pub struct Options {
    pub title: String,
    /// List the undecided results, not only count them.
    pub show_undecided: bool,
    /// What the configuration marks as production.
    pub production: Option<crate::config::Production>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            title: "Provisioning inspection report".to_string(),
            show_undecided: false,
            production: None,
        }
    }
}

/// The kind of a resource type, from `data/resource-kinds.yaml`; `None`
/// for types the table does not name (reported as `other`).
pub fn kind_of(resource_type: &str) -> Option<Kind> {
    kinds().get(resource_type).map(|e| e.kind)
}

/// The attribute naming a data store type's engine (`engine`,
/// `database_type`), from `data/resource-kinds.yaml`.
pub fn engine_attribute(resource_type: &str) -> Option<&'static str> {
    kinds().get(resource_type)?.engine.as_deref()
}

struct KindEntry {
    kind: Kind,
    engine: Option<String>,
    retention: Option<Retention>,
    /// Types whose findings count for this store's cells.
    context: Vec<String>,
    /// Controls the platform provides, with the reason.
    platform: BTreeMap<String, String>,
}

/// Where a data store's backup retention is written.
struct Retention {
    /// The type of the referred resource that holds it, if not the store.
    via: Option<String>,
    /// A JSON pointer into the attributes.
    pointer: String,
    /// The provider's value when the attribute is left out.
    default: Option<i64>,
    /// A JSON pointer to the switch that turns automated backups on, when
    /// the platform has one (Cloud SQL's `backup_configuration.enabled`):
    /// unless it is `true`, no backups are kept at all.
    enabled: Option<String>,
}

/// The resource-kind table, `data/resource-kinds.yaml`, compiled once.
fn kinds() -> &'static BTreeMap<String, KindEntry> {
    static TABLE: OnceLock<BTreeMap<String, KindEntry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let source = SourceFile::new(
            "builtin:data/resource-kinds.yaml",
            include_str!("../../data/resource-kinds.yaml"),
        );
        let documents = crate::parse::yaml::parse(&source).expect("resource-kinds.yaml parses");
        let mut table = BTreeMap::new();
        if let Some(Value::Object(map)) = documents.first().map(|d| &d.value) {
            for (resource_type, entry) in map {
                let kind = match entry.get("kind").and_then(Value::as_str) {
                    Some("data-store") => Kind::DataStore,
                    Some("compute") => Kind::Compute,
                    Some("network") => Kind::Network,
                    _ => Kind::Other,
                };
                let text =
                    |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
                let retention = entry.get("retention").map(|r| {
                    let attribute = text(r, "attribute").unwrap_or_default();
                    Retention {
                        via: text(r, "via"),
                        pointer: if attribute.starts_with('/') {
                            attribute
                        } else {
                            crate::model::push_pointer("", &attribute)
                        },
                        default: r.get("default").and_then(Value::as_i64),
                        enabled: text(r, "enabled"),
                    }
                });
                let context = entry
                    .get("context")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let platform = entry
                    .get("platform")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                table.insert(
                    resource_type.clone(),
                    KindEntry {
                        kind,
                        engine: text(entry, "engine"),
                        retention,
                        context,
                        platform,
                    },
                );
            }
        }
        table
    })
}

pub use exposure::Exposure;

#[derive(Serialize)]
pub struct Model<'r> {
    pub version: u32,
    pub title: String,
    pub inventory: Vec<Item>,
    pub data_stores: Vec<DataStore>,
    pub exposure: Vec<Exposure>,
    pub clauses: Vec<Clause>,
    pub(crate) suppressed: Vec<JsonSuppressed<'r>>,
    /// Every suppression and waiver, in force or lapsed (OSP 3.3).
    pub accepted_risks: Vec<AcceptedRisk>,
    pub checklist: Vec<Step>,
    pub(crate) findings: Vec<JsonFinding<'r>>,
    /// The undecided results, when asked for (`--show-undecided`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) undecided: Option<Vec<JsonFinding<'r>>>,
}

/// One `module` block on the way from a root module to a resource.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// The module instance's address: `module.app.module.db["audit"]`.
    pub address: String,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub kind: Kind,
    pub role: Option<&'static str>,
    pub environment: Option<String>,
    pub file: String,
    pub line: usize,
    /// The system the resource belongs to: the root module's folder for
    /// Terraform, the file's folder for manifests.
    pub system: String,
    /// The module calls from the root module down to the resource.
    pub module: Vec<Call>,
}

#[derive(Debug, Serialize)]
pub struct DataStore {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub engine: Option<String>,
    pub file: String,
    pub line: usize,
    pub ephi: bool,
    pub environment: Option<String>,
    pub system: String,
    pub module: Vec<Call>,
    /// Days automated backups are kept, as configured or by the provider's
    /// default; `None` when unknown or not applicable.
    pub backup_retention_days: Option<i64>,
    pub controls: BTreeMap<&'static str, Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub verdict: &'static str,
    pub reason: Option<String>,
    pub findings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Clause {
    pub control: String,
    pub rules: Vec<String>,
    pub pass: usize,
    pub fail: usize,
    pub undecided: usize,
}

/// A suppression or waiver: a risk someone accepted, or a finding someone
/// judged false or irrelevant (OSP 3.3).
#[derive(Debug, Serialize)]
pub struct AcceptedRisk {
    /// `inline`, `waiver` or `baseline`.
    pub source: &'static str,
    /// `accepted-risk`, `false-positive`, `unused`; none for the baseline.
    pub status: Option<&'static str>,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    pub expires: Option<String>,
    /// Past its expiry date: it silences nothing any more.
    pub expired: bool,
    /// Where it is written.
    pub file: String,
    pub line: Option<usize>,
    /// Fingerprints of the findings it covers (silenced, or reported
    /// again when expired).
    pub findings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub scope: String,
    pub step: &'static str,
    pub verdict: &'static str,
    pub reason: String,
}

/// A metadata value of a resource: Terraform `tags`, compose `labels`,
/// Kubernetes `metadata.labels`.
fn tag<'a>(resource: &'a Resource, keys: &[&str]) -> Option<&'a str> {
    let attrs = &resource.attributes;
    let maps = [
        attrs.get("tags"),
        attrs.get("labels"),
        attrs.pointer("/settings/0/user_labels"),
        attrs.pointer("/metadata/labels"),
    ];
    maps.into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find_map(|m| keys.iter().find_map(|k| m.get(*k)?.as_str()))
}

const ENVIRONMENTS: &[&str] = &[
    "production",
    "prod",
    "staging",
    "stage",
    "development",
    "dev",
    "qa",
    "test",
    "sandbox",
];

/// The environment named by a word such as a namespace or a tfvars file
/// name: `production`, `shop-prod`, `staging.tfvars`.
fn environment_word(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    let stem = word
        .strip_suffix(".auto.tfvars")
        .or_else(|| word.strip_suffix(".tfvars.json"))
        .or_else(|| word.strip_suffix(".tfvars"))
        .unwrap_or(&word);
    stem.split(['-', '_', '.'])
        .find_map(|part| ENVIRONMENTS.iter().find(|e| **e == part).copied())
}

/// Where the environment of a resource is written, strongest first: the
/// configuration's production scope, an `environment` tag or label, the
/// Kubernetes namespace, the name of a tfvars file its values came from,
/// folder names (`envs/production`, `live/prod`).
fn environment(
    report: &Report,
    resource: &Resource,
    path: &str,
    system: &str,
    tfvars: &[Option<&'static str>],
    production: Option<&crate::config::Production>,
) -> Option<String> {
    if let (Some(production), Some(file)) = (production, report.files.get(resource.file)) {
        if production.contains(resource, &file.path) {
            return Some("production".to_string());
        }
    }
    if let Some(env) = tag(resource, &["environment", "env"]) {
        return Some(env.to_string());
    }
    if let Some(namespace) = resource
        .attributes
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .and_then(environment_word)
    {
        return Some(namespace.to_string());
    }
    let from_tfvars = resource
        .related
        .values()
        .flatten()
        .find_map(|origin| tfvars.get(origin.file).copied().flatten());
    if let Some(env) = from_tfvars {
        return Some(env.to_string());
    }
    [system, path].into_iter().find_map(|path| {
        let folders: Vec<&str> = path.split('/').collect();
        let folders = &folders[..folders.len().saturating_sub(usize::from(path != system))];
        folders.iter().enumerate().find_map(|(i, f)| {
            let after_envs = i > 0 && matches!(folders[i - 1], "envs" | "environments");
            (after_envs || ENVIRONMENTS.contains(f)).then(|| f.to_string())
        })
    })
}

fn role(resource: &Resource, classifier: &Classifier) -> Option<Role> {
    if resource.resource_type == crate::parse::compose::SERVICE_TYPE {
        classifier
            .classify(&topology::service_subject(resource))
            .counted()
    } else if topology::is_workload(resource) {
        topology::pod_role(resource, classifier).map(|(role, _)| role)
    } else {
        None
    }
}

fn folder(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// Findings, undecided results and suppressed findings by (file, resource).
#[derive(Default)]
struct OnResource<'r> {
    findings: Vec<&'r Finding>,
    undecided: Vec<&'r Finding>,
    suppressed: Vec<&'r crate::suppress::Suppressed>,
    /// The rules (indices) that evaluated the resource on known values
    /// and held.
    held: Vec<usize>,
}

/// One resource instance: its file, its address, and for a resource in a
/// module the file of the root module's call (the same module file and
/// address serve every root that calls it).
pub(crate) type Key<'r> = (usize, &'r str, Option<usize>);

fn key_of(r: &Resource) -> Key<'_> {
    (r.file, r.address.as_str(), r.module.first().map(|c| c.file))
}

fn finding_key(f: &Finding) -> Key<'_> {
    (f.file, f.resource.as_str(), f.root_call())
}

type ByResource<'r> = FastMap<Key<'r>, OnResource<'r>>;

fn by_resource(report: &Report) -> ByResource<'_> {
    let mut index = ByResource::default();
    let key = finding_key;
    for f in &report.findings {
        index.entry(key(f)).or_default().findings.push(f);
    }
    for f in &report.undecided {
        index.entry(key(f)).or_default().undecided.push(f);
    }
    for s in &report.suppressed {
        index.entry(key(&s.finding)).or_default().suppressed.push(s);
    }
    for &(rule, at) in &report.held {
        if let Some(r) = report.resources.get(at) {
            index.entry(key_of(r)).or_default().held.push(rule);
        }
    }
    index
}

/// The results on a data store and on the resources that carry its
/// settings (its `context`): an Aptible database's environment and
/// endpoints, an Aurora instance's cluster.
struct Results<'a, 'r> {
    on: Vec<&'a OnResource<'r>>,
    /// Resource types the cells' rules may apply to.
    types: Vec<&'a str>,
}

impl<'r> Results<'_, 'r> {
    /// The results that count for `category`: the store's own, and for
    /// every control but approval (which each resource carries itself)
    /// those of its context.
    fn sources(&self, category: Category) -> &[&OnResource<'r>] {
        if category == Category::Approval {
            &self.on[..1.min(self.on.len())]
        } else {
            &self.on
        }
    }

    fn findings(&self, category: Category) -> impl Iterator<Item = &'r Finding> + '_ {
        self.sources(category)
            .iter()
            .flat_map(|o| o.findings.iter().copied())
            .filter(move |f| f.category == category)
    }

    fn undecided(&self, category: Category) -> Option<&'r Finding> {
        self.sources(category)
            .iter()
            .flat_map(|o| o.undecided.iter().copied())
            .find(|f| f.category == category)
    }

    /// The rules of `category` that held on the store or its context.
    fn held<'s>(&'s self, rules: &'s RuleSet, category: Category) -> Vec<&'s str> {
        let mut held: Vec<&str> = self
            .sources(category)
            .iter()
            .flat_map(|o| o.held.iter())
            .filter_map(|&i| rules.rules.get(i))
            .filter(|rule| rule.category == category)
            .map(|rule| rule.id.as_str())
            .collect();
        held.sort_unstable();
        held.dedup();
        held
    }

    fn suppressed(&self, category: Category) -> Option<&'r crate::suppress::Suppressed> {
        self.sources(category)
            .iter()
            .flat_map(|o| o.suppressed.iter().copied())
            .find(|s| s.finding.category == category)
    }
}

/// The matrix cell of one control for one data store.
fn cell(
    results: &Results<'_, '_>,
    rules: &RuleSet,
    category: Category,
    platform: Option<&String>,
) -> Cell {
    let failing: Vec<String> = results
        .findings(category)
        .map(|f| f.fingerprint.clone())
        .collect();
    if !failing.is_empty() {
        let messages: BTreeSet<&str> = results
            .findings(category)
            .map(|f| f.message.as_str())
            .collect();
        return Cell {
            verdict: "fail",
            reason: Some(messages.into_iter().collect::<Vec<_>>().join(" ")),
            findings: failing,
        };
    }
    if let Some(f) = results.undecided(category) {
        return Cell {
            verdict: "undecided",
            reason: Some(f.message.clone()),
            findings: vec![f.fingerprint.clone()],
        };
    }
    if let Some(s) = results.suppressed(category) {
        let status = s.by.status.map_or("suppressed", |st| st.as_str());
        return Cell {
            verdict: "pass",
            reason: Some(format!(
                "suppressed ({status}): {}",
                s.by.reason.as_deref().unwrap_or("no reason given")
            )),
            findings: vec![s.finding.fingerprint.clone()],
        };
    }
    let held = results.held(rules, category);
    if !held.is_empty() {
        return Cell {
            verdict: "pass",
            reason: Some(format!("checked by {} on known values", held.join(", "))),
            findings: Vec::new(),
        };
    }
    let checking: Vec<&str> = rules
        .rules
        .iter()
        .filter(|rule| {
            let types = if category == Category::Approval {
                &results.types[..1.min(results.types.len())]
            } else {
                &results.types[..]
            };
            rule.category == category && types.iter().any(|t| rule.applies_to(t))
        })
        .map(|rule| rule.id.as_str())
        .collect();
    if let Some(reason) = platform.filter(|_| checking.is_empty()) {
        Cell {
            verdict: "pass",
            reason: Some(format!("platform: {reason}")),
            findings: Vec::new(),
        }
    } else if checking.is_empty() {
        // Nothing in the rule set looks at this: say so, rather than
        // letting silence read as "does not apply".
        Cell {
            verdict: "undecided",
            reason: Some(format!(
                "not checked: no rule covers {} for {}; verify by hand",
                category.as_str(),
                results.types.first().copied().unwrap_or("this type")
            )),
            findings: Vec::new(),
        }
    } else {
        // Rules cover the control for the type, but none evaluated this
        // resource: their `where` left it out (a read replica for the
        // storage and backup rules). Silence is not a pass.
        Cell {
            verdict: "undecided",
            reason: Some(format!(
                "not evaluated: {} {} not check this resource (see `provcheck explain {}`); verify by hand",
                checking.join(", "),
                if checking.len() == 1 { "does" } else { "do" },
                checking[0]
            )),
            findings: Vec::new(),
        }
    }
}

/// Days automated backups are kept: the attribute's value, or the
/// provider's default when it is left out, or 0 when the backup switch is
/// off; `None` when unknown.
fn retention_days(
    resource: &Resource,
    retention: &Retention,
    related: &crate::model::Index<'_>,
) -> Option<i64> {
    let holder = match &retention.via {
        None => resource,
        Some(via) => related
            .referred_by(resource)
            .find(|r| &r.resource_type == via)?,
    };
    if let Some(enabled) = &retention.enabled {
        if holder.is_unknown(enabled) {
            return None;
        }
        if holder.attributes.pointer(enabled) != Some(&Value::Bool(true)) {
            return Some(0);
        }
    }
    if holder.is_unknown(&retention.pointer) {
        return None;
    }
    match holder.attributes.pointer(&retention.pointer) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        None | Some(Value::Null) => retention.default,
        Some(_) => None,
    }
}

/// Builds the inspection model from a finished check.
pub fn build<'r>(report: &'r Report, rules: &'r RuleSet, options: &Options) -> Model<'r> {
    let classifier = Classifier::builtin();
    let table = kinds();
    let checked: Vec<&Resource> = report
        .resources
        .iter()
        .filter(|r| r.kind.is_checked())
        .collect();
    let paths: Vec<String> = report.files.iter().map(SourceFile::display_path).collect();
    // The environment each tfvars file names, by file: looked up for every
    // value a resource takes from one.
    let tfvars: Vec<Option<&'static str>> = paths
        .iter()
        .map(|path| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name.contains(".tfvars")
                .then(|| environment_word(name))
                .flatten()
        })
        .collect();
    let path = |file: usize| paths.get(file).cloned().unwrap_or_default();
    let line = |file: usize, offset: usize| {
        report
            .files
            .get(file)
            .map_or(0, |f| f.position(offset).line)
    };
    let calls = |r: &Resource| -> Vec<Call> {
        r.module
            .iter()
            .map(|c| Call {
                address: c.message.clone(),
                file: path(c.file),
                line: line(c.file, c.span.start),
            })
            .collect()
    };
    // The system of a resource is the folder of its root module's file:
    // one per file, looked up for every resource twice (item, checklist).
    let folders: Vec<String> = paths.iter().map(|p| folder(p)).collect();
    let system = |r: &Resource| {
        let file = r.module.first().map_or(r.file, |c| c.file);
        folders.get(file).cloned().unwrap_or_else(|| folder(""))
    };

    let index = by_resource(report);
    let context_types: BTreeSet<&str> = table
        .values()
        .flat_map(|e| {
            e.context
                .iter()
                .chain(e.retention.iter().flat_map(|r| &r.via))
        })
        .map(String::as_str)
        .collect();
    let context_types: Vec<&str> = context_types.into_iter().collect();
    let related = crate::model::Index::of(&report.resources, &context_types);
    let empty = OnResource::default();
    let container_stores: Vec<&Resource> = checked
        .iter()
        .copied()
        .filter(|r| r.kind == crate::model::BlockKind::Manifest)
        .filter(|r| role(r, &classifier) == Some(Role::Database))
        .collect();
    let attributed = links::attributed(report, &container_stores);

    // One resource's inventory item, and its matrix row when it is a data
    // store: independent of every other resource, so built in parallel.
    let entry = |r: &&Resource| -> (Item, Option<DataStore>) {
        let entry = table.get(&r.resource_type);
        let role = role(r, &classifier);
        let mut kind = entry.map_or(Kind::Other, |e| e.kind);
        if role == Some(Role::Database) {
            kind = Kind::DataStore;
        }
        let file = path(r.file);
        let at = line(r.file, r.header.start);
        let system = system(r);
        let environment = environment(
            report,
            r,
            &file,
            &system,
            &tfvars,
            options.production.as_ref(),
        );
        let store = if kind == Kind::DataStore {
            let ephi = crate::engine::native::ephi::is_ephi(rules, r);
            let engine = match entry.and_then(|e| e.engine.as_deref()) {
                Some(attr) => r
                    .attributes
                    .get(attr)
                    .and_then(Value::as_str)
                    .map(str::to_string),
                None if role == Some(Role::Database) => r
                    .attributes
                    .get("image")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                None => None,
            };
            let context: &[String] = entry.map_or(&[], |e| &e.context);
            let mut on = vec![index.get(&key_of(r)).unwrap_or(&empty)];
            let mut types = vec![r.resource_type.as_str()];
            if let Some(other) = attributed.get(&key_of(r)) {
                on.push(other);
            }
            if topology::is_workload(r) {
                // Every Service is checked for exposing database pods.
                types.push("Service");
            }
            if !context.is_empty() {
                let referred = related.referred_by(r);
                let referring = related.referring_to(r).iter().copied();
                for other in referred.chain(referring) {
                    if context.contains(&other.resource_type) && !std::ptr::eq(other, *r) {
                        on.push(index.get(&key_of(other)).unwrap_or(&empty));
                        types.push(other.resource_type.as_str());
                    }
                }
            }
            let results = Results { on, types };
            let mut controls: BTreeMap<&'static str, Cell> = CONTROLS
                .iter()
                .map(|c| {
                    let platform = entry.and_then(|e| e.platform.get(c.as_str()));
                    (c.as_str(), cell(&results, rules, *c, platform))
                })
                .collect();
            let backup_retention_days = entry
                .and_then(|e| e.retention.as_ref())
                .and_then(|retention| retention_days(r, retention, &related));
            if let (Some(days), Some(backup)) = (
                backup_retention_days,
                controls.get_mut(Category::Backup.as_str()),
            ) {
                let kept = match days {
                    1 => String::from("kept 1 day"),
                    _ => format!("kept {days} days"),
                };
                backup.reason = Some(match backup.reason.take() {
                    Some(reason)
                        if backup.verdict != "pass" || reason.starts_with("suppressed") =>
                    {
                        format!("{kept}; {reason}")
                    }
                    _ => kept,
                });
            }
            Some(DataStore {
                address: r.address.clone(),
                resource_type: r.resource_type.clone(),
                engine,
                file: file.clone(),
                line: at,
                ephi,
                environment: environment.clone(),
                system: system.clone(),
                module: calls(r),
                backup_retention_days,
                controls,
            })
        } else {
            None
        };
        let item = Item {
            address: r.address.clone(),
            resource_type: r.resource_type.clone(),
            kind,
            role: role.map(Role::as_str),
            environment,
            file,
            line: at,
            system,
            module: calls(r),
        };
        (item, store)
    };

    // The parts of the report do not depend on each other: build them on
    // every core (on a large tree the resource walk and the exposure walk
    // each cost as much as a tenth of the check).
    let entries = |found: &'r [Finding]| -> Vec<JsonFinding<'r>> {
        found
            .par_iter()
            .map(|f| finding_entry(report, rules, f))
            .collect()
    };
    let (((inventory, data_stores), exposure), ((findings, undecided), (clauses, checklist))) =
        rayon::join(
            || {
                rayon::join(
                    || {
                        let (inventory, stores): (Vec<Item>, Vec<Option<DataStore>>) =
                            checked.par_iter().map(entry).unzip();
                        (inventory, stores.into_iter().flatten().collect::<Vec<_>>())
                    },
                    || exposure::collect(report),
                )
            },
            || {
                rayon::join(
                    || {
                        (
                            entries(&report.findings),
                            options.show_undecided.then(|| entries(&report.undecided)),
                        )
                    },
                    || {
                        let systems: FastMap<Key<'_>, String> =
                            checked.iter().map(|r| (key_of(r), system(r))).collect();
                        (
                            clauses(report, rules, &checked),
                            checklist(report, &checked, &systems, &paths),
                        )
                    },
                )
            },
        );

    Model {
        version: VERSION,
        title: options.title.clone(),
        inventory,
        data_stores,
        exposure,
        clauses,
        suppressed: report
            .suppressed
            .iter()
            .map(|s| suppressed_entry(report, rules, s))
            .collect(),
        accepted_risks: accepted_risks(report),
        checklist,
        findings,
        undecided,
    }
}

/// Every suppression in force (one entry per suppression, with the
/// findings it silences) and every lapsed one.
fn accepted_risks(report: &Report) -> Vec<AcceptedRisk> {
    let mut by_suppression: BTreeMap<(String, Option<usize>), AcceptedRisk> = BTreeMap::new();
    let entry = |by: &crate::suppress::Suppression, expired: bool| AcceptedRisk {
        source: by.source.as_str(),
        status: by.status.map(|s| s.as_str()),
        rules: Vec::new(),
        reason: by.reason.clone(),
        approver: by.approver.clone(),
        ticket: by.ticket.clone(),
        expires: by.expires.clone(),
        expired,
        file: crate::source::display_path(&by.file),
        line: by.line,
        findings: Vec::new(),
    };
    for s in &report.suppressed {
        let key = (crate::source::display_path(&s.by.file), s.by.line);
        let risk = by_suppression
            .entry(key)
            .or_insert_with(|| entry(&s.by, false));
        let rule = s.finding.rule_id.as_str().to_string();
        if !risk.rules.contains(&rule) {
            risk.rules.push(rule);
        }
        risk.findings.push(s.finding.fingerprint.clone());
    }
    for lapsed in &report.lapsed {
        let key = (crate::source::display_path(&lapsed.by.file), lapsed.by.line);
        let mut risk = entry(&lapsed.by, true);
        risk.rules.clone_from(&lapsed.rules);
        risk.findings.clone_from(&lapsed.findings);
        by_suppression.insert(key, risk);
    }
    by_suppression.into_values().collect()
}

/// Per policy clause: the rules enforcing it and their verdicts summed
/// over the resources each rule checks.
fn clauses(report: &Report, rules: &RuleSet, checked: &[&Resource]) -> Vec<Clause> {
    let mut by_control: BTreeMap<&str, Clause> = BTreeMap::new();
    let mut by_type: FastMap<&str, usize> = Default::default();
    for r in checked {
        *by_type.entry(r.resource_type.as_str()).or_default() += 1;
    }
    let mut failing: FastMap<usize, FastSet<Key<'_>>> = Default::default();
    let mut undecided: FastMap<usize, FastSet<Key<'_>>> = Default::default();
    for f in &report.findings {
        failing.entry(f.rule).or_default().insert(finding_key(f));
    }
    for f in &report.undecided {
        undecided.entry(f.rule).or_default().insert(finding_key(f));
    }
    for (index, rule) in rules.rules.iter().enumerate() {
        let applicable: usize = by_type
            .iter()
            .filter(|(t, _)| rule.applies_to(t))
            .map(|(_, n)| n)
            .sum();
        let fail = failing.get(&index).map_or(0, FastSet::len).min(applicable);
        let undecided = undecided
            .get(&index)
            .map_or(0, FastSet::len)
            .min(applicable - fail);
        for control in &rule.controls {
            let clause = by_control.entry(control).or_insert_with(|| Clause {
                control: control.clone(),
                rules: Vec::new(),
                pass: 0,
                fail: 0,
                undecided: 0,
            });
            clause.rules.push(rule.id.as_str().to_string());
            clause.fail += fail;
            clause.undecided += undecided;
            clause.pass += applicable - fail - undecided;
        }
    }
    by_control.into_values().collect()
}

fn step(scope: &str, step: &'static str, fail: usize, undecided: usize, what: &str) -> Step {
    let (verdict, reason) = if fail > 0 {
        ("fail", format!("{fail} {what} finding(s)"))
    } else if undecided > 0 {
        (
            "undecided",
            format!("{undecided} undecided {what} result(s)"),
        )
    } else {
        ("pass", format!("no {what} findings"))
    };
    Step {
        scope: scope.to_string(),
        step,
        verdict,
        reason,
    }
}

/// The provisioning checklist (CMP 8.3), per system: the root module's
/// folder for Terraform (module resources count for the root that calls
/// them), the file's folder for manifests.
fn checklist(
    report: &Report,
    checked: &[&Resource],
    systems: &FastMap<Key<'_>, String>,
    paths: &[String],
) -> Vec<Step> {
    let scope_of = |f: &Finding| -> String {
        systems
            .get(&finding_key(f))
            .cloned()
            .unwrap_or_else(|| folder(paths.get(f.file).map_or("", String::as_str)))
    };
    let mut scopes: BTreeMap<String, (Vec<&Finding>, Vec<&Finding>)> = checked
        .iter()
        .filter_map(|r| systems.get(&key_of(r)))
        .map(|s| (s.clone(), Default::default()))
        .collect();
    for f in &report.findings {
        if let Some(scope) = scopes.get_mut(&scope_of(f)) {
            scope.0.push(f);
        }
    }
    for f in &report.undecided {
        if let Some(scope) = scopes.get_mut(&scope_of(f)) {
            scope.1.push(f);
        }
    }
    let change = |f: &&Finding| {
        let id = f.rule_id.as_str();
        id.ends_with("change-request-tag-missing") || id.ends_with("change-request-missing")
    };
    let approver = |f: &&Finding| {
        let id = f.rule_id.as_str();
        id.ends_with("approver-tag-missing") || id.ends_with("approver-missing")
    };
    let baseline = |f: &&Finding| f.category != Category::Approval;
    let ephi = |f: &&Finding| f.rule_id.as_str().contains("ephi");
    let severe = |f: &&Finding| f.severity >= Severity::High;
    let mut steps = Vec::new();
    for (scope, (findings, undecided)) in &scopes {
        let count = |keep: &dyn Fn(&&Finding) -> bool| {
            (
                findings.iter().filter(|f| keep(f)).count(),
                undecided.iter().filter(|f| keep(f)).count(),
            )
        };
        let (f, u) = count(&change);
        steps.push(step(
            scope,
            "change request present and well-formed",
            f,
            u,
            "change-request",
        ));
        let (f, u) = count(&approver);
        steps.push(step(scope, "approver present", f, u, "approver"));
        let (f, u) = count(&baseline);
        steps.push(step(scope, "baseline rules pass", f, u, "baseline"));
        let (f, u) = count(&ephi);
        steps.push(step(
            scope,
            "ePHI placed on approved stores",
            f,
            u,
            "ePHI placement",
        ));
        let (f, _) = count(&severe);
        steps.push(step(
            scope,
            "no open critical/high findings",
            f,
            0,
            "critical/high",
        ));
    }
    steps
}
