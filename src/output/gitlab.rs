//! GitLab's Code Quality report: a JSON array of issues, each with
//! `description`, `check_name`, `fingerprint`, `severity` and
//! `location.path` / `location.lines.begin`, which merge requests show in
//! their widget and diff. Files that could not be read are issues too
//! (check `provcheck-error`), so an incomplete scan does not look clean.
//! Suppressed findings are left out, as GitLab has no place for them.

use serde::Serialize;

use super::{error_path, locate, range, RenderOptions};
use crate::finding::Severity;
use crate::ruleset::RuleSet;
use crate::Report;

#[derive(Serialize)]
struct Issue<'r> {
    description: String,
    check_name: &'r str,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

/// GitLab's five levels, one for each of ours.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "blocker",
        Severity::High => "critical",
        Severity::Medium => "major",
        Severity::Low => "minor",
        Severity::Info => "info",
    }
}

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    let _ = (rules, options);
    let mut issues: Vec<Issue<'_>> = Vec::new();
    for error in &report.errors {
        let path = error_path(report, error);
        let begin = match (report.file_for(error), error.span) {
            (Some(file), Some(span)) => range(file, span).0.line,
            _ => 1,
        };
        issues.push(Issue {
            description: format!("provcheck could not check this file: {}", error.message),
            check_name: "provcheck-error",
            fingerprint: crate::finding::fingerprint("provcheck-error", &path, "", &error.message),
            severity: "blocker",
            location: Location {
                path,
                lines: Lines { begin },
            },
        });
    }
    for finding in &report.findings {
        let (path, file) = locate(report, finding);
        let begin = file.map_or(1, |f| range(f, finding.span).0.line);
        issues.push(Issue {
            description: format!("{} ({})", finding.message, finding.resource),
            check_name: finding.rule_id.as_str(),
            fingerprint: finding.fingerprint.clone(),
            severity: severity(finding.severity),
            location: Location {
                path,
                lines: Lines { begin },
            },
        });
    }
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}
