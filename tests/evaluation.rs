//! Terraform evaluation end to end: variables from defaults, tfvars, the
//! command line and the environment; locals; modules with for_each;
//! default_tags and default_labels; provenance; unknowns never turned
//! into guesses.

use std::path::{Path, PathBuf};
use std::process::Command;

use provcheck::ruleset::RuleSet;

fn rules() -> RuleSet {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty());
    rules
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An empty project: a temporary folder with a `.git`, its root.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

/// (address, rule id) of every finding.
fn findings(report: &provcheck::Report) -> Vec<(String, String)> {
    report
        .findings
        .iter()
        .map(|f| (f.resource.clone(), f.rule_id.to_string()))
        .collect()
}

const TAGS: &str = r#"tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }"#;

#[test]
fn module_fixture_reports_each_instance_with_provenance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/modules");
    let report = provcheck::check(&[root], &rules());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let mut found = findings(&report);
    found.sort();
    assert_eq!(
        found,
        [
            (
                r#"module.app.module.db["audit"].aws_db_instance.this"#.to_string(),
                "aws-rds-backup-retention-short".to_string()
            ),
            (
                r#"module.app.module.db["audit"].aws_db_instance.this"#.to_string(),
                "aws-rds-storage-unencrypted".to_string()
            ),
            (
                r#"module.app.module.db["ledger"].aws_db_instance.this"#.to_string(),
                "aws-rds-backup-retention-short".to_string()
            ),
        ],
        "default_tags satisfy the approval rules; only the seeded problems remain"
    );
    // The short retention comes from the root's terraform.tfvars, through
    // two module arguments.
    let backup = report
        .findings
        .iter()
        .find(|f| f.rule_id.as_str() == "aws-rds-backup-retention-short")
        .unwrap();
    let origins: Vec<String> = backup
        .related
        .iter()
        .map(|o| {
            let file = &report.files[o.file];
            let line = file.position(o.span.start).line;
            format!(
                "{}:{line} {}",
                file.path.file_name().unwrap().to_string_lossy(),
                o.message
            )
        })
        .collect();
    assert_eq!(
        origins,
        [
            "main.tf:25 argument backup_days of module.db",
            "main.tf:28 argument backup_days of module.app",
            "terraform.tfvars:2 var.backup_days set in fixtures/modules/live/production/terraform.tfvars",
            "main.tf:23 instance module.app is created here",
            "main.tf:18 instance module.app.module.db[\"audit\"] is created here",
        ],
        "{origins:#?}"
    );
}

#[test]
fn variables_follow_terraforms_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let module = format!(
        "variable \"days\" {{\n  type = number\n  default = 1\n}}\nresource \"aws_db_instance\" \"db\" {{\n  storage_encrypted = true\n  backup_retention_period = var.days\n  enabled_cloudwatch_logs_exports = [\"postgresql\"]\n  engine = \"postgres\"\n  {TAGS}\n}}\n"
    );
    write(dir.path(), "main.tf", &module);
    let check = |vars: Vec<(String, String)>, env: Vec<(String, String)>| {
        let settings = provcheck::Settings {
            inputs: provcheck::terraform::module::Inputs {
                vars,
                var_files: Vec::new(),
                env,
                ..Default::default()
            },
            ..Default::default()
        };
        let report = provcheck::check_with(&[dir.path().to_path_buf()], &rules(), &settings);
        findings(&report)
            .into_iter()
            .filter(|(_, r)| r == "aws-rds-backup-retention-short")
            .count()
    };
    // The default (1) is too short.
    assert_eq!(check(vec![], vec![]), 1);
    // The environment sets 10, a number given as text.
    assert_eq!(check(vec![], vec![("days".into(), "10".into())]), 0);
    // A tfvars file wins over the environment...
    write(dir.path(), "terraform.tfvars", "days = 2\n");
    assert_eq!(check(vec![], vec![("days".into(), "10".into())]), 1);
    // ...an auto.tfvars over terraform.tfvars, and --var over both.
    write(dir.path(), "z.auto.tfvars", "days = 9\n");
    assert_eq!(check(vec![], vec![]), 0);
    assert_eq!(check(vec![("days".into(), "3".into())], vec![]), 1);
}

