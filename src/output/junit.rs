//! JUnit XML, for CI test-report views (GitLab, Jenkins, Azure DevOps,
//! GitHub test-reporter actions): a test suite per rule, a test case per
//! resource the rule checked, failing where the rule fired. Suppressed
//! findings are skipped test cases; unreadable files are errors in a
//! `provcheck.errors` suite.
//!
//! Most consumers read one `<failure>` per test case, so several findings
//! of one rule on one resource share a single failure that lists them all.
//! A case whose verdict depends on unknown values is skipped with
//! `--show-undecided` and left out otherwise: it neither passed nor failed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::escape::{escape as text_escape, escape_lines};
use super::{error_path, locate, range, RenderOptions};
use crate::finding::Finding;
use crate::ruleset::{Rule, RuleSet};
use crate::suppress::Suppressed;
use crate::Report;

/// The suite holding files that could not be read or parsed.
const ERROR_SUITE: &str = "provcheck.errors";

/// The suite whose properties hold the run's provenance.
const PROVENANCE_SUITE: &str = "provcheck.provenance";

/// Orders a rule's cases: resources as the report lists them (file, then
/// position); resources it does not list (a native check may report on a
/// neighbour) come last, by file and address.
type CaseOrder = (usize, usize, String);

/// One rule on one resource, and what the rule made of it.
struct Case<'r> {
    file: usize,
    address: String,
    /// Where the resource starts: the `line` attribute.
    line: Option<usize>,
    findings: Vec<&'r Finding>,
    suppressed: Vec<&'r Suppressed>,
    undecided: Vec<&'r Finding>,
}

/// The outcome counts of a suite, or of all of them.
#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }

    fn attributes(self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    super::written(|out| write(report, rules, options, out))
}

/// Writes the report as JUnit XML. The totals lead the document, so each
/// suite is rendered before anything is written, but the suites are
/// written one by one, never joined into one text with the document.
pub fn write(
    report: &Report,
    rules: &RuleSet,
    options: RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut cases = cases(report, rules);
    let mut total = Counts::default();
    let mut suites: Vec<String> = Vec::new();
    for (index, rule) in rules.rules.iter().enumerate() {
        let Some(rule_cases) = cases.remove(&index) else {
            continue;
        };
        let (counts, text) = rule_suite(report, rule, rule_cases.values(), options);
        total.add(counts);
        suites.push(text);
    }
    drop(cases);
    if !report.errors.is_empty() {
        let (counts, text) = error_suite(report);
        total.add(counts);
        suites.push(text);
    }
    let mut head = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // A comment: the JUnit schema has no place for it on <testsuites>.
    let config = super::config_path(report).unwrap_or_else(|| "none (built-in defaults)".into());
    let _ = writeln!(
        head,
        "<!-- provcheck configuration: {} -->",
        comment_text(&config)
    );
    let _ = writeln!(
        head,
        "<testsuites name=\"provcheck\" {}>",
        total.attributes()
    );
    if let Some(meta) = &report.meta {
        head.push_str(&provenance_suite(meta));
    }
    out.write_all(head.as_bytes())?;
    for suite in suites {
        out.write_all(suite.as_bytes())?;
    }
    out.write_all(b"</testsuites>\n")
}

/// Every (rule, resource) case, by rule index.
fn cases<'r>(
    report: &'r Report,
    rules: &RuleSet,
) -> BTreeMap<usize, BTreeMap<CaseOrder, Case<'r>>> {
    let mut table: BTreeMap<usize, BTreeMap<CaseOrder, Case<'r>>> = BTreeMap::new();
    // Each managed resource's place in the listing and its first line.
    let mut listed: HashMap<(usize, &str), (usize, Option<usize>)> = HashMap::new();
    for (position, resource) in report.resources.iter().enumerate() {
        if !resource.kind.is_checked() {
            continue;
        }
        let line = report
            .files
            .get(resource.file)
            .map(|file| range(file, resource.header).0.line);
        let (position, line) = *listed
            .entry((resource.file, resource.address.as_str()))
            .or_insert((position, line));
        for (index, rule) in rules.rules.iter().enumerate() {
            if !rule.applies_to(&resource.resource_type) {
                continue;
            }
            let order = (position, resource.file, resource.address.clone());
            table
                .entry(index)
                .or_default()
                .entry(order)
                .or_insert(Case {
                    file: resource.file,
                    address: resource.address.clone(),
                    line,
                    findings: Vec::new(),
                    suppressed: Vec::new(),
                    undecided: Vec::new(),
                });
        }
    }

    for finding in &report.findings {
        case(&mut table, &listed, finding).findings.push(finding);
    }
    for suppressed in &report.suppressed {
        case(&mut table, &listed, &suppressed.finding)
            .suppressed
            .push(suppressed);
    }
    for finding in &report.undecided {
        case(&mut table, &listed, finding).undecided.push(finding);
    }
    table
}

