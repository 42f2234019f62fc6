//! Every report records its provenance (`meta`): the time (pinned by
//! `SOURCE_DATE_EPOCH`), the version, the rule set's count and digest,
//! the effective configuration, the paths, the project root, and the git
//! commit, branch and dirtiness — read from real work trees made here
//! with git (the test's tool; provcheck itself never runs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const CLEAN: &str = r#"resource "aws_efs_file_system" "shared" {
  encrypted = true
  tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }
}
"#;

/// Runs git in `dir`, with a fixed identity and dates so commits are the
/// same everywhere, and nothing from the user's configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs (the tests need it)");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A committed work tree with one clean Terraform file.
fn repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().canonicalize().unwrap().join("repo");
    std::fs::create_dir_all(repo.join("infra")).unwrap();
    std::fs::write(repo.join("infra/main.tf"), CLEAN).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    (dir, repo)
}

fn provcheck(cwd: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1796515200")
        .output()
        .expect("the binary runs");
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn meta(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let report: Value = serde_json::from_str(&provcheck(cwd, &all)).expect("JSON report");
    report["meta"].clone()
}

#[test]
fn json_records_time_version_rules_paths_root_and_commit() {
    let (_dir, repo) = repo();
    let meta = meta(&repo, &["infra"]);
    assert_eq!(meta["generated_at"], "2026-12-06T00:00:00Z");
    assert_eq!(meta["provcheck_version"], env!("CARGO_PKG_VERSION"));
    assert!(meta["rules"]["count"].as_u64().unwrap() > 10, "{meta}");
    let digest = meta["rules"]["digest"].as_str().unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{meta}"
    );
    assert_eq!(meta["paths"], serde_json::json!(["infra"]));
    assert_eq!(meta["project_root"], repo.to_string_lossy().as_ref());
    let head = git(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(
        meta["git"],
        serde_json::json!({ "commit": head, "branch": "main", "dirty": false })
    );
    assert_eq!(
        meta["config"],
        serde_json::json!({ "file": null, "digest": null, "select": null, "ignore": [],
            "fail_on": "low", "inline_suppressions": true })
    );
}

#[test]
fn dirty_means_tracked_changes_or_untracked_files() {
    let (_dir, repo) = repo();
    let dirty = |repo: &Path| meta(repo, &["infra"])["git"]["dirty"].clone();
    assert_eq!(dirty(&repo), false);
    // A tracked file changed in the work tree.
    std::fs::write(repo.join("infra/main.tf"), format!("{CLEAN}\n")).unwrap();
    assert_eq!(dirty(&repo), true);
    // The same change staged.
    git(&repo, &["add", "infra/main.tf"]);
    assert_eq!(dirty(&repo), true);
    git(&repo, &["commit", "-q", "-m", "second"]);
    assert_eq!(dirty(&repo), false);
    // An untracked file; an ignored one is not.
    std::fs::write(repo.join(".gitignore"), "*.log\n").unwrap();
    git(&repo, &["add", ".gitignore"]);
    git(&repo, &["commit", "-q", "-m", "ignore logs"]);
    std::fs::write(repo.join("run.log"), "x").unwrap();
    assert_eq!(dirty(&repo), false);
    std::fs::write(repo.join("notes.txt"), "x").unwrap();
    assert_eq!(dirty(&repo), true);
}

#[test]
fn a_detached_head_has_no_branch() {
    let (_dir, repo) = repo();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["checkout", "-q", "--detach"]);
    let meta = meta(&repo, &["infra"]);
    assert_eq!(meta["git"]["commit"], head.as_str());
    assert_eq!(meta["git"]["branch"], Value::Null);
}

#[test]
fn a_linked_work_tree_is_read_through_its_git_file() {
    let (dir, repo) = repo();
    let linked = dir.path().canonicalize().unwrap().join("linked");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            &linked.to_string_lossy(),
        ],
    );
    let meta = meta(&linked, &["infra"]);
    assert_eq!(meta["project_root"], linked.to_string_lossy().as_ref());
    assert_eq!(meta["git"]["branch"], "feature");
    assert_eq!(meta["git"]["dirty"], false);
    assert_eq!(
        meta["git"]["commit"],
        git(&repo, &["rev-parse", "HEAD"]).as_str()
    );
}

