//! `provcheck parity`: whether staging mirrors production (CMP 8.2.8).
//! Each environment is a full run with its own folder as the root; their
//! postures ([`crate::posture`]) are compared, never re-derived: resources
//! match by address within the same system (relative to each
//! environment's root), data stores compare their control verdicts, and
//! matched resources the attributes that `data/parity.yaml` calls
//! significant for their family.

pub mod render;
mod table;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diff::without_roots;
use crate::inspect::Problem;
use crate::model::Resource;
use crate::posture::{self, Posture, CONTROLS};
use crate::ruleset::RuleSet;
use crate::Report;

pub use table::{family_of, Family};

/// Version of the JSON shape.
pub const VERSION: u32 = 1;

/// The environment every other is compared against, when the
/// configuration names environments.
pub use crate::config::REFERENCE_ENVIRONMENT as REFERENCE;

/// One environment's run: its report, the rules it ran, its name and its
/// folder as given and as resolved (values such as `path.module` hold it,
/// and differ between environments only by it).
pub struct Run<'r> {
    pub report: &'r Report,
    pub rules: &'r RuleSet,
    pub name: String,
    /// The folder, as the reader named it.
    pub root: String,
    pub roots: Vec<String>,
}

/// What the comparison is asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also list sizes and counts.
    pub all: bool,
    /// Attribute names (or pointers) never compared: `parity.ignore`.
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    pub root: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    pub version: u32,
    /// The reference environment's provenance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::provenance::Meta>,
    /// The environment the others are compared against.
    pub reference: String,
    pub environments: Vec<Environment>,
    pub missing: Vec<Missing>,
    pub controls: Vec<ControlDifference>,
    pub differences: Vec<Difference>,
    /// Files an environment could not read: the comparison is incomplete.
    pub errors: Vec<EnvironmentProblem>,
    pub summary: Summary,
}

/// A resource one environment has and the other lacks.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Whether it is a data store (a missing one fails the run).
    pub data_store: bool,
    pub present_in: String,
    pub absent_from: String,
    /// Where the environment that has it writes it.
    pub file: String,
    pub line: usize,
}

/// A matched data store whose verdict on a control differs.
#[derive(Debug, Clone, Serialize)]
pub struct ControlDifference {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub control: &'static str,
    /// By environment name.
    pub verdicts: BTreeMap<String, &'static str>,
    /// Each environment's reason for its verdict, when it gives one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
}

/// A matched resource whose attribute differs.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The attribute's name, or its JSON pointer when nested; `placement`
    /// for the network placement (`public` or `private`).
    pub attribute: String,
    /// `significant`, or `size` (listed only with `--all`).
    pub significance: &'static str,
    /// By environment name; `null` when the attribute is left out.
    pub values: BTreeMap<String, Value>,
    /// A version's major numbers, when they differ: `major version 15
    /// against 16`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentProblem {
    pub environment: String,
    #[serde(flatten)]
    pub problem: Problem,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `mirrors`, `differs` (a control verdict or a data store differs),
    /// `drifts` (only other resources or attributes differ), or
    /// `incomplete` (an environment has unreadable files).
    pub verdict: &'static str,
    pub missing: usize,
    pub missing_data_stores: usize,
    pub controls: usize,
    pub differences: usize,
    pub major_versions: usize,
}

impl Parity {
    /// Whether the environments differ in what fails the run: a control
    /// verdict, or a data store one of them lacks.
    pub fn fails(&self) -> bool {
        !self.controls.is_empty() || self.missing.iter().any(|m| m.data_store)
    }
}

/// The addresses (by system) the posture lists as reachable from outside.
fn exposed(posture: &Posture<'_>) -> std::collections::BTreeSet<String> {
    posture
        .exposure
        .iter()
        .filter(|e| e.certain)
        .map(|e| e.address.clone())
        .collect()
}

/// The major number of a version: `15` of `15.4`, `8` of `8.0.mysql_aurora`,
/// `POSTGRES_15` -> `15`.
fn major(version: &Value) -> Option<String> {
    let text = match version {
        Value::String(s) => s.as_str(),
        Value::Number(n) => return n.as_f64().map(|f| (f.trunc() as i64).to_string()),
        _ => return None,
    };
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(digits)
}

/// An attribute's value for comparison: `None` when unknown statically
/// (nothing can be said), else the value (`null` when left out).
fn value_at(r: &Resource, pointer: &str) -> Option<Value> {
    if r.is_unknown(pointer) {
        return None;
    }
    Some(
        r.attributes
            .pointer(pointer)
            .cloned()
            .unwrap_or(Value::Null),
    )
}

