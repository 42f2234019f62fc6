//! The human report: miette's graphical diagnostics, one per finding, with
//! the source snippet and the span underlined, then a summary.

use std::fmt::Write;
use std::ops::Range;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents,
};

use super::escape::{escape, escape_lines};
use super::{error_path_as_reached, locate_as_reached, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::ruleset::RuleSet;
use crate::source::{floor_char_boundary, SourceFile, Span};
use crate::Report;

/// Lines shown above and below a span.
const CONTEXT_LINES: usize = 1;
/// The longest piece of a line shown, in bytes: a longer line is cut
/// around the span, so a finding on a huge line prints a short one.
const MAX_LINE_BYTES: usize = 240;
/// The most lines of one span shown: a longer span is underlined down to
/// this many lines.
const MAX_SPAN_LINES: usize = 24;

/// The lines around a span, cut to length and escaped, cut out of the file
/// with its line index: each diagnostic reads only its own lines, however
/// far down the file they are and however many findings share them.
#[derive(Debug)]
struct Snippet {
    text: String,
    /// 0-based line, in the file, of the snippet's first line.
    first_line: usize,
    line_count: usize,
    /// The span, in the snippet's text.
    label: Range<usize>,
    /// 0-based line and character column of the span's start in the file.
    at: (usize, usize),
}

impl Snippet {
    fn new(file: &SourceFile, span: Span) -> Snippet {
        let text: &str = &file.text;
        let lines = &file.lines;
        let start = floor_char_boundary(text, span.start);
        let mut end = floor_char_boundary(text, span.end).max(start);
        let at = file.position(start);
        let mut end_line = lines.line(end);
        // A span that takes in a line break ends on the line before.
        if end_line > at.line && lines.line_span(text, end_line).start == end {
            end_line -= 1;
        }
        if end_line - at.line >= MAX_SPAN_LINES {
            end_line = at.line + MAX_SPAN_LINES - 1;
            end = lines.line_span(text, end_line).end;
        }
        let first = at.line.saturating_sub(CONTEXT_LINES).max(1);
        let last = (end_line + CONTEXT_LINES).min(lines.line_count());
        let mut out = String::new();
        let mut label = 0..0;
        for line in first..=last {
            let whole = lines.line_span(text, line);
            let line_end = if text[..whole.end].ends_with('\r') {
                whole.end - 1
            } else {
                whole.end
            };
            let anchor = if line == at.line {
                start
            } else if line == end_line {
                end
            } else {
                whole.start
            };
            let (from, to) = window(text, whole.start, line_end, anchor);
            if line > first {
                out.push('\n');
            }
            if from > whole.start {
                out.push('…');
            }
            // The span's ends, where they fall on this line.
            let mut cuts = Vec::new();
            if line == at.line {
                cuts.push((start.clamp(from, to), true));
            }
            if line == end_line {
                cuts.push((end.clamp(from, to), false));
            }
            let mut done = from;
            for (cut, is_start) in cuts {
                let cut = cut.max(done);
                out.push_str(&escape_lines(&text[done..cut]));
                done = cut;
                if is_start {
                    label.start = out.len();
                }
                label.end = out.len();
            }
            out.push_str(&escape_lines(&text[done..to]));
            if to < line_end {
                out.push('…');
            }
        }
        Snippet {
            text: out,
            first_line: first - 1,
            line_count: last + 1 - first,
            label,
            at: (at.line - 1, at.column - 1),
        }
    }

    fn source_span(&self) -> Range<usize> {
        self.label.clone()
    }
}

/// The bytes of a line shown: all of it, or at most [`MAX_LINE_BYTES`]
/// from a little before `anchor`.
fn window(text: &str, start: usize, end: usize, anchor: usize) -> (usize, usize) {
    if end - start <= MAX_LINE_BYTES {
        return (start, end);
    }
    let anchor = anchor.clamp(start, end);
    let from = floor_char_boundary(text, anchor.saturating_sub(MAX_LINE_BYTES / 3).max(start));
    let to = floor_char_boundary(text, (from + MAX_LINE_BYTES).min(end));
    (from, to)
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if context_lines_before == 0 && context_lines_after == 0 {
            // Where the header says the span is: its place in the file.
            let range = self.label.clone();
            return Ok(Box::new(MietteSpanContents::new(
                self.text.get(range).unwrap_or_default().as_bytes(),
                *span,
                self.at.0,
                self.at.1,
                1,
            )));
        }
        Ok(Box::new(MietteSpanContents::new(
            self.text.as_bytes(),
            (0, self.text.len()).into(),
            self.first_line,
            0,
            self.line_count,
        )))
    }
}

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    super::written(|out| write(report, rules, options, out))
}

/// Text gathered before it is written: passed on at every diagnostic once
/// it holds this much, so that a report with tens of thousands of
/// findings is never held whole.
const CHUNK: usize = 64 * 1024;

/// Passes the text gathered on to `sink` once it holds [`CHUNK`] bytes,
/// or whatever it holds when `all`.
fn drain(out: &mut String, sink: &mut dyn std::io::Write, all: bool) -> std::io::Result<()> {
    if all || out.len() >= CHUNK {
        sink.write_all(out.as_bytes())?;
        out.clear();
    }
    Ok(())
}

