//! Meta-tests over the rule pack: every file valid against the published
//! rule schema, ids unique and well-formed, every rule documented and
//! exemplified, every policy clause real.

use std::collections::BTreeSet;
use std::path::Path;

use provcheck::ruleset::{RuleSet, RULE_SCHEMA};
use provcheck::source::SourceFile;

fn rule_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    walkdir::WalkDir::new(&root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "type-sets"))
        .collect()
}

#[test]
fn every_rule_file_is_valid_against_the_rule_schema() {
    let schema: serde_json::Value = serde_json::from_str(RULE_SCHEMA).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let files = rule_files();
    assert!(
        files.len() >= 16,
        "expected the built-in pack, found {}",
        files.len()
    );
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let docs = provcheck::parse::yaml::parse(&SourceFile::new(path.clone(), text)).unwrap();
        assert_eq!(
            docs.len(),
            1,
            "{}: one document per rule file",
            path.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&docs[0].value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn ids_are_unique_and_every_file_is_loaded() {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "{errors:#?}");
    let ids: BTreeSet<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rules.rules.len(), "duplicate rule ids");
    assert_eq!(rules.rules.len(), rule_files().len());
    for rule in &rules.rules {
        // The file name is the id without its pack prefix.
        let file = Path::new(rule.origin.trim_start_matches("builtin:"));
        let stem = file.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            rule.id.as_str(),
            format!("{}-{stem}", rule.pack),
            "rule file names follow <pack>/<id without pack>.yaml"
        );
    }
}

#[test]
fn every_rule_is_documented_exemplified_and_tied_to_a_clause() {
    let (rules, _) = RuleSet::load(&[]);
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/policies");
    let cmp = std::fs::read_to_string(policies.join("configuration-management-policy.txt")).ok();
    let osp = std::fs::read_to_string(policies.join("operations-security-procedure.txt")).ok();
    for rule in &rules.rules {
        assert!(!rule.description.trim().is_empty(), "{}", rule.id);
        assert!(!rule.remediation.trim().is_empty(), "{}", rule.id);
        assert!(
            !rule.examples.pass.is_empty(),
            "{} has no pass example",
            rule.id
        );
        assert!(
            !rule.examples.fail.is_empty(),
            "{} has no fail example",
            rule.id
        );
        // Only the suppression-audit rules apply to no resource type.
        let audit = matches!(
            rule.check,
            provcheck::ruleset::Check::Native(provcheck::engine::native::Native::SuppressionAudit)
        );
        assert_eq!(rule.resource_types.is_empty(), audit, "{}", rule.id);
        for control in &rule.controls {
            // Each clause must exist in its policy, when the policies are
            // beside the checkout (they are in CI and for developers).
            let (doc, clause) = control.split_once(' ').unwrap();
            let text = match doc {
                "CMP" => cmp.as_deref(),
                "OSP" => osp.as_deref(),
                other => panic!("{}: unknown policy {other}", rule.id),
            };
            if let Some(text) = text {
                assert!(
                    clause_exists(text, doc, clause),
                    "{}: {control} not found in the policy",
                    rule.id
                );
            }
        }
    }
}

/// CMP numbers its items `8.3` + a list item `4.`; OSP writes `3.2.` in full.
fn clause_exists(text: &str, doc: &str, clause: &str) -> bool {
    if doc == "OSP" {
        return text
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{clause}.")));
    }
    let Some((section, item)) = clause.rsplit_once('.') else {
        return false;
    };
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim_start();
        // Section headings read `8.3 Provisioning ...`; items read `4. ...`.
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('.') && !first.ends_with('.') {
            in_section = first == section;
            continue;
        }
        if in_section && line.starts_with(&format!("{item}.")) {
            return true;
        }
    }
    false
}

/// The type set the ePHI rule uses and the report's kind table name the
/// same Terraform data stores.
/// The part of an explain page written by Rust rather than copied from
/// the rule file: the `check:` line and how the check works, on one line.
fn generated(page: &str) -> String {
    let check = page.lines().find(|l| l.starts_with("check:")).unwrap_or("");
    let how = page
        .split_once("\nHow it is checked:\n")
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or(""))
        .unwrap_or("");
    // Words rewrapped into one line, as they read.
    format!("{check}\n{how}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn explain_pages_say_in_words_what_native_checks_do() {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "{errors:#?}");
    // What Rust's Debug output looks like: `Some(..)`, `Params { subjects: ..`.
    let debug_struct = regex::Regex::new(r"[A-Z][A-Za-z]* \{ [a-z_]+: |\{ [a-z_]+: ").unwrap();
    for rule in &rules.rules {
        let page = provcheck::explain::explain(rule);
        for marker in [
            "Some(",
            "None",
            "Params {",
            "Object {",
            "Array [",
            "String(",
            "Bool(",
            "Number(",
            "Regex(",
            "CompiledSchema",
            "Validator",
            "GlobSet",
            "Classifier {",
        ] {
            assert!(!page.contains(marker), "{}: {marker:?} in\n{page}", rule.id);
        }
        let generated = generated(&page);
        assert!(
            !debug_struct.is_match(&generated),
            "{}: a Debug dump in\n{generated}",
            rule.id
        );
        if matches!(rule.check, provcheck::ruleset::Check::Native(_)) {
            assert!(
                page.contains("\nHow it is checked:\n    "),
                "{}: no words on the native check in\n{page}",
                rule.id
            );
        }
    }
    let page = provcheck::explain::explain(
        rules
            .get("aws-s3-bucket-public-access-not-blocked")
            .expect("the rule exists"),
    );
    let how = generated(&page);
    for expected in [
        "native check `linked`",
        "`aws_s3_bucket_public_access_block` refers to it in `bucket`",
        "`restrict_public_buckets` is true",
        "`aws_s3_account_public_access_block`",
    ] {
        assert!(how.contains(expected), "missing {expected:?} in\n{how}");
    }
    let page = provcheck::explain::explain(
        rules
            .get("kubernetes-change-request-missing")
            .expect("the rule exists"),
    );
    let how = generated(&page);
    for expected in [
        "the `change_request` annotation or label",
        "`/metadata/annotations` or `/metadata/labels`, looked up in that order",
        "`^[A-Z][A-Z0-9_]*-[1-9][0-9]*$`",
        "`approval-tags`",
    ] {
        assert!(how.contains(expected), "missing {expected:?} in\n{how}");
    }
}

#[test]
fn terraform_data_store_type_set_matches_the_kind_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| {
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let source = SourceFile::new(path, text);
        provcheck::parse::yaml::parse(&source).unwrap()[0]
            .value
            .clone()
    };
    let kinds = read("data/resource-kinds.yaml");
    let stores: BTreeSet<String> = kinds
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, entry)| entry["kind"] == "data-store")
        .map(|(name, _)| name.clone())
        .collect();
    let set = read("rules/type-sets/terraform-data-stores.yaml");
    let listed: BTreeSet<String> = set["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert!(stores.len() > 10);
    assert_eq!(stores, listed);
}
