//! The CI and pre-commit workflow, through the binary: configuration file,
//! waivers, baselines, thresholds, several reports in one run, and
//! checking named files with their folder for context.

use std::path::Path;
use std::process::{Command, Output};

fn provcheck_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PROVCHECK_TODAY", "2026-11-23")
        .output()
        .expect("the binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const TAGS: &str = r#"tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }"#;

fn volume(name: &str, encrypted: bool) -> String {
    format!(
        "resource \"aws_ebs_volume\" \"{name}\" {{\n  availability_zone = \"eu-west-1a\"\n  encrypted = {encrypted}\n  {TAGS}\n}}\n"
    )
}

/// A repository with one finding in db/, one in vendor/ and a clean app/.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "db/main.tf", &volume("data", false));
    write(dir.path(), "vendor/mod/main.tf", &volume("vendored", false));
    write(dir.path(), "app/main.tf", &volume("app", true));
    dir
}

fn compact(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["check", "--format", "compact"];
    args.extend_from_slice(extra);
    let out = provcheck_in(dir, &args);
    (code(&out), stdout(&out) + &stderr(&out))
}

#[test]
fn config_excludes_paths_selects_rules_and_overrides_severity() {
    let dir = repo();
    write(
        dir.path(),
        ".provcheck.yaml",
        "exclude: [\"vendor/**\"]\nseverity:\n  aws-ebs-volume-unencrypted: low\nfail-on: medium\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert!(
        out.contains("db/main.tf:3:3: low aws-ebs-volume-unencrypted"),
        "{out}"
    );
    assert!(!out.contains("vendor"), "{out}");
    // The only finding is below the configured threshold.
    assert_eq!(code, 0, "{out}");
    // The command line's threshold wins over the file's.
    let (code, _) = compact(dir.path(), &["--fail-on", "low", "."]);
    assert_eq!(code, 1);

    write(
        dir.path(),
        ".provcheck.yaml",
        "ignore: [encryption-at-rest]\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn config_errors_point_at_their_line() {
    let dir = repo();
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [aws]\nfail-on: sometimes\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 2);
    assert!(
        out.contains(".provcheck.yaml:2:1: error invalid configuration at `/fail-on`"),
        "{out}"
    );

    write(
        dir.path(),
        ".provcheck.yaml",
        "ignore:\n  - aws-ebs-volume-unencrypetd\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 2);
    assert!(
        out.contains(".provcheck.yaml:2:5: error `aws-ebs-volume-unencrypetd` is not a rule id"),
        "{out}"
    );
}

#[test]
fn approval_tags_can_be_renamed_in_the_config() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "resource \"aws_sns_topic\" \"b\" {\n  tags = { cr = \"ops-7\", approved_by = \"cto\", owner = \"a\" }\n  kms_master_key_id = \"alias/aws/sns\"\n}\n",
    );
    write(
        dir.path(),
        ".provcheck.yaml",
        "approval-tags:\n  change-request: { name: cr, pattern: \"^[a-z]+-[0-9]+$\" }\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!((code, out.as_str()), (0, ""));
    write(
        dir.path(),
        ".provcheck.yaml",
        "approval-tags:\n  change-request: { name: cr }\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert!(
        out.contains("main.tf:2:12: high aws-change-request-tag-missing"),
        "{out}"
    );
    assert!(out.contains("`cr` = \"ops-7\" does not match"), "{out}");
}

