//! The CI recipes this repository ships, tried offline as far as they can
//! be: the GitHub Action's check step (its script, with a fake
//! `GITHUB_STEP_SUMMARY` and `GITHUB_OUTPUT`), the GitLab job's provcheck
//! line, both pre-commit hooks' entries, and the Dockerfile (read, and
//! its entry point run as the built binary). The steps that need a
//! network or a Docker daemon (cargo install, the SARIF upload, docker
//! build) are not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use provcheck::source::SourceFile;
use serde_json::Value;

fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn yaml(name: &str) -> Value {
    let path = project(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let source = SourceFile::new(path, text);
    provcheck::parse::yaml::parse(&source)
        .unwrap()
        .remove(0)
        .value
}

/// A folder holding the built binary as `provcheck`, for `PATH`.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_provcheck"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn search_path() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A tree with one finding.
fn tree(dir: &Path) -> PathBuf {
    let tree = dir.join("infra");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("main.tf"),
        "resource \"aws_db_instance\" \"db\" {\n  engine = \"postgres\"\n  instance_class = \"db.t3.micro\"\n}\n",
    )
    .unwrap();
    tree
}

#[test]
fn the_github_action_writes_sarif_a_summary_and_the_exit_code() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let check = steps.iter().find(|s| s["id"] == "check").unwrap();
    let script = check["run"].as_str().unwrap();
    for key in ["PATHS", "FAIL_ON", "SARIF"] {
        assert!(check["env"][key].is_string(), "{key} comes from the inputs");
    }
    // The uploads and the failing step read the check step's output.
    assert!(steps.iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif"))));
    assert!(steps
        .iter()
        .any(|s| s["env"]["CODE"] == "${{ steps.check.outputs.exit-code }}"));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    let summary = d.join("summary.md");
    let output = d.join("output");
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(d)
        .env("PATH", search_path())
        .env("PATHS", "infra")
        .env("FAIL_ON", "low")
        .env("SARIF", "provcheck.sarif")
        .env("RUNNER_TEMP", d)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the step itself succeeds; the last step fails the job"
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("provcheck.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.starts_with("## provcheck"), "{summary}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=1\n");
}

#[test]
fn the_gitlab_job_writes_its_code_quality_and_junit_reports() {
    let job = &yaml("ci/provcheck.gitlab-ci.yml")["provcheck"];
    let script = job["script"].as_array().unwrap();
    let line = script.last().unwrap().as_str().unwrap();
    assert!(line.starts_with("provcheck check "), "{line}");
    let reports = &job["artifacts"]["reports"];
    let quality = reports["codequality"].as_str().unwrap();
    let junit = reports["junit"].as_str().unwrap();
    assert!(line.contains(&format!("--output {quality}")), "{line}");
    assert!(line.contains(&format!("--output {junit}")), "{line}");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    let out = Command::new("bash")
        .arg("-c")
        .arg(line)
        .current_dir(d)
        .env("PATH", search_path())
        .env("PROVCHECK_PATHS", "infra")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issues: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(d.join(quality)).unwrap()).unwrap();
    assert!(!issues.is_empty());
    assert!(std::fs::read_to_string(d.join(junit))
        .unwrap()
        .starts_with("<?xml"));
    // The compact lines go to the job log.
    assert!(String::from_utf8_lossy(&out.stdout).contains("infra/main.tf:"));
}

