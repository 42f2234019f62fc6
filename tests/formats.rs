//! Every output format over `fixtures/`: golden snapshots of human,
//! compact and JSON, and the CI-facing formats — SARIF, JUnit XML, GitHub
//! workflow commands and Markdown — checked the way their consumers read them: SARIF against the
//! 2.1.0 schema, JUnit with an XML parser, GitHub lines and Markdown rows
//! against the findings.
//!
//! Over `fixtures/` (parse errors and inline suppressions included) the
//! real binary renders each format, and its own JSON report says what
//! each must contain. Suppressions from every source (inline, waiver,
//! baseline) are rendered from a small report built here, through
//! `output::render` as the binary calls it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use provcheck::finding::Finding;
use provcheck::output::{self, OutputFormat, RenderOptions};
use provcheck::ruleset::RuleSet;
use provcheck::source::SourceFile;
use provcheck::suppress::{Source, Status, Suppressed, Suppression};
use provcheck::Report;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::XmlVersion;
use serde_json::Value;

mod support;

// The fixtures, through the binary ------------------------------------------

/// `provcheck check --format FORMAT --show-undecided fixtures`.
fn check(format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", format, "--show-undecided", "fixtures"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .expect("the binary runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "fixtures/broken makes the run exit 2: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    // What depends on the checkout: its folder and git state.
    match format {
        "json" => support::redact_json(&text, "/meta"),
        "sarif" => support::redact_json(&text, "/runs/0/invocations/0/properties/meta"),
        _ => support::redact_text(&text),
    }
}

/// What the run found, from its JSON report.
struct Expected {
    findings: Vec<Value>,
    undecided: Vec<Value>,
    suppressed: Vec<Value>,
    errors: Vec<Value>,
}

fn expected() -> Expected {
    let report: Value = serde_json::from_str(&check("json")).expect("JSON report");
    let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
    let expected = Expected {
        findings: list("findings"),
        undecided: list("undecided"),
        suppressed: list("suppressed"),
        errors: list("errors"),
    };
    assert!(!expected.findings.is_empty());
    assert!(
        !expected.errors.is_empty(),
        "fixtures/broken holds broken files"
    );
    expected
}

/// `path:line:col` where a JSON finding starts.
fn start(finding: &Value) -> (String, u64, u64) {
    let at = &finding["span"]["start"];
    (
        finding["file"].as_str().unwrap_or_default().to_string(),
        at["line"].as_u64().unwrap_or_default(),
        at["column"].as_u64().unwrap_or_default(),
    )
}

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or_default()
}

/// A test case's identity: rule, file, resource.
fn case_of(finding: &Value) -> (String, String, String) {
    (
        str_of(finding, "rule_id").to_string(),
        str_of(finding, "file").to_string(),
        str_of(finding, "resource").to_string(),
    )
}

fn builtin_rules() -> RuleSet {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "{errors:#?}");
    rules
}

// A report with suppressions, through the library ------------------------

const OPTIONS: RenderOptions = RenderOptions {
    show_undecided: true,
    color: false,
    quiet: false,
    hidden: 0,
};

fn with_suppressions() -> (RuleSet, Report) {
    const MAIN: &str = r#"resource "aws_db_instance" "records" {
  engine              = "postgres"
  publicly_accessible = true
  storage_encrypted   = true
  tags = { owner = "data", approved_by = "cto", change_request = "OPS-1" }
}

resource "aws_ebs_volume" "a<b>&'c" {
  size = 10
  tags = { owner = "data", approved_by = "cto" }
}
"#;
    let rules = builtin_rules();
    let mut report = provcheck::check_sources(vec![SourceFile::new("infra/main.tf", MAIN)], &rules);
    let mut take = |rule_id: &str| -> Finding {
        let index = report
            .findings
            .iter()
            .position(|f| f.rule_id.as_str() == rule_id)
            .unwrap_or_else(|| panic!("{rule_id} fires on the example"));
        report.findings.remove(index)
    };
    let public = take("aws-rds-publicly-accessible");
    let volume = take("aws-ebs-volume-unencrypted");
    let backups = take("aws-rds-backup-retention-short");
    report.suppressed = vec![
        Suppressed {
            finding: public,
            by: Suppression {
                source: Source::Inline,
                status: Some(Status::AcceptedRisk),
                reason: Some("Public | read replica\nfor <partners> & \"BI\"".into()),
                approver: Some("@alice".into()),
                ticket: Some("OPS-42".into()),
                expires: Some("2030-01-31".into()),
                file: PathBuf::from("infra/main.tf"),
                line: Some(3),
            },
        },
        Suppressed {
            finding: volume,
            by: Suppression {
                source: Source::Waiver,
                status: Some(Status::FalsePositive),
                reason: Some("Encrypted by the account default".into()),
                approver: Some("bob".into()),
                ticket: None,
                expires: None,
                file: PathBuf::from(".provcheck/waivers.yaml"),
                line: Some(7),
            },
        },
        Suppressed {
            finding: backups,
            by: Suppression {
                source: Source::Baseline,
                status: None,
                reason: None,
                approver: None,
                ticket: None,
                expires: None,
                file: PathBuf::from(".provcheck/baseline.json"),
                line: None,
            },
        },
    ];
    assert!(!report.findings.is_empty(), "some findings stay active");
    (rules, report)
}