#[test]
fn approval_tags_map_to_lowercase_gcp_labels_and_keep_their_provider() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "resource \"google_pubsub_topic\" \"t\" {\n  labels = { ticket = \"sec-42\", approved_by = \"jdoe\", owner = \"a\" }\n}\n\
         resource \"azurerm_resource_group\" \"g\" {\n  tags = { Ticket = \"SEC-42\", approved_by = \"cto\", owner = \"a\" }\n}\n\
         resource \"aws_sns_topic\" \"s\" {\n  tags = { Ticket = \"SEC-42\", approved_by = \"cto\", owner = \"a\" }\n}\n",
    );
    // One setting serves AWS and Azure tags and GCP labels: the label's
    // name is lowercased and its value matched ignoring case.
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [approval]\napproval-tags:\n  change-request: { name: Ticket, pattern: \"^SEC-[0-9]+$\" }\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!((code, out.as_str()), (0, ""));

    // Narrowing the types keeps each approval rule to its own provider's:
    // the Azure and AWS rules keep their listed type, the GCP rule has none.
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [approval]\napproval-tags:\n  resource-types: [azurerm_resource_group, aws_sqs_queue]\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("main.tf:5:3: high azure-change-request-tag-missing"),
        "{out}"
    );
    assert!(!out.contains("gcp-"), "{out}");
    assert!(!out.contains("aws-"), "{out}");
}

#[test]
fn waivers_suppress_with_an_audit_trail_and_expire() {
    let dir = repo();
    write(
        dir.path(),
        ".provcheck-waivers.yaml",
        r#"waivers:
  - rule: aws-ebs-volume-unencrypted
    path: "vendor/**"
    status: accepted-risk
    reason: third-party module, encryption enforced by account default
    approver: cto@example.com
    ticket: SEC-9
  - rule: aws-ebs-volume-unencrypted
    resource: aws_ebs_volume.data
    status: accepted-risk
    reason: migration window
    approver: cto@example.com
    expires: 2025-01-31
  - rule: aws-efs-unencrypted
    resource: "*"
    status: unused
    reason: no EFS any more
"#,
    );
    let out = provcheck_in(dir.path(), &["check", "--format", "json", "."]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<(&str, &str)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule_id"].as_str().unwrap(), f["file"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("provcheck-suppression-expired", ".provcheck-waivers.yaml"),
            ("provcheck-suppression-unused", ".provcheck-waivers.yaml"),
            ("aws-ebs-volume-unencrypted", "db/main.tf"),
        ],
        "{json:#}"
    );
    let suppressed = &json["suppressed"][0];
    assert_eq!(suppressed["rule_id"], "aws-ebs-volume-unencrypted");
    assert_eq!(suppressed["file"], "vendor/mod/main.tf");
    assert_eq!(suppressed["suppression"]["source"], "waiver");
    assert_eq!(suppressed["suppression"]["status"], "accepted-risk");
    assert_eq!(suppressed["suppression"]["approver"], "cto@example.com");
    assert_eq!(suppressed["suppression"]["ticket"], "SEC-9");
    assert_eq!(code(&out), 1);
}

#[test]
fn each_suppressed_finding_keeps_what_suppressed_it() {
    // Findings suppressed by each source, between findings that stay:
    // every one is paired with its own suppression.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "f5/main.tf", &volume("five", false));
    let out = provcheck_in(dir.path(), &["baseline", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for (n, name) in [(1, "one"), (3, "three"), (4, "four")] {
        write(dir.path(), &format!("f{n}/main.tf"), &volume(name, false));
    }
    write(
        dir.path(),
        "f2/main.tf",
        &format!(
            "# provcheck:ignore aws-ebs-volume-unencrypted status=accepted-risk reason=\"scratch\"\n{}",
            volume("two", false)
        ),
    );
    write(
        dir.path(),
        ".provcheck-waivers.yaml",
        "waivers:\n  - rule: aws-ebs-volume-unencrypted\n    path: \"f4/**\"\n    status: accepted-risk\n    reason: test\n    approver: cto@example.com\n    ticket: SEC-1\n",
    );
    let out = provcheck_in(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--baseline",
            ".provcheck-baseline.json",
            ".",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let files = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        files(&json["findings"]),
        ["f1/main.tf", "f3/main.tf"],
        "{json:#}"
    );
    let suppressed: Vec<(String, String)> = json["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["suppression"]["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("f2/main.tf", "inline"),
        ("f4/main.tf", "waiver"),
        ("f5/main.tf", "baseline"),
    ]
    .map(|(f, s)| (f.to_string(), s.to_string()));
    assert_eq!(suppressed, expected, "{json:#}");
}

#[test]
fn inline_suppressions_can_be_switched_off_for_reviews() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "# provcheck:ignore aws-ebs-volume-unencrypted status=accepted-risk reason=\"scratch\"\n{}",
        volume("scratch", false)
    );
    write(dir.path(), "main.tf", &text);
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "main.tf:4:3: suppressed(inline accepted-risk) aws-ebs-volume-unencrypted EBS volume is not encrypted at rest (encrypted = false) (aws_ebs_volume.scratch)\n"
    );
    let out = provcheck_in(dir.path(), &["check", "."]);
    assert!(stdout(&out).contains("1 suppressed"), "{}", stdout(&out));
    let (code, out) = compact(dir.path(), &["--no-inline-suppressions", "."]);
    assert_eq!(code, 1);
    assert!(
        out.contains("main.tf:4:3: high aws-ebs-volume-unencrypted"),
        "{out}"
    );
}