#[test]
fn unset_variables_stay_unknown_and_are_undecided() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!("variable \"encrypted\" {{}}\nresource \"aws_efs_file_system\" \"fs\" {{\n  encrypted = var.encrypted\n  {TAGS}\n}}\n"),
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    assert!(findings(&report).is_empty(), "{:?}", findings(&report));
    assert_eq!(report.undecided.len(), 1);
}

#[test]
fn google_default_labels_merge_under_labels_but_not_cloud_sql_user_labels() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        r#"provider "google" {
  default_labels = { change_request = "ops-9", approved_by = "jdoe", owner = "team-a" }
}
provider "google" {
  alias          = "eu"
  default_labels = { change_request = "ops-10" }
}
resource "google_pubsub_topic" "inherits" {
  name = "inherits"
}
resource "google_pubsub_topic" "overrides" {
  name   = "overrides"
  labels = { owner = "" }
}
resource "google_pubsub_topic" "aliased" {
  provider = google.eu
  name     = "aliased"
}
resource "google_sql_database_instance" "db" {
  database_version = "POSTGRES_15"
  settings {
    tier = "db-f1-micro"
  }
}
"#,
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    let mut found: Vec<(String, String)> = findings(&report)
        .into_iter()
        .filter(|(_, rule)| rule.ends_with("-label-missing"))
        .collect();
    found.sort();
    let expected: Vec<(String, String)> = [
        ("google_pubsub_topic.aliased", "gcp-approver-label-missing"),
        ("google_pubsub_topic.aliased", "gcp-owner-label-missing"),
        ("google_pubsub_topic.overrides", "gcp-owner-label-missing"),
        (
            "google_sql_database_instance.db",
            "gcp-approver-label-missing",
        ),
        (
            "google_sql_database_instance.db",
            "gcp-change-request-label-missing",
        ),
        ("google_sql_database_instance.db", "gcp-owner-label-missing"),
    ]
    .iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn locals_count_and_dynamic_blocks_are_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            r#"locals {{
  ports   = [443, local.db_port]
  db_port = 5432
  tags    = merge({{ owner = "team-a" }}, {{ change_request = "OPS-2", approved_by = "cto" }})
}}

resource "aws_security_group" "web" {{
  dynamic "ingress" {{
    for_each = local.ports
    content {{
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }}
  }}
  tags = local.tags
}}

resource "aws_ebs_volume" "disk" {{
  count     = 3
  encrypted = count.index != 1
  {TAGS}
}}

resource "aws_ebs_volume" "none" {{
  count = 0
}}
"#
        ),
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    let mut found = findings(&report);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "aws_ebs_volume.disk[1]".to_string(),
                "aws-ebs-volume-unencrypted".to_string()
            ),
            (
                "aws_security_group.web".to_string(),
                "aws-security-group-open-database-port".to_string()
            ),
        ]
    );
}

#[test]
fn a_redefined_object_key_takes_the_last_value() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        r#"locals {
  plain  = { encrypted = true, encrypted = false }
  quoted = { encrypted = false, "encrypted" = true }
}

resource "aws_ebs_volume" "plain" {
  encrypted = local.plain.encrypted
  tags      = { change_request = "OPS-1", approved_by = "cto", owner = "a", owner = "b" }
}

resource "aws_ebs_volume" "quoted" {
  encrypted = local.quoted.encrypted
  tags      = { change_request = "OPS-1", approved_by = "cto", owner = "a" }
}
"#,
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(
        findings(&report),
        [(
            "aws_ebs_volume.plain".to_string(),
            "aws-ebs-volume-unencrypted".to_string()
        )]
    );
    let plain = report
        .resources
        .iter()
        .find(|r| r.address == "aws_ebs_volume.plain")
        .unwrap();
    assert_eq!(plain.attributes["tags"]["owner"], "b");
}

