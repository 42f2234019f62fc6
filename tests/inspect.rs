//! `provcheck inspect`: the inspection report's model, JSON and Markdown.

use std::path::Path;
use std::process::Command;

mod support;

use serde_json::Value;

fn inspect(path: &str, format: &str) -> (String, i32) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Expiry dates are compared with a fixed day.
        .env("PROVCHECK_TODAY", "2026-11-23")
        .env("SOURCE_DATE_EPOCH", "0")
        .args(["inspect", path, "--format", format, "--output"])
        .arg(&output)
        .args(["--title", "Fixture inspection"])
        .status()
        .unwrap();
    let text = std::fs::read_to_string(Path::new(&output)).unwrap();
    // What depends on the checkout: its folder and git state.
    let text = match format {
        "json" => support::redact_json(&text, "/meta"),
        _ => support::redact_text(&text),
    };
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

/// The patient portal (fixtures/system): every cell of the matrix, read
/// off the code by hand (see fixtures/system/README.md).
#[test]
fn system_matrix_every_cell() {
    let report = json("fixtures/system");
    // (store, ePHI, [at rest, in transit, private network, backup, audit
    // logging, approval, ePHI placement])
    let expected: &[(&str, &str, bool, [&str; 7])] = &[
        (
            "aptible_database.records",
            "aptible.tf",
            true,
            ["pass", "undecided", "pass", "pass", "pass", "pass", "pass"],
        ),
        (
            "aws_db_instance.scheduling",
            "data.tf",
            false,
            // Audit logging: the root declares no CloudTrail trail.
            ["pass", "pass", "pass", "pass", "fail", "pass", "n/a"],
        ),
        (
            // The audit-logging finding is suppressed: an accepted risk,
            // not a pass.
            "aws_db_instance.reports",
            "data.tf",
            false,
            ["fail", "pass", "pass", "pass", "accepted", "pass", "n/a"],
        ),
        (
            "aws_db_instance.analytics",
            "data.tf",
            false,
            ["pass", "fail", "fail", "pass", "pass", "pass", "n/a"],
        ),
        (
            // ePHI outside Aptible: its placement fails.
            "aws_s3_bucket.exports",
            "data.tf",
            true,
            [
                "pass",
                "undecided",
                "pass",
                "undecided",
                "undecided",
                "pass",
                "fail",
            ],
        ),
        (
            "compose:db",
            "compose.yaml",
            false,
            [
                "undecided",
                "pass",
                "pass",
                "undecided",
                "undecided",
                "pass",
                "n/a",
            ],
        ),
        (
            "compose:scratch-db",
            "compose.yaml",
            false,
            [
                "undecided",
                "pass",
                "fail",
                "undecided",
                "undecided",
                "fail",
                "n/a",
            ],
        ),
        (
            "StatefulSet/portal-staging/postgres",
            "postgres.yaml",
            false,
            [
                "undecided",
                "pass",
                "fail",
                "undecided",
                "undecided",
                "pass",
                "n/a",
            ],
        ),
    ];
    let controls = [
        "encryption-at-rest",
        "encryption-in-transit",
        "private-network",
        "backup",
        "audit-logging",
        "approval",
        "ephi-placement",
    ];
    assert_eq!(
        report["data_stores"].as_array().unwrap().len(),
        expected.len()
    );
    for (address, file, ephi, verdicts) in expected {
        let s = store(&report, address, file);
        assert_eq!(s["ephi"], *ephi, "{address} ePHI");
        for (control, verdict) in controls.iter().zip(verdicts) {
            assert_eq!(
                s["controls"][control]["verdict"], *verdict,
                "{address} {control}: {}",
                s["controls"][control]
            );
        }
    }
    // Effective retention, from the attribute or the Aptible environment.
    let days =
        |address: &str, file: &str| store(&report, address, file)["backup_retention_days"].clone();
    assert_eq!(days("aws_db_instance.scheduling", "data.tf"), 14);
    assert_eq!(days("aws_db_instance.reports", "data.tf"), 7);
    assert_eq!(days("aptible_database.records", "aptible.tf"), 14);
    // The accepted risk shows in the cell, with its reason.
    let audit = &store(&report, "aws_db_instance.reports", "data.tf")["controls"]["audit-logging"];
    assert!(
        audit["reason"].as_str().unwrap().contains("accepted-risk"),
        "{audit}"
    );
    // Failing cells cite findings of the report.
    let fingerprints: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["fingerprint"])
        .collect();
    let analytics = store(&report, "aws_db_instance.analytics", "data.tf");
    for cited in analytics["controls"]["private-network"]["findings"]
        .as_array()
        .unwrap()
    {
        assert!(fingerprints.contains(&cited), "{cited}");
    }
    // Environments: the configuration's production paths, the namespace.
    assert_eq!(
        store(&report, "aws_db_instance.reports", "data.tf")["environment"],
        "production"
    );
    assert_eq!(
        store(
            &report,
            "StatefulSet/portal-staging/postgres",
            "postgres.yaml"
        )["environment"],
        "staging"
    );
}