fn render(rules: &RuleSet, report: &Report, format: OutputFormat) -> String {
    output::render(report, rules, format, OPTIONS)
}

/// Keeps the snapshots from changing with every release.
fn redact_version(text: &str) -> String {
    text.replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"[version]\"",
    )
}

/// A SARIF log without what depends on the checkout: the version, and
/// the project root's URI (checked to be this checkout's).
fn redact_sarif(text: &str) -> String {
    let mut log: Value = serde_json::from_str(text).expect("SARIF is JSON");
    if let Some(base) = log.pointer_mut("/runs/0/originalUriBaseIds/%SRCROOT%") {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .canonicalize()
            .expect("the checkout exists");
        let uri = base["uri"].as_str().unwrap_or_default();
        assert!(
            uri.starts_with("file://")
                && uri.ends_with('/')
                && uri.trim_end_matches('/').ends_with(
                    root.file_name()
                        .and_then(|n| n.to_str())
                        .expect("a named checkout")
                ),
            "%SRCROOT% is this checkout: {uri}"
        );
        base["uri"] = Value::from("file:///[root]/");
    }
    let mut text = serde_json::to_string_pretty(&log).expect("JSON");
    text.push('\n');
    redact_version(&text)
}

// SARIF ---------------------------------------------------------------------

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string("tests/sarif-schema-2.1.0.json").expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    // The OASIS schema is draft-04; formats are not what is tested here.
    jsonschema::draft4::options()
        .should_validate_formats(false)
        .build(&schema)
        .expect("schema compiles")
}