#[test]
fn the_effective_configuration_and_rule_set_are_recorded() {
    let (_dir, repo) = repo();
    let all = meta(&repo, &["infra"]);
    let config = "select: [aws]\nignore: [aws-owner-tag-missing]\nfail-on: high\n";
    std::fs::write(repo.join(".provcheck.yaml"), config).unwrap();
    let meta = meta(
        &repo,
        &["--fail-on", "medium", "--no-inline-suppressions", "infra"],
    );
    let expected_digest = {
        use sha2::{Digest, Sha256};
        let hex: String = Sha256::digest(config.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    };
    assert_eq!(
        meta["config"],
        serde_json::json!({ "file": ".provcheck.yaml", "digest": expected_digest,
            "select": ["aws"], "ignore": ["aws-owner-tag-missing"],
            "fail_on": "medium", "inline_suppressions": false })
    );
    // The digest is of the rules in force: fewer rules, another digest.
    assert!(meta["rules"]["count"].as_u64() < all["rules"]["count"].as_u64());
    assert_ne!(meta["rules"]["digest"], all["rules"]["digest"]);
    // The same run again gives the same record.
    let again = self::meta(
        &repo,
        &["--fail-on", "medium", "--no-inline-suppressions", "infra"],
    );
    assert_eq!(again["rules"], meta["rules"]);
}

#[test]
fn user_rules_are_counted_and_change_the_digest() {
    let (dir, repo) = repo();
    let builtin = meta(&repo, &["infra"]);
    let rules = dir.path().join("rules/team");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("efs-needs-name.yaml"),
        r#"id: team-efs-name-missing
title: EFS has no Name tag
severity: low
category: baseline
controls: ["CMP 8.3.3"]
target: terraform
resource_types: [aws_efs_file_system]
description: Every file system carries a Name tag.
assert: { required: [tags], properties: { tags: { required: [Name] } } }
message: No Name tag.
remediation: Add a Name tag.
examples:
  pass: ["resource \"aws_efs_file_system\" \"a\" {\n  tags = { Name = \"a\" }\n}\n"]
  fail: [{ line: 1, code: "resource \"aws_efs_file_system\" \"a\" {\n}\n" }]
"#,
    )
    .unwrap();
    let folder = dir.path().join("rules");
    let with_user = meta(&repo, &["--rules", &folder.to_string_lossy(), "infra"]);
    assert_eq!(
        with_user["rules"]["count"].as_u64(),
        builtin["rules"]["count"].as_u64().map(|n| n + 1)
    );
    assert_ne!(with_user["rules"]["digest"], builtin["rules"]["digest"]);
    assert_eq!(
        with_user["rules"]["folders"],
        serde_json::json!([folder.to_string_lossy()])
    );
}

#[test]
fn every_format_carries_the_provenance() {
    let (_dir, repo) = repo();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let short = &head[..12];
    for (format, expected) in [
        ("sarif", format!("\"commit\": \"{head}\"")),
        (
            "sarif",
            "\"endTimeUtc\": \"2026-12-06T00:00:00Z\"".to_string(),
        ),
        (
            "junit",
            format!("<property name=\"provcheck.git.commit\" value=\"{head}\"/>"),
        ),
        (
            "github",
            "::debug::provcheck provenance: {\"generated_at\":\"2026-12-06T00:00:00Z\"".to_string(),
        ),
        (
            "markdown",
            format!("commit {short} on main (clean), 2026-12-06T00:00:00Z"),
        ),
        // A terminal run does not walk the tree for `dirty`.
        (
            "human",
            format!("commit {short} on main, 2026-12-06T00:00:00Z"),
        ),
    ] {
        let text = provcheck(&repo, &["check", "--format", format, "infra"]);
        assert!(
            text.contains(&expected),
            "{format} lacks {expected}:\n{text}"
        );
    }
    let compact = provcheck(&repo, &["check", "--format", "compact", "infra"]);
    assert!(
        !compact.contains("provcheck"),
        "compact is one line a finding: {compact}"
    );
}

#[test]
fn inspect_records_the_provenance_in_every_format() {
    let (dir, repo) = repo();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    for (format, expected) in [
        ("json", format!("\"commit\": \"{head}\"")),
        ("markdown", format!("| git | `{head}` on `main`, clean |")),
        (
            "html",
            format!("<code>{head}</code> on <code>main</code>, clean"),
        ),
    ] {
        let out = dir.path().join(format!("report.{format}"));
        let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .args(["inspect", "--format", format, "--output"])
            .arg(&out)
            .arg("infra")
            .current_dir(&repo)
            .env("SOURCE_DATE_EPOCH", "1796515200")
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(0));
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(&expected), "{format} lacks {expected}");
        assert!(text.contains("2026-12-06T00:00:00Z"), "{format}");
    }
}

#[test]
fn outside_a_work_tree_git_is_null() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("main.tf"), CLEAN).unwrap();
    let meta = meta(&root, &["."]);
    assert_eq!(meta["git"], Value::Null);
    assert_eq!(meta["project_root"], root.to_string_lossy().as_ref());
}

#[test]
fn a_filter_driver_in_the_repository_configuration_never_runs() {
    let (dir, repo) = repo();
    std::fs::write(repo.join(".gitattributes"), "*.tf filter=evil\n").unwrap();
    git(&repo, &["add", ".gitattributes"]);
    git(&repo, &["commit", "-q", "-m", "attributes"]);
    // Set after the commits, so that only provcheck could run it.
    let marker = dir.path().join("ran");
    let command = format!("touch {}", marker.to_string_lossy());
    git(&repo, &["config", "filter.evil.clean", &command]);
    git(&repo, &["config", "filter.evil.required", "true"]);
    // A changed file, whose content a status compares through filters.
    std::fs::write(repo.join("infra/main.tf"), format!("{CLEAN}# edited\n")).unwrap();
    let meta = meta(&repo, &["infra"]);
    assert!(!marker.exists(), "the clean filter ran");
    assert_eq!(meta["git"]["dirty"], true, "{meta}");
}

#[test]
fn a_work_tree_configured_elsewhere_is_not_walked() {
    let (dir, repo) = repo();
    let elsewhere = dir.path().canonicalize().unwrap();
    git(
        &repo,
        &["config", "core.worktree", &elsewhere.to_string_lossy()],
    );
    let meta = meta(&repo, &["infra"]);
    assert_eq!(
        meta["git"]["commit"],
        git(&repo, &["rev-parse", "HEAD"]).as_str()
    );
    // The configured folder holds files git does not track (the work
    // tree itself, for one): walking it would say dirty. Only the project
    // root is walked, or none.
    assert_ne!(meta["git"]["dirty"], true, "{meta}");
}
