//! Terraform written to exhaust the evaluator: every case ends in
//! bounded time and memory, and whatever was not checked is an error
//! (exit code 2), never a silent drop. Reproducers are generated here.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Generous: a debug build on a loaded 2-core machine. The cases this
/// guards against took minutes or never ended.
const WALL: Duration = Duration::from_secs(20);

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs `provcheck check --format json .` in `dir` under a 2 GiB address
/// space limit: (exit code, report, wall time).
fn check(dir: &Path) -> (i32, serde_json::Value, Duration) {
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152; exec \"$0\" check --format json .")
        .arg(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(dir)
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report, elapsed)
}

fn errors(report: &serde_json::Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

fn count(report: &serde_json::Value, rule: &str) -> usize {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .count()
}

const TAGS: &str = r#"tags = { owner = "a", approved_by = "b", change_request = "OPS-1" }"#;

#[test]
fn for_each_over_ten_thousand_keys_is_linear() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("k{i} = {{ n = {i} }}"))
        .collect();
    write(
        dir.path(),
        "main.tf",
        &format!(
            "locals {{\n  m = {{ {} }}\n}}\nresource \"aws_ebs_volume\" \"v\" {{\n  for_each = local.m\n  size = each.value.n\n  {TAGS}\n}}\n",
            keys.join(", ")
        ),
    );
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 1, "{:?}", errors(&report));
    assert_eq!(count(&report, "aws-ebs-volume-unencrypted"), 10_000);
}

#[test]
fn counts_past_the_instance_cap_say_what_was_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            "resource \"aws_ebs_volume\" \"v\" {{\n  count = 12000\n  size = 1\n  {TAGS}\n}}\n"
        ),
    );
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 2, "the result is incomplete");
    assert_eq!(count(&report, "aws-ebs-volume-unencrypted"), 10_000);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("12000 instances exceed the limit of 10000")),
        "{errors:?}"
    );
    assert_eq!(report["errors"][0]["span"]["start"]["line"], 2);
}

#[test]
fn nested_counted_modules_stop_at_the_root_budget() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "module \"outer\" {\n  source = \"./outer\"\n  count  = 10000\n}\n",
    );
    write(
        dir.path(),
        "outer/main.tf",
        "module \"inner\" {\n  source = \"../inner\"\n  count  = 10000\n}\n",
    );
    write(
        dir.path(),
        "inner/main.tf",
        &format!(
            "resource \"aws_ebs_volume\" \"v\" {{\n  size = 1\n  encrypted = true\n  {TAGS}\n}}\n"
        ),
    );
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 2);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("the limit of 100000 instances in one root module")),
        "{errors:?}"
    );
}

#[test]
fn a_database_behind_deep_wrapper_modules_is_not_silently_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "module \"w0\" {\n  source = \"./w0\"\n}\n",
    );
    for i in 0..30 {
        write(
            dir.path(),
            &format!("w{i}/main.tf"),
            &format!(
                "module \"w{next}\" {{\n  source = \"../w{next}\"\n}}\n",
                next = i + 1
            ),
        );
    }
    write(
        dir.path(),
        "w30/main.tf",
        "resource \"aws_db_instance\" \"db\" {\n  publicly_accessible = true\n}\n",
    );
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 2, "a hidden database makes the result incomplete");
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("nested more than 24 modules deep")),
        "{errors:?}"
    );
    assert!(
        !errors.iter().any(|e| e.contains("calls itself")),
        "not a cycle: {errors:?}"
    );
}

#[test]
fn a_chain_of_ten_thousand_locals_ends_in_an_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("locals {\n  l0 = false\n");
    for i in 1..10_000 {
        text.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    text.push_str(&format!(
        "}}\nresource \"aws_ebs_volume\" \"v\" {{\n  size = 1\n  encrypted = local.l9999\n  {TAGS}\n}}\n"
    ));
    write(dir.path(), "main.tf", &text);
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 2);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("more than 64 levels deep")),
        "{errors:?}"
    );
    assert_eq!(
        count(&report, "aws-ebs-volume-unencrypted"),
        0,
        "the value is unknown, never a guess"
    );
}

#[test]
fn values_doubled_through_locals_stop_at_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("locals {\n  s0 = \"xxxxxxxxxxxxxxxx\"\n");
    for i in 1..40 {
        text.push_str(&format!(
            "  s{i} = replace(local.s{p}, \"x\", local.s{p})\n",
            p = i - 1
        ));
    }
    text.push_str("}\n");
    text.push_str(&format!(
        "resource \"aws_ebs_volume\" \"v\" {{\n  count = 1000\n  size = 1\n  encrypted = true\n  description = local.s39\n  {TAGS}\n}}\n"
    ));
    write(dir.path(), "main.tf", &text);
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 2);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("within provcheck's limits") && e.contains("replace")),
        "{errors:?}"
    );
}

#[test]
fn a_large_value_copied_into_many_instances_stops_at_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            "locals {{\n  big = format(\"%1000000s\", \"x\")\n}}\nresource \"aws_ebs_volume\" \"v\" {{\n  count = 2000\n  size = 1\n  encrypted = true\n  description = local.big\n  {TAGS}\n}}\n"
        ),
    );
    let (code, report, elapsed) = check(dir.path());
    assert!(elapsed < WALL, "{elapsed:?}");
    assert_eq!(code, 2);
    let errors = errors(&report);
    assert!(errors.iter().any(|e| e.contains("budget")), "{errors:?}");
}