#[test]
fn a_baseline_hides_known_findings_only() {
    let dir = repo();
    let out = provcheck_in(dir.path(), &["baseline", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote 2 findings"),
        "{}",
        stderr(&out)
    );
    let (code, out) = compact(dir.path(), &["--baseline", ".provcheck-baseline.json", "."]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(": suppressed(baseline"))
            .count(),
        2,
        "{out}"
    );
    // Moving lines and scanning from elsewhere keeps fingerprints.
    write(
        dir.path(),
        "db/main.tf",
        &format!("\n\n# moved down\n{}", volume("data", false)),
    );
    let db = dir.path().join("db");
    let (code, out) = compact(&db, &["--baseline", "../.provcheck-baseline.json", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().all(|l| l.contains(": suppressed(baseline")),
        "{out}"
    );
    // A new finding is reported.
    write(dir.path(), "db/extra.tf", &volume("extra", false));
    let (code, out) = compact(dir.path(), &["--baseline", ".provcheck-baseline.json", "."]);
    assert_eq!(code, 1);
    let reported: Vec<&str> = out
        .lines()
        .filter(|l| !l.contains(": suppressed("))
        .collect();
    assert_eq!(reported.len(), 1, "{out}");
    assert!(reported[0].starts_with("db/extra.tf:3:3"), "{out}");
}

#[test]
fn several_reports_in_one_run() {
    let dir = repo();
    let out = provcheck_in(
        dir.path(),
        &[
            "check", "--format", "json", "--output", "r.json", "--format", "compact", "--format",
            "sarif", "-o", "r.sarif", "db",
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).starts_with("db/main.tf:3:3: high"),
        "{}",
        stdout(&out)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["findings"], 1);
    let sarif = std::fs::read_to_string(dir.path().join("r.sarif")).unwrap();
    assert!(sarif.contains("\"version\": \"2.1.0\""), "{sarif}");
    let out = provcheck_in(
        dir.path(),
        &["check", "--format", "json", "--format", "compact", "db"],
    );
    assert_eq!(code(&out), 2, "two reports on standard output are refused");
}

#[test]
fn named_files_are_checked_in_context_but_only_their_findings_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mod/a.tf", &volume("a", false));
    write(dir.path(), "mod/b.tf", &volume("b", false));
    write(dir.path(), "mod/notes.md", "not terraform");
    let (code, out) = compact(dir.path(), &["mod/a.tf", "mod/notes.md"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["mod/a.tf:3:3: high aws-ebs-volume-unencrypted EBS volume is not encrypted at rest (encrypted = false) (aws_ebs_volume.a)"], "{out}");
    // A broken sibling does not fail the named file's check.
    write(dir.path(), "mod/c.tf", "resource {");
    let (code, _) = compact(dir.path(), &["mod/a.tf"]);
    assert_eq!(code, 1);
}

#[test]
fn named_files_keep_the_errors_that_are_not_about_their_context() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mod/a.tf", &volume("a", false));
    write(dir.path(), "mod/c.tf", "resource {");
    write(dir.path(), "broken-baseline.json", "{");
    for (args, error) in [
        (
            &["mod/a.tf", "missing.tf"][..],
            "missing.tf: error no such file or folder",
        ),
        (
            &["--baseline", "broken-baseline.json", "mod/a.tf"],
            "broken-baseline.json",
        ),
        (
            &["--var-file", "missing.tfvars", "mod/a.tf"],
            "missing.tfvars: error cannot read the variables file",
        ),
    ] {
        let (code, out) = compact(dir.path(), args);
        assert_eq!(code, 2, "check {args:?}: {out}");
        assert!(out.contains(error), "check {args:?}: {out}");
        assert!(!out.contains("mod/c.tf"), "check {args:?}: {out}");
    }
}

