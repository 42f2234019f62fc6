//! Terraform's JSON syntax (`*.tf.json`): the same findings as the native
//! syntax, at the JSON lines, in modules of either or both syntaxes;
//! `"//"` comments and suppressions; a malformed file reported without
//! hiding the others' findings.

use std::process::Command;

use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tfjson");

/// Runs `check --format json` on one folder of the test data; the report
/// and the exit code.
fn check(folder: &str) -> (Value, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "json", folder])
        .current_dir(DATA)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    let report = serde_json::from_slice(&output.stdout).expect("a JSON report");
    (report, output.status.code().unwrap_or(-1))
}

/// Each finding as (rule id, file, line), sorted.
fn findings(report: &Value, key: &str) -> Vec<(String, String, u64)> {
    let mut all: Vec<_> = report[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                short(&f["file"]).to_string(),
                f["span"]["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    all.sort();
    all
}

/// A file's path below the test data (reports give it from the project
/// root).
fn short(path: &Value) -> &str {
    let path = path.as_str().unwrap_or_default();
    path.strip_prefix("tests/data/tfjson/").unwrap_or(path)
}

fn rule_ids(found: &[(String, String, u64)]) -> Vec<&str> {
    found.iter().map(|(id, _, _)| id.as_str()).collect()
}

#[test]
fn a_json_module_gives_findings_at_its_lines() {
    let (report, code) = check("json");
    assert_eq!(code, 1);
    let found = findings(&report, "findings");
    let at = |rule: &str| -> Vec<u64> {
        found
            .iter()
            .filter(|(id, _, _)| id == rule)
            .map(|(_, _, line)| *line)
            .collect()
    };
    // The attribute's line for values written there or taken from a
    // variable, the block's name for what is left out.
    assert_eq!(at("aws-rds-storage-unencrypted"), [19]);
    assert_eq!(at("aws-rds-backup-retention-short"), [20]);
    assert_eq!(at("aws-rds-audit-logs-not-exported"), [14]);
    assert_eq!(at("aws-s3-bucket-public-access-not-blocked"), [27]);
    assert!(found.iter().all(|(_, file, _)| file == "json/main.tf.json"));
    let retention = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "aws-rds-backup-retention-short")
        .unwrap();
    assert_eq!(short(&retention["related"][0]["file"]), "json/main.tf.json");
    assert_eq!(retention["related"][0]["span"]["start"]["line"], 6);
}

#[test]
fn the_same_module_in_native_syntax_gives_the_same_rules() {
    let (json, _) = check("json");
    let (native, _) = check("native");
    assert_eq!(
        rule_ids(&findings(&json, "findings")),
        rule_ids(&findings(&native, "findings"))
    );
}

#[test]
fn a_module_mixes_both_syntaxes() {
    let (report, _) = check("mixed");
    let storage = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "aws-rds-storage-unencrypted")
        .expect("the variable declared in variables.tf is read");
    assert_eq!(short(&storage["file"]), "mixed/main.tf.json");
    assert_eq!(storage["span"]["start"]["line"], 5);
    assert_eq!(short(&storage["related"][0]["file"]), "mixed/variables.tf");
    assert_eq!(storage["related"][0]["span"]["start"]["line"], 3);
}

#[test]
fn comment_keys_are_ignored_and_can_hold_a_suppression() {
    let (report, _) = check("suppressed");
    let suppressed = findings(&report, "suppressed");
    assert_eq!(rule_ids(&suppressed), ["aws-rds-storage-unencrypted"]);
    assert!(!rule_ids(&findings(&report, "findings")).contains(&"aws-rds-storage-unencrypted"));
    // `"//"` is no attribute: nothing reports it, and no error either.
    assert_eq!(report["errors"].as_array().map_or(0, Vec::len), 0);
}

#[test]
fn a_malformed_file_is_an_error_and_hides_nothing_else() {
    let (report, code) = check("broken");
    assert_eq!(code, 2);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(short(&errors[0]["file"]), "broken/bad.tf.json");
    assert_eq!(errors[0]["span"]["start"]["line"], 6);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("JSON syntax error"));
    assert!(findings(&report, "findings")
        .iter()
        .any(|(id, file, line)| id == "aws-ebs-volume-unencrypted"
            && file == "broken/good.tf"
            && *line == 3));
}
