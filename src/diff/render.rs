//! The change review as text: for a terminal (`human`) and as a
//! pull-request comment (`markdown`, kept under GitHub's 65,536-character
//! limit with room to spare). Both lead with the verdict, then what
//! weakens the protection (controls, new exposure, added findings), then
//! what strengthens it. Every value from the scanned files is escaped: for
//! a terminal with [`escape`], for Markdown with the cell helpers that
//! `check --format markdown` uses.

use std::fmt::Write;

use super::{ControlChange, Diff, Place};
use crate::output::escape::escape;
use crate::output::json::JsonFinding;
use crate::output::markdown::{budgeted, code, text, Table};

pub use crate::output::markdown::COMMENT_LIMIT;

fn headline(diff: &Diff<'_>) -> String {
    let s = &diff.summary;
    let what = match s.verdict {
        "weakens" => "This change weakens the system's protection",
        "strengthens" => "This change strengthens the system's protection",
        "incomplete" => "Incomplete: some files could not be read",
        _ => "This change leaves the system's protection as it was",
    };
    format!(
        "{what}: {} control{} weakened, {} strengthened; {} new exposure{}; {} finding{} added, {} resolved ({} unchanged).",
        s.controls_weakened,
        plural(s.controls_weakened),
        s.controls_strengthened,
        s.exposure_added,
        plural(s.exposure_added),
        s.findings_added,
        plural(s.findings_added),
        s.findings_resolved,
        s.findings_unchanged,
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn at(file: &str, line: usize) -> String {
    format!("{}:{line}", escape(file))
}

fn finding_line(f: &JsonFinding<'_>) -> String {
    let line = f.span.as_ref().map_or(0, |s| s.start.line);
    format!(
        "  {:<8} {} {} ({})\n           {}\n",
        f.severity,
        escape(f.rule_id),
        escape(f.resource),
        at(&f.file, line),
        escape(f.message)
    )
}

/// The root folder a store belongs to, when its file does not say it: a
/// module's store is one per root that calls the module.
fn root_of(c: &ControlChange) -> Option<&str> {
    let folder = c.file.rsplit_once('/').map_or(".", |(f, _)| f);
    (folder != c.system).then_some(c.system.as_str())
}

fn control_line(c: &ControlChange) -> String {
    format!(
        "  {} {}: {} -> {} ({}{}){}\n",
        escape(&c.address),
        c.control,
        c.before,
        c.after,
        at(&c.file, c.line),
        root_of(c)
            .map(|r| format!(", in {}", escape(r)))
            .unwrap_or_default(),
        c.reason
            .as_deref()
            .map(|r| format!("\n           {}", escape(r)))
            .unwrap_or_default()
    )
}

fn places(out: &mut String, title: &str, list: &[Place]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({}):", list.len());
    for p in list {
        let _ = writeln!(
            out,
            "  {} {} ({})",
            escape(&p.resource_type),
            escape(&p.address),
            at(&p.file, p.line)
        );
    }
}

/// For a terminal or a CI log.
pub fn human(diff: &Diff<'_>) -> String {
    let mut out = format!(
        "provcheck diff {} -> {}\n{}\n",
        escape(&diff.base.label),
        escape(&diff.head.label),
        headline(diff)
    );
    if !diff.errors.is_empty() {
        let _ = writeln!(
            out,
            "\nFiles that could not be read ({}):",
            diff.errors.len()
        );
        for e in &diff.errors {
            let _ = writeln!(
                out,
                "  {}: {}{}: {}",
                e.side,
                escape(&e.problem.file),
                e.problem.line.map(|l| format!(":{l}")).unwrap_or_default(),
                escape(&e.problem.message)
            );
        }
    }
    let (weakened, strengthened): (Vec<&ControlChange>, Vec<&ControlChange>) =
        diff.data_stores.changed.iter().partition(|c| c.weakened);
    if !weakened.is_empty() {
        let _ = writeln!(out, "\nControls weakened ({}):", weakened.len());
        for c in &weakened {
            out.push_str(&control_line(c));
        }
    }
    if !diff.exposure.added.is_empty() {
        let _ = writeln!(out, "\nNewly exposed ({}):", diff.exposure.added.len());
        for e in &diff.exposure.added {
            let _ = writeln!(
                out,
                "  {} {} ({})\n           {}",
                e.kind.as_str(),
                escape(&e.address),
                at(&e.file, e.line),
                escape(&e.how)
            );
        }
    }
    if !diff.findings.added.is_empty() {
        let _ = writeln!(out, "\nFindings added ({}):", diff.findings.added.len());
        for f in &diff.findings.added {
            out.push_str(&finding_line(f));
        }
    }
    if !strengthened.is_empty() {
        let _ = writeln!(out, "\nControls strengthened ({}):", strengthened.len());
        for c in &strengthened {
            out.push_str(&control_line(c));
        }
    }
    if !diff.findings.resolved.is_empty() {
        let _ = writeln!(
            out,
            "\nFindings resolved ({}):",
            diff.findings.resolved.len()
        );
        for f in &diff.findings.resolved {
            out.push_str(&finding_line(f));
        }
    }
    if !diff.exposure.removed.is_empty() {
        let _ = writeln!(
            out,
            "\nNo longer exposed ({}):",
            diff.exposure.removed.len()
        );
        for e in &diff.exposure.removed {
            let _ = writeln!(out, "  {} {}", e.kind.as_str(), escape(&e.address));
        }
    }
    places(&mut out, "Data stores added", &diff.data_stores.added);
    places(&mut out, "Data stores removed", &diff.data_stores.removed);
    let r = &diff.resources;
    let _ = writeln!(
        out,
        "\nResources: {} added, {} removed, {} changed.",
        r.added.len(),
        r.removed.len(),
        r.changed.len()
    );
    let uncovered: Vec<&super::Approval> = diff
        .approvals
        .iter()
        .filter(|a| a.change_request.is_none())
        .collect();
    let tickets: std::collections::BTreeSet<&str> = diff
        .approvals
        .iter()
        .filter_map(|a| a.change_request.as_deref())
        .collect();
    if !diff.approvals.is_empty() {
        let _ = writeln!(
            out,
            "Change requests on the added and changed resources: {}{}",
            if tickets.is_empty() {
                "none".to_string()
            } else {
                tickets
                    .iter()
                    .map(|t| escape(t).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if uncovered.is_empty() {
                String::new()
            } else {
                format!("; {} without one", uncovered.len())
            }
        );
    }
    out
}

/// A pull-request comment: under [`COMMENT_LIMIT`] characters, the rest
/// summarised with counts.
pub fn markdown(diff: &Diff<'_>) -> String {
    let mut out = format!(
        "## provcheck: {}\n\n{}\n\n",
        match diff.summary.verdict {
            "weakens" => "⚠️ protection weakened",
            "strengthens" => "✅ protection strengthened",
            "incomplete" => "❓ incomplete",
            _ => "no change to protection",
        },
        text(&headline(diff))
    );
    // Sections in order of importance; each row is added while it fits,
    // the rest of a section is counted.
    let mut sections: Vec<Table> = Vec::new();
    if !diff.errors.is_empty() {
        sections.push(Table {
            title: "Files that could not be read".into(),
            header: vec!["side", "file", "error"],
            rows: diff
                .errors
                .iter()
                .map(|e| {
                    vec![
                        e.side.to_string(),
                        match e.problem.line {
                            Some(l) => format!("{}:{l}", text(&e.problem.file)),
                            None => text(&e.problem.file),
                        },
                        text(&e.problem.message),
                    ]
                })
                .collect(),
        });
    }
    let control_rows = |weakened: bool| -> Vec<Vec<String>> {
        diff.data_stores
            .changed
            .iter()
            .filter(|c| c.weakened == weakened)
            .map(|c| {
                vec![
                    code(&c.address),
                    c.control.to_string(),
                    format!("{} → **{}**", c.before, c.after),
                    c.reason.as_deref().map_or_else(String::new, text),
                    match root_of(c) {
                        Some(root) => format!("{}:{}<br>in {}", text(&c.file), c.line, text(root)),
                        None => format!("{}:{}", text(&c.file), c.line),
                    },
                ]
            })
            .collect()
    };
    let finding_rows = |list: &[JsonFinding<'_>]| -> Vec<Vec<String>> {
        list.iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    code(f.rule_id),
                    code(f.resource),
                    text(f.message),
                    match &f.span {
                        Some(s) => format!("{}:{}", text(&f.file), s.start.line),
                        None => text(&f.file),
                    },
                ]
            })
            .collect()
    };
    let control_header = vec!["data store", "control", "verdict", "why", "location"];
    let finding_header = vec!["severity", "rule", "resource", "message", "location"];
    sections.push(Table {
        title: "Controls weakened".into(),
        header: control_header.clone(),
        rows: control_rows(true),
    });
    sections.push(Table {
        title: "Newly exposed".into(),
        header: vec!["kind", "resource", "how", "location"],
        rows: diff
            .exposure
            .added
            .iter()
            .map(|e| {
                vec![
                    e.kind.as_str().to_string(),
                    code(&e.address),
                    text(&e.how),
                    format!("{}:{}", text(&e.file), e.line),
                ]
            })
            .collect(),
    });
    sections.push(Table {
        title: "Findings added".into(),
        header: finding_header.clone(),
        rows: finding_rows(&diff.findings.added),
    });
    sections.push(Table {
        title: "Controls strengthened".into(),
        header: control_header,
        rows: control_rows(false),
    });
    sections.push(Table {
        title: "Findings resolved".into(),
        header: finding_header,
        rows: finding_rows(&diff.findings.resolved),
    });
    let place_rows = |list: &[Place]| -> Vec<Vec<String>> {
        list.iter()
            .map(|p| {
                vec![
                    code(&p.address),
                    text(&p.resource_type),
                    format!("{}:{}", text(&p.file), p.line),
                ]
            })
            .collect()
    };
    sections.push(Table {
        title: "Data stores added".into(),
        header: vec!["data store", "type", "location"],
        rows: place_rows(&diff.data_stores.added),
    });
    sections.push(Table {
        title: "Data stores removed".into(),
        header: vec!["data store", "type", "location"],
        rows: place_rows(&diff.data_stores.removed),
    });
    sections.push(Table {
        title: "Change requests on added and changed resources".into(),
        header: vec!["resource", "change request", "approved by", "location"],
        rows: diff
            .approvals
            .iter()
            .map(|a| {
                vec![
                    code(&a.address),
                    a.change_request
                        .as_deref()
                        .map_or_else(|| "**none**".to_string(), text),
                    // In a code span, `@name` notifies no one.
                    a.approved_by
                        .as_deref()
                        .map_or_else(|| "**none**".to_string(), code),
                    format!("{}:{}", text(&a.file), a.line),
                ]
            })
            .collect(),
    });

    // What must fit after the sections: the resource counts and the
    // provenance line.
    let mut tail = format!(
        "Resources: {} added, {} removed, {} changed.\n",
        diff.resources.added.len(),
        diff.resources.removed.len(),
        diff.resources.changed.len()
    );
    if let Some(meta) = &diff.meta {
        let _ = write!(tail, "\n<sub>{}</sub>\n", text(&meta.line()));
    }
    budgeted(&mut out, "###", sections, &tail, "the JSON report");
    out
}
