//! Terraform's semantics that decide verdicts: `null` arguments,
//! `optional()` attributes, links kept inside one root module, read
//! replicas, and messages that state the value in effect.

use std::path::Path;

use provcheck::ruleset::RuleSet;

fn rules() -> RuleSet {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "{errors:?}");
    rules
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Checks a tree of `(path, text)` files.
fn check(files: &[(&str, &str)]) -> provcheck::Report {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    let report = provcheck::check(&[dir.path().to_path_buf()], &rules());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    report
}

/// `address rule-id line` of every finding, sorted.
fn findings(report: &provcheck::Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .findings
        .iter()
        .filter(|f| !f.rule_id.as_str().ends_with("-tag-missing"))
        .map(|f| {
            let line = report.files[f.file].position(f.span.start).line;
            format!("{} {} {line}", f.resource, f.rule_id)
        })
        .collect();
    out.sort();
    out
}

fn undecided(report: &provcheck::Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .undecided
        .iter()
        .filter(|f| !f.rule_id.as_str().ends_with("-tag-missing"))
        .map(|f| format!("{} {}", f.resource, f.rule_id))
        .collect();
    out.sort();
    out
}

fn message<'r>(report: &'r provcheck::Report, rule: &str) -> &'r str {
    &report
        .findings
        .iter()
        .find(|f| f.rule_id.as_str() == rule)
        .unwrap_or_else(|| panic!("no {rule} finding"))
        .message
}

#[test]
fn null_arguments_mean_the_provider_default() {
    let report = check(&[(
        "main.tf",
        r#"
variable "replica" {
  default = null
}
variable "public" {
  default = null
}
resource "aws_db_instance" "db" {
  engine                          = "postgres"
  storage_encrypted               = false
  backup_retention_period         = 1
  replicate_source_db             = var.replica
  publicly_accessible             = var.public
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
resource "aws_elasticache_replication_group" "cache" {
  description                = "sessions"
  transit_encryption_enabled = true
  transit_encryption_mode    = null
  at_rest_encryption_enabled = true
  snapshot_retention_limit   = 7
}
# policy: change_request=OPS-1 approved_by=cto owner=records-team
resource "aptible_database" "records" {
  env_id         = 1
  handle         = "records"
  database_type  = "postgresql"
  enable_backups = null
}
"#,
    )]);
    assert_eq!(
        findings(&report),
        [
            "aws_db_instance.db aws-rds-backup-retention-short 11",
            "aws_db_instance.db aws-rds-storage-unencrypted 10",
        ],
        "a null replicate_source_db is no replica, a null publicly_accessible \
         is the default false, a null transit_encryption_mode is the default \
         (required), a null enable_backups is the default true"
    );
}

#[test]
fn null_module_arguments_follow_nullable() {
    let module = r#"
variable "encrypted" {
  default = true
}
variable "retention" {
  type     = number
  default  = 14
  nullable = false
}
variable "tags" {
  default = {}
}
resource "aws_db_instance" "this" {
  engine                          = "postgres"
  storage_encrypted               = var.encrypted
  backup_retention_period         = var.retention
  enabled_cloudwatch_logs_exports = ["postgresql"]
  tags                            = var.tags
}
"#;
    let report = check(&[
        ("modules/db/main.tf", module),
        (
            "live/main.tf",
            r#"
module "db" {
  source    = "../modules/db"
  encrypted = null
  retention = null
  tags      = { owner = "team-a", approved_by = null, change_request = "OPS-1" }
}
"#,
        ),
    ]);
    let mut found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {}", f.resource, f.rule_id))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "module.db.aws_db_instance.this aws-approver-tag-missing",
            "module.db.aws_db_instance.this aws-rds-storage-unencrypted",
        ],
        "null passed to a nullable variable is null (the provider default \
         applies); to a non-nullable one, its default; a null tag is no tag"
    );
}

