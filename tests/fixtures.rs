//! The fixture trees, checked end to end: every finding must be announced
//! by an `# expect: <rule-id>...` comment on its line, and every
//! announcement must be found. Broken files are reported without hiding
//! the findings in the others.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use provcheck::ruleset::RuleSet;
use provcheck::source::display_path;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// (file, line, rule id) for every `# expect:` annotation under `dir`.
fn expectations(dir: &Path, relative_to: &Path) -> BTreeSet<(String, usize, String)> {
    let mut expected = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "tf") {
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
    // Every rule is exercised somewhere in the fixtures.
    let (rules, _) = RuleSet::load(&[]);
    let fired: BTreeSet<&str> = found.iter().map(|(_, _, id)| id.as_str()).collect();
    for rule in &rules.rules {
        assert!(
            fired.contains(rule.id.as_str()),
            "{} never fires in fixtures/terraform",
            rule.id
        );
    }
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
            ("binary.tf".to_string(), true),
            ("syntax.tf".to_string(), true)
        ],
        "{:#?}",
        report.errors
    );
    // Four files were read, the empty one included.
    assert_eq!(report.files_read, 4);
}
