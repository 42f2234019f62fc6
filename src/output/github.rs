//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice`
//! line per finding, which the runner turns into annotations on the
//! pull request's diff. Suppressed findings are not annotated; one closing
//! notice counts them.
//!
//! GitHub accepts `col` and `endColumn` only on single-line annotations,
//! so a span over several lines is annotated by lines alone.
//!
//! A step shows at most 10 annotations of each level; more are accepted
//! but hidden. So the most severe come first (files that could not be
//! read, then findings by severity), at most [`SHOWN_PER_LEVEL`] of each
//! level are written, and a closing notice counts the rest.

use std::fmt::Write;

use super::{error_path, locate, range, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::ruleset::RuleSet;
use crate::source::Position;
use crate::suppress::Source;
use crate::Report;

/// Annotations of one level GitHub shows per step.
pub const SHOWN_PER_LEVEL: usize = 10;

/// How many annotations of each level were written, and how many left out.
#[derive(Default)]
struct Shown {
    error: usize,
    warning: usize,
    notice: usize,
    left_out: usize,
}

impl Shown {
    /// Whether another annotation of `level` is shown; counts it.
    fn take(&mut self, level: &str) -> bool {
        let slot = match level {
            "error" => &mut self.error,
            "warning" => &mut self.warning,
            _ => &mut self.notice,
        };
        if *slot < SHOWN_PER_LEVEL {
            *slot += 1;
            true
        } else {
            self.left_out += 1;
            false
        }
    }
}

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    let _ = rules;
    // A debug message, not an annotation on the pull request: every line
    // of this format is a workflow command, so none can be forged.
    let config = super::config_path(report).unwrap_or_else(|| "none (built-in defaults)".into());
    let mut out = format!(
        "::debug::provcheck configuration: {}\n",
        escape_data(&config)
    );
    // The provenance, as one JSON line for whoever reads the debug log.
    if let Some(meta) = &report.meta {
        let json = serde_json::to_string(meta).unwrap_or_default();
        let _ = writeln!(out, "::debug::provcheck provenance: {}", escape_data(&json));
    }
    let mut shown = Shown::default();
    for error in &report.errors {
        if !shown.take("error") {
            continue;
        }
        let mut properties = vec![("file", error_path(report, error))];
        if let (Some(file), Some(span)) = (report.file_for(error), error.span) {
            let (start, end) = range(file, span);
            push_range(&mut properties, start, end);
        }
        properties.push(("title", "provcheck error".to_string()));
        command(&mut out, "error", &properties, &error.message);
    }
    // Most severe first (stable: within a severity, file and line order).
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for finding in findings {
        let level = level(finding.severity);
        if shown.take(level) {
            let title = format!("{} ({})", finding.rule_id, finding.severity);
            annotate(&mut out, report, finding, level, title);
        }
    }
    if options.show_undecided {
        for finding in &report.undecided {
            if shown.take("notice") {
                let title = format!("{} (undecided)", finding.rule_id);
                annotate(&mut out, report, finding, "notice", title);
            }
        }
    }
    if shown.left_out > 0 {
        let message = format!(
            "provcheck: {} more not annotated (GitHub shows {SHOWN_PER_LEVEL} errors, \
             {SHOWN_PER_LEVEL} warnings and {SHOWN_PER_LEVEL} notices per step; the most \
             severe are above): {} findings and {} errors in all, see the SARIF or JSON report",
            shown.left_out,
            report.findings.len(),
            report.errors.len()
        );
        command(&mut out, "notice", &[], &message);
    }
    if !report.suppressed.is_empty() {
        let count = |source: Source| {
            report
                .suppressed
                .iter()
                .filter(|s| s.by.source == source)
                .count()
        };
        let by_source: Vec<String> = [Source::Inline, Source::Waiver, Source::Baseline]
            .into_iter()
            .map(|source| (count(source), source))
            .filter(|(n, _)| *n > 0)
            .map(|(n, source)| format!("{n} {}", source.as_str()))
            .collect();
        let total = report.suppressed.len();
        let message = format!(
            "{total} {} suppressed ({})",
            if total == 1 { "finding" } else { "findings" },
            by_source.join(", ")
        );
        command(&mut out, "notice", &[], &message);
    }
    out
}

fn annotate(out: &mut String, report: &Report, finding: &Finding, level: &str, title: String) {
    let (path, file) = locate(report, finding);
    let mut properties = vec![("file", path)];
    if let Some(file) = file {
        let (start, end) = range(file, finding.span);
        push_range(&mut properties, start, end);
    }
    properties.push(("title", title));
    let message = format!("{} ({})", finding.message, finding.resource);
    command(out, level, &properties, &message);
}

fn push_range(properties: &mut Vec<(&'static str, String)>, start: Position, end: Position) {
    properties.push(("line", start.line.to_string()));
    if start.line == end.line {
        properties.push(("col", start.column.to_string()));
        properties.push(("endLine", end.line.to_string()));
        properties.push(("endColumn", end.column.to_string()));
    } else {
        properties.push(("endLine", end.line.to_string()));
    }
}

/// Writes `::level key=value,...::message` and a line break.
fn command(out: &mut String, level: &str, properties: &[(&str, String)], message: &str) {
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    let separator = if properties.is_empty() { "" } else { " " };
    let _ = writeln!(
        out,
        "::{level}{separator}{}::{}",
        properties.join(","),
        escape_data(message)
    );
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// The runner's escaping for a command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The runner's escaping for a property value, where `:` and `,` delimit.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
