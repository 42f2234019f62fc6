//! Container manifests through the binary, as users run it: the
//! configuration's role additions and approval tags, compose
//! interpolation from the environment, override files in pre-commit mode,
//! and Kubernetes objects matched across files.

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provcheck"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PROVCHECK_TODAY", "2026-11-23");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the binary runs")
}

/// Exit code and compact output of `check --format compact ARGS`.
fn compact(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut all = vec!["check", "--format", "compact"];
    all.extend_from_slice(args);
    let out = run(dir, &all, env);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().expect("exited"), text)
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

const LABELS: &str =
    "    labels: {change_request: OPS-1, approved_by: cto@example.com, owner: data}\n";

#[test]
fn role_lists_are_extended_by_the_configuration() {
    let dir = project();
    write(
        dir.path(),
        "compose.yaml",
        &format!("services:\n  ledger:\n    image: acme/ledger-db:4\n{LABELS}    ports: [\"7000:7000\"]\n"),
    );
    let select = ["--config", ".provcheck.yaml", "."];
    write(dir.path(), ".provcheck.yaml", "select: [private-network]\n");
    let (code, out) = compact(dir.path(), &select, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "unknown images are not databases"
    );

    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [private-network]\nroles:\n  database:\n    images: [acme/ledger-*]\n",
    );
    let (code, out) = compact(dir.path(), &select, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("compose.yaml:5:13: high compose-database-port-published"),
        "{out}"
    );
    assert!(out.contains("image acme/ledger-db:4"), "{out}");
    // The inspection report classifies with the same roles: the service
    // is a data store there too.
    let report = dir.path().join("report.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .current_dir(dir.path())
        .args([
            "inspect",
            "--config",
            ".provcheck.yaml",
            "--format",
            "json",
            "-o",
        ])
        .arg(&report)
        .arg(".")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        model["data_stores"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["address"] == "compose:ledger"),
        "{}",
        model["data_stores"]
    );

    // A pattern that does not compile is an error at the section.
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [private-network]\nroles:\n  database:\n    images: [\"acme/[ledger\"]\n",
    );
    let (code, out) = compact(dir.path(), &select, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(".provcheck.yaml:2:1: error invalid pattern"),
        "{out}"
    );

    // Unknown keys are refused by the schema.
    write(
        dir.path(),
        ".provcheck.yaml",
        "roles:\n  cache: {images: [x]}\n",
    );
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("invalid configuration at `/roles`"), "{out}");
}

#[test]
fn approval_tags_apply_to_compose_and_kubernetes_too() {
    let dir = project();
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  web:\n    image: nginx:1.27\n    labels: {cr: ops-7, approved_by: cto, owner: web}\n",
    );
    write(
        dir.path(),
        "k8s/web.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations: {cr: ops-8, approved_by: cto, owner: web}\nspec:\n  selector: {app: web}\n",
    );
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [approval]\napproval-tags:\n  change-request: { name: cr, pattern: \"^[a-z]+-[0-9]+$\" }\n  resource-types: [aws_db_instance]\n",
    );
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!((code, out.as_str()), (0, ""));
    // Narrowing the Terraform types keeps the container rules on.
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [approval]\napproval-tags:\n  resource-types: [aws_db_instance]\n",
    );
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("compose.yaml:4:5: high compose-change-request-missing"),
        "{out}"
    );
    assert!(
        out.contains("k8s/web.yaml:5:3: high kubernetes-change-request-missing"),
        "{out}"
    );
}

#[test]
fn compose_values_come_from_the_named_environment_then_dotenv() {
    let dir = project();
    write(
        dir.path(),
        "compose.yaml",
        &format!(
            "services:\n  db:\n    image: postgres:16\n{LABELS}    ports:\n      - \"${{PROVCHECK_TEST_BIND:-127.0.0.1}}:5432:5432\"\n      - \"${{PROVCHECK_TEST_ADMIN_PORT}}:8080\"\n    networks: [back]\nnetworks:\n  back: {{internal: true}}\n"
        ),
    );
    let args = ["--show-undecided", "."];
    let (code, out) = compact(dir.path(), &args, &[]);
    assert_eq!(code, 0, "{out}");
    // The second port needs a variable set nowhere: undecided, not a guess.
    assert!(out.contains("compose.yaml:7:9: undecided"), "{out}");
    assert!(!out.contains("compose.yaml:6:9"), "{out}");

    // The process environment is read only for the variables named.
    let bind = [("PROVCHECK_TEST_BIND", "0.0.0.0")];
    let (code, out) = compact(dir.path(), &args, &bind);
    assert_eq!(code, 0, "{out}");
    let named = ["--env", "PROVCHECK_TEST_BIND", "--show-undecided", "."];
    let (code, out) = compact(dir.path(), &named, &bind);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("compose.yaml:6:9: high compose-database-port-published"),
        "{out}"
    );

    write(
        dir.path(),
        ".env",
        "PROVCHECK_TEST_ADMIN_PORT=127.0.0.1:8080\n",
    );
    let (code, out) = compact(dir.path(), &args, &[]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn an_override_file_named_alone_reports_its_own_lines() {
    let dir = project();
    write(
        dir.path(),
        "compose.yaml",
        &format!("services:\n  web:\n    image: nginx:1.27\n{LABELS}  db:\n    image: postgres:16\n{LABELS}"),
    );
    write(
        dir.path(),
        "compose.override.yaml",
        "services:\n  db:\n    ports: [\"5432:5432\"]\n",
    );
    let select = ["--config", ".provcheck.yaml"];
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [private-network, container-separation]\n",
    );
    let (_, whole) = compact(dir.path(), &[&select[..], &["."]].concat(), &[]);
    assert!(
        whole.contains("compose.override.yaml:3:13: high compose-database-port-published"),
        "{whole}"
    );
    assert!(
        whole.contains("compose.yaml:5:3: high compose-frontend-shares-network-with-database"),
        "{whole}"
    );
    // Each finding once, in the file that wrote the value.
    assert_eq!(
        whole.matches("compose-database-port-published").count(),
        1,
        "{whole}"
    );
    assert_eq!(
        whole.matches("compose-frontend-shares-network").count(),
        1,
        "{whole}"
    );

    let (code, staged) = compact(
        dir.path(),
        &[&select[..], &["compose.override.yaml"]].concat(),
        &[],
    );
    assert_eq!(code, 1);
    assert!(staged.contains("compose.override.yaml:3:13"), "{staged}");
    assert!(!staged.contains("compose.yaml:"), "{staged}");
}