#[test]
fn system_accepted_risks_and_checklist() {
    let report = json("fixtures/system");
    let risks = report["accepted_risks"].as_array().unwrap();
    let inline = risks.iter().find(|r| r["source"] == "inline").unwrap();
    assert_eq!(inline["status"], "accepted-risk");
    assert_eq!(inline["approver"], "cto@portal.example");
    assert_eq!(inline["ticket"], "PORTAL-188");
    assert_eq!(inline["expired"], false);
    let waiver = risks.iter().find(|r| r["source"] == "waiver").unwrap();
    assert_eq!(waiver["expired"], true);
    assert_eq!(waiver["rules"][0], "aws-rds-ssl-not-enforced");
    // The lapsed waiver's finding is open again.
    let cited = &waiver["findings"][0];
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| &f["fingerprint"] == cited));

    let step = |scope: &str, step: &str| {
        report["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["scope"] == scope && s["step"] == step)
            .unwrap_or_else(|| panic!("no step {step} for {scope}"))["verdict"]
            .clone()
    };
    let infra = "fixtures/system/infra/production";
    assert_eq!(
        step(infra, "change request present and well-formed"),
        "pass"
    );
    assert_eq!(step(infra, "approver present"), "pass");
    assert_eq!(step(infra, "baseline rules pass"), "fail");
    assert_eq!(step(infra, "ePHI placed on approved stores"), "fail");
    assert_eq!(step(infra, "no open critical/high findings"), "fail");
    let compose = "fixtures/system/compose";
    assert_eq!(step(compose, "approver present"), "fail");
    let kubernetes = "fixtures/system/kubernetes";
    assert_eq!(step(kubernetes, "approver present"), "pass");
    // No ePHI store there: the step does not apply, it is not a pass.
    assert_eq!(step(kubernetes, "ePHI placed on approved stores"), "n/a");
    // Each system's verdict follows from its steps.
    let system = |scope: &str| {
        report["systems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["scope"] == scope)
            .unwrap_or_else(|| panic!("no system {scope}"))["verdict"]
            .clone()
    };
    assert_eq!(system(infra), "not ready");
    assert_eq!(system(compose), "not ready");
    assert_eq!(system(kubernetes), "not ready");
}

#[test]
fn system_golden_reports() {
    let (text, _) = inspect("fixtures/system", "json");
    insta::assert_snapshot!("inspect_system_json", text);
    let (text, _) = inspect("fixtures/system", "markdown");
    insta::assert_snapshot!("inspect_system_markdown", text);
}

/// The `provcheck-report-*.json` files in a folder.
fn temporary_reports(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("provcheck-report-") && n.ends_with(".json"))
        })
        .collect();
    found.sort();
    found
}

