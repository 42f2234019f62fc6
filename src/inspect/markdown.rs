//! The inspection report as GitHub-flavoured Markdown.
//!
//! Every value from the scanned files is escaped as it is put in a cell,
//! with the helpers `check --format markdown` uses: prose through `text`
//! (`|`, `<`, `&` and backslashes escaped, line breaks as `<br>`, controls
//! as `\u{hex}`), identifiers through `code` (a fence longer than any run
//! of backticks inside). Cells are then written as they are.

use std::fmt::Write;

use std::collections::BTreeMap;

use super::{Kind, Model, CONTROLS};
use crate::output::json::JsonFinding;
use crate::output::markdown::{code, text};

fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn or_dash(value: Option<&str>) -> String {
    value.map_or_else(|| "—".to_string(), text)
}

/// A verdict with a symbol, so that it reads without colour.
fn verdict(verdict: &str) -> String {
    match verdict {
        "pass" => "✔ pass".to_string(),
        "fail" => "✘ fail".to_string(),
        "undecided" => "? undecided".to_string(),
        other => text(other),
    }
}

/// `file:line`, followed by the module calls that lead there.
fn location(file: &str, line: usize, module: &[super::Call]) -> String {
    let mut out = format!("{}:{line}", text(file));
    for call in module {
        let _ = write!(
            out,
            "<br>via {} ({}:{})",
            code(&call.address),
            text(&call.file),
            call.line
        );
    }
    out
}

