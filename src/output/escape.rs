//! Escaping for the text reports. Everything a report shows from the
//! scanned files — paths, addresses, messages, reasons, source lines — can
//! hold characters that a terminal, a CI log or an editor acts on: ANSI
//! sequences (`ESC [`, `ESC ]8` links, `ESC [2J`), BEL, carriage returns
//! and line breaks that forge records, and the bidirectional overrides
//! that reorder what is read. [`escape`] writes each such character as
//! `\u{1b}`; [`report`] applies it, once, to every value of a report before
//! a text format renders it; the human format's source snippets use
//! [`escape_lines`]. JSON and SARIF need none of this: serde escapes them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::FileError;
use crate::finding::{Finding, RuleId};
use crate::model::{Origin, Resource};
use crate::source::SourceFile;
use crate::suppress::{Lapsed, Suppressed, Suppression};
use crate::Report;

/// Whether a character is written escaped: C0 and C1 controls and DEL
/// (line breaks and tabs included), the Unicode line and paragraph
/// separators, and the bidirectional marks, embeddings, overrides and
/// isolates (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069).
pub fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// A value on one line: every [`is_escaped`] character as `\u{hex}`.
/// Backslashes are left as they are, so `\u{1b}` written in a file reads
/// the same as an escape character: the point is that neither acts.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_except(text, |_| false)
}

/// Text of several lines (a source snippet, a rule's remediation): as
/// [`escape`], but line feeds and tabs stay.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_except(text, |c| c == '\n' || c == '\t')
}

fn escape_except<'t>(text: &'t str, keep: impl Fn(char) -> bool) -> Cow<'t, str> {
    let escaped = |c: char| is_escaped(c) && !keep(c);
    let Some(first) = text.find(escaped) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if escaped(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `\u{hex}` for one character.
pub fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

/// What the format does with a line break inside a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaks {
    /// Escape it: each line of the format is a record (compact, GitHub
    /// commands) or is drawn (human).
    Escape,
    /// Keep it for the format to write its own way (`<br>` in Markdown,
    /// `&#10;` in XML attributes).
    Keep,
}

/// The report with every value from the scanned files escaped, for the
/// text formats; borrowed as it is when nothing needs escaping, which is
/// the usual case. Structs are taken apart field by field, so a field
/// added to them must be placed here.
pub fn report(report: &Report, breaks: Breaks) -> Shown<'_> {
    let mut e = Escaper {
        breaks,
        changed: false,
    };
    let Report {
        files,
        files_read,
        resources,
        findings,
        undecided,
        held,
        maybe,
        suppressed,
        lapsed,
        notes,
        errors,
        config,
        anchor,
        meta,
        fingerprint_paths,
        file_index: _,
    } = report;
    let files: Vec<SourceFile> = files
        .iter()
        .map(|f| SourceFile {
            path: e.path(&f.path),
            // Source text is shown only in snippets, escaped line by line
            // as they are cut (`escape_lines`).
            text: f.text.clone(),
            lines: f.lines.clone(),
        })
        .collect();
    let by: Vec<Suppression> = suppressed.iter().map(|s| e.suppression(&s.by)).collect();
    let lapsed: Vec<Lapsed> = lapsed
        .iter()
        .map(
            |Lapsed {
                 by,
                 rules,
                 findings,
             }| Lapsed {
                by: e.suppression(by),
                rules: rules.iter().map(|r| e.text(r)).collect(),
                findings: findings.iter().map(|f| e.text(f)).collect(),
            },
        )
        .collect();
    let notes: Vec<FileError> = notes.iter().map(|n| e.error(n)).collect();
    let errors: Vec<FileError> = errors.iter().map(|n| e.error(n)).collect();
    let config = config.as_deref().map(|c| e.path(c));
    // The paths above are shown from the anchor: its folders are escaped
    // the same way, so that they still lead the paths.
    let anchor = anchor.map(|p| e.path(p));
    let meta = meta.as_ref().map(|m| m.map_text(|t| e.text(t)));
    // Resources are large (their attributes): copied only when needed.
    let resources_changed = resources
        .iter()
        .any(|r| e.needs(&r.address) || e.needs(&r.resource_type));
    // The findings, the bulk of a large report, are copied only when
    // something is escaped: looked at first, then copied.
    let findings_changed = findings
        .iter()
        .chain(undecided)
        .chain(suppressed.iter().map(|s| &s.finding))
        .any(|f| e.finding_needs(f));
    if !e.changed && !resources_changed && !findings_changed {
        return Shown::Same(report);
    }
    let findings: Vec<Finding> = findings.iter().map(|f| e.finding(f)).collect();
    let undecided: Vec<Finding> = undecided.iter().map(|f| e.finding(f)).collect();
    let suppressed: Vec<Suppressed> = suppressed
        .iter()
        .zip(by)
        .map(|(Suppressed { finding, .. }, by)| Suppressed {
            finding: e.finding(finding),
            by,
        })
        .collect();
    let resources: Vec<Resource> = resources
        .iter()
        .map(|r| Resource {
            address: e.text(&r.address),
            resource_type: e.text(&r.resource_type),
            ..r.clone()
        })
        .collect();
    Shown::Escaped(Box::new(Report {
        files,
        files_read: *files_read,
        resources,
        findings,
        undecided,
        held: held.clone(),
        maybe: maybe.clone(),
        suppressed,
        lapsed,
        notes,
        errors,
        config,
        anchor,
        meta,
        fingerprint_paths: fingerprint_paths.clone(),
        // The paths are escaped: indexed again when asked.
        file_index: crate::FileIndex::default(),
    }))
}