/// A tree with findings in Terraform, compose and a Dockerfile.
fn overlapping_tree() -> tempfile::TempDir {
    let dir = repo();
    write(
        dir.path(),
        "app/compose.yaml",
        "services:\n  db:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n",
    );
    write(
        dir.path(),
        "app/Dockerfile",
        "FROM nginx:1.27\nRUN apt-get install -y postgresql\n",
    );
    dir
}

/// What `check --format json` says: each finding's file, rule and
/// fingerprint, in order, and the summary.
fn findings_and_summary(dir: &Path, paths: &[&str]) -> (Vec<[String; 3]>, serde_json::Value) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(paths);
    let out = provcheck_in(dir, &args);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    let findings = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| ["file", "rule_id", "fingerprint"].map(|k| f[k].as_str().unwrap().to_string()))
        .collect();
    (findings, json["summary"].clone())
}

#[test]
fn overlapping_paths_give_each_file_and_finding_once() {
    let dir = overlapping_tree();
    #[cfg(unix)]
    std::os::unix::fs::symlink("db", dir.path().join("db-link")).unwrap();
    let (whole, summary) = findings_and_summary(dir.path(), &["."]);
    assert!(whole.len() >= 4, "{whole:?}");
    assert_eq!(summary["files"], 5, "{summary}");
    let rule_and_fingerprint = |findings: &[[String; 3]]| -> Vec<[String; 2]> {
        let mut out: Vec<[String; 2]> = findings
            .iter()
            .map(|[_, r, f]| [r.clone(), f.clone()])
            .collect();
        out.sort();
        out
    };
    let mut overlaps: Vec<&[&str]> = vec![
        &["db", "."],
        &[".", "db"],
        &[".", "./"],
        &["app", "app/compose.yaml", "."],
        &["db/main.tf", "."],
        &[".", "db/main.tf", "db/../db/main.tf"],
    ];
    if cfg!(unix) {
        overlaps.push(&["db-link", "."]);
        overlaps.push(&["db-link/main.tf", "db"]);
    }
    for paths in overlaps {
        let (findings, overlapping) = findings_and_summary(dir.path(), paths);
        if paths.contains(&".") {
            assert_eq!(overlapping, summary, "check {paths:?}");
            assert_eq!(
                rule_and_fingerprint(&findings),
                rule_and_fingerprint(&whole),
                "check {paths:?}"
            );
        } else {
            let (alone, alone_summary) = findings_and_summary(dir.path(), &["db"]);
            assert_eq!(overlapping, alone_summary, "check {paths:?}");
            assert_eq!(findings.len(), alone.len(), "check {paths:?}: {findings:?}");
        }
    }
    // A file reached twice is reported once, shown from the project
    // root however it was reached.
    let (findings, _) = findings_and_summary(dir.path(), &["db/../db", "."]);
    let in_db = findings
        .iter()
        .filter(|[file, rule, _]| file == "db/main.tf" && rule == "aws-ebs-volume-unencrypted")
        .count();
    assert_eq!(in_db, 1, "{findings:?}");
}

