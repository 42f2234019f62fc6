//! `provcheck diff`: what a change does to a system's protection (CMP
//! 8.4.2, OSP 3.1.3). Both sides are full runs (configuration, evaluation,
//! suppressions as of each side); their postures ([`crate::posture`]) are
//! compared, never re-derived: findings match by fingerprint (never by
//! line), resources and data stores by address within the same system
//! (root folder), exposure by kind and address.

pub mod render;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::FailOn;
use crate::finding::Severity;
use crate::inspect::Problem;
use crate::model::Resource;
use crate::output::json::{finding_entry, JsonFinding};
use crate::posture::{self, DataStore, Exposure, CONTROLS};
use crate::ruleset::RuleSet;
use crate::Report;

/// Version of the JSON shape.
pub const VERSION: u32 = 1;

/// One side of the comparison, as the reader named it.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The folder, or `REV` for `--git`.
    pub label: String,
    /// The commit, for a git revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Serialize)]
pub struct Diff<'r> {
    pub version: u32,
    /// The head run's provenance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::provenance::Meta>,
    pub base: Side,
    pub head: Side,
    pub findings: Findings<'r>,
    pub data_stores: Stores,
    pub exposure: Exposures,
    pub resources: Resources,
    /// The change-request evidence on the added and changed resources:
    /// which tickets cover the change (CMP 8.2.9).
    pub approvals: Vec<Approval>,
    /// Files either side could not read: the comparison is incomplete.
    pub errors: Vec<SideProblem>,
    pub summary: Summary,
    /// The severities of the added findings, for the exit code.
    #[serde(skip)]
    added_severities: Vec<Severity>,
}

#[derive(Serialize)]
pub struct Findings<'r> {
    pub(crate) added: Vec<JsonFinding<'r>>,
    pub(crate) resolved: Vec<JsonFinding<'r>>,
    pub unchanged: usize,
}

/// A data store, resource or the like, by where it is written.
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub file: String,
    pub line: usize,
}