pub fn render(model: &Model<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", text(&model.title));
    if let Some(meta) = &model.meta {
        let _ = writeln!(out, "{}\n", text(&meta.line()));
    }
    problems(&mut out, model);

    out.push_str("## Summary\n\n");
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &model.findings {
        *by_severity.entry(f.severity).or_default() += 1;
    }
    let severities = ["critical", "high", "medium", "low", "info"]
        .iter()
        .filter_map(|s| by_severity.get(s).map(|n| format!("{n} {s}")))
        .collect::<Vec<_>>();
    let _ = writeln!(
        out,
        "- {} resources, {} data stores ({} holding ePHI), {} exposed entry points",
        model.inventory.len(),
        model.data_stores.len(),
        model.data_stores.iter().filter(|d| d.ephi).count(),
        model.exposure.len(),
    );
    let _ = writeln!(
        out,
        "- {} open findings{}",
        model.findings.len(),
        if severities.is_empty() {
            String::new()
        } else {
            format!(": {}", severities.join(", "))
        }
    );
    let lapsed = model.accepted_risks.iter().filter(|r| r.expired).count();
    let _ = writeln!(
        out,
        "- {} suppressions and waivers in force, {lapsed} expired\n",
        model.accepted_risks.len() - lapsed,
    );

    out.push_str("## Inventory\n\n");
    for kind in [Kind::DataStore, Kind::Compute, Kind::Network, Kind::Other] {
        let items: Vec<_> = model.inventory.iter().filter(|i| i.kind == kind).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {} ({})\n", kind_title(kind), items.len());
        table(
            &mut out,
            &[
                "address",
                "type",
                "role",
                "environment",
                "system",
                "location",
            ],
            items
                .iter()
                .map(|i| {
                    vec![
                        code(&i.address),
                        text(&i.resource_type),
                        or_dash(i.role),
                        or_dash(i.environment.as_deref()),
                        text(&i.system),
                        location(&i.file, i.line, &i.module),
                    ]
                })
                .collect(),
        );
    }

    out.push_str("## Data-store protection\n\n");
    let mut header = vec!["data store", "engine", "ePHI", "environment"];
    header.extend(CONTROLS.iter().copied());
    header.push("location");
    table(
        &mut out,
        &header,
        model
            .data_stores
            .iter()
            .map(|d| {
                let mut row = vec![
                    code(&d.address),
                    or_dash(d.engine.as_deref()),
                    if d.ephi { "yes" } else { "no" }.to_string(),
                    or_dash(d.environment.as_deref()),
                ];
                for control in CONTROLS {
                    let c = &d.controls[control];
                    let shown = match &c.reason {
                        Some(reason)
                            if c.verdict != "pass" || !reason.starts_with("checked by") =>
                        {
                            format!("{}: {}", verdict(c.verdict), text(reason))
                        }
                        _ => verdict(c.verdict),
                    };
                    row.push(shown);
                }
                row.push(location(&d.file, d.line, &d.module));
                row
            })
            .collect(),
    );

    out.push_str("## Exposure\n\n");
    table(
        &mut out,
        &["kind", "address", "how", "TLS", "location"],
        model
            .exposure
            .iter()
            .map(|e| {
                vec![
                    e.kind.as_str().to_string(),
                    code(&e.address),
                    text(&e.how),
                    match e.tls {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "—",
                    }
                    .to_string(),
                    format!("{}:{}", text(&e.file), e.line),
                ]
            })
            .collect(),
    );

    out.push_str("## ePHI stores (CMP 8.3.4)\n\n");
    table(
        &mut out,
        &["data store", "type", "engine", "placement", "location"],
        model
            .data_stores
            .iter()
            .filter(|d| d.ephi)
            .map(|d| {
                let placement = d.controls.get(super::EPHI_PLACEMENT).map_or_else(
                    || verdict("undecided"),
                    |c| match &c.reason {
                        Some(reason) => format!("{}: {}", verdict(c.verdict), text(reason)),
                        None => verdict(c.verdict),
                    },
                );
                vec![
                    code(&d.address),
                    text(&d.resource_type),
                    or_dash(d.engine.as_deref()),
                    placement,
                    location(&d.file, d.line, &d.module),
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
                    text(&c.control),
                    text(&c.rules.join(", ")),
                    c.pass.to_string(),
                    c.fail.to_string(),
                    c.undecided.to_string(),
                ]
            })
            .collect(),
    );

    out.push_str("## Accepted risks (OSP 3.3)\n\n");
    table(
        &mut out,
        &[
            "rules",
            "source",
            "status",
            "reason",
            "approver",
            "ticket",
            "expires",
            "findings",
            "written at",
        ],
        model
            .accepted_risks
            .iter()
            .map(|r| {
                vec![
                    text(&r.rules.join(", ")),
                    r.source.to_string(),
                    or_dash(r.status),
                    or_dash(r.reason.as_deref()),
                    // In a code span, `@name` notifies no one.
                    r.approver.as_deref().map_or_else(|| "—".to_string(), code),
                    or_dash(r.ticket.as_deref()),
                    match (&r.expires, r.expired) {
                        (Some(day), true) => format!("**EXPIRED** {}", text(day)),
                        (Some(day), false) => text(day),
                        (None, _) => "—".to_string(),
                    },
                    r.findings.len().to_string(),
                    match r.line {
                        Some(line) => format!("{}:{line}", text(&r.file)),
                        None => text(&r.file),
                    },
                ]
            })
            .collect(),
    );

    out.push_str("## Provisioning checklist (CMP 8.3)\n\n");
    table(
        &mut out,
        &["system", "verdict", "why"],
        model
            .systems
            .iter()
            .map(|s| vec![text(&s.scope), s.verdict.to_string(), text(&s.reason)])
            .collect(),
    );
    table(
        &mut out,
        &["system", "step", "verdict", "reason"],
        model
            .checklist
            .iter()
            .map(|s| {
                vec![
                    text(&s.scope),
                    s.step.to_string(),
                    verdict(s.verdict),
                    text(&s.reason),
                ]
            })
            .collect(),
    );

    if let Some(parity) = &model.parity {
        out.push_str("## Environment parity (CMP 8.2.8)\n\n");
        let _ = writeln!(out, "{}\n", text(&crate::parity::render::headline(parity)));
        out.push_str(&crate::parity::render::markdown_sections(parity, "###"));
    }

    findings(&mut out, "Findings", &model.findings);
    undecided(&mut out, model);
    if let Some(meta) = &model.meta {
        provenance(&mut out, meta);
    }
    out
}