/// The case a finding belongs to, added if the resource listing lacks it.
fn case<'t, 'r>(
    table: &'t mut BTreeMap<usize, BTreeMap<CaseOrder, Case<'r>>>,
    listed: &HashMap<(usize, &str), (usize, Option<usize>)>,
    finding: &Finding,
) -> &'t mut Case<'r> {
    let (position, line) = listed
        .get(&(finding.file, finding.resource.as_str()))
        .copied()
        .unwrap_or((usize::MAX, None));
    let order = (position, finding.file, finding.resource.clone());
    table
        .entry(finding.rule)
        .or_default()
        .entry(order)
        .or_insert_with(|| Case {
            file: finding.file,
            address: finding.resource.clone(),
            line,
            findings: Vec::new(),
            suppressed: Vec::new(),
            undecided: Vec::new(),
        })
}

fn rule_suite<'a, 'r: 'a>(
    report: &Report,
    rule: &Rule,
    cases: impl Iterator<Item = &'a Case<'r>>,
    options: RenderOptions,
) -> (Counts, String) {
    let mut counts = Counts::default();
    let mut body = String::new();
    for case in cases {
        let undecided_only = case.findings.is_empty() && case.suppressed.is_empty();
        if undecided_only && !case.undecided.is_empty() && !options.show_undecided {
            continue;
        }
        counts.tests += 1;
        let path = report
            .files
            .get(case.file)
            .map(|file| report.shown_path(&file.path))
            .unwrap_or_default();
        let mut open = format!(
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"",
            escape(rule.id.as_str()),
            escape(&case.address),
            escape(&path)
        );
        if let Some(line) = case.line {
            let _ = write!(open, " line=\"{line}\"");
        }
        if !case.findings.is_empty() {
            counts.failures += 1;
            let _ = writeln!(body, "{open}>");
            body.push_str(&failure(report, rule, &case.findings));
            body.push_str("    </testcase>\n");
        } else if !case.suppressed.is_empty() {
            counts.skipped += 1;
            let _ = writeln!(body, "{open}>");
            body.push_str(&skipped_suppressed(report, &case.suppressed));
            body.push_str("    </testcase>\n");
        } else if !case.undecided.is_empty() {
            counts.skipped += 1;
            let messages: Vec<&str> = case.undecided.iter().map(|f| f.message.as_str()).collect();
            let _ = writeln!(body, "{open}>");
            let _ = writeln!(
                body,
                "      <skipped message=\"{}\"/>",
                escape(&format!(
                    "undecided (depends on values unknown statically): {}",
                    messages.join("; ")
                ))
            );
            body.push_str("    </testcase>\n");
        } else {
            let _ = writeln!(body, "{open}/>");
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" {}>",
        escape(rule.id.as_str()),
        counts.attributes()
    );
    out.push_str("    <properties>\n");
    // A rule's text comes from its rule file, which may be a user's.
    let properties = [
        ("title", text_escape(&rule.title).into_owned()),
        ("severity", rule.severity.as_str().to_string()),
        ("category", rule.category.as_str().to_string()),
        ("controls", rule.controls.join(", ")),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    out.push_str("    </properties>\n");
    out.push_str(&body);
    out.push_str("  </testsuite>\n");
    (counts, out)
}

/// Text for an XML comment, which may hold neither `--` nor control
/// characters.
fn comment_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace("--", "-%2D")
}

/// One `<failure>` listing every finding of the rule on the resource.
fn failure(report: &Report, rule: &Rule, findings: &[&Finding]) -> String {
    let mut messages: Vec<&str> = Vec::new();
    for finding in findings {
        if !messages.contains(&finding.message.as_str()) {
            messages.push(&finding.message);
        }
    }
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(rule.severity);
    let mut text = String::new();
    for finding in findings {
        let _ = writeln!(text, "{}", at(report, finding));
    }
    let _ = write!(
        text,
        "\n{}\nRemediation: {}\nPolicy: {}",
        text_escape(&rule.title),
        escape_lines(rule.remediation.trim()),
        rule.controls.join(", ")
    );
    format!(
        "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
        escape(&messages.join("; ")),
        severity.as_str(),
        escape_text(&text)
    )
}

/// `path:line:col: message` for a finding.
fn at(report: &Report, finding: &Finding) -> String {
    let (path, file) = locate(report, finding);
    match file {
        Some(file) => {
            let (start, _) = range(file, finding.span);
            format!(
                "{path}:{}:{}: {}",
                start.line, start.column, finding.message
            )
        }
        None => format!("{path}: {}", finding.message),
    }
}

/// A `<skipped>` whose message gives the first suppression's status and
/// reason, and whose text lists each suppressed finding with who decided.
fn skipped_suppressed(report: &Report, suppressed: &[&Suppressed]) -> String {
    let mut message = String::from("suppressed");
    if let Some(first) = suppressed.first().map(|s| &s.by) {
        let decision = first
            .status
            .map_or(first.source.as_str(), |status| status.as_str());
        let _ = write!(message, ": {decision}");
        if let Some(reason) = &first.reason {
            let _ = write!(message, " — {reason}");
        }
    }
    let mut details = String::new();
    for item in suppressed {
        let by = &item.by;
        let _ = write!(
            details,
            "{}\nsuppressed by {} ({}",
            at(report, &item.finding),
            by.source.as_str(),
            report.shown_path(&by.file)
        );
        if let Some(line) = by.line {
            let _ = write!(details, ":{line}");
        }
        details.push(')');
        let fields = [
            ("status", by.status.map(|s| s.as_str().to_string())),
            ("reason", by.reason.clone()),
            ("approver", by.approver.clone()),
            ("ticket", by.ticket.clone()),
            ("expires", by.expires.clone()),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                let _ = write!(details, "; {name}: {value}");
            }
        }
        details.push('\n');
    }
    format!(
        "      <skipped message=\"{}\">{}</skipped>\n",
        escape(&message),
        escape_text(details.trim_end())
    )
}