fn assert_valid_sarif(text: &str) -> Value {
    assert!(text.ends_with("}\n"));
    let document: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations:\n{errors:#?}");
    document
}

#[test]
fn sarif_is_valid_and_lists_every_rule_and_result() {
    let expected = expected();
    let text = check("sarif");
    let document = assert_valid_sarif(&text);
    assert_eq!(document["version"], "2.1.0");
    let run = &document["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "provcheck");
    let descriptors = driver["rules"].as_array().expect("rules");
    assert_eq!(
        descriptors.len(),
        builtin_rules().rules.len(),
        "every rule, fired or not"
    );

    let results = run["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        expected.findings.len() + expected.suppressed.len() + expected.undecided.len()
    );
    let reviews = results.iter().filter(|r| r["kind"] == "review").count();
    assert_eq!(reviews, expected.undecided.len());
    let suppressed = results
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .count();
    assert_eq!(suppressed, expected.suppressed.len());
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(descriptors[index]["id"], result["ruleId"]);
    }

    let public = results
        .iter()
        .find(|r| {
            r["ruleId"] == "aws-rds-publicly-accessible"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "fixtures/terraform/app/database.tf"
        })
        .expect("the public database is reported");
    let location = &public["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 70);
    assert_eq!(location["region"]["startColumn"], 3);
    assert_eq!(public["level"], "error");
    assert_eq!(
        public["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "aws_db_instance.legacy"
    );
    assert!(public["partialFingerprints"]["provcheck/v1"].is_string());

    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .map(Vec::len),
        Some(expected.errors.len())
    );
    insta::assert_snapshot!("sarif", redact_sarif(&text));
}

#[test]
fn the_sarif_schema_check_rejects_bad_documents() {
    let mut document: Value = serde_json::from_str(&check("sarif")).expect("SARIF is JSON");
    document["runs"][0]["results"][0]["level"] = Value::from("fatal");
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    let errors = sarif_validator().iter_errors(&document).count();
    assert!(errors >= 2, "the validator checks: {errors} errors");
}

#[test]
fn sarif_lists_undecided_results_only_when_asked() {
    let (rules, mut report) = with_suppressions();
    let mut undecided = report.findings[0].clone();
    undecided.message = "May be publicly accessible".into();
    report.undecided.push(undecided);
    let hidden = output::render(
        &report,
        &rules,
        OutputFormat::Sarif,
        RenderOptions::default(),
    );
    let document = assert_valid_sarif(&hidden);
    let results = document["runs"][0]["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        report.findings.len() + report.suppressed.len()
    );
    let shown = assert_valid_sarif(&render(&rules, &report, OutputFormat::Sarif));
    let results = shown["runs"][0]["results"].as_array().expect("results");
    let review = results.last().expect("a result");
    assert_eq!(review["kind"], "review");
    assert_eq!(review["level"], "none");
}

#[test]
fn sarif_marks_suppressed_results() {
    let (rules, report) = with_suppressions();
    let text = render(&rules, &report, OutputFormat::Sarif);
    let document = assert_valid_sarif(&text);
    let results = document["runs"][0]["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        report.findings.len() + report.suppressed.len()
    );
    let suppressions: Vec<&Value> = results
        .iter()
        .filter_map(|r| r["suppressions"].get(0))
        .collect();
    let kinds: Vec<&str> = suppressions
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["inSource", "external", "external"]);
    assert_eq!(suppressions[0]["status"], "accepted");
    assert_eq!(
        suppressions[0]["justification"],
        "Public | read replica\nfor <partners> & \"BI\""
    );
    assert_eq!(suppressions[0]["properties"]["status"], "accepted-risk");
    assert_eq!(suppressions[0]["properties"]["approver"], "@alice");
    assert_eq!(suppressions[0]["properties"]["expires"], "2030-01-31");
    assert_eq!(
        document["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
    insta::assert_snapshot!("sarif_suppressed", redact_sarif(&text));
}

// JUnit ---------------------------------------------------------------------

/// What an XML parser reads from the JUnit output.
#[derive(Debug, Default)]
struct Junit {
    root: Vec<(String, String)>,
    suites: Vec<String>,
    cases: usize,
    failures: Vec<String>,
    errors: usize,
    skipped: Vec<String>,
}

impl Junit {
    fn root(&self, name: &str) -> usize {
        self.root
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or_else(|| panic!("<testsuites {name}=..>"))
    }
}

fn parse_junit(text: &str) -> Junit {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut junit = Junit::default();
    let mut in_failure = false;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("malformed XML at {}: {e}", reader.buffer_position()));
        match event {
            Event::Start(element) | Event::Empty(element) => {
                let attributes: Vec<(String, String)> = element
                    .attributes()
                    .map(|a| {
                        let a = a.expect("well-formed attribute");
                        let value = a
                            .decoded_and_normalized_value(XmlVersion::Explicit1_0, reader.decoder())
                            .expect("attribute value unescapes");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            value.into_owned(),
                        )
                    })
                    .collect();
                let message = attributes
                    .iter()
                    .find(|(key, _)| key == "message")
                    .map(|(_, value)| value.clone());
                match element.name().as_ref() {
                    b"testsuites" => junit.root = attributes,
                    b"testsuite" => junit.suites.push(
                        attributes
                            .iter()
                            .find(|(key, _)| key == "name")
                            .map(|(_, value)| value.clone())
                            .unwrap_or_default(),
                    ),
                    b"testcase" => junit.cases += 1,
                    b"failure" => {
                        in_failure = true;
                        junit.failures.push(String::new());
                    }
                    b"error" => junit.errors += 1,
                    b"skipped" => junit.skipped.push(message.unwrap_or_default()),
                    _ => {}
                }
            }
            Event::Text(text) if in_failure => {
                let text = text.decode().expect("text decodes");
                if let Some(body) = junit.failures.last_mut() {
                    body.push_str(&text);
                }
            }
            // quick-xml reports `&amp;` and `&#13;` apart from the text.
            Event::GeneralRef(reference) if in_failure => {
                let name = reference.decode().expect("reference decodes");
                let resolved = match reference.resolve_char_ref().expect("valid reference") {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&name)
                        .expect("a predefined entity")
                        .to_string(),
                };
                if let Some(body) = junit.failures.last_mut() {
                    body.push_str(&resolved);
                }
            }
            Event::End(element) if element.name().as_ref() == b"failure" => in_failure = false,
            Event::Eof => break,
            _ => {}
        }
    }
    junit
}

