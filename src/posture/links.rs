//! Findings that belong to a container data store but sit on another
//! object: a Kubernetes Service that exposes the database's pods, a client
//! whose connection string reaches the database without TLS.

use foldhash::HashMap;

use serde_json::Value;

use crate::engine::native::container::topology::{is_workload, pod_labels, service_selects};
use crate::finding::{Category, Finding};
use crate::model::Resource;
use crate::Report;

use super::OnResource;

use super::Key;

fn namespace(resource: &Resource) -> &str {
    resource
        .attributes
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default")
}

fn name(resource: &Resource) -> Option<&str> {
    resource
        .attributes
        .pointer("/metadata/name")
        .and_then(Value::as_str)
}

fn folder(report: &Report, file: usize) -> String {
    let path = report
        .files
        .get(file)
        .map(|f| f.display_path())
        .unwrap_or_default();
    path.rsplit_once('/')
        .map_or(String::new(), |(dir, _)| dir.to_string())
}

/// The host of the first `scheme://` URL on the finding's line.
fn url_host(report: &Report, finding: &Finding) -> Option<String> {
    let file = report.files.get(finding.file)?;
    let line = file.position(finding.span.start).line;
    let text = file.text.lines().nth(line.checked_sub(1)?)?;
    let rest = &text[text.find("://")? + 3..];
    let end = rest
        .find(|c: char| c == '/' || c == '?' || c == '"' || c == '\'' || c.is_whitespace())
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_string())
}

/// For each container data store (by key), the findings on other objects
/// that concern it. `stores` are the data stores of the report.
pub(super) fn attributed<'r>(
    report: &'r Report,
    stores: &[&'r Resource],
) -> HashMap<Key<'r>, OnResource<'r>> {
    let mut out: HashMap<Key<'r>, OnResource<'r>> = HashMap::default();
    let workloads: Vec<&Resource> = stores.iter().copied().filter(|r| is_workload(r)).collect();
    let services: Vec<&Resource> = report
        .resources
        .iter()
        .filter(|r| r.resource_type == "Service")
        .collect();
    // The workloads of each namespace, and the services of each name, in
    // order: looked up, not scanned, per service and per finding (a
    // monorepo holds thousands of each).
    let mut in_namespace: HashMap<&str, Vec<&Resource>> = HashMap::default();
    for w in &workloads {
        in_namespace.entry(namespace(w)).or_default().push(w);
    }
    let mut named: HashMap<&str, Vec<&Resource>> = HashMap::default();
    for s in &services {
        if let Some(n) = name(s) {
            named.entry(n).or_default().push(s);
        }
    }
    // Services by (file, address) → the database workloads they select.
    let mut selected: HashMap<Key<'r>, Vec<&Resource>> = HashMap::default();
    for service in &services {
        let Some(selector) = service
            .attributes
            .pointer("/spec/selector")
            .and_then(Value::as_object)
        else {
            continue;
        };
        let chosen: Vec<&Resource> = in_namespace
            .get(namespace(service))
            .into_iter()
            .flatten()
            .copied()
            .filter(|w| service_selects(selector, &pod_labels(w)))
            .collect();
        if !chosen.is_empty() {
            selected.insert((service.file, service.address.as_str(), None), chosen);
        }
    }
    let compose: HashMap<(String, &str), &Resource> = stores
        .iter()
        .filter_map(|r| {
            let service = r.address.strip_prefix("compose:")?;
            Some(((folder(report, r.file), service), *r))
        })
        .collect();
    // Which stores a finding on another object concerns.
    let targets = |finding: &'r Finding| -> Vec<Key<'r>> {
        if finding.category == Category::Approval {
            return Vec::new();
        }
        if let Some(chosen) = selected.get(&(finding.file, finding.resource.as_str(), None)) {
            return chosen
                .iter()
                .map(|w| (w.file, w.address.as_str(), None))
                .collect();
        }
        if finding.category != Category::EncryptionInTransit {
            return Vec::new();
        }
        let Some(host) = url_host(report, finding) else {
            return Vec::new();
        };
        let short = host.split('.').next().unwrap_or(&host);
        if let Some(store) = compose.get(&(folder(report, finding.file), short)) {
            return vec![(store.file, store.address.as_str(), None)];
        }
        named
            .get(short)
            .into_iter()
            .flatten()
            .flat_map(|s| {
                selected
                    .get(&(s.file, s.address.as_str(), None))
                    .into_iter()
                    .flatten()
            })
            .map(|w| (w.file, w.address.as_str(), None))
            .collect()
    };
    for finding in &report.findings {
        for key in targets(finding) {
            out.entry(key).or_default().findings.push(finding);
        }
    }
    for finding in &report.undecided {
        for key in targets(finding) {
            out.entry(key).or_default().undecided.push(finding);
        }
    }
    for s in &report.suppressed {
        for key in targets(&s.finding) {
            out.entry(key).or_default().suppressed.push(s);
        }
    }
    out
}