#[test]
fn optional_object_attributes_take_their_defaults() {
    let report = check(&[(
        "main.tf",
        r#"
variable "databases" {
  type = map(object({
    engine    = string
    encrypted = optional(bool, true)
    retention = optional(number, 14)
    tags      = optional(map(string), {})
    replica   = optional(string)
  }))
  default = {
    ledger = { engine = "postgres" }
    audit  = { engine = "postgres", encrypted = false, retention = "3", tags = { owner = "a" } }
  }
}
resource "aws_db_instance" "db" {
  for_each                        = var.databases
  engine                          = each.value.engine
  storage_encrypted               = each.value.encrypted
  backup_retention_period         = each.value.retention
  replicate_source_db             = each.value.replica
  enabled_cloudwatch_logs_exports = ["postgresql"]
  tags                            = each.value.tags
}
"#,
    )]);
    assert_eq!(
        findings(&report),
        [
            "aws_db_instance.db[\"audit\"] aws-rds-backup-retention-short 19",
            "aws_db_instance.db[\"audit\"] aws-rds-storage-unencrypted 18",
        ]
    );
    assert_eq!(undecided(&report), Vec::<String>::new());
}

#[test]
fn links_stay_inside_their_root_module() {
    let db = |engine: &str, family: &str, parameter: &str| {
        format!(
            r#"
resource "aws_db_parameter_group" "pg" {{
  name   = "params"
  family = "{family}"
  {parameter}
}}
resource "aws_db_instance" "db" {{
  engine                          = "{engine}"
  storage_encrypted               = true
  backup_retention_period         = 7
  enabled_cloudwatch_logs_exports = ["audit"]
  parameter_group_name            = aws_db_parameter_group.pg.name
}}
"#
        )
    };
    let mysql = db("mysql", "mysql8.0", "");
    let postgres = db(
        "postgres",
        "postgres17",
        r#"parameter {
    name  = "rds.force_ssl"
    value = "1"
  }"#,
    );
    // A bucket in one root, and an unknown public access block and an
    // account-wide one in others.
    let bucket = r#"
resource "aws_s3_bucket" "data" {
  bucket = "data"
}
"#;
    let unknown_block = r#"
