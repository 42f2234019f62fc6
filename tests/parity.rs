//! `provcheck parity`: whether staging mirrors production (CMP 8.2.8).
//! `tests/data/parity/` holds two environment roots calling one shared
//! module with their own variables: staging lacks production's cache,
//! runs PostgreSQL 15 against production's 16 and leaves its storage
//! unencrypted.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/parity")
        .join(name)
}

/// Runs `provcheck parity ARGS` in `dir`; (standard output, exit code).
fn parity_in(dir: &Path, args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "0")
        .arg("parity")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

fn parity(args: &[&str]) -> (String, i32) {
    parity_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn json_in(dir: &Path, args: &[&str]) -> (Value, i32) {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let (text, code) = parity_in(dir, &args);
    (serde_json::from_str(&text).unwrap(), code)
}

fn json(a: &Path, b: &Path, extra: &[&str]) -> (Value, i32) {
    let mut args = vec![a.to_str().unwrap(), b.to_str().unwrap()];
    args.extend_from_slice(extra);
    json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &args)
}

/// The differences as (address, attribute, staging, production).
fn differences(report: &Value) -> Vec<(String, String, Value, Value)> {
    report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["address"].as_str().unwrap().to_string(),
                d["attribute"].as_str().unwrap().to_string(),
                d["values"]["staging"].clone(),
                d["values"]["production"].clone(),
            )
        })
        .collect()
}