#[test]
fn both_pre_commit_hooks_run_on_staged_files() {
    let path = project(".pre-commit-hooks.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let hooks = provcheck::parse::yaml::parse(&SourceFile::new(path, text))
        .unwrap()
        .remove(0)
        .value;
    let hooks = hooks.as_array().unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["provcheck", "provcheck-system"]);
    assert_eq!(hooks[0]["language"], "rust");
    assert_eq!(hooks[1]["language"], "system");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    std::fs::write(d.join("README.md"), "# infra\n").unwrap();
    for hook in hooks {
        let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
        assert_eq!(entry[0], "provcheck");
        let run = |files: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_provcheck"))
                .args(&entry[1..])
                .args(files)
                .current_dir(d)
                .output()
                .unwrap()
        };
        // pre-commit hands over the staged files the `files` pattern keeps.
        let out = run(&["infra/main.tf"]);
        assert_eq!(out.status.code(), Some(1), "{}", hook["id"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("infra/main.tf:"));
        // A commit of nothing checkable passes, with a message.
        let out = run(&["README.md"]);
        assert_eq!(out.status.code(), Some(0), "{}", hook["id"]);
    }
}

/// provcheck's own image, without docker (CI machines may have none): the
/// Dockerfile read with provcheck's Dockerfile front-end has the
/// properties the README promises, `.dockerignore` sends what the build
/// needs, our rules pass on it, and the built binary does what the
/// image's entry point does: `provcheck check .` in the mounted tree.
#[test]
fn the_dockerfile_builds_a_static_non_root_image_run_in_src() {
    let path = project("Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap();
    let (instructions, errors) =
        provcheck::parse::dockerfile::instructions(&SourceFile::new(path, text));
    assert!(errors.is_empty(), "{errors:?}");
    let of = |keyword: &str| -> Vec<&str> {
        instructions
            .iter()
            .filter(|i| i.keyword.eq_ignore_ascii_case(keyword))
            .map(|i| i.args.trim())
            .collect()
    };
    // Multi-stage: the toolchain stays in the build stage.
    let from = of("FROM");
    assert_eq!(from.len(), 2, "{from:?}");
    assert!(from[0].starts_with("rust:") && from[0].ends_with(" AS build"));
    assert!(from[1].starts_with("gcr.io/distroless/static"), "{from:?}");
    let run = of("RUN").join("\n");
    assert!(run.contains("cargo build --locked --profile dist"), "{run}");
    assert!(of("COPY").iter().any(|c| c.starts_with("--from=build ")));
    // What follows the last FROM is the image that ships.
    let last = instructions
        .iter()
        .rposition(|i| i.keyword.eq_ignore_ascii_case("FROM"))
        .unwrap();
    let shipped = |keyword: &str| -> Vec<&str> {
        instructions[last..]
            .iter()
            .filter(|i| i.keyword.eq_ignore_ascii_case(keyword))
            .map(|i| i.args.trim())
            .collect()
    };
    let user = shipped("USER");
    assert_eq!(user.len(), 1, "{user:?}");
    let uid = user[0].split(':').next().unwrap();
    assert!(uid != "0" && uid != "root", "{user:?}");
    assert_eq!(shipped("WORKDIR"), ["/src"]);
    let entrypoint: Vec<String> = serde_json::from_str(shipped("ENTRYPOINT")[0]).unwrap();
    assert_eq!(entrypoint, ["provcheck"]);
    let cmd: Vec<String> = serde_json::from_str(shipped("CMD")[0]).unwrap();

    // The build context: out with target/ and .git/, in with everything
    // compiled into the binary.
    let ignored = std::fs::read_to_string(project(".dockerignore")).unwrap();
    let ignored: Vec<&str> = ignored
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    for left_out in ["target", ".git"] {
        assert!(ignored.contains(&left_out), "{left_out} is sent");
    }
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src",
        "benches",
        "rules",
        "data",
        "schemas",
        "templates",
        "vendor",
    ] {
        assert!(project(needed).exists(), "{needed}");
        assert!(!ignored.contains(&needed), "{needed} is left out");
    }

    // Our own rules on our Dockerfile.
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "compact", "Dockerfile"])
        .current_dir(project("."))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The entry point with the default command, in a tree mounted at
    // the working directory: a fixture with one finding.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    tree(&src);
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(&cmd)
        .current_dir(&src)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{cmd:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("infra/main.tf"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