#[test]
fn for_expressions_may_break_lines_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            r#"locals {{
  services = {{ web = 443, db = 5432, off = 0 }}
  ports = {{
    for name, port in local
      .services :
    name
    => port
    + 0
    if port
    != 0
  }}
  open = [
    for name in keys(local.ports) :
    local.ports[name]
  ]
}}

resource "aws_security_group" "web" {{
  dynamic "ingress" {{
    for_each = local.open
    content {{
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }}
  }}
  {TAGS}
}}
"#
        ),
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(
        findings(&report),
        [(
            "aws_security_group.web".to_string(),
            "aws-security-group-open-database-port".to_string()
        )]
    );
    let web = report
        .resources
        .iter()
        .find(|r| r.address == "aws_security_group.web")
        .unwrap();
    let ports: Vec<&serde_json::Value> = web.attributes["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ingress| &ingress["from_port"])
        .collect();
    assert_eq!(ports, [5432, 443]);
}

#[test]
fn the_command_line_takes_var_and_var_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!("variable \"enc\" {{\n  type = bool\n}}\nresource \"aws_efs_file_system\" \"fs\" {{\n  encrypted = var.enc\n  {TAGS}\n}}\n"),
    );
    write(dir.path(), "prod.tfvars", "enc = false\n");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_provcheck"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&[
        "check",
        "--format",
        "json",
        "--var-file",
        "prod.tfvars",
        ".",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["rule_id"], "aws-efs-unencrypted");
    assert_eq!(json["findings"][0]["related"][0]["file"], "prod.tfvars");
    assert_eq!(
        json["findings"][0]["related"][0]["span"]["start"]["line"],
        1
    );
    let out = run(&["check", "--format", "compact", "--var", "enc=true", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn self_calling_modules_and_local_cycles_end() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "module \"again\" {\n  source = \"./\"\n}\nlocals {\n  a = local.b\n  b = local.a\n}\n",
    );
    let report = provcheck::check(&[PathBuf::from(dir.path())], &rules());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
}

#[test]
fn installed_remote_modules_are_read_from_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        "module \"storage\" {\n  source  = \"acme/storage/aws\"\n  version = \"1.2.0\"\n  encrypted = false\n}\nmodule \"missing\" {\n  source = \"git::https://example.com/x.git\"\n}\n",
    );
    write(
        dir.path(),
        ".terraform/modules/modules.json",
        r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"storage","Source":"registry.terraform.io/acme/storage/aws","Version":"1.2.0","Dir":".terraform/modules/storage"}]}"#,
    );
    write(
        dir.path(),
        ".terraform/modules/storage/main.tf",
        &format!("variable \"encrypted\" {{\n  type = bool\n}}\nresource \"aws_ebs_volume\" \"data\" {{\n  encrypted = var.encrypted\n  {TAGS}\n}}\n"),
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    assert_eq!(
        findings(&report),
        [(
            "module.storage.aws_ebs_volume.data".to_string(),
            "aws-ebs-volume-unencrypted".to_string()
        )]
    );
    let finding = &report.findings[0];
    assert!(report.files[finding.file]
        .path
        .ends_with(".terraform/modules/storage/main.tf"));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.message.contains("module \"missing\"") && n.message.contains("not scanned")),
        "{:#?}",
        report.notes
    );
}

#[test]
fn sarif_carries_provenance_as_related_locations() {
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "sarif", "fixtures/modules"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let backup = results
        .iter()
        .find(|r| r["ruleId"] == "aws-rds-backup-retention-short")
        .unwrap();
    let related = backup["relatedLocations"].as_array().unwrap();
    // Three places the value was written, then the two module calls.
    assert_eq!(related.len(), 5);
    assert_eq!(
        related[2]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/modules/live/production/terraform.tfvars"
    );
    assert_eq!(related[2]["physicalLocation"]["region"]["startLine"], 2);
}

