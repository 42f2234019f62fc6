//! The per-input check shared by the cargo-fuzz targets (`fuzz/`) and
//! the property tests (`tests/fuzz.rs`): run one file through
//! [`check_sources`](crate::check_sources) with the built-in rules and
//! verify that every location in the report lies within its file's text
//! on character boundaries. Not part of the public API.

use std::sync::OnceLock;

use crate::ruleset::RuleSet;
use crate::source::{SourceFile, Span};
use crate::Report;

/// The front-end an input is fed to, by the file name it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// HCL parsing and Terraform evaluation (`main.tf`).
    Terraform,
    /// YAML as a Kubernetes manifest (`x.yaml`).
    Kubernetes,
    /// A compose file, with interpolation (`compose.yaml`).
    Compose,
    /// The Dockerfile parser (`Dockerfile`).
    Dockerfile,
    /// A Terraform plan's JSON (`plan.json`), when the text is one.
    Plan,
}

impl Front {
    pub const ALL: [Front; 5] = [
        Front::Terraform,
        Front::Kubernetes,
        Front::Compose,
        Front::Dockerfile,
        Front::Plan,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Front::Terraform => "main.tf",
            Front::Kubernetes => "x.yaml",
            Front::Compose => "compose.yaml",
            Front::Dockerfile => "Dockerfile",
            Front::Plan => "plan.json",
        }
    }
}

/// The built-in rules, loaded once.
pub fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::load(&[]).0)
}

/// Checks raw bytes (decoded lossily, as a fuzzer produces them) and
/// verifies the report; `Err` describes a location out of bounds.
pub fn run(front: Front, data: &[u8]) -> Result<Report, String> {
    run_text(front, &String::from_utf8_lossy(data))
}

/// Checks `text` as the one file of `front` and verifies the report.
pub fn run_text(front: Front, text: &str) -> Result<Report, String> {
    let file = SourceFile::new(front.file_name(), text);
    let report = crate::check_sources(vec![file], rules());
    verify(&report)?;
    Ok(report)
}

/// Every span in the report (findings, undecided and suppressed ones,
/// their related locations, resources, errors and notes) lies within
/// its file's text and starts and ends on character boundaries.
pub fn verify(report: &Report) -> Result<(), String> {
    let in_file = |file: usize, span: Span, what: &str| -> Result<(), String> {
        let Some(source) = report.files.get(file) else {
            return Err(format!("{what}: file index {file} out of range"));
        };
        check_span(&source.text, span)
            .map_err(|e| format!("{what} in {}: {e}", source.display_path()))
    };
    let findings = report
        .findings
        .iter()
        .chain(&report.undecided)
        .chain(report.suppressed.iter().map(|s| &s.finding));
    for finding in findings {
        let what = format!("finding {} on {}", finding.rule_id, finding.resource);
        in_file(finding.file, finding.span, &what)?;
        for origin in finding.related.iter().chain(&finding.module) {
            in_file(origin.file, origin.span, &format!("{what}, origin"))?;
        }
    }
    for resource in &report.resources {
        let what = format!("resource {}", resource.address);
        in_file(resource.file, resource.header, &what)?;
        in_file(resource.file, resource.span, &what)?;
        for (pointer, span) in &resource.spans {
            in_file(resource.file, *span, &format!("{what} {pointer}"))?;
        }
        for (pointer, origins) in &resource.related {
            for origin in origins.iter() {
                in_file(origin.file, origin.span, &format!("{what} {pointer}"))?;
            }
        }
    }
    for error in report.errors.iter().chain(&report.notes) {
        let (Some(span), Some(file)) = (error.span, report.file_for(error)) else {
            continue;
        };
        check_span(&file.text, span)
            .map_err(|e| format!("error {:?} in {}: {e}", error.message, file.display_path()))?;
    }
    Ok(())
}

fn check_span(text: &str, span: Span) -> Result<(), String> {
    if span.start > span.end || span.end > text.len() {
        return Err(format!(
            "span {}..{} outside 0..{}",
            span.start,
            span.end,
            text.len()
        ));
    }
    if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
        return Err(format!(
            "span {}..{} not on character boundaries",
            span.start, span.end
        ));
    }
    Ok(())
}
