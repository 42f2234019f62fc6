//! Hostile and broken input: each gives a clear error, never a panic or a
//! hang, and never hides the findings in other files.

use std::path::PathBuf;

use provcheck::ruleset::RuleSet;

const VIOLATION: &str = "resource \"aws_ebs_volume\" \"v\" {\n  encrypted = false\n}\n";

fn check(paths: &[PathBuf]) -> provcheck::Report {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty());
    provcheck::check(paths, &rules)
}

fn messages(report: &provcheck::Report) -> Vec<String> {
    report.errors.iter().map(|e| e.message.clone()).collect()
}

/// Writes `text` at `path` under `root`, making its folders.
fn write_under(root: &std::path::Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn has_ebs_finding(report: &provcheck::Report) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.rule_id.as_str() == "aws-ebs-volume-unencrypted")
}

#[test]
fn binary_and_invalid_utf8_files_are_reported_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.tf"), VIOLATION).unwrap();
    std::fs::write(dir.path().join("bin.tf"), b"\x7fELF\x02\x01\x00\x00binary").unwrap();
    std::fs::write(
        dir.path().join("latin1.tf"),
        b"# caf\xe9\nresource \"x\" \"y\" {}\n",
    )
    .unwrap();
    let report = check(&[dir.path().to_path_buf()]);
    assert!(has_ebs_finding(&report));
    let messages = messages(&report);
    assert!(
        messages.iter().any(|m| m.contains("binary file")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("invalid UTF-8 at byte 5")),
        "{messages:?}"
    );
    assert!(report.errors.iter().all(|e| e.span.is_some()));
}

#[test]
fn empty_files_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.tf"), "").unwrap();
    std::fs::write(dir.path().join("blank.tf"), "\n\n   \n").unwrap();
    let report = check(&[dir.path().to_path_buf()]);
    assert!(report.errors.is_empty());
    assert_eq!(report.files_read, 2);
}

#[test]
fn nonexistent_paths_are_errors_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.tf"), VIOLATION).unwrap();
    let report = check(&[dir.path().join("missing"), dir.path().to_path_buf()]);
    assert_eq!(messages(&report), ["no such file or folder"]);
    assert!(has_ebs_finding(&report));
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_loop_and_linked_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.tf"), VIOLATION).unwrap();
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    std::os::unix::fs::symlink(sub.join("a.tf"), dir.path().join("linked.tf")).unwrap();
    let report = check(&[dir.path().to_path_buf()]);
    assert_eq!(report.files_read, 2);
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.rule_id.as_str() == "aws-ebs-volume-unencrypted")
            .count(),
        2
    );
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.tf");
    std::fs::write(&path, VIOLATION).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        // Running as root: permissions do not stop reads, nothing to test.
        return;
    }
    let report = check(&[dir.path().to_path_buf()]);
    assert!(
        messages(&report)[0].starts_with("cannot read file"),
        "{:?}",
        messages(&report)
    );
}

#[test]
fn skipped_folders_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    for skipped in [".git", "node_modules", ".terraform"] {
        let sub = dir.path().join(skipped);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("x.tf"), VIOLATION).unwrap();
    }
    let report = check(&[dir.path().to_path_buf()]);
    assert_eq!(report.files_read, 0);
    assert!(report.findings.is_empty());
}

#[test]
fn deeply_nested_and_odd_hcl_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        "resource \"a\" \"b\" {{\n  x = {}1{}\n}}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    std::fs::write(dir.path().join("deep.tf"), deep).unwrap();
    // A module call is read from the text before any parse (see
    // `terraform::scan`): a million brackets or templates must not
    // overflow the stack there either.
    std::fs::write(
        dir.path().join("deep_call.tf"),
        format!(
            "module \"m\" {{\n  source = \"./m\"\n  x = {}1{}\n  y = \"{}{}\"\n}}\n",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000),
            "${\"".repeat(200_000),
            "\"}".repeat(200_000)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("labels.tf"),
        "resource \"only\" {}\nlocals \"x\" {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("unterminated.tf"),
        "resource \"a\" \"b\" {\n  s = \"abc\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ok.tf"), VIOLATION).unwrap();
    let report = check(&[dir.path().to_path_buf()]);
    assert!(has_ebs_finding(&report));
    assert!(report
        .errors
        .iter()
        .any(|e| e.message.contains("needs two labels")));
    assert!(report
        .errors
        .iter()
        .any(|e| e.path.ends_with("unterminated.tf")));
    assert!(report
        .errors
        .iter()
        .any(|e| e.path.ends_with("deep_call.tf") && e.message.contains("nesting depth")));
}

