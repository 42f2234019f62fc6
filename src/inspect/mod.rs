//! The security officer's inspection report (`provcheck inspect`): the
//! posture (inventory, data-store protection matrix, exposure; see
//! [`crate::posture`]) with the policy clauses, the accepted risks and a
//! provisioning checklist, all built from a [`Report`] and the rules that
//! produced it.

pub mod html;
pub mod json;
pub mod markdown;

use std::collections::BTreeMap;

use foldhash::{HashMap as FastMap, HashSet as FastSet};
use rayon::prelude::*;
use serde::Serialize;

use crate::finding::{Category, Finding, Severity};
use crate::model::Resource;
use crate::output::json::{finding_entry, suppressed_entry, JsonFinding, JsonSuppressed};
use crate::ruleset::RuleSet;
use crate::Report;

pub use crate::posture::{
    engine_attribute, exposure, kind_of, Call, Cell, DataStore, Exposure, Item, Kind, CONTROLS,
    EPHI_PLACEMENT,
};
use crate::posture::{finding_key, folder, key_of, sentences, Column, Key, Posture};

/// Version of the report's JSON shape.
pub const VERSION: u32 = 1;

/// What the report is asked for, beside the scan.
#[derive(Debug, Clone)]
pub struct Options {
    pub title: String,
    /// What the configuration marks as production.
    pub production: Option<crate::config::Production>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            title: "Provisioning inspection report".to_string(),
            production: None,
        }
    }
}

#[derive(Serialize)]
pub struct Model<'r> {
    pub version: u32,
    /// The run's provenance (README, "Provenance").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::provenance::Meta>,
    pub title: String,
    /// Files that could not be read or parsed: what they declare is
    /// missing from the report.
    pub errors: Vec<Problem>,
    /// What is worth knowing but is not an error (a module not scanned).
    pub notes: Vec<Problem>,
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
    /// The results that depend on values unknown statically: what could
    /// not be decided, and why.
    pub(crate) undecided: Vec<JsonFinding<'r>>,
    /// How the configured environments compare with production (CMP
    /// 8.2.8), when `environments` are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity: Option<crate::parity::Parity>,
}

impl Model<'_> {
    /// Every undecided matrix cell, store by store in matrix order, then
    /// column order: what could not be decided about the data stores.
    pub fn open_cells(&self) -> impl Iterator<Item = (&DataStore, &'static str, &Cell)> {
        self.data_stores.iter().flat_map(|d| {
            CONTROLS.iter().filter_map(move |c| {
                d.controls
                    .get(c)
                    .filter(|cell| cell.verdict == "undecided")
                    .map(|cell| (d, *c, cell))
            })
        })
    }
}

/// A file that could not be read, or a note on one.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub(crate) fn of(report: &Report, error: &crate::error::FileError) -> Problem {
        Problem {
            file: report.shown_path(&error.path),
            line: match (report.file_for(error), error.span) {
                (Some(file), Some(span)) => Some(file.position(span.start).line),
                _ => None,
            },
            message: error.message.clone(),
        }
    }
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

/// Builds the inspection model from a finished check.
pub fn build<'r>(report: &'r Report, rules: &'r RuleSet, options: &Options) -> Model<'r> {
    let checked = crate::posture::checked(report);
    let entries = |found: &'r [Finding]| -> Vec<JsonFinding<'r>> {
        found
            .par_iter()
            .map(|f| finding_entry(report, rules, f))
            .collect()
    };
    // The posture and the finding lists do not depend on each other:
    // build them on every core.
    let (posture, ((findings, undecided), clauses)) = rayon::join(
        || crate::posture::build(report, rules, options.production.as_ref()),
        || {
            rayon::join(
                || (entries(&report.findings), entries(&report.undecided)),
                || clauses(report, rules, &checked),
            )
        },
    );
    let Posture {
        inventory,
        data_stores,
        exposure,
        systems,
        checked,
        paths,
    } = posture;
    let (checklist, systems) = checklist(report, rules, &checked, &systems, &paths, &data_stores);

    Model {
        version: VERSION,
        meta: report.meta.clone(),
        title: options.title.clone(),
        errors: report
            .errors
            .iter()
            .map(|e| Problem::of(report, e))
            .collect(),
        notes: report
            .notes
            .iter()
            .map(|e| Problem::of(report, e))
            .collect(),
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
        parity: None,
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
    // The resources some rule of the step applies to, each type looked
    // up in the rules once.
    let mut applies: FastMap<&str, bool> = FastMap::default();
    let applicable = tally
        .resources
        .iter()
        .filter(|(_, t)| {
            *applies.entry(t).or_insert_with(|| {
                rules
                    .rules
                    .iter()
                    .any(|rule| kind.counts(rule) && rule.applies_to(t))
            })
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
    // Each system judged on its own, in parallel (a monorepo has
    // thousands), and gathered in order.
    let judged: Vec<(Vec<Step>, SystemVerdict)> = scopes
        .iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(scope, tally)| {
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
            let verdict = SystemVerdict {
                scope: scope.clone(),
                verdict,
                reason,
            };
            (judged, verdict)
        })
        .collect();
    let mut steps = Vec::new();
    let mut verdicts = Vec::with_capacity(judged.len());
    for (judged, verdict) in judged {
        steps.extend(judged);
        verdicts.push(verdict);
    }
    (steps, verdicts)
}
