//! SARIF 2.1.0, for code-scanning services (GitHub code scanning, Azure
//! DevOps, IDE viewers): every rule of the set as `tool.driver.rules`,
//! one result per finding, suppressed findings as results that carry their
//! suppression, and unreadable files as tool notifications.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{range, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::ruleset::{Rule, RuleSet};
use crate::source::ShownPath;
use crate::suppress::{Source, Suppressed};
use crate::Report;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The `repository` of Cargo.toml, empty when it has none. SARIF wants
/// absolute URIs in `informationUri` and `helpUri`, so without it both
/// are left out rather than guessed.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
/// The revision the rule pages are linked at. Rule ids are never reused,
/// so the page of an id there describes the rule this binary runs.
const DOCS_REVISION: &str = "main";
/// The `partialFingerprints` key; bump the suffix if the hash ever changes.
const FINGERPRINT_KEY: &str = "provcheck/v1";
/// Base of relative artifact URIs: the project root, which
/// `originalUriBaseIds` gives as a file URI.
const SRCROOT: &str = "%SRCROOT%";

pub fn render(report: &Report, rules: &RuleSet, options: RenderOptions) -> String {
    super::written(|out| write(report, rules, options, out))
}

/// The log's one run: its tool, invocation and base folders as built,
/// and its results made one by one as they are written, so that a large
/// report never holds them all (a result is ten times its finding).
#[derive(Serialize)]
struct Run<'r> {
    #[serde(flatten)]
    head: Map<String, Value>,
    results: Results<'r>,
}

struct Results<'r> {
    report: &'r Report,
    rules: &'r RuleSet,
    show_undecided: bool,
}

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Results {
            report,
            rules,
            show_undecided,
        } = *self;
        let findings = report
            .findings
            .iter()
            .map(|finding| result(report, rules, finding, false));
        let suppressed = report.suppressed.iter().map(|suppressed| {
            let mut value = result(report, rules, &suppressed.finding, false);
            value["suppressions"] = json!([suppression(report, suppressed)]);
            value
        });
        let undecided = report
            .undecided
            .iter()
            .filter(|_| show_undecided)
            .map(|finding| result(report, rules, finding, true));
        serializer.collect_seq(findings.chain(suppressed).chain(undecided))
    }
}

#[derive(Serialize)]
struct Log<'r> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'r>; 1],
}

/// Writes the report as [`render`] does, result by result.
pub fn write(
    report: &Report,
    rules: &RuleSet,
    options: RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut invocation = json!({
        "executionSuccessful": report.errors.is_empty(),
        "properties": { "configurationFile": super::config_path(report) },
    });
    // The provenance: when (SARIF's own field), and the rest as a
    // property bag, the place SARIF gives to what it has no field for.
    if let Some(meta) = &report.meta {
        invocation["endTimeUtc"] = json!(meta.generated_at);
        invocation["properties"]["meta"] = json!(meta);
    }
    if !report.errors.is_empty() {
        let notifications: Vec<Value> = report
            .errors
            .iter()
            .map(|error| {
                let mut location = physical_location(&report.shown(&error.path));
                if let (Some(file), Some(span)) = (report.file_for(error), error.span) {
                    let (start, end) = range(file, span);
                    location["region"] = region(start, end);
                }
                json!({
                    "level": "error",
                    "message": { "text": error.message },
                    "locations": [{ "physicalLocation": location }],
                })
            })
            .collect();
        invocation["toolExecutionNotifications"] = Value::Array(notifications);
    }

    let repository = repository(REPOSITORY);
    let mut driver = json!({
        "name": "provcheck",
        "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(repository) = repository {
        driver["informationUri"] = json!(repository);
    }
    driver["rules"] = rules
        .rules
        .iter()
        .map(|rule| descriptor(rule, repository))
        .collect();
    let mut head = Map::new();
    head.insert("tool".into(), json!({ "driver": driver }));
    head.insert("invocations".into(), json!([invocation]));
    // What `%SRCROOT%` stands for (SARIF 3.14.14): the project root, as
    // a folder URI ending in `/`. Code scanning resolves the relative
    // URIs against its checkout instead.
    if let Some(root) = report.anchor.root() {
        let text = crate::source::display_path(root);
        // A Windows root with its links resolved is a verbatim path.
        let text = text.strip_prefix("//?/").unwrap_or(&text);
        let mut uri = file_uri(text);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        head.insert(
            "originalUriBaseIds".into(),
            json!({
                SRCROOT: {
                    "uri": uri,
                    "description": { "text": "The project root (the git work tree, else the configuration file's folder, else the current folder)." },
                }
            }),
        );
    }
    // Our columns count characters, not UTF-16 code units.
    head.insert("columnKind".into(), json!("unicodeCodePoints"));
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            head,
            results: Results {
                report,
                rules,
                show_undecided: options.show_undecided,
            },
        }],
    };
    super::write_pretty_json(&log, out)
}

