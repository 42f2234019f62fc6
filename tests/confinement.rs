//! What a pull request must not make provcheck do, through the binary:
//! read outside the project (links to `/proc/self/environ`, to `.git`,
//! file functions reaching `/etc`), hang on a FIFO, or print a secret of
//! the CI's environment in any format.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A secret no output may hold.
const SECRET: &str = "s3cr3t-7f1d9c2a-never-printed";

const FORMATS: &[&str] = &[
    "human", "compact", "json", "sarif", "junit", "github", "markdown",
];

/// A temporary git work tree (a `.git` folder holding a config with the
/// secret) with a folder beside it, outside the project.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        tree.write(
            "project/.git/config",
            &format!("[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n"),
        );
        tree.write("outside/secret.txt", &format!("password = \"{SECRET}\"\n"));
        tree
    }

    /// The same without `.git`: a folder that is no work tree.
    fn bare() -> Tree {
        let tree = Tree::new();
        std::fs::remove_dir_all(tree.path("project/.git")).unwrap();
        tree
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn project(&self) -> PathBuf {
        self.path("project")
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[cfg(unix)]
    fn link(&self, target: &Path, relative: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }
}

/// Runs the binary in `cwd`, killed after a minute: a hang is a failure.
fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provcheck"));
    command
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command.spawn().expect("the binary runs");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    // Output is read as it comes (a full pipe would stall the child).
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("provcheck {args:?} hung");
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Everything `check` prints in every format, with the rest of `args`,
/// run from `cwd`.
fn every_format(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<(String, String)> {
    FORMATS
        .iter()
        .map(|format| {
            let mut all = vec!["check", "--show-undecided", "--format", format];
            all.extend_from_slice(args);
            (format.to_string(), text(&run(cwd, &all, env)))
        })
        .collect()
}

fn assert_no_secret(outputs: &[(String, String)]) {
    for (format, text) in outputs {
        assert!(
            !text.contains(SECRET),
            "{format} prints the secret:\n{text}"
        );
    }
}

fn json(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec!["check", "--show-undecided", "--format", "json"];
    all.extend_from_slice(args);
    let output = run(cwd, &all, env);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output)))
}

/// The errors of a JSON report, as `file: message`.
fn errors(report: &serde_json::Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}: {}", e["file"].as_str().unwrap_or(""), e["message"]))
        .collect()
}

#[cfg(unix)]
#[test]
fn a_dockerfile_linked_to_the_git_config_is_not_read() {
    let tree = Tree::new();
    tree.write(
        "project/app/Dockerfile.base",
        "FROM alpine:3.20\nUSER app\n",
    );
    tree.link(Path::new("../.git/config"), "project/app/Dockerfile");
    let outputs = every_format(&tree.project(), &["."], &[]);
    assert_no_secret(&outputs);
    let report = json(&tree.project(), &["."], &[]);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("app/Dockerfile:") && e.contains("inside a .git folder")),
        "{errors:#?}"
    );
}

#[cfg(unix)]
#[test]
fn a_manifest_linked_outside_the_project_is_not_read() {
    let tree = Tree::new();
    tree.write("outside/secret.yaml", &format!("password: {SECRET}\n"));
    tree.link(&tree.path("outside/secret.yaml"), "project/values.yaml");
    tree.link(&tree.path("outside/secret.txt"), "project/main.tf");
    let outputs = every_format(&tree.project(), &["."], &[]);
    assert_no_secret(&outputs);
    let errors = errors(&json(&tree.project(), &["."], &[]));
    for name in ["main.tf", "values.yaml"] {
        assert!(
            errors.contains(&format!(
                "{name}: \"symlink to outside the project; not read\""
            )),
            "{errors:#?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_in_the_tree_does_not_hang() {
    let tree = Tree::new();
    tree.write(
        "project/compose.yaml",
        "services:\n  web:\n    image: nginx:${TAG}\n",
    );
    tree.write(
        "project/main.tf",
        "locals {\n  text = file(\"pipe.txt\")\n}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = local.text\n}\n",
    );
    for name in [".env", "pipe.txt", "pipe.tf", "terraform.tfvars"] {
        let status = Command::new("mkfifo")
            .arg(tree.path(&format!("project/{name}")))
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
    }
    // Each would block a read until a writer comes: none may be opened.
    let report = json(&tree.project(), &["."], &[]);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("pipe.tf:") && e.contains("named pipe (FIFO)")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(".env:") && e.contains("named pipe (FIFO)")),
        "{errors:#?}"
    );
}