#[test]
fn services_select_database_pods_across_files() {
    let dir = project();
    write(
        dir.path(),
        "db/statefulset.yaml",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: pg\n  namespace: prod\nspec:\n  selector:\n    matchLabels: {app: pg}\n  template:\n    metadata:\n      labels: {app: pg}\n    spec:\n      containers:\n        - name: pg\n          image: bitnami/postgresql:16\n",
    );
    let service = |namespace: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: pg\n  namespace: {namespace}\nspec:\n  type: NodePort\n  selector: {{app: pg}}\n  ports:\n    - port: 80\n")
    };
    write(dir.path(), "edge/service.yaml", &service("prod"));
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [kubernetes-database-service-exposed]\n",
    );
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("edge/service.yaml:7:3: critical kubernetes-database-service-exposed"),
        "{out}"
    );
    assert!(out.contains("StatefulSet/prod/pg"), "{out}");
    // Another namespace selects nothing.
    write(dir.path(), "edge/service.yaml", &service("staging"));
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!((code, out.as_str()), (0, ""));
}

/// A Service selects the pods bearing every label of its selector: one
/// label in common is not enough, and a selected web tier beside the
/// database does not make the Service expose it.
#[test]
fn services_select_pods_by_every_label() {
    let dir = project();
    let workload = |name: &str, image: &str, part: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: prod\nspec:\n  selector:\n    matchLabels: {{app: records}}\n  template:\n    metadata:\n      labels: {{app: records, part: {part}}}\n    spec:\n      containers:\n        - name: main\n          image: {image}\n")
    };
    write(
        dir.path(),
        "app/db.yaml",
        &workload("db", "postgres:16", "a"),
    );
    write(
        dir.path(),
        "app/web.yaml",
        &workload("web", "nginx:1.27", "b"),
    );
    write(
        dir.path(),
        "edge/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: records\n  namespace: prod\nspec:\n  type: LoadBalancer\n  selector: {app: records, part: b}\n  ports:\n    - port: 5432\n",
    );
    write(
        dir.path(),
        ".provcheck.yaml",
        "select: [kubernetes-database-service-exposed]\n",
    );
    // The database pods bear `app: records` but not `part: b`.
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!((code, out.as_str()), (0, ""));
    // With both labels, they are exposed.
    write(
        dir.path(),
        "app/db.yaml",
        &workload("db", "postgres:16", "b"),
    );
    let (code, out) = compact(dir.path(), &["."], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("edge/service.yaml:7:3: critical kubernetes-database-service-exposed"),
        "{out}"
    );
    assert!(out.contains("Deployment/prod/db"), "{out}");
}

/// The shared-network findings of a compose project whose `site` service
/// is built rather than pulled, beside a Postgres.
fn built_site(dockerfile: &str, build: &str) -> (i32, String) {
    let dir = project();
    write(
        dir.path(),
        "compose.yaml",
        &format!(
            "services:\n  site:\n    build: {build}\n{LABELS}  store:\n    image: postgres:16\n{LABELS}"
        ),
    );
    write(dir.path(), "site/Dockerfile", dockerfile);
    compact(dir.path(), &["--show-undecided", "."], &[])
}

#[test]
fn a_built_service_takes_the_role_of_its_final_base_image() {
    // Multi-stage: the final stage runs nginx, built from an alias.
    let dockerfile = "FROM node:20 AS assets\nRUN npm ci\n\
                      FROM nginx:1.27-alpine AS web\n\
                      FROM web AS final\nCOPY --from=assets /app/dist /usr/share/nginx/html\n";
    for build in ["./site", "{context: site, dockerfile: Dockerfile}"] {
        let (_, out) = built_site(dockerfile, build);
        assert!(
            out.contains("compose-frontend-shares-network-with-database")
                && out.contains(
                    "with frontend service `site` (base image nginx:1.27-alpine of site/Dockerfile)"
                ),
            "{build}: {out}"
        );
    }
    // `target` picks the stage that is built: the Node builder is no
    // frontend.
    let (_, out) = built_site(dockerfile, "{context: site, target: assets}");
    assert!(!out.contains("frontend-shares-network"), "{out}");
}

#[test]
fn a_built_service_whose_dockerfile_is_outside_the_project_is_not_read() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "Dockerfile", "FROM nginx\n");
    let dir = project();
    write(
        dir.path(),
        "compose.yaml",
        &format!(
            "services:\n  site:\n    build: {}\n{LABELS}  store:\n    image: postgres:16\n{LABELS}",
            outside.path().display()
        ),
    );
    let (_, out) = compact(dir.path(), &["--show-undecided", "."], &[]);
    // Not read: the role is not known, so the verdict is undecided.
    assert!(!out.contains("base image nginx"), "{out}");
    assert!(
        out.contains("undecided compose-frontend-shares-network-with-database")
            && out.contains("with unclassified service `site`"),
        "{out}"
    );
}