/// The repository's address without a trailing `/`, or `None` when
/// Cargo.toml names none.
fn repository(field: &str) -> Option<&str> {
    let trimmed = field.trim().trim_end_matches('/');
    (!trimmed.is_empty()).then_some(trimmed)
}

/// The rule's page in the repository (`docs/rules/ID.md`, generated from
/// the rule file), for the built-in rules; a rule from a user's folder has
/// none.
fn help_uri(rule: &Rule, repository: Option<&str>) -> Option<String> {
    let repository = repository?;
    rule.origin.starts_with("builtin:").then(|| {
        format!(
            "{repository}/blob/{DOCS_REVISION}/docs/rules/{}.md",
            rule.id.as_str()
        )
    })
}

/// A `reportingDescriptor` for one rule. The rule's references (provider
/// documentation) stay in its help, in both text and Markdown.
fn descriptor(rule: &Rule, repository: Option<&str>) -> Value {
    let controls = rule.controls.join(", ");
    let description = rule.description.trim();
    let remediation = rule.remediation.trim();
    let mut help_text =
        format!("{description}\n\nRemediation: {remediation}\n\nPolicy: {controls}");
    let mut help_markdown =
        format!("{description}\n\n**Remediation:** {remediation}\n\n**Policy:** {controls}");
    if !rule.links.is_empty() {
        help_text.push_str("\n\nReferences:\n");
        help_markdown.push_str("\n\n**References:**\n");
        for link in &rule.links {
            help_text.push_str(&format!("\n- {link}"));
            help_markdown.push_str(&format!("\n- <{link}>"));
        }
    }
    let mut tags = vec![rule.category.as_str().to_string()];
    tags.extend(rule.controls.iter().cloned());
    tags.push("security".to_string());

    let mut value = json!({
        "id": rule.id.as_str(),
        "name": upper_camel_case(rule.id.as_str()),
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": description },
        "help": { "text": help_text, "markdown": help_markdown },
    });
    if let Some(uri) = help_uri(rule, repository) {
        value["helpUri"] = json!(uri);
    }
    value["defaultConfiguration"] = json!({ "level": level(rule.severity) });
    value["properties"] = json!({
        "tags": tags,
        "security-severity": security_severity(rule.severity),
        "precision": "high",
        "problem.severity": problem_severity(rule.severity),
    });
    value
}

/// A `result` for one finding, suppressed or not; an undecided one is a
/// `review` result, which SARIF requires to have level `none`.
fn result(report: &Report, rules: &RuleSet, finding: &Finding, undecided: bool) -> Value {
    let file = report.files.get(finding.file);
    let shown = file.map_or_else(
        || ShownPath {
            text: String::new(),
            relative: true,
        },
        |file| report.shown(&file.path),
    );
    let mut physical = physical_location(&shown);
    if let Some(file) = file {
        let (start, end) = range(file, finding.span);
        physical["region"] = region(start, end);
    }
    let mut value = json!({ "ruleId": finding.rule_id.as_str() });
    let rule = rules
        .rules
        .get(finding.rule)
        .filter(|rule| rule.id == finding.rule_id);
    if rule.is_some() {
        // driver.rules lists the whole set in order, so the indices agree.
        value["ruleIndex"] = json!(finding.rule);
    }
    let controls: &[String] = rule.map_or(&[], |rule| rule.controls.as_slice());
    if undecided {
        value["kind"] = json!("review");
        value["level"] = json!("none");
    } else {
        value["level"] = json!(level(finding.severity));
    }
    value["message"] = json!({ "text": format!("{} ({})", finding.message, finding.resource) });
    value["locations"] = json!([{
        "physicalLocation": physical,
        "logicalLocations": [{
            "fullyQualifiedName": finding.resource,
            "kind": "resource",
        }],
    }]);
    // Where the offending value was written, when elsewhere: a variable
    // default, a tfvars line, a module argument.
    let related: Vec<Value> = finding
        .related
        .iter()
        .enumerate()
        .filter_map(|(i, origin)| {
            let file = report.files.get(origin.file)?;
            let mut physical = physical_location(&report.shown(&file.path));
            let (start, end) = range(file, origin.span);
            physical["region"] = region(start, end);
            Some(json!({
                "id": i,
                "physicalLocation": physical,
                "message": { "text": &*origin.message },
            }))
        })
        .collect();
    if !related.is_empty() {
        value["relatedLocations"] = Value::Array(related);
    }
    value["partialFingerprints"] = json!({ FINGERPRINT_KEY: finding.fingerprint });
    value["properties"] = json!({
        "severity": finding.severity.as_str(),
        "category": finding.category.as_str(),
        "controls": controls,
    });
    value
}