#[cfg(unix)]
#[test]
fn a_link_beside_the_file_it_points_to_is_that_file() {
    let dir = overlapping_tree();
    let (whole, summary) = findings_and_summary(dir.path(), &["."]);
    std::os::unix::fs::symlink("main.tf", dir.path().join("db/a-link.tf")).unwrap();
    std::os::unix::fs::symlink("Dockerfile", dir.path().join("app/Dockerfile.linked")).unwrap();
    // The real file wins over a link to it, whatever their names.
    assert_eq!(findings_and_summary(dir.path(), &["."]), (whole, summary));
    // Named, the link is the file, reported under the name given.
    let (code, out) = compact(dir.path(), &["db/a-link.tf", "db/main.tf"]);
    assert_eq!(code, 1);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["db/a-link.tf:3:3: high aws-ebs-volume-unencrypted EBS volume is not encrypted at rest (encrypted = false) (aws_ebs_volume.data)"],
        "{out}"
    );
}

#[test]
fn production_findings_are_raised_in_severity() {
    let dir = repo();
    write(
        dir.path(),
        "envs/production/main.tf",
        &volume("prod", false).replace(
            "owner = \"team-a\"",
            "owner = \"team-a\", environment = \"staging\"",
        ),
    );
    write(
        dir.path(),
        "app/tagged.tf",
        "resource \"aws_efs_file_system\" \"prod\" {\n  tags = { change_request = \"OPS-1\", approved_by = \"cto\", owner = \"a\", environment = \"production\" }\n}\n",
    );
    write(
        dir.path(),
        ".provcheck.yaml",
        "exclude: [\"vendor/**\"]\nproduction:\n  paths: [\"envs/production/**\"]\n  tags: { environment: [production, prod] }\n  raise-severity: 1\n",
    );
    let (_, out) = compact(dir.path(), &["."]);
    assert!(
        out.contains("envs/production/main.tf:3:3: critical aws-ebs-volume-unencrypted"),
        "{out}"
    );
    assert!(
        out.contains("app/tagged.tf:1:1: critical aws-efs-unencrypted"),
        "{out}"
    );
    assert!(
        out.contains("db/main.tf:3:3: high aws-ebs-volume-unencrypted"),
        "{out}"
    );
}

/// The `ephi` section re-keys the marker, lists untaggable stores and
/// replaces the allowed stores; its mistakes are errors at their line.
#[test]
fn config_ephi_changes_marker_and_allowed_stores() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            r#"resource "aws_db_instance" "records" {{
  engine = "postgres"
  tags = merge({{ classification = "PHI" }}, {{ {inner} }})
}}
resource "aws_dynamodb_table" "sessions" {{
  name = "sessions"
  {TAGS}
}}
resource "aws_s3_bucket" "exports" {{
  bucket = "exports"
  tags = {{ classification = "phi", {inner} }}
}}
"#,
            inner = TAGS
                .trim_start_matches("tags = {")
                .trim_end_matches('}')
                .trim()
        ),
    );
    let ephi = "aws-ephi-store-outside-aptible";
    // Defaults: nothing carries `data_classification = ephi`.
    let (_, out) = compact(dir.path(), &["."]);
    assert!(!out.contains(ephi), "{out}");

    write(
        dir.path(),
        ".provcheck.yaml",
        "ephi:\n  keys: [classification]\n  values: [phi]\n  resources: [aws_dynamodb_table.*]\n  allowed:\n    - { type: aws_db_instance, engine: [postgres] }\n",
    );
    let (_, out) = compact(dir.path(), &["."]);
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(ephi)).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines.iter().any(|l| l.starts_with("main.tf:5:")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("main.tf:11:")), "{out}");

    write(
        dir.path(),
        ".provcheck.yaml",
        "ephi:\n  allowed:\n    - { kind: aptible_database }\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(".provcheck.yaml:3:"), "{out}");
}

