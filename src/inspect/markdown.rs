//! The inspection report as GitHub-flavoured Markdown.

use std::fmt::Write;

use super::{Model, CONTROLS};

/// Escapes a table cell: pipes, and newlines as `<br>`.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    for row in rows {
        let row: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("—").to_string()
}

pub fn render(model: &Model<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", cell(&model.title));

    out.push_str("## Inventory\n\n");
    table(
        &mut out,
        &["address", "type", "kind", "role", "environment", "location"],
        model
            .inventory
            .iter()
            .map(|i| {
                vec![
                    format!("`{}`", i.address),
                    i.resource_type.clone(),
                    i.kind.as_str().to_string(),
                    or_dash(i.role),
                    or_dash(i.environment.as_deref()),
                    format!("{}:{}", i.file, i.line),
                ]
            })
            .collect(),
    );

    out.push_str("## Data-store protection\n\n");
    let mut header = vec!["data store", "engine", "ePHI"];
    header.extend(CONTROLS.iter().map(|c| c.as_str()));
    header.push("location");
    table(
        &mut out,
        &header,
        model
            .data_stores
            .iter()
            .map(|d| {
                let mut row = vec![
                    format!("`{}`", d.address),
                    or_dash(d.engine.as_deref()),
                    if d.ephi { "yes" } else { "no" }.to_string(),
                ];
                for control in CONTROLS {
                    let c = &d.controls[control.as_str()];
                    row.push(match &c.reason {
                        Some(reason) => format!("{} ({reason})", c.verdict),
                        None => c.verdict.to_string(),
                    });
                }
                row.push(format!("{}:{}", d.file, d.line));
                row
            })
            .collect(),
    );

    out.push_str("## Exposure\n\n");
    table(
        &mut out,
        &["address", "how", "location"],
        model
            .exposure
            .iter()
            .map(|e| {
                vec![
                    format!("`{}`", e.address),
                    e.how.clone(),
                    format!("{}:{}", e.file, e.line),
                ]
            })
            .collect(),
    );

    out.push_str("## Policy clauses\n\n");
    table(
        &mut out,
        &["clause", "rules", "pass", "fail", "undecided"],
        model
            .clauses
            .iter()
            .map(|c| {
                vec![
                    c.control.clone(),
                    c.rules.join(", "),
                    c.pass.to_string(),
                    c.fail.to_string(),
                    c.undecided.to_string(),
                ]
            })
            .collect(),
    );

    out.push_str("## Accepted risks\n\n");
    table(
        &mut out,
        &[
            "rule", "resource", "source", "status", "reason", "approver", "ticket", "expires",
        ],
        model
            .suppressed
            .iter()
            .map(|s| {
                let by = &s.suppression;
                vec![
                    s.finding.rule_id.to_string(),
                    format!("`{}`", s.finding.resource),
                    by.source.to_string(),
                    or_dash(by.status),
                    or_dash(by.reason),
                    or_dash(by.approver),
                    or_dash(by.ticket),
                    or_dash(by.expires),
                ]
            })
            .collect(),
    );

    out.push_str("## Provisioning checklist (CMP 8.3)\n\n");
    table(
        &mut out,
        &["scope", "step", "verdict", "reason"],
        model
            .checklist
            .iter()
            .map(|s| {
                vec![
                    s.scope.clone(),
                    s.step.to_string(),
                    s.verdict.to_string(),
                    s.reason.clone(),
                ]
            })
            .collect(),
    );

    out.push_str("## Findings\n\n");
    table(
        &mut out,
        &["severity", "rule", "resource", "message", "location"],
        model
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    f.rule_id.to_string(),
                    format!("`{}`", f.resource),
                    f.message.to_string(),
                    match &f.span {
                        Some(span) => format!("{}:{}", f.file, span.start.line),
                        None => f.file.clone(),
                    },
                ]
            })
            .collect(),
    );
    out
}
