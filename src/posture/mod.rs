//! The posture of a checked tree: what it provisions (an inventory with
//! kinds, roles, environments and systems), how each data store is
//! protected (one verdict per control, from the rules' results, never a
//! second implementation of a rule) and what is reachable from outside.
//! `inspect` renders it; `diff` and `parity` compare two of them.

pub mod coverage;
pub mod exposure;
mod links;

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap as FastMap, HashSet as FastSet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::engine::native::container::topology;
use crate::finding::{Category, Finding};
pub use crate::kinds::{engine_attribute, kind_of, Kind};
use crate::kinds::{kinds, Retention};
use crate::model::Resource;
use crate::roles::{Classifier, Role};
use crate::ruleset::RuleSet;
use crate::Report;

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
pub(crate) enum Column {
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

    pub(crate) fn includes(self, rule: &crate::ruleset::Rule) -> bool {
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

pub use exposure::Exposure;

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
    /// By control, ordered by name: a JSON object, as a BTreeMap wrote
    /// it, in the memory of a vector.
    pub controls: litemap::LiteMap<&'static str, Cell>,
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

/// A metadata value of a resource: Terraform `tags`, compose `labels`,
/// Kubernetes `metadata.labels`.
pub(crate) fn tag<'a>(resource: &'a Resource, keys: &[&str]) -> Option<&'a str> {
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
        .flat_map(|origins| origins.iter())
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

pub(crate) fn folder(path: &str) -> String {
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

pub(crate) fn key_of(r: &Resource) -> Key<'_> {
    (r.file, r.address.as_str(), r.module.first().map(|c| c.file))
}

pub(crate) fn finding_key(f: &Finding) -> Key<'_> {
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
pub(crate) fn sentences<'a>(parts: impl Iterator<Item = &'a str>) -> String {
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

/// What a tree provisions and how it is protected: the model `inspect`,
/// `diff` and `parity` read, so that no command derives a verdict twice.
pub struct Posture<'r> {
    pub inventory: Vec<Item>,
    pub data_stores: Vec<DataStore>,
    pub exposure: Vec<Exposure>,
    /// The system (the root module's folder, or the manifest's) of every
    /// checked resource.
    pub(crate) systems: FastMap<Key<'r>, String>,
    /// The resources checked.
    pub(crate) checked: Vec<&'r Resource>,
    /// Every file's path as shown, by file index.
    pub(crate) paths: Vec<String>,
}

/// The posture of the resources `report` checked: inventory, data
/// stores with their control verdicts, and exposure.
pub fn build<'r>(
    report: &'r Report,
    rules: &'r RuleSet,
    production: Option<&crate::config::Production>,
) -> Posture<'r> {
    let classifier = std::sync::Arc::clone(&rules.classifier);
    let table = kinds();
    let checked = checked(report);
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
                address: c.message.to_string(),
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
        let environment = environment(report, r, &file, &system, &tfvars, production);
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
            let mut controls: litemap::LiteMap<&'static str, Cell> = CONTROLS
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

    // The resource walk and the exposure walk are independent, and on a
    // large tree each costs as much as a tenth of the check.
    let ((inventory, data_stores), exposure) = rayon::join(
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
    );
    let systems: FastMap<Key<'_>, String> =
        checked.iter().map(|r| (key_of(r), system(r))).collect();
    Posture {
        inventory,
        data_stores,
        exposure,
        systems,
        checked,
        paths,
    }
}

/// Where a resource or data store is matched across two runs (`diff`,
/// `parity`): its system (root folder, relative to its run's root) and
/// its address.
pub(crate) type Match = (String, String);

impl<'r> Posture<'r> {
    /// The checked resources by system and address; the first of an
    /// object's copies (copies repeat only across overlay files).
    pub(crate) fn resources_by_address(&self) -> BTreeMap<Match, &'r Resource> {
        let mut out = BTreeMap::new();
        for r in &self.checked {
            let system = self.systems.get(&key_of(r)).cloned().unwrap_or_default();
            out.entry((system, r.address.clone())).or_insert(*r);
        }
        out
    }

    /// The data stores by system and address.
    pub(crate) fn stores_by_address(&self) -> BTreeMap<Match, &DataStore> {
        let mut out = BTreeMap::new();
        for d in &self.data_stores {
            out.entry((d.system.clone(), d.address.clone()))
                .or_insert(d);
        }
        out
    }
}

/// A resource's file, as reports show it, and the line of its header.
pub(crate) fn located(report: &Report, r: &Resource) -> (String, usize) {
    report.files.get(r.file).map_or((String::new(), 0), |f| {
        (report.shown_path(&f.path), f.position(r.header.start).line)
    })
}

/// The resources a run checked (managed resources and manifests, not
/// data sources or variables).
pub(crate) fn checked(report: &Report) -> Vec<&Resource> {
    report
        .resources
        .iter()
        .filter(|r| r.kind.is_checked())
        .collect()
}