/// A report as the text formats show it.
pub enum Shown<'r> {
    /// Nothing needed escaping.
    Same(&'r Report),
    Escaped(Box<Report>),
}

impl std::ops::Deref for Shown<'_> {
    type Target = Report;

    fn deref(&self) -> &Report {
        match self {
            Shown::Same(report) => report,
            Shown::Escaped(report) => report,
        }
    }
}

/// Escapes values and remembers whether any changed.
struct Escaper {
    breaks: Breaks,
    changed: bool,
}

impl Escaper {
    fn kept(&self, c: char) -> bool {
        self.breaks == Breaks::Keep && c == '\n'
    }

    fn needs(&self, text: &str) -> bool {
        text.contains(|c| is_escaped(c) && !self.kept(c))
    }

    fn text(&mut self, text: &str) -> String {
        let escaped = escape_except(text, |c| self.kept(c));
        match escaped {
            Cow::Borrowed(same) => same.to_string(),
            Cow::Owned(escaped) => {
                self.changed = true;
                escaped
            }
        }
    }

    fn optional(&mut self, text: &Option<String>) -> Option<String> {
        text.as_deref().map(|t| self.text(t))
    }

    /// A path as text, escaped. Non-UTF-8 names were already shown
    /// lossily; the escapes keep their backslashes, since
    /// [`crate::source::display_path`] turns `\` into `/` only on Windows.
    fn path(&mut self, path: &Path) -> PathBuf {
        let text = path.to_string_lossy();
        if self.needs(&text) {
            PathBuf::from(self.text(&text))
        } else {
            path.to_path_buf()
        }
    }

    fn origin(&mut self, origin: &Origin) -> Origin {
        let Origin {
            file,
            span,
            message,
            from_environment,
        } = origin;
        Origin {
            file: *file,
            span: *span,
            message: self.text(message).into(),
            from_environment: *from_environment,
        }
    }

    fn finding(&mut self, finding: &Finding) -> Finding {
        let Finding {
            rule,
            rule_id,
            severity,
            category,
            resource,
            file,
            span,
            pointer,
            message,
            fingerprint,
            related,
            module,
        } = finding;
        Finding {
            rule: *rule,
            rule_id: RuleId(self.text(&rule_id.0)),
            severity: *severity,
            category: *category,
            resource: self.text(resource),
            file: *file,
            span: *span,
            pointer: self.text(pointer),
            message: self.text(message),
            fingerprint: fingerprint.clone(),
            related: related.iter().map(|o| self.origin(o)).collect(),
            module: module.iter().map(|o| self.origin(o)).collect(),
        }
    }

    /// Whether [`Escaper::finding`] would change anything.
    fn finding_needs(&self, finding: &Finding) -> bool {
        let Finding {
            rule: _,
            rule_id,
            severity: _,
            category: _,
            resource,
            file: _,
            span: _,
            pointer,
            message,
            fingerprint: _,
            related,
            module,
        } = finding;
        [&rule_id.0, resource, pointer, message]
            .into_iter()
            .any(|text| self.needs(text))
            || related.iter().chain(module).any(|o| self.needs(&o.message))
    }

