//! Paths in the reports a tool reads (JSON, SARIF, JUnit, GitHub,
//! Markdown, and the inspection report) are relative to the project root
//! — the git work tree, else the configuration file's folder — whatever
//! the current folder and however the paths were given: run from the
//! root, from a folder below it, and from elsewhere with absolute
//! arguments, the binary writes the same paths. A file outside the root
//! keeps its absolute path.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const VIOLATION: &str = r#"resource "aws_efs_file_system" "shared" {
  encrypted = false
  tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }
}
"#;

/// A work tree (`.git` is all that marks one) with a finding and a file
/// that does not parse, and a folder outside it.
struct Tree {
    _dir: tempfile::TempDir,
    /// The work tree's top, links resolved.
    repo: PathBuf,
    elsewhere: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().expect("temporary folder");
    let base = dir.path().canonicalize().expect("it exists");
    let repo = base.join("repo");
    let infra = repo.join("infra");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(&infra).unwrap();
    std::fs::write(infra.join("main.tf"), VIOLATION).unwrap();
    std::fs::write(infra.join("broken.tf"), "resource \"a\" \"b\" {\n  x = \n").unwrap();
    let elsewhere = base.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("other.tf"), VIOLATION).unwrap();
    Tree {
        _dir: dir,
        repo,
        elsewhere,
    }
}

/// `provcheck check --format FORMAT ARGS...` run in `cwd`.
fn check(cwd: &Path, format: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .arg("check")
        .args(["--format", format])
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .expect("the binary runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "broken.tf makes the run exit 2: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The same check run three ways: from the root, from `infra/` and from
/// a folder outside the tree with an absolute argument.
fn three_ways(tree: &Tree, format: &str) -> [String; 3] {
    let infra = tree.repo.join("infra");
    let absolute = infra.to_string_lossy().into_owned();
    [
        check(&tree.repo, format, &["infra"]),
        check(&infra, format, &["."]),
        check(&tree.elsewhere, format, &[&absolute]),
    ]
}

/// What of a text report names places: its lines that carry a path.
fn lines_with(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn json_paths_are_relative_to_the_work_tree() {
    let tree = tree();
    let runs = three_ways(&tree, "json");
    let places = |text: &str| {
        let report: Value = serde_json::from_str(text).expect("JSON report");
        (report["findings"].clone(), report["errors"].clone())
    };
    let first = places(&runs[0]);
    assert_eq!(first.0[0]["file"], "infra/main.tf", "{}", runs[0]);
    assert_eq!(first.1[0]["file"], "infra/broken.tf", "{}", runs[0]);
    for run in &runs[1..] {
        assert_eq!(places(run), first, "{run}");
    }
}

#[test]
fn sarif_uris_are_relative_to_srcroot() {
    let tree = tree();
    let runs = three_ways(&tree, "sarif");
    let places = |text: &str| {
        let log: Value = serde_json::from_str(text).expect("SARIF is JSON");
        let run = &log["runs"][0];
        (
            run["results"].clone(),
            run["invocations"][0]["toolExecutionNotifications"].clone(),
            run["originalUriBaseIds"].clone(),
        )
    };
    let first = places(&runs[0]);
    let location = &first.0[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], "infra/main.tf", "{}", runs[0]);
    assert_eq!(location["uriBaseId"], "%SRCROOT%");
    let root = format!("file://{}/", tree.repo.to_string_lossy());
    assert_eq!(first.2["%SRCROOT%"]["uri"], root.as_str());
    for run in &runs[1..] {
        assert_eq!(places(run), first, "{run}");
    }
}

#[test]
fn junit_github_and_markdown_paths_are_relative_to_the_work_tree() {
    let tree = tree();
    for (format, needle, expected) in [
        ("junit", "infra/", "file=\"infra/main.tf\""),
        ("github", "file=", "file=infra/main.tf,line=2"),
        ("markdown", "infra/", "`infra/main.tf:2`"),
    ] {
        let runs = three_ways(&tree, format);
        let first = lines_with(&runs[0], needle);
        assert!(runs[0].contains(expected), "{format}: {}", runs[0]);
        assert!(
            !first
                .iter()
                .any(|l| l.contains(&*tree.repo.to_string_lossy())),
            "{format}: {first:?}"
        );
        for run in &runs[1..] {
            assert_eq!(lines_with(run, needle), first, "{format}: {run}");
        }
    }
}

#[test]
fn a_file_outside_the_root_keeps_its_absolute_path() {
    let tree = tree();
    let other = tree.elsewhere.join("other.tf");
    let other = other.to_string_lossy();
    let json = check(&tree.repo, "json", &["infra", &other]);
    let report: Value = serde_json::from_str(&json).expect("JSON report");
    let files: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert!(files.contains(&"infra/main.tf"), "{files:?}");
    assert!(files.contains(&&*other), "{files:?}");

    let sarif = check(&tree.repo, "sarif", &["infra", &other]);
    let log: Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let outside = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| &r["locations"][0]["physicalLocation"]["artifactLocation"])
        .find(|l| l["uri"].as_str().is_some_and(|u| u.ends_with("/other.tf")))
        .expect("a result in other.tf");
    assert_eq!(outside["uri"], format!("file://{other}").as_str());
    assert!(outside.get("uriBaseId").is_none(), "{outside}");
}

#[test]
fn the_configuration_folder_is_the_root_outside_a_work_tree() {
    let tree = tree();
    let project = tree.elsewhere.join("project");
    std::fs::create_dir_all(project.join("db")).unwrap();
    std::fs::write(project.join("db/main.tf"), VIOLATION).unwrap();
    std::fs::write(project.join("db/broken.tf"), "x = \n").unwrap();
    std::fs::write(project.join(".provcheck.yaml"), "fail-on: high\n").unwrap();
    let db = project.join("db");
    let config = project.join(".provcheck.yaml");
    let json = check(
        &tree.repo,
        "json",
        &["--config", &config.to_string_lossy(), &db.to_string_lossy()],
    );
    let report: Value = serde_json::from_str(&json).expect("JSON report");
    assert_eq!(report["findings"][0]["file"], "db/main.tf", "{json}");
    assert_eq!(report["config"], ".provcheck.yaml", "{json}");
}

#[cfg(unix)]
#[test]
fn a_path_through_a_link_is_shown_from_the_root() {
    let tree = tree();
    let link = tree.elsewhere.join("link");
    std::os::unix::fs::symlink(&tree.repo, &link).unwrap();
    let through = link.join("infra");
    let json = check(&tree.elsewhere, "json", &[&through.to_string_lossy()]);
    let report: Value = serde_json::from_str(&json).expect("JSON report");
    assert_eq!(report["findings"][0]["file"], "infra/main.tf", "{json}");
}

#[test]
fn inspect_json_paths_are_relative_to_the_work_tree() {
    let tree = tree();
    let infra = tree.repo.join("infra");
    let inspect = |cwd: &Path, arg: &str| {
        let out = cwd.join(format!(
            "report-{}.json",
            cwd.file_name().unwrap().to_string_lossy()
        ));
        let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .args(["inspect", "--format", "json", "--output"])
            .arg(&out)
            .arg(arg)
            .current_dir(cwd)
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(2));
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("the report")).unwrap();
        (report["inventory"].clone(), report["findings"].clone())
    };
    let from_root = inspect(&tree.repo, "infra");
    assert_eq!(from_root.0[0]["file"], "infra/main.tf");
    assert_eq!(from_root.0[0]["system"], "infra");
    let from_elsewhere = inspect(&tree.elsewhere, &infra.to_string_lossy());
    assert_eq!(from_elsewhere, from_root);
}