/// A Terraform volume per value of `var.password`: a value that reaches
/// the resource's address is in every report.
const VOLUMES: &str = r#"variable "password" {
  type    = string
  default = "placeholder"
}

resource "aws_ebs_volume" "v" {
  for_each  = toset([var.password])
  encrypted = false
}
"#;

#[cfg(unix)]
#[test]
fn tfvars_linked_to_the_process_environment_are_not_read() {
    let tree = Tree::new();
    tree.write("project/main.tf", VOLUMES);
    tree.link(Path::new("/proc/self/environ"), "project/terraform.tfvars");
    tree.link(&tree.path("outside/secret.txt"), "project/x.auto.tfvars");
    let env = [("CI_TOKEN", SECRET)];
    assert_no_secret(&every_format(&tree.project(), &["."], &env));
    let errors = errors(&json(&tree.project(), &["."], &env));
    for name in ["terraform.tfvars", "x.auto.tfvars"] {
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{name}:"))
                && e.contains("symlink to outside the project; not read")),
            "{errors:#?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn installed_modules_are_read_inside_the_project_only() {
    let tree = Tree::new();
    tree.write(
        "project/main.tf",
        "module \"app\" {\n  source = \"registry.example.com/acme/app/aws\"\n}\n",
    );
    tree.write(
        "project/.terraform/modules/modules.json",
        r#"{"Modules":[{"Key":"app","Source":"registry.example.com/acme/app/aws","Dir":".terraform/modules/app"}]}"#,
    );
    tree.write(
        "outside/volumes.tf",
        &VOLUMES.replace("\"placeholder\"", &format!("\"{SECRET}\"")),
    );
    tree.link(
        &tree.path("outside/volumes.tf"),
        "project/.terraform/modules/app/main.tf",
    );
    assert_no_secret(&every_format(&tree.project(), &["."], &[]));
    let errors = errors(&json(&tree.project(), &["."], &[]));
    assert!(
        errors
            .iter()
            .any(|e| e.contains(".terraform/modules/app/main.tf")
                && e.contains("symlink to outside the project")),
        "{errors:#?}"
    );
}

#[test]
fn file_functions_do_not_read_the_git_folder() {
    let tree = Tree::new();
    tree.write(
        "project/main.tf",
        "resource \"aws_ebs_volume\" \"v\" {\n  for_each  = toset([file(\".git/config\"), file(\"../project/.git/config\")])\n  encrypted = false\n}\n",
    );
    assert_no_secret(&every_format(&tree.project(), &["."], &[]));
}

#[cfg(unix)]
#[test]
fn a_dotenv_linked_outside_the_project_is_not_read() {
    let tree = Tree::new();
    tree.write(
        "project/compose.yaml",
        "services:\n  db:\n    image: postgres:${TAG}\n    ports: [\"5432:5432\"]\n",
    );
    tree.write("outside/secret.env", &format!("TAG={SECRET}\n"));
    tree.link(&tree.path("outside/secret.env"), "project/.env");
    assert_no_secret(&every_format(&tree.project(), &["."], &[]));
    let errors = errors(&json(&tree.project(), &["."], &[]));
    assert!(
        errors.contains(&".env: \"symlink to outside the project; not read\"".to_string()),
        "{errors:#?}"
    );
}