/// Two environments call one module: each instance is its own finding
/// (distinct fingerprints, the root's call among the related places), and
/// `path.root` names each root module's folder, not the scan's.
#[test]
fn roots_sharing_a_module_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!(
        r#"
variable "encrypted" {{ type = bool }}
locals {{ settings = jsondecode(file("${{path.root}}/settings.json")) }}
resource "aws_db_instance" "this" {{
  engine                  = "postgres"
  engine_version          = "16.3"
  storage_encrypted       = var.encrypted
  backup_retention_period = local.settings.retention
  enabled_cloudwatch_logs_exports = ["postgresql"]
  {TAGS}
}}
"#
    );
    write(dir.path(), "modules/db/main.tf", &db);
    for (env, encrypted, retention) in [("dev", false, 1), ("qa", false, 14), ("prod", true, 14)] {
        write(
            dir.path(),
            &format!("envs/{env}/main.tf"),
            &format!("module \"database\" {{\n  source = \"../../modules/db\"\n  encrypted = {encrypted}\n}}\n"),
        );
        write(
            dir.path(),
            &format!("envs/{env}/settings.json"),
            &format!("{{\"retention\": {retention}}}"),
        );
    }
    // The scanned folder is the root that file functions are confined to.
    let settings = provcheck::Settings {
        root: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let report = provcheck::check_with(&[dir.path().to_path_buf()], &rules(), &settings);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let roots: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let call = f.module.first().expect("a module call");
            provcheck::source::display_path(&report.files[call.file].path)
        })
        .collect();
    // dev and qa are unencrypted; only dev keeps backups 1 day.
    let mut found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .zip(&roots)
        .map(|(f, root)| (root.rsplit('/').nth(1).unwrap(), f.rule_id.as_str()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("dev", "aws-rds-backup-retention-short"),
            ("dev", "aws-rds-storage-unencrypted"),
            ("qa", "aws-rds-storage-unencrypted"),
        ]
    );
    let resources: Vec<_> = report
        .resources
        .iter()
        .filter(|r| r.resource_type == "aws_db_instance")
        .collect();
    assert_eq!(resources.len(), 3);
    let retention: Vec<_> = resources
        .iter()
        .map(|r| r.attributes["backup_retention_period"].clone())
        .collect();
    assert!(
        retention.contains(&serde_json::json!(1)) && retention.contains(&serde_json::json!(14))
    );
    let finding = &report.findings[0];
    assert!(finding
        .related
        .iter()
        .any(|o| o.message.contains("module.database")));
    // The same rule on the same address in two roots: two fingerprints.
    let fingerprints: std::collections::BTreeSet<_> =
        report.findings.iter().map(|f| &f.fingerprint).collect();
    assert_eq!(fingerprints.len(), 3);
}

/// Relations survive module boundaries: subnets and security groups
/// passed into a database module, straight or through another module's
/// outputs, still link the database to them.
#[test]
fn relations_cross_module_arguments_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "modules/network/main.tf",
        &format!(
            r#"
resource "aws_vpc" "this" {{
  cidr_block = "10.0.0.0/16"
  {TAGS}
}}
resource "aws_subnet" "public" {{
  vpc_id                  = aws_vpc.this.id
  cidr_block              = "10.0.1.0/24"
  map_public_ip_on_launch = true
  {TAGS}
}}
output "public_subnet_ids" {{ value = [aws_subnet.public.id] }}
"#
        ),
    );
    write(
        dir.path(),
        "modules/db/main.tf",
        &format!(
            r#"
variable "subnet_ids" {{ type = list(string) }}
variable "security_group_ids" {{ type = list(string) }}
resource "aws_db_subnet_group" "this" {{
  name       = "db"
  subnet_ids = var.subnet_ids
  {TAGS}
}}
resource "aws_db_instance" "this" {{
  engine                          = "postgres"
  engine_version                  = "16.3"
  storage_encrypted               = true
  backup_retention_period         = 7
  enabled_cloudwatch_logs_exports = ["postgresql"]
  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = var.security_group_ids
  {TAGS}
}}
"#
        ),
    );
    write(
        dir.path(),
        "live/main.tf",
        &format!(
            r#"
module "network" {{ source = "../modules/network" }}
resource "aws_security_group" "open" {{
  ingress {{
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }}
  {TAGS}
}}
module "db" {{
  source             = "../modules/db"
  subnet_ids         = module.network.public_subnet_ids
  security_group_ids = [aws_security_group.open.id]
}}
"#
        ),
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let found = findings(&report);
    for rule in [
        "aws-database-in-public-subnet",
        "aws-database-reachable-from-internet",
    ] {
        assert!(
            found.contains(&(
                "module.db.aws_db_instance.this".to_string(),
                rule.to_string()
            )),
            "{rule} in {found:#?}"
        );
    }
}