/// The run's provenance as the `<properties>` of a suite without tests:
/// JUnit has properties on suites only.
fn provenance_suite(meta: &crate::provenance::Meta) -> String {
    let mut out = format!(
        "  <testsuite name=\"{PROVENANCE_SUITE}\" {} timestamp=\"{}\">\n    <properties>\n",
        Counts::default().attributes(),
        escape(meta.generated_at.trim_end_matches('Z'))
    );
    for (name, value) in meta.properties() {
        let _ = writeln!(
            out,
            "      <property name=\"provcheck.{}\" value=\"{}\"/>",
            escape(&name),
            escape(&value)
        );
    }
    out.push_str("    </properties>\n  </testsuite>\n");
    out
}

/// Files that could not be read or parsed, one erroring case each.
fn error_suite(report: &Report) -> (Counts, String) {
    let mut body = String::new();
    for error in &report.errors {
        let path = error_path(report, error);
        let (name, line) = match (report.file_for(error), error.span) {
            (Some(file), Some(span)) => {
                let (start, _) = range(file, span);
                (
                    format!("{path}:{}:{}", start.line, start.column),
                    Some(start.line),
                )
            }
            _ => (path.clone(), None),
        };
        let mut open = format!(
            "    <testcase classname=\"{ERROR_SUITE}\" name=\"{}\" file=\"{}\"",
            escape(&name),
            escape(&path)
        );
        if let Some(line) = line {
            let _ = write!(open, " line=\"{line}\"");
        }
        let _ = writeln!(body, "{open}>");
        let _ = writeln!(
            body,
            "      <error message=\"{}\" type=\"error\">{}: {}</error>",
            escape(&error.message),
            escape_text(&name),
            escape_text(&error.message)
        );
        body.push_str("    </testcase>\n");
    }
    let counts = Counts {
        tests: report.errors.len(),
        errors: report.errors.len(),
        ..Counts::default()
    };
    let out = format!(
        "  <testsuite name=\"{ERROR_SUITE}\" {}>\n{body}  </testsuite>\n",
        counts.attributes()
    );
    (counts, out)
}

/// Escapes an attribute value: markup characters, and line breaks and
/// tabs as references so parsers do not normalise them to spaces.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            _ => push_escaped(&mut out, c),
        }
    }
    out
}

/// Escapes element text, where quotes may stay as they are.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\'' => out.push(c),
            _ => push_escaped(&mut out, c),
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&apos;"),
        // A bare CR would be read back as a line feed.
        '\r' => out.push_str("&#13;"),
        c if is_xml_char(c) => out.push(c),
        // Not representable in XML 1.0, not even as a reference.
        _ => {}
    }
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_invalid_characters() {
        assert_eq!(
            escape("a&b<c>d\"e'f\u{1}g\nh\ri\u{FFFE}"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;fg&#10;h&#13;i"
        );
        assert_eq!(escape_text("x\n\"y\"\u{0}"), "x\n\"y\"");
    }
}