#[cfg(unix)]
#[test]
fn waivers_baseline_and_configuration_are_read_inside_the_project() {
    let tree = Tree::new();
    tree.write("project/main.tf", VOLUMES);
    tree.write(
        "outside/waivers.yaml",
        &format!("waivers:\n  - rule: {SECRET}\n    status: unused\n    reason: \"{SECRET}\"\n"),
    );
    tree.write(
        "outside/baseline.json",
        &format!("{{\"version\": \"{SECRET}\"}}"),
    );
    tree.link(
        &tree.path("outside/waivers.yaml"),
        "project/.provcheck-waivers.yaml",
    );
    // The configuration's paths are the project's.
    tree.write(
        "project/.provcheck.yaml",
        "baseline: ../outside/baseline.json\n",
    );
    assert_no_secret(&every_format(&tree.project(), &["."], &[]));
    let errors = errors(&json(&tree.project(), &["."], &[]));
    assert!(
        errors.iter().any(|e| e.contains(".provcheck-waivers.yaml")
            && e.contains("symlink to outside the project; not read")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("baseline.json") && e.contains("outside the project; not read")),
        "{errors:#?}"
    );
    // Named on the command line, they are the user's to place.
    let report = json(
        &tree.project(),
        &["--baseline", "../outside/baseline.json", "."],
        &[],
    );
    let errors = self::errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("baseline.json") && e.contains("invalid baseline")),
        "{errors:#?}"
    );

    // A configuration linked out of the work tree is not read either.
    std::fs::remove_file(tree.path("project/.provcheck.yaml")).unwrap();
    tree.write("outside/config.yaml", &format!("ignore: [{SECRET}]\n"));
    tree.link(&tree.path("outside/config.yaml"), "project/.provcheck.yaml");
    let output = run(&tree.project(), &["check", "."], &[]);
    let text = text(&output);
    assert!(!text.contains(SECRET), "{text}");
    assert!(
        text.contains("symlink to outside the project; not read"),
        "{text}"
    );
}

/// A volume per line of a file that file() reads.
fn reading(path: &str) -> String {
    format!(
        "resource \"aws_ebs_volume\" \"v\" {{\n  for_each  = toset(split(\"\\n\", file(\"{path}\")))\n  encrypted = false\n}}\n"
    )
}

#[test]
fn file_functions_never_read_from_the_current_folder() {
    let tree = Tree::bare();
    tree.write("project/main.tf", &reading("../outside/secret.txt"));
    let project = tree.project().to_string_lossy().into_owned();
    // Run from the folder above: the current folder is no project root.
    let outputs = every_format(tree.dir.path(), &[&project], &[]);
    assert_no_secret(&outputs);
    // The file's lines are unknown: one instance, `[*]`.
    let report = json(tree.dir.path(), &[&project], &[]);
    assert_eq!(report["findings"][0]["resource"], "aws_ebs_volume.v[*]");
}

#[cfg(unix)]
#[test]
fn file_functions_cannot_read_etc_passwd_from_the_root_folder() {
    let tree = Tree::bare();
    tree.write("project/main.tf", &reading("/etc/passwd"));
    let project = tree.project().to_string_lossy().into_owned();
    for (format, text) in every_format(Path::new("/"), &[&project], &[]) {
        assert!(
            !text.contains("root:"),
            "{format} prints /etc/passwd:\n{text}"
        );
    }
}

/// The rule ids of a JSON report's findings.
fn rule_ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["rule_id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_configuration_above_the_work_tree_is_ignored() {
    for tree in [Tree::new(), Tree::bare()] {
        tree.write("project/main.tf", VOLUMES);
        // Planted above the repository: it would turn the AWS rules off.
        tree.write(".provcheck.yaml", "ignore: [aws]\n");
        for cwd in [tree.project(), tree.dir.path().to_path_buf()] {
            let report = json(&cwd, &[&tree.project().to_string_lossy()], &[]);
            assert!(
                rule_ids(&report).contains(&"aws-ebs-volume-unencrypted".to_string()),
                "{report:#}"
            );
        }
    }
    // Inside the work tree, it applies.
    let tree = Tree::new();
    tree.write("project/infra/main.tf", VOLUMES);
    tree.write("project/.provcheck.yaml", "ignore: [aws]\n");
    let report = json(&tree.project(), &["infra"], &[]);
    assert!(
        !rule_ids(&report).contains(&"aws-ebs-volume-unencrypted".to_string()),
        "{report:#}"
    );
}

#[test]
fn every_format_names_the_configuration_used() {
    let tree = Tree::new();
    tree.write("project/infra/main.tf", VOLUMES);
    tree.write("project/.provcheck.yaml", "fail-on: high\n");
    let outputs = every_format(&tree.project(), &["infra"], &[]);
    let expected = [
        ("human", "Configuration: .provcheck.yaml\n"),
        ("json", "\"config\": \".provcheck.yaml\""),
        ("sarif", "\"configurationFile\": \".provcheck.yaml\""),
        ("junit", "<!-- provcheck configuration: .provcheck.yaml -->"),
        (
            "github",
            "::debug::provcheck configuration: .provcheck.yaml\n",
        ),
        ("markdown", "Configuration: `.provcheck.yaml`."),
    ];
    for (format, text) in &outputs {
        if let Some((_, line)) = expected.iter().find(|(f, _)| f == format) {
            assert!(text.contains(line), "{format} lacks {line:?}:\n{text}");
        }
    }
    // From elsewhere, the same path: relative to the project root.
    let report = json(tree.dir.path(), &["project/infra"], &[]);
    assert_eq!(report["config"], ".provcheck.yaml");
    std::fs::remove_file(tree.path("project/.provcheck.yaml")).unwrap();
    let report = json(&tree.project(), &["infra"], &[]);
    assert_eq!(report["config"], serde_json::Value::Null);
}

