//! The flags users of other checkers type: `-f`, `-o` with the format
//! from its extension, `--select`/`--check`, `--ignore`/`--skip-check`,
//! `--exclude`/`--skip-path`, `--min-severity`, `-q`, and a did-you-mean
//! for a misspelt rule name.

use std::path::Path;
use std::process::Command;

const TREE: &[(&str, &str)] = &[
    (
        "db/main.tf",
        "resource \"aws_db_instance\" \"main\" {\n  engine            = \"postgres\"\n  instance_class    = \"db.t3.micro\"\n  storage_encrypted = false\n}\n",
    ),
    (
        "legacy/bucket.tf",
        "resource \"aws_s3_bucket\" \"old\" {\n  bucket = \"old\"\n}\n",
    ),
];

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in TREE {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Runs provcheck with `args` in `dir`: (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The rule ids of a JSON report, sorted and without repeats.
fn rules_in(json: &str) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut ids: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn short_format_and_formats_from_output_extensions() {
    let dir = tree();
    let d = dir.path();
    let (_, long, _) = run(d, &["check", "--format", "json", "."]);
    let (_, short, _) = run(d, &["check", "-f", "json", "."]);
    assert_eq!(rules_in(&long), rules_in(&short));

    for (file, looks_right) in [
        (
            "out.json",
            (|t: &str| t.starts_with('{')) as fn(&str) -> bool,
        ),
        ("out.sarif", |t: &str| t.contains("\"$schema\"")),
        ("out.xml", |t: &str| t.starts_with("<?xml")),
        ("out.md", |t: &str| t.starts_with("## provcheck")),
        ("out.txt", |t: &str| t.contains("Checked 2 files")),
    ] {
        let (code, _, err) = run(d, &["check", "-o", file, "."]);
        assert_eq!(code, 1, "{err}");
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        assert!(
            looks_right(&text),
            "{file}: {}",
            &text[..120.min(text.len())]
        );
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");

    // inspect: the report's format from its extension too.
    let (_, _, err) = run(d, &["inspect", "-o", "report.md", "."]);
    let text = std::fs::read_to_string(d.join("report.md")).unwrap();
    assert!(
        text.starts_with("# Provisioning inspection report"),
        "{err}"
    );
}

#[test]
fn select_ignore_and_exclude_with_their_aliases() {
    let dir = tree();
    let d = dir.path();
    let (_, all, _) = run(d, &["check", "-f", "json", "."]);
    assert!(rules_in(&all).contains(&"aws-s3-bucket-public-access-not-blocked".to_string()));

    for flag in ["--select", "--check"] {
        let (code, json, err) = run(
            d,
            &[
                "check",
                "-f",
                "json",
                flag,
                "aws-rds-storage-unencrypted",
                ".",
            ],
        );
        assert_eq!(code, 1, "{err}");
        assert_eq!(rules_in(&json), ["aws-rds-storage-unencrypted"]);
    }
    // Comma-separated, and categories.
    let (_, json, _) = run(
        d,
        &[
            "check",
            "-f",
            "json",
            "--check",
            "aws-rds-storage-unencrypted,backup",
            ".",
        ],
    );
    let ids = rules_in(&json);
    assert!(
        ids.contains(&"aws-rds-storage-unencrypted".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"aws-rds-backup-retention-short".to_string()),
        "{ids:?}"
    );
    assert!(ids.len() == 2, "{ids:?}");

    for flag in ["--ignore", "--skip-check"] {
        let (_, json, _) = run(d, &["check", "-f", "json", flag, "approval", "."]);
        let ids = rules_in(&json);
        assert!(!ids.iter().any(|i| i.ends_with("-tag-missing")), "{ids:?}");
        assert!(
            ids.contains(&"aws-rds-storage-unencrypted".to_string()),
            "{ids:?}"
        );
    }

    for flag in ["--exclude", "--skip-path"] {
        let (_, json, _) = run(d, &["check", "-f", "json", flag, "legacy/**", "."]);
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| !f["file"].as_str().unwrap().starts_with("legacy/")),
            "{json}"
        );
    }

    // A misspelt name is an error that names the rule meant.
    let (code, _, err) = run(d, &["check", "--select", "aws-rds-storage-unencrypte", "."]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "--select aws-rds-storage-unencrypte: not a rule id, category or pack \
             (did you mean `aws-rds-storage-unencrypted`?)"
        ),
        "{err}"
    );
    let (code, _, err) = run(d, &["check", "--exclude", "legacy/[", "."]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn min_severity_hides_but_fail_on_still_judges_and_quiet_keeps_findings_only() {
    let dir = tree();
    let d = dir.path();
    // One low finding, hidden by --min-severity high: the run still
    // fails under the default --fail-on low, and the summary says why.
    let select = ["--select", "aws-s3-bucket-not-kms-encrypted"];
    let args = |extra: &[&'static str]| {
        let mut all = vec!["check"];
        all.extend_from_slice(&select);
        all.extend_from_slice(extra);
        all.push(".");
        all
    };
    let (code, out, _) = run(d, &args(&["--min-severity", "high"]));
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("aws-s3-bucket-not-kms-encrypted"), "{out}");
    assert!(out.contains("1 below --min-severity not shown"), "{out}");
    let (code, _, _) = run(d, &args(&["--min-severity", "high", "--fail-on", "medium"]));
    assert_eq!(code, 0);

    let (_, out, _) = run(d, &args(&["-q"]));
    assert!(out.contains("aws-s3-bucket-not-kms-encrypted"), "{out}");
    assert!(!out.contains("Checked "), "{out}");
    assert!(!out.contains("Provenance:"), "{out}");
}

#[test]
fn rules_filter_and_json_and_names_misspelt_anywhere_get_a_suggestion() {
    let dir = tree();
    let d = dir.path();
    let (code, json, _) = run(
        d,
        &[
            "rules",
            "-f",
            "json",
            "--pack",
            "gcp",
            "--severity",
            "critical",
        ],
    );
    assert_eq!(code, 0);
    let list: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(!list.is_empty());
    for rule in &list {
        assert_eq!(rule["pack"], "gcp");
        assert_eq!(rule["severity"], "critical");
        assert!(
            rule["controls"].as_array().is_some_and(|c| !c.is_empty()),
            "{rule}"
        );
    }
    let (_, table, _) = run(d, &["rules", "--category", "backup"]);
    assert!(
        table
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty() && !l.ends_with(" rules"))
            .all(|l| l.contains(" backup ")),
        "{table}"
    );

    let (code, _, err) = run(d, &["explain", "aws-rds-storage-unencryptd"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Did you mean `aws-rds-storage-unencrypted`?"),
        "{err}"
    );

    std::fs::write(d.join(".provcheck.yaml"), "ignore: [aproval]\n").unwrap();
    let (code, out, err) = run(d, &["check", "--config", ".provcheck.yaml", "."]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        format!("{out}{err}")
            .contains("`aproval` is not a rule id, category or pack (did you mean `approval`?)"),
        "{out}{err}"
    );
}

#[test]
fn a_waiver_naming_no_rule_is_its_own_finding() {
    let dir = tree();
    let d = dir.path();
    std::fs::write(
        d.join(".provcheck-waivers.yaml"),
        "waivers:\n  - rule: aws-rds-storage-unencrypte\n    resource: aws_db_instance.main\n    status: accepted-risk\n    reason: test\n    approver: cto\n  - rule: \"*\"\n    resource: aws_s3_bucket.old\n    status: accepted-risk\n    reason: every rule on the old bucket\n    approver: cto\n",
    )
    .unwrap();
    let (code, out, err) = run(
        d,
        &[
            "check",
            "-f",
            "compact",
            "--waivers",
            ".provcheck-waivers.yaml",
            ".",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("provcheck-suppression-unknown-rule"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with(".provcheck-waivers.yaml:2:"), "{line}");
    assert!(
        line.contains("(did you mean `aws-rds-storage-unencrypted`?)"),
        "{line}"
    );
    // The wildcard names every rule: not unknown.
    assert_eq!(
        out.matches("provcheck-suppression-unknown-rule").count(),
        1,
        "{out}"
    );
    // The misspelt waiver silenced nothing.
    assert!(out.contains(": high aws-rds-storage-unencrypted "), "{out}");
}
