//! One harness for every rule's examples, loaded through the production
//! loader: a fail example must produce that rule's finding on its line, a
//! pass example must produce none. A new rule needs no test code.

use provcheck::ruleset::RuleSet;
use provcheck::source::SourceFile;

fn rules() -> RuleSet {
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "built-in rules must load: {errors:#?}");
    rules
}

#[test]
fn every_fail_example_fires_its_rule_on_the_named_line() {
    let rules = rules();
    let mut problems = Vec::new();
    for rule in &rules.rules {
        for (i, example) in rule.examples.fail.iter().enumerate() {
            let file = SourceFile::new(rule.target.example_file_name(), example.code.as_str());
            let report = provcheck::check_sources(vec![file.clone()], &rules);
            if !report.errors.is_empty() {
                problems.push(format!(
                    "{} fail #{}: errors {:?}",
                    rule.id,
                    i + 1,
                    report.errors
                ));
                continue;
            }
            let lines: Vec<usize> = report
                .findings
                .iter()
                .filter(|f| f.rule_id == rule.id)
                .map(|f| file.position(f.span.start).line)
                .collect();
            if lines != [example.line] {
                problems.push(format!(
                    "{} fail #{}: expected one finding on line {}, got lines {:?}",
                    rule.id,
                    i + 1,
                    example.line,
                    lines
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_pass_example_is_clean_for_its_rule() {
    let rules = rules();
    let mut problems = Vec::new();
    for rule in &rules.rules {
        for (i, code) in rule.examples.pass.iter().enumerate() {
            let file = SourceFile::new(rule.target.example_file_name(), code.as_str());
            let report = provcheck::check_sources(vec![file.clone()], &rules);
            if !report.errors.is_empty() {
                problems.push(format!(
                    "{} pass #{}: errors {:?}",
                    rule.id,
                    i + 1,
                    report.errors
                ));
            }
            for finding in report.findings.iter().filter(|f| f.rule_id == rule.id) {
                problems.push(format!(
                    "{} pass #{}: unexpected finding on line {}: {}",
                    rule.id,
                    i + 1,
                    file.position(finding.span.start).line,
                    finding.message
                ));
            }
            // A pass example must pass for certain, not for want of a value.
            for finding in report.undecided.iter().filter(|f| f.rule_id == rule.id) {
                problems.push(format!(
                    "{} pass #{}: undecided: {}",
                    rule.id,
                    i + 1,
                    finding.message
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
