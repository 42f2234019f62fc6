//! Renderers: one file per output format, all reading the same [`Report`].
//! Byte spans become lines and columns here, and only here. The text
//! formats render the report through [`escape::report`], so no value from
//! the scanned files reaches them unescaped.

pub mod compact;
pub mod escape;
pub mod github;
pub mod gitlab;
#[cfg(feature = "cli")]
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub(crate) mod pretty;
pub mod sarif;

use crate::finding::Finding;
use crate::source::{Position, SourceFile, Span};
use crate::{error::FileError, Report};
use escape::Breaks;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Compact,
    Json,
    Sarif,
    Junit,
    Github,
    Markdown,
    Gitlab,
}

/// What a renderer may show besides findings and errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub show_undecided: bool,
    pub color: bool,
    /// Findings only: no audit, notes or summary (human format).
    pub quiet: bool,
    /// Findings left out by `--min-severity`, for the summary to count.
    pub hidden: usize,
}

/// Renders the report in one format.
pub fn render(
    report: &Report,
    rules: &crate::ruleset::RuleSet,
    format: OutputFormat,
    options: RenderOptions,
) -> String {
    // JSON and SARIF are escaped by serde; every other format is text.
    let text = match format {
        OutputFormat::Json | OutputFormat::Sarif | OutputFormat::Gitlab => {
            escape::Shown::Same(report)
        }
        OutputFormat::Markdown => escape::report(report, Breaks::Keep),
        OutputFormat::Human
        | OutputFormat::Compact
        | OutputFormat::Github
        | OutputFormat::Junit => escape::report(report, Breaks::Escape),
    };
    let report: &Report = &text;
    match format {
        #[cfg(feature = "cli")]
        OutputFormat::Human => human::render(report, rules, options),
        #[cfg(not(feature = "cli"))]
        OutputFormat::Human => compact::render(report, options),
        OutputFormat::Compact => compact::render(report, options),
        OutputFormat::Json => json::render(report, rules, options),
        OutputFormat::Sarif => sarif::render(report, rules, options),
        OutputFormat::Junit => junit::render(report, rules, options),
        OutputFormat::Github => github::render(report, rules, options),
        OutputFormat::Markdown => markdown::render(report, rules, options),
        OutputFormat::Gitlab => gitlab::render(report, rules, options),
    }
}

/// Writes the report in one format. JSON, SARIF and the human format
/// are written entry by entry, so that their size, not the report's, never sits in memory
/// (a 13,560-file tree's SARIF is over 100 MB), and JUnit suite by
/// suite; the other formats are rendered whole, then written.
pub fn write(
    report: &Report,
    rules: &crate::ruleset::RuleSet,
    format: OutputFormat,
    options: RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => json::write(report, rules, options, out),
        OutputFormat::Sarif => sarif::write(report, rules, options, out),
        #[cfg(feature = "cli")]
        OutputFormat::Human => {
            human::write(&escape::report(report, Breaks::Escape), rules, options, out)
        }
        OutputFormat::Junit => {
            junit::write(&escape::report(report, Breaks::Escape), rules, options, out)
        }
        _ => out.write_all(render(report, rules, format, options).as_bytes()),
    }
}

/// The text a `write` function of a format writes, for [`render`] and
/// the tests. Writing into memory fails only if serializing does, which
/// the report's types cannot.
pub(crate) fn written(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> String {
    let mut out = Vec::new();
    let _ = write(&mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `value` as pretty JSON, then a line break. serde_json writes a
/// document in many small pieces (an indent, a quote, a colon): into a
/// buffer of a type it knows, each is a copy; through `dyn Write`, each
/// was a call (a third of the time the JSON report took to write, before
/// its findings were rendered by `pretty`, which buffers the same way).
pub(crate) fn write_pretty_json<T: serde::Serialize>(
    value: &T,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Start and end positions (1-based) of a span in a file.
pub fn range(file: &SourceFile, span: Span) -> (Position, Position) {
    (file.position(span.start), file.position(span.end))
}

// Paths: the formats a tool reads (JSON, SARIF, JUnit, GitHub, Markdown)
// write them relative to the project root, whatever the current folder;
// human and compact, read in a terminal and opened from it, as reached.

/// The path (relative to the project root) and file of a finding.
pub fn locate<'r>(report: &'r Report, finding: &Finding) -> (String, Option<&'r SourceFile>) {
    let file = report.files.get(finding.file);
    (
        file.map(|f| report.shown_path(&f.path)).unwrap_or_default(),
        file,
    )
}

/// The path (as reached from the arguments) and file of a finding.
pub fn locate_as_reached<'r>(
    report: &'r Report,
    finding: &Finding,
) -> (String, Option<&'r SourceFile>) {
    let file = report.files.get(finding.file);
    (file.map(SourceFile::display_path).unwrap_or_default(), file)
}

/// The configuration file the run used, relative to the project root,
/// for every format's header or summary.
pub fn config_path(report: &Report) -> Option<String> {
    report.config.as_deref().map(|c| report.shown_path(c))
}

/// The configuration file the run used, as reached.
pub fn config_path_as_reached(report: &Report) -> Option<String> {
    report.config.as_deref().map(crate::source::display_path)
}

/// The path of an error's file, relative to the project root.
pub fn error_path(report: &Report, error: &FileError) -> String {
    report.shown_path(&error.path)
}

/// The path of an error's file, as reached.
pub fn error_path_as_reached(error: &FileError) -> String {
    crate::source::display_path(&error.path)
}
