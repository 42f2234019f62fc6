//! `docs/rules/` is generated from the rule files: one page per rule
//! (`provcheck explain ID --format markdown`) and an index. This test
//! fails when a page is stale, missing or left over; `UPDATE_DOCS=1 cargo
//! test --test docs` rewrites them.

use std::collections::BTreeMap;
use std::path::Path;

use provcheck::ruleset::RuleSet;

#[test]
fn docs_rules_are_current() {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "{errors:?}");
    let mut wanted: BTreeMap<String, String> = rules
        .rules
        .iter()
        .map(|r| (format!("{}.md", r.id), provcheck::explain::markdown(r)))
        .collect();
    wanted.insert(
        "README.md".into(),
        provcheck::explain::markdown_index(&rules),
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &wanted {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run UPDATE_DOCS=1 cargo test --test docs",
                dir.display()
            )
        })
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    let expected: Vec<String> = wanted.keys().cloned().collect();
    assert_eq!(
        present, expected,
        "pages missing or left over: run UPDATE_DOCS=1 cargo test --test docs"
    );
    for (name, text) in &wanted {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            on_disk == *text,
            "docs/rules/{name} is stale: run UPDATE_DOCS=1 cargo test --test docs"
        );
    }
}
