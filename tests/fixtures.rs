//! The fixture trees, checked end to end: every finding must be announced
//! by an `# expect: <rule-id>...` comment on its line, and every
//! announcement must be found. Broken files are reported without hiding
//! the findings in the others.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use provcheck::ruleset::{RuleSet, Target};
use provcheck::source::display_path;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Whether the file is one the fixtures announce findings in: Terraform,
/// YAML (Kubernetes, compose) or a Dockerfile.
fn is_checked(path: &Path) -> bool {
    provcheck::discover::format_of(path).is_some()
}

/// (file, line, rule id) for every `# expect:` annotation under `dir`.
fn expectations(dir: &Path, relative_to: &Path) -> BTreeSet<(String, usize, String)> {
    let mut expected = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() || !is_checked(entry.path()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let path = display_path(entry.path().strip_prefix(relative_to).unwrap());
        for (i, line) in text.lines().enumerate() {
            if let Some((_, ids)) = line.split_once("# expect:") {
                for id in ids.split_whitespace() {
                    expected.insert((path.clone(), i + 1, id.to_string()));
                }
            }
        }
    }
    expected
}

fn check(paths: &[PathBuf]) -> (provcheck::Report, BTreeSet<(String, usize, String)>) {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty());
    let report = provcheck::check(paths, &rules);
    let found = report
        .findings
        .iter()
        .map(|f| {
            let file = &report.files[f.file];
            let path = display_path(file.path.strip_prefix(root()).unwrap());
            (
                path,
                file.position(f.span.start).line,
                f.rule_id.to_string(),
            )
        })
        .collect();
    (report, found)
}

#[test]
fn terraform_fixtures_produce_exactly_the_announced_findings() {
    let dir = root().join("terraform");
    let expected = expectations(&dir, &root());
    assert!(
        expected.len() > 20,
        "the fixtures announce too little: {}",
        expected.len()
    );
    let (report, found) = check(&[dir]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
    // Every Terraform rule is exercised somewhere in the fixtures.
    every_rule_fires(&found, Target::Terraform, "fixtures/terraform");
    // Some values are unknown and left undecided, not reported.
    assert!(!report.undecided.is_empty());
}

#[test]
fn broken_files_are_errors_with_spans_and_hide_nothing_else() {
    let dir = root().join("broken");
    let expected = expectations(&dir, &root());
    let (report, found) = check(&[dir]);
    assert_eq!(found, expected);
    assert!(!found.is_empty(), "ok.tf must still be checked");
    let errors: Vec<(String, bool)> = report
        .errors
        .iter()
        .map(|e| {
            let name = e.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, e.span.is_some())
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("Dockerfile".to_string(), true),
            ("bad.yaml".to_string(), true),
            ("binary.tf".to_string(), true),
            ("bomb.yaml".to_string(), true),
            ("syntax.tf".to_string(), true)
        ],
        "{:#?}",
        report.errors
    );
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert!(messages[0].contains("unknown Dockerfile instruction `FORM`"));
    assert!(messages[1].starts_with("YAML syntax error"));
    assert!(messages[3].contains("alias bomb"));
    // Seven files were read, the empty one included.
    assert_eq!(report.files_read, 7);
}

/// Every rule of `target` fires somewhere in `found`.
fn every_rule_fires(found: &BTreeSet<(String, usize, String)>, target: Target, dir: &str) {
    let (rules, _) = RuleSet::load(&[]);
    let fired: BTreeSet<&str> = found.iter().map(|(_, _, id)| id.as_str()).collect();
    for rule in rules.rules.iter().filter(|r| r.target == target) {
        if rule.pack == "provcheck" {
            continue;
        }
        assert!(
            fired.contains(rule.id.as_str()),
            "{} never fires in {dir}",
            rule.id
        );
    }
}

/// Checks a fixture folder whose files all parse: the findings are exactly
/// the announced ones.
fn exactly_the_announced_findings(
    folder: &str,
) -> (provcheck::Report, BTreeSet<(String, usize, String)>) {
    let dir = root().join(folder);
    let expected = expectations(&dir, &root());
    assert!(!expected.is_empty(), "{folder} announces nothing");
    let (report, found) = check(&[dir]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
    (report, found)
}

#[test]
fn kubernetes_fixtures_produce_exactly_the_announced_findings() {
    let (report, found) = exactly_the_announced_findings("kubernetes");
    every_rule_fires(&found, Target::Kubernetes, "fixtures/kubernetes");
    // The compliant shop is clean, and the Helm chart's templates are
    // skipped, not reported as broken YAML.
    assert!(found.iter().all(|(file, _, _)| !file.contains("/shop/")));
    let addresses: BTreeSet<&str> = report
        .resources
        .iter()
        .filter(|r| r.kind == provcheck::model::BlockKind::Manifest)
        .map(|r| r.address.as_str())
        .collect();
    for address in [
        "Deployment/shop/storefront",
        "StatefulSet/shop/postgres",
        "Namespace/shop",
        "Ingress/shop/storefront",
        "NetworkPolicy/shop/default-deny",
    ] {
        assert!(addresses.contains(address), "{address} in {addresses:#?}");
    }
    assert!(!addresses.iter().any(|a| a.contains("{{")));
}

#[test]
fn compose_fixtures_produce_exactly_the_announced_findings() {
    let (report, found) = exactly_the_announced_findings("compose");
    every_rule_fires(&found, Target::Compose, "fixtures/compose");
    assert!(found.iter().all(|(file, _, _)| !file.contains("/shop/")));
    // The override's port lands in the override file, the network
    // findings on the base file's service.
    assert!(found.contains(&(
        "compose/legacy/compose.override.yaml".to_string(),
        6,
        "compose-database-port-published".to_string()
    )));
    // `${VAR}` from .env resolves; an unset one leaves its value unknown.
    let db = report
        .resources
        .iter()
        .find(|r| {
            r.address == "compose:db" && report.files[r.file].path.ends_with("shop/compose.yaml")
        })
        .unwrap();
    assert_eq!(db.attributes["image"], "postgres:16.3-alpine");
    let reports = report
        .resources
        .iter()
        .find(|r| r.address == "compose:reports")
        .unwrap();
    assert!(reports.unknown.contains("/image"));
    assert!(
        report
            .undecided
            .iter()
            .any(|f| f.resource == "compose:reports"),
        "the service of unknown image is left undecided"
    );
}

#[test]
fn docker_fixtures_produce_exactly_the_announced_findings() {
    let (_, found) = exactly_the_announced_findings("docker");
    every_rule_fires(&found, Target::Dockerfile, "fixtures/docker");
    assert!(found.iter().all(|(file, _, _)| !file.contains("/shop/")));
}
