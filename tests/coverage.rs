//! What no rule checks: `provcheck check` counts the data stores with a
//! control no rule covers, lists them with `--show-undecided`, and agrees
//! with the inspection report's "not checked" cells.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn provcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
}

const TAGS: &str = r#"tags = { change_request = "OPS-1", approved_by = "cto", owner = "team-a" }"#;

/// An EBS volume (no rule covers its transit encryption, network or
/// backup), an RDS instance (every control covered) and a compose
/// Postgres (no rule covers storage encryption, backup or audit logs).
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "infra/main.tf",
        &format!(
            r#"resource "aws_ebs_volume" "data" {{
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = true
  {TAGS}
}}

resource "aws_db_instance" "records" {{
  engine                  = "postgres"
  instance_class          = "db.t3.micro"
  storage_encrypted       = true
  backup_retention_period = 7
  {TAGS}
}}
"#
        ),
    );
    write(
        dir.path(),
        "app/compose.yaml",
        "services:\n  db:\n    image: postgres:16\n",
    );
    dir
}

#[test]
fn the_summary_counts_data_stores_with_unchecked_controls() {
    let dir = tree();
    let out = provcheck(&["check", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("2 data stores have controls no rule checks: run with --show-undecided."),
        "{text}"
    );
    assert!(!text.contains("Not checked:"), "{text}");
}

#[test]
fn show_undecided_lists_each_store_with_its_unchecked_controls() {
    let dir = tree();
    let out = provcheck(&["check", "--show-undecided", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Not checked:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(listed.len(), 2, "{text}");
    assert!(
        listed[0].ends_with(
            "main.tf:1 aws_ebs_volume.data (aws_ebs_volume): \
             encryption-in-transit, private-network, backup"
        ),
        "{text}"
    );
    assert!(
        listed[1].ends_with(
            "compose.yaml:2 compose:db (compose_service): \
             encryption-at-rest, backup, audit-logging"
        ),
        "{text}"
    );
    assert!(
        !text.contains("aws_db_instance.records (aws_db_instance):"),
        "{text}"
    );
    assert!(
        text.contains(
            "2 data stores have controls no rule checks; listed above under Not checked."
        ),
        "{text}"
    );
}

#[test]
fn a_store_whose_controls_are_all_covered_is_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            "resource \"aws_db_instance\" \"records\" {{\n  engine = \"postgres\"\n  {TAGS}\n}}\n"
        ),
    );
    let text = stdout(&provcheck(&["check", dir.path().to_str().unwrap()]));
    assert!(!text.contains("controls no rule checks"), "{text}");
}

/// The listing is the report's "not checked" cells, store for store.
#[test]
fn the_listing_matches_the_reports_not_checked_cells() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    provcheck(&[
        "inspect",
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
        "fixtures/",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut from_report = BTreeSet::new();
    for store in report["data_stores"].as_array().unwrap() {
        let mut controls: Vec<&str> = store["controls"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, cell)| {
                cell["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("not checked"))
            })
            .map(|(control, _)| control.as_str())
            .collect();
        if controls.is_empty() {
            continue;
        }
        controls.sort_unstable();
        from_report.insert(format!(
            "{} {}: {}",
            store["file"].as_str().unwrap(),
            store["address"].as_str().unwrap(),
            controls.join(", ")
        ));
    }
    let text = stdout(&provcheck(&["check", "--show-undecided", "fixtures/"]));
    let mut from_check = BTreeSet::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("Not checked:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
    {
        // `  file:line address (type): a, b`
        let (place, controls) = line.trim().split_once("): ").unwrap();
        let mut words = place.split(' ');
        let file = words.next().unwrap().rsplit_once(':').unwrap().0;
        let address = words.next().unwrap();
        let mut controls: Vec<&str> = controls.split(", ").collect();
        controls.sort_unstable();
        from_check.insert(format!("{file} {address}: {}", controls.join(", ")));
    }
    assert!(!from_report.is_empty());
    assert_eq!(from_check, from_report);
    let count = format!(
        "{} data stores have controls no rule checks",
        from_report.len()
    );
    assert!(text.contains(&count), "{text}");
}

/// Stores no rule checks at all (BigQuery) are still data stores: listed
/// with every control but the one their platform guarantees, never
/// passed over in silence; a store only one rule reads (Cosmos DB, whose
/// public access is checked) is listed with the rest.
#[test]
fn stores_without_any_rule_are_listed_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.tf",
        &format!(
            r#"resource "google_bigquery_dataset" "events" {{
  dataset_id = "events"
  labels     = {{ change_request = "ops-1", approved_by = "cto", owner = "data" }}
}}

resource "azurerm_cosmosdb_account" "orders" {{
  name       = "orders"
  offer_type = "Standard"
  {TAGS}
}}
"#
        ),
    );
    let out = provcheck(&["check", "--show-undecided", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    for store in [
        "google_bigquery_dataset.events (google_bigquery_dataset): \
         encryption-in-transit, private-network, backup, audit-logging",
        "azurerm_cosmosdb_account.orders (azurerm_cosmosdb_account): \
         encryption-in-transit, backup, audit-logging",
    ] {
        assert!(text.contains(store), "{store}\n{text}");
    }
    assert!(
        text.contains("2 data stores have controls no rule checks"),
        "{text}"
    );
}