    fn suppression(&mut self, by: &Suppression) -> Suppression {
        let Suppression {
            source,
            status,
            reason,
            approver,
            ticket,
            expires,
            file,
            line,
        } = by;
        Suppression {
            source: *source,
            status: *status,
            reason: self.optional(reason),
            approver: self.optional(approver),
            ticket: self.optional(ticket),
            expires: self.optional(expires),
            file: self.path(file),
            line: *line,
        }
    }

    fn error(&mut self, error: &FileError) -> FileError {
        let FileError {
            path,
            span,
            message,
        } = error;
        FileError {
            path: self.path(path),
            span: *span,
            message: self.text(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(escape("plain ünïcødé"), "plain ünïcødé");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(
            escape("\u{1b}]8;;http://x\u{7}link"),
            "\\u{1b}]8;;http://x\\u{7}link"
        );
        assert_eq!(
            escape("x\nfake.tf:1:1: critical"),
            "x\\u{a}fake.tf:1:1: critical"
        );
        assert_eq!(escape("a\rb\tc\0"), "a\\u{d}b\\u{9}c\\u{0}");
        assert_eq!(escape("\u{7f}\u{85}\u{9b}"), "\\u{7f}\\u{85}\\u{9b}");
        assert_eq!(
            escape("\u{202a}\u{202e}\u{2066}\u{2069}\u{200f}"),
            "\\u{202a}\\u{202e}\\u{2066}\\u{2069}\\u{200f}"
        );
        assert_eq!(escape("a\u{2028}b"), "a\\u{2028}b");
        // Zero-width joiners and the like are text, not controls.
        assert_eq!(escape("👩\u{200d}💻"), "👩\u{200d}💻");
    }

    #[test]
    fn lines_keep_their_breaks_and_tabs() {
        assert_eq!(
            escape_lines("a\n\tb\u{1b}[2J\r\n"),
            "a\n\tb\\u{1b}[2J\\u{d}\n"
        );
    }

    #[test]
    fn a_report_is_borrowed_unless_something_needs_escaping() {
        let mut report = Report::default();
        report
            .errors
            .push(FileError::new(Path::new("a.tf"), None, "fine"));
        assert!(matches!(
            self::report(&report, Breaks::Escape),
            Shown::Same(_)
        ));
        report
            .errors
            .push(FileError::new(Path::new("b\u{1b}.tf"), None, "line\nbreak"));
        let escaped = self::report(&report, Breaks::Escape);
        assert_eq!(escaped.errors[1].path, Path::new("b\\u{1b}.tf"));
        assert_eq!(escaped.errors[1].message, "line\\u{a}break");
        assert_eq!(escaped.errors[0].message, "fine");
        let kept = self::report(&report, Breaks::Keep);
        assert_eq!(kept.errors[1].path, Path::new("b\\u{1b}.tf"));
        assert_eq!(kept.errors[1].message, "line\nbreak");
    }

    #[test]
    fn a_finding_alone_that_needs_escaping_is_escaped() {
        let finding = |message: &str| Finding {
            rule: 0,
            rule_id: RuleId("r".into()),
            severity: crate::finding::Severity::High,
            category: crate::finding::Category::Approval,
            resource: "aws_s3_bucket.b".into(),
            file: 0,
            span: crate::source::Span::new(0, 1),
            pointer: "/tags".into(),
            message: message.into(),
            fingerprint: "f".into(),
            related: Vec::new(),
            module: Vec::new(),
        };
        let mut report = Report::default();
        report.findings.push(finding("plain"));
        assert!(matches!(
            self::report(&report, Breaks::Escape),
            Shown::Same(_)
        ));
        report.undecided.push(finding("a\u{1b}[2Jb"));
        let escaped = self::report(&report, Breaks::Escape);
        assert!(matches!(escaped, Shown::Escaped(_)));
        assert_eq!(escaped.undecided[0].message, "a\\u{1b}[2Jb");
        assert_eq!(escaped.findings[0].message, "plain");
    }
}
