//! The security officer's inspection report (`provcheck inspect`): an
//! inventory, a data-store protection matrix, the exposure, the policy
//! clauses and a provisioning checklist, all built from a [`Report`] and
//! the rules that produced it — never a second implementation of a rule.

pub mod exposure;
pub mod html;
pub mod json;
pub mod markdown;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            title: "Provisioning inspection report".to_string(),
            show_undecided: false,
        }
    }
}

/// The kind of a resource type, from `data/resource-kinds.yaml`; `None`
/// for types the table does not name (reported as `other`).
pub fn kind_of(resource_type: &str) -> Option<Kind> {
    kinds().get(resource_type).map(|e| e.kind)
}

struct KindEntry {
    kind: Kind,
    engine: Option<String>,
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
                let engine = entry
                    .get("engine")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                table.insert(resource_type.clone(), KindEntry { kind, engine });
            }
        }
        table
    })
}

#[derive(Serialize)]
pub struct Model<'r> {
    pub version: u32,
    pub title: String,
    pub inventory: Vec<Item>,
    pub data_stores: Vec<DataStore>,
    pub exposure: Vec<Exposure>,
    pub clauses: Vec<Clause>,
    pub(crate) suppressed: Vec<JsonSuppressed<'r>>,
    pub checklist: Vec<Step>,
    pub(crate) findings: Vec<JsonFinding<'r>>,
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
    pub controls: BTreeMap<&'static str, Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub verdict: &'static str,
    pub reason: Option<String>,
    pub findings: Vec<String>,
}

pub use exposure::Exposure;

#[derive(Debug, Serialize)]
pub struct Clause {
    pub control: String,
    pub rules: Vec<String>,
    pub pass: usize,
    pub fail: usize,
    pub undecided: usize,
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
    "sandbox",
];

fn environment(resource: &Resource, path: &str) -> Option<String> {
    if let Some(env) = tag(resource, &["environment", "env"]) {
        return Some(env.to_string());
    }
    let folders: Vec<&str> = path.split('/').collect();
    let folders = &folders[..folders.len().saturating_sub(1)];
    folders.iter().enumerate().find_map(|(i, f)| {
        let after_envs = i > 0 && matches!(folders[i - 1], "envs" | "environments");
        (after_envs || ENVIRONMENTS.contains(f)).then(|| f.to_string())
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
}

type ByResource<'r> = std::collections::HashMap<(usize, &'r str), OnResource<'r>>;

fn by_resource(report: &Report) -> ByResource<'_> {
    let mut index = ByResource::new();
    fn key(f: &Finding) -> (usize, &str) {
        (f.file, f.resource.as_str())
    }
    for f in &report.findings {
        index.entry(key(f)).or_default().findings.push(f);
    }
    for f in &report.undecided {
        index.entry(key(f)).or_default().undecided.push(f);
    }
    for s in &report.suppressed {
        index.entry(key(&s.finding)).or_default().suppressed.push(s);
    }
    index
}

/// The matrix cell of one control for one data store.
fn cell(on: Option<&OnResource<'_>>, rules: &RuleSet, r: &Resource, category: Category) -> Cell {
    let empty = OnResource::default();
    let on = on.unwrap_or(&empty);
    let failing: Vec<String> = on
        .findings
        .iter()
        .filter(|f| f.category == category)
        .map(|f| f.fingerprint.clone())
        .collect();
    if !failing.is_empty() {
        return Cell {
            verdict: "fail",
            reason: None,
            findings: failing,
        };
    }
    if let Some(f) = on.undecided.iter().find(|f| f.category == category) {
        return Cell {
            verdict: "undecided",
            reason: Some(f.message.clone()),
            findings: vec![f.fingerprint.clone()],
        };
    }
    if let Some(s) = on
        .suppressed
        .iter()
        .find(|s| s.finding.category == category)
    {
        let status = s.by.status.map_or("suppressed", |st| st.as_str());
        return Cell {
            verdict: "pass",
            reason: Some(format!(
                "suppressed: {status} — {}",
                s.by.reason.as_deref().unwrap_or("no reason given")
            )),
            findings: vec![s.finding.fingerprint.clone()],
        };
    }
    let checked = rules
        .rules
        .iter()
        .any(|rule| rule.category == category && rule.applies_to(&r.resource_type));
    Cell {
        verdict: if checked { "pass" } else { "n/a" },
        reason: None,
        findings: Vec::new(),
    }
}

