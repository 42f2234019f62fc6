//! The binary as CI and people use it: exit codes, formats, output files,
//! the rules table, explain pages, and bad input.

use std::path::Path;
use std::process::{Command, Output};

fn provcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const CLEAN: &str = r#"resource "aws_efs_file_system" "shared" {
  encrypted = true
  tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }
}
"#;

const VIOLATION: &str = r#"resource "aws_efs_file_system" "shared" {
  encrypted = false
  tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }
}
"#;

#[test]
fn exit_zero_when_clean() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "main.tf", CLEAN.as_bytes());
    let out = provcheck(&["check", &path]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("Checked 1 file, 1 resource: 0 findings"));
}

#[test]
fn exit_one_on_findings_with_the_line_underlined() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "main.tf", VIOLATION.as_bytes());
    let out = provcheck(&["check", &path]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("aws-efs-unencrypted"), "{text}");
    assert!(text.contains("2 │   encrypted = false"), "{text}");
    assert!(text.contains("CMP 8.3.4"), "{text}");
}

#[test]
fn exit_two_on_errors_even_with_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "main.tf", VIOLATION.as_bytes());
    write(dir.path(), "broken.tf", b"resource \"a\" \"b\" {\n  x = \n");
    let out = provcheck(&[
        "check",
        "--format",
        "compact",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(text.contains("broken.tf:"), "{text}");
    assert!(
        text.contains("main.tf:2:3: high aws-efs-unencrypted"),
        "{text}"
    );
}

#[test]
fn nonexistent_paths_and_bad_usage_exit_two() {
    let out = provcheck(&["check", "does/not/exist"]);
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).contains("does/not/exist"), "{}", stdout(&out));
    assert_eq!(code(&provcheck(&["check", "--format", "yaml"])), 2);
    assert_eq!(code(&provcheck(&["frobnicate"])), 2);
}

#[test]
fn json_output_has_the_documented_shape_and_goes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "main.tf", VIOLATION.as_bytes());
    let report = dir.path().join("out.json");
    let out = provcheck(&[
        "check",
        "--format",
        "json",
        "--output",
        &report.to_string_lossy(),
        &path,
    ]);
    assert_eq!(code(&out), 1);
    assert!(out.stdout.is_empty());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    let finding = &json["findings"][0];
    assert_eq!(finding["rule_id"], "aws-efs-unencrypted");
    assert_eq!(finding["category"], "encryption-at-rest");
    assert_eq!(finding["controls"][0], "CMP 8.3.4");
    assert_eq!(finding["resource"], "aws_efs_file_system.shared");
    assert_eq!(
        finding["span"]["start"],
        serde_json::json!({"line": 2, "column": 3})
    );
    assert_eq!(
        finding["span"]["end"],
        serde_json::json!({"line": 2, "column": 20})
    );
    assert_eq!(
        json["summary"],
        serde_json::json!({"files": 1, "resources": 1, "findings": 1, "errors": 0, "suppressed": 0})
    );
    assert_eq!(json["suppressed"], serde_json::json!([]));
}

#[test]
fn fingerprints_survive_moved_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "main.tf", VIOLATION.as_bytes());
    let first = stdout(&provcheck(&["check", "--format", "json", &path]));
    write(
        dir.path(),
        "main.tf",
        format!("\n\n# moved\n{VIOLATION}").as_bytes(),
    );
    let second = stdout(&provcheck(&["check", "--format", "json", &path]));
    let fp = |text: &str| {
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        (
            json["findings"][0]["fingerprint"].clone(),
            json["findings"][0]["span"]["start"]["line"].clone(),
        )
    };
    let (a, line_a) = fp(&first);
    let (b, line_b) = fp(&second);
    assert_eq!(a, b);
    assert_ne!(line_a, line_b);
}

#[test]
fn rules_lists_every_rule_and_explain_shows_one() {
    let out = provcheck(&["rules"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with("aws-rds-storage-unencrypted "))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().take(4).collect::<Vec<_>>(),
        [
            "aws-rds-storage-unencrypted",
            "aws",
            "high",
            "encryption-at-rest"
        ],
        "{text}"
    );
    assert!(
        text.contains("aptible-database-endpoint-not-internal"),
        "{text}"
    );

    let out = provcheck(&["explain", "aws-rds-storage-unencrypted"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for expected in [
        "CMP 8.3.4",
        "pack:       aws",
        "Remediation:",
        "Fails (example 1",
        "Passes (example 1",
        "encryption-at-rest",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert_eq!(code(&provcheck(&["explain", "no-such-rule"])), 2);
}

#[test]
fn user_rules_are_added_and_broken_ones_point_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"id: acme-bucket-name-prefix
title: Bucket names start with acme-
severity: low
category: baseline
controls: ["CMP 8.3.3"]
target: terraform
resource_types: [aws_s3_bucket]
description: Buckets carry the company prefix.
assert:
  required: [bucket]
  properties:
    bucket: { pattern: "^acme-" }
message: Bucket name lacks the acme- prefix.
remediation: Rename the bucket.
examples:
  pass: ['resource "aws_s3_bucket" "b" { bucket = "acme-x" }']
  fail:
    - line: 1
      code: 'resource "aws_s3_bucket" "b" { bucket = "x" }'
"#;
    let rules = write(
        dir.path(),
        "rules/acme/bucket-name-prefix.yaml",
        rule.as_bytes(),
    );
    let rules_dir = Path::new(&rules)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let tf = write(
        dir.path(),
        "src/main.tf",
        b"resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"logs\"\n}\n",
    );
    let out = provcheck(&["check", "--format", "compact", "--rules", &rules_dir, &tf]);
    assert!(
        stdout(&out).contains(":2:3: low acme-bucket-name-prefix"),
        "{}",
        stdout(&out)
    );

    write(
        dir.path(),
        "rules/acme/bucket-name-prefix.yaml",
        rule.replace("severity: low", "severity: severe").as_bytes(),
    );
    let out = provcheck(&["check", "--rules", &rules_dir, &tf]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bucket-name-prefix.yaml:3:1"), "{err}");
}

#[test]
fn help_shows_examples_and_version_prints() {
    let out = provcheck(&["--help"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("Examples:"));
    let out = provcheck(&["--version"]);
    assert!(stdout(&out).starts_with("provcheck "));
}

/// Reports are written as they are made (JSON, SARIF and the human
/// format entry by entry): a write that fails part way is still said,
/// and the run exits 2, whichever format and wherever it goes.
#[cfg(unix)]
#[test]
fn a_report_that_cannot_be_written_is_said_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let tf = write(dir.path(), "main.tf", VIOLATION.as_bytes());
    for format in ["json", "sarif", "human", "junit"] {
        // /dev/full takes no byte: every write fails with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .args(["check", "--format", format, &tf])
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{format}: {stderr}");
        assert!(
            stderr.contains("cannot write the report to standard output"),
            "{format}: {stderr}"
        );
        // A folder where the report file should go.
        let output = provcheck(&[
            "check",
            "--format",
            format,
            "-o",
            &dir.path().to_string_lossy(),
            &tf,
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{format}: {stderr}");
        assert!(
            stderr.contains("cannot write the report to"),
            "{format}: {stderr}"
        );
    }
}