/// What a reader needs to run the same command on the same tree.
fn provenance(out: &mut String, meta: &crate::provenance::Meta) {
    out.push_str("## Provenance\n\n");
    let codes = |items: &[String]| {
        if items.is_empty() {
            "—".to_string()
        } else {
            items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
        }
    };
    let git = meta.git.as_ref().map_or_else(
        || "not a git work tree".to_string(),
        |git| {
            let mut cell = git.commit.as_deref().map_or("no commit".into(), code);
            if let Some(branch) = &git.branch {
                cell.push_str(&format!(" on {}", code(branch)));
            }
            match git.dirty {
                Some(true) => cell.push_str(", with uncommitted changes"),
                Some(false) => cell.push_str(", clean"),
                None => {}
            }
            cell
        },
    );
    let config = &meta.config;
    let rows = vec![
        vec!["generated".into(), text(&meta.generated_at)],
        vec!["provcheck".into(), text(&meta.provcheck_version)],
        vec!["paths".into(), codes(&meta.paths)],
        vec!["project root".into(), code(&meta.project_root)],
        vec![
            "rules".into(),
            format!("{} ({})", meta.rules.count, text(&meta.rules.digest)),
        ],
        vec!["rule folders".into(), codes(&meta.rules.folders)],
        vec![
            "configuration".into(),
            match (&config.file, &config.digest) {
                (Some(file), Some(digest)) => format!("{} ({})", code(file), text(digest)),
                (Some(file), None) => code(file),
                _ => "none (built-in defaults)".into(),
            },
        ],
        vec![
            "select".into(),
            config.select.as_deref().map_or("all".into(), codes),
        ],
        vec!["ignore".into(), codes(&config.ignore)],
        vec!["fail-on".into(), config.fail_on.to_string()],
        vec![
            "inline suppressions".into(),
            if config.inline_suppressions {
                "on"
            } else {
                "off"
            }
            .into(),
        ],
        vec!["git".into(), git],
    ];
    table(out, &["item", "value"], rows);
}

fn kind_title(kind: Kind) -> &'static str {
    match kind {
        Kind::DataStore => "Data stores",
        Kind::Compute => "Compute",
        Kind::Network => "Network",
        Kind::Other => "Other",
    }
}

/// Files that could not be read, first: the report is incomplete
/// without them; then the notes, folded.
fn problems(out: &mut String, model: &Model<'_>) {
    let list = |out: &mut String, items: &[super::Problem]| {
        for p in items {
            let at = match p.line {
                Some(line) => format!("{}:{line}", text(&p.file)),
                None => text(&p.file),
            };
            let _ = writeln!(out, "- {at}: {}", text(&p.message));
        }
    };
    if !model.errors.is_empty() {
        let n = model.errors.len();
        let _ = writeln!(
            out,
            "**Incomplete: {n} file{} could not be read or parsed, so what {} declare{} is \
             missing from this report.**\n",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "they" },
            if n == 1 { "s" } else { "" },
        );
        list(out, &model.errors);
        out.push('\n');
    }
    if !model.notes.is_empty() {
        let n = model.notes.len();
        let _ = writeln!(
            out,
            "<details><summary>{n} note{} on what was read</summary>\n",
            if n == 1 { "" } else { "s" }
        );
        list(out, &model.notes);
        out.push_str("\n</details>\n\n");
    }
}

/// What could not be decided, and why: the matrix cells left undecided,
/// then the rule results that depend on unknown values.
fn undecided(out: &mut String, model: &Model<'_>) {
    let cells: Vec<Vec<String>> = model
        .open_cells()
        .map(|(d, control, cell)| {
            vec![
                code(&d.address),
                control.to_string(),
                or_dash(cell.reason.as_deref()),
                format!("{}:{}", text(&d.file), d.line),
            ]
        })
        .collect();
    let _ = writeln!(
        out,
        "## Undecided\n\n{} data-store controls and {} rule results could not be decided \
         from the source; none of them is a pass.\n",
        cells.len(),
        model.undecided.len()
    );
    let _ = writeln!(out, "### Data-store controls not decided\n");
    table(out, &["data store", "control", "why", "location"], cells);
    findings(out, "### Undecided results", &model.undecided);
}

fn findings(out: &mut String, title: &str, list: &[JsonFinding<'_>]) {
    let title = if title.starts_with('#') {
        title.to_string()
    } else {
        format!("## {title}")
    };
    let _ = writeln!(out, "{title}\n");
    table(
        out,
        &[
            "severity",
            "rule",
            "clauses",
            "resource",
            "message",
            "remediation",
            "location",
        ],
        list.iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    text(f.rule_id),
                    text(&f.controls.join(", ")),
                    code(f.resource),
                    text(f.message),
                    text(f.remediation),
                    match &f.span {
                        Some(span) => format!("{}:{}", text(&f.file), span.start.line),
                        None => text(&f.file),
                    },
                ]
            })
            .collect(),
    );
}