#[test]
fn staging_that_lacks_the_cache_and_encryption_does_not_mirror_production() {
    let (report, code) = json(&data("staging"), &data("production"), &[]);
    assert_eq!(code, 1, "a control verdict and a data store differ");
    assert_eq!(report["version"], 1);
    assert!(report["meta"]["provcheck_version"].is_string());
    assert_eq!(report["reference"], "production");
    let names: Vec<&str> = report["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["production", "staging"]);

    let missing = report["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    let cache = &missing[0];
    assert_eq!(cache["type"], "aws_elasticache_replication_group");
    assert_eq!(cache["address"], "aws_elasticache_replication_group.cache");
    assert_eq!(cache["data_store"], true);
    assert_eq!(cache["present_in"], "production");
    assert_eq!(cache["absent_from"], "staging");
    // The file is shown from its environment's root.
    assert_eq!(cache["file"], "main.tf");

    let controls = report["controls"].as_array().unwrap();
    assert_eq!(controls.len(), 1, "{controls:?}");
    assert_eq!(controls[0]["address"], "module.db.aws_db_instance.main");
    assert_eq!(controls[0]["control"], "encryption-at-rest");
    assert_eq!(
        controls[0]["verdicts"],
        serde_json::json!({"staging": "fail", "production": "pass"})
    );

    // Sizes are left out, and the bucket's `path.module` tag (which only
    // holds the environment's folder) is not compared.
    let db = "module.db.aws_db_instance.main".to_string();
    assert_eq!(
        differences(&report),
        [
            (
                db.clone(),
                "storage_encrypted".into(),
                false.into(),
                true.into()
            ),
            (db, "engine_version".into(), "15.4".into(), "16.2".into()),
        ]
    );
    let version = &report["differences"][1];
    assert_eq!(
        version["note"],
        "major version 15 in staging against 16 in production"
    );
    assert_eq!(report["summary"]["verdict"], "differs");
    assert_eq!(report["summary"]["major_versions"], 1);
}

#[test]
fn all_lists_sizes_and_parity_ignore_drops_attributes() {
    let (report, _) = json(&data("staging"), &data("production"), &["--all"]);
    let size = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["attribute"] == "instance_class")
        .expect("instance_class with --all");
    assert_eq!(size["significance"], "size");
    assert_eq!(size["values"]["staging"], "db.t3.medium");
    assert_eq!(size["values"]["production"], "db.r6g.large");

    // The configuration's parity.ignore, in a repository of its own.
    let dir = tempfile::tempdir().unwrap();
    let top = copy_fixtures(dir.path());
    std::fs::write(
        top.join(".provcheck.yaml"),
        "parity:\n  ignore: [engine_version]\n",
    )
    .unwrap();
    let (report, code) = json_in(&top, &["staging", "production", "--all"]);
    assert_eq!(code, 1);
    let attributes: Vec<String> = differences(&report).into_iter().map(|d| d.1).collect();
    assert_eq!(attributes, ["storage_encrypted", "instance_class"]);
}

/// The fixtures copied into a new git repository under `dir`.
fn copy_fixtures(dir: &Path) -> PathBuf {
    let top = dir.join("repo");
    for sub in ["staging", "production", "modules/db"] {
        std::fs::create_dir_all(top.join("envs").join(sub)).unwrap();
        std::fs::copy(
            data(sub).join("main.tf"),
            top.join("envs").join(sub).join("main.tf"),
        )
        .unwrap();
    }
    gix::init(&top).unwrap();
    top.join("envs")
}

#[test]
fn exit_codes() {
    // An environment against itself mirrors it.
    let (report, code) = json(&data("production"), &data("production"), &[]);
    assert_eq!(code, 0, "{}", report["summary"]);
    assert_eq!(report["summary"]["verdict"], "mirrors");

    // A file that does not parse: exit 2, the comparison incomplete.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("main.tf"), "resource \"x\" {\n").unwrap();
    let (report, code) = json(&broken, &data("production"), &[]);
    assert_eq!(code, 2);
    assert_eq!(report["errors"][0]["environment"], "broken");
    assert_eq!(report["summary"]["verdict"], "incomplete");

    // Bad usage: three folders; one folder without `environments`.
    let p = data("production");
    let p = p.to_str().unwrap();
    assert_eq!(parity(&[p, p, p]).1, 2);
    assert_eq!(parity_in(dir.path(), &[]).1, 2);
    // --name renames them.
    let (report, _) = json(
        &data("staging"),
        &data("production"),
        &["--name", "stage", "--name", "prod"],
    );
    assert_eq!(report["reference"], "prod");
    assert_eq!(report["controls"][0]["verdicts"]["stage"], "fail");
}

#[test]
fn configured_environments_are_compared_against_production() {
    let dir = tempfile::tempdir().unwrap();
    let envs = copy_fixtures(dir.path());
    let top = envs.parent().unwrap();
    std::fs::write(
        top.join(".provcheck.yaml"),
        "environments:\n  staging: envs/staging\n  production: { path: envs/production }\n",
    )
    .unwrap();
    let (report, code) = json_in(top, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["reference"], "production");
    assert_eq!(report["summary"]["controls"], 1);
    assert_eq!(report["summary"]["missing_data_stores"], 1);
    assert_eq!(report["summary"]["major_versions"], 1);

    // The inspection report gains the comparison.
    let out = dir.path().join("report.json");
    let status = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(top)
        .args(["inspect", "--format", "json", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.code().is_some());
    let inspected: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(inspected["parity"]["summary"], report["summary"]);
    let md = dir.path().join("report.md");
    Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(top)
        .args(["inspect", "--format", "markdown", "-o"])
        .arg(&md)
        .status()
        .unwrap();
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("## Environment parity (CMP 8.2.8)"), "{md}");

    // An environment that is not a folder, or no production: exit 2.
    std::fs::write(
        top.join(".provcheck.yaml"),
        "environments:\n  staging: envs/nowhere\n  production: envs/production\n",
    )
    .unwrap();
    assert_eq!(parity_in(top, &[]).1, 2);
    std::fs::write(
        top.join(".provcheck.yaml"),
        "environments:\n  staging: envs/staging\n",
    )
    .unwrap();
    assert_eq!(parity_in(top, &[]).1, 2);
}

#[test]
fn markdown_golden() {
    let (text, code) = parity(&[
        "tests/data/parity/staging",
        "tests/data/parity/production",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 1);
    // Each environment is its own project root: the provenance names
    // the reference's folder.
    let text = text.replace(
        &format!("{}/tests/data/parity/production", support::root()),
        "[root]",
    );
    let text = support::redact_text(&text);
    insta::assert_snapshot!("parity_markdown", text);
}