/// The `ephi` section's glob and engine mistakes are errors at the item's
/// own line, and an Aptible database left at the provider's default type
/// (PostgreSQL) is an allowed ePHI store.
#[test]
fn config_ephi_mistakes_point_at_their_item() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(
        dir.path(),
        "main.tf",
        "# policy: data_classification=ephi change_request=OPS-1 approved_by=cto owner=team\nresource \"aptible_database\" \"records\" {\n  env_id = 7\n  handle = \"records\"\n}\n",
    );
    let ephi = "aws-ephi-store-outside-aptible";
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!((code, out.as_str()), (0, ""), "{out}");

    write(
        dir.path(),
        ".provcheck.yaml",
        "ephi:\n  resources:\n    - aws_ebs_volume.*\n    - \"aws_s3_bucket.[\"\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(".provcheck.yaml:4:7: error invalid glob `aws_s3_bucket.[`"),
        "{out}"
    );

    write(
        dir.path(),
        ".provcheck.yaml",
        "ephi:\n  allowed:\n    - { type: aptible_database, engine: [postgresql] }\n    - type: aws_s3_bucket\n      engine: [s3]\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(".provcheck.yaml:5:7: error `aws_s3_bucket` has no engine attribute"),
        "{out}"
    );

    // Only MySQL is allowed now: the default-typed database is outside.
    write(
        dir.path(),
        ".provcheck.yaml",
        "ephi:\n  allowed:\n    - { type: aptible_database, engine: [MySQL] }\n",
    );
    let (code, out) = compact(dir.path(), &["."]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("main.tf:2:1: critical {ephi}")),
        "{out}"
    );
    assert!(out.contains("of type `postgresql`"), "{out}");
}

/// A compliant database but for `storage_encrypted = {encrypted}`.
fn database(name: &str, encrypted: &str) -> String {
    format!(
        "resource \"aws_db_instance\" \"{name}\" {{\n  engine = \"postgres\"\n  engine_version = \"16.3\"\n  storage_encrypted = {encrypted}\n  backup_retention_period = 7\n  enabled_cloudwatch_logs_exports = [\"postgresql\"]\n  {TAGS}\n}}\n"
    )
}

/// `check --format json ARGS`: the exit code, and each finding as
/// `file:line rule_id` followed by its related places as `file:line`.
fn staged(dir: &Path, args: &[&str]) -> (i32, Vec<String>, serde_json::Value) {
    // As the pre-commit hook runs it (.pre-commit-hooks.yaml).
    let mut all = vec!["check", "--format", "json", "--allow-empty"];
    all.extend_from_slice(args);
    let out = provcheck_in(dir, &all);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    let findings = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut line = format!(
                "{}:{} {}",
                f["file"].as_str().unwrap(),
                f["span"]["start"]["line"],
                f["rule_id"].as_str().unwrap()
            );
            for r in f["related"].as_array().unwrap() {
                line.push_str(&format!(
                    " <- {}:{}",
                    r["file"].as_str().unwrap(),
                    r["span"]["start"]["line"]
                ));
            }
            line
        })
        .collect();
    (code(&out), findings, json)
}

/// A staged variables file or tfvars file that turns encryption off is
/// caught, though the finding is located in main.tf: its provenance
/// names the staged file.
#[test]
fn staged_variable_and_tfvars_files_report_the_findings_they_cause() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "db/main.tf", &database("db", "var.enc"));
    write(
        dir.path(),
        "db/variables.tf",
        "variable \"enc\" {\n  type    = bool\n  default = false\n}\n",
    );
    let (code, found, _) = staged(dir.path(), &["db/variables.tf"]);
    assert_eq!(
        (code, found),
        (
            1,
            vec!["db/main.tf:4 aws-rds-storage-unencrypted <- db/variables.tf:3".to_string()]
        )
    );

    // The default is safe; terraform.tfvars turns it off.
    write(
        dir.path(),
        "db/variables.tf",
        "variable \"enc\" {\n  type    = bool\n  default = true\n}\n",
    );
    let (code, found, _) = staged(dir.path(), &["db/variables.tf"]);
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    write(dir.path(), "db/terraform.tfvars", "enc = false\n");
    let (code, found, _) = staged(dir.path(), &["db/terraform.tfvars"]);
    assert_eq!(
        (code, found),
        (
            1,
            vec!["db/main.tf:4 aws-rds-storage-unencrypted <- db/terraform.tfvars:1".to_string()]
        )
    );
}