#[test]
fn junit_is_well_formed_and_counts_findings() {
    let expected = expected();
    let text = check("junit");
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    let junit = parse_junit(&text);

    // One failing case per (rule, file, resource) that fired.
    let failed: BTreeSet<_> = expected.findings.iter().map(case_of).collect();
    assert_eq!(junit.failures.len(), failed.len());
    assert_eq!(junit.root("failures"), failed.len());
    // A suppressed finding skips its case unless another finding fails it.
    let suppressed: BTreeSet<_> = expected
        .suppressed
        .iter()
        .map(case_of)
        .filter(|case| !failed.contains(case))
        .collect();
    let skipped_suppressed = junit
        .skipped
        .iter()
        .filter(|m| m.starts_with("suppressed"))
        .count();
    assert_eq!(skipped_suppressed, suppressed.len());
    assert_eq!(junit.root("skipped"), junit.skipped.len());
    assert_eq!(junit.root("errors"), expected.errors.len());
    assert_eq!(junit.errors, expected.errors.len());
    assert_eq!(junit.root("tests"), junit.cases);
    assert!(junit.cases > failed.len(), "passing cases are listed too");

    // The provenance, then a suite per rule, in the rule set's order,
    // then the errors.
    let rules = builtin_rules();
    let (first, suites) = junit.suites.split_first().expect("suites");
    assert_eq!(first, "provcheck.provenance");
    assert!(text.contains("<property name=\"provcheck.rules.digest\" value=\"sha256:"));
    let (last, suites) = suites.split_last().expect("suites");
    assert_eq!(last, "provcheck.errors");
    let mut ids = suites.iter().map(|name| {
        rules
            .rules
            .iter()
            .position(|rule| rule.id.as_str() == name)
            .unwrap_or_else(|| panic!("suite {name} is a rule"))
    });
    let first = ids.next().expect("a rule suite");
    ids.try_fold(first, |previous, index| (index > previous).then_some(index))
        .expect("suites follow the rule order");

    // Every finding is in a failure, at its position.
    let bodies = junit.failures.join("\n");
    for finding in &expected.findings {
        let (path, line, column) = start(finding);
        let line = format!("{path}:{line}:{column}: {}", str_of(finding, "message"));
        assert!(bodies.contains(&line), "missing: {line}");
    }
    let listed: usize = junit
        .failures
        .iter()
        .map(|body| body.lines().filter(|l| l.starts_with("fixtures/")).count())
        .sum();
    assert_eq!(listed, expected.findings.len());
    insta::assert_snapshot!("junit", text);
}

#[test]
fn junit_skips_suppressed_findings() {
    let (rules, report) = with_suppressions();
    let text = render(&rules, &report, OutputFormat::Junit);
    let junit = parse_junit(&text);
    assert_eq!(junit.skipped.len(), report.suppressed.len());
    assert_eq!(junit.root("skipped"), report.suppressed.len());
    assert_eq!(junit.root("failures"), report.findings.len());
    // A line break in a value is escaped: the failure texts are records
    // of one line each.
    assert!(junit.skipped.contains(
        &"suppressed: accepted-risk — Public | read replica\\u{a}for <partners> & \"BI\""
            .to_string()
    ));
    assert!(junit.skipped.contains(&"suppressed: baseline".to_string()));
    insta::assert_snapshot!("junit_suppressed", text);
}

// GitHub --------------------------------------------------------------------

