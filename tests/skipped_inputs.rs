//! Never silent on what is not read: a scan that finds nothing of a
//! checked kind says so and exits 2 (0 with `--allow-empty`, as the
//! pre-commit hook runs it), and inputs that look like infrastructure but
//! are not read as they are get a note each, counted in the summary.

use std::path::Path;
use std::process::Command;

/// Runs `provcheck check ARGS` in `dir`: (exit code, stdout, stderr).
fn check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const NOTHING: &str = "nothing to check under .: no Terraform resource, Kubernetes object, \
                       compose service or Dockerfile found";

#[test]
fn an_empty_folder_or_a_readme_is_nothing_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = check(dir.path(), &["."]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(NOTHING), "{err}");

    write(dir.path(), "README.md", "# infra\n");
    let (code, out, err) = check(dir.path(), &["."]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(NOTHING), "{err}");
    assert!(out.contains("Checked 0 files, 0 resources"), "{out}");

    // As the pre-commit hook runs it: the message stays, the run passes.
    let (code, _, err) = check(dir.path(), &["--allow-empty", "."]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(--allow-empty: not an error)"), "{err}");

    // A Terraform module with no resource is nothing to check either.
    write(
        dir.path(),
        "main.tf",
        "variable \"x\" {}\noutput \"y\" { value = var.x }\n",
    );
    let (code, _, err) = check(dir.path(), &["."]);
    assert_eq!(code, 2, "{err}");

    // One resource is something: clean, exit 0, no message.
    write(
        dir.path(),
        "bucket.tf",
        "resource \"aws_s3_bucket_public_access_block\" \"b\" {\n  bucket = \"x\"\n  block_public_acls = true\n  block_public_policy = true\n  ignore_public_acls = true\n  restrict_public_buckets = true\n  tags = { owner = \"a\", change_request = \"OPS-1\", approved_by = \"b\" }\n}\n",
    );
    let (code, out, err) = check(dir.path(), &["."]);
    assert!(!err.contains("nothing to check"), "{err}");
    assert!(code == 0 || code == 1, "{out}{err}");
}

#[test]
fn inputs_that_are_not_read_as_they_are_get_a_note_each() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(
        d,
        "chart/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Values.name }}\n",
    );
    write(d, "overlay/kustomization.yaml", "resources:\n  - ../base\n");
    write(
        d,
        "live/terragrunt.hcl",
        "terraform {\n  source = \"../modules/db\"\n}\ninputs = { size = 1 }\n",
    );
    write(
        d,
        "cfn/template.yaml",
        "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n",
    );
    let (code, out, err) = check(d, &["."]);
    assert_eq!(code, 2, "nothing of a checked kind: {out}{err}");
    for (file, says) in [
        (
            "chart/templates/deployment.yaml",
            "render the chart with `helm template`",
        ),
        (
            "overlay/kustomization.yaml",
            "render it with `kustomize build`",
        ),
        (
            "live/terragrunt.hcl",
            "Terragrunt configurations are not read",
        ),
        (
            "cfn/template.yaml",
            "CloudFormation templates are not supported",
        ),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("note: ") && l.contains(file) && l.contains(says)),
            "no note for {file}: {out}"
        );
    }
    assert!(out.contains("4 inputs skipped (see the notes)"), "{out}");

    // JSON carries them as notes too.
    let (_, json, _) = check(d, &["--format", "json", "."]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let skipped = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["message"].as_str().unwrap().starts_with("skipped:"))
        .count();
    assert_eq!(skipped, 4);
}

#[test]
fn a_named_file_of_no_checked_kind_gets_a_note() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "resource \"aws_ebs_volume\" \"v\" {\n  availability_zone = \"eu-west-1a\"\n  size = 1\n}\n",
    );
    write(dir.path(), "notes.txt", "hello\n");
    write(dir.path(), "prod.tfvars", "x = 1\n");
    let (code, out, err) = check(dir.path(), &["main.tf", "notes.txt", "prod.tfvars"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("note: notes.txt: skipped: not a file provcheck checks"),
        "{out}"
    );
    // A tfvars file is read as the module's values: no note.
    assert!(!out.contains("note: prod.tfvars"), "{out}");
}
