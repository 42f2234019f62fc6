//! provcheck: a static checker for infrastructure provisioning code.
//!
//! The pipeline: discover files, parse each once (in parallel) with spans,
//! lower to resources, run the rules, and hand a [`Report`] to a renderer.
//! The library never prints and never decides exit codes.

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod error;
pub mod explain;
pub mod finding;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod inspect;
pub mod kinds;
pub mod model;
pub mod output;
pub mod parity;
pub mod parse;
pub mod posture;
pub mod provenance;
pub mod read;
pub mod redact;
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

pub use read::MAX_FILE_BYTES;

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
    /// (rule, resource, why) of every rule that passed on a resource its
    /// `where` may not select (see [`engine::Results::maybe`]): not a pass.
    pub maybe: Vec<(usize, usize, String)>,
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
    /// The configuration file the run used, if any: every format names it,
    /// since it can turn rules off.
    pub config: Option<PathBuf>,
    /// Where the reports' paths are anchored (the project root).
    pub anchor: source::Anchor,
    /// The run's provenance, which every format writes; `None` for the
    /// library's in-memory checks.
    pub meta: Option<provenance::Meta>,
    /// Each file's path as fingerprints hash it (relative to the project
    /// root), by file index: every finding of a file, the suppression
    /// rules' included, is keyed the same way.
    pub fingerprint_paths: Vec<String>,
    /// Each path's first index in `files`, for [`Report::file_for`]:
    /// built on first use, when the report is rendered.
    pub file_index: FileIndex,
}

/// Files' indices by path, and how many files there were, built once
/// (see [`Report::file_for`]): a report's errors and notes are many in a
/// monorepo, and each looked for its file among them all.
#[derive(Debug, Default)]
pub struct FileIndex(std::sync::OnceLock<(usize, std::collections::HashMap<PathBuf, usize>)>);

impl Report {
    /// How the reports write a path: relative to the project root when
    /// inside it, else absolute (see [`source::Anchor`]). Human and
    /// compact output, read in a terminal, write paths as reached.
    pub fn shown(&self, path: &std::path::Path) -> source::ShownPath {
        self.anchor.show(path)
    }

    /// The text of [`Report::shown`].
    pub fn shown_path(&self, path: &std::path::Path) -> String {
        self.anchor.show(path).text
    }

    /// The file an error refers to, when it was read.
    pub fn file_for(&self, error: &FileError) -> Option<&SourceFile> {
        let (count, index) = self.file_index.0.get_or_init(|| {
            let mut index = std::collections::HashMap::with_capacity(self.files.len());
            for (i, file) in self.files.iter().enumerate() {
                index.entry(file.path.clone()).or_insert(i);
            }
            (self.files.len(), index)
        });
        if *count != self.files.len() {
            // Files were added or taken since: looked for one by one.
            return self.files.iter().find(|f| f.path == error.path);
        }
        index
            .get(&error.path)
            .and_then(|&i| self.files.get(i))
            .filter(|f| f.path == error.path)
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
    /// What discovery found and did not read (see [`discover::Seen`]).
    pub notes: Vec<FileError>,
}

/// How one run reads and reports, beyond the rules: what the
/// configuration file and the command line settle.
#[derive(Default)]
pub struct Settings<'a> {
    /// The project root: where fingerprints' paths are anchored (the
    /// current folder when unset), and, with the scanned folders, where
    /// files may be read.
    pub root: Option<PathBuf>,
    /// Paths to leave out.
    pub exclude: Option<&'a (dyn Fn(&std::path::Path) -> bool + Sync)>,
    pub suppress: suppress::Options,
    /// Terraform variable values from the command line and environment.
    pub inputs: terraform::module::Inputs,
    /// What marks production, and how much to raise its findings.
    pub production: Option<config::Production>,
    /// The configuration file these settings came from, as reports show it.
    pub config: Option<PathBuf>,
    /// The variables of the process environment that compose files may
    /// interpolate (`--env`, `compose.environment`), with their values.
    pub compose_env: std::collections::BTreeMap<String, String>,
    /// The folder the reports' paths are relative to (see
    /// [`source::Anchor`]); unset, they are written as reached.
    pub report_root: Option<PathBuf>,
    /// The `.tf` sources of the Terraform plans checked (`--source`);
    /// unset, each plan's own folder.
    pub plan_source: Option<PathBuf>,
}