#[test]
fn github_annotates_each_finding_at_its_line() {
    let expected = expected();
    let text = check("github");
    // The configuration and the provenance are debug messages, not
    // annotations.
    let (config, text_commands) = text.split_once('\n').expect("lines");
    assert_eq!(
        config,
        "::debug::provcheck configuration: none (built-in defaults)"
    );
    let (provenance, text_commands) = text_commands.split_once('\n').expect("lines");
    assert!(
        provenance.starts_with(
            "::debug::provcheck provenance: {\"generated_at\":\"1970-01-01T00:00:00Z\""
        ),
        "{provenance}"
    );
    let lines: Vec<&str> = text_commands.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("::")));
    // GitHub shows 10 annotations of each level per step: at most 10 of
    // each are written, the most severe first, and a notice counts the
    // rest.
    let level_of = |severity: &str| match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "notice",
    };
    for level in ["error", "warning"] {
        let n = lines
            .iter()
            .filter(|l| l.starts_with(&format!("::{level} ")))
            .count();
        assert!(n <= 10, "{n} {level} annotations");
    }
    let all = expected.errors.len() + expected.findings.len() + expected.undecided.len();
    let annotated = lines.iter().filter(|l| l.contains("file=")).count();
    assert!(annotated < all);
    let rest = lines
        .iter()
        .find(|l| l.starts_with("::notice::provcheck: "))
        .expect("a notice counts what is not annotated");
    assert!(
        rest.starts_with(&format!(
            "::notice::provcheck: {} more not annotated",
            all - annotated
        )),
        "{rest}"
    );
    // Only critical findings among the error annotations: 27 of them
    // in the fixtures, more than 10, so no high one got a place.
    let titles: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("::error file=") && l.contains("title="))
        .filter_map(|l| l.split("title=").nth(1))
        .collect();
    assert!(
        titles
            .iter()
            .filter(|t| !t.starts_with("provcheck error"))
            .all(|t| t.contains("(critical)")),
        "{titles:?}"
    );

    let public = lines
        .iter()
        .find(|l| {
            l.contains("title=aws-rds-publicly-accessible (critical)")
                && l.contains("file=fixtures/system/infra/production/data.tf,")
        })
        .expect("the public database is annotated");
    assert!(
        public.starts_with(
            "::error file=fixtures/system/infra/production/data.tf,line=60,col=3,endLine=60,endColumn="
        ),
        "{public}"
    );
    assert!(public.ends_with(" (aws_db_instance.analytics)"), "{public}");

    // Each annotation is an expected finding, at its line, level and title.
    for line in lines
        .iter()
        .filter(|l| l.contains("title=") && !l.contains("provcheck error"))
        .filter(|l| !l.contains(" (undecided)::"))
    {
        let found = expected.findings.iter().any(|finding| {
            let (path, start, _) = start(finding);
            let severity = str_of(finding, "severity");
            let prefix = format!("::{} file={path},line={start},", level_of(severity));
            let title = format!("title={} ({severity})", str_of(finding, "rule_id"));
            let resource = format!("({})", str_of(finding, "resource"));
            line.starts_with(&prefix) && line.contains(&title) && line.ends_with(&resource)
        });
        assert!(found, "{line} is no expected finding");
    }
    if !expected.suppressed.is_empty() {
        let notice = format!("::notice::{} ", expected.suppressed.len());
        assert!(lines[lines.len() - 1].starts_with(&notice), "{text}");
    }
    insta::assert_snapshot!("github", text);
}

#[test]
fn github_counts_suppressed_findings_once() {
    let (rules, report) = with_suppressions();
    let text = render(&rules, &report, OutputFormat::Github);
    assert_eq!(text.lines().count(), 1 + report.findings.len() + 1);
    assert_eq!(
        text.lines().last(),
        Some("::notice::3 findings suppressed (1 inline, 1 waiver, 1 baseline)")
    );
    for suppressed in &report.suppressed {
        assert!(!text.contains(&format!("title={} ", suppressed.finding.rule_id)));
    }
    insta::assert_snapshot!("github_suppressed", text);
}

// Markdown ------------------------------------------------------------------

/// Rows of the table whose header starts with `header`.
fn table_rows<'t>(text: &'t str, header: &str) -> Vec<&'t str> {
    text.lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect()
}

#[test]
fn markdown_tables_every_finding() {
    let expected = expected();
    let text = check("markdown");
    assert!(text.starts_with("## provcheck\n"));
    let findings = table_rows(&text, "| Severity | Rule | Resource | Location | Message |");
    assert_eq!(findings.len(), expected.findings.len());
    // Most severe first: the exposed databases lead the table.
    let critical = findings
        .iter()
        .take_while(|row| row.starts_with("| critical |"))
        .collect::<Vec<_>>();
    assert!(findings.len() > critical.len());
    for expected in [
        "| critical | `kubernetes-database-service-exposed` | `Service/legacy/records` \
         | `fixtures/kubernetes/legacy/records-service.yaml:9` | ",
        "| critical | `aws-database-reachable-from-internet` \
         | `aws_elasticache_replication_group.sessions` \
         | `fixtures/terraform/app/cache.tf:19` | ",
    ] {
        assert!(
            critical.iter().any(|row| row.starts_with(expected)),
            "{expected} in {critical:#?}"
        );
    }
    let errors = table_rows(&text, "| Location | Message |");
    assert_eq!(errors.len(), expected.errors.len());
    let suppressed = table_rows(&text, "| Rule | Resource | Location | Source |");
    assert_eq!(suppressed.len(), expected.suppressed.len());
    insta::assert_snapshot!("markdown", text);
}

