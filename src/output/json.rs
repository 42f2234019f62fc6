//! The JSON report. Its shape is a contract tooling depends on: change it
//! only by raising `version`.

use serde::Serialize;

use super::{error_path, locate, range, RenderOptions};
use crate::finding::Finding;
use crate::ruleset::RuleSet;
use crate::source::Position;
use crate::Report;

/// Version of the JSON shape.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
pub(crate) struct JsonSuppressed<'r> {
    #[serde(flatten)]
    pub(crate) finding: JsonFinding<'r>,
    pub(crate) suppression: JsonSuppression<'r>,
}

#[derive(Serialize)]
pub(crate) struct JsonSuppression<'r> {
    pub(crate) source: &'static str,
    pub(crate) status: Option<&'static str>,
    pub(crate) reason: Option<&'r str>,
    pub(crate) approver: Option<&'r str>,
    pub(crate) ticket: Option<&'r str>,
    pub(crate) expires: Option<&'r str>,
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
}

#[derive(Serialize)]
pub(crate) struct JsonFinding<'r> {
    pub(crate) rule_id: &'r str,
    pub(crate) severity: &'static str,
    pub(crate) category: &'static str,
    pub(crate) controls: &'r [String],
    pub(crate) resource: &'r str,
    pub(crate) file: String,
    pub(crate) message: &'r str,
    /// What to change, from the rule.
    pub(crate) remediation: &'r str,
    pub(crate) fingerprint: &'r str,
    pub(crate) span: Option<JsonSpan>,
    /// Where the offending value was written, when elsewhere.
    pub(crate) related: Vec<JsonRelated>,
}

#[derive(Serialize)]
pub(crate) struct JsonRelated {
    pub(crate) file: String,
    pub(crate) span: Option<JsonSpan>,
    pub(crate) message: String,
}

#[derive(Serialize)]
pub(crate) struct JsonSpan {
    pub(crate) start: Position,
    pub(crate) end: Position,
}

#[derive(Serialize)]
struct JsonError<'r> {
    file: String,
    span: Option<JsonSpan>,
    message: &'r str,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    resources: usize,
    findings: usize,
    errors: usize,
    suppressed: usize,
}

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    super::written(|out| write(report, rules, options, out))
}

/// Writes the report as [`render`] does, its lists of findings rendered
/// in parallel, a window at a time (see [`super::pretty`]), each finding
/// made into its entry as it is rendered: a report of any size never
/// holds all its entries at once.
pub fn write<'r>(
    report: &'r Report,
    rules: &'r RuleSet,
    options: RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut document = super::pretty::Object::begin(&mut out, 0)?;
    document.field("version", &VERSION)?;
    // The run's provenance (README, "Provenance"), when recorded.
    if let Some(meta) = &report.meta {
        document.field("meta", meta)?;
    }
    // The configuration file used, or null.
    document.field("config", &super::config_path(report))?;
    let finding = |f: &'r Finding| finding_entry(report, rules, f);
    document.list("findings", &report.findings, finding)?;
    if options.show_undecided {
        document.list("undecided", &report.undecided, finding)?;
    }
    document.list("suppressed", &report.suppressed, |s| {
        suppressed_entry(report, rules, s)
    })?;
    let errors: Vec<JsonError<'_>> = report
        .errors
        .iter()
        .map(|e| json_error(report, e))
        .collect();
    document.field("errors", &errors)?;
    // Modules not scanned, reference cycles: not errors.
    let notes: Vec<JsonError<'_>> = report.notes.iter().map(|e| json_error(report, e)).collect();
    document.field("notes", &notes)?;
    document.field("summary", &summary(report))?;
    document.end()?;
    out.write_all(b"\n")?;
    out.flush()
}

fn summary(report: &Report) -> Summary {
    Summary {
        files: report.files_read,
        resources: report.resource_count(),
        findings: report.findings.len(),
        errors: report.errors.len(),
        suppressed: report.suppressed.len(),
    }
}

fn json_error<'r>(report: &'r Report, e: &'r crate::error::FileError) -> JsonError<'r> {
    JsonError {
        file: error_path(report, e),
        span: match (report.file_for(e), e.span) {
            (Some(file), Some(span)) => {
                let (start, end) = range(file, span);
                Some(JsonSpan { start, end })
            }
            _ => None,
        },
        message: &e.message,
    }
}

/// One finding as `check --format json` writes it.
pub(crate) fn finding_entry<'r>(
    report: &'r Report,
    rules: &'r RuleSet,
    f: &'r Finding,
) -> JsonFinding<'r> {
    let (file, source) = locate(report, f);
    let rule = rules.rules.get(f.rule);
    JsonFinding {
        rule_id: f.rule_id.as_str(),
        severity: f.severity.as_str(),
        category: f.category.as_str(),
        controls: rule.map_or(&[], |r| r.controls.as_slice()),
        resource: &f.resource,
        file,
        message: &f.message,
        remediation: rule.map_or("", |r| r.remediation.trim()),
        fingerprint: &f.fingerprint,
        span: source.map(|s| {
            let (start, end) = range(s, f.span);
            JsonSpan { start, end }
        }),
        related: f
            .related
            .iter()
            .map(|origin| {
                let file = report.files.get(origin.file);
                JsonRelated {
                    file: file.map(|f| report.shown_path(&f.path)).unwrap_or_default(),
                    span: file.map(|f| {
                        let (start, end) = range(f, origin.span);
                        JsonSpan { start, end }
                    }),
                    message: origin.message.to_string(),
                }
            })
            .collect(),
    }
}

/// One suppressed finding as `check --format json` writes it.
pub(crate) fn suppressed_entry<'r>(
    report: &'r Report,
    rules: &'r RuleSet,
    s: &'r crate::suppress::Suppressed,
) -> JsonSuppressed<'r> {
    JsonSuppressed {
        finding: finding_entry(report, rules, &s.finding),
        suppression: JsonSuppression {
            source: s.by.source.as_str(),
            status: s.by.status.map(|st| st.as_str()),
            reason: s.by.reason.as_deref(),
            approver: s.by.approver.as_deref(),
            ticket: s.by.ticket.as_deref(),
            expires: s.by.expires.as_deref(),
            file: report.shown_path(&s.by.file),
            line: s.by.line,
        },
    }
}