/// Compares every environment in `others` with `reference`.
pub fn compare(reference: Run<'_>, others: Vec<Run<'_>>, options: &Options) -> Parity {
    use rayon::prelude::*;
    let mut runs = vec![reference];
    runs.extend(others);
    let postures: Vec<Posture<'_>> = runs
        .par_iter()
        .map(|run| posture::build(run.report, run.rules, None))
        .collect();
    let reference = &runs[0];
    let base = &postures[0];
    let ignored = |name: &str| {
        options
            .ignore
            .iter()
            .any(|i| i == name || crate::model::push_pointer("", i) == name)
    };

    let mut missing = Vec::new();
    let mut controls = Vec::new();
    let mut differences = Vec::new();
    let base_resources = base.resources_by_address();
    let base_exposed = exposed(base);
    let base_stores = base.stores_by_address();
    for (run, posture) in runs.iter().zip(&postures).skip(1) {
        let own = posture.resources_by_address();
        let own_exposed = exposed(posture);
        let stores = posture.stores_by_address();
        let is_store =
            |r: &Resource| posture::kind_of(&r.resource_type) == Some(posture::Kind::DataStore);
        // Present in the reference only, then in this environment only.
        for (key, r) in &base_resources {
            if !own.contains_key(key) {
                let (file, line) = posture::located(reference.report, r);
                missing.push(Missing {
                    address: r.address.clone(),
                    resource_type: r.resource_type.clone(),
                    data_store: base_stores.contains_key(key) || is_store(r),
                    present_in: reference.name.clone(),
                    absent_from: run.name.clone(),
                    file,
                    line,
                });
            }
        }
        for (key, r) in &own {
            if !base_resources.contains_key(key) {
                let (file, line) = posture::located(run.report, r);
                missing.push(Missing {
                    address: r.address.clone(),
                    resource_type: r.resource_type.clone(),
                    data_store: stores.contains_key(key) || is_store(r),
                    present_in: run.name.clone(),
                    absent_from: reference.name.clone(),
                    file,
                    line,
                });
            }
        }

        // Control verdicts of the matched data stores.
        for (key, d) in &stores {
            let Some(b) = base_stores.get(key) else {
                continue;
            };
            for control in CONTROLS {
                let (Some(mine), Some(theirs)) = (d.controls.get(control), b.controls.get(control))
                else {
                    continue;
                };
                if mine.verdict == theirs.verdict {
                    continue;
                }
                let verdicts = BTreeMap::from([
                    (run.name.clone(), mine.verdict),
                    (reference.name.clone(), theirs.verdict),
                ]);
                let reasons = [(&run.name, mine), (&reference.name, theirs)]
                    .into_iter()
                    .filter_map(|(n, c)| Some((n.clone(), c.reason.clone()?)))
                    .collect();
                controls.push(ControlDifference {
                    address: d.address.clone(),
                    resource_type: d.resource_type.clone(),
                    control,
                    verdicts,
                    reasons,
                });
            }
        }

        // Attributes of the matched resources.
        for (key, r) in &own {
            let Some(b) = base_resources.get(key) else {
                continue;
            };
            let family = family_of(&r.resource_type);
            let placement = |exposed: &std::collections::BTreeSet<String>| {
                Value::from(if exposed.contains(&r.address) {
                    "public"
                } else {
                    "private"
                })
            };
            let mut attributes: Vec<(&str, &str, &'static str, bool)> = Vec::new();
            for (name, pointer) in &family.significant {
                attributes.push((name, pointer, "significant", false));
            }
            for (name, pointer) in &family.versions {
                attributes.push((name, pointer, "significant", true));
            }
            if options.all {
                for (name, pointer) in &family.sizes {
                    attributes.push((name, pointer, "size", false));
                }
            }
            let values = |mine: Value, theirs: Value| {
                BTreeMap::from([(run.name.clone(), mine), (reference.name.clone(), theirs)])
            };
            if !ignored("placement") {
                let (mine, theirs) = (placement(&own_exposed), placement(&base_exposed));
                if mine != theirs {
                    differences.push(Difference {
                        address: r.address.clone(),
                        resource_type: r.resource_type.clone(),
                        attribute: "placement".into(),
                        significance: "significant",
                        values: values(mine, theirs),
                        note: None,
                    });
                }
            }
            for (name, pointer, significance, version) in attributes {
                if ignored(name) || ignored(pointer) {
                    continue;
                }
                let (Some(mine), Some(theirs)) = (value_at(r, pointer), value_at(b, pointer))
                else {
                    continue;
                };
                if mine == theirs
                    || without_roots(&mine, &run.roots) == without_roots(&theirs, &reference.roots)
                {
                    continue;
                }
                let note = if version {
                    match (major(&mine), major(&theirs)) {
                        (Some(a), Some(b)) if a != b => Some(format!(
                            "major version {a} in {} against {b} in {}",
                            run.name, reference.name
                        )),
                        _ => None,
                    }
                } else {
                    None
                };
                differences.push(Difference {
                    address: r.address.clone(),
                    resource_type: r.resource_type.clone(),
                    attribute: name.to_string(),
                    significance,
                    values: values(mine, theirs),
                    note,
                });
            }
        }
    }
    // Data stores first: they fail the run.
    missing.sort_by_key(|m| !m.data_store);

    let mut errors = Vec::new();
    for run in &runs {
        for e in &run.report.errors {
            errors.push(EnvironmentProblem {
                environment: run.name.clone(),
                problem: Problem::of(run.report, e),
            });
        }
    }
    let missing_data_stores = missing.iter().filter(|m| m.data_store).count();
    let major_versions = differences.iter().filter(|d| d.note.is_some()).count();
    let verdict = if !errors.is_empty() {
        "incomplete"
    } else if !controls.is_empty() || missing_data_stores > 0 {
        "differs"
    } else if !missing.is_empty() || !differences.is_empty() {
        "drifts"
    } else {
        "mirrors"
    };
    let summary = Summary {
        verdict,
        missing: missing.len(),
        missing_data_stores,
        controls: controls.len(),
        differences: differences.len(),
        major_versions,
    };
    Parity {
        version: VERSION,
        meta: reference.report.meta.clone(),
        reference: reference.name.clone(),
        environments: runs
            .iter()
            .map(|r| Environment {
                name: r.name.clone(),
                root: r.root.clone(),
            })
            .collect(),
        missing,
        controls,
        differences,
        errors,
        summary,
    }
}
