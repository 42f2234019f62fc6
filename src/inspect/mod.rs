//! The security officer's inspection report (`provcheck inspect`): an
//! inventory, a data-store protection matrix, the exposure, the policy
//! clauses and a provisioning checklist, all built from a [`Report`] and
//! the rules that produced it — never a second implementation of a rule.

pub mod coverage;
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

/// The columns of the data-store matrix, in order: the protection
/// controls (rule categories), then whether ePHI sits on an approved
/// store.
pub const CONTROLS: [&str; 7] = [
    "encryption-at-rest",
    "encryption-in-transit",
    "private-network",
    "backup",
    "audit-logging",
    "approval",
    EPHI_PLACEMENT,
];

/// The matrix column of the ePHI placement rules (CMP 8.3.4, OSP 3.1.2).
pub const EPHI_PLACEMENT: &str = "ephi-placement";

/// The rules one matrix column is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Category(Category),
    EphiPlacement,
}

impl Column {
    fn of(key: &str) -> Column {
        match key {
            "encryption-at-rest" => Column::Category(Category::EncryptionAtRest),
            "encryption-in-transit" => Column::Category(Category::EncryptionInTransit),
            "private-network" => Column::Category(Category::PrivateNetwork),
            "backup" => Column::Category(Category::Backup),
            "audit-logging" => Column::Category(Category::AuditLogging),
            "approval" => Column::Category(Category::Approval),
            _ => Column::EphiPlacement,
        }
    }

    fn includes(self, rule: &crate::ruleset::Rule) -> bool {
        match self {
            Column::Category(category) => rule.category == category,
            Column::EphiPlacement => matches!(
                &rule.check,
                crate::ruleset::Check::Native(crate::engine::native::Native::EphiPlacement(_))
            ),
        }
    }

    /// Whether only the store's own results count: approval and ePHI
    /// placement are judged on each resource itself, the other controls
    /// also on the resources carrying the store's settings.
    fn own_only(self) -> bool {
        matches!(
            self,
            Column::Category(Category::Approval) | Column::EphiPlacement
        )
    }
}

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
    /// Controls that do not apply to the type (or to some of its
    /// engines), with the reason.
    not_applicable: Vec<NotApplicable>,
    /// For a copy of another store, how it names the source.
    source: Option<SourceOf>,
}

/// How a copy of a data store (a read replica) names its source, and the
/// controls whose verdict is the source's.
struct SourceOf {
    attribute: String,
    match_by: Option<String>,
    controls: Vec<String>,
}

