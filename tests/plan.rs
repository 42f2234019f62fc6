//! Terraform plan JSON: the findings of the `.tf` module it was made
//! from, at the `.tf` lines, where the plan's values are known; at the
//! plan's own lines without the sources; deleted resources left out;
//! plans recognised by content; a broken plan reported without hiding
//! the other files' findings.
//!
//! `tests/data/plan/plan.json` was made once from the `.tf` files beside
//! it (AWS provider 5.100.0, with a prior state holding one more volume,
//! `aws_ebs_volume.old`, so that the plan deletes it):
//! `terraform plan -refresh=false -out tfplan && terraform show -json
//! tfplan`, indented.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/plan");

/// Copies the fixture into a fresh folder, leaving out what `skip` names.
fn fixture(skip: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(Path::new(DATA), dir.path(), skip);
    dir
}

fn copy(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == **s) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(&name), skip);
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Runs `check --format json --show-undecided ARGS` in `dir`.
fn check(dir: &Path, args: &[&str]) -> (Value, i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "json", "--show-undecided"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let report = serde_json::from_str(&stdout).expect("a JSON report");
    (report, output.status.code().unwrap_or(-1), stdout)
}

type Found = Vec<(String, String, String, u64)>;

/// Each finding of a list as (rule id, resource, file, line), sorted.
fn found(report: &Value, key: &str) -> Found {
    let mut all: Found = report[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                f["resource"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
                f["span"]["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    all.sort();
    all
}

fn without(found: &Found, rule: &str, resource: &str) -> Found {
    found
        .iter()
        .filter(|(r, a, _, _)| !(r == rule && a == resource))
        .cloned()
        .collect()
}

/// The 1-based line of the `n`th line of `text` holding `needle`, from
/// the line holding `after`.
fn line_of(text: &str, after: &str, needle: &str) -> u64 {
    let start = text.lines().position(|l| l.contains(after)).unwrap();
    let at = text
        .lines()
        .skip(start)
        .position(|l| l.contains(needle))
        .unwrap();
    (start + at + 1) as u64
}

#[test]
fn a_plan_gives_the_tf_findings_at_the_tf_lines() {
    let tf = fixture(&["plan.json"]);
    let (tf_report, tf_code, _) = check(tf.path(), &["."]);
    assert_eq!(tf_code, 1, "{tf_report:#}");
    let planned = fixture(&[]);
    let (plan_report, plan_code, _) = check(planned.path(), &["plan.json"]);
    assert_eq!(plan_code, 1, "{plan_report:#}");
    assert_eq!(plan_report["errors"], Value::Array(vec![]));

    let from_tf = found(&tf_report, "findings");
    let from_plan = found(&plan_report, "findings");
    assert!(!from_plan.is_empty());
    assert!(
        from_plan
            .iter()
            .all(|(_, _, file, _)| file.ends_with("main.tf")),
        "{from_plan:#?}"
    );
    // The bucket without an encryption configuration fails on the `.tf`
    // (the provider's default is SSE-S3), but its inline configuration
    // is known only after apply in the plan: undecided there, never a
    // guess. Everything else is the same rule, resource, file and line.
    let logs = ("aws-s3-bucket-not-kms-encrypted", "aws_s3_bucket.logs");
    assert!(from_tf
        .iter()
        .any(|(r, a, _, _)| (r.as_str(), a.as_str()) == logs));
    assert_eq!(without(&from_tf, logs.0, logs.1), from_plan);
    assert!(found(&plan_report, "undecided")
        .iter()
        .any(|(r, a, _, _)| (r.as_str(), a.as_str()) == logs));

    // The seeded problems are among them: a count instance each, a child
    // module, a value from a variable default, and the volume.
    let at = |rule: &str| -> Vec<(String, u64)> {
        from_plan
            .iter()
            .filter(|(r, _, _, _)| r == rule)
            .map(|(_, a, _, l)| (a.clone(), *l))
            .collect()
    };
    let main = std::fs::read_to_string(planned.path().join("main.tf")).unwrap();
    let storage = line_of(&main, "\"records\"", "storage_encrypted");
    assert_eq!(
        at("aws-rds-storage-unencrypted"),
        [
            ("aws_db_instance.records[0]".to_string(), storage),
            ("aws_db_instance.records[1]".to_string(), storage)
        ]
    );
    let cache = std::fs::read_to_string(planned.path().join("modules/cache/main.tf")).unwrap();
    assert_eq!(
        at("aws-elasticache-at-rest-unencrypted"),
        [(
            "module.cache.aws_elasticache_replication_group.this".to_string(),
            line_of(&cache, "resource", "at_rest_encryption_enabled")
        )]
    );
    assert_eq!(at("aws-ebs-volume-unencrypted").len(), 1);
    // default_tags (tags_all) satisfy the approval tags.
    assert!(at("aws-change-request-tag-missing").is_empty());
    assert!(at("aws-owner-tag-missing").is_empty());

    // The findings name where the plan holds the resource, and keep the
    // variable default the retention came from.
    let retention = plan_report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "aws-rds-backup-retention-short")
        .expect("the retention finding");
    let related: Vec<&str> = retention["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert!(related.contains(&"main.tf"), "{retention:#}");
    assert!(related.contains(&"plan.json"), "{retention:#}");

    // The same fingerprints: a baseline taken on the `.tf` holds.
    let prints = |report: &Value| -> Vec<String> {
        let mut all: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect();
        all.sort();
        all
    };
    let tf_prints = prints(&tf_report);
    assert!(prints(&plan_report).iter().all(|p| tf_prints.contains(p)));
}

#[test]
fn deleted_and_sensitive_values_are_not_checked_or_shown() {
    let planned = fixture(&[]);
    let (report, _, stdout) = check(planned.path(), &["plan.json"]);
    let all: Found = found(&report, "findings")
        .into_iter()
        .chain(found(&report, "undecided"))
        .collect();
    assert!(all.iter().all(|(_, a, _, _)| a != "aws_ebs_volume.old"));
    assert!(all.iter().any(|(_, a, _, _)| a == "aws_ebs_volume.scratch"));
    assert!(!stdout.contains("not-a-real-password"));
    // Without sources, no report quotes the plan's sensitive values,
    // which `terraform show -json` writes in clear: the snippets of the
    // plan's lines are masked.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(DATA).join("plan.json"),
        dir.path().join("plan.json"),
    )
    .unwrap();
    for format in ["human", "json", "sarif", "markdown"] {
        let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .args(["check", "--show-undecided", "--format", format, "plan.json"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("aws_db_instance.records"), "{format}");
        assert!(!stdout.contains("not-a-real-password"), "{format}");
    }
    let html = dir.path().join("report.html");
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["inspect", "-o"])
        .arg(&html)
        .arg("plan.json")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(html.exists(), "{output:?}");
    assert!(!std::fs::read_to_string(&html)
        .unwrap()
        .contains("not-a-real-password"));
}

#[test]
fn without_sources_findings_point_at_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(DATA).join("plan.json"),
        dir.path().join("tfplan.json"),
    )
    .unwrap();
    let (report, code, _) = check(dir.path(), &["tfplan.json"]);
    assert_eq!(code, 1, "{report:#}");
    let from_plan = found(&report, "findings");
    assert!(from_plan
        .iter()
        .all(|(_, _, file, _)| file == "tfplan.json"));
    let text = std::fs::read_to_string(dir.path().join("tfplan.json")).unwrap();
    let storage: Vec<u64> = from_plan
        .iter()
        .filter(|(r, _, _, _)| r == "aws-rds-storage-unencrypted")
        .map(|(_, _, _, l)| *l)
        .collect();
    // Each instance at its own `values`, in `planned_values`.
    assert_eq!(
        storage,
        [
            line_of(
                &text,
                "\"address\": \"aws_db_instance.records[0]\"",
                "\"storage_encrypted\""
            ),
            line_of(
                &text,
                "\"address\": \"aws_db_instance.records[1]\"",
                "\"storage_encrypted\""
            ),
        ]
    );
    // The encryption configuration is linked to its bucket by the
    // configuration's references (its `bucket` is known only after
    // apply): the bucket passes, as on the `.tf`.
    assert!(
        from_plan
            .iter()
            .all(|(r, a, _, _)| !(r == "aws-s3-bucket-not-kms-encrypted"
                && a == "aws_s3_bucket.data"))
    );
    // The same rules fire on the same resources as with the sources.
    let planned = fixture(&[]);
    let (located, _, _) = check(planned.path(), &["plan.json"]);
    let pairs = |found: &Found| -> Vec<(String, String)> {
        found
            .iter()
            .map(|(r, a, _, _)| (r.clone(), a.clone()))
            .collect()
    };
    assert_eq!(pairs(&from_plan), pairs(&found(&located, "findings")));
}

#[test]
fn relations_come_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::copy(Path::new(DATA).join("plan.json"), &plan).unwrap();
    let (rules, errors) = provcheck::ruleset::RuleSet::load(&[]);
    assert!(errors.is_empty());
    let report = provcheck::check(&[plan], &rules);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let resource = |address: &str| {
        report
            .resources
            .iter()
            .find(|r| r.address == address)
            .unwrap_or_else(|| panic!("{address}"))
    };
    let config = resource("aws_s3_bucket_server_side_encryption_configuration.data");
    assert!(config
        .references
        .contains(&"aws_s3_bucket.data".to_string()));
    assert!(config.references.contains(&"aws_kms_key.data".to_string()));
    assert!(config.is_unknown("/bucket"));
    // tags_all is read as tags; the password is unknown, never a value.
    let db = resource("aws_db_instance.records[1]");
    assert_eq!(db.attributes["tags"]["owner"], "platform-team");
    assert_eq!(db.attributes["tags"]["approved_by"], "jane.doe");
    assert!(db.is_unknown("/password"));
    assert_eq!(db.attributes["storage_encrypted"], false);
    // The provider's string-typed boolean reads as the `.tf` writes it.
    let cache = resource("module.cache.aws_elasticache_replication_group.this");
    assert_eq!(cache.attributes["at_rest_encryption_enabled"], false);
    assert!(report
        .resources
        .iter()
        .all(|r| r.address != "aws_ebs_volume.old"));
}

