//! What no rule checks: the data stores (by `data/resource-kinds.yaml`,
//! or containers classified as databases) with a control for which no
//! rule in force covers the store's type or the types carrying its
//! settings. These are the matrix cells the report calls "not checked";
//! `provcheck check` counts them in its summary and lists them with
//! `--show-undecided`, so that silence never reads as a pass.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{key_of, role, Column, Kind, Overlays, CONTROLS, EPHI_PLACEMENT};
use crate::engine::native::container::topology;
use crate::kinds::kinds;
use crate::model::Resource;
use crate::roles::Role;
use crate::ruleset::RuleSet;
use crate::Report;

/// One data store with controls no rule checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchecked {
    /// Index into [`Report::resources`].
    pub resource: usize,
    /// The controls, in the matrix's order.
    pub controls: Vec<&'static str>,
}

/// Every data store of the report with a control no rule in `rules`
/// covers, in resource order. A control the platform guarantees or the
/// type cannot have (`platform`, `not_applicable` in the kind table) is
/// not missing; ePHI placement is asked only of stores holding ePHI. An
/// object written in several files of a folder (a compose service and its
/// override) is listed once, where the report shows it.
pub fn unchecked(report: &Report, rules: &RuleSet) -> Vec<Unchecked> {
    let table = kinds();
    let classifier = std::sync::Arc::clone(&rules.classifier);
    let context_types: Vec<&str> = table
        .values()
        .flat_map(|e| {
            e.context
                .iter()
                .chain(e.retention.iter().flat_map(|r| &r.via))
        })
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let related = crate::model::Index::of(&report.resources, &context_types);
    // A copy of an object written in several files is shown once, in the
    // file the report shows it in.
    let checked = super::checked(report);
    let paths: Vec<String> = report
        .files
        .iter()
        .map(|f| report.shown_path(&f.path))
        .collect();
    let overlays = Overlays::of(&checked, &paths);
    let mut out = Vec::new();
    for (at, r) in report.resources.iter().enumerate() {
        if !r.kind.is_checked() {
            continue;
        }
        let entry = table.get(&r.resource_type);
        let is_store = match entry.map(|e| e.kind) {
            Some(Kind::DataStore) => true,
            _ => {
                r.kind == crate::model::BlockKind::Manifest
                    && role(r, &classifier) == Some(Role::Database)
            }
        };
        if !is_store {
            continue;
        }
        if overlays.hidden.contains(&key_of(r)) {
            continue;
        }
        let mut types: Vec<&str> = vec![r.resource_type.as_str()];
        if topology::is_workload(r) {
            types.push("Service");
        }
        if let Some(e) = entry.filter(|e| !e.context.is_empty()) {
            for other in related
                .referred_by(r)
                .chain(related.referring_to(r).iter().copied())
            {
                if e.context.contains(&other.resource_type) {
                    types.push(other.resource_type.as_str());
                }
            }
        }
        let engine = engine(r, entry.and_then(|e| e.engine.as_deref()));
        let ephi = crate::engine::native::ephi::is_ephi(rules, r);
        let controls: Vec<&'static str> = CONTROLS
            .iter()
            .copied()
            .filter(|&key| {
                let column = Column::of(key);
                if key == EPHI_PLACEMENT && !ephi {
                    return false;
                }
                if let Some(e) = entry {
                    if e.platform.contains_key(key) {
                        return false;
                    }
                    let moot = e.not_applicable.iter().any(|na| {
                        na.controls.iter().any(|n| n == key)
                            && (na.engines.is_empty()
                                || engine.is_some_and(|en| {
                                    na.engines.iter().any(|m| m.eq_ignore_ascii_case(en))
                                }))
                    });
                    if moot {
                        return false;
                    }
                }
                // The store's own type for approval and ePHI placement,
                // its context's too for the others (as the matrix).
                let types = if column.own_only() {
                    &types[..1]
                } else {
                    &types[..]
                };
                !rules
                    .rules
                    .iter()
                    .any(|rule| column.includes(rule) && types.iter().any(|t| rule.applies_to(t)))
            })
            .collect();
        if !controls.is_empty() {
            out.push(Unchecked {
                resource: at,
                controls,
            });
        }
    }
    out
}

fn engine<'r>(r: &'r Resource, attribute: Option<&str>) -> Option<&'r str> {
    attribute
        .and_then(|a| r.attributes.get(a))
        .and_then(Value::as_str)
}