/// A database whose encryption is `storage_encrypted = {encrypted}`, and
/// otherwise compliant.
fn database(name: &str, encrypted: &str) -> String {
    format!(
        r#"resource "aws_db_instance" "{name}" {{
  engine                          = "postgres"
  engine_version                  = "16.3"
  storage_encrypted               = {encrypted}
  backup_retention_period         = 7
  enabled_cloudwatch_logs_exports = ["postgresql"]
  {TAGS}
}}
"#
    )
}

/// `provcheck check --format json ARGS` in `dir`: the exit code and the
/// report.
fn check_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

/// (file, rule id) of every finding in a JSON report.
fn located(json: &serde_json::Value) -> Vec<(String, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn notes(json: &serde_json::Value) -> Vec<String> {
    json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n["file"].as_str().unwrap(),
                n["message"].as_str().unwrap()
            )
        })
        .collect()
}

/// A module called from the checked folder but lying outside it is read
/// and evaluated with the caller's arguments, once per call, and its
/// findings are located in its own files.
#[test]
fn local_modules_outside_the_checked_folder_are_read() {
    let dir = project();
    write(
        dir.path(),
        "modules/db/main.tf",
        &format!(
            "variable \"encrypted\" {{\n  type    = bool\n  default = true\n}}\n{}",
            database("this", "var.encrypted")
        ),
    );
    write(
        dir.path(),
        "live/prod/main.tf",
        "module \"db\" {\n  source    = \"../../modules/db\"\n  encrypted = false\n}\nmodule \"replica\" {\n  source = \"../../modules/db\"\n}\n",
    );
    let (code, json) = check_json(dir.path(), &["live/prod"]);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(
        located(&json),
        [(
            "modules/db/main.tf".to_string(),
            "aws-rds-storage-unencrypted".to_string()
        )],
        "{json:#}"
    );
    let finding = &json["findings"][0];
    assert_eq!(finding["resource"], "module.db.aws_db_instance.this");
    // The value and the call that reached the module from the checked
    // folder.
    let related: Vec<String> = finding["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["file"].as_str().unwrap(),
                r["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        related,
        [
            "live/prod/main.tf argument encrypted of module.db",
            "live/prod/main.tf instance module.db is created here"
        ]
    );
    let notes = notes(&json);
    assert!(notes.is_empty(), "{notes:#?}");
    // From inside the folder, the same: paths are relative to the
    // project root (the work tree), not to the current folder.
    let (code, json) = check_json(&dir.path().join("live/prod"), &["."]);
    assert_eq!(code, 1);
    assert_eq!(
        json["findings"][0]["file"], "modules/db/main.tf",
        "{json:#}"
    );
}

/// Nothing outside the project root is read, whether a source climbs out
/// of it or a symbolic link inside it leads out.
#[cfg(unix)]
#[test]
fn module_sources_outside_the_project_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "elsewhere/db/main.tf",
        &database("this", "false"),
    );
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::create_dir_all(project.join("modules")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere/db"), project.join("modules/db"))
        .unwrap();
    write(
        &project,
        "live/prod/main.tf",
        "module \"climbs\" {\n  source = \"../../../elsewhere/db\"\n}\nmodule \"linked\" {\n  source = \"../../modules/db\"\n}\noutput \"id\" {\n  value = module.linked.id\n}\n",
    );
    // The root declares no resource of its own: nothing to check is fine.
    let (code, json) = check_json(&project, &["--allow-empty", "live/prod"]);
    assert_eq!(code, 0, "{json:#}");
    assert!(located(&json).is_empty(), "{json:#}");
    let notes = notes(&json);
    for call in ["climbs", "linked"] {
        assert!(
            notes
                .iter()
                .any(|n| n.contains(&format!("module \"{call}\""))
                    && n.contains("outside the project; not read")),
            "{call}: {notes:#?}"
        );
    }
}

