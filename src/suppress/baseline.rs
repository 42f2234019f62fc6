//! Baselines: the fingerprints of accepted findings, written by
//! `provcheck baseline` and read by `check --baseline`, so that only new
//! findings fail a build.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::FileError;
use crate::read::Within;
use crate::Report;

/// Version of the baseline file's shape.
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// One accepted finding. Only the fingerprint matches; the rest helps a
/// reader of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub fingerprint: String,
    pub rule_id: String,
    pub resource: String,
    pub file: String,
}

/// The baseline of a report's findings, as JSON text.
pub fn render(report: &Report) -> String {
    let mut findings: Vec<Entry> = report
        .findings
        .iter()
        .map(|f| Entry {
            fingerprint: f.fingerprint.clone(),
            rule_id: f.rule_id.to_string(),
            resource: f.resource.clone(),
            file: report
                .files
                .get(f.file)
                .map(|s| s.display_path())
                .unwrap_or_default(),
        })
        .collect();
    findings.sort_by(|a, b| {
        (&a.file, &a.rule_id, &a.resource, &a.fingerprint).cmp(&(
            &b.file,
            &b.rule_id,
            &b.resource,
            &b.fingerprint,
        ))
    });
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    let file = BaselineFile {
        version: VERSION,
        findings,
    };
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// The fingerprints of a baseline file.
pub fn load(path: &Path, within: Within<'_>) -> Result<HashSet<String>, FileError> {
    let text = crate::read::text(path, within)
        .map_err(|e| FileError::new(path, None, e.describe("the baseline")))?;
    let file: BaselineFile = serde_json::from_str(&text).map_err(|e| {
        FileError::new(
            path,
            None,
            format!("invalid baseline (line {}): {e}", e.line()),
        )
    })?;
    if file.version != VERSION {
        return Err(FileError::new(
            path,
            None,
            format!(
                "baseline version {} is not supported (expected {VERSION})",
                file.version
            ),
        ));
    }
    Ok(file.findings.into_iter().map(|e| e.fingerprint).collect())
}