#[test]
fn markdown_lists_suppressed_findings_for_audit() {
    let (rules, report) = with_suppressions();
    let text = render(&rules, &report, OutputFormat::Markdown);
    let rows = table_rows(
        &text,
        "| Rule | Resource | Location | Source | Status | Reason | Approver | Ticket | Expires |",
    );
    assert_eq!(rows.len(), report.suppressed.len());
    assert_eq!(
        rows[0],
        "| `aws-rds-publicly-accessible` | `aws_db_instance.records` | `infra/main.tf:3` | inline \
         | accepted-risk | Public \\| read replica<br>for &lt;partners&gt; &amp; \"BI\" | `@alice` \
         | OPS-42 | 2030-01-31 |"
    );
    // Every row has its header's number of cells.
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells = line.replace("\\|", "").matches('|').count() - 1;
        assert!([2, 4, 5, 9].contains(&cells), "{line}");
    }
    insta::assert_snapshot!("markdown_suppressed", text);
}

// Golden snapshots of the first three formats -------------------------------

#[test]
fn compact_golden() {
    insta::assert_snapshot!("golden_compact", check("compact"));
}

#[test]
fn json_golden() {
    insta::assert_snapshot!("golden_json", check("json"));
}

#[test]
fn human_golden() {
    insta::assert_snapshot!("golden_human", check("human"));
}

/// A pull-request comment must fit GitHub's 65,536-character limit: on a
/// tree of more than 5,000 findings the Markdown stays under 60,000
/// characters, keeps the summary and the most severe findings, and
/// counts the rest.
#[test]
fn markdown_fits_a_pull_request_comment() {
    let dir = tempfile::tempdir().unwrap();
    support::many_findings(dir.path(), 1_000);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "markdown"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let json = std::process::Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let total = json["findings"].as_array().unwrap().len();
    assert!(total > 5_000, "{total} findings");
    assert!(text.len() < 60_000, "{} characters", text.len());
    assert!(
        text.contains(&format!("**{total} findings**")),
        "the summary counts all"
    );
    let shown = table_rows(&text, "| Severity | Rule | Resource | Location | Message |").len();
    assert!(shown > 50 && shown < total, "{shown} rows");
    assert!(
        text.contains(&format!(
            "…and {} more, left out to keep this comment short: see the JSON or SARIF report.",
            total - shown
        )),
        "{}",
        &text[text.len() - 400..]
    );
    // Most severe first.
    let rows = table_rows(&text, "| Severity | Rule | Resource | Location | Message |");
    let first = rows[0];
    assert!(first.starts_with("| critical |"), "{first}");
}

// GitLab Code Quality -------------------------------------------------------

/// GitLab's documented Code Quality fields, each required: an array of
/// issues with a description, check name, unique fingerprint, one of its
/// five severities and a location with a path and a first line.
#[test]
fn gitlab_code_quality_has_every_required_field() {
    let expected = expected();
    let text = check("gitlab");
    let issues: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        issues.len(),
        expected.errors.len() + expected.findings.len()
    );
    let mut fingerprints = std::collections::BTreeSet::new();
    for issue in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(
                issue[key].as_str().is_some_and(|v| !v.is_empty()),
                "{key}: {issue}"
            );
        }
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap()),
            "{issue}"
        );
        assert!(issue["location"]["path"]
            .as_str()
            .is_some_and(|p| !p.starts_with('/')));
        assert!(issue["location"]["lines"]["begin"]
            .as_u64()
            .is_some_and(|l| l >= 1));
        assert!(
            fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()),
            "duplicate fingerprint {issue}"
        );
    }
    let public = issues
        .iter()
        .find(|i| {
            i["check_name"] == "aws-rds-publicly-accessible"
                && i["location"]["path"] == "fixtures/terraform/app/database.tf"
        })
        .unwrap();
    assert_eq!(public["severity"], "blocker");
    assert_eq!(public["location"]["lines"]["begin"], 70);
    assert!(issues.iter().any(|i| i["check_name"] == "provcheck-error"));
}