/// Writes the report as [`render`] does, a diagnostic at a time.
pub fn write(
    report: &Report,
    rules: &RuleSet,
    options: RenderOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();

    for error in &report.errors {
        let mut diagnostic = MietteDiagnostic::new(format!("error: {}", error.message));
        let path = error_path_as_reached(error);
        match (report.file_for(error), error.span) {
            (Some(file), Some(span)) => {
                let snippet = Snippet::new(file, span);
                diagnostic = diagnostic.with_label(LabeledSpan::at(snippet.source_span(), "here"));
                emit(
                    &handler,
                    diagnostic,
                    Some(NamedSource::new(path, snippet)),
                    &mut out,
                );
            }
            _ => {
                diagnostic.message = format!("error: {path}: {}", error.message);
                emit(&handler, diagnostic, None, &mut out);
            }
        }
        drain(&mut out, sink, false)?;
    }

    for finding in &report.findings {
        finding_diagnostic(report, rules, finding, &handler, &mut out, false);
        drain(&mut out, sink, false)?;
    }
    if options.show_undecided {
        for finding in &report.undecided {
            finding_diagnostic(report, rules, finding, &handler, &mut out, true);
            drain(&mut out, sink, false)?;
        }
    }
    if options.quiet {
        return drain(&mut out, sink, true);
    }
    let unchecked = crate::posture::coverage::unchecked(report, rules);
    if options.show_undecided {
        not_checked(report, &unchecked, &mut out);
    }
    audit(report, &mut out);
    for note in &report.notes {
        let path = error_path_as_reached(note);
        let at = match (report.file_for(note), note.span) {
            (Some(file), Some(span)) => {
                let p = file.position(span.start);
                format!("{path}:{}:{}", p.line, p.column)
            }
            _ => path,
        };
        let _ = writeln!(out, "note: {at}: {}", note.message);
    }
    summary(report, options, unchecked.len(), &mut out);
    drain(&mut out, sink, true)
}

/// The data stores with controls no rule checks, each with those
/// controls: a gap in the rule set, not a pass.
fn not_checked(
    report: &Report,
    unchecked: &[crate::posture::coverage::Unchecked],
    out: &mut String,
) {
    if unchecked.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Not checked: no rule covers these controls of these data stores; verify by hand:"
    );
    for u in unchecked {
        let Some(r) = report.resources.get(u.resource) else {
            continue;
        };
        let file = report.files.get(r.file);
        let path = file.map(SourceFile::display_path).unwrap_or_default();
        let line = file.map_or(0, |f| f.position(r.header.start).line);
        let _ = writeln!(
            out,
            "  {}:{line} {} ({}): {}",
            escape(&path),
            escape(&r.address),
            escape(&r.resource_type),
            u.controls.join(", ")
        );
    }
    out.push('\n');
}

/// The suppression audit: what was silenced, by what, and why.
fn audit(report: &Report, out: &mut String) {
    if report.suppressed.is_empty() {
        return;
    }
    let _ = writeln!(out, "Suppressed findings (OSP 3.3):");
    for s in &report.suppressed {
        let (path, file) = locate_as_reached(report, &s.finding);
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
    let (path, file) = locate_as_reached(report, finding);
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
    // A rule's text comes from its rule file, which may be a user's.
    let mut help = format!(
        "{}\npolicy: {} · category: {} · `provcheck explain {}`",
        escape_lines(rule.remediation.trim()),
        escape(&rule.controls.join(", ")),
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
    let mut diagnostic = MietteDiagnostic::new(format!(
        "{status} [{}] {} — {}",
        finding.rule_id,
        escape(&rule.title),
        finding.resource
    ))
    .with_severity(severity)
    .with_help(help);
    let snippet = file.map(|f| Snippet::new(f, finding.span));
    if let Some(snippet) = &snippet {
        diagnostic = diagnostic.with_label(LabeledSpan::at(
            snippet.source_span(),
            finding.message.clone(),
        ));
    }
    emit(
        handler,
        diagnostic,
        snippet.map(|s| NamedSource::new(path, s)),
        out,
    );
}

fn emit(
    handler: &GraphicalReportHandler,
    diagnostic: MietteDiagnostic,
    source: Option<NamedSource<Snippet>>,
    out: &mut String,
) {
    let report = match source {
        Some(source) => miette::Report::new(diagnostic).with_source_code(source),
        None => miette::Report::new(diagnostic),
    };
    let _ = handler.render_report(out, report.as_ref());
    out.push('\n');
}

fn summary(report: &Report, options: RenderOptions, unchecked: usize, out: &mut String) {
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
    if options.hidden > 0 {
        let _ = write!(out, ", {} below --min-severity not shown", options.hidden);
    }
    let skipped = report
        .notes
        .iter()
        .filter(|n| n.message.starts_with("skipped:"))
        .count();
    if skipped > 0 {
        let _ = write!(
            out,
            ", {skipped} input{} skipped (see the notes)",
            plural(skipped)
        );
    }
    if !report.suppressed.is_empty() {
        let _ = write!(out, ", {} suppressed", report.suppressed.len());
    }
    if !report.errors.is_empty() {
        let n = report.errors.len();
        let _ = write!(out, ", {n} error{} (results incomplete)", plural(n));
    }
    out.push_str(".\n");
    match super::config_path_as_reached(report) {
        Some(path) => {
            let _ = writeln!(out, "Configuration: {path}");
        }
        None => out.push_str("Configuration: none (built-in defaults)\n"),
    }
    if let Some(meta) = &report.meta {
        let _ = writeln!(out, "Provenance: {}", meta.line());
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
    if unchecked > 0 {
        let _ = writeln!(
            out,
            "{unchecked} data store{} {} controls no rule checks{}",
            plural(unchecked),
            if unchecked == 1 { "has" } else { "have" },
            if options.show_undecided {
                "; listed above under Not checked."
            } else {
                ": run with --show-undecided."
            }
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