/// Controls that cannot apply: a Memcached node has no storage to encrypt
/// or back up; a snapshot copy has no network.
struct NotApplicable {
    controls: Vec<String>,
    /// The engines it holds for (every engine when empty).
    engines: Vec<String>,
    reason: String,
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
                let strings = |v: Option<&Value>| -> Vec<String> {
                    v.and_then(Value::as_array)
                        .map(|list| {
                            list.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let not_applicable = entry
                    .get("not_applicable")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|na| {
                                Some(NotApplicable {
                                    controls: strings(na.get("controls")),
                                    engines: strings(na.get("engines")),
                                    reason: text(na, "reason")?,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let source = entry.get("source").map(|s| SourceOf {
                    attribute: text(s, "attribute").unwrap_or_default(),
                    match_by: text(s, "match_by"),
                    controls: strings(s.get("controls")),
                });
                table.insert(
                    resource_type.clone(),
                    KindEntry {
                        kind,
                        engine: text(entry, "engine"),
                        retention,
                        context,
                        platform,
                        source,
                        not_applicable,
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
    /// The run's provenance (README, "Provenance").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::provenance::Meta>,
    pub title: String,
    pub inventory: Vec<Item>,
    pub data_stores: Vec<DataStore>,
    pub exposure: Vec<Exposure>,
    pub clauses: Vec<Clause>,
    pub(crate) suppressed: Vec<JsonSuppressed<'r>>,
    /// Every suppression and waiver, in force or lapsed (OSP 3.3).
    pub accepted_risks: Vec<AcceptedRisk>,
    pub checklist: Vec<Step>,
    /// Each system's verdict from its checklist.
    pub systems: Vec<SystemVerdict>,
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
    /// The other files that write the same object (a compose service
    /// that `compose.override.yaml` extends): one store, one row.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<String>,
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
    /// `pass`, `fail`, `undecided`, `accepted` (a finding silenced by a
    /// suppression or waiver: the risk was accepted, the control is not
    /// met) or `n/a` (ePHI placement of a store holding no ePHI).
    pub verdict: &'static str,
    pub reason: Option<String>,
    pub findings: Vec<String>,
    /// The data store whose verdict this is, when it is not this one's
    /// own: a read replica's backups are its source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
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
    /// The rules (indices) that passed on the resource but may not apply
    /// to it, and why.
    maybe: Vec<(usize, &'r str)>,
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
    for (rule, at, why) in &report.maybe {
        if let Some(r) = report.resources.get(*at) {
            index
                .entry(key_of(r))
                .or_default()
                .maybe
                .push((*rule, why.as_str()));
        }
    }
    index
}

/// The results on a data store and on the resources that carry its
/// settings (its `context`): an Aptible database's environment and
/// endpoints, an Aurora instance's cluster.
struct Results<'a, 'r> {
    on: Vec<&'a OnResource<'r>>,
    /// How many of `on`, from the first, are the store itself (one, or
    /// more for one object written in several files).
    own: usize,
    /// Resource types the cells' rules may apply to.
    types: Vec<&'a str>,
    rules: &'r RuleSet,
}

impl<'r> Results<'_, 'r> {
    /// The results that count for `column`: the store's own, and for
    /// the controls carried by other resources those of its context.
    fn sources(&self, column: Column) -> &[&OnResource<'r>] {
        if column.own_only() {
            &self.on[..self.own.min(self.on.len())]
        } else {
            &self.on
        }
    }

    fn types(&self, column: Column) -> &[&str] {
        if column.own_only() {
            &self.types[..1.min(self.types.len())]
        } else {
            &self.types
        }
    }

    fn member(&self, column: Column, rule: usize) -> bool {
        self.rules
            .rules
            .get(rule)
            .is_some_and(|r| column.includes(r))
    }

    fn findings(&self, column: Column) -> impl Iterator<Item = &'r Finding> + '_ {
        self.sources(column)
            .iter()
            .flat_map(|o| o.findings.iter().copied())
            .filter(move |f| self.member(column, f.rule))
    }

    fn undecided(&self, column: Column) -> impl Iterator<Item = &'r Finding> + '_ {
        self.sources(column)
            .iter()
            .flat_map(|o| o.undecided.iter().copied())
            .filter(move |f| self.member(column, f.rule))
    }

    /// The rules of `column` that held on the store or its context.
    fn held(&self, column: Column) -> Vec<&'r str> {
        let mut held: Vec<&str> = self
            .sources(column)
            .iter()
            .flat_map(|o| o.held.iter())
            .filter(|&&i| self.member(column, i))
            .filter_map(|&i| self.rules.rules.get(i))
            .map(|rule| rule.id.as_str())
            .collect();
        held.sort_unstable();
        held.dedup();
        held
    }

    /// The rules of `column` that passed but may not apply, with why.
    fn maybe(&self, column: Column) -> Vec<(&'r str, &'r str)> {
        let mut maybe: Vec<(&str, &str)> = self
            .sources(column)
            .iter()
            .flat_map(|o| o.maybe.iter())
            .filter(|(i, _)| self.member(column, *i))
            .filter_map(|&(i, why)| Some((self.rules.rules.get(i)?.id.as_str(), why)))
            .collect();
        maybe.sort_unstable();
        maybe.dedup();
        maybe
    }

    fn suppressed(&self, column: Column) -> Vec<&'r crate::suppress::Suppressed> {
        self.sources(column)
            .iter()
            .flat_map(|o| o.suppressed.iter().copied())
            .filter(|s| self.member(column, s.finding.rule))
            .collect()
    }
}

/// The sentences of a cell's reason, each once, in order.
fn sentences<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let parts: BTreeSet<&str> = parts.collect();
    parts.into_iter().collect::<Vec<_>>().join(" ")
}

/// Why a suppressed finding does not fail its cell: who accepted which
/// risk, until when.
fn acceptance(s: &crate::suppress::Suppressed) -> String {
    let by = &s.by;
    let mut reason = format!(
        "risk accepted ({}): {}",
        by.status.map_or("suppressed", |st| st.as_str()),
        by.reason.as_deref().unwrap_or("no reason given")
    );
    if let Some(approver) = &by.approver {
        reason.push_str(&format!("; approved by {approver}"));
    }
    if let Some(ticket) = &by.ticket {
        reason.push_str(&format!("; {ticket}"));
    }
    if let Some(expires) = &by.expires {
        reason.push_str(&format!("; until {expires}"));
    }
    format!("{reason} ({})", s.finding.message)
}

/// The matrix cell of one column for one data store. A cell passes only
/// when a rule of the column evaluated the store (or the resource
/// carrying its setting) on known values and held, with no rule of the
/// column failing, undecided or passing on a resource it may not apply
/// to; or when the platform guarantees the control.
fn cell(results: &Results<'_, '_>, column: Column, platform: Option<&String>) -> Cell {
    let rules = results.rules;
    let failing: Vec<&Finding> = results.findings(column).collect();
    if !failing.is_empty() {
        return Cell {
            verdict: "fail",
            reason: Some(sentences(failing.iter().map(|f| f.message.as_str()))),
            findings: failing.iter().map(|f| f.fingerprint.clone()).collect(),
            from: None,
        };
    }
    let accepted = results.suppressed(column);
    if !accepted.is_empty() {
        let reasons: Vec<String> = accepted.iter().map(|s| acceptance(s)).collect();
        return Cell {
            verdict: "accepted",
            reason: Some(sentences(reasons.iter().map(String::as_str))),
            findings: accepted
                .iter()
                .map(|s| s.finding.fingerprint.clone())
                .collect(),
            from: None,
        };
    }
    let undecided: Vec<&Finding> = results.undecided(column).collect();
    if !undecided.is_empty() {
        return Cell {
            verdict: "undecided",
            reason: Some(sentences(undecided.iter().map(|f| f.message.as_str()))),
            findings: undecided.iter().map(|f| f.fingerprint.clone()).collect(),
            from: None,
        };
    }
    let maybe = results.maybe(column);
    if !maybe.is_empty() {
        let reasons: Vec<String> = maybe
            .iter()
            .map(|(rule, why)| format!("{rule} passed, but {why}."))
            .collect();
        return Cell {
            verdict: "undecided",
            reason: Some(sentences(reasons.iter().map(String::as_str))),
            findings: Vec::new(),
            from: None,
        };
    }
    let held = results.held(column);
    if !held.is_empty() {
        return Cell {
            verdict: "pass",
            reason: Some(format!("checked by {} on known values", held.join(", "))),
            findings: Vec::new(),
            from: None,
        };
    }
    let types = results.types(column);
    let checking: Vec<&str> = rules
        .rules
        .iter()
        .filter(|rule| column.includes(rule) && types.iter().any(|t| rule.applies_to(t)))
        .map(|rule| rule.id.as_str())
        .collect();
    let name = match column {
        Column::Category(category) => category.as_str(),
        Column::EphiPlacement => EPHI_PLACEMENT,
    };
    let (verdict, reason) = if let Some(reason) = platform.filter(|_| checking.is_empty()) {
        ("pass", format!("platform: {reason}"))
    } else if checking.is_empty() {
        // Nothing in the rule set looks at this: say so, rather than
        // letting silence read as "does not apply".
        (
            "undecided",
            format!(
                "not checked: no rule covers {name} for {}; verify by hand",
                types.first().copied().unwrap_or("this type")
            ),
        )
    } else {
        // Rules cover the control for the type, but none evaluated this
        // resource: their `where` left it out (a read replica for the
        // storage and backup rules). Silence is not a pass.
        (
            "undecided",
            format!(
                "not evaluated: {} {} not check this resource (see `provcheck explain {}`); verify by hand",
                checking.join(", "),
                if checking.len() == 1 { "does" } else { "do" },
                checking[0]
            ),
        )
    };
    Cell {
        verdict,
        reason: Some(reason),
        findings: Vec::new(),
        from: None,
    }
}

/// Objects written in several files of one folder — a compose service in
/// `compose.yaml` and `compose.override.yaml`, a Kubernetes object
/// patched in a second file — are lowered once per file with the same
/// merged attributes. The report shows each once: in the file that
/// writes most of it, with the results of every copy.
#[derive(Default)]
struct Overlays<'r> {
    /// The other copies, by the copy shown.
    copies: FastMap<Key<'r>, Vec<&'r Resource>>,
    /// The copies not shown.
    hidden: FastSet<Key<'r>>,
}

impl<'r> Overlays<'r> {
    fn of(checked: &[&'r Resource], paths: &[String]) -> Overlays<'r> {
        let mut groups: FastMap<(&str, &str, &str), Vec<&'r Resource>> = FastMap::default();
        for r in checked {
            if r.kind != crate::model::BlockKind::Manifest {
                continue;
            }
            let path = paths.get(r.file).map_or("", String::as_str);
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            groups
                .entry((dir, r.resource_type.as_str(), r.address.as_str()))
                .or_default()
                .push(r);
        }
        let mut overlays = Overlays::default();
        for members in groups.into_values().filter(|m| m.len() > 1) {
            // Copies of one object have the same merged attributes; two
            // objects of one name in two files of a folder are two.
            let Some(shown) = members
                .iter()
                .copied()
                .max_by_key(|r| (r.spans.len(), std::cmp::Reverse(r.file)))
            else {
                continue;
            };
            let copies: Vec<&Resource> = members
                .iter()
                .copied()
                .filter(|r| !std::ptr::eq(*r, shown) && r.attributes == shown.attributes)
                .collect();
            if copies.is_empty() {
                continue;
            }
            overlays.hidden.extend(copies.iter().map(|r| key_of(r)));
            overlays.copies.insert(key_of(shown), copies);
        }
        overlays
    }
}

/// Gives the copies of a data store (read replicas) their source's
/// verdict on the controls that are the source's, with a link to it; a
/// copy whose source is not among the files checked is undecided there.
fn from_sources(
    shown: &[&Resource],
    stores: &mut [Option<DataStore>],
    related: &crate::model::Index<'_>,
) {
    let table = kinds();
    let at: FastMap<Key<'_>, usize> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| (key_of(r), i))
        .collect();
    let mut updates = Vec::new();
    for (i, r) in shown.iter().enumerate() {
        let Some(source_of) = table.get(&r.resource_type).and_then(|e| e.source.as_ref()) else {
            continue;
        };
        if stores[i].is_none() {
            continue;
        }
        let pointer = crate::model::push_pointer("", &source_of.attribute);
        let unknown = r.is_unknown(&pointer);
        let literal = r.attributes.pointer(&pointer).and_then(Value::as_str);
        if !unknown && literal.is_none() {
            continue;
        }
        let same_type =
            |other: &&Resource| other.resource_type == r.resource_type && !std::ptr::eq(*other, *r);
        let mut source = related.referred_by(r).find(same_type);
        if source.is_none() {
            if let (Some(name), Some(by)) = (literal, source_of.match_by.as_deref()) {
                source = related.all().filter(same_type).find(|other| {
                    other.scope == r.scope
                        && other.attributes.get(by).and_then(Value::as_str) == Some(name)
                });
            }
        }
        let found = source.and_then(|s| at.get(&key_of(s)).copied());
        let written = if unknown {
            r.unknown_source(&pointer)
        } else {
            format!("`{}`", literal.unwrap_or_default())
        };
        for control in &source_of.controls {
            updates.push((i, control.clone(), found, written.clone()));
        }
    }
    for (i, control, found, written) in updates {
        let inherited = found.and_then(|j| {
            let source = stores[j].as_ref()?;
            Some((
                source.address.clone(),
                source.controls.get(control.as_str())?.clone(),
                source.backup_retention_days,
            ))
        });
        let Some(store) = stores[i].as_mut() else {
            continue;
        };
        let Some(cell) = store.controls.get_mut(control.as_str()) else {
            continue;
        };
        if cell.verdict == "fail" {
            continue;
        }
        match inherited {
            Some((address, source_cell, days)) => {
                *cell = Cell {
                    reason: Some(format!(
                        "as its source database {address}: {}",
                        source_cell.reason.as_deref().unwrap_or(source_cell.verdict)
                    )),
                    from: Some(address),
                    ..source_cell
                };
                if control == Category::Backup.as_str() {
                    store.backup_retention_days = days;
                }
            }
            None => {
                *cell = Cell {
                    verdict: "undecided",
                    reason: Some(format!(
                        "a copy's {control} is its source's, and its source ({written}) is not among the files checked"
                    )),
                    findings: Vec::new(),
                    from: None,
                };
                if control == Category::Backup.as_str() {
                    store.backup_retention_days = None;
                }
            }
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
    let paths: Vec<String> = report
        .files
        .iter()
        .map(|f| report.shown_path(&f.path))
        .collect();
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
        .chain(
            table
                .iter()
                .filter(|(_, e)| e.source.is_some())
                .map(|(t, _)| t),
        )
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
    let overlays = Overlays::of(&checked, &paths);
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
            let copies = overlays
                .copies
                .get(&key_of(r))
                .map_or(&[][..], Vec::as_slice);
            on.extend(
                copies
                    .iter()
                    .map(|c| index.get(&key_of(c)).unwrap_or(&empty)),
            );
            let own = on.len();
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
            let results = Results {
                on,
                own,
                types,
                rules,
            };
            let mut controls: BTreeMap<&'static str, Cell> = CONTROLS
                .iter()
                .map(|&key| {
                    let column = Column::of(key);
                    let platform = entry.and_then(|e| e.platform.get(key));
                    let mut cell = cell(&results, column, platform);
                    if column == Column::EphiPlacement && !ephi && cell.findings.is_empty() {
                        cell = Cell {
                            verdict: "n/a",
                            reason: Some(
                                "holds no ePHI: not classified data_classification = ephi"
                                    .to_string(),
                            ),
                            findings: Vec::new(),
                            from: None,
                        };
                    }
                    let moot = entry.and_then(|e| {
                        e.not_applicable.iter().find(|na| {
                            na.controls.iter().any(|n| n == key)
                                && (na.engines.is_empty()
                                    || engine.as_ref().is_some_and(|en| {
                                        na.engines.iter().any(|m| m.eq_ignore_ascii_case(en))
                                    }))
                        })
                    });
                    // A finding still shows: the rule knows better than
                    // the table.
                    if let Some(na) = moot.filter(|_| cell.verdict != "fail") {
                        cell = Cell {
                            verdict: "n/a",
                            reason: Some(na.reason.clone()),
                            findings: Vec::new(),
                            from: None,
                        };
                    }
                    (key, cell)
                })
                .collect();
            let backup_retention_days = entry
                .and_then(|e| e.retention.as_ref())
                .and_then(|retention| retention_days(r, retention, &related));
            if let (Some(days), Some(backup)) = (
                backup_retention_days,
                controls
                    .get_mut(Category::Backup.as_str())
                    .filter(|c| c.verdict != "n/a"),
            ) {
                let kept = match days {
                    1 => String::from("kept 1 day"),
                    _ => format!("kept {days} days"),
                };
                // The retention is always said, with the verdict's reason: a
                // store whose own retention is short may pass through an AWS
                // Backup plan, and the reader must see which.
                backup.reason = Some(match backup.reason.take() {
                    Some(reason) => format!("{kept}; {reason}"),
                    None => kept,
                });
            }
            Some(DataStore {
                address: r.address.clone(),
                resource_type: r.resource_type.clone(),
                engine,
                file: file.clone(),
                line: at,
                also_in: copies.iter().map(|c| path(c.file)).collect(),
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
    let (((inventory, data_stores), exposure), ((findings, undecided), clauses)) = rayon::join(
        || {
            rayon::join(
                || {
                    let shown: Vec<&Resource> = checked
                        .iter()
                        .copied()
                        .filter(|r| !overlays.hidden.contains(&key_of(r)))
                        .collect();
                    let (inventory, mut stores): (Vec<Item>, Vec<Option<DataStore>>) =
                        shown.par_iter().map(entry).unzip();
                    from_sources(&shown, &mut stores, &related);
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
                || clauses(report, rules, &checked),
            )
        },
    );

    let systems: FastMap<Key<'_>, String> =
        checked.iter().map(|r| (key_of(r), system(r))).collect();
    let (checklist, systems) = checklist(report, rules, &checked, &systems, &paths, &data_stores);

    Model {
        version: VERSION,
        meta: report.meta.clone(),
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
        systems,
        findings,
        undecided,
    }
}

/// Every suppression in force (one entry per suppression, with the
/// findings it silences) and every lapsed one.
fn accepted_risks(report: &Report) -> Vec<AcceptedRisk> {
    let mut by_suppression: BTreeMap<(String, Option<usize>), AcceptedRisk> = BTreeMap::new();
    let shown = |by: &crate::suppress::Suppression| report.shown_path(&by.file);
    let entry = |by: &crate::suppress::Suppression, expired: bool| AcceptedRisk {
        source: by.source.as_str(),
        status: by.status.map(|s| s.as_str()),
        rules: Vec::new(),
        reason: by.reason.clone(),
        approver: by.approver.clone(),
        ticket: by.ticket.clone(),
        expires: by.expires.clone(),
        expired,
        file: shown(by),
        line: by.line,
        findings: Vec::new(),
    };
    for s in &report.suppressed {
        let key = (shown(&s.by), s.by.line);
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
        let key = (shown(&lapsed.by), lapsed.by.line);
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

/// What a checklist step is made of: the rules it counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StepKind {
    ChangeRequest,
    Approver,
    Baseline,
    Ephi,
    Severe,
}

impl StepKind {
    const ALL: [StepKind; 5] = [
        StepKind::ChangeRequest,
        StepKind::Approver,
        StepKind::Baseline,
        StepKind::Ephi,
        StepKind::Severe,
    ];

    fn title(self) -> &'static str {
        match self {
            StepKind::ChangeRequest => "change request present and well-formed",
            StepKind::Approver => "approver present",
            StepKind::Baseline => "baseline rules pass",
            StepKind::Ephi => "ePHI placed on approved stores",
            StepKind::Severe => "no open critical/high findings",
        }
    }

    /// Whether the step counts `rule`'s results.
    fn counts(self, rule: &crate::ruleset::Rule) -> bool {
        use crate::engine::native::Native;
        use crate::ruleset::Check;
        let slot = match &rule.check {
            Check::Native(Native::RequiredTag(tag)) => tag.slot.as_deref(),
            _ => None,
        };
        let ephi = Column::EphiPlacement.includes(rule);
        match self {
            StepKind::ChangeRequest => slot == Some("change-request"),
            StepKind::Approver => slot == Some("approver"),
            StepKind::Baseline => rule.category != Category::Approval && !ephi,
            StepKind::Ephi => ephi,
            StepKind::Severe => rule.severity >= Severity::High,
        }
    }
}

/// A system's verdict (CMP 8.3.5): `ready` when every step of its
/// checklist passes (or does not apply), `not ready` when one fails,
/// `incomplete` when one is undecided or a file of it could not be read.
#[derive(Debug, Serialize)]
pub struct SystemVerdict {
    pub scope: String,
    pub verdict: &'static str,
    pub reason: String,
}

/// What one system holds, for its checklist.
#[derive(Default)]
struct Tally<'r> {
    findings: Vec<&'r Finding>,
    undecided: Vec<&'r Finding>,
    /// (rule, resource) pairs that held.
    held: Vec<(usize, Key<'r>)>,
    /// The resources of the system, with their types.
    resources: Vec<(Key<'r>, &'r str)>,
    ephi_stores: usize,
    /// The system's data stores, with their matrix cells.
    stores: Vec<&'r DataStore>,
    unreadable: usize,
}

/// One checklist step of one system, judged from what the rules of the
/// step did on the system's resources: a pass needs evidence that was
/// checked, not only the absence of findings.
fn judge_step(kind: StepKind, scope: &str, tally: &Tally<'_>, rules: &RuleSet) -> Step {
    let counts = |rule: usize| rules.rules.get(rule).is_some_and(|r| kind.counts(r));
    let fail: Vec<&Finding> = tally
        .findings
        .iter()
        .copied()
        .filter(|f| counts(f.rule))
        .collect();
    let undecided: Vec<&Finding> = tally
        .undecided
        .iter()
        .copied()
        .filter(|f| counts(f.rule))
        .collect();
    let held: FastSet<Key<'_>> = tally
        .held
        .iter()
        .filter(|(rule, _)| counts(*rule))
        .map(|(_, key)| *key)
        .collect();
    // The resources some rule of the step applies to.
    let applicable = tally
        .resources
        .iter()
        .filter(|(_, t)| {
            rules
                .rules
                .iter()
                .any(|rule| kind.counts(rule) && rule.applies_to(t))
        })
        .count();
    let resources = |n: usize| if n == 1 { "resource" } else { "resources" };
    let distinct = |found: &[&Finding]| {
        found
            .iter()
            .map(|f| finding_key(f))
            .collect::<FastSet<_>>()
            .len()
    };
    let (verdict, reason) = if !fail.is_empty() {
        let n = distinct(&fail);
        (
            "fail",
            format!(
                "{} finding(s) on {n} {}: {}",
                fail.len(),
                resources(n),
                sentences(fail.iter().map(|f| f.rule_id.as_str()))
            ),
        )
    } else if !undecided.is_empty() {
        let n = distinct(&undecided);
        (
            "undecided",
            format!(
                "{} result(s) on {n} {} depend on values not known statically: {}",
                undecided.len(),
                resources(n),
                sentences(undecided.iter().map(|f| f.rule_id.as_str()))
            ),
        )
    } else if kind == StepKind::Ephi && tally.ephi_stores == 0 {
        (
            "n/a",
            "no data store of this system is classified as holding ePHI".to_string(),
        )
    } else if held.is_empty() {
        (
            "undecided",
            match kind {
                StepKind::ChangeRequest | StepKind::Approver => {
                    "no resource of this system carries approval evidence provcheck can check \
                     (tags, labels or a `# policy:` comment); record the approval by hand"
                        .to_string()
                }
                _ => "no rule of this step evaluated a resource of this system on known values"
                    .to_string(),
            },
        )
    } else if matches!(kind, StepKind::ChangeRequest | StepKind::Approver)
        && held.len() < applicable
    {
        (
            "undecided",
            format!(
                "checked on {} of the {applicable} resources that take approval evidence; \
                 the others were not evaluated",
                held.len()
            ),
        )
    } else {
        let n = held.len();
        (
            "pass",
            match kind {
                StepKind::ChangeRequest => {
                    format!(
                        "present and well-formed on every one of {n} checked {}",
                        resources(n)
                    )
                }
                StepKind::Approver => {
                    format!("present on every one of {n} checked {}", resources(n))
                }
                StepKind::Ephi => format!(
                    "{} ePHI {} on approved stores",
                    tally.ephi_stores,
                    if tally.ephi_stores == 1 {
                        "store is"
                    } else {
                        "stores are"
                    }
                ),
                _ => format!("no findings; rules held on {n} {}", resources(n)),
            },
        )
    };
    Step {
        scope: scope.to_string(),
        step: kind.title(),
        verdict,
        reason,
    }
}

/// The step that every data store of a system is protected: every cell
/// of the matrix decided and passing (or not applicable).
fn judge_stores(scope: &str, stores: &[&DataStore]) -> Step {
    let cells = |verdict: &str| -> Vec<String> {
        stores
            .iter()
            .flat_map(|d| {
                d.controls
                    .iter()
                    .filter(move |(_, c)| c.verdict == verdict)
                    .map(move |(control, _)| format!("{} {control}", d.address))
            })
            .collect()
    };
    let list = |cells: &[String]| {
        let shown: Vec<&str> = cells.iter().take(5).map(String::as_str).collect();
        let more = cells.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    let (fail, accepted, undecided) = (cells("fail"), cells("accepted"), cells("undecided"));
    let (verdict, reason) = if stores.is_empty() {
        ("n/a", "the system declares no data store".to_string())
    } else if !fail.is_empty() {
        (
            "fail",
            format!("{} control(s) fail: {}", fail.len(), list(&fail)),
        )
    } else if !undecided.is_empty() {
        (
            "undecided",
            format!(
                "{} control(s) not decided or not checked: {}; see the matrix",
                undecided.len(),
                list(&undecided)
            ),
        )
    } else if !accepted.is_empty() {
        (
            "pass",
            format!(
                "every control passes or is an accepted risk ({})",
                list(&accepted)
            ),
        )
    } else {
        (
            "pass",
            format!("every control of {} data store(s) passes", stores.len()),
        )
    };
    Step {
        scope: scope.to_string(),
        step: "every data store protected",
        verdict,
        reason,
    }
}

/// The provisioning checklist (CMP 8.3), per system: the root module's
/// folder for Terraform (module resources count for the root that calls
/// them), the file's folder for manifests; and each system's verdict.
fn checklist(
    report: &Report,
    rules: &RuleSet,
    checked: &[&Resource],
    systems: &FastMap<Key<'_>, String>,
    paths: &[String],
    stores: &[DataStore],
) -> (Vec<Step>, Vec<SystemVerdict>) {
    let scope_of = |f: &Finding| -> String {
        systems
            .get(&finding_key(f))
            .cloned()
            .unwrap_or_else(|| folder(paths.get(f.file).map_or("", String::as_str)))
    };
    let mut scopes: BTreeMap<String, Tally<'_>> = BTreeMap::new();
    for r in checked {
        if let Some(system) = systems.get(&key_of(r)) {
            scopes
                .entry(system.clone())
                .or_default()
                .resources
                .push((key_of(r), r.resource_type.as_str()));
        }
    }
    for f in &report.findings {
        if let Some(tally) = scopes.get_mut(&scope_of(f)) {
            tally.findings.push(f);
        }
    }
    for f in &report.undecided {
        if let Some(tally) = scopes.get_mut(&scope_of(f)) {
            tally.undecided.push(f);
        }
    }
    for &(rule, at) in &report.held {
        let Some(r) = report.resources.get(at) else {
            continue;
        };
        let key = key_of(r);
        if let Some(tally) = systems.get(&key).and_then(|s| scopes.get_mut(s)) {
            tally.held.push((rule, key));
        }
    }
    for store in stores {
        if let Some(tally) = scopes.get_mut(&store.system) {
            tally.ephi_stores += usize::from(store.ephi);
            tally.stores.push(store);
        }
    }
    for (scope, tally) in scopes.iter_mut() {
        let inside = format!("{scope}/");
        tally.unreadable = report
            .errors
            .iter()
            .map(|e| crate::source::display_path(&e.path))
            .filter(|p| p.starts_with(&inside) || scope == ".")
            .count();
    }
    let mut steps = Vec::new();
    let mut verdicts = Vec::new();
    for (scope, tally) in &scopes {
        let mut judged: Vec<Step> = StepKind::ALL
            .iter()
            .map(|&kind| judge_step(kind, scope, tally, rules))
            .collect();
        judged.push(judge_stores(scope, &tally.stores));
        let failing: Vec<&str> = judged
            .iter()
            .filter(|s| s.verdict == "fail")
            .map(|s| s.step)
            .collect();
        let open: Vec<&str> = judged
            .iter()
            .filter(|s| s.verdict == "undecided")
            .map(|s| s.step)
            .collect();
        let (verdict, reason) = if !failing.is_empty() {
            ("not ready", format!("failing: {}", failing.join("; ")))
        } else if !open.is_empty() || tally.unreadable > 0 {
            let mut why = Vec::new();
            if !open.is_empty() {
                why.push(format!("undecided: {}", open.join("; ")));
            }
            if tally.unreadable > 0 {
                why.push(format!(
                    "{} file(s) could not be read or checked",
                    tally.unreadable
                ));
            }
            ("incomplete", why.join("; "))
        } else {
            ("ready", "every step passes".to_string())
        };
        verdicts.push(SystemVerdict {
            scope: scope.clone(),
            verdict,
            reason,
        });
        steps.extend(judged);
    }
    (steps, verdicts)
}
