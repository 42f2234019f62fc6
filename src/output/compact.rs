//! `file:line:col: severity rule_id message (resource)`, one line each:
//! for editors, grep and quick terminal use. The resource address keeps
//! two instances of one module block (the same file and line) apart.

use std::fmt::Write;

use super::{error_path_as_reached, locate_as_reached, range, RenderOptions};
use crate::Report;

pub fn render(report: &Report, options: RenderOptions) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let path = error_path_as_reached(error);
        match (report.file_for(error), error.span) {
            (Some(file), Some(span)) => {
                let (start, _) = range(file, span);
                let _ = writeln!(
                    out,
                    "{path}:{}:{}: error {}",
                    start.line, start.column, error.message
                );
            }
            _ => {
                let _ = writeln!(out, "{path}: error {}", error.message);
            }
        }
    }
    let mut line = |finding: &crate::finding::Finding, label: &str| {
        let (path, file) = locate_as_reached(report, finding);
        let (line, column) = file.map_or((0, 0), |f| {
            let (start, _) = range(f, finding.span);
            (start.line, start.column)
        });
        let resource = if finding.resource.is_empty() {
            String::new()
        } else {
            format!(" ({})", finding.resource)
        };
        let _ = writeln!(
            out,
            "{path}:{line}:{column}: {label} {} {}{resource}",
            finding.rule_id, finding.message
        );
    };
    for finding in &report.findings {
        line(finding, finding.severity.as_str());
    }
    if options.show_undecided {
        for finding in &report.undecided {
            line(finding, "undecided");
        }
    }
    for suppressed in &report.suppressed {
        let by = &suppressed.by;
        let label = format!(
            "suppressed({} {})",
            by.source.as_str(),
            by.status.map_or("accepted", |s| s.as_str())
        );
        line(&suppressed.finding, &label);
    }
    out
}
