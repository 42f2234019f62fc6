//! Markdown for pull-request comments: a summary, a table of findings
//! (most severe first), the files that could not be checked, and the
//! suppressed findings for audit.
//!
//! Cells hold user data (resource names, reasons), so every cell is
//! escaped: `|` and line breaks would break the table, and raw HTML would
//! render in the comment. Identifiers sit in code spans, which also keeps
//! an approver's `@name` from notifying anyone.

use std::fmt::Write;

use super::escape::{is_escaped, push_escaped};
use super::{error_path, locate, range, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::ruleset::RuleSet;
use crate::Report;

/// A comment stays below this many characters: GitHub refuses comments
/// over 65,536, and the rest of a page needs room.
pub const COMMENT_LIMIT: usize = 60_000;

/// A table of a comment: its title, header and escaped rows.
pub(crate) struct Table<'h> {
    pub title: String,
    pub header: Vec<&'h str>,
    pub rows: Vec<Vec<String>>,
}

/// Appends `tables` to `out` in order, each under a heading of `level`
/// (`###`) titled with its row count,
/// row by row while the whole (with `tail` after it) stays under
/// [`COMMENT_LIMIT`]; what does not fit is counted, pointing at `elsewhere`
/// (the report that holds everything). Empty tables are left out.
pub(crate) fn budgeted(
    out: &mut String,
    level: &str,
    tables: Vec<Table<'_>>,
    tail: &str,
    elsewhere: &str,
) {
    let budget = COMMENT_LIMIT.saturating_sub(tail.len() + 200);
    let mut left_out: Vec<String> = Vec::new();
    for table in tables {
        if table.rows.is_empty() {
            continue;
        }
        let total = table.rows.len();
        let mut section = format!(
            "{level} {} ({total})\n\n| {} |\n|{}\n",
            table.title,
            table.header.join(" | "),
            " --- |".repeat(table.header.len())
        );
        let mut shown = 0;
        for row in table.rows {
            let line = format!("| {} |\n", row.join(" | "));
            if out.len() + section.len() + line.len() + 160 > budget {
                break;
            }
            section.push_str(&line);
            shown += 1;
        }
        if shown == 0 {
            left_out.push(format!("{total} {}", table.title.to_lowercase()));
            continue;
        }
        if shown < total {
            let _ = writeln!(
                section,
                "\n…and {} more, left out to keep this comment short: see {elsewhere}.",
                total - shown
            );
        }
        section.push('\n');
        out.push_str(&section);
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "Left out to keep this comment short (see {elsewhere}): {}.\n",
            left_out.join(", ")
        );
    }
    out.push_str(tail);
}

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    let _ = rules;
    let mut out = String::from("## provcheck\n\n");
    out.push_str(&summary(report, options));
    match super::config_path(report) {
        Some(path) => {
            let _ = writeln!(out, "\nConfiguration: {}.", code(&path));
        }
        None => out.push_str("\nConfiguration: none (built-in defaults).\n"),
    }
    if let Some(meta) = &report.meta {
        let paths: Vec<String> = meta.paths.iter().map(|p| code(p)).collect();
        let _ = writeln!(
            out,
            "\nProvenance: {}; checked {} from {}.",
            text(&meta.line()),
            paths.join(", "),
            code(&meta.project_root)
        );
    }

    out.push('\n');
    // Most important first: what could not be checked makes the result
    // incomplete; then the findings, most severe first (stable: within a
    // severity, the report's file and line order).
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut tables = vec![
        Table {
            title: "Errors: these files could not be checked".into(),
            header: vec!["Location", "Message"],
            rows: report
                .errors
                .iter()
                .map(|error| {
                    let path = error_path(report, error);
                    let place = match (report.file_for(error), error.span) {
                        (Some(file), Some(span)) => {
                            format!("{path}:{}", range(file, span).0.line)
                        }
                        _ => path,
                    };
                    vec![code(&place), text(&error.message)]
                })
                .collect(),
        },
        Table {
            title: "Findings".into(),
            header: vec!["Severity", "Rule", "Resource", "Location", "Message"],
            rows: findings
                .iter()
                .map(|finding| {
                    vec![
                        finding.severity.to_string(),
                        code(finding.rule_id.as_str()),
                        code(&finding.resource),
                        code(&location(report, finding)),
                        text(&finding.message),
                    ]
                })
                .collect(),
        },
    ];
    if options.show_undecided {
        tables.push(Table {
            title: "Undecided: these depend on values unknown statically".into(),
            header: vec!["Rule", "Resource", "Location", "Message"],
            rows: report
                .undecided
                .iter()
                .map(|finding| {
                    vec![
                        code(finding.rule_id.as_str()),
                        code(&finding.resource),
                        code(&location(report, finding)),
                        text(&finding.message),
                    ]
                })
                .collect(),
        });
    }
    let optional =
        |value: Option<&str>, cell: fn(&str) -> String| value.map_or_else(|| "—".to_string(), cell);
    tables.push(Table {
        title: "Suppressed".into(),
        header: vec![
            "Rule", "Resource", "Location", "Source", "Status", "Reason", "Approver", "Ticket",
            "Expires",
        ],
        rows: report
            .suppressed
            .iter()
            .map(|suppressed| {
                let (finding, by) = (&suppressed.finding, &suppressed.by);
                vec![
                    code(finding.rule_id.as_str()),
                    code(&finding.resource),
                    code(&location(report, finding)),
                    by.source.as_str().to_string(),
                    optional(by.status.map(|s| s.as_str()), text),
                    optional(by.reason.as_deref(), text),
                    optional(by.approver.as_deref(), code),
                    optional(by.ticket.as_deref(), text),
                    optional(by.expires.as_deref(), text),
                ]
            })
            .collect(),
    });
    budgeted(&mut out, "###", tables, "", "the JSON or SARIF report");
    out
}