variable "bucket" {}
resource "aws_s3_bucket_public_access_block" "b" {
  bucket                  = var.bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
"#;
    let account_wide = r#"
resource "aws_s3_account_public_access_block" "all" {
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
"#;
    let report = check(&[
        ("examples/mysql/main.tf", &mysql),
        ("examples/postgres/main.tf", &postgres),
        ("examples/bucket/main.tf", bucket),
        ("examples/unknown-block/main.tf", unknown_block),
        ("examples/account/main.tf", account_wide),
    ]);
    let found: Vec<String> = findings(&report)
        .into_iter()
        .filter(|f| f.contains("ssl") || f.contains("public-access"))
        .collect();
    assert_eq!(
        found,
        [
            "aws_db_instance.db aws-rds-ssl-not-enforced 7",
            "aws_s3_bucket.data aws-s3-bucket-public-access-not-blocked 2",
        ],
        "the MySQL instance is judged by its own parameter group, not the \
         PostgreSQL one next door; the bucket by the blocks of its own root"
    );
    let ssl = report
        .findings
        .iter()
        .find(|f| f.rule_id.as_str() == "aws-rds-ssl-not-enforced")
        .unwrap();
    assert!(report.files[ssl.file]
        .path
        .ends_with("examples/mysql/main.tf"));
}

#[test]
fn replicas_take_their_sources_verdict() {
    let report = check(&[(
        "main.tf",
        r#"
resource "aws_db_instance" "primary" {
  identifier                      = "records"
  engine                          = "postgres"
  storage_encrypted               = false
  backup_retention_period         = 7
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
resource "aws_db_instance" "replica" {
  replicate_source_db             = aws_db_instance.primary.identifier
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
resource "aws_db_instance" "elsewhere" {
  replicate_source_db             = "arn:aws:rds:eu-west-1:123456789012:db:managed-elsewhere"
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
"#,
    )]);
    assert_eq!(
        findings(&report),
        [
            "aws_db_instance.primary aws-rds-storage-unencrypted 5",
            "aws_db_instance.replica aws-rds-replica-unencrypted 9",
        ]
    );
    let replica = report
        .findings
        .iter()
        .find(|f| f.rule_id.as_str() == "aws-rds-replica-unencrypted")
        .unwrap();
    assert!(
        replica.message.contains("aws_db_instance.primary"),
        "{}",
        replica.message
    );
    let examined: Vec<usize> = replica
        .related
        .iter()
        .map(|o| report.files[o.file].position(o.span.start).line)
        .collect();
    assert_eq!(examined, [2], "the source is related to the finding");
    assert!(
        undecided(&report)
            .contains(&"aws_db_instance.elsewhere aws-rds-replica-unencrypted".into()),
        "a replica whose source is not in the scan is undecided: {:?}",
        undecided(&report)
    );
}

#[test]
fn messages_state_the_value_in_effect_and_its_origin() {
    let report = check(&[(
        "main.tf",
        r#"
variable "encrypted" {
  default = false
}
variable "public" {}
resource "aws_db_instance" "db" {
  engine                          = "postgres"
  storage_encrypted               = var.encrypted
  enabled_cloudwatch_logs_exports = ["postgresql"]
  publicly_accessible             = var.public
}
"#,
    )]);
    assert_eq!(
        message(&report, "aws-rds-storage-unencrypted"),
        "Database storage is not encrypted at rest (storage_encrypted = false, \
         from default of var.encrypted)",
        "never 'defaults to false' for a value set through a variable"
    );
    assert_eq!(
        message(&report, "aws-rds-backup-retention-short"),
        "Automated backups are kept for less than 7 days (backup_retention_period \
         is not set: the provider default is 0 (no backups) for an aws_db_instance, \
         1 day for an aws_rds_cluster, and no aws_backup_selection covers it with a \
         daily plan)"
    );
    let public = report
        .undecided
        .iter()
        .find(|f| f.rule_id.as_str() == "aws-rds-publicly-accessible")
        .expect("undecided");
    assert_eq!(
        public.message,
        "Database instance is publicly accessible (depends on var.public, which \
         is not known statically)",
        "never '= true' for an unknown value"
    );
}

#[test]
fn a_value_from_the_environment_is_never_quoted() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        r#"
variable "encrypted" {}
resource "aws_db_instance" "db" {
  engine                          = "postgres"
  storage_encrypted               = var.encrypted
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
"#,
    );
    let settings = provcheck::Settings {
        inputs: provcheck::terraform::module::Inputs {
            env: vec![("encrypted".into(), "no, hunter2".into())],
            ..Default::default()
        },
        ..Default::default()
    };
    let report = provcheck::check_with(&[dir.path().to_path_buf()], &rules(), &settings);
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule_id.as_str() == "aws-rds-storage-unencrypted")
        .expect("a string is not true");
    assert_eq!(
        finding.message,
        "Database storage is not encrypted at rest (storage_encrypted is set from \
         TF_VAR_encrypted in the environment; its value is not shown)"
    );
    // Where it came in: the variable's declaration.
    let related: Vec<(usize, &str)> = finding
        .related
        .iter()
        .map(|o| {
            let file = &report.files[o.file];
            (file.position(o.span.start).line, &*o.message)
        })
        .collect();
    assert_eq!(related, [(2, "TF_VAR_encrypted in the environment")]);
}

#[test]
fn the_report_passes_only_what_a_rule_evaluated() {
    let report = check(&[(
        "main.tf",
        r#"
resource "aws_db_instance" "primary" {
  identifier                      = "records"
  engine                          = "postgres"
  storage_encrypted               = true
  backup_retention_period         = 7
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
resource "aws_db_instance" "replica" {
  replicate_source_db             = aws_db_instance.primary.identifier
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
"#,
    )]);
    let rules = rules();
    let model = provcheck::inspect::build(&report, &rules, &Default::default());
    let cell = |address: &str, control: &str| {
        let store = model
            .data_stores
            .iter()
            .find(|s| s.address == address)
            .unwrap_or_else(|| panic!("no store {address}"));
        let cell = store.controls.get(control).unwrap();
        (cell.verdict, cell.reason.clone().unwrap_or_default())
    };
    // A replica's backups are its source's: the source's verdict, linked.
    let (verdict, reason) = cell("aws_db_instance.replica", "backup");
    assert_eq!(verdict, "pass", "{reason}");
    assert!(
        reason.starts_with("as its source database aws_db_instance.primary: kept 7 days"),
        "{reason}"
    );
    let replica = model
        .data_stores
        .iter()
        .find(|s| s.address == "aws_db_instance.replica")
        .unwrap();
    assert_eq!(
        replica.controls.get("backup").unwrap().from.as_deref(),
        Some("aws_db_instance.primary")
    );
    assert_eq!(replica.backup_retention_days, Some(7));
    let (verdict, reason) = cell("aws_db_instance.replica", "encryption-at-rest");
    assert_eq!(
        (verdict, reason.as_str()),
        (
            "pass",
            "checked by aws-rds-replica-unencrypted on known values"
        ),
        "the replica is judged by its source, not by a rule that skips it"
    );
    let (verdict, _) = cell("aws_db_instance.primary", "backup");
    assert_eq!(verdict, "pass");
}
