//! The waivers file (`.provcheck-waivers.yaml`): suppressions for code
//! that cannot carry comments, matched by rule id and resource address or
//! path glob. Validated against `schemas/provcheck-waivers.schema.json`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use globset::{Glob, GlobMatcher};
use jsonschema::Validator;
use serde::Deserialize;

use super::{parse_date, Status};
use crate::error::FileError;
use crate::parse::yaml;
use crate::read::Within;
use crate::source::{SourceFile, Span};

pub const WAIVERS_SCHEMA: &str = include_str!("../../schemas/provcheck-waivers.schema.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiversFile {
    waivers: Vec<WaiverEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverEntry {
    rule: String,
    resource: Option<String>,
    path: Option<String>,
    status: Status,
    reason: String,
    approver: Option<String>,
    ticket: Option<String>,
    expires: Option<String>,
}

/// One waiver, ready to match findings.
#[derive(Debug)]
pub struct Waiver {
    pub index: usize,
    pub span: Span,
    pub line: usize,
    pub rule: String,
    resource: Option<GlobMatcher>,
    path: Option<GlobMatcher>,
    pub status: Status,
    pub reason: String,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    pub expires: Option<String>,
}

impl Waiver {
    /// Whether the waiver covers a finding of `rule` on `resource` in the
    /// file at `path` (relative to the waivers file's folder).
    pub fn covers(&self, rule: &str, resource: &str, path: &Path) -> bool {
        (self.rule == "*" || self.rule == rule)
            && self.resource.as_ref().is_none_or(|g| g.is_match(resource))
            && self.path.as_ref().is_none_or(|g| g.is_match(path))
    }
}

/// The waivers of a file, with the file itself (findings about waivers
/// point into it) and its folder (paths are relative to it).
#[derive(Debug)]
pub struct Waivers {
    pub source: SourceFile,
    pub dir: PathBuf,
    pub waivers: Vec<Waiver>,
}

fn schema() -> &'static Validator {
    static SCHEMA: OnceLock<Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| crate::engine::schema::builtin(WAIVERS_SCHEMA))
}

/// Reads and validates a waivers file; errors point at the offending line.
pub fn load(path: &Path, within: Within<'_>) -> Result<Waivers, Vec<FileError>> {
    let text = crate::read::text(path, within)
        .map_err(|e| vec![FileError::new(path, None, e.describe("the waivers file"))])?;
    let source = SourceFile::new(path.to_path_buf(), text);
    let document = yaml::parse(&source)
        .map_err(|e| vec![e])?
        .into_iter()
        .next()
        .ok_or_else(|| vec![FileError::new(path, None, "the waivers file is empty")])?;
    let errors = document.validate(schema(), path, "waivers file");
    if !errors.is_empty() {
        return Err(errors);
    }
    let file: WaiversFile = serde_json::from_value(document.value.clone()).map_err(|e| {
        vec![FileError::new(
            path,
            None,
            format!("invalid waivers file: {e}"),
        )]
    })?;
    let mut errors = Vec::new();
    let mut waivers = Vec::new();
    for (index, entry) in file.waivers.into_iter().enumerate() {
        let pointer = format!("/waivers/{index}");
        let span = document.locate(&pointer);
        let glob = |field: &str, pattern: &Option<String>, errors: &mut Vec<FileError>| {
            let pattern = pattern.as_ref()?;
            match Glob::new(pattern) {
                Ok(glob) => Some(glob.compile_matcher()),
                Err(e) => {
                    let at = document.locate(&format!("{pointer}/{field}"));
                    errors.push(FileError::new(
                        path,
                        Some(at),
                        format!("invalid glob `{pattern}`: {e}"),
                    ));
                    None
                }
            }
        };
        let resource = glob("resource", &entry.resource, &mut errors);
        let file_glob = glob("path", &entry.path, &mut errors);
        if let Some(expires) = &entry.expires {
            if parse_date(expires).is_none() {
                let at = document.locate(&format!("{pointer}/expires"));
                errors.push(FileError::new(
                    path,
                    Some(at),
                    format!("`{expires}` is not a date"),
                ));
            }
        }
        waivers.push(Waiver {
            index,
            span,
            line: source.position(span.start).line,
            rule: entry.rule,
            resource,
            path: file_glob,
            status: entry.status,
            reason: entry.reason,
            approver: entry.approver,
            ticket: entry.ticket,
            expires: entry.expires,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let dir = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    Ok(Waivers {
        source,
        dir,
        waivers,
    })
}
