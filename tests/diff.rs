//! `provcheck diff`: a change reviewed as the Security Officer reads it
//! (CMP 8.4.2). `tests/data/diff/` holds a base and a head where the head
//! turns storage encryption off on an existing database, opens its port
//! to the world, adds a bucket and fixes the backup retention.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use serde_json::Value;

fn data(side: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diff")
        .join(side)
}

/// Runs `provcheck diff ARGS` in `dir`; (standard output, exit code).
fn diff_in(dir: &Path, args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "0")
        .arg("diff")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

fn diff(args: &[&str]) -> (String, i32) {
    diff_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn json(base: &Path, head: &Path, extra: &[&str]) -> (Value, i32) {
    let mut args = vec![
        base.to_str().unwrap(),
        head.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (text, code) = diff(&args);
    (serde_json::from_str(&text).unwrap(), code)
}

fn rule_ids(list: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn a_change_that_weakens_a_database_is_reported_and_fails() {
    let (report, code) = json(&data("base"), &data("head"), &[]);
    assert_eq!(code, 1, "a control went from pass to fail");
    assert_eq!(report["version"], 1);
    assert!(report["meta"]["provcheck_version"].is_string());

    let findings = &report["findings"];
    assert_eq!(
        rule_ids(&findings["added"]),
        [
            "aws-database-reachable-from-internet",
            "aws-rds-storage-unencrypted",
            "aws-s3-bucket-not-kms-encrypted",
            "aws-s3-bucket-public-access-not-blocked",
            "aws-security-group-open-database-port",
        ]
    );
    assert_eq!(
        rule_ids(&findings["resolved"]),
        ["aws-rds-backup-retention-short"]
    );
    assert_eq!(findings["unchanged"], 0);
    // Matched by fingerprint, never by line: the added findings carry the
    // head's lines, the resolved one the base's.
    let unencrypted = findings["added"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "aws-rds-storage-unencrypted")
        .unwrap();
    assert_eq!(unencrypted["file"], "main.tf");
    assert_eq!(unencrypted["span"]["start"]["line"], 41);

    let stores = &report["data_stores"];
    assert_eq!(stores["added"][0]["address"], "aws_s3_bucket.exports");
    assert_eq!(stores["added"].as_array().unwrap().len(), 1);
    assert_eq!(stores["removed"], Value::Array(vec![]));
    let changed: Vec<(String, String, String, bool)> = stores["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["address"], "aws_db_instance.orders");
            (
                c["control"].as_str().unwrap().to_string(),
                c["before"].as_str().unwrap().to_string(),
                c["after"].as_str().unwrap().to_string(),
                c["weakened"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("encryption-at-rest", "pass", "fail", true),
        ("private-network", "pass", "fail", true),
        ("backup", "fail", "pass", false),
    ];
    assert_eq!(
        changed,
        expected.map(|(c, b, a, w)| (c.to_string(), b.to_string(), a.to_string(), w))
    );
    // Each weakened control cites the head's findings behind it.
    for c in stores["changed"].as_array().unwrap().iter().take(2) {
        assert!(!c["findings"].as_array().unwrap().is_empty(), "{c}");
    }

    let exposed: Vec<(&str, &str)> = report["exposure"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["address"].as_str().unwrap()))
        .collect();
    assert!(
        exposed.contains(&("security-group-rule", "aws_security_group.db")),
        "{exposed:?}"
    );
    assert_eq!(report["exposure"]["removed"], Value::Array(vec![]));

    let resources = &report["resources"];
    assert_eq!(resources["added"][0]["address"], "aws_s3_bucket.exports");
    let changed: Vec<&str> = resources["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert!(changed.contains(&"aws_db_instance.orders"), "{changed:?}");
    assert!(changed.contains(&"aws_security_group.db"), "{changed:?}");

    // The tickets covering what the change touches (default_tags merged).
    let approvals = report["approvals"].as_array().unwrap();
    assert!(approvals.len() >= 3);
    for a in approvals {
        assert_eq!(a["change_request"], "OPS-142", "{a}");
        assert_eq!(a["approved_by"], "cto@example.com", "{a}");
    }

    let summary = &report["summary"];
    assert_eq!(summary["verdict"], "weakens");
    assert_eq!(summary["controls_weakened"], 2);
    assert_eq!(summary["controls_strengthened"], 1);
    assert_eq!(summary["findings_added"], 5);
    assert_eq!(summary["findings_resolved"], 1);
}

#[test]
fn exit_codes_follow_fail_on_and_weakened_controls() {
    // Backwards, the change adds one high finding, and the backup
    // control goes from pass to fail: that fails the run whatever
    // --fail-on says.
    let (report, code) = json(&data("head"), &data("base"), &["--fail-on", "critical"]);
    assert_eq!(code, 1, "{}", report["summary"]);
    assert_eq!(
        rule_ids(&report["findings"]["added"]),
        ["aws-rds-backup-retention-short"]
    );
    let backup = report["data_stores"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["control"] == "backup")
        .unwrap();
    assert_eq!(
        (&backup["before"], &backup["after"]),
        (&"pass".into(), &"fail".into())
    );

    // A change that only adds a bucket (high and low findings, no control
    // of an existing store changed): --fail-on decides.
    let dir = tempfile::tempdir().unwrap();
    let more = dir.path().join("more");
    std::fs::create_dir(&more).unwrap();
    let head = std::fs::read_to_string(data("head").join("main.tf")).unwrap();
    std::fs::write(
        more.join("main.tf"),
        format!("{head}\nresource \"aws_s3_bucket\" \"logs\" {{\n  bucket = \"logs\"\n}}\n"),
    )
    .unwrap();
    let (report, code) = json(&data("head"), &more, &[]);
    assert_eq!(code, 1, "{}", report["summary"]);
    let (report, code) = json(&data("head"), &more, &["--fail-on", "critical"]);
    assert_eq!(code, 0, "{}", report["summary"]);
    assert_eq!(report["summary"]["findings_added"], 2);
    // The head's findings match across the two folders by fingerprint.
    assert_eq!(report["summary"]["findings_unchanged"], 5);
    assert_eq!(report["summary"]["findings_resolved"], 0);

    // The same tree on both sides: nothing changed.
    let (report, code) = json(&data("head"), &data("head"), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["verdict"], "neutral");
    assert_eq!(report["summary"]["findings_unchanged"], 5);

    // A file that does not parse on either side: exit 2.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("main.tf"), "resource \"x\" {\n").unwrap();
    let (report, code) = json(&data("head"), &broken, &[]);
    assert_eq!(code, 2);
    assert_eq!(report["errors"][0]["side"], "head");
    assert_eq!(report["summary"]["verdict"], "incomplete");

    // Bad usage: one folder without --git.
    let (_, code) = diff(&[data("head").to_str().unwrap()]);
    assert_eq!(code, 2);
}

#[test]
fn sarif_holds_only_the_added_findings() {
    let (text, code) = diff(&[
        data("base").to_str().unwrap(),
        data("head").to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&text).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results
        .iter()
        .all(|r| r["ruleId"] != "aws-rds-backup-retention-short"));
}

#[test]
fn markdown_comment_golden() {
    let (text, _) = diff(&[
        "tests/data/diff/base",
        "tests/data/diff/head",
        "--format",
        "markdown",
    ]);
    assert!(text.len() < 60_000);
    let text = support::redact_text(&text);
    insta::assert_snapshot!("diff_markdown", text);
}

#[test]
fn the_markdown_comment_stays_under_the_limit() {
    // 400 new databases, each failing several rules.
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = (dir.path().join("base"), dir.path().join("head"));
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&head).unwrap();
    support::many_findings(&head, 400);
    let (text, code) = diff(&[
        base.to_str().unwrap(),
        head.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 1);
    assert!(text.len() < 60_000, "{} characters", text.len());
    assert!(text.contains("more, left out to keep this comment short"));
    assert!(text.starts_with("## provcheck: ⚠️ protection weakened"));
}

/// Writes `files` as a commit on HEAD of the repository at `dir`, with
/// `parent` as its parent; returns the commit's id.
fn commit(
    repo: &gix::Repository,
    files: &[(&str, &str)],
    parent: Option<gix::ObjectId>,
) -> gix::ObjectId {
    let mut tree = repo
        .edit_tree(gix::ObjectId::empty_tree(gix::hash::Kind::Sha1))
        .unwrap();
    for (path, text) in files {
        let blob = repo.write_blob(text.as_bytes()).unwrap();
        tree.upsert(*path, gix::object::tree::EntryKind::Blob, blob)
            .unwrap();
    }
    let tree = tree.write().unwrap();
    let who = gix::actor::SignatureRef {
        name: "Test".into(),
        email: "test@example.com".into(),
        time: "1700000000 +0000",
    };
    repo.commit_as(who, who, "HEAD", "change", tree, parent)
        .unwrap()
        .detach()
}

#[test]
fn diff_against_a_git_revision_reads_the_object_store() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("repo");
    std::fs::create_dir(&top).unwrap();
    let repo = gix::init(&top).unwrap();
    let base = std::fs::read_to_string(data("base").join("main.tf")).unwrap();
    let head = std::fs::read_to_string(data("head").join("main.tf")).unwrap();
    let first = commit(&repo, &[("infra/main.tf", &base)], None);
    commit(&repo, &[("infra/main.tf", &head)], Some(first));
    // The work tree holds the head; an untracked file is part of it too.
    std::fs::create_dir(top.join("infra")).unwrap();
    std::fs::write(top.join("infra/main.tf"), &head).unwrap();

    let (text, code) = diff_in(&top, &["--git", "HEAD~1", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["base"]["label"], "HEAD~1");
    assert_eq!(report["base"]["commit"], first.to_string());
    assert_eq!(report["summary"]["findings_added"], 5);
    assert_eq!(report["summary"]["findings_resolved"], 1);
    assert_eq!(report["summary"]["controls_weakened"], 2);
    // Paths are the repository's on both sides.
    assert_eq!(report["findings"]["added"][0]["file"], "infra/main.tf");
    assert_eq!(report["findings"]["resolved"][0]["file"], "infra/main.tf");

    // A path the revision does not have yet: everything under it is new.
    std::fs::create_dir(top.join("new")).unwrap();
    std::fs::write(top.join("new/main.tf"), &head).unwrap();
    let (text, _) = diff_in(&top, &["--git", "HEAD", "new", "--format", "json"]);
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["summary"]["findings_resolved"], 0);
    assert_eq!(report["summary"]["findings_added"], 5);
    assert_eq!(report["summary"]["data_stores_added"], 2);

    // The work tree is untouched: no file was checked out into it.
    let mut names: Vec<String> = std::fs::read_dir(&top)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".git", "infra", "new"]);

    // A blob missing from the object store (a partial clone) is left
    // out, and said so; the rest is compared.
    // Trees written by hand: the tree editor refuses absent objects.
    use gix::objs::tree::{Entry, EntryKind};
    let absent = gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
    let main_tf = repo.write_blob(head.as_bytes()).unwrap().detach();
    let infra = gix::objs::Tree {
        entries: vec![
            Entry {
                mode: EntryKind::Blob.into(),
                filename: "backup.zip".into(),
                oid: absent,
            },
            Entry {
                mode: EntryKind::Blob.into(),
                filename: "main.tf".into(),
                oid: main_tf,
            },
        ],
    };
    let infra = repo.write_object(&infra).unwrap().detach();
    let root = gix::objs::Tree {
        entries: vec![Entry {
            mode: EntryKind::Tree.into(),
            filename: "infra".into(),
            oid: infra,
        }],
    };
    let tree = repo.write_object(&root).unwrap().detach();
    let who = gix::actor::SignatureRef {
        name: "Test".into(),
        email: "test@example.com".into(),
        time: "1700000000 +0000",
    };
    let parent = repo.head_id().unwrap().detach();
    repo.commit_as(who, who, "HEAD", "partial", tree, [parent])
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(&top)
        .args(["diff", "--git", "HEAD", "infra", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("left out infra/backup.zip: not in the object store"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["findings_unchanged"], 5, "{stderr}");

    // A revision that does not exist is an error, not an empty base.
    let (_, code) = diff_in(&top, &["--git", "no-such-branch"]);
    assert_eq!(code, 2);
}
