//! The human report: miette's graphical diagnostics, one per finding, with
//! the source snippet and the span underlined, then a summary.

use std::fmt::Write;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents,
};

use super::{error_path, locate, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::ruleset::RuleSet;
use crate::Report;

/// A file's text, shared rather than copied into every diagnostic.
#[derive(Debug)]
struct Text(Arc<str>);

impl SourceCode for Text {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .0
            .as_ref()
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();

    for error in &report.errors {
        let mut diagnostic = MietteDiagnostic::new(format!("error: {}", error.message));
        let path = error_path(error);
        match (report.file_for(error), error.span) {
            (Some(file), Some(span)) => {
                diagnostic = diagnostic.with_label(LabeledSpan::at(
                    span.start..span.end.max(span.start),
                    "here",
                ));
                let source = NamedSource::new(path, Text(file.text.clone()));
                emit(&handler, diagnostic, Some(source), &mut out);
            }
            _ => {
                diagnostic.message = format!("error: {path}: {}", error.message);
                emit(&handler, diagnostic, None, &mut out);
            }
        }
    }

    for finding in &report.findings {
        finding_diagnostic(report, rules, finding, &handler, &mut out, false);
    }
    if options.show_undecided {
        for finding in &report.undecided {
            finding_diagnostic(report, rules, finding, &handler, &mut out, true);
        }
    }
    audit(report, &mut out);
    for note in &report.notes {
        let path = error_path(note);
        let at = match (report.file_for(note), note.span) {
            (Some(file), Some(span)) => {
                let p = file.position(span.start);
                format!("{path}:{}:{}", p.line, p.column)
            }
            _ => path,
        };
        let _ = writeln!(out, "note: {at}: {}", note.message);
    }
    summary(report, options, &mut out);
    out
}

/// The suppression audit: what was silenced, by what, and why.
fn audit(report: &Report, out: &mut String) {
    if report.suppressed.is_empty() {
        return;
    }
    let _ = writeln!(out, "Suppressed findings (OSP 3.3):");
    for s in &report.suppressed {
        let (path, file) = locate(report, &s.finding);
        let line = file.map_or(0, |f| f.position(s.finding.span.start).line);
        let by = &s.by;
        let origin = match by.line {
            Some(l) => format!("{}:{l}", crate::source::display_path(&by.file)),
            None => crate::source::display_path(&by.file),
        };
        let _ = writeln!(
            out,
            "  {path}:{line} {} {} — {} {} ({origin})",
            s.finding.rule_id,
            s.finding.resource,
            by.source.as_str(),
            by.status.map_or("accepted", |st| st.as_str()),
        );
        let mut details = Vec::new();
        if let Some(reason) = &by.reason {
            details.push(format!("reason: {reason}"));
        }
        if let Some(approver) = &by.approver {
            details.push(format!("approver: {approver}"));
        }
        if let Some(ticket) = &by.ticket {
            details.push(format!("ticket: {ticket}"));
        }
        if let Some(expires) = &by.expires {
            details.push(format!("expires: {expires}"));
        }
        if !details.is_empty() {
            let _ = writeln!(out, "      {}", details.join(" · "));
        }
    }
    out.push('\n');
}

fn finding_diagnostic(
    report: &Report,
    rules: &RuleSet,
    finding: &Finding,
    handler: &GraphicalReportHandler,
    out: &mut String,
    undecided: bool,
) {
    let Some(rule) = rules.rules.get(finding.rule) else {
        return;
    };
    let (path, file) = locate(report, finding);
    let severity = if undecided {
        miette::Severity::Advice
    } else {
        match finding.severity {
            Severity::Critical | Severity::High => miette::Severity::Error,
            Severity::Medium | Severity::Low => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        }
    };
    let status = if undecided {
        "undecided".to_string()
    } else {
        finding.severity.to_string()
    };
    let mut help = format!(
        "{}\npolicy: {} · category: {} · `provcheck explain {}`",
        rule.remediation.trim(),
        rule.controls.join(", "),
        finding.category,
        finding.rule_id,
    );
    for origin in &finding.related {
        if let Some(source) = report.files.get(origin.file) {
            let at = source.position(origin.span.start);
            let call = finding
                .module
                .iter()
                .any(|c| c.file == origin.file && c.span == origin.span);
            let _ = write!(
                help,
                "\n{} {}:{}:{} ({})",
                if call { "module call at" } else { "value from" },
                source.display_path(),
                at.line,
                at.column,
                origin.message
            );
        }
    }
    let diagnostic = MietteDiagnostic::new(format!(
        "{status} [{}] {} — {}",
        finding.rule_id, rule.title, finding.resource
    ))
    .with_severity(severity)
    .with_help(help)
    .with_label(LabeledSpan::at(
        finding.span.start..finding.span.end.max(finding.span.start),
        finding.message.clone(),
    ));
    let source = file.map(|f| NamedSource::new(path, Text(f.text.clone())));
    emit(handler, diagnostic, source, out);
}

fn emit(
    handler: &GraphicalReportHandler,
    diagnostic: MietteDiagnostic,
    source: Option<NamedSource<Text>>,
    out: &mut String,
) {
    let report = match source {
        Some(source) => miette::Report::new(diagnostic).with_source_code(source),
        None => miette::Report::new(diagnostic),
    };
    let _ = handler.render_report(out, report.as_ref());
    out.push('\n');
}

fn summary(report: &Report, options: RenderOptions, out: &mut String) {
    let mut counts = String::new();
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        let n = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        if n > 0 {
            let sep = if counts.is_empty() { "" } else { ", " };
            let _ = write!(counts, "{sep}{n} {severity}");
        }
    }
    let findings = report.findings.len();
    let _ = write!(
        out,
        "Checked {} file{}, {} resource{}: {} finding{}",
        report.files_read,
        plural(report.files_read),
        report.resource_count(),
        plural(report.resource_count()),
        findings,
        plural(findings),
    );
    if !counts.is_empty() {
        let _ = write!(out, " ({counts})");
    }
    if !report.suppressed.is_empty() {
        let _ = write!(out, ", {} suppressed", report.suppressed.len());
    }
    if !report.errors.is_empty() {
        let n = report.errors.len();
        let _ = write!(out, ", {n} error{} (results incomplete)", plural(n));
    }
    out.push_str(".\n");
    match super::config_path(report) {
        Some(path) => {
            let _ = writeln!(out, "Configuration: {path}");
        }
        None => out.push_str("Configuration: none (built-in defaults)\n"),
    }
    if !report.undecided.is_empty() && !options.show_undecided {
        let n = report.undecided.len();
        let _ = writeln!(
            out,
            "{n} result{} depend{} on values unknown statically; see them with --show-undecided.",
            plural(n),
            if n == 1 { "s" } else { "" }
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