#[test]
fn a_byte_order_mark_is_ignored_and_positions_count_without_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("db.tf"),
        "\u{FEFF}resource \"aws_db_instance\" \"x\" {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("disk.tf"),
        "\u{FEFF}variable \"encrypted\" {\n  default = true\n}\n\n\
         resource \"aws_ebs_volume\" \"v\" {\n  encrypted = var.encrypted\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("terraform.tfvars"),
        "\u{FEFF}encrypted = false\n",
    )
    .unwrap();
    // Docker ignores it as well.
    std::fs::write(dir.path().join("Dockerfile"), "\u{FEFF}FROM nginx:1.27\n").unwrap();
    let report = check(&[dir.path().to_path_buf()]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let at = |rule: &str| {
        let finding = report
            .findings
            .iter()
            .find(|f| f.rule_id.as_str() == rule)
            .unwrap_or_else(|| panic!("no {rule} finding"));
        let file = &report.files[finding.file];
        let start = file.position(finding.span.start);
        let text = &file.text[finding.span.start..finding.span.end];
        (start.line, start.column, text.to_string())
    };
    assert_eq!(
        at("aws-rds-storage-unencrypted"),
        (1, 1, r#"resource "aws_db_instance" "x""#.to_string())
    );
    // The value comes from a tfvars file with a byte-order mark too.
    assert_eq!(
        at("aws-ebs-volume-unencrypted"),
        (6, 3, "encrypted = var.encrypted".to_string())
    );
}

#[test]
fn files_named_like_dockerfiles_but_documenting_them_are_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.tf"), VIOLATION).unwrap();
    let markdown = "# Building the image\n\nRun `docker build .` and see the [notes](notes.md).\n";
    for name in [
        "Dockerfile.md",
        "Dockerfile.txt",
        "README.Dockerfile.md",
        "Dockerfile~",
    ] {
        std::fs::write(dir.path().join(name), markdown).unwrap();
    }
    std::fs::write(
        dir.path().join("Dockerfile.prod"),
        "FROM nginx:1.27\nUSER nginx\n",
    )
    .unwrap();
    let report = check(&[dir.path().to_path_buf()]);
    assert!(report.errors.is_empty(), "{:?}", messages(&report));
    assert_eq!(report.files_read, 2, "a.tf and Dockerfile.prod");
    assert!(has_ebs_finding(&report));
    assert!(report
        .resources
        .iter()
        .any(|r| r.resource_type == "dockerfile_stage"));
    // Named on the command line, as a pre-commit hook passes it: ignored.
    let report = check(&[dir.path().join("Dockerfile.md")]);
    assert!(report.errors.is_empty(), "{:?}", messages(&report));
    assert_eq!(report.files_read, 0);
}

/// A file that calls no module is parsed only with its module's batch:
/// its syntax error is still reported, once, however many roots call
/// the module, and also in a folder no root reaches (a cycle of calls).
#[test]
fn a_broken_file_that_calls_no_module_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| write_under(root, path, text);
    write(
        "modules/db/broken.tf",
        "resource \"aws_db_instance\" \"x\" {\n  engine = \n",
    );
    write("modules/db/main.tf", VIOLATION);
    // Each root with more text than one batch holds: two batches, each
    // parsing the module again.
    let padding = "# padding\n".repeat(provcheck::terraform::module::BATCH_BYTES / 10 + 1);
    for app in ["app1", "app2"] {
        write(
            &format!("{app}/main.tf"),
            "module \"db\" {\n  source = \"../modules/db\"\n}\n",
        );
        write(&format!("{app}/padding.tf"), &padding);
    }
    // Two folders that call each other: neither is a root.
    write("loop/a/main.tf", "module \"b\" {\n  source = \"../b\"\n}\n");
    write("loop/b/main.tf", "module \"a\" {\n  source = \"../a\"\n}\n");
    write("loop/b/broken.tf", "variable \"v\" {\n  default = [\n");
    let report = check(&[root.to_path_buf()]);
    assert!(has_ebs_finding(&report));
    let broken: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    let count = |name: &str| broken.iter().filter(|p| p.ends_with(name)).count();
    assert_eq!(count("/modules/db/broken.tf"), 1, "{broken:?}");
    assert_eq!(count("/loop/b/broken.tf"), 1, "{broken:?}");
    assert!(report.errors.iter().all(|e| e.span.is_some()), "{broken:?}");
}

/// The module calls that plan the evaluation are read from a file's text
/// where they can be, before any parse. A file whose calls read well (its
/// brackets balance) but which does not parse calls nothing: the module
/// it names is still a root module, checked, and the file's error is
/// reported once.
#[test]
fn a_broken_file_hides_no_module_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| write_under(root, path, text);
    write(
        "app/main.tf",
        "module \"db\" {\n  source = \"../modules/db\"\n}\n\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = = 1\n}\n",
    );
    write(
        "app/other.tf",
        "module \"net\" {\n  source = \"../modules/net\"\n}\n",
    );
    write("modules/db/main.tf", VIOLATION);
    write(
        "modules/net/main.tf",
        "resource \"aws_ebs_volume\" \"net\" {\n  encrypted = false\n}\n",
    );
    let report = check(&[root.to_path_buf()]);
    let flagged: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule_id.as_str() == "aws-ebs-volume-unencrypted")
        .map(|f| f.resource.as_str())
        .collect();
    // `db` as a root of its own; `net` through the call that parses.
    assert!(flagged.contains(&"aws_ebs_volume.v"), "{flagged:?}");
    assert!(
        flagged.contains(&"module.net.aws_ebs_volume.net"),
        "{flagged:?}"
    );
    let broken: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].ends_with("/app/main.tf"), "{broken:?}");
    assert!(report.errors[0].span.is_some());
}
