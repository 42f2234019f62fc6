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
use crate::output::markdown::{budgeted, code, text, Table, COMMENT_LIMIT};

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

/// Where a reader finds what did not fit in the Markdown.
const ELSEWHERE: &str = "the JSON or HTML report (`provcheck inspect --format json` or `html`)";

/// The report, under [`COMMENT_LIMIT`] characters so that it can be a
/// pull-request comment or a job summary: the summary first, then the
/// findings, most severe first, then the other tables, each row while it
/// fits; what does not fit is counted and points at [`ELSEWHERE`]. The
/// provenance closes it whatever the size.
pub fn render(model: &Model<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", text(&model.title));
    if let Some(meta) = &model.meta {
        let _ = writeln!(out, "{}\n", text(&meta.line()));
    }
    problems(&mut out, model);
    summary(&mut out, model);
    if let Some(parity) = &model.parity {
        out.push_str("## Environment parity (CMP 8.2.8)\n\n");
        let _ = writeln!(out, "{}\n", text(&crate::parity::render::headline(parity)));
    }

    let mut findings = model.findings.iter().collect::<Vec<_>>();
    findings.sort_by_key(|f| std::cmp::Reverse(severity_rank(f.severity)));
    let mut tables = vec![findings_table("Findings", findings)];
    tables.extend(inventory(model));
    let (protection, ephi) = data_stores(model);
    tables.push(protection);
    tables.extend(exposure(model));
    tables.push(ephi);
    tables.extend(clauses(model));
    tables.extend(accepted_risks(model));
    tables.extend(checklist(model));
    if let Some(parity) = &model.parity {
        tables.extend(
            crate::parity::render::markdown_tables(parity)
                .into_iter()
                .map(|t| Table {
                    title: format!("Environment parity: {}", lower_first(&t.title)),
                    ..t
                }),
        );
    }
    tables.extend(undecided(model));

    let mut tail = String::new();
    if let Some(meta) = &model.meta {
        provenance(&mut tail, meta);
    }
    budgeted(&mut out, "##", tables, &tail, ELSEWHERE);
    out
}

/// `Control verdicts that differ` as `control verdicts that differ`.
fn lower_first(title: &str) -> String {
    let mut chars = title.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

/// Critical highest, so that sorting by it in reverse puts the most
/// severe first.
fn severity_rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .rev()
        .position(|s| *s == severity)
        .unwrap_or(0)
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

fn summary(out: &mut String, model: &Model<'_>) {
    out.push_str("## Summary\n\n");
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &model.findings {
        *by_severity.entry(f.severity).or_default() += 1;
    }
    let severities = SEVERITIES
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
        "- {} suppressions and waivers in force, {lapsed} expired",
        model.accepted_risks.len() - lapsed,
    );
    let _ = writeln!(
        out,
        "- {} data-store controls and {} rule results could not be decided from the \
         source; none of them is a pass\n",
        model.open_cells().count(),
        model.undecided.len()
    );
}

fn inventory(model: &Model<'_>) -> Vec<Table<'static>> {
    [Kind::DataStore, Kind::Compute, Kind::Network, Kind::Other]
        .into_iter()
        .map(|kind| Table {
            title: format!("Inventory: {}", lower_first(kind_title(kind))),
            header: vec![
                "address",
                "type",
                "role",
                "environment",
                "system",
                "location",
            ],
            rows: model
                .inventory
                .iter()
                .filter(|i| i.kind == kind)
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
        })
        .collect()
}

/// The protection matrix and the ePHI stores' placement.
fn data_stores(model: &Model<'_>) -> (Table<'static>, Table<'static>) {
    let mut header = vec!["data store", "engine", "ePHI", "environment"];
    header.extend(CONTROLS.iter().copied());
    header.push("location");
    let protection = Table {
        title: "Data-store protection".into(),
        header,
        rows: model
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
                    let c = &d.controls[&control];
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
    };
    let ephi = Table {
        title: "ePHI stores — CMP 8.3.4".into(),
        header: vec!["data store", "type", "engine", "placement", "location"],
        rows: model
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
    };
    (protection, ephi)
}

fn exposure(model: &Model<'_>) -> Vec<Table<'static>> {
    vec![Table {
        title: "Exposure".into(),
        header: vec!["kind", "address", "how", "TLS", "location"],
        rows: model
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
    }]
}

fn clauses(model: &Model<'_>) -> Vec<Table<'static>> {
    vec![Table {
        title: "Policy clauses".into(),
        header: vec!["clause", "rules", "pass", "fail", "undecided"],
        rows: model
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
    }]
}

fn accepted_risks(model: &Model<'_>) -> Vec<Table<'static>> {
    vec![Table {
        title: "Accepted risks — OSP 3.3".into(),
        header: vec![
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
        rows: model
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
    }]
}

fn checklist(model: &Model<'_>) -> Vec<Table<'static>> {
    vec![
        Table {
            title: "Provisioning checklist — CMP 8.3".into(),
            header: vec!["system", "verdict", "why"],
            rows: model
                .systems
                .iter()
                .map(|s| vec![text(&s.scope), s.verdict.to_string(), text(&s.reason)])
                .collect(),
        },
        Table {
            title: "Provisioning checklist: steps".into(),
            header: vec!["system", "step", "verdict", "reason"],
            rows: model
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
        },
    ]
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
/// without them; then the notes, folded. Both lists are cut short on a
/// tree with thousands of them.
fn problems(out: &mut String, model: &Model<'_>) {
    // Each list takes at most an eighth of a comment: the findings come
    // after them.
    let list = |out: &mut String, items: &[super::Problem]| {
        let mut room = COMMENT_LIMIT / 8;
        for (shown, p) in items.iter().enumerate() {
            let at = match p.line {
                Some(line) => format!("{}:{line}", text(&p.file)),
                None => text(&p.file),
            };
            let line = format!("- {at}: {}\n", text(&p.message));
            if line.len() > room {
                let _ = writeln!(out, "- …and {} more: see {ELSEWHERE}.", items.len() - shown);
                break;
            }
            room -= line.len();
            out.push_str(&line);
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
fn undecided(model: &Model<'_>) -> Vec<Table<'static>> {
    let cells = Table {
        title: "Undecided: data-store controls".into(),
        header: vec!["data store", "control", "why", "location"],
        rows: model
            .open_cells()
            .map(|(d, control, cell)| {
                vec![
                    code(&d.address),
                    control.to_string(),
                    or_dash(cell.reason.as_deref()),
                    format!("{}:{}", text(&d.file), d.line),
                ]
            })
            .collect(),
    };
    let results = findings_table("Undecided: rule results", model.undecided.iter().collect());
    vec![cells, results]
}

fn findings_table(title: &str, list: Vec<&JsonFinding<'_>>) -> Table<'static> {
    Table {
        title: title.to_string(),
        header: vec![
            "severity",
            "rule",
            "clauses",
            "resource",
            "message",
            "remediation",
            "location",
        ],
        rows: list
            .iter()
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
    }
}
