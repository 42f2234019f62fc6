//! provcheck: a static checker for infrastructure provisioning code.
//!
//! The pipeline: discover files, parse each once (in parallel) with spans,
//! lower to resources, run the rules, and hand a [`Report`] to a renderer.
//! The library never prints and never decides exit codes.

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod discover;
pub mod engine;
pub mod error;
pub mod explain;
pub mod finding;
pub mod inspect;
pub mod model;
pub mod output;
pub mod parse;
pub mod roles;
pub mod ruleset;
pub mod source;
pub mod suppress;
pub mod terraform;

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
    /// (rule, resource) indices, into the rule set and `resources`, of
    /// every rule that evaluated a resource on known values and held:
    /// what a "pass" may be built on.
    pub held: Vec<(usize, usize)>,
    /// Findings silenced by an inline suppression, a waiver or the
    /// baseline: not violations, but listed for audit.
    pub suppressed: Vec<suppress::Suppressed>,
    /// Suppressions past their expiry date, for the audit of accepted
    /// risks; the findings they covered are in `findings` again.
    pub lapsed: Vec<suppress::Lapsed>,
    /// Things a reader should know that are not errors: modules that were
    /// not scanned, reference cycles.
    pub notes: Vec<FileError>,
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
            .filter(|r| r.kind.is_checked())
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

/// How one run reads and reports, beyond the rules: what the
/// configuration file and the command line settle.
#[derive(Default)]
pub struct Settings<'a> {
    /// Where fingerprints' paths are anchored (the project root); the
    /// current folder when unset.
    pub root: Option<PathBuf>,
    /// Paths to leave out.
    pub exclude: Option<&'a (dyn Fn(&std::path::Path) -> bool + Sync)>,
    pub suppress: suppress::Options,
    /// Terraform variable values from the command line and environment.
    pub inputs: terraform::module::Inputs,
    /// What marks production, and how much to raise its findings.
    pub production: Option<config::Production>,
}

/// Discovers and reads (in parallel) the files under `paths`.
pub fn load(paths: &[PathBuf]) -> Sources {
    load_with(
        paths,
        &discover::Walk::default(),
        &mut discover::Seen::default(),
    )
}