/// A `suppression`: where it was written and why.
fn suppression(report: &Report, suppressed: &Suppressed) -> Value {
    let by = &suppressed.by;
    let kind = match by.source {
        Source::Inline => "inSource",
        Source::Waiver | Source::Baseline => "external",
    };
    let mut value = json!({ "kind": kind, "status": "accepted" });
    if let Some(reason) = &by.reason {
        value["justification"] = json!(reason);
    }
    let mut location = physical_location(&report.shown(&by.file));
    if let Some(line) = by.line {
        location["region"] = json!({ "startLine": line });
    }
    value["location"] = json!({ "physicalLocation": location });
    let mut properties = Map::new();
    properties.insert("source".into(), json!(by.source.as_str()));
    let optional = [
        ("status", by.status.map(|s| s.as_str().to_string())),
        ("approver", by.approver.clone()),
        ("ticket", by.ticket.clone()),
        ("expires", by.expires.clone()),
    ];
    for (key, field) in optional {
        if let Some(text) = field {
            properties.insert(key.into(), json!(text));
        }
    }
    value["properties"] = Value::Object(properties);
    value
}

/// An artifact location: a path under the project root is relative to
/// `%SRCROOT%`; one outside it becomes a `file://` URI.
fn physical_location(path: &ShownPath) -> Value {
    if path.relative {
        json!({ "artifactLocation": { "uri": encode_uri(&path.text), "uriBaseId": SRCROOT } })
    } else {
        json!({ "artifactLocation": { "uri": file_uri(&path.text) } })
    }
}

/// The `file://` URI of an absolute path written with `/`; a Windows
/// drive path `C:/x` becomes `file:///C:/x`.
fn file_uri(path: &str) -> String {
    match path.split_once(':') {
        Some((drive, rest)) if !path.starts_with('/') => {
            format!("file:///{}:{}", encode_uri(drive), encode_uri(rest))
        }
        _ => format!("file://{}", encode_uri(path)),
    }
}

/// SARIF columns are 1-based and `endColumn` is exclusive, as ours are.
fn region(start: crate::source::Position, end: crate::source::Position) -> Value {
    json!({
        "startLine": start.line,
        "startColumn": start.column,
        "endLine": end.line,
        "endColumn": end.column,
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning ranks alerts by this CVSS-like score.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn problem_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "recommendation",
    }
}

/// `aws-rds-publicly-accessible` -> `AwsRdsPubliclyAccessible`.
fn upper_camel_case(id: &str) -> String {
    id.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .flat_map(|word| {
            let mut chars = word.chars();
            let first = chars.next().into_iter().flat_map(char::to_uppercase);
            first.chain(chars)
        })
        .collect()
}

/// Percent-encodes what may not appear literally in a URI path, so that
/// spaces, `#`, `?` and non-ASCII names survive. `:` is encoded too: in
/// the first segment of a relative reference it would read as a scheme.
fn encode_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_upper_camel_case() {
        assert_eq!(
            upper_camel_case("aws-rds-publicly-accessible"),
            "AwsRdsPubliclyAccessible"
        );
    }

    #[test]
    fn rule_pages_are_linked_only_with_a_repository() {
        let (rules, errors) = RuleSet::load(&[]);
        assert!(errors.is_empty());
        let rule = &rules.rules[0];
        let repository = repository("https://example.com/team/provcheck/");
        assert_eq!(repository, Some("https://example.com/team/provcheck"));
        assert_eq!(
            help_uri(rule, repository),
            Some(format!(
                "https://example.com/team/provcheck/blob/main/docs/rules/{}.md",
                rule.id.as_str()
            ))
        );
        assert_eq!(super::repository(" "), None);
        assert_eq!(help_uri(rule, None), None);
        // The provider's pages stay in the help.
        let with_links = rules.rules.iter().find(|r| !r.links.is_empty()).unwrap();
        let value = descriptor(with_links, None);
        assert!(value.get("helpUri").is_none());
        for link in &with_links.links {
            assert!(value["help"]["text"]
                .as_str()
                .unwrap()
                .contains(link.as_str()));
            assert!(value["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains(&format!("<{link}>")));
        }
    }

    #[test]
    fn uris_encode_what_a_path_may_not_hold() {
        assert_eq!(encode_uri("infra/my db/main.tf"), "infra/my%20db/main.tf");
        assert_eq!(encode_uri("a#b?.tf"), "a%23b%3F.tf");
        assert_eq!(encode_uri("é.tf"), "%C3%A9.tf");
        assert_eq!(encode_uri("a:b.tf"), "a%3Ab.tf");
    }
}
