//! Environment parity as text: for a terminal (`human`) and as Markdown
//! (a review comment, and the inspection report's section). Both lead
//! with the verdict, then what fails the run (control verdicts, missing
//! data stores), then the other missing resources and the attribute
//! differences. Every value from the scanned files is escaped: for a
//! terminal with [`escape`], for Markdown with the cell helpers that
//! `check --format markdown` uses.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::{Difference, Missing, Parity};
use crate::output::escape::escape;
use crate::output::markdown::{budgeted, code, text, Table};

/// One sentence: the verdict and the counts.
pub fn headline(parity: &Parity) -> String {
    let s = &parity.summary;
    let others: Vec<&str> = parity
        .environments
        .iter()
        .filter(|e| e.name != parity.reference)
        .map(|e| e.name.as_str())
        .collect();
    let what = match s.verdict {
        "differs" => "does not mirror",
        "drifts" => "drifts from",
        "incomplete" => "could not be fully compared with",
        _ => "mirrors",
    };
    format!(
        "{} {what} {}: {} control verdict{} differ{}, {} resource{} missing ({} data store{}), {} attribute difference{} ({} major version{}).",
        others.join(", "),
        parity.reference,
        s.controls,
        plural(s.controls),
        if s.controls == 1 { "s" } else { "" },
        s.missing,
        plural(s.missing),
        s.missing_data_stores,
        plural(s.missing_data_stores),
        s.differences,
        plural(s.differences),
        s.major_versions,
        plural(s.major_versions),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A value as one short piece of text: a string bare, `not set` for a
/// left-out attribute, anything else as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "not set".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pairs<T>(map: &BTreeMap<String, T>, show: impl Fn(&T) -> String) -> String {
    map.iter()
        .map(|(env, v)| format!("{env}: {}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The two groups of missing resources: data stores, then the rest.
fn split(missing: &[Missing]) -> (Vec<&Missing>, Vec<&Missing>) {
    missing.iter().partition(|m| m.data_store)
}

/// For a terminal or a CI log.
pub fn human(parity: &Parity) -> String {
    let named = |e: &super::Environment| format!("{} ({})", escape(&e.name), escape(&e.root));
    let (reference, others): (Vec<_>, Vec<_>) = parity
        .environments
        .iter()
        .partition(|e| e.name == parity.reference);
    let mut out = format!(
        "provcheck parity {} against {}\n{}\n",
        others
            .iter()
            .map(|e| named(e))
            .collect::<Vec<_>>()
            .join(", "),
        reference
            .iter()
            .map(|e| named(e))
            .collect::<Vec<_>>()
            .join(", "),
        escape(&headline(parity))
    );
    if !parity.errors.is_empty() {
        let _ = writeln!(
            out,
            "\nFiles that could not be read ({}):",
            parity.errors.len()
        );
        for e in &parity.errors {
            let _ = writeln!(
                out,
                "  {}: {}{}: {}",
                escape(&e.environment),
                escape(&e.problem.file),
                e.problem.line.map(|l| format!(":{l}")).unwrap_or_default(),
                escape(&e.problem.message)
            );
        }
    }
    if !parity.controls.is_empty() {
        let _ = writeln!(
            out,
            "\nControl verdicts that differ ({}):",
            parity.controls.len()
        );
        for c in &parity.controls {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                escape(&c.address),
                c.control,
                pairs(&c.verdicts, |v| (*v).to_string())
            );
        }
    }
    let (stores, others) = split(&parity.missing);
    for (title, list) in [
        ("Data stores missing", stores),
        ("Resources missing", others),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title} ({}):", list.len());
        for m in list {
            let _ = writeln!(
                out,
                "  {} {}: in {}, not in {} ({}:{})",
                escape(&m.resource_type),
                escape(&m.address),
                escape(&m.present_in),
                escape(&m.absent_from),
                escape(&m.file),
                m.line
            );
        }
    }
    if !parity.differences.is_empty() {
        let _ = writeln!(
            out,
            "\nAttributes that differ ({}):",
            parity.differences.len()
        );
        for d in &parity.differences {
            let _ = writeln!(
                out,
                "  {} {}{}: {}{}",
                escape(&d.address),
                escape(&d.attribute),
                if d.significance == "size" {
                    " (size)"
                } else {
                    ""
                },
                escape(&pairs(&d.values, shown)),
                d.note
                    .as_deref()
                    .map(|n| format!("\n           {}", escape(n)))
                    .unwrap_or_default()
            );
        }
    }
    out
}

fn difference_row(d: &Difference) -> Vec<String> {
    vec![
        code(&d.address),
        code(&d.attribute),
        text(&pairs(&d.values, shown)),
        match (&d.note, d.significance) {
            (Some(note), _) => format!("**{}**", text(note)),
            (None, "size") => "size".to_string(),
            (None, _) => String::new(),
        },
    ]
}

/// The sections of the comparison as Markdown tables, under headings of
/// `level` (`###` for the command).
pub fn markdown_sections(parity: &Parity, level: &str) -> String {
    let mut out = String::new();
    budgeted(
        &mut out,
        level,
        markdown_tables(parity),
        "",
        "the JSON report",
    );
    out
}

/// The comparison's tables, in order of importance, for a budgeted
/// comment: the command's, or the inspection report's.
pub(crate) fn markdown_tables(parity: &Parity) -> Vec<Table<'static>> {
    let mut tables: Vec<Table> = Vec::new();
    let mut table = |title: &str, header: &[&'static str], rows: Vec<Vec<String>>| {
        tables.push(Table {
            title: title.to_string(),
            header: header.to_vec(),
            rows,
        });
    };
    table(
        "Files that could not be read",
        &["environment", "file", "error"],
        parity
            .errors
            .iter()
            .map(|e| {
                vec![
                    text(&e.environment),
                    match e.problem.line {
                        Some(l) => format!("{}:{l}", text(&e.problem.file)),
                        None => text(&e.problem.file),
                    },
                    text(&e.problem.message),
                ]
            })
            .collect(),
    );
    table(
        "Control verdicts that differ",
        &["data store", "control", "verdicts"],
        parity
            .controls
            .iter()
            .map(|c| {
                vec![
                    code(&c.address),
                    c.control.to_string(),
                    text(&pairs(&c.verdicts, |v| (*v).to_string())),
                ]
            })
            .collect(),
    );
    let (stores, others) = split(&parity.missing);
    let missing_rows = |list: Vec<&Missing>| -> Vec<Vec<String>> {
        list.iter()
            .map(|m| {
                vec![
                    code(&m.address),
                    text(&m.resource_type),
                    text(&m.present_in),
                    text(&m.absent_from),
                    format!("{}:{}", text(&m.file), m.line),
                ]
            })
            .collect()
    };
    let header = ["resource", "type", "present in", "absent from", "location"];
    table("Data stores missing", &header, missing_rows(stores));
    table("Resources missing", &header, missing_rows(others));
    table(
        "Attributes that differ",
        &["resource", "attribute", "values", "note"],
        parity.differences.iter().map(difference_row).collect(),
    );
    tables
}

/// One row of the comparison for a single table (the inspection page):
/// the resource, what differs, the values by environment and a note.
pub struct Row {
    pub address: String,
    pub what: String,
    pub values: String,
    pub note: String,
    /// Whether the difference fails `parity` (a control verdict or a
    /// missing data store).
    pub fails: bool,
}

/// Every difference as one list of rows: what fails first.
pub fn rows(parity: &Parity) -> Vec<Row> {
    let mut out: Vec<Row> = parity
        .controls
        .iter()
        .map(|c| Row {
            address: c.address.clone(),
            what: format!("control {}", c.control),
            values: pairs(&c.verdicts, |v| (*v).to_string()),
            note: pairs(&c.reasons, String::clone),
            fails: true,
        })
        .collect();
    let (stores, others) = split(&parity.missing);
    for m in stores.into_iter().chain(others) {
        out.push(Row {
            address: m.address.clone(),
            what: if m.data_store {
                "missing data store".to_string()
            } else {
                "missing resource".to_string()
            },
            values: format!("in {}, not in {}", m.present_in, m.absent_from),
            note: format!("{} at {}:{}", m.resource_type, m.file, m.line),
            fails: m.data_store,
        });
    }
    for d in &parity.differences {
        out.push(Row {
            address: d.address.clone(),
            what: format!("attribute {}", d.attribute),
            values: pairs(&d.values, shown),
            note: d.note.clone().unwrap_or_else(|| {
                if d.significance == "size" {
                    "size".to_string()
                } else {
                    String::new()
                }
            }),
            fails: false,
        });
    }
    out
}

/// The comparison as a Markdown document.
pub fn markdown(parity: &Parity) -> String {
    let mut out = format!(
        "## provcheck parity: {}\n\n{}\n\n",
        match parity.summary.verdict {
            "differs" => "⚠️ environments differ",
            "drifts" => "environments drift",
            "incomplete" => "❓ incomplete",
            _ => "✅ environments mirror each other",
        },
        text(&headline(parity))
    );
    out.push_str(&markdown_sections(parity, "###"));
    if let Some(meta) = &parity.meta {
        let _ = writeln!(out, "<sub>{}</sub>", text(&meta.line()));
    }
    out
}