/// Discovers, leaving out what `seen` holds, and reads.
fn load_with(paths: &[PathBuf], walk: &discover::Walk<'_>, seen: &mut discover::Seen) -> Sources {
    let (candidates, mut errors) = discover::discover_new(paths, walk, seen);
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

/// Checks the files and folders at `paths` against `rules`, with default
/// settings.
pub fn check(paths: &[PathBuf], rules: &RuleSet) -> Report {
    check_with(paths, rules, &Settings::default())
}

/// Checks the files and folders at `paths` against `rules`.
///
/// A file named on its own is checked with its whole folder for context
/// (the other `.tf` files of its Terraform module), but only findings
/// located in the files the paths reach are reported — what a pre-commit
/// hook given the staged files needs. Paths that overlap give each file
/// once (see [`discover::discover`]).
pub fn check_with(paths: &[PathBuf], rules: &RuleSet, settings: &Settings<'_>) -> Report {
    let mut seen = discover::Seen::default();
    let mut sources = load_with(
        paths,
        &discover::Walk {
            max_depth: None,
            exclude: settings.exclude,
        },
        &mut seen,
    );
    // The files the paths reach: the ones reported.
    let reached = sources.files.len();
    let reached_read = sources.files_read;
    // The files beside named files, for context. Named files that are not
    // of a checked format are ignored, as a pre-commit hook passes
    // whatever is staged.
    let context: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.is_file() && discover::format_of(p).is_some())
        .map(|p| match p.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect();
    if !context.is_empty() {
        let beside = load_with(
            &context,
            &discover::Walk {
                max_depth: Some(1),
                exclude: settings.exclude,
            },
            &mut seen,
        );
        sources.files.extend(beside.files);
        sources.formats.extend(beside.formats);
        sources.errors.extend(beside.errors);
    }
    let context_end = sources.files.len();
    let mut report = check_parsed(
        sources.files,
        &sources.formats,
        rules,
        settings.root.as_deref(),
        &settings.inputs,
    );
    report.errors.append(&mut sources.errors);
    if let Some(production) = &settings.production {
        raise_production(&mut report, production);
    }
    suppress::apply(&mut report, rules, &settings.suppress);
    restrict(&mut report, reached..context_end);
    report.files_read = reached_read;
    sort(&mut report);
    report
}

/// Raises the severity of findings on production resources, as the
/// configuration's `production.raise-severity` says.
fn raise_production(report: &mut Report, production: &config::Production) {
    if production.raise_severity == 0 {
        return;
    }
    let resources: std::collections::HashMap<(usize, &str), &Resource> = report
        .resources
        .iter()
        .map(|r| ((r.file, r.address.as_str()), r))
        .collect();
    for finding in &mut report.findings {
        let (Some(resource), Some(file)) = (
            resources.get(&(finding.file, finding.resource.as_str())),
            report.files.get(finding.file),
        ) else {
            continue;
        };
        if production.contains(resource, &file.path) {
            finding.severity = finding.severity.raised(production.raise_severity);
        }
    }
}

/// Drops what is located in the files at `context` (indices into
/// `report.files`), read only for context: findings, and errors and notes
/// about them. Errors about anything else (a missing path, a waivers or
/// variables file) stay.
fn restrict(report: &mut Report, context: std::ops::Range<usize>) {
    if context.is_empty() {
        return;
    }
    let kept = |file: &usize| !context.contains(file);
    report.findings.retain(|f| kept(&f.file));
    report.undecided.retain(|f| kept(&f.file));
    report.suppressed.retain(|s| kept(&s.finding.file));
    let paths: std::collections::HashSet<&std::path::Path> = report.files[context.clone()]
        .iter()
        .map(|f| f.path.as_path())
        .collect();
    report.errors.retain(|e| !paths.contains(e.path.as_path()));
    report.notes.retain(|e| !paths.contains(e.path.as_path()));
}

/// Checks in-memory sources, as the rule example harness and editors do;
/// each file's format comes from its name (`main.tf`, `app.yaml`,
/// `Dockerfile`).
pub fn check_sources(files: Vec<SourceFile>, rules: &RuleSet) -> Report {
    let formats: Vec<Option<Format>> = files.iter().map(|f| discover::format_of(&f.path)).collect();
    let files_read = files.len();
    let mut report = check_parsed(files, &formats, rules, None, &Default::default());
    report.files_read = files_read;
    suppress::apply(&mut report, rules, &suppress::Options::default());
    sort(&mut report);
    report
}

/// What parsing, evaluating and lowering the files produced.
#[derive(Debug, Default)]
pub struct Lowered {
    pub resources: Vec<Resource>,
    pub errors: Vec<FileError>,
    /// Files read for evaluation (tfvars), indexed after the checked ones.
    pub extra_files: Vec<SourceFile>,
    /// Modules not scanned, reference cycles and the like.
    pub notes: Vec<FileError>,
}

/// Parses every file (in parallel), evaluates the Terraform modules they
/// form, and lowers everything to resources, without running rules.
pub fn lower_all(
    files: &[SourceFile],
    formats: &[Option<Format>],
    root: &std::path::Path,
    inputs: &terraform::module::Inputs,
) -> Lowered {
    let parsed: Vec<(
        Option<hcl_edit::structure::Body>,
        Vec<Resource>,
        Vec<FileError>,
    )> = files
        .par_iter()
        .zip(formats.par_iter())
        .enumerate()
        .map(|(index, (file, format))| match format {
            Some(Format::Terraform) => match parse::hcl::parse(file) {
                Ok(body) => (Some(body), Vec::new(), Vec::new()),
                Err(err) => (None, Vec::new(), vec![err]),
            },
            Some(Format::Yaml) => {
                let (r, e) = parse::manifest::lower_yaml(index, file);
                (None, r, e)
            }
            Some(Format::Dockerfile) => {
                let (r, e) = parse::dockerfile::lower(index, file);
                (None, r, e)
            }
            None => (None, Vec::new(), Vec::new()),
        })
        .collect();
    let mut lowered = Lowered::default();
    let mut bodies = Vec::with_capacity(parsed.len());
    for (body, mut resources, mut errors) in parsed {
        bodies.push(body);
        lowered.resources.append(&mut resources);
        lowered.errors.append(&mut errors);
    }
    let evaluated = terraform::module::evaluate(files, &bodies, root, inputs);
    let mut resources = evaluated.resources;
    resources.append(&mut lowered.resources);
    lowered.resources = resources;
    lowered.errors.extend(evaluated.errors);
    lowered.extra_files = evaluated.extra_files;
    lowered.notes = evaluated.notes;
    lowered
}

/// Parses and lowers every file, as [`lower_all`] does with default inputs.
pub fn parse_all(
    files: &[SourceFile],
    formats: &[Option<Format>],
) -> (Vec<Resource>, Vec<FileError>) {
    let root = std::env::current_dir().unwrap_or_default();
    let lowered = lower_all(files, formats, &root, &Default::default());
    (lowered.resources, lowered.errors)
}

fn check_parsed(
    mut files: Vec<SourceFile>,
    formats: &[Option<Format>],
    rules: &RuleSet,
    root: Option<&std::path::Path>,
    inputs: &terraform::module::Inputs,
) -> Report {
    let cwd = std::env::current_dir().unwrap_or_default();
    let lowered = lower_all(&files, formats, root.unwrap_or(&cwd), inputs);
    files.extend(lowered.extra_files);
    let keys = fingerprint_paths(&files, root);
    let results = engine::run(rules, &lowered.resources, &keys);
    Report {
        files,
        files_read: 0,
        resources: lowered.resources,
        findings: results.findings,
        undecided: results.undecided,
        held: results.held,
        suppressed: Vec::new(),
        lapsed: Vec::new(),
        notes: lowered.notes,
        errors: lowered.errors.into_iter().chain(results.errors).collect(),
    }
}

/// The path of each file that fingerprints use: relative to the project
/// root when there is one, so that `check .` and `check infra/` agree.
fn fingerprint_paths(files: &[SourceFile], root: Option<&std::path::Path>) -> Vec<String> {
    files
        .iter()
        .map(|file| {
            root.and_then(|root| {
                let absolute = file.path.canonicalize().ok()?;
                let relative = absolute.strip_prefix(root).ok()?;
                Some(source::display_path(relative))
            })
            .unwrap_or_else(|| file.display_path())
        })
        .collect()
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
    report.suppressed.sort_by_cached_key(|s| key(&s.finding));
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
        Ok(text) => Ok(SourceFile::new(path.clone(), source::without_bom(text))),
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
