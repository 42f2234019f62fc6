//! `provcheck inspect`: the inspection report's model, JSON and Markdown.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn inspect(path: &str, format: &str) -> (String, i32) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["inspect", path, "--format", format, "--output"])
        .arg(&output)
        .args(["--title", "Fixture inspection"])
        .status()
        .unwrap();
    let text = std::fs::read_to_string(Path::new(&output)).unwrap();
    (text, status.code().unwrap())
}

fn json(path: &str) -> Value {
    let (text, code) = inspect(path, "json");
    assert_eq!(code, 1, "findings fail the run, as for check");
    serde_json::from_str(&text).unwrap()
}

fn store<'v>(report: &'v Value, address: &str, file_end: &str) -> &'v Value {
    report["data_stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["address"] == address && s["file"].as_str().unwrap().ends_with(file_end))
        .unwrap_or_else(|| panic!("no data store {address}"))
}

#[test]
fn terraform_matrix_cells() {
    let report = json("fixtures/terraform");
    assert_eq!(report["version"], 1);
    assert_eq!(report["title"], "Fixture inspection");
    let legacy = store(&report, "aws_db_instance.legacy", ".tf");
    let storage = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["resource"] == "aws_db_instance.legacy"
                && f["rule_id"] == "aws-rds-storage-unencrypted"
        })
        .unwrap();
    let cell = &legacy["controls"]["encryption-at-rest"];
    assert_eq!(cell["verdict"], "fail");
    assert!(cell["findings"]
        .as_array()
        .unwrap()
        .contains(&storage["fingerprint"]));
    let records = store(&report, "aws_db_instance.records", ".tf");
    assert_eq!(records["controls"]["encryption-at-rest"]["verdict"], "pass");
    assert_eq!(records["engine"], "postgres");
    for control in [
        "encryption-at-rest",
        "encryption-in-transit",
        "private-network",
        "backup",
        "audit-logging",
        "approval",
    ] {
        let verdict = legacy["controls"][control]["verdict"].as_str().unwrap();
        assert!(["pass", "fail", "undecided", "n/a"].contains(&verdict));
    }
    let bucket = report["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["address"] == "aws_s3_bucket.records")
        .unwrap();
    assert_eq!(bucket["kind"], "data-store");
    assert!(bucket["line"].as_u64().unwrap() > 0);
    for clause in report["clauses"].as_array().unwrap() {
        assert!(!clause["rules"].as_array().unwrap().is_empty());
    }
}

#[test]
fn compose_database_service() {
    let report = json("fixtures/compose");
    let db = store(&report, "compose:db", "legacy/compose.yaml");
    assert_eq!(db["controls"]["private-network"]["verdict"], "fail");
    assert_eq!(db["engine"], "postgres:15");
    let shop = store(&report, "compose:db", "shop/compose.yaml");
    assert_eq!(shop["controls"]["private-network"]["verdict"], "pass");
    let web = report["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["address"] == "compose:web")
        .unwrap();
    assert_eq!(web["kind"], "compute");
    assert_eq!(web["role"], "frontend");
}

#[test]
fn clause_counts_add_up() {
    let paths = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/terraform"
    ))];
    let (rules, errors) = provcheck::ruleset::RuleSet::load(&[]);
    assert!(errors.is_empty());
    let report = provcheck::check(&paths, &rules);
    let model = provcheck::inspect::build(&report, &rules, &provcheck::inspect::Options::default());
    for clause in &model.clauses {
        let checked: usize = clause
            .rules
            .iter()
            .map(|id| {
                let rule = rules.get(id).unwrap();
                report
                    .resources
                    .iter()
                    .filter(|r| r.kind.is_checked() && rule.applies_to(&r.resource_type))
                    .count()
            })
            .sum();
        assert_eq!(
            clause.pass + clause.fail + clause.undecided,
            checked,
            "{}",
            clause.control
        );
    }
}

#[test]
fn snapshots() {
    let (text, _) = inspect("fixtures/terraform", "json");
    insta::assert_snapshot!("inspect_terraform_json", text);
    let (text, _) = inspect("fixtures/compose", "markdown");
    insta::assert_snapshot!("inspect_compose_markdown", text);
}