/// Builds the inspection model from a finished check.
pub fn build<'r>(report: &'r Report, rules: &'r RuleSet, options: &Options) -> Model<'r> {
    let title = options.title.as_str();
    let classifier = Classifier::builtin();
    let table = kinds();
    let checked: Vec<&Resource> = report
        .resources
        .iter()
        .filter(|r| r.kind.is_checked())
        .collect();
    let path = |file: usize| {
        report
            .files
            .get(file)
            .map(SourceFile::display_path)
            .unwrap_or_default()
    };
    let line = |file: usize, offset: usize| {
        report
            .files
            .get(file)
            .map_or(0, |f| f.position(offset).line)
    };

    let index = by_resource(report);
    let mut inventory = Vec::new();
    let mut data_stores = Vec::new();
    for r in &checked {
        let entry = table.get(&r.resource_type);
        let role = role(r, &classifier);
        let mut kind = entry.map_or(Kind::Other, |e| e.kind);
        if role == Some(Role::Database) {
            kind = Kind::DataStore;
        }
        let file = path(r.file);
        let at = line(r.file, r.header.start);
        if kind == Kind::DataStore {
            let ephi = tag(r, &["data_classification", "data-classification"])
                .is_some_and(|v| v.eq_ignore_ascii_case("ephi"));
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
            data_stores.push(DataStore {
                address: r.address.clone(),
                resource_type: r.resource_type.clone(),
                engine,
                file: file.clone(),
                line: at,
                ephi,
                controls: CONTROLS
                    .iter()
                    .map(|c| {
                        let on = index.get(&(r.file, r.address.as_str()));
                        (c.as_str(), cell(on, rules, r, *c))
                    })
                    .collect(),
            });
        }
        inventory.push(Item {
            address: r.address.clone(),
            resource_type: r.resource_type.clone(),
            kind,
            role: role.map(Role::as_str),
            environment: environment(r, &file),
            file,
            line: at,
        });
    }

    let exposure = exposure::collect(report);

    Model {
        version: VERSION,
        title: title.to_string(),
        inventory,
        data_stores,
        exposure,
        clauses: clauses(report, rules, &checked),
        suppressed: report
            .suppressed
            .iter()
            .map(|s| suppressed_entry(report, rules, s))
            .collect(),
        checklist: checklist(report, &checked),
        findings: report
            .findings
            .iter()
            .map(|f| finding_entry(report, rules, f))
            .collect(),
    }
}

/// Per policy clause: the rules enforcing it and their verdicts summed
/// over the resources each rule checks.
fn clauses(report: &Report, rules: &RuleSet, checked: &[&Resource]) -> Vec<Clause> {
    let mut by_control: BTreeMap<&str, Clause> = BTreeMap::new();
    for (index, rule) in rules.rules.iter().enumerate() {
        let applicable = checked
            .iter()
            .filter(|r| rule.applies_to(&r.resource_type))
            .count();
        let resources = |list: &[Finding]| {
            list.iter()
                .filter(|f| f.rule == index)
                .map(|f| (f.file, f.resource.as_str()))
                .collect::<BTreeSet<_>>()
                .len()
        };
        let fail = resources(&report.findings).min(applicable);
        let undecided = resources(&report.undecided).min(applicable - fail);
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

/// The provisioning checklist (CMP 8.3), per folder of checked resources.
fn checklist(report: &Report, checked: &[&Resource]) -> Vec<Step> {
    let folders: Vec<String> = report
        .files
        .iter()
        .map(|f| folder(&f.display_path()))
        .collect();
    let folder_of = |file: usize| folders.get(file).map_or(".", String::as_str);
    let mut scopes: BTreeMap<&str, (Vec<&Finding>, Vec<&Finding>)> = checked
        .iter()
        .map(|r| (folder_of(r.file), Default::default()))
        .collect();
    for f in &report.findings {
        if let Some(scope) = scopes.get_mut(folder_of(f.file)) {
            scope.0.push(f);
        }
    }
    for f in &report.undecided {
        if let Some(scope) = scopes.get_mut(folder_of(f.file)) {
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
    let any = |_: &&Finding| true;
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
        let (f, u) = count(&any);
        steps.push(step(scope, "baseline rules pass", f, u, "open"));
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