/// A tfvars file Terraform reads only when told to: naming it is
/// telling, as `--var-file` is, for its own folder.
#[test]
fn named_tfvars_files_apply_to_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), "db/main.tf", &database("db", "var.enc"));
    write(
        dir.path(),
        "db/variables.tf",
        "variable \"enc\" {\n  type    = bool\n  default = true\n}\n",
    );
    write(dir.path(), "db/prod.tfvars", "enc = false\n");
    let (code, found, _) = staged(dir.path(), &["db/prod.tfvars"]);
    assert_eq!(
        (code, found),
        (
            1,
            vec!["db/main.tf:4 aws-rds-storage-unencrypted <- db/prod.tfvars:1".to_string()]
        )
    );
    // Where no root module reads it, a note says so.
    write(dir.path(), "stray/prod.tfvars", "enc = false\n");
    let (code, found, json) = staged(dir.path(), &["stray/prod.tfvars"]);
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    assert_eq!(json["notes"][0]["file"], "stray/prod.tfvars", "{json:#}");
}

/// A staged file in a child module is evaluated through the folders that
/// call it, as `check .` evaluates it, not with the module's defaults.
#[test]
fn staged_module_files_are_evaluated_through_their_callers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let module = |default: bool| {
        format!(
            "variable \"encrypted\" {{\n  type    = bool\n  default = {default}\n}}\n{}",
            database("this", "var.encrypted")
        )
    };
    let caller = |encrypted: bool| {
        format!(
            "module \"db\" {{\n  source    = \"../../modules/db\"\n  encrypted = {encrypted}\n}}\n"
        )
    };
    write(dir.path(), "modules/db/main.tf", &module(true));
    write(dir.path(), "live/prod/main.tf", &caller(false));
    write(dir.path(), "live/dev/main.tf", &caller(true));
    // Unrelated folders and a file that mentions `db` without calling it.
    write(dir.path(), "other/main.tf", &volume("data", true));
    write(dir.path(), "other/db.tf", "locals {\n  db = \"db\"\n}\n");
    let (code, found, _) = staged(dir.path(), &["modules/db/main.tf"]);
    assert_eq!(
        (code, found),
        (
            1,
            vec!["modules/db/main.tf:8 aws-rds-storage-unencrypted <- live/prod/main.tf:3 <- live/prod/main.tf:1".to_string()]
        ),
        "prod passes encrypted = false over the module's safe default"
    );

    // The converse: an unsafe default every caller overrides.
    write(dir.path(), "modules/db/main.tf", &module(false));
    write(dir.path(), "live/prod/main.tf", &caller(true));
    let (code, found, _) = staged(dir.path(), &["modules/db/main.tf"]);
    assert_eq!((code, found.len()), (0, 0), "{found:?}");

    // Through an intermediate module, from a subfolder.
    write(
        dir.path(),
        "modules/stack/main.tf",
        "variable \"encrypted\" {\n  type = bool\n}\nmodule \"db\" {\n  source    = \"../db\"\n  encrypted = var.encrypted\n}\n",
    );
    write(
        dir.path(),
        "live/prod/main.tf",
        "module \"stack\" {\n  source    = \"../../modules/stack\"\n  encrypted = false\n}\n",
    );
    std::fs::remove_file(dir.path().join("live/dev/main.tf")).unwrap();
    let (code, found, _) = staged(&dir.path().join("modules"), &["db/main.tf"]);
    assert_eq!(code, 1, "{found:?}");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "modules/db/main.tf:8 aws-rds-storage-unencrypted <- modules/stack/main.tf:6 <- live/prod/main.tf:3"
        ),
        "{found:?}"
    );
}
