//! provcheck: a static checker for infrastructure provisioning code.
//!
//! The pipeline: discover files, parse each once (in parallel) with spans,
//! lower to resources, run the rules, and hand a [`Report`] to a renderer.
//! The library never prints and never decides exit codes.

#[cfg(feature = "cli")]
pub mod cli;
pub mod discover;
pub mod engine;
pub mod error;
pub mod explain;
pub mod finding;
pub mod model;
pub mod output;
pub mod parse;
pub mod ruleset;
pub mod source;

use std::path::PathBuf;

use rayon::prelude::*;

use discover::{Candidate, Format};
use error::FileError;
use finding::Finding;
use model::Resource;
use ruleset::RuleSet;
use source::{SourceFile, Span};

/// Files larger than this are refused rather than parsed.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Everything one run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every file looked at, indexed by [`Finding::file`] and
    /// [`Resource::file`]. A file that could not be read has no text.
    pub files: Vec<SourceFile>,
    /// How many files were read.
    pub files_read: usize,
    pub resources: Vec<Resource>,
    /// Violations, sorted by file, line, column and rule.
    pub findings: Vec<Finding>,
    /// Results that depend on values unknown statically; not violations.
    pub undecided: Vec<Finding>,
    /// Files (and rule files) that could not be read or parsed.
    pub errors: Vec<FileError>,
}

impl Report {
    /// The file an error refers to, when it was read.
    pub fn file_for(&self, error: &FileError) -> Option<&SourceFile> {
        self.files.iter().find(|f| f.path == error.path)
    }

    /// Number of managed resources checked.
    pub fn resource_count(&self) -> usize {
        self.resources
            .iter()
            .filter(|r| r.kind == model::BlockKind::Resource)
            .count()
    }
}

/// The files found under some paths, read but not yet parsed.
#[derive(Debug, Default)]
pub struct Sources {
    /// Every file found; one that could not be read has no text.
    pub files: Vec<SourceFile>,
    /// The format of each file, `None` where it could not be read.
    pub formats: Vec<Option<Format>>,
    /// How many files were read.
    pub files_read: usize,
    /// Paths that could not be walked or files that could not be read.
    pub errors: Vec<FileError>,
}

/// Discovers and reads (in parallel) the files under `paths`.
pub fn load(paths: &[PathBuf]) -> Sources {
    let (candidates, mut errors) = discover::discover(paths);
    let read: Vec<Result<SourceFile, (SourceFile, FileError)>> =
        candidates.par_iter().map(read_file).collect();
    let mut sources = Sources {
        files: Vec::with_capacity(read.len()),
        formats: Vec::with_capacity(read.len()),
        ..Sources::default()
    };
    for (candidate, result) in candidates.iter().zip(read) {
        match result {
            Ok(file) => {
                sources.files_read += 1;
                sources.formats.push(Some(candidate.format));
                sources.files.push(file);
            }
            Err((file, err)) => {
                if !file.text.is_empty() {
                    sources.files_read += 1;
                }
                sources.formats.push(None);
                sources.files.push(file);
                errors.push(err);
            }
        }
    }
    sources.errors = errors;
    sources
}

/// Checks the files and folders at `paths` against `rules`.
pub fn check(paths: &[PathBuf], rules: &RuleSet) -> Report {
    let mut sources = load(paths);
    let mut report = check_parsed(sources.files, &sources.formats, rules);
    report.files_read = sources.files_read;
    report.errors.append(&mut sources.errors);
    sort(&mut report);
    report
}

/// Checks in-memory sources (every one a Terraform file), as the rule
/// example harness and editors do.
pub fn check_sources(files: Vec<SourceFile>, rules: &RuleSet) -> Report {
    let formats = vec![Some(Format::Terraform); files.len()];
    let files_read = files.len();
    let mut report = check_parsed(files, &formats, rules);
    report.files_read = files_read;
    sort(&mut report);
    report
}

/// Parses and lowers every file in parallel, without running rules.
pub fn parse_all(
    files: &[SourceFile],
    formats: &[Option<Format>],
) -> (Vec<Resource>, Vec<FileError>) {
    let lowered: Vec<(Vec<Resource>, Vec<FileError>)> = files
        .par_iter()
        .zip(formats.par_iter())
        .enumerate()
        .map(|(index, (file, format))| match format {
            Some(Format::Terraform) => match parse::hcl::lower_file(index, file) {
                Ok(lowered) => (lowered.resources, lowered.errors),
                Err(err) => (Vec::new(), vec![err]),
            },
            None => (Vec::new(), Vec::new()),
        })
        .collect();
    let mut resources = Vec::new();
    let mut errors = Vec::new();
    for (mut r, mut e) in lowered {
        resources.append(&mut r);
        errors.append(&mut e);
    }
    (resources, errors)
}

fn check_parsed(files: Vec<SourceFile>, formats: &[Option<Format>], rules: &RuleSet) -> Report {
    let (resources, errors) = parse_all(&files, formats);
    let results = engine::run(rules, &resources, &files);
    Report {
        files,
        files_read: 0,
        resources,
        findings: results.findings,
        undecided: results.undecided,
        errors,
    }
}

fn sort(report: &mut Report) {
    let files = &report.files;
    let key = |f: &Finding| {
        (
            files.get(f.file).map(SourceFile::display_path),
            f.span.start,
            f.rule_id.clone(),
            f.resource.clone(),
            f.pointer.clone(),
        )
    };
    report.findings.sort_by_cached_key(key);
    report.undecided.sort_by_cached_key(key);
    report.errors.sort_by(|a, b| {
        (&a.path, a.span.map(|s| s.start)).cmp(&(&b.path, b.span.map(|s| s.start)))
    });
}

/// Reads one candidate: refuses huge, binary and non-UTF-8 files with an
/// error that says why (and where, when a position helps).
fn read_file(candidate: &Candidate) -> Result<SourceFile, (SourceFile, FileError)> {
    let path = &candidate.path;
    let empty = || SourceFile::new(path.clone(), "");
    let too_big = std::fs::metadata(path).map(|m| m.len() > MAX_FILE_BYTES);
    if let Ok(true) = too_big {
        return Err((
            empty(),
            FileError::new(
                path,
                None,
                format!(
                    "file is larger than {} MiB; not checked",
                    MAX_FILE_BYTES / 1024 / 1024
                ),
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|err| {
        (
            empty(),
            FileError::new(path, None, format!("cannot read file: {err}")),
        )
    })?;
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        let text = String::from_utf8_lossy(&bytes[..nul]).into_owned();
        let file = SourceFile::new(path.clone(), text);
        let at = file.text.len();
        return Err((
            file,
            FileError::new(
                path,
                Some(Span::new(at, at)),
                "binary file (contains NUL bytes); not checked",
            ),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path.clone(), text)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let file = SourceFile::new(path.clone(), text);
            let end = file.text[valid..]
                .chars()
                .next()
                .map_or(valid, |c| valid + c.len_utf8());
            Err((
                file,
                FileError::new(
                    path,
                    Some(Span::new(valid, end)),
                    format!("invalid UTF-8 at byte {valid}; not checked"),
                ),
            ))
        }
    }
}