/// A link left at the name the report once always had, in a temporary
/// folder other users share, is not followed: the report is a new file.
#[cfg(unix)]
#[test]
fn the_temporary_report_never_follows_a_planted_link() {
    let scanned = tempfile::tempdir().unwrap();
    std::fs::write(
        scanned.path().join("main.tf"),
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n",
    )
    .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let victim = temp.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    for name in ["provcheck-report.html", "provcheck-report.json"] {
        std::os::unix::fs::symlink(&victim, temp.path().join(name)).unwrap();
    }
    for format in ["html", "json"] {
        let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .current_dir(scanned.path())
            .env("TMPDIR", temp.path())
            .args(["inspect", "--format", format, "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let written = temporary_reports(temp.path());
    assert_eq!(written.len(), 1, "{written:?}");
    let kind = std::fs::symlink_metadata(&written[0]).unwrap().file_type();
    assert!(kind.is_file());
}

/// Without `--output`, the report goes to the current folder, but never
/// into the tree being scanned.
#[test]
fn default_report_stays_out_of_the_scanned_tree() {
    let scanned = tempfile::tempdir().unwrap();
    std::fs::write(
        scanned.path().join("main.tf"),
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n",
    )
    .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let run = |cwd: &Path, path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .current_dir(cwd)
            .env("TMPDIR", temp.path())
            .args(["inspect", "--format", "json"])
            .arg(path)
            .output()
            .unwrap()
    };
    let out = run(scanned.path(), Path::new("."));
    assert_eq!(out.status.code(), Some(1));
    assert!(!scanned.path().join("provcheck-report.json").exists());
    // A new file of its own in the temporary folder, named on stderr.
    let written = temporary_reports(temp.path());
    assert_eq!(written.len(), 1, "{written:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&written[0].display().to_string()),
        "{stderr}"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    run(elsewhere.path(), scanned.path());
    assert!(elsewhere.path().join("provcheck-report.json").exists());
}

/// The portal's exposure, entry by entry: what an attacker on the
/// internet can reach, and nothing internal.
#[test]
fn system_exposure_lists_every_entry_point() {
    let report = json("fixtures/system");
    let mut found: Vec<(String, String)> = report["exposure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut expected: Vec<(String, String)> = [
        ("ingress", "Ingress/portal-staging/portal"),
        ("listener", "aws_lb_listener.http"),
        ("listener", "aws_lb_listener.https"),
        ("load-balancer", "aws_lb.portal"),
        ("public-database", "aws_db_instance.analytics"),
        ("public-subnet", "aws_subnet.public_a"),
        ("public-subnet", "aws_subnet.public_b"),
        ("published-port", "compose:scratch-db"),
        ("published-port", "compose:web"),
        ("security-group-rule", "aws_security_group.alb"),
        ("security-group-rule", "aws_security_group.alb"),
        ("security-group-rule", "aws_security_group.analytics"),
        ("service", "Service/portal-staging/postgres"),
    ]
    .iter()
    .map(|(k, a)| (k.to_string(), a.to_string()))
    .collect();
    expected.sort();
    assert_eq!(found, expected);
    // The internal Aptible endpoint and the ClusterIP services are not
    // exposures; the plain-HTTP listener says it only redirects.
    let http = report["exposure"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "aws_lb_listener.http")
        .unwrap();
    assert_eq!(http["tls"], false);
    assert!(http["how"].as_str().unwrap().contains("redirects to HTTPS"));
}

/// A folder of Dockerfiles carries no approval evidence: its approval
/// steps are undecided and the system incomplete, never ready; the HTML
/// page shows each system's verdict above its steps.
#[test]
fn systems_without_evidence_are_incomplete() {
    let (text, code) = inspect("fixtures/docker/shop", "json");
    assert_eq!(
        code, 0,
        "no findings: an incomplete report does not fail the run"
    );
    let report: Value = serde_json::from_str(&text).unwrap();
    let systems = report["systems"].as_array().unwrap();
    assert!(!systems.is_empty());
    for system in systems {
        assert_eq!(system["verdict"], "incomplete", "{system}");
    }
    let steps = report["checklist"].as_array().unwrap();
    let approval: Vec<&Value> = steps
        .iter()
        .filter(|s| s["step"] == "change request present and well-formed")
        .collect();
    assert!(!approval.is_empty());
    assert!(approval.iter().all(|s| s["verdict"] == "undecided"));

    let (html, _) = inspect("fixtures/system", "html");
    for (scope, verdict) in [
        ("fixtures/system/compose", "not ready"),
        ("fixtures/system/kubernetes", "not ready"),
    ] {
        let row = format!("<tr data-system=\"{scope}\"><td><code>{scope}</code></td><td data-verdict=\"{verdict}\">");
        assert!(html.contains(&row), "no {verdict} row for {scope}");
    }
}

/// Runs `inspect` on a tree outside the project, in `format`.
fn inspect_tree(tree: &Path, format: &str) -> String {
    let output = tree.parent().unwrap().join(format!("report.{format}"));
    let status = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["inspect", "--format", format, "--output"])
        .arg(&output)
        .arg(tree)
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{status}");
    std::fs::read_to_string(&output).unwrap()
}

/// A database whose network comes from a registry module that is not
/// scanned (a note, and undecided results), and one that fails.
const UNSCANNED_NETWORK: &str = r#"module "sg" {
  source = "terraform-aws-modules/security-group/aws"
}

variable "encrypted" {}

resource "aws_db_instance" "main" {
  engine                  = "postgres"
  instance_class          = "db.t3.micro"
  storage_encrypted       = var.encrypted
  backup_retention_period = 1
  vpc_security_group_ids  = [module.sg.security_group_id]
}
"#;

#[test]
fn report_says_what_to_do_and_what_is_undecided() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("main.tf"), UNSCANNED_NETWORK).unwrap();

    // JSON: remediation on every finding and undecided result; the
    // undecided results and the notes are there without any flag.
    let report: Value = serde_json::from_str(&inspect_tree(&tree, "json")).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let undecided = report["undecided"].as_array().unwrap();
    assert!(!findings.is_empty() && !undecided.is_empty(), "{report}");
    for f in findings.iter().chain(undecided) {
        let fix = f["remediation"].as_str().unwrap();
        assert!(fix.len() > 20, "no remediation for {}", f["rule_id"]);
    }
    assert!(
        undecided
            .iter()
            .any(|u| u["rule_id"] == "aws-rds-storage-unencrypted"),
        "{undecided:?}"
    );
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("not scanned")),
        "{notes:?}"
    );
    assert_eq!(report["errors"], Value::Array(vec![]));

    // HTML: the notes fold into one list; a section of its own lists
    // every undecided cell and result; a finding is linked by its rule
    // and line, and its card says how to fix it.
    let html = inspect_tree(&tree, "html");
    assert!(html.contains(r#"<details class="alert note" id="scan-notes">"#));
    let section = &html[html
        .find(r#"<section class="major" id="undecided">"#)
        .unwrap()..];
    let cells = report["data_stores"][0]["controls"]
        .as_object()
        .unwrap()
        .values()
        .filter(|c| c["verdict"] == "undecided")
        .count();
    assert!(cells > 0);
    assert_eq!(
        section.matches("<tr data-open-store=").count(),
        cells,
        "a row per undecided cell"
    );
    assert_eq!(
        section
            .matches("<article class=\"finding undecided\"")
            .count(),
        undecided.len()
    );
    let backup = findings
        .iter()
        .find(|f| f["rule_id"] == "aws-rds-backup-retention-short")
        .unwrap_or_else(|| panic!("{findings:?}"));
    let line = backup["span"]["start"]["line"].as_u64().unwrap();
    let link = format!(
        r##"<a href="#{}">aws-rds-backup-retention-short <span class="line">line {line}</span></a>"##,
        backup["fingerprint"].as_str().unwrap()
    );
    assert!(html.contains(&link), "no link {link}");
    assert!(html.contains(r#"<p class="fix"><strong>Fix:</strong> "#));
    assert!(html.contains(r#"<p class="fix"><strong>If it fails:</strong> "#));

    // Markdown: the same, as tables.
    let markdown = inspect_tree(&tree, "markdown");
    assert!(markdown.contains("<details><summary>"));
    assert!(markdown.contains("## Undecided"));
    assert!(markdown
        .contains("| severity | rule | clauses | resource | message | remediation | location |"));
}

/// The Markdown report fits a pull-request comment: on a tree of more
/// than 5,000 findings it stays under 60,000 characters, with the summary
/// first, then the findings, most severe first, until the budget, the
/// rest counted and the provenance last.
#[test]
fn markdown_fits_a_pull_request_comment() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    support::many_findings(&tree, 1_000);
    let json: serde_json::Value = serde_json::from_str(&inspect_tree(&tree, "json")).unwrap();
    let total = json["findings"].as_array().unwrap().len();
    assert!(total > 5_000, "{total} findings");

    let text = inspect_tree(&tree, "markdown");
    assert!(text.len() < 60_000, "{} characters", text.len());
    let summary = text.find("## Summary").expect("a summary");
    let findings = text
        .find(&format!("## Findings ({total})"))
        .expect("the findings, all counted");
    assert!(summary < findings);
    assert!(text[summary..findings].contains(&format!("- {total} open findings: ")));
    let header = "| severity | rule | clauses | resource | message | remediation | location |";
    let rows: Vec<&str> = text[findings..]
        .lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(rows.len() > 50 && rows.len() < total, "{} rows", rows.len());
    assert!(rows[0].starts_with("| critical |"), "{}", rows[0]);
    assert!(
        text.contains(&format!(
            "…and {} more, left out to keep this comment short: see the JSON or HTML report",
            total - rows.len()
        )),
        "{}",
        &text[text.len() - 2_000..]
    );
    // The tables that did not fit are named and counted.
    assert!(
        text.contains("1000 inventory: data stores"),
        "{}",
        &text[text.len() - 2_000..]
    );
    assert!(text.trim_end().ends_with('|'), "the provenance closes it");
    assert!(text.contains("## Provenance"));
}