/// `Checked 12 files and 40 resources: **47 findings** (9 critical, ...)`.
fn summary(report: &Report, options: RenderOptions) -> String {
    let mut line = format!(
        "Checked {} and {}: ",
        plural(report.files_read, "file"),
        plural(report.resource_count(), "resource")
    );
    if report.findings.is_empty() {
        line.push_str("**no findings**");
    } else {
        let by_severity: Vec<String> = SEVERITIES
            .iter()
            .map(|&s| {
                (
                    s,
                    report.findings.iter().filter(|f| f.severity == s).count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let _ = write!(
            line,
            "**{}** ({})",
            plural(report.findings.len(), "finding"),
            by_severity.join(", ")
        );
    }
    let mut extras = Vec::new();
    if !report.errors.is_empty() {
        extras.push(format!(
            "**{}** (the result is incomplete)",
            plural(report.errors.len(), "error")
        ));
    }
    if options.show_undecided && !report.undecided.is_empty() {
        extras.push(format!("{} undecided", report.undecided.len()));
    }
    if !report.suppressed.is_empty() {
        extras.push(format!("{} suppressed", report.suppressed.len()));
    }
    for extra in extras {
        let _ = write!(line, ", {extra}");
    }
    line.push_str(".\n");
    line
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `path:line` of a finding.
fn location(report: &Report, finding: &Finding) -> String {
    let (path, file) = locate(report, finding);
    match file {
        Some(file) => format!("{path}:{}", range(file, finding.span).0.line),
        None => path,
    }
}

/// A cell of prose: no table breaks, no HTML, no raw control or
/// bidirectional characters (written as `\u{hex}`); a line break is `<br>`.
/// Shared with the inspection report's Markdown.
pub(crate) fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.trim().chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            // `\u{1b}`, its backslash escaped for Markdown.
            c if is_escaped(c) => {
                out.push('\\');
                push_escaped(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code-span cell. The fence is longer than any run of backticks inside,
/// and `|` is still escaped: GitHub splits cells before reading spans.
/// Shared with the inspection report's Markdown.
pub(crate) fn code(value: &str) -> String {
    let mut inner = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '|' => inner.push_str("\\|"),
            '\n' | '\r' => inner.push(' '),
            c if is_escaped(c) => push_escaped(&mut inner, c),
            c => inner.push(c),
        }
    }
    if inner.trim().is_empty() {
        return String::new();
    }
    let longest = inner.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if inner.starts_with('`') || inner.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{inner}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(text("a|b\nc <x>"), "a\\|b<br>c &lt;x&gt;");
        assert_eq!(code("aws_x.a|b"), "`aws_x.a\\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(text("a\u{1b}[2J\u{202e}"), "a\\\\u{1b}[2J\\\\u{202e}");
        assert_eq!(code("a\u{1b}b"), "`a\\u{1b}b`");
        assert_eq!(code("```<b>"), "```` ```<b> ````");
    }
}