impl Settings<'_> {
    /// Where the files a run reads may be: the project root and the
    /// scanned folders (a named file's folder), never the current folder
    /// for being current.
    pub fn project(&self, paths: &[PathBuf]) -> read::Project {
        read::Project::new(self.root.iter().chain(paths).chain(&self.plan_source))
    }
}

/// Discovers and reads (in parallel) the files under `paths`, none
/// outside them.
pub fn load(paths: &[PathBuf]) -> Sources {
    load_with(
        paths,
        &discover::Walk::default(),
        &mut discover::Seen::default(),
        &read::Project::new(paths),
    )
}

/// Discovers, leaving out what `seen` holds, and reads what is inside the
/// project.
fn load_with(
    paths: &[PathBuf],
    walk: &discover::Walk<'_>,
    seen: &mut discover::Seen,
    project: &read::Project,
) -> Sources {
    let (candidates, mut errors) = discover::discover_new(paths, walk, seen);
    let folders = read::Folders::default();
    let within = read::Within::ProjectFolders(project, &folders);
    let read: Vec<Result<SourceFile, (SourceFile, FileError)>> = candidates
        .par_iter()
        .map(|candidate| read_file(candidate, within))
        .collect();
    let mut sources = Sources {
        files: Vec::with_capacity(read.len()),
        formats: Vec::with_capacity(read.len()),
        ..Sources::default()
    };
    for (candidate, result) in candidates.iter().zip(read) {
        match result {
            // A `.json` file that started like a plan and is not one (a
            // state, a schema dump) is passed over like other JSON files.
            Ok(file) if candidate.format == Format::Plan && !parse::plan::is_plan(&file.text) => {
                if paths.contains(&candidate.path) {
                    seen.notes.push(FileError::new(
                        &candidate.path,
                        None,
                        "skipped: a JSON file with `format_version` but neither `planned_values` \
                         nor `resource_changes` is not a Terraform plan; nothing in it was checked",
                    ));
                }
            }
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
    sources.notes = std::mem::take(&mut seen.notes);
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
/// (the other `.tf` files of its Terraform module) and, when other
/// folders under the project root call that folder as a module, through
/// them, as checking the whole project would; but only findings located
/// in the files the paths reach, or whose offending value was written in
/// them, are reported — what a pre-commit hook given the staged files
/// needs. Paths that overlap give each file once (see
/// [`discover::discover`]).
pub fn check_with(paths: &[PathBuf], rules: &RuleSet, settings: &Settings<'_>) -> Report {
    let project = settings.project(paths);
    let mut seen = discover::Seen::default();
    let mut sources = load_with(
        paths,
        &discover::Walk {
            max_depth: None,
            exclude: settings.exclude,
        },
        &mut seen,
        &project,
    );
    // The files the paths reach: the ones reported.
    let reached = sources.files.len();
    let reached_read = sources.files_read;
    let named: Vec<PathBuf> = paths.iter().filter(|p| p.is_file()).cloned().collect();
    // The files beside named files, and the folders that call theirs as
    // modules, for context. Named files that are not of a checked format
    // are ignored, as a pre-commit hook passes whatever is staged; tfvars
    // files are read by evaluation.
    let mut context: Vec<PathBuf> = named
        .iter()
        .filter(|p| discover::format_of(p).is_some() || is_tfvars(p))
        .map(|p| folder_of(p))
        .collect();
    // A plan's `.tf` sources, where its findings are located.
    let plans = sources.formats[..reached]
        .iter()
        .zip(&sources.files)
        .filter(|(format, _)| **format == Some(Format::Plan))
        .map(|(_, file)| {
            settings
                .plan_source
                .clone()
                .unwrap_or_else(|| folder_of(&file.path))
        })
        .collect::<std::collections::BTreeSet<_>>();
    if !context.is_empty() || !plans.is_empty() {
        context.extend(callers_of(&named, settings));
        context.extend(plans);
        let beside = load_with(
            &context,
            &discover::Walk {
                max_depth: Some(1),
                exclude: settings.exclude,
            },
            &mut seen,
            &project,
        );
        sources.files.extend(beside.files);
        // A plan read only for context is not checked: a stale plan
        // beside a staged `.tf` file must not stand in for it.
        sources.formats.extend(
            beside
                .formats
                .into_iter()
                .map(|format| format.filter(|f| *f != Format::Plan)),
        );
        sources.errors.extend(beside.errors);
    }
    let context_end = sources.files.len();
    // A named tfvars file is not checked itself but read by evaluation.
    let inputs = terraform::module::Inputs {
        named_var_files: named.iter().filter(|p| is_tfvars(p)).cloned().collect(),
        ..settings.inputs.clone()
    };
    let root = project_root(settings, &project);
    let lowering = Lowering {
        project: &project,
        root: &root,
        exclude: settings.exclude,
        inputs: &inputs,
        compose_env: &settings.compose_env,
        plan_source: settings.plan_source.as_deref(),
    };
    // Values from the environment may be CI secrets: masked wherever a
    // pull request's code could route them.
    let masks = redact::Masks::new(&settings.inputs.env, &settings.compose_env);
    let mut report = check_parsed(
        sources.files,
        &sources.formats,
        rules,
        settings.root.as_deref(),
        lowering,
        &masks,
    );
    report.errors.append(&mut sources.errors);
    if let Some(production) = &settings.production {
        raise_production(&mut report, production);
    }
    suppress::apply(&mut report, rules, &settings.suppress, &project);
    restrict(&mut report, reached, reached..context_end, &named);
    report.notes.append(&mut sources.notes);
    report.files_read = reached_read;
    report.config.clone_from(&settings.config);
    if let Some(root) = &settings.report_root {
        report.anchor = source::Anchor::new(root);
    }
    masks.report(&mut report);
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
/// variables file) stay. When files were named, a finding located
/// elsewhere (a module the named file calls) is kept only when its
/// offending value was written in a file the paths reach: a staged
/// variable default or tfvars line that turns encryption off is caught,
/// though the finding is on the resource that reads it.
fn restrict(
    report: &mut Report,
    reached: usize,
    context: std::ops::Range<usize>,
    named: &[PathBuf],
) {
    let named: std::collections::HashSet<PathBuf> = named.iter().map(|p| canonical(p)).collect();
    let is_named = |file: usize| {
        report
            .files
            .get(file)
            .is_some_and(|f| named.contains(&canonical(&f.path)))
    };
    let reported: Vec<bool> = (0..report.files.len())
        .map(|file| {
            if named.is_empty() {
                !context.contains(&file)
            } else {
                file < reached || is_named(file)
            }
        })
        .collect();
    let kept = |file: usize| reported.get(file).copied().unwrap_or(false);
    // The value's provenance, not the module calls appended to it: a
    // staged caller does not bring in every finding of its modules.
    let wanted = |f: &Finding| {
        kept(f.file)
            || f.related.iter().any(|o| {
                kept(o.file)
                    && !f
                        .module
                        .iter()
                        .any(|call| call.file == o.file && call.span == o.span)
            })
    };
    report.findings.retain(wanted);
    report.undecided.retain(wanted);
    report.suppressed.retain(|s| wanted(&s.finding));
    let paths: std::collections::HashSet<&std::path::Path> = report.files[context]
        .iter()
        .map(|f| f.path.as_path())
        .collect();
    report.errors.retain(|e| !paths.contains(e.path.as_path()));
    report.notes.retain(|e| !paths.contains(e.path.as_path()));
}

/// The project root for module sources: the configured one, else the
/// first folder the project holds, else the current folder.
fn project_root(settings: &Settings<'_>, project: &read::Project) -> PathBuf {
    settings
        .root
        .clone()
        .or_else(|| project.roots().next().map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default())
}

/// The folder a path is in, `.` for a bare file name.
fn folder_of(path: &std::path::Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The folders under the project root that call the named Terraform
/// files' folders as modules, directly or not: a staged file in a child
/// module is evaluated through them, as `check .` would evaluate it.
fn callers_of(named: &[PathBuf], settings: &Settings<'_>) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = named
        .iter()
        .filter(|p| discover::is_terraform(p) || is_tfvars(p))
        .map(|p| canonical(&folder_of(p)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if dirs.is_empty() {
        return Vec::new();
    }
    let root = canonical(
        &settings
            .root
            .clone()
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_default()),
    );
    terraform::callers::callers(&dirs, &root, settings.exclude)
        .iter()
        .map(|dir| {
            let shown = terraform::module::presentable(dir, &root);
            if shown.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                shown
            }
        })
        .collect()
}

/// A Terraform variables file (`prod.tfvars`, `terraform.tfvars.json`).
fn is_tfvars(path: &std::path::Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".tfvars") || n.ends_with(".tfvars.json"))
}

fn canonical(path: &std::path::Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Checks in-memory sources, as the rule example harness and editors do;
/// each file's format comes from its name (`main.tf`, `app.yaml`,
/// `Dockerfile`), or for a `.json` file from its text (a plan).
pub fn check_sources(files: Vec<SourceFile>, rules: &RuleSet) -> Report {
    let formats: Vec<Option<Format>> = files
        .iter()
        .map(|f| {
            discover::format_of(&f.path).or_else(|| {
                (parse::plan::is_plan_name(&f.path) && parse::plan::is_plan(&f.text))
                    .then_some(Format::Plan)
            })
        })
        .collect();
    let files_read = files.len();
    let root = std::env::current_dir().unwrap_or_default();
    let lowering = Lowering {
        project: &read::Project::default(),
        root: &root,
        exclude: None,
        inputs: &Default::default(),
        compose_env: &Default::default(),
        plan_source: None,
    };
    let masks = redact::Masks::default();
    let mut report = check_parsed(files, &formats, rules, None, lowering, &masks);
    report.files_read = files_read;
    suppress::apply(
        &mut report,
        rules,
        &suppress::Options::default(),
        &read::Project::default(),
    );
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
    /// Byte ranges of files (by index) holding secrets, to mask before
    /// a report can quote them: a plan's sensitive values.
    pub secrets: Vec<(usize, std::ops::Range<usize>)>,
}

/// What lowering reads besides the files themselves.
#[derive(Clone, Copy)]
pub struct Lowering<'a> {
    /// Where tfvars, `.env` and installed module files, and the files of
    /// Terraform's file functions, may be read.
    pub project: &'a read::Project,
    /// The project root: local module sources outside it are not read.
    pub root: &'a std::path::Path,
    /// Paths the configuration leaves out: modules there are not read.
    pub exclude: Option<&'a (dyn Fn(&std::path::Path) -> bool + Sync)>,
    /// Terraform variable values from the command line and environment.
    pub inputs: &'a terraform::module::Inputs,
    /// What compose files may interpolate from the process environment.
    pub compose_env: &'a std::collections::BTreeMap<String, String>,
    /// The `.tf` sources of the plans (`--source`); unset, each plan's
    /// folder.
    pub plan_source: Option<&'a std::path::Path>,
}

/// One file parsed: its Terraform module sources and how they were read
/// (see [`terraform::module::summarize`]), the resources a manifest
/// lowers to, its errors, a note when it was skipped, and a plan's JSON.
type Parsed = (
    Option<(Vec<String>, terraform::module::Summarized)>,
    Vec<Resource>,
    Vec<FileError>,
    Option<FileError>,
    Option<parse::json::Node>,
);

/// Parses every file (in parallel), evaluates the Terraform modules they
/// form, and lowers everything to resources, without running rules.
pub fn lower_all(
    files: &[SourceFile],
    formats: &[Option<Format>],
    lowering: Lowering<'_>,
) -> Lowered {
    let parsed: Vec<Parsed> = files
        .par_iter()
        .zip(formats.par_iter())
        .enumerate()
        .map(|(index, (file, format))| match format {
            // Its module calls, read from the text where they can be (else
            // from a tree, dropped here): the file is parsed when its
            // module's batch is evaluated (see
            // `terraform::module::evaluate`), and a file that calls no
            // module only then.
            Some(Format::Terraform) if !terraform::module::may_call_modules(file) => (
                Some((Vec::new(), terraform::module::Summarized::NoCalls)),
                Vec::new(),
                Vec::new(),
                None,
                None,
            ),
            Some(Format::Terraform) => match terraform::module::summarize(file) {
                Ok(summary) => (Some(summary), Vec::new(), Vec::new(), None, None),
                Err(err) => (None, Vec::new(), vec![err], None, None),
            },
            Some(Format::Yaml) => {
                let (r, e, note) = parse::manifest::lower_yaml_noting(index, file, lowering);
                (None, r, e, note, None)
            }
            Some(Format::Dockerfile) => {
                let (r, e) = parse::dockerfile::lower(index, file);
                (None, r, e, None, None)
            }
            Some(Format::Plan) => match parse::plan::parse(file) {
                Ok(plan) => (None, Vec::new(), Vec::new(), None, Some(plan)),
                Err(err) => (None, Vec::new(), vec![err], None, None),
            },
            None => (None, Vec::new(), Vec::new(), None, None),
        })
        .map(|mut parsed| {
            parsed.1.iter_mut().for_each(Resource::shrink);
            parsed
        })
        .collect();
    let mut lowered = Lowered::default();
    let mut summaries = Vec::with_capacity(parsed.len());
    let mut skipped = Vec::new();
    let mut plans = Vec::new();
    for (index, (summary, mut resources, mut errors, note, plan)) in parsed.into_iter().enumerate()
    {
        summaries.push(summary);
        lowered.resources.append(&mut resources);
        lowered.errors.append(&mut errors);
        skipped.extend(note);
        plans.extend(plan.map(|plan| (index, plan)));
    }
    let bounds = terraform::module::Bounds {
        project: lowering.project,
        root: lowering.root,
        exclude: lowering.exclude,
    };
    let evaluated = terraform::module::evaluate(files, &summaries, bounds, lowering.inputs);
    let mut resources = evaluated.resources;
    resources.append(&mut lowered.resources);
    lower_plans(files, &plans, lowering, &mut resources, &mut lowered);
    lowered.resources = resources;
    lowered.errors.extend(evaluated.errors);
    lowered.extra_files = evaluated.extra_files;
    lowered.notes = evaluated.notes;
    lowered.notes.append(&mut skipped);
    lowered
}

/// Lowers the plans, each in a scope of its own. A plan whose
/// `configuration` is there and whose `.tf` sources were evaluated (a
/// root module in its folder, or in `--source`) borrows their spans, and
/// supersedes their managed resources: one set of findings, at the `.tf`
/// lines, with the plan's values.
fn lower_plans(
    files: &[SourceFile],
    plans: &[(usize, parse::json::Node)],
    lowering: Lowering<'_>,
    resources: &mut Vec<Resource>,
    out: &mut Lowered,
) {
    if plans.is_empty() {
        return;
    }
    let mut next_scope = resources.iter().map(|r| r.scope).max().unwrap_or(0);
    // Each root module's scope by its folder, each file's folder resolved
    // once.
    let mut folders: std::collections::HashMap<usize, Option<PathBuf>> =
        std::collections::HashMap::new();
    let mut roots: std::collections::HashMap<PathBuf, u32> = std::collections::HashMap::new();
    for r in resources
        .iter()
        .filter(|r| r.scope > 0 && r.module.is_empty())
    {
        let folder = folders
            .entry(r.file)
            .or_insert_with(|| files.get(r.file).map(|f| canonical(&folder_of(&f.path))));
        if let Some(folder) = folder {
            roots.entry(folder.clone()).or_insert(r.scope);
        }
    }
    let mut superseded = std::collections::HashSet::new();
    let mut planned = Vec::new();
    for (index, root) in plans {
        let Some(file) = files.get(*index) else {
            continue;
        };
        let dir = lowering
            .plan_source
            .map_or_else(|| folder_of(&file.path), std::path::Path::to_path_buf);
        let dir = canonical(&dir);
        // The root module evaluated from that folder: its scope.
        let scope = parse::plan::has_configuration(root)
            .then(|| roots.get(&dir).copied())
            .flatten();
        let located = scope.map(|scope| {
            parse::plan::Located::new(
                resources
                    .iter()
                    .filter(|r| r.scope == scope && r.kind == model::BlockKind::Resource),
            )
        });
        next_scope += 1;
        let mut lowered = parse::plan::lower(*index, file, root, located.as_ref(), next_scope);
        if let Some(scope) = scope {
            // The module's other blocks (providers, variables, data
            // sources) stay beside the planned resources, in their scope.
            superseded.insert(scope);
            planned.extend(
                resources
                    .iter()
                    .filter(|r| r.scope == scope && r.kind != model::BlockKind::Resource)
                    .map(|r| Resource {
                        scope: next_scope,
                        ..r.clone()
                    }),
            );
        }
        planned.append(&mut lowered.resources);
        out.errors.append(&mut lowered.errors);
        out.secrets
            .extend(lowered.secrets.into_iter().map(|range| (*index, range)));
    }
    resources.retain(|r| !superseded.contains(&r.scope));
    resources.append(&mut planned);
}

/// Parses and lowers every file, as [`lower_all`] does with default inputs,
/// reading nothing outside the files' folders.
pub fn parse_all(
    files: &[SourceFile],
    formats: &[Option<Format>],
) -> (Vec<Resource>, Vec<FileError>) {
    let project = read::Project::new(files.iter().map(SourceFile::path));
    let root = std::env::current_dir().unwrap_or_default();
    let lowering = Lowering {
        project: &project,
        root: &root,
        exclude: None,
        inputs: &Default::default(),
        compose_env: &Default::default(),
        plan_source: None,
    };
    let lowered = lower_all(files, formats, lowering);
    (lowered.resources, lowered.errors)
}

fn check_parsed(
    mut files: Vec<SourceFile>,
    formats: &[Option<Format>],
    rules: &RuleSet,
    root: Option<&std::path::Path>,
    lowering: Lowering<'_>,
    masks: &redact::Masks,
) -> Report {
    let mut lowered = lower_all(&files, formats, lowering);
    masks.identities(&mut lowered.resources);
    mask_secrets(&mut files, &lowered.secrets);
    files.extend(lowered.extra_files);
    let keys = fingerprint_paths(&files, root);
    let results = engine::run(rules, &lowered.resources, &keys);
    Report {
        fingerprint_paths: keys,
        files,
        files_read: 0,
        resources: lowered.resources,
        findings: results.findings,
        undecided: results.undecided,
        held: results.held,
        maybe: results.maybe,
        suppressed: Vec::new(),
        lapsed: Vec::new(),
        notes: lowered.notes,
        errors: lowered.errors.into_iter().chain(results.errors).collect(),
        config: None,
        anchor: source::Anchor::default(),
        meta: None,
        file_index: FileIndex::default(),
    }
}

/// Writes `*` over the secrets in the files' text, byte for byte, so
/// that spans and lines stay where they were.
fn mask_secrets(files: &mut [SourceFile], secrets: &[(usize, std::ops::Range<usize>)]) {
    let mut by_file: std::collections::BTreeMap<usize, Vec<&std::ops::Range<usize>>> =
        std::collections::BTreeMap::new();
    for (index, range) in secrets {
        by_file.entry(*index).or_default().push(range);
    }
    for (index, ranges) in by_file {
        let Some(file) = files.get_mut(index) else {
            continue;
        };
        let text = &file.text;
        let mut bytes = text.as_bytes().to_vec();
        for range in ranges {
            // Widened to whole characters, every byte of which becomes
            // `*`: the text stays valid UTF-8 of the same length, and no
            // piece of a secret's character is left.
            let start = (0..=range.start.min(text.len()))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let end = (range.end.min(text.len())..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            if let Some(slice) = bytes.get_mut(start..end) {
                slice.fill(b'*');
            }
        }
        // Whole characters replaced by ASCII: still UTF-8.
        if let Ok(masked) = String::from_utf8(bytes) {
            file.text = masked.into();
        }
    }
}

/// The path of each file that fingerprints use: relative to the project
/// root when there is one, so that `check .` and `check infra/` agree.
fn fingerprint_paths(files: &[SourceFile], root: Option<&std::path::Path>) -> Vec<String> {
    let folders = read::Folders::default();
    files
        .par_iter()
        .map(|file| {
            root.and_then(|root| {
                let absolute = folders.canonical(&file.path)?;
                let relative = absolute.strip_prefix(root).ok()?;
                Some(source::display_path(relative))
            })
            .unwrap_or_else(|| file.display_path())
        })
        .collect()
}

fn sort(report: &mut Report) {
    // Each file's path made once; the keys borrow it and the findings,
    // not copies per finding (a monorepo's report has hundreds of
    // thousands). Stable, as before.
    let paths: Vec<String> = report.files.iter().map(SourceFile::display_path).collect();
    let path = |f: &Finding| paths.get(f.file).map(String::as_str);
    let order = |a: &Finding, b: &Finding| {
        path(a)
            .cmp(&path(b))
            .then_with(|| a.span.start.cmp(&b.span.start))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.pointer.cmp(&b.pointer))
    };
    report.findings.sort_by(order);
    report.undecided.sort_by(order);
    report
        .suppressed
        .sort_by(|a, b| order(&a.finding, &b.finding));
    report.errors.sort_by(|a, b| {
        (&a.path, a.span.map(|s| s.start)).cmp(&(&b.path, b.span.map(|s| s.start)))
    });
}

/// Reads one candidate through the guarded reader: refuses what is not a
/// regular file inside the project, and huge, binary and non-UTF-8 files,
/// with an error that says why (and where, when a position helps).
fn read_file(
    candidate: &Candidate,
    within: read::Within<'_>,
) -> Result<SourceFile, (SourceFile, FileError)> {
    let path = &candidate.path;
    let error = |text: String, span: Option<Span>, message: String| {
        (
            SourceFile::new(path.clone(), text),
            FileError::new(path, span, message),
        )
    };
    let err = match read::text(path, within) {
        Ok(text) => return Ok(SourceFile::new(path.clone(), text)),
        Err(err) => err,
    };
    let message = err.to_string();
    Err(match err {
        read::ReadError::Binary { text } => {
            let at = text.len();
            error(text, Some(Span::new(at, at)), message)
        }
        read::ReadError::InvalidUtf8 { text, valid } => {
            let end = text[valid..]
                .chars()
                .next()
                .map_or(valid, |c| valid + c.len_utf8());
            error(text, Some(Span::new(valid, end)), message)
        }
        _ => error(String::new(), None, message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_finds_its_file_by_path_and_files_added_later() {
        let mut report = Report {
            files: vec![
                SourceFile::new("a.tf", "first"),
                SourceFile::new("b.tf", "b"),
                SourceFile::new("a.tf", "second"),
            ],
            ..Report::default()
        };
        let at = |path: &str| FileError::new(std::path::Path::new(path), None, "x");
        assert_eq!(
            report.file_for(&at("a.tf")).map(|f| &*f.text),
            Some("first")
        );
        assert!(report.file_for(&at("c.tf")).is_none());
        report.files.push(SourceFile::new("c.tf", "c"));
        assert_eq!(report.file_for(&at("c.tf")).map(|f| &*f.text), Some("c"));
    }

    #[test]
    fn a_secret_is_masked_whole_even_when_its_range_splits_a_character() {
        let text = r#"{"password": "pässwörd", "user": "ö"}"#;
        let mut files = vec![SourceFile::new("plan.json", text)];
        let start = text.find("pässwörd").unwrap();
        // From inside `ä` to inside `ö`: both characters go.
        mask_secrets(&mut files, &[(0, start + 2..start + 7)]);
        let masked = &*files[0].text;
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains(r#""p*******rd""#), "{masked}");
        assert!(masked.ends_with(r#""user": "ö"}"#), "{masked}");
    }
}