/// A module folder the configuration excludes is not read for a call
/// either: its findings would be in excluded files.
#[test]
fn excluded_module_folders_are_not_read() {
    let dir = project();
    write(dir.path(), ".provcheck.yaml", "exclude: [\"vendor/**\"]\n");
    write(dir.path(), "vendor/db/main.tf", &database("this", "false"));
    write(
        dir.path(),
        "live/main.tf",
        "module \"db\" {\n  source = \"../vendor/db\"\n}\n",
    );
    let (code, json) = check_json(dir.path(), &["--allow-empty", "live"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(
        notes(&json),
        ["live/main.tf: module \"db\" (source \"../vendor/db\"): its source folder is excluded by the configuration; not read: its outputs are unknown"]
    );
}

/// Roots are evaluated in batches of about `BATCH_BYTES` of text, each
/// batch's files parsed anew: a module every root calls is evaluated
/// through each of them, whichever batch they fall in, and its own
/// errors are said once.
#[test]
fn roots_in_several_batches_are_each_evaluated_once() {
    let dir = project();
    write(
        dir.path(),
        "modules/db/main.tf",
        &format!(
            r#"variable "encrypted" {{ type = bool }}

resource "aws_db_instance" "this" {{
  engine                  = "postgres"
  storage_encrypted       = var.encrypted
  backup_retention_period = 7
  {TAGS}
}}

resource "aws_s3_bucket" {{
}}
"#
        ),
    );
    // Comments make each root large enough that they cannot share one
    // batch.
    let padding = format!("# {}\n", "x".repeat(98)).repeat(500);
    let roots = 48;
    for i in 0..roots {
        write(
            dir.path(),
            &format!("live/r{i:02}/main.tf"),
            &format!(
                r#"{padding}
module "db" {{
  source    = "../../modules/db"
  encrypted = {encrypted}
}}

resource "aws_ebs_volume" "scratch" {{
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = false
  {TAGS}
}}
"#,
                encrypted = i % 2 == 0,
            ),
        );
    }
    assert!(
        roots * padding.len() > 2 * provcheck::terraform::module::BATCH_BYTES,
        "the tree must need several batches"
    );
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    let by_rule = |rule: &str| {
        let mut files: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.rule_id.to_string() == rule)
            .map(|f| report.files[f.file].display_path())
            .collect();
        files.sort();
        files
    };
    // One unencrypted volume per root, each in its own file.
    let volumes = by_rule("aws-ebs-volume-unencrypted");
    assert_eq!(volumes.len(), roots, "{volumes:#?}");
    let mut distinct = volumes.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), roots);
    // The module's database, unencrypted through the odd roots only:
    // one finding per instance, each naming the call of its root.
    let databases: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule_id.to_string() == "aws-rds-storage-unencrypted")
        .collect();
    assert_eq!(databases.len(), roots / 2, "{databases:#?}");
    let mut callers: Vec<String> = databases
        .iter()
        .flat_map(|f| &f.related)
        .map(|origin| report.files[origin.file].display_path())
        .filter(|path| path.contains("/live/"))
        .collect();
    callers.sort();
    callers.dedup();
    let odd: Vec<String> = (0..roots)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("live/r{i:02}/main.tf"))
        .collect();
    assert_eq!(callers.len(), odd.len(), "{callers:#?}");
    for (caller, expected) in callers.iter().zip(&odd) {
        assert!(caller.ends_with(expected), "{caller} {expected}");
    }
    // The module's broken block, read in every batch, is one error.
    let broken: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.path.ends_with("modules/db/main.tf"))
        .collect();
    assert_eq!(broken.len(), 1, "{:#?}", report.errors);
}