const COMPOSE_SECRET: &str = "services:\n  db:\n    image: postgres:16\n    environment:\n      DATABASE_URL: \"postgres://app:${CI_DB_PASSWORD}@db:5432/app?sslmode=disable\"\n    ports:\n      - \"${CI_BIND}:5432:5432\"\n";

#[test]
fn compose_reads_only_the_environment_variables_named() {
    let tree = Tree::new();
    tree.write("project/compose.yaml", COMPOSE_SECRET);
    let env = [("CI_DB_PASSWORD", SECRET), ("CI_BIND", "0.0.0.0")];
    assert_no_secret(&every_format(&tree.project(), &["."], &env));
    // Unknown, so the rules that need the values are undecided.
    let report = json(&tree.project(), &["."], &env);
    let undecided: Vec<&str> = report["undecided"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert!(
        undecided.contains(&"compose-database-port-published"),
        "{report:#}"
    );

    // Named, on the command line or in the configuration, they are read.
    let report = json(&tree.project(), &["--env", "CI_BIND", "."], &env);
    assert!(
        rule_ids(&report).contains(&"compose-database-port-published".to_string()),
        "{report:#}"
    );
    tree.write(
        "project/.provcheck.yaml",
        "compose:\n  environment: [CI_BIND]\n",
    );
    let report = json(&tree.project(), &["."], &env);
    assert!(
        rule_ids(&report).contains(&"compose-database-port-published".to_string()),
        "{report:#}"
    );
}

#[test]
fn a_tf_var_from_the_environment_is_never_quoted() {
    let tree = Tree::new();
    tree.write(
        "project/main.tf",
        "variable \"encrypted\" {}\nresource \"aws_db_instance\" \"db\" {\n  engine            = \"postgres\"\n  storage_encrypted = var.encrypted\n}\n",
    );
    let env = [("TF_VAR_encrypted", SECRET)];
    assert_no_secret(&every_format(&tree.project(), &["."], &env));
    let report = json(&tree.project(), &["."], &env);
    let text = report.to_string();
    assert!(
        text.contains("storage_encrypted is set from TF_VAR_encrypted in the environment; its value is not shown"),
        "{report:#}"
    );
}

#[test]
fn environment_values_routed_into_addresses_and_tags_are_masked() {
    let tree = Tree::new();
    tree.write(
        "project/main.tf",
        &format!(
            "{VOLUMES}resource \"aws_efs_file_system\" \"f\" {{\n  encrypted = true\n  tags = {{ change_request = var.password, approved_by = \"cto\", owner = \"data\" }}\n}}\n"
        ),
    );
    tree.write("project/compose.yaml", COMPOSE_SECRET);
    let db_password = format!("{SECRET}-db");
    let env = [
        ("TF_VAR_password", SECRET),
        ("CI_DB_PASSWORD", db_password.as_str()),
        ("CI_BIND", "0.0.0.0"),
    ];
    let args = ["--env", "CI_DB_PASSWORD", "--env", "CI_BIND", "."];
    assert_no_secret(&every_format(&tree.project(), &args, &env));
    for format in ["json", "markdown", "html"] {
        let out = tree.path(&format!("report.{format}"));
        let out = out.to_string_lossy();
        let mut all = vec!["inspect", "--format", format, "-o", &out];
        all.extend_from_slice(&args);
        let output = run(&tree.project(), &all, &env);
        assert!(!text(&output).contains(SECRET), "{}", text(&output));
        let written = std::fs::read_to_string(&*out).unwrap();
        assert!(!written.contains(SECRET), "inspect {format} prints it");
    }
    let report = json(&tree.project(), &args, &env);
    let resources: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["resource"].as_str())
        .collect();
    assert!(
        resources.contains(&"aws_ebs_volume.v[\"(masked TF_VAR_password)\"]"),
        "{resources:#?}"
    );
}