#[test]
fn plans_are_found_by_content_in_folders() {
    // A folder of the plan and its sources: the plan stands in for the
    // `.tf` module, once.
    let planned = fixture(&[]);
    let (folder, _, _) = check(planned.path(), &["."]);
    let (named, _, _) = check(planned.path(), &["plan.json"]);
    assert_eq!(found(&folder, "findings"), found(&named, "findings"));
    assert_eq!(folder["errors"], Value::Array(vec![]));

    // A plan alone in a folder, any name; other JSON files pass silently.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::copy(
        Path::new(DATA).join("plan.json"),
        dir.path().join("out/staging-plan.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"name": "x"}"#).unwrap();
    std::fs::write(
        dir.path().join("state.json"),
        r#"{"format_version": "1.0", "values": {}}"#,
    )
    .unwrap();
    let (report, code, _) = check(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert!(!found(&report, "findings").is_empty());
    assert_eq!(report["errors"], Value::Array(vec![]));
    assert_eq!(report["notes"], Value::Array(vec![]));
    assert_eq!(report["summary"]["files"], 1);

    // Named, a JSON file that is not a plan is said to be skipped.
    let (report, _, _) = check(dir.path(), &["state.json", "--allow-empty"]);
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report:#}");
    assert!(notes[0]["message"]
        .as_str()
        .unwrap()
        .contains("not a Terraform plan"));
}

#[test]
fn sources_elsewhere_are_named_with_source() {
    let dir = tempfile::tempdir().unwrap();
    // The project root (as a git work tree's top would be, found from
    // any path): the sources' modules are read only inside it.
    std::fs::write(dir.path().join(".provcheck.yaml"), "").unwrap();
    copy(Path::new(DATA), &dir.path().join("infra"), &["plan.json"]);
    std::fs::create_dir_all(dir.path().join("plans")).unwrap();
    std::fs::copy(
        Path::new(DATA).join("plan.json"),
        dir.path().join("plans/tfplan.json"),
    )
    .unwrap();
    let (report, code, _) = check(
        dir.path(),
        &[
            "--config",
            ".provcheck.yaml",
            "--source",
            "infra",
            "plans/tfplan.json",
        ],
    );
    assert_eq!(code, 1, "{report:#}");
    let from_plan = found(&report, "findings");
    assert!(!from_plan.is_empty());
    let files: std::collections::BTreeSet<&str> =
        from_plan.iter().map(|(_, _, f, _)| f.as_str()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["infra/main.tf", "infra/modules/cache/main.tf"]
    );
    // Without --source, the plan's own lines.
    let (report, _, _) = check(dir.path(), &["plans/tfplan.json"]);
    assert!(found(&report, "findings")
        .iter()
        .all(|(_, _, f, _)| f == "plans/tfplan.json"));
}

#[test]
fn a_broken_plan_is_an_error_with_a_span_and_hides_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"aws_ebs_volume\" \"v\" {\n  availability_zone = \"a\"\n  size = 1\n  encrypted = false\n}\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(Path::new(DATA).join("plan.json")).unwrap();
    let cut = text.find("\"resource_changes\"").unwrap();
    std::fs::write(dir.path().join("plan.json"), &text[..cut]).unwrap();
    std::fs::write(
        dir.path().join("deep.json"),
        format!(
            "{{\"format_version\": \"1.2\", \"planned_values\": {}",
            "[".repeat(100_000)
        ),
    )
    .unwrap();
    let (report, code, _) = check(dir.path(), &["."]);
    assert_eq!(code, 2, "{report:#}");
    let errors = report["errors"].as_array().unwrap();
    let files: Vec<&str> = errors.iter().map(|e| e["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["deep.json", "plan.json"], "{report:#}");
    assert!(errors
        .iter()
        .all(|e| e["span"]["start"]["line"].as_u64() > Some(0)));
    assert!(found(&report, "findings")
        .iter()
        .any(|(r, _, f, _)| r == "aws-ebs-volume-unencrypted" && f == "main.tf"));
}

#[test]
fn a_plan_beside_a_staged_tf_file_is_not_checked() {
    // A pre-commit hook names main.tf: a stale plan beside it does not
    // stand in for the source.
    let planned = fixture(&[]);
    let (named, _, _) = check(planned.path(), &["main.tf"]);
    let tf = fixture(&["plan.json"]);
    let (alone, _, _) = check(tf.path(), &["main.tf"]);
    assert_eq!(found(&named, "findings"), found(&alone, "findings"));
}

#[test]
fn suppression_comments_in_the_sources_apply_to_the_plan() {
    let planned = fixture(&[]);
    let main = planned.path().join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap().replace(
        "resource \"aws_ebs_volume\" \"scratch\" {",
        "# provcheck:ignore aws-ebs-volume-unencrypted status=accepted-risk reason=\"scratch space, no records\"\nresource \"aws_ebs_volume\" \"scratch\" {",
    );
    std::fs::write(&main, text).unwrap();
    let (report, _, _) = check(planned.path(), &["plan.json"]);
    assert!(found(&report, "findings")
        .iter()
        .all(|(r, _, _, _)| r != "aws-ebs-volume-unencrypted"));
    let suppressed: Vec<&str> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(suppressed, ["aws-ebs-volume-unencrypted"]);
}

/// A long key above many values, known and unknown: spans and pointers
/// stop at the key (which stays unknown), in linear time.
#[test]
fn a_long_key_above_many_values_is_cheap() {
    let key = "k".repeat(1 << 20);
    let children: Vec<String> = (0..50_000).map(|i| format!("\"c{i}\": {i}")).collect();
    let unknown: Vec<String> = (0..50_000).map(|i| format!("\"c{i}\": true")).collect();
    let text = format!(
        r#"{{"format_version": "1.2",
  "planned_values": {{"root_module": {{"resources": [{{"address": "aws_ebs_volume.x", "mode": "managed", "type": "aws_ebs_volume", "name": "x", "values": {{"encrypted": false, "{key}": {{{}}}}}}}]}}}},
  "resource_changes": [{{"address": "aws_ebs_volume.x", "mode": "managed", "type": "aws_ebs_volume", "name": "x",
    "change": {{"actions": ["create"], "after_unknown": {{"{key}": {{{}}}}}}}}}]}}"#,
        children.join(","),
        unknown.join(",")
    );
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, text).unwrap();
    let (rules, _) = provcheck::ruleset::RuleSet::load(&[]);
    let start = std::time::Instant::now();
    let report = provcheck::check(&[plan], &rules);
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let volume = &report
        .resources
        .iter()
        .find(|r| r.address == "aws_ebs_volume.x")
        .unwrap();
    let top = format!("/{key}");
    assert!(volume.is_unknown(&top));
    assert!(volume.spans.keys().all(|p| p.len() <= top.len()));
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule_id.to_string() == "aws-ebs-volume-unencrypted"));
}