#[derive(Serialize)]
pub struct Stores {
    pub added: Vec<Place>,
    pub removed: Vec<Place>,
    /// Controls whose verdict changed, weakened ones first.
    pub changed: Vec<ControlChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlChange {
    pub address: String,
    /// The system (root folder) of the store: a module's store is one
    /// per root that calls it.
    pub system: String,
    pub file: String,
    pub line: usize,
    pub control: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    /// Whether the change lowers the protection (pass → fail, pass →
    /// undecided, ...).
    pub weakened: bool,
    /// The head's reason for its verdict.
    pub reason: Option<String>,
    /// The head's findings behind the verdict.
    pub findings: Vec<String>,
}

#[derive(Serialize)]
pub struct Exposures {
    pub added: Vec<Exposure>,
    pub removed: Vec<Exposure>,
}

#[derive(Serialize)]
pub struct Resources {
    pub added: Vec<Place>,
    pub removed: Vec<Place>,
    /// Resources whose attributes differ.
    pub changed: Vec<Place>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub address: String,
    pub file: String,
    pub line: usize,
    pub change_request: Option<String>,
    pub approved_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SideProblem {
    /// `base`, `head` or `both`.
    pub side: &'static str,
    #[serde(flatten)]
    pub problem: Problem,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    /// `weakens` (a control weakened, an exposure or a finding added),
    /// `strengthens` (only resolved findings or strengthened controls),
    /// `neutral`, or `incomplete` (a side has unreadable files).
    pub verdict: &'static str,
    pub findings_added: usize,
    pub findings_resolved: usize,
    pub findings_unchanged: usize,
    pub controls_weakened: usize,
    pub controls_strengthened: usize,
    pub data_stores_added: usize,
    pub data_stores_removed: usize,
    pub exposure_added: usize,
    pub exposure_removed: usize,
    pub resources_added: usize,
    pub resources_removed: usize,
    pub resources_changed: usize,
}

/// How much a verdict protects: a move down is a weakening.
fn strength(verdict: &str) -> u8 {
    match verdict {
        "pass" | "n/a" => 3,
        "undecided" => 2,
        "accepted" => 1,
        _ => 0,
    }
}

fn place_of_store(d: &DataStore) -> Place {
    Place {
        address: d.address.clone(),
        resource_type: d.resource_type.clone(),
        file: d.file.clone(),
        line: d.line,
    }
}

fn place_of(report: &Report, r: &Resource) -> Place {
    let (file, line) = posture::located(report, r);
    Place {
        address: r.address.clone(),
        resource_type: r.resource_type.clone(),
        file,
        line,
    }
}

/// One side of the comparison: its run, the rules it ran (each side's
/// configuration may select others), and how the reader named it.
pub struct Run<'r> {
    pub report: &'r Report,
    pub rules: &'r RuleSet,
    pub side: Side,
    /// The side's folder, as given and as resolved: values such as
    /// `path.module` hold it, and differ between sides only by it.
    pub roots: Vec<String>,
}

/// A resource's attributes with its side's folder taken out of every
/// value, so that `path.module` reads the same on both sides.
pub(crate) fn without_roots(value: &serde_json::Value, roots: &[String]) -> String {
    let mut text = serde_json::to_string(value).unwrap_or_default();
    for root in roots.iter().filter(|r| r.len() > 1) {
        text = text.replace(root.as_str(), "");
    }
    text
}

/// Compares the `base` run with the `head` run.
pub fn compare<'r>(base: Run<'r>, head: Run<'r>) -> Diff<'r> {
    let (base_rules, head_rules) = (base.rules, head.rules);
    let (base_side, head_side) = (base.side, head.side);
    let (base_roots, head_roots) = (base.roots, head.roots);
    let (base, head) = (base.report, head.report);
    let (before, after) = rayon::join(
        || posture::build(base, base_rules, None),
        || posture::build(head, head_rules, None),
    );

    // Findings, by fingerprint.
    let base_prints: BTreeSet<&str> = base
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let head_prints: BTreeSet<&str> = head
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let new: Vec<&crate::finding::Finding> = head
        .findings
        .iter()
        .filter(|f| !base_prints.contains(f.fingerprint.as_str()))
        .collect();
    let added_severities = new.iter().map(|f| f.severity).collect();
    let added: Vec<JsonFinding<'r>> = new
        .iter()
        .map(|f| finding_entry(head, head_rules, f))
        .collect();
    let resolved: Vec<JsonFinding<'r>> = base
        .findings
        .iter()
        .filter(|f| !head_prints.contains(f.fingerprint.as_str()))
        .map(|f| finding_entry(base, base_rules, f))
        .collect();
    let unchanged = head_prints.intersection(&base_prints).count();

    // Data stores and their controls.
    let (old_stores, new_stores) = (before.stores_by_address(), after.stores_by_address());
    let mut changed: Vec<ControlChange> = Vec::new();
    for (key, d) in &new_stores {
        let Some(old) = old_stores.get(key) else {
            continue;
        };
        for control in CONTROLS {
            let (Some(was), Some(is)) = (old.controls.get(control), d.controls.get(control)) else {
                continue;
            };
            if was.verdict != is.verdict {
                changed.push(ControlChange {
                    address: d.address.clone(),
                    system: d.system.clone(),
                    file: d.file.clone(),
                    line: d.line,
                    control,
                    before: was.verdict,
                    after: is.verdict,
                    weakened: strength(is.verdict) < strength(was.verdict),
                    reason: is.reason.clone(),
                    findings: is.findings.clone(),
                });
            }
        }
    }
    changed.sort_by_key(|c| !c.weakened);
    let stores_added: Vec<Place> = new_stores
        .iter()
        .filter(|(k, _)| !old_stores.contains_key(*k))
        .map(|(_, d)| place_of_store(d))
        .collect();
    let stores_removed: Vec<Place> = old_stores
        .iter()
        .filter(|(k, _)| !new_stores.contains_key(*k))
        .map(|(_, d)| place_of_store(d))
        .collect();

    // Exposure, by kind and address.
    let exposure_key = |e: &Exposure| (e.kind, e.address.clone());
    let old_exposure: BTreeSet<_> = before.exposure.iter().map(exposure_key).collect();
    let new_exposure: BTreeSet<_> = after.exposure.iter().map(exposure_key).collect();
    let exposure_added: Vec<Exposure> = after
        .exposure
        .iter()
        .filter(|e| !old_exposure.contains(&exposure_key(e)))
        .cloned()
        .collect();
    let exposure_removed: Vec<Exposure> = before
        .exposure
        .iter()
        .filter(|e| !new_exposure.contains(&exposure_key(e)))
        .cloned()
        .collect();

    // Resources, and the approvals on what the change touches.
    let (old_resources, new_resources) =
        (before.resources_by_address(), after.resources_by_address());
    let mut resources_added = Vec::new();
    let mut resources_changed = Vec::new();
    let mut approvals = Vec::new();
    for (key, r) in &new_resources {
        let touched = match old_resources.get(key) {
            None => {
                resources_added.push(place_of(head, r));
                true
            }
            Some(old)
                if old.attributes != r.attributes
                    && without_roots(&old.attributes, &base_roots)
                        != without_roots(&r.attributes, &head_roots) =>
            {
                resources_changed.push(place_of(head, r));
                true
            }
            Some(_) => false,
        };
        if touched {
            let place = place_of(head, r);
            approvals.push(Approval {
                address: place.address,
                file: place.file,
                line: place.line,
                change_request: posture::tag(r, &["change_request"]).map(str::to_string),
                approved_by: posture::tag(r, &["approved_by"]).map(str::to_string),
            });
        }
    }
    let resources_removed: Vec<Place> = old_resources
        .iter()
        .filter(|(k, _)| !new_resources.contains_key(*k))
        .map(|(_, r)| place_of(base, r))
        .collect();

    // A file broken on both sides in the same way is listed once.
    let head_errors: Vec<Problem> = head.errors.iter().map(|e| Problem::of(head, e)).collect();
    let same =
        |a: &Problem, b: &Problem| a.file == b.file && a.line == b.line && a.message == b.message;
    let mut errors: Vec<SideProblem> = Vec::new();
    for problem in base.errors.iter().map(|e| Problem::of(base, e)) {
        let side = if head_errors.iter().any(|h| same(h, &problem)) {
            "both"
        } else {
            "base"
        };
        errors.push(SideProblem { side, problem });
    }
    for problem in head_errors {
        if !errors.iter().any(|e| same(&e.problem, &problem)) {
            errors.push(SideProblem {
                side: "head",
                problem,
            });
        }
    }

    let weakened = changed.iter().filter(|c| c.weakened).count();
    let strengthened = changed.len() - weakened;
    let verdict = if !errors.is_empty() {
        "incomplete"
    } else if weakened > 0 || !exposure_added.is_empty() || !added.is_empty() {
        "weakens"
    } else if strengthened > 0 || !resolved.is_empty() || !exposure_removed.is_empty() {
        "strengthens"
    } else {
        "neutral"
    };
    let summary = Summary {
        verdict,
        findings_added: added.len(),
        findings_resolved: resolved.len(),
        findings_unchanged: unchanged,
        controls_weakened: weakened,
        controls_strengthened: strengthened,
        data_stores_added: stores_added.len(),
        data_stores_removed: stores_removed.len(),
        exposure_added: exposure_added.len(),
        exposure_removed: exposure_removed.len(),
        resources_added: resources_added.len(),
        resources_removed: resources_removed.len(),
        resources_changed: resources_changed.len(),
    };
    Diff {
        version: VERSION,
        meta: head.meta.clone(),
        base: base_side,
        head: head_side,
        findings: Findings {
            added,
            resolved,
            unchanged,
        },
        data_stores: Stores {
            added: stores_added,
            removed: stores_removed,
            changed,
        },
        exposure: Exposures {
            added: exposure_added,
            removed: exposure_removed,
        },
        resources: Resources {
            added: resources_added,
            removed: resources_removed,
            changed: resources_changed,
        },
        approvals,
        errors,
        summary,
        added_severities,
    }
}

impl Diff<'_> {
    /// The fingerprints of the findings the change adds.
    pub fn added_fingerprints(&self) -> Vec<String> {
        self.findings
            .added
            .iter()
            .map(|f| f.fingerprint.to_string())
            .collect()
    }

    /// Whether the change fails the run: an added finding at or above
    /// `fail_on`, or a control that went from pass to fail.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.added_severities.iter().any(|s| fail_on.fails(*s))
            || self
                .data_stores
                .changed
                .iter()
                .any(|c| c.before == "pass" && c.after == "fail")
    }
}
