//! Evaluating Terraform modules: each folder of `.tf` files is a module;
//! folders no other scanned module calls are roots, evaluated with their
//! variables' defaults, tfvars files, `--var`/`--var-file` and `TF_VAR_`
//! values; module calls are evaluated with the caller's arguments,
//! recursively, with `count`/`for_each` on resources, data sources and
//! calls expanded into Terraform's instance addresses. Local modules that
//! calls reach outside the checked folders are read too (once per
//! folder, never outside the project root), but are never roots.
//!
//! Everything is lazy and memoised: locals, module outputs and child
//! instances are evaluated when first asked for, with cycles reported and
//! turned into unknown values rather than followed.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

use rayon::prelude::*;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body};

use super::eval::{self, Scope};
use super::functions::Context;
use super::types::Type;
use super::value::Value;
use crate::error::FileError;
use crate::model::{BlockKind, Origin, Resource};
use crate::parse::hcl::{self as hcl_front, Evaluate, Header};
use crate::read::{self, Project, Within};
use crate::source::{SourceFile, Span};

/// Module calls nested deeper than this are not followed.
pub const MAX_MODULE_DEPTH: usize = 24;
/// Instances of one `count`/`for_each` beyond this are not expanded.
pub const MAX_INSTANCES: usize = 10_000;
/// Resource and module instances one root module may expand to, all
/// calls and blocks together.
pub const MAX_ROOT_INSTANCES: usize = 100_000;
/// Evaluation work (see [`eval::Budget`]) all root modules share: each
/// root gets its part, never less than [`MIN_ROOT_WORK`], and all
/// together never more than this (a unit is a value node or 64 bytes of
/// string: about 256 MiB of values).
pub const TOTAL_WORK: usize = 4_000_000;
/// The least evaluation work a root module gets.
pub const MIN_ROOT_WORK: usize = 250_000;
/// How deep locals, outputs and module arguments may refer to one
/// another (each a nested evaluation) before the value is unknown.
pub const MAX_NESTING: usize = 64;

/// What one root module's evaluation may spend, shared by its module
/// instances.
#[derive(Debug)]
struct RootBudget {
    work: eval::Budget,
    /// Nested lazy evaluations in progress (locals, outputs).
    nesting: Cell<usize>,
    /// Instances expanded so far.
    instances: Cell<usize>,
    /// The first evaluation that stopped at a limit (where, and why), and
    /// how many did.
    limited: RefCell<Option<(String, String)>>,
    limited_count: Cell<usize>,
}

/// Variable values given on the command line and in the environment.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--var NAME=VALUE`, in order.
    pub vars: Vec<(String, String)>,
    /// `--var-file FILE`, in order.
    pub var_files: Vec<PathBuf>,
    /// `TF_VAR_name` values (read from the environment by the caller).
    pub env: Vec<(String, String)>,
    /// tfvars files named among the paths to check: each applies to its
    /// own folder's root module, after that folder's own tfvars files,
    /// as `--var-file` would there.
    pub named_var_files: Vec<PathBuf>,
}

/// Where evaluation may read module folders that were not checked.
#[derive(Clone, Copy)]
pub struct Bounds<'a> {
    /// Where files may be read (the project and the scanned folders).
    pub project: &'a Project,
    /// The project root: module sources outside it are not followed.
    pub root: &'a Path,
    /// Paths the configuration leaves out: modules there are not read.
    pub exclude: Option<&'a (dyn Fn(&Path) -> bool + Sync)>,
}

/// What evaluation produced.
#[derive(Debug, Default)]
pub struct Evaluated {
    pub resources: Vec<Resource>,
    pub errors: Vec<FileError>,
    /// Files read for evaluation besides the checked ones (tfvars files),
    /// indexed after them, so provenance can point into them.
    pub extra_files: Vec<SourceFile>,
    /// Things a reader should know, such as modules that were not scanned.
    pub notes: Vec<FileError>,
}

/// A declared variable.
struct VarDef<'a> {
    file: usize,
    /// The block's header, where a value from the environment is said to
    /// come in.
    header: Span,
    default: Option<&'a Attribute>,
    nullable: bool,
    /// The `type` constraint; `Any` when there is none.
    ty: Type,
    /// Whether the variable has no type or `string`: a `--var` value is
    /// then a string, not an expression.
    takes_string: bool,
}

/// A `module` block.
struct Call<'a> {
    name: String,
    file: usize,
    block: &'a Block,
    /// The called folder, when it was found.
    target: Option<PathBuf>,
    source: String,
}

/// One module folder, parsed.
struct Def<'a> {
    dir: PathBuf,
    variables: BTreeMap<String, VarDef<'a>>,
    locals: HashMap<String, (usize, &'a Attribute)>,
    /// Resources and data sources.
    blocks: Vec<(usize, &'a Block, Header)>,
    calls: Vec<Call<'a>>,
    outputs: HashMap<String, (usize, &'a Attribute)>,
    providers: Vec<(usize, &'a Block)>,
}

/// All module definitions, and what evaluation needs everywhere.
struct Program<'a> {
    defs: HashMap<PathBuf, Def<'a>>,
    /// Remote modules installed by `terraform init`.
    manifests: &'a Manifests,
    /// Local module folders that calls reach but that were not read.
    unread: &'a HashMap<PathBuf, Unread>,
    files: Vec<&'a SourceFile>,
    /// Where file functions may read.
    root: Project,
    notes: Mutex<Vec<FileError>>,
    errors: Mutex<Vec<FileError>>,
}

/// What evaluation needs of a checked Terraform file before its module
/// is evaluated: the `source` strings of its `module` blocks (see
/// [`local_sources`]), from which the call graph, the root modules and
/// their batches are worked out. The file is parsed again, with its
/// batch, when its module is evaluated: syntax trees take about twenty
/// times the bytes of their text, so only one batch's are ever alive.
pub fn summary(body: &Body) -> Vec<String> {
    local_sources(body).map(str::to_string).collect()
}

/// How a checked Terraform file's [`summary`] was come by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summarized {
    /// From its syntax tree: its syntax errors are known.
    Parsed,
    /// From its text ([`super::scan::module_sources`]), without a parse:
    /// its batch's parse confirms it.
    Scanned,
    /// None: it [cannot call modules](may_call_modules), and is parsed
    /// only with its batch.
    NoCalls,
}

/// The summary of a checked Terraform file that may call modules, and
/// how it was come by: read from its text where
/// [`super::scan::module_sources`] can, which [`evaluate`] confirms with
/// the parse it makes anyway; else from a parse of its own. `Err` when
/// that parse failed.
pub fn summarize(file: &SourceFile) -> Result<(Vec<String>, Summarized), FileError> {
    if !crate::parse::tfjson::is_tf_json(file.path()) {
        if let Some(sources) = super::scan::module_sources(&file.text) {
            return Ok((sources, Summarized::Scanned));
        }
    }
    let body = crate::parse::terraform(file)?;
    Ok((summary(&body), Summarized::Parsed))
}

/// Whether a Terraform file may hold a `module` block, hence a
/// [`summary`] to [read](summarize) before its batch. One that cannot is
/// taken to call nothing, and is read only with its batch, where its
/// syntax errors are reported: in a monorepo most files (a module's
/// variables, outputs and resources) call no module, and most files that
/// name one only refer to its outputs (`module.vpc.vpc_id`).
///
/// In the native syntax a block starts its line, so the word `module`
/// counts where only blanks come before it on its line (or a comment's
/// end, `*/`, in case a comment does) and a blank, a quote or a brace
/// after it. What it lets through that is no block (the word at the start
/// of a line in a string or comment) costs a parse; nothing it turns
/// away can be a block of a file that parses. A `.tf.json` file may
/// write its `module` key anywhere.
pub fn may_call_modules(file: &SourceFile) -> bool {
    let text: &str = &file.text;
    if crate::parse::tfjson::is_tf_json(file.path()) {
        return text.contains("module");
    }
    // The word, then a blank, a quote or a brace.
    let word = |at: &str| {
        at.strip_prefix("module")
            .is_some_and(|rest| rest.starts_with([' ', '\t', '"', '{']))
    };
    text.lines().any(|line| {
        word(line.trim_start_matches([' ', '\t']))
            || (line.contains("*/")
                && line
                    .match_indices("module")
                    .any(|(at, _)| word(&line[at..])))
    })
}

/// The checked Terraform text (in bytes) whose syntax trees one batch of
/// root modules holds at once, beyond what its first root needs (its
/// folder and the local modules it calls): see [`batches`].
pub const BATCH_BYTES: usize = 1 << 20;

/// Evaluates every module under the checked files and lowers their
/// resources. `parsed[i]` is the [`summary`] of `files[i]` and how it was
/// come by (None when it is not a Terraform file or did not parse; empty,
/// without a parse, when it [cannot call modules](may_call_modules): its
/// syntax errors are found here). Nothing outside `root` (the project) is
/// read, but the `--var-file` files the user named.
///
/// Root modules are evaluated in batches of about [`BATCH_BYTES`] of
/// text, each batch's files parsed when it starts and dropped when it
/// ends; modules outside the checked files (installed or reached by
/// local calls) are parsed once and kept.
///
/// A [scanned](Summarized::Scanned) summary plans the batches as a
/// parsed one would. Should a file's parse give other sources (or fail,
/// which counts as no summary), the plan was wrong, and everything is
/// evaluated again from the parsed sources: the result is always that of
/// a plan made from syntax trees, at twice the time in that case.
pub fn evaluate(
    files: &[SourceFile],
    parsed: &[Option<(Vec<String>, Summarized)>],
    bounds: Bounds<'_>,
    inputs: &Inputs,
) -> Evaluated {
    let mut sources: Vec<Option<Vec<String>>> = parsed
        .iter()
        .map(|p| p.as_ref().map(|(sources, _)| sources.clone()))
        .collect();
    let mut how: Vec<Summarized> = parsed
        .iter()
        .map(|p| p.as_ref().map_or(Summarized::Parsed, |(_, how)| *how))
        .collect();
    let (out, wrong) = evaluate_planned(files, &sources, &how, bounds, inputs);
    if wrong.is_empty() {
        return out;
    }
    // The files that did not parse are left out, as a failed parse of
    // their own would have left them, with the errors the first run
    // found.
    let mut failed = Vec::new();
    for (i, truth) in wrong {
        match truth {
            Ok(parsed) => sources[i] = Some(parsed),
            Err(error) => {
                sources[i] = None;
                failed.push(error);
            }
        }
    }
    for h in &mut how {
        if *h == Summarized::Scanned {
            *h = Summarized::Parsed;
        }
    }
    let (mut out, _) = evaluate_planned(files, &sources, &how, bounds, inputs);
    out.errors.append(&mut failed);
    out
}

/// A scanned summary its file's parse did not confirm: the file's index
/// and its parsed sources, or the error its parse gave.
type Unconfirmed = (usize, Result<Vec<String>, FileError>);

/// [`evaluate`] on one plan: `parsed[i]` is the [`summary`] of `files[i]`
/// and `how[i]` how it was come by. Also the scanned summaries the
/// parses did not confirm.
fn evaluate_planned(
    files: &[SourceFile],
    parsed: &[Option<Vec<String>>],
    how: &[Summarized],
    bounds: Bounds<'_>,
    inputs: &Inputs,
) -> (Evaluated, Vec<Unconfirmed>) {
    let root = bounds.project;
    let project_root = bounds
        .root
        .canonicalize()
        .unwrap_or_else(|_| bounds.root.to_path_buf());
    let mut out = Evaluated::default();
    // tfvars files are read for every folder that may be a root.
    // Each folder resolved once, not once per file, and the folders in
    // parallel: resolving costs a system call for every component of
    // the path, and listing a folder for its tfvars files one more.
    fn folder(file: &SourceFile) -> &Path {
        file.path.parent().unwrap_or(Path::new("."))
    }
    // Files come in path order, so a folder's files mostly follow one
    // another: they are taken in runs, each run's folder looked up once
    // (paths compare and hash component by component).
    let mut runs: Vec<(&Path, Vec<usize>)> = Vec::new();
    for (i, (file, summary)) in files.iter().zip(parsed).enumerate() {
        if summary.is_some() {
            let dir = folder(file);
            match runs.last_mut() {
                Some((last, run)) if last.as_os_str() == dir.as_os_str() => run.push(i),
                _ => runs.push((dir, vec![i])),
            }
        }
    }
    let mut folders: Vec<&Path> = runs.iter().map(|(dir, _)| *dir).collect();
    folders.sort_unstable();
    folders.dedup();
    let resolved: HashMap<&Path, PathBuf> = folders
        .into_par_iter()
        .map(|dir| (dir, canonical_folder(dir)))
        .collect();
    let mut dirs: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (dir, run) in runs {
        if let Some(dir) = resolved.get(dir) {
            dirs.entry(dir.clone()).or_default().extend(run);
        }
    }
    let read: Vec<_> = dirs
        .keys()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|dir| {
            let (mut read, mut errors) = (Vec::new(), Vec::new());
            let automatic = tfvars_files(dir);
            for path in &automatic {
                match read::text(path, Within::Project(root)) {
                    Ok(text) => read.push((
                        dir.clone(),
                        SourceFile::new(presentable(path, &project_root), text),
                    )),
                    Err(e) => errors.push(FileError::new(
                        &presentable(path, &project_root),
                        None,
                        e.to_string(),
                    )),
                }
            }
            for path in &inputs.named_var_files {
                let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                if canonical_dir(path) != *dir || automatic.contains(&canonical) {
                    continue;
                }
                match read::text(path, Within::Project(root)) {
                    Ok(text) => read.push((dir.clone(), SourceFile::new(path.clone(), text))),
                    Err(e) => {
                        errors.push(FileError::new(path, None, e.describe("the variables file")))
                    }
                }
            }
            (read, errors)
        })
        .collect();
    let mut tfvars: Vec<(PathBuf, SourceFile)> = Vec::new();
    for (mut read, mut errors) in read {
        tfvars.append(&mut read);
        out.errors.append(&mut errors);
    }
    for path in &inputs.var_files {
        match read::text(path, Within::Anywhere) {
            Ok(text) => tfvars.push((PathBuf::new(), SourceFile::new(path.clone(), text))),
            Err(e) => out
                .errors
                .push(FileError::new(path, None, e.describe("the variables file"))),
        }
    }
    // Remote modules that `terraform init` installed under .terraform.
    let first_module_file = files.len() + tfvars.len();
    let (manifests, mut module_files, mut module_bodies, module_dirs) = installed_modules(
        &dirs,
        first_module_file,
        root,
        &project_root,
        &mut out.errors,
    );
    let mut all_dirs = dirs.clone();
    for (dir, indices) in module_dirs {
        all_dirs.entry(dir).or_default().extend(indices);
    }
    // The module sources of every file known so far: the checked ones'
    // from their summaries, the installed ones' from their bodies; the
    // folders local calls reach add theirs.
    let mut known: Vec<Option<Vec<String>>> = parsed.to_vec();
    known.resize(first_module_file, None);
    known.extend(module_bodies.iter().map(|b| b.as_ref().map(summary)));
    // Local modules that calls reach outside the checked folders.
    let mut reached = local_modules(&all_dirs, &mut known, bounds, &project_root);
    for (dir, indices) in std::mem::take(&mut reached.dirs) {
        all_dirs.entry(dir).or_default().extend(indices);
    }
    out.errors.append(&mut reached.errors);
    module_files.append(&mut reached.files);
    module_bodies.append(&mut reached.bodies);
    let mut all_files: Vec<&SourceFile> = files.iter().collect();
    all_files.extend(tfvars.iter().map(|(_, f)| f));
    all_files.extend(module_files.iter());
    let found = Found {
        project: root.clone(),
        targets: std::mem::take(&mut reached.targets),
        manifests,
        unread: std::mem::take(&mut reached.unread),
    };

    // Each folder's calls, as `Program::build` resolves them.
    let graph: HashMap<&PathBuf, Vec<PathBuf>> = all_dirs
        .iter()
        .map(|(dir, indices)| {
            let targets = indices
                .iter()
                .filter_map(|&i| known.get(i).and_then(Option::as_ref))
                .flatten()
                .filter_map(|source| found.target(dir, source))
                .collect();
            (dir, targets)
        })
        .collect();
    // Roots are independent: each is evaluated on its own thread, its
    // module instances (Rc, RefCell) never leaving it.
    // Each root is a scope of its own (numbered from 1): references and
    // names resolve only inside it.
    let roots = roots(&graph, dirs.keys());
    let work = (TOTAL_WORK / roots.len().max(1)).max(MIN_ROOT_WORK);
    let shared = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(TOTAL_WORK));
    // Each folder's tfvars files, by index: looked up per root, not
    // compared with every root (thousands of each in a monorepo). The
    // `--var-file` ones (no folder) apply to every root.
    let mut tfvars_of: HashMap<&Path, Vec<usize>> = HashMap::new();
    let mut anywhere = Vec::new();
    for (i, (dir, _)) in tfvars.iter().enumerate() {
        if dir.as_os_str().is_empty() {
            anywhere.push(i);
        } else {
            tfvars_of.entry(dir.as_path()).or_default().push(i);
        }
    }
    let tfvars_for = |dir: &Path| -> Vec<usize> {
        let mut chosen = tfvars_of.get(dir).cloned().unwrap_or_default();
        chosen.extend(&anywhere);
        // In the order they were read, as before.
        chosen.sort_unstable();
        chosen
    };
    let mut built: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut errors = Vec::new();
    let mut unconfirmed: Vec<Unconfirmed> = Vec::new();
    // Whether a scanned summary is what the tree gives (its first parse
    // only: later ones give the same).
    let confirm = |i: usize, result: &Result<Body, FileError>, unconfirmed: &mut Vec<_>| {
        if how[i] != Summarized::Scanned {
            return;
        }
        let truth = match result {
            Ok(body) => Ok(summary(body)),
            Err(error) => Err(error.clone()),
        };
        if truth.as_ref().ok() != parsed[i].as_ref() {
            unconfirmed.push((i, truth));
        }
    };
    // The checked files some batch parsed.
    let mut batch_parsed = std::collections::HashSet::new();
    let mut notes = Vec::new();
    for batch in batches(&roots, &graph, &found.manifests, &all_dirs, files) {
        // The checked files of the batch's folders, parsed again.
        let wanted: Vec<usize> = batch
            .dirs
            .iter()
            .flat_map(|dir| all_dirs.get(dir).into_iter().flatten())
            .copied()
            .filter(|&i| i < files.len() && parsed[i].is_some())
            .collect();
        let results: Vec<(usize, Result<Body, FileError>)> = wanted
            .par_iter()
            .map(|&i| (i, crate::parse::terraform(&files[i])))
            .collect();
        let mut bodies: Vec<(usize, Body)> = Vec::with_capacity(results.len());
        for (i, result) in results {
            if !batch_parsed.contains(&i) {
                confirm(i, &result, &mut unconfirmed);
            }
            match result {
                Ok(body) => bodies.push((i, body)),
                // A file that several batches parse is reported by the
                // first.
                Err(error) => {
                    if !batch_parsed.contains(&i) {
                        errors.push(error);
                    }
                }
            }
        }
        batch_parsed.extend(wanted.iter().copied());
        let mut all_bodies: Vec<Option<&Body>> = vec![None; first_module_file];
        for (i, body) in &bodies {
            all_bodies[*i] = Some(body);
        }
        all_bodies.extend(module_bodies.iter().map(Option::as_ref));
        let batch_dirs: BTreeMap<PathBuf, Vec<usize>> = batch
            .dirs
            .iter()
            .filter_map(|dir| all_dirs.get(dir).map(|i| (dir.clone(), i.clone())))
            .collect();
        let program = Program::build(&all_files, &all_bodies, &batch_dirs, &found, &built);
        built.extend(batch_dirs.into_keys());
        let per_root: Vec<Vec<Resource>> = batch
            .roots
            .par_iter()
            .map(|&i| {
                let budget = eval::Budget::shared(work, std::sync::Arc::clone(&shared));
                let chosen = tfvars_for(&roots[i]);
                let mut resources = evaluate_root(
                    &program,
                    &roots[i],
                    (files.len(), &tfvars, &chosen),
                    inputs,
                    budget,
                );
                let scope = u32::try_from(i + 1).unwrap_or(u32::MAX);
                for r in &mut resources {
                    r.scope = scope;
                    r.shrink();
                }
                resources
            })
            .collect();
        for mut resources in per_root {
            out.resources.append(&mut resources);
        }
        errors.extend(program.errors.into_inner().unwrap_or_default());
        notes.extend(program.notes.into_inner().unwrap_or_default());
        // Freeing a batch's trees takes about a third of the time parsing
        // them did: on every core, not on this thread alone.
        drop(all_bodies);
        bodies.into_par_iter().for_each(drop);
    }
    // Files no batch read (a folder only a cycle of calls reaches) that
    // were not parsed before either: their syntax errors.
    let left: Vec<usize> = (0..files.len())
        .filter(|i| parsed[*i].is_some() && !batch_parsed.contains(i))
        .filter(|&i| how[i] != Summarized::Parsed)
        .collect();
    let left: Vec<(usize, Result<Body, FileError>)> = left
        .par_iter()
        .map(|&i| (i, crate::parse::terraform(&files[i])))
        .collect();
    for (i, result) in left {
        confirm(i, &result, &mut unconfirmed);
        errors.extend(result.err());
    }
    out.errors.extend(errors);
    out.notes = notes;
    // A named tfvars file that no root reads is said so, not ignored.
    for path in &inputs.named_var_files {
        if !roots.contains(&canonical_dir(path)) {
            out.notes.push(FileError::new(
                path,
                None,
                "variables file not read: its folder is not a root module (Terraform reads tfvars files only in the folder it runs in)",
            ));
        }
    }
    // Threads finish in any order; reports must not.
    out.notes.sort_by(|a, b| {
        (&a.path, a.span.map(|s| s.start), &a.message).cmp(&(
            &b.path,
            b.span.map(|s| s.start),
            &b.message,
        ))
    });
    out.notes.dedup();
    out.extra_files = tfvars.into_iter().map(|(_, f)| f).collect();
    out.extra_files.extend(module_files);
    (out, unconfirmed)
}

/// Root modules evaluated together, and the folders whose files they
/// need: their own, the local modules they call, and the modules
/// `terraform init` installed for them.
#[derive(Debug, Default)]
struct Batch {
    /// Indices into the roots.
    roots: Vec<usize>,
    dirs: std::collections::BTreeSet<PathBuf>,
}

/// Splits the roots, in order, into batches: each holds the checked text
/// its first root needs and about [`BATCH_BYTES`] more. So a large
/// module that many roots call is parsed once for every [`BATCH_BYTES`]
/// of their own text, never once per root.
fn batches(
    roots: &[PathBuf],
    graph: &HashMap<&PathBuf, Vec<PathBuf>>,
    manifests: &Manifests,
    all_dirs: &BTreeMap<PathBuf, Vec<usize>>,
    files: &[SourceFile],
) -> Vec<Batch> {
    let bytes = |dir: &PathBuf| -> usize {
        all_dirs
            .get(dir)
            .into_iter()
            .flatten()
            .filter_map(|&i| files.get(i))
            .map(|f| f.text.len())
            .sum()
    };
    let mut out = Vec::new();
    let mut current = Batch::default();
    // The text the current batch holds, and what its first root needs.
    let (mut size, mut base) = (0, 0);
    for (i, root) in roots.iter().enumerate() {
        // The folders this root reaches, its installed modules included.
        let mut closure = std::collections::HashSet::new();
        let start = std::iter::once(root.clone()).chain(
            manifests
                .get(root)
                .into_iter()
                .flat_map(|m| m.values().cloned()),
        );
        reach(graph, start, &mut closure);
        let new_to = |batch: &Batch| -> usize {
            closure
                .iter()
                .filter(|d| !batch.dirs.contains(*d))
                .map(bytes)
                .sum()
        };
        let mut added = new_to(&current);
        if !current.roots.is_empty() && size + added > base + BATCH_BYTES {
            out.push(std::mem::take(&mut current));
            added = new_to(&current);
        }
        if current.roots.is_empty() {
            (size, base) = (0, added);
        }
        size += added;
        current.roots.push(i);
        current.dirs.extend(closure);
    }
    if !current.roots.is_empty() {
        out.push(current);
    }
    out
}

/// Evaluates one root module and lowers its resources and its children's.
/// Evaluates the root module in `dir`. `tfvars` is the index of the
/// first tfvars file among all files, the tfvars files, and the ones
/// this root reads (its folder's, then `--var-file` ones), in order.
fn evaluate_root(
    program: &Program<'_>,
    dir: &PathBuf,
    tfvars: (usize, &[(PathBuf, SourceFile)], &[usize]),
    inputs: &Inputs,
    work: eval::Budget,
) -> Vec<Resource> {
    let mut out = Vec::new();
    let Some(def) = program.defs.get(dir) else {
        return out;
    };
    let (first_tfvars, files, chosen) = tfvars;
    let mut values = Vec::new();
    for &i in chosen {
        if let Some((_, file)) = files.get(i) {
            values.extend(read_tfvars(first_tfvars + i, file, program));
        }
    }
    let vars = root_variables(def, &values, inputs, program);
    let instance = Rc::new(Instance::new(
        program,
        def,
        Place {
            prefix: String::new(),
            key: String::new(),
            root: dir.clone(),
            calls: Vec::new(),
            budget: Rc::new(RootBudget {
                work,
                nesting: Cell::new(0),
                instances: Cell::new(0),
                limited: RefCell::new(None),
                limited_count: Cell::new(0),
            }),
        },
        vars,
        vec![dir.clone()],
        Providers::default(),
    ));
    instance.lower(&mut out);
    let limited = instance.budget.limited.borrow().clone();
    if let Some((place, why)) = limited {
        let count = instance.budget.limited_count.get();
        push(
            &program.errors,
            FileError::new(
                &presentable_dir(dir),
                None,
                format!(
                    "{count} value(s) of this root module could not be evaluated within \
                     provcheck's limits and are unknown, so the result is incomplete; \
                     the first, in {place}: {why}"
                ),
            ),
        );
    } else if instance.budget.work.is_spent() {
        push(
            &program.errors,
            FileError::new(
                &presentable_dir(dir),
                None,
                format!(
                    "evaluating this root module took more than its budget of {} steps \
                     (values built by functions, loops and references): the values \
                     computed after that are unknown, so the result is incomplete",
                    instance.budget.work.total()
                ),
            ),
        );
    }
    out
}

/// A root module's folder as reports show it.
fn presentable_dir(dir: &Path) -> PathBuf {
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .unwrap_or_default();
    match dir.strip_prefix(&cwd) {
        Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(relative) => relative.to_path_buf(),
        Err(_) => dir.to_path_buf(),
    }
}

fn push(list: &Mutex<Vec<FileError>>, error: FileError) {
    if let Ok(mut list) = list.lock() {
        list.push(error);
    }
}

/// Module folders by manifest key (`app`, `app.db`), per root folder.
type Manifests = HashMap<PathBuf, HashMap<String, PathBuf>>;

/// Reads `.terraform/modules/modules.json` in each folder that has one,
/// and parses the `.tf` files of the modules it lists (inside that
/// folder only), numbering them from `first_index`.
#[allow(clippy::type_complexity)]
fn installed_modules(
    dirs: &BTreeMap<PathBuf, Vec<usize>>,
    first_index: usize,
    project: &Project,
    project_root: &Path,
    errors: &mut Vec<FileError>,
) -> (
    Manifests,
    Vec<SourceFile>,
    Vec<Option<Body>>,
    BTreeMap<PathBuf, Vec<usize>>,
) {
    let mut manifests = Manifests::new();
    let mut files = Vec::new();
    let mut bodies = Vec::new();
    let mut module_dirs: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    // Each folder looked into in parallel: most have no manifest, and
    // finding so costs a system call per component of the path.
    let read: Vec<(&PathBuf, PathBuf, _)> = dirs
        .keys()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|dir| {
            let path = dir.join(".terraform/modules/modules.json");
            let text = read::text(&path, Within::Project(project));
            (dir, path, text)
        })
        .collect();
    for (dir, path, text) in read {
        let text = match text {
            Ok(text) => text,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                errors.push(FileError::new(
                    &presentable(&path, project_root),
                    None,
                    e.to_string(),
                ));
                continue;
            }
        };
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(e) => {
                errors.push(FileError::new(
                    &presentable(&path, project_root),
                    None,
                    format!("cannot read the module manifest: {e}"),
                ));
                continue;
            }
        };
        let mut keys = HashMap::new();
        for entry in json["Modules"].as_array().into_iter().flatten() {
            let (Some(key), Some(module_dir)) = (entry["Key"].as_str(), entry["Dir"].as_str())
            else {
                continue;
            };
            if key.is_empty() {
                continue;
            }
            let Ok(module_dir) = dir.join(module_dir).canonicalize() else {
                continue;
            };
            // Never read outside the scanned folder.
            if !module_dir.starts_with(dir) {
                continue;
            }
            keys.insert(key.to_string(), module_dir.clone());
            if dirs.contains_key(&module_dir) || module_dirs.contains_key(&module_dir) {
                continue;
            }
            let indices = module_dirs.entry(module_dir.clone()).or_default();
            for (source, parsed) in read_folder(&module_dir, project, project_root, None) {
                match parsed {
                    Ok(body) => bodies.push(Some(body)),
                    Err(err) => {
                        errors.push(err);
                        bodies.push(None);
                    }
                }
                indices.push(first_index + files.len());
                files.push(source);
            }
        }
        manifests.insert(dir.clone(), keys);
    }
    (manifests, files, bodies, module_dirs)
}

/// Why a local module folder that a call reaches was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    /// It resolves (after symbolic links) outside the project root.
    OutsideProject,
    /// The configuration's `exclude` leaves it out.
    Excluded,
}

/// The local module folders that calls reach beyond the checked files.
#[derive(Default)]
struct Reached {
    files: Vec<SourceFile>,
    bodies: Vec<Option<Body>>,
    /// The files of each folder read, indexed after the known ones.
    dirs: BTreeMap<PathBuf, Vec<usize>>,
    unread: HashMap<PathBuf, Unread>,
    /// Where each (folder, local source) leads, resolved once.
    targets: Targets,
    errors: Vec<FileError>,
}

/// The folder each (calling folder, `source`) leads to, when found.
type Targets = HashMap<(PathBuf, String), Option<PathBuf>>;

/// What evaluation found around the checked files, the same for every
/// batch of roots: where the project's files may be read, where module
/// calls lead, the remote modules installed and the local module folders
/// not read.
struct Found {
    project: Project,
    targets: Targets,
    manifests: Manifests,
    unread: HashMap<PathBuf, Unread>,
}

impl Found {
    /// The folder a call's `source` leads to from `dir`, when found.
    fn target(&self, dir: &Path, source: &str) -> Option<PathBuf> {
        match self.targets.get(&(dir.to_path_buf(), source.to_string())) {
            Some(target) => target.clone(),
            None => local_target(dir, source),
        }
    }
}

/// Reads and parses, once each, the folders that local module sources
/// (`../modules/db`) in `known` reach but that were not checked, then
/// those that their own calls reach, and so on — inside the project root
/// only. `sources` holds the known files' module sources by index (see
/// [`summary`]); the files read are numbered after them, and their
/// sources added.
fn local_modules(
    known: &BTreeMap<PathBuf, Vec<usize>>,
    sources: &mut Vec<Option<Vec<String>>>,
    bounds: Bounds<'_>,
    project_root: &Path,
) -> Reached {
    let first_index = sources.len();
    let mut reached = Reached::default();
    let mut visited: std::collections::HashSet<PathBuf> = known.keys().cloned().collect();
    let mut frontier: Vec<(PathBuf, usize)> = known
        .iter()
        .flat_map(|(dir, indices)| indices.iter().map(move |&i| (dir.clone(), i)))
        .collect();
    while !frontier.is_empty() {
        // Each call's target resolved once, in parallel: a system call
        // for every component of its path.
        let mut calls: Vec<(&Path, &str)> = frontier
            .iter()
            .flat_map(|(dir, index)| {
                sources
                    .get(*index)
                    .and_then(Option::as_ref)
                    .into_iter()
                    .flatten()
                    .map(move |source| (dir.as_path(), source.as_str()))
            })
            .collect();
        calls.sort_unstable();
        calls.dedup();
        let targets: Vec<Option<PathBuf>> = calls
            .par_iter()
            .map(|(dir, source)| local_target(dir, source))
            .collect();
        let mut wanted = std::collections::BTreeSet::new();
        for ((dir, source), target) in calls.into_iter().zip(targets) {
            reached
                .targets
                .insert((dir.to_path_buf(), source.to_string()), target.clone());
            if let Some(target) = target {
                if visited.insert(target.clone()) {
                    wanted.insert(target);
                }
            }
        }
        let mut readable = Vec::new();
        for target in wanted {
            if !target.starts_with(project_root) {
                reached.unread.insert(target, Unread::OutsideProject);
            } else if bounds.exclude.is_some_and(|f| f(&target)) {
                reached.unread.insert(target, Unread::Excluded);
            } else {
                readable.push(target);
            }
        }
        let read: Vec<Vec<(SourceFile, Result<Body, FileError>)>> = readable
            .par_iter()
            .map(|dir| read_folder(dir, bounds.project, project_root, bounds.exclude))
            .collect();
        frontier = Vec::new();
        for (dir, files) in readable.into_iter().zip(read) {
            if files.is_empty() {
                continue;
            }
            let indices = reached.dirs.entry(dir.clone()).or_default();
            for (source, parsed) in files {
                let index = first_index + reached.files.len();
                match parsed {
                    Ok(body) => {
                        sources.push(Some(summary(&body)));
                        reached.bodies.push(Some(body));
                    }
                    Err(err) => {
                        reached.errors.push(err);
                        sources.push(None);
                        reached.bodies.push(None);
                    }
                }
                reached.files.push(source);
                indices.push(index);
                frontier.push((dir.clone(), index));
            }
        }
    }
    reached
}

/// The `source` strings of a body's `module` blocks.
pub(crate) fn local_sources(body: &Body) -> impl Iterator<Item = &str> {
    body.blocks()
        .filter(|b| b.ident.as_str() == "module")
        .filter_map(|b| match b.body.get_attribute("source").map(|a| &a.value) {
            Some(Expression::String(s)) => Some(s.value().as_str()),
            _ => None,
        })
}

/// The `.tf` and `.tf.json` files directly in a module folder, in name order, read and
/// parsed through the guarded reader (a file it refuses, such as a link
/// out of the project, comes with its error); those `exclude` leaves out
/// are skipped.
fn read_folder(
    dir: &Path,
    project: &Project,
    project_root: &Path,
    exclude: Option<&(dyn Fn(&Path) -> bool + Sync)>,
) -> Vec<(SourceFile, Result<Body, FileError>)> {
    let mut tf: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| crate::discover::is_terraform(p))
        // Links out of the project are refused by the reader, with an
        // error naming them.
        .filter(|p| p.is_file())
        .filter(|p| !exclude.is_some_and(|f| f(p)))
        .collect();
    tf.sort();
    tf.into_iter()
        .map(|file| {
            let path = presentable(&file, project_root);
            match read::text(&file, Within::Project(project)).map_err(|e| e.to_string()) {
                Ok(text) => {
                    let source = SourceFile::new(path, text);
                    let parsed = crate::parse::terraform(&source);
                    (source, parsed)
                }
                Err(message) => {
                    let error = FileError::new(&path, None, message);
                    (SourceFile::new(path, ""), Err(error))
                }
            }
        })
        .collect()
}

fn canonical_dir(path: &Path) -> PathBuf {
    canonical_folder(path.parent().unwrap_or(Path::new(".")))
}

/// The real path of a folder (`.` when it is empty), or the folder as it
/// is when it has none.
fn canonical_folder(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// How a file found by evaluation (a canonical path) is shown: relative
/// to the current folder when both lie in the project, as users name
/// files (`modules/db/main.tf`, `../../modules/db/main.tf`); otherwise
/// as it is.
pub(crate) fn presentable(path: &Path, project_root: &Path) -> PathBuf {
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .unwrap_or_default();
    if let Ok(relative) = path.strip_prefix(&cwd) {
        return relative.to_path_buf();
    }
    if !(path.starts_with(project_root) && cwd.starts_with(project_root)) {
        return path.to_path_buf();
    }
    let common = path
        .components()
        .zip(cwd.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut relative: PathBuf = cwd.components().skip(common).map(|_| "..").collect();
    relative.extend(path.components().skip(common));
    relative
}

/// The folders evaluated as root modules: those no other folder calls,
/// then, in order, any folder still unreached (modules calling each other
/// in a cycle), so that nothing is silently skipped.
fn roots<'p>(
    graph: &HashMap<&PathBuf, Vec<PathBuf>>,
    dirs: impl Iterator<Item = &'p PathBuf>,
) -> Vec<PathBuf> {
    let dirs: Vec<&PathBuf> = dirs.collect();
    let called: std::collections::HashSet<&PathBuf> = graph
        .iter()
        .flat_map(|(dir, targets)| targets.iter().filter(move |t| *t != *dir))
        .collect();
    let mut roots: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| !called.contains(*d))
        .map(|d| (*d).clone())
        .collect();
    let mut reached: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    reach(graph, roots.iter().cloned(), &mut reached);
    while let Some(dir) = dirs.iter().find(|d| !reached.contains(**d)) {
        roots.push((*dir).clone());
        reach(graph, std::iter::once((*dir).clone()), &mut reached);
    }
    roots
}

/// Adds to `reached` the folders `start` holds and every folder their
/// calls lead to, transitively.
fn reach(
    graph: &HashMap<&PathBuf, Vec<PathBuf>>,
    start: impl Iterator<Item = PathBuf>,
    reached: &mut std::collections::HashSet<PathBuf>,
) {
    let mut queue: Vec<PathBuf> = start.collect();
    while let Some(dir) = queue.pop() {
        if reached.insert(dir.clone()) {
            queue.extend(graph.get(&dir).into_iter().flatten().cloned());
        }
    }
}

/// `terraform.tfvars`, `terraform.tfvars.json`, then `*.auto.tfvars` and
/// `*.auto.tfvars.json` in lexical order: Terraform's order.
fn tfvars_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    // Anything there but a folder: the reader says why it refuses a FIFO
    // or a link out.
    let listed = |p: &Path| p.exists() && !p.is_dir();
    for name in ["terraform.tfvars", "terraform.tfvars.json"] {
        let path = dir.join(name);
        if listed(&path) {
            files.push(path);
        }
    }
    let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json"))
        })
        .filter(|p| listed(p))
        .collect();
    auto.sort();
    files.extend(auto);
    files
}

/// A variable value and where it was written.
#[derive(Debug, Clone)]
struct Assigned {
    name: String,
    value: Value,
    /// Where the value was written, then where what it was written from
    /// was written (a module argument, then the caller's tfvars line...).
    origin: Vec<Origin>,
    /// The resources the caller's argument refers to (addresses in the
    /// caller's module instance), so that relations such as a database's
    /// subnets survive being passed into a module.
    references: Vec<String>,
}

/// The assignments of a tfvars file (HCL or JSON).
fn read_tfvars(index: usize, file: &SourceFile, program: &Program<'_>) -> Vec<Assigned> {
    let is_json = file.path.extension().is_some_and(|e| e == "json");
    if is_json {
        return match serde_json::from_str::<serde_json::Value>(&file.text) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .map(|(name, v)| Assigned {
                    origin: vec![Origin {
                        file: index,
                        span: Span::default(),
                        message: format!("var.{name} set in {}", file.display_path()).into(),
                        from_environment: false,
                    }],
                    name,
                    value: Value::from_json(&v),
                    references: Vec::new(),
                })
                .collect(),
            _ => {
                push(
                    &program.errors,
                    FileError::new(
                        file.path(),
                        None,
                        "a .tfvars.json file must hold one JSON object",
                    ),
                );
                Vec::new()
            }
        };
    }
    let body = match hcl_front::parse(file) {
        Ok(body) => body,
        Err(err) => {
            push(&program.errors, err);
            return Vec::new();
        }
    };
    let empty = Constants;
    let ctx = Context {
        base_dir: file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        root: program.root.clone(),
    };
    body.attributes()
        .map(|attribute| {
            let name = attribute.key.as_str().to_string();
            let value = eval::eval(&attribute.value, &empty, &ctx).unwrap_or(Value::Unknown);
            Assigned {
                origin: vec![Origin {
                    file: index,
                    span: span_of(attribute),
                    message: format!("var.{name} set in {}", file.display_path()).into(),
                    from_environment: false,
                }],
                name,
                value,
                references: Vec::new(),
            }
        })
        .collect()
}

fn span_of(attribute: &Attribute) -> Span {
    hcl_edit::Span::span(attribute)
        .map(Span::from)
        .unwrap_or_default()
}

/// A scope with nothing in it, for tfvars files (constants only).
struct Constants;

impl Scope for Constants {
    fn resolve(&self, _root: &str, _attr: Option<&str>) -> Option<Value> {
        None
    }
}

/// A root module's variables: defaults, then `TF_VAR_` values, then tfvars
/// files in Terraform's order, then `--var-file`/`--var`. Unset ones are
/// unknown, never empty.
fn root_variables(
    def: &Def<'_>,
    files: &[Assigned],
    inputs: &Inputs,
    program: &Program<'_>,
) -> HashMap<String, Assigned> {
    let mut vars: HashMap<String, Assigned> = HashMap::new();
    for (name, var) in &def.variables {
        vars.insert(name.clone(), default_of(name, var, &def.dir, program));
    }
    let mut set = |name: &str, value: Value, origin: Vec<Origin>| {
        if let Some(var) = def.variables.get(name) {
            let value = var.ty.convert(value);
            let value = if value.is_null() && !var.nullable {
                default_of(name, var, &def.dir, program).value
            } else {
                value
            };
            vars.insert(
                name.to_string(),
                Assigned {
                    name: name.to_string(),
                    value,
                    origin,
                    references: Vec::new(),
                },
            );
        }
    };
    // A value from the environment may be a CI secret: its origin says
    // so, and no message quotes it.
    for (name, text) in &inputs.env {
        let var = def.variables.get(name);
        let origin = var.map(|var| Origin {
            file: var.file,
            span: var.header,
            message: format!("TF_VAR_{name} in the environment").into(),
            from_environment: true,
        });
        set(
            name,
            parse_cli_value(text, var.is_none_or(|v| v.takes_string)),
            origin.into_iter().collect(),
        );
    }
    for assigned in files {
        set(
            &assigned.name,
            assigned.value.clone(),
            assigned.origin.clone(),
        );
    }
    for (name, text) in &inputs.vars {
        let var = def.variables.get(name);
        set(
            name,
            parse_cli_value(text, var.is_none_or(|v| v.takes_string)),
            Vec::new(),
        );
    }
    vars
}

/// A variable's default, evaluated in `dir`, the folder of the module
/// declaring it (relative paths start there).
fn default_of(name: &str, var: &VarDef<'_>, dir: &Path, program: &Program<'_>) -> Assigned {
    match var.default {
        Some(attribute) => {
            let value = eval::eval(&attribute.value, &Constants, &program.context(dir))
                .unwrap_or(Value::Unknown);
            Assigned {
                name: name.to_string(),
                value: var.ty.convert(value),
                origin: vec![Origin {
                    file: var.file,
                    span: span_of(attribute),
                    message: format!("default of var.{name}").into(),
                    from_environment: false,
                }],
                references: Vec::new(),
            }
        }
        None => Assigned {
            name: name.to_string(),
            value: Value::Unknown,
            origin: Vec::new(),
            references: Vec::new(),
        },
    }
}

/// A `--var`/`TF_VAR_` string: a string for string (or untyped)
/// variables, an HCL expression for the others.
fn parse_cli_value(text: &str, takes_string: bool) -> Value {
    if takes_string {
        return Value::String(text.to_string());
    }
    match hcl_edit::parser::parse_body(&format!("v = {text}\n")) {
        Ok(body) => body
            .get_attribute("v")
            .and_then(|a| {
                // No file function may read for a command-line value.
                let ctx = Context {
                    base_dir: PathBuf::from("."),
                    root: Project::default(),
                };
                eval::eval(&a.value, &Constants, &ctx).ok()
            })
            .unwrap_or(Value::Unknown),
        Err(_) => Value::Unknown,
    }
}

impl<'a> Program<'a> {
    /// The definitions of the module folders `dirs`, over the parsed
    /// `bodies`; block errors are said only for folders not yet `built`
    /// (by an earlier batch).
    fn build(
        files: &[&'a SourceFile],
        bodies: &[Option<&'a Body>],
        dirs: &BTreeMap<PathBuf, Vec<usize>>,
        found: &'a Found,
        built: &std::collections::HashSet<PathBuf>,
    ) -> Program<'a> {
        // Each folder on its own, in parallel; errors in folder order.
        let folders: Vec<(PathBuf, Def<'a>, Vec<FileError>)> = dirs
            .par_iter()
            .map(|(dir, indices)| {
                let mut errors = Vec::new();
                let mut def = Def {
                    dir: dir.clone(),
                    variables: BTreeMap::new(),
                    locals: HashMap::new(),
                    blocks: Vec::new(),
                    calls: Vec::new(),
                    outputs: HashMap::new(),
                    providers: Vec::new(),
                };
                for &i in indices {
                    let Some(body) = bodies.get(i).copied().flatten() else {
                        continue;
                    };
                    for block in body.blocks() {
                        let header = match hcl_front::classify(block) {
                            Ok(Some(header)) => header,
                            Ok(None) => continue,
                            Err(message) => {
                                // Said once, by the first batch to read it.
                                if !built.contains(dir) {
                                    errors.push(FileError::new(
                                        files[i].path(),
                                        Some(hcl_front::header_span(block)),
                                        message,
                                    ));
                                }
                                continue;
                            }
                        };
                        let label = block
                            .labels
                            .first()
                            .map(|l| l.as_str().to_string())
                            .unwrap_or_default();
                        match header.kind {
                            BlockKind::Resource | BlockKind::Data => {
                                def.blocks.push((i, block, header))
                            }
                            BlockKind::Variable => {
                                let type_expr = block.body.get_attribute("type").map(|a| &a.value);
                                let context = Context {
                                    base_dir: dir.clone(),
                                    root: found.project.clone(),
                                };
                                let constant = |e: &Expression| {
                                    eval::eval(e, &Constants, &context).unwrap_or(Value::Unknown)
                                };
                                let ty = type_expr.map_or(Type::Any, |t| Type::parse(t, &constant));
                                let takes_string = match type_expr {
                                    None => true,
                                    Some(Expression::Variable(v)) => v.as_str() == "string",
                                    Some(_) => false,
                                };
                                let nullable = !matches!(
                                    block.body.get_attribute("nullable").map(|a| &a.value),
                                    Some(Expression::Bool(b)) if !*b.value()
                                );
                                def.variables.insert(
                                    label,
                                    VarDef {
                                        file: i,
                                        header: hcl_front::header_span(block),
                                        default: block.body.get_attribute("default"),
                                        nullable,
                                        ty,
                                        takes_string,
                                    },
                                );
                            }
                            BlockKind::Locals => {
                                for attribute in block.body.attributes() {
                                    def.locals
                                        .insert(attribute.key.as_str().to_string(), (i, attribute));
                                }
                            }
                            BlockKind::Output => {
                                if let Some(value) = block.body.get_attribute("value") {
                                    def.outputs.insert(label, (i, value));
                                }
                            }
                            BlockKind::Module => {
                                let source =
                                    match block.body.get_attribute("source").map(|a| &a.value) {
                                        Some(Expression::String(s)) => s.value().clone(),
                                        _ => String::new(),
                                    };
                                let target = found.target(dir, &source);
                                def.calls.push(Call {
                                    name: label,
                                    file: i,
                                    block,
                                    target,
                                    source,
                                });
                            }
                            BlockKind::Provider => {
                                def.providers.push((i, block));
                                // Lowered too (not checked): a root that
                                // configures a provider is an account root.
                                def.blocks.push((i, block, header));
                            }
                            BlockKind::Manifest => {}
                        }
                    }
                }
                (dir.clone(), def, errors)
            })
            .collect();
        let mut defs = HashMap::with_capacity(folders.len());
        let mut errors = Vec::new();
        for (dir, def, mut failed) in folders {
            errors.append(&mut failed);
            defs.insert(dir, def);
        }
        Program {
            defs,
            manifests: &found.manifests,
            unread: &found.unread,
            files: files.to_vec(),
            root: found.project.clone(),
            notes: Mutex::new(Vec::new()),
            errors: Mutex::new(errors),
        }
    }

    fn context(&self, dir: &Path) -> Context {
        Context {
            base_dir: dir.to_path_buf(),
            root: self.root.clone(),
        }
    }

    fn note(&self, file: usize, span: Span, message: String) {
        if let Some(source) = self.files.get(file) {
            push(
                &self.notes,
                FileError::new(source.path(), Some(span), message),
            );
        }
    }

    /// What was not checked because a limit was reached: an error, so the
    /// exit code says the result is incomplete.
    fn incomplete(&self, file: usize, span: Span, message: String) {
        if let Some(source) = self.files.get(file) {
            push(
                &self.errors,
                FileError::new(source.path(), Some(span), message),
            );
        }
    }
}

/// The folder a local `source` (`./x`, `../x`) names, when it exists.
pub(crate) fn local_target(dir: &Path, source: &str) -> Option<PathBuf> {
    if !(source.starts_with("./") || source.starts_with("../")) {
        return None;
    }
    dir.join(source).canonicalize().ok().filter(|p| p.is_dir())
}

/// Provider `default_tags` in force for a module instance, by provider
/// configuration name (`aws`, `aws.west`); the Google provider's
/// `default_labels` sit beside them (`google`, `google-beta.eu`).
#[derive(Debug, Clone, Default)]
struct Providers {
    default_tags: HashMap<String, (Value, Option<Origin>)>,
}

/// The state of a lazily evaluated value.
enum Slot {
    Evaluating,
    Done(Value),
}

/// The instances one `module` block expands to.
enum Children<'a> {
    One(Rc<Instance<'a>>),
    Counted(Vec<Rc<Instance<'a>>>),
    Keyed(BTreeMap<String, Rc<Instance<'a>>>),
    /// Not scanned, or its expansion is unknown.
    Opaque,
}

/// Where a module instance sits in the module tree.
struct Place {
    /// `module.db.` or `module.db[0].`, prepended to addresses.
    prefix: String,
    /// The module manifest key (`app.db`), for remote modules.
    key: String,
    /// The root module's folder.
    root: PathBuf,
    /// The module calls from the root to this instance.
    calls: Vec<Origin>,
    budget: Rc<RootBudget>,
}

/// One instance of a module: its definition with variable values.
struct Instance<'a> {
    program: &'a Program<'a>,
    def: &'a Def<'a>,
    /// `module.db.` or `module.db[0].`, prepended to addresses.
    prefix: String,
    key: String,
    root: PathBuf,
    calls: Vec<Origin>,
    vars: HashMap<String, Assigned>,
    locals: RefCell<HashMap<String, Slot>>,
    outputs: RefCell<HashMap<String, Slot>>,
    children: RefCell<HashMap<String, Rc<Children<'a>>>>,
    /// Module folders from the root to here, against call cycles.
    path: Vec<PathBuf>,
    providers: Providers,
    budget: Rc<RootBudget>,
}

impl<'a> Instance<'a> {
    fn new(
        program: &'a Program<'a>,
        def: &'a Def<'a>,
        place: Place,
        vars: HashMap<String, Assigned>,
        path: Vec<PathBuf>,
        inherited: Providers,
    ) -> Instance<'a> {
        let mut instance = Instance {
            program,
            def,
            prefix: place.prefix,
            key: place.key,
            root: place.root,
            calls: place.calls,
            vars,
            locals: RefCell::new(HashMap::new()),
            outputs: RefCell::new(HashMap::new()),
            children: RefCell::new(HashMap::new()),
            path,
            providers: inherited,
            budget: place.budget,
        };
        instance.providers = instance.own_providers();
        instance
    }

    fn ctx(&self) -> Ctx<'_, 'a> {
        Ctx {
            instance: self,
            count: None,
            each: None,
            bindings: Vec::new(),
        }
    }

    /// The `default_tags` of this module's own provider blocks, over the
    /// inherited ones.
    fn own_providers(&self) -> Providers {
        let mut providers = self.providers.clone();
        for (file, block) in &self.def.providers {
            let Some(name) = block.labels.first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            let config = match block.body.get_attribute("alias").map(|a| &a.value) {
                Some(Expression::String(alias)) => format!("{name}.{}", alias.value()),
                _ => name,
            };
            // AWS nests its tags in a block; Google writes a map.
            let (tags, what) = if config.starts_with("google") {
                (block.body.get_attribute("default_labels"), "default_labels")
            } else {
                let tags = block
                    .body
                    .get_blocks("default_tags")
                    .next()
                    .and_then(|b| b.body.get_attribute("tags"));
                (tags, "default_tags")
            };
            let Some(tags) = tags else {
                continue;
            };
            let value = self.ctx().evaluate(&tags.value);
            let origin = Origin {
                file: *file,
                span: span_of(tags),
                message: format!("{what} of provider {config}").into(),
                from_environment: false,
            };
            providers.default_tags.insert(config, (value, Some(origin)));
        }
        providers
    }

    fn local(&self, name: &str) -> Option<Value> {
        let (file, attribute) = *self.def.locals.get(name)?;
        Some(self.memo(&self.locals, name, attribute, || {
            self.program.note(
                file,
                span_of(attribute),
                format!("local.{name} refers to itself (a cycle); its value is unknown"),
            );
        }))
    }

    fn output(&self, name: &str) -> Value {
        match self.def.outputs.get(name) {
            Some(&(_, attribute)) => self.memo(&self.outputs, name, attribute, || {}),
            None => Value::Unknown,
        }
    }

    /// Evaluates `attribute` once per name; a name met again while it is
    /// being evaluated is a cycle: `on_cycle` runs and the value is unknown.
    fn memo(
        &self,
        slots: &RefCell<HashMap<String, Slot>>,
        name: &str,
        attribute: &Attribute,
        on_cycle: impl FnOnce(),
    ) -> Value {
        match slots.borrow().get(name) {
            Some(Slot::Done(value)) => return value.clone(),
            Some(Slot::Evaluating) => {
                on_cycle();
                return Value::Unknown;
            }
            None => {}
        }
        // Each nested lazy value is a nested evaluation on the stack: a
        // chain of thousands of locals must end in an unknown, not in a
        // stack overflow.
        let nesting = &self.budget.nesting;
        if nesting.get() >= MAX_NESTING {
            if let Some(file) = self.file_of(attribute) {
                self.program.incomplete(
                    file,
                    span_of(attribute),
                    format!(
                        "{name}: values refer to one another more than {MAX_NESTING} levels deep \
                         (locals, outputs, module arguments); this value is unknown, so the \
                         result is incomplete"
                    ),
                );
            }
            slots
                .borrow_mut()
                .insert(name.to_string(), Slot::Done(Value::Unknown));
            return Value::Unknown;
        }
        slots
            .borrow_mut()
            .insert(name.to_string(), Slot::Evaluating);
        nesting.set(nesting.get() + 1);
        let value = self.ctx().evaluate(&attribute.value);
        nesting.set(nesting.get().saturating_sub(1));
        slots
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(value.clone()));
        value
    }

    /// The file of this module that holds `attribute`.
    fn file_of(&self, attribute: &Attribute) -> Option<usize> {
        let target = attribute as *const Attribute;
        self.def
            .locals
            .values()
            .chain(self.def.outputs.values())
            .find(|(_, a)| std::ptr::eq(*a, target))
            .map(|(file, _)| *file)
    }

    /// All outputs as an object, as `module.NAME` reads.
    fn outputs_value(&self) -> Value {
        let names: Vec<String> = self.def.outputs.keys().cloned().collect();
        Value::Map(
            names
                .into_iter()
                .map(|n| {
                    let v = self.output(&n);
                    (n, v)
                })
                .collect(),
        )
    }

    fn module_value(&self, name: &str) -> Option<Value> {
        let children = self.children(name)?;
        Some(match children.as_ref() {
            Children::One(child) => child.outputs_value(),
            Children::Counted(list) => {
                Value::List(list.iter().map(|c| c.outputs_value()).collect())
            }
            Children::Keyed(map) => Value::Map(
                map.iter()
                    .map(|(k, c)| (k.clone(), c.outputs_value()))
                    .collect(),
            ),
            Children::Opaque => Value::Unknown,
        })
    }

    /// The instances of the `module "name"` call, created on first use.
    fn children(&self, name: &str) -> Option<Rc<Children<'a>>> {
        if let Some(children) = self.children.borrow().get(name) {
            return Some(children.clone());
        }
        let call = self.def.calls.iter().find(|c| c.name == name)?;
        // Mark first, so a call whose arguments refer to itself ends.
        self.children
            .borrow_mut()
            .insert(name.to_string(), Rc::new(Children::Opaque));
        let children = Rc::new(self.expand_call(call));
        self.children
            .borrow_mut()
            .insert(name.to_string(), children.clone());
        Some(children)
    }

    fn expand_call(&self, call: &Call<'a>) -> Children<'a> {
        let header = hcl_front::header_span(call.block);
        let key = if self.key.is_empty() {
            call.name.clone()
        } else {
            format!("{}.{}", self.key, call.name)
        };
        let manifest_key = key;
        let installed = self
            .program
            .manifests
            .get(&self.root)
            .and_then(|m| m.get(&manifest_key));
        let Some(target) = call.target.as_ref().or(installed) else {
            self.program.note(
                call.file,
                header,
                format!(
                    "module \"{}\" (source \"{}\") was not scanned (run `terraform init` to install it): its outputs are unknown",
                    call.name, call.source
                ),
            );
            return Children::Opaque;
        };
        let Some(def) = self.program.defs.get(target) else {
            let why = match self.program.unread.get(target) {
                Some(Unread::OutsideProject) => "module source outside the project; not read",
                Some(Unread::Excluded) => {
                    "its source folder is excluded by the configuration; not read"
                }
                None => "no Terraform files in its source folder",
            };
            self.program.note(
                call.file,
                header,
                format!(
                    "module \"{}\" (source \"{}\"): {why}: its outputs are unknown",
                    call.name, call.source
                ),
            );
            return Children::Opaque;
        };
        if self.path.len() >= MAX_MODULE_DEPTH {
            self.program.incomplete(
                call.file,
                header,
                format!(
                    "module \"{}\" is nested more than {MAX_MODULE_DEPTH} modules deep: it and the modules it calls are not checked, so the result is incomplete",
                    call.name
                ),
            );
            return Children::Opaque;
        }
        if self.path.contains(target) {
            self.program.note(
                call.file,
                header,
                format!(
                    "module \"{}\" calls itself (directly or through other modules); not followed",
                    call.name
                ),
            );
            return Children::Opaque;
        }
        let base = format!("{}module.{}", self.prefix, call.name);
        let expanded = self.expand(&call.block.body, call.file);
        let mut children = expanded.instances.into_iter().map(|(suffix, key, ctx)| {
            (
                key,
                Rc::new(self.child(call, def, &manifest_key, format!("{base}{suffix}"), &ctx)),
            )
        });
        match expanded.shape {
            Shape::Single | Shape::Unknown => children
                .next()
                .map_or(Children::Opaque, |(_, c)| Children::One(c)),
            Shape::Counted => Children::Counted(children.map(|(_, c)| c).collect()),
            Shape::Keyed => {
                Children::Keyed(children.map(|(k, c)| (k.unwrap_or_default(), c)).collect())
            }
        }
    }

    /// The instances a block with `count` or `for_each` expands to: the
    /// address suffix, the `for_each` key, and the scope of each.
    ///
    /// Past [`MAX_INSTANCES`] for the block, or [`MAX_ROOT_INSTANCES`] for
    /// the root module, the rest is not expanded, and an error at the
    /// `count`/`for_each` (in `file`) says the result is incomplete.
    fn expand(&self, body: &Body, file: usize) -> Expanded<'_, 'a> {
        let base = self.ctx();
        let mut expansion = expansion(&base, body);
        let wanted = match &expansion {
            Expansion::Count(n) => *n,
            Expansion::Keys(keys) => keys.len(),
            Expansion::Single | Expansion::Unknown(_) => 1,
        };
        let spent = &self.budget.instances;
        let left = MAX_ROOT_INSTANCES.saturating_sub(spent.get());
        let allowed = wanted.min(MAX_INSTANCES).min(left);
        spent.set(spent.get().saturating_add(allowed));
        if allowed < wanted {
            let limit = if wanted > MAX_INSTANCES {
                format!("the limit of {MAX_INSTANCES} instances of one block")
            } else {
                format!("the limit of {MAX_ROOT_INSTANCES} instances in one root module")
            };
            let span = body
                .get_attribute("count")
                .or_else(|| body.get_attribute("for_each"))
                .map_or(Span::new(0, 0), span_of);
            self.program.incomplete(
                file,
                span,
                format!(
                    "{wanted} instances exceed {limit}: only the first {allowed} are checked, so the result is incomplete"
                ),
            );
            match &mut expansion {
                Expansion::Count(n) => *n = allowed,
                Expansion::Keys(keys) => keys.truncate(allowed),
                Expansion::Single | Expansion::Unknown(_) => {}
            }
        }
        let (shape, instances) = match expansion {
            Expansion::Single => (Shape::Single, vec![(String::new(), None, base)]),
            Expansion::Count(n) => (
                Shape::Counted,
                (0..n)
                    .map(|i| {
                        let ctx = Ctx {
                            count: Some(Value::from(i as i64)),
                            ..self.ctx()
                        };
                        (format!("[{i}]"), None, ctx)
                    })
                    .collect(),
            ),
            Expansion::Keys(entries) => (
                Shape::Keyed,
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let ctx = Ctx {
                            each: Some((Value::String(key.clone()), value)),
                            ..self.ctx()
                        };
                        (format!("[{key:?}]"), Some(key), ctx)
                    })
                    .collect(),
            ),
            Expansion::Unknown(kind) => {
                let ctx = match kind {
                    UnknownKind::Count => Ctx {
                        count: Some(Value::Unknown),
                        ..self.ctx()
                    },
                    UnknownKind::Each => Ctx {
                        each: Some((Value::Unknown, Value::Unknown)),
                        ..self.ctx()
                    },
                };
                (Shape::Unknown, vec![("[*]".to_string(), None, ctx)])
            }
        };
        Expanded { shape, instances }
    }

    /// One instance of a called module, its arguments evaluated in `ctx`.
    fn child(
        &self,
        call: &Call<'a>,
        def: &'a Def<'a>,
        key: &str,
        prefix: String,
        ctx: &Ctx<'_, 'a>,
    ) -> Instance<'a> {
        let mut vars = HashMap::new();
        for (name, var) in &def.variables {
            let assigned = match call.block.body.get_attribute(name) {
                Some(attribute) => {
                    let value = var.ty.convert(ctx.evaluate(&attribute.value));
                    if value.is_null() && !var.nullable {
                        default_of(name, var, &def.dir, self.program)
                    } else {
                        let mut origin = vec![Origin {
                            file: call.file,
                            span: span_of(attribute),
                            message: format!("argument {name} of module.{}", call.name).into(),
                            from_environment: false,
                        }];
                        origin.extend(self.origins_of(&attribute.value, 0));
                        Assigned {
                            name: name.clone(),
                            value,
                            origin,
                            references: self.expression_references(&attribute.value, 0),
                        }
                    }
                }
                None => default_of(name, var, &def.dir, self.program),
            };
            vars.insert(name.clone(), assigned);
        }
        let mut providers = Providers::default();
        // Without a `providers` map a child inherits the default
        // configurations; with one, exactly what the map passes.
        match call.block.body.get_attribute("providers").map(|a| &a.value) {
            Some(Expression::Object(map)) => {
                for (key, value) in map.iter() {
                    let inner = match key {
                        hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                        hcl_edit::expr::ObjectKey::Expression(e) => {
                            traversal_name(e).unwrap_or_default()
                        }
                    };
                    let outer = traversal_name(value.expr()).unwrap_or_default();
                    if let Some(tags) = self.providers.default_tags.get(&outer) {
                        providers.default_tags.insert(inner, tags.clone());
                    }
                }
            }
            _ => {
                for (name, tags) in &self.providers.default_tags {
                    if !name.contains('.') {
                        providers.default_tags.insert(name.clone(), tags.clone());
                    }
                }
            }
        }
        let mut path = self.path.clone();
        path.push(def.dir.clone());
        let mut calls = self.calls.clone();
        calls.push(Origin {
            file: call.file,
            span: hcl_front::header_span(call.block),
            message: prefix.as_str().into(),
            from_environment: false,
        });
        let place = Place {
            prefix: format!("{prefix}."),
            key: key.to_string(),
            root: self.root.clone(),
            calls,
            budget: Rc::clone(&self.budget),
        };
        Instance::new(self.program, def, place, vars, path, providers)
    }

    /// Lowers this instance's resources and data sources, then its
    /// children's.
    fn lower(&self, out: &mut Vec<Resource>) {
        for (file, block, header) in &self.def.blocks {
            let base = format!("{}{}", self.prefix, header.address);
            // Rules read managed resources, and the audit-trail rule an
            // account's provider block; data sources are outlined, once
            // per block, not per instance.
            if !matches!(header.kind, BlockKind::Resource | BlockKind::Provider) {
                let header = Header {
                    kind: header.kind,
                    address: base,
                    resource_type: header.resource_type.clone(),
                };
                let mut outline = hcl_front::outline(*file, block, header);
                outline.module.clone_from(&self.calls);
                out.push(outline);
                continue;
            }
            // Provenance and references depend on the module instance, not
            // on `count.index` or `each`: worked out once per block, so a
            // `for_each` over n keys does not walk its collection n times.
            let related = self.provenance(block);
            let references = self.references(&block.body);
            // Once per block, not per instance: the comments above a
            // counted block can be long.
            let policy = hcl_front::policy_comment(block);
            let mut lower_one = |address: String, ctx: &Ctx<'_, 'a>| {
                let header = Header {
                    kind: header.kind,
                    address,
                    resource_type: header.resource_type.clone(),
                };
                let (mut resource, note) =
                    hcl_front::lower_block(*file, block, header, Some(ctx), policy.clone());
                if let Some((span, message)) = note {
                    self.program.note(*file, span, message);
                }
                resource.related.clone_from(&related);
                resource.module.clone_from(&self.calls);
                resource.references.clone_from(&references);
                if resource.kind == BlockKind::Resource {
                    if let Some((map, provider)) = default_map(&resource) {
                        self.apply_default_tags(block, &mut resource, map, provider);
                    }
                }
                out.push(resource);
            };
            for (suffix, _, ctx) in self.expand(&block.body, *file).instances {
                lower_one(format!("{base}{suffix}"), &ctx);
            }
        }
        for call in &self.def.calls {
            let Some(children) = self.children(&call.name) else {
                continue;
            };
            match children.as_ref() {
                Children::One(child) => child.lower(out),
                Children::Counted(list) => list.iter().for_each(|c| c.lower(out)),
                Children::Keyed(map) => map.values().for_each(|c| c.lower(out)),
                Children::Opaque => {}
            }
        }
    }

    /// The resources and data sources a block's expressions refer to, as
    /// addresses in this module instance, with those reached through
    /// variables, locals and module outputs.
    fn references(&self, body: &Body) -> Vec<String> {
        let mut found = Vec::new();
        collect_references(body, &mut found);
        let mut addresses: Vec<String> = found
            .iter()
            .flat_map(|r| self.reference_addresses(r, 0))
            .collect();
        addresses.sort();
        addresses.dedup();
        addresses
    }

    /// The addresses one expression refers to, as [`Self::references`].
    fn expression_references(&self, expr: &Expression, depth: usize) -> Vec<String> {
        eval::references(expr)
            .iter()
            .flat_map(|r| self.reference_addresses(r, depth))
            .collect()
    }

    /// The addresses one reference stands for: a resource's own, or what
    /// the variable, local or module output it names refers to (a few
    /// levels deep).
    fn reference_addresses(&self, r: &eval::Reference, depth: usize) -> Vec<String> {
        let Some(first) = r.path.first() else {
            return Vec::new();
        };
        let deeper = depth < 4;
        match r.root.as_str() {
            "var" => self
                .vars
                .get(first)
                .map(|a| a.references.clone())
                .unwrap_or_default(),
            "local" if deeper => self
                .def
                .locals
                .get(first)
                .map(|(_, local)| self.expression_references(&local.value, depth + 1))
                .unwrap_or_default(),
            "module" => {
                let mut out = vec![format!("{}module.{first}", self.prefix)];
                if let (true, Some(output)) = (deeper, r.path.get(1)) {
                    if let Some(children) = self.children(first) {
                        let instances: Vec<&Rc<Instance<'a>>> = match children.as_ref() {
                            Children::One(child) => vec![child],
                            Children::Counted(list) => list.iter().collect(),
                            Children::Keyed(map) => map.values().collect(),
                            Children::Opaque => Vec::new(),
                        };
                        for child in instances {
                            if let Some((_, attribute)) = child.def.outputs.get(output) {
                                out.extend(
                                    child.expression_references(&attribute.value, depth + 1),
                                );
                            }
                        }
                    }
                }
                out
            }
            "data" => r
                .path
                .get(1)
                .map(|name| vec![format!("{}data.{first}.{name}", self.prefix)])
                .unwrap_or_default(),
            "local" | "count" | "each" | "path" | "terraform" | "self" => Vec::new(),
            root if root.contains('_') => vec![format!("{}{root}.{first}", self.prefix)],
            _ => Vec::new(),
        }
    }

    /// Records where the values of `var.*` and `local.*` that an attribute
    /// reads were written.
    fn provenance(&self, block: &Block) -> crate::model::Related {
        let mut related = BTreeMap::new();
        for attribute in block.body.attributes() {
            if hcl_front::META_ARGUMENTS.contains(&attribute.key.as_str()) {
                continue;
            }
            let origins = self.origins_of(&attribute.value, 0);
            if !origins.is_empty() {
                let pointer = crate::model::push_pointer("", attribute.key.as_str());
                related.insert(pointer.into(), crate::model::shared_origins(origins));
            }
        }
        related.into_iter().collect()
    }

    /// Where the variables and locals an expression reads were written,
    /// following locals and module arguments back (a few levels deep).
    fn origins_of(&self, expr: &Expression, depth: usize) -> Vec<Origin> {
        let mut origins: Vec<Origin> = Vec::new();
        if depth > 4 {
            return origins;
        }
        for reference in eval::references(expr) {
            let Some(name) = reference.path.first() else {
                continue;
            };
            match reference.root.as_str() {
                "var" => {
                    if let Some(assigned) = self.vars.get(name) {
                        origins.extend(assigned.origin.iter().cloned());
                    }
                }
                "local" => {
                    if let Some((file, local)) = self.def.locals.get(name) {
                        origins.push(Origin {
                            file: *file,
                            span: span_of(local),
                            message: format!("local.{name}").into(),
                            from_environment: false,
                        });
                        origins.extend(self.origins_of(&local.value, depth + 1));
                    }
                }
                _ => {}
            }
        }
        origins.dedup();
        origins
    }

    /// Merges the provider's `default_tags` under the resource's `tags`
    /// (`default_labels` under `labels` for Google; the resource wins),
    /// for the provider configuration it uses.
    fn apply_default_tags(
        &self,
        block: &Block,
        resource: &mut Resource,
        map: &str,
        provider: &str,
    ) {
        let config = block
            .body
            .get_attribute("provider")
            .and_then(|a| traversal_name(&a.value))
            .unwrap_or_else(|| provider.to_string());
        let map_pointer = crate::model::push_pointer("", map);
        let Some((defaults, origin)) = self.providers.default_tags.get(&config) else {
            return;
        };
        if resource.is_unknown(&map_pointer) {
            return;
        }
        let (defaults_json, unknown) = defaults.to_json();
        let serde_json::Value::Object(attributes) = &mut resource.attributes else {
            return;
        };
        if !unknown.is_empty() && unknown.iter().any(|p| p.is_empty()) {
            // The default tags themselves are unknown: so is the merge.
            if !attributes.contains_key(map) {
                attributes.insert(map.into(), serde_json::Value::Null);
            }
            resource.unknown.insert(map_pointer.as_str().into());
            return;
        }
        let serde_json::Value::Object(defaults_map) = defaults_json else {
            return;
        };
        let tags = attributes
            .entry(map)
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        let serde_json::Value::Object(tags) = tags else {
            return;
        };
        // Gathered, then merged in one sort: inserted one by one out of
        // order, each would shift the resource's sorted origins. Every
        // default tag came from the same place: one shared list.
        let shared = origin
            .as_ref()
            .map(|origin| crate::model::shared_origins(vec![origin.clone()]));
        let mut origins = Vec::new();
        for (key, value) in defaults_map {
            if tags.contains_key(&key) {
                continue;
            }
            let pointer = crate::model::push_pointer(&map_pointer, &key);
            if unknown.iter().any(|u| u == &format!("/{key}")) {
                resource.unknown.insert(pointer.as_str().into());
            }
            if let Some(shared) = &shared {
                origins.push((pointer.into(), std::sync::Arc::clone(shared)));
            }
            tags.insert(key, value);
        }
        resource.related.extend(origins);
    }
}

fn collect_references(body: &Body, found: &mut Vec<eval::Reference>) {
    for attribute in body.attributes() {
        found.extend(eval::references(&attribute.value));
    }
    for block in body.blocks() {
        collect_references(&block.body, found);
    }
}

/// The map a resource's provider defaults merge into, and the provider
/// configuration it uses unless it names one: AWS `tags` (not on
/// `aws_autoscaling_group`, which takes `tag` blocks and gets no
/// `default_tags`), Google `labels` (not on `google_sql_database_instance`,
/// whose `settings.user_labels` the provider leaves alone).
fn default_map(resource: &Resource) -> Option<(&'static str, &'static str)> {
    let ty = resource.resource_type.as_str();
    if ty.starts_with("aws_") && ty != "aws_autoscaling_group" {
        Some(("tags", "aws"))
    } else if ty.starts_with("google_") && ty != "google_sql_database_instance" {
        Some(("labels", "google"))
    } else {
        None
    }
}

/// `aws.west` from a traversal expression `aws.west`; `aws` from `aws`.
fn traversal_name(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Variable(v) => Some(v.as_str().to_string()),
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else {
                return None;
            };
            let mut name = root.as_str().to_string();
            for op in &t.operators {
                if let hcl_edit::expr::TraversalOperator::GetAttr(attr) = op.value() {
                    name.push('.');
                    name.push_str(attr.as_str());
                }
            }
            Some(name)
        }
        _ => None,
    }
}

/// What [`Instance::expand`] gives.
struct Expanded<'i, 'a> {
    shape: Shape,
    instances: Vec<(String, Option<String>, Ctx<'i, 'a>)>,
}

/// How a block expanded.
enum Shape {
    Single,
    Counted,
    Keyed,
    Unknown,
}

/// How a block with `count` or `for_each` expands.
enum Expansion {
    Single,
    Count(usize),
    /// `for_each` keys (sorted) with their values.
    Keys(Vec<(String, Value)>),
    /// The expansion is not known: one instance whose count/each values
    /// are unknown.
    Unknown(UnknownKind),
}

enum UnknownKind {
    Count,
    Each,
}

fn expansion(ctx: &Ctx<'_, '_>, body: &Body) -> Expansion {
    if let Some(count) = body.get_attribute("count") {
        return match ctx.evaluate(&count.value).as_i64() {
            Some(n) if n >= 0 => Expansion::Count(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => Expansion::Unknown(UnknownKind::Count),
        };
    }
    if let Some(for_each) = body.get_attribute("for_each") {
        return match ctx.evaluate(&for_each.value) {
            Value::Map(map) => Expansion::Keys(map.into_iter().collect()),
            Value::List(items) if items.iter().all(|v| v.as_str().is_some()) => {
                let mut keys: Vec<(String, Value)> = items
                    .into_iter()
                    .filter_map(|v| {
                        v.as_str()
                            .map(|s| (s.to_string(), Value::String(s.to_string())))
                    })
                    .collect();
                keys.sort_by(|a, b| a.0.cmp(&b.0));
                keys.dedup_by(|a, b| a.0 == b.0);
                Expansion::Keys(keys)
            }
            Value::Null => Expansion::Keys(Vec::new()),
            _ => Expansion::Unknown(UnknownKind::Each),
        };
    }
    Expansion::Single
}

/// The scope of one expression: its module instance, and the `count`,
/// `each` and iterator values in force.
#[derive(Clone)]
struct Ctx<'i, 'a> {
    instance: &'i Instance<'a>,
    count: Option<Value>,
    each: Option<(Value, Value)>,
    bindings: Vec<(String, Value, Value)>,
}

impl Scope for Ctx<'_, '_> {
    fn resolve(&self, root: &str, attr: Option<&str>) -> Option<Value> {
        if let Some((_, key, value)) = self.bindings.iter().rev().find(|(name, _, _)| name == root)
        {
            return match attr {
                Some("key") => Some(key.clone()),
                Some("value") => Some(value.clone()),
                None => Some(Value::Map(BTreeMap::from([
                    ("key".into(), key.clone()),
                    ("value".into(), value.clone()),
                ]))),
                Some(_) => None,
            };
        }
        let instance = self.instance;
        match (root, attr) {
            ("var", Some(name)) => instance.vars.get(name).map(|a| a.value.clone()),
            ("local", Some(name)) => instance.local(name),
            ("module", Some(name)) => instance.module_value(name),
            ("count", Some("index")) => self.count.clone(),
            ("each", Some("key")) => self.each.as_ref().map(|(k, _)| k.clone()),
            ("each", Some("value")) => self.each.as_ref().map(|(_, v)| v.clone()),
            ("path", Some("module")) => Some(Value::String(instance.def.dir.display().to_string())),
            // Terraform runs in the root module's folder: both name it.
            ("path", Some("root" | "cwd")) => {
                Some(Value::String(instance.root.display().to_string()))
            }
            ("terraform", Some("workspace")) => Some(Value::String("default".into())),
            // Resources, data sources and `self` are known only after
            // apply, here.
            _ => Some(Value::Unknown),
        }
    }
}

impl Evaluate for Ctx<'_, '_> {
    fn evaluate(&self, expr: &Expression) -> Value {
        let ctx = self.instance.program.context(&self.instance.def.dir);
        match eval::eval_within(expr, self, &ctx, &self.instance.budget.work) {
            Ok(value) => value,
            Err(error) => {
                if error.limit {
                    let budget = &self.instance.budget;
                    budget.limited_count.set(budget.limited_count.get() + 1);
                    let mut first = budget.limited.borrow_mut();
                    if first.is_none() {
                        let place = match self.instance.prefix.trim_end_matches('.') {
                            "" => "the root module".to_string(),
                            prefix => prefix.to_string(),
                        };
                        *first = Some((place, error.message));
                    }
                }
                Value::Unknown
            }
        }
    }

    fn bind(&self, name: &str, key: Value, value: Value) -> Box<dyn Evaluate + '_> {
        let mut bound = self.clone();
        bound.bindings.push((name.to_string(), key, value));
        Box::new(bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `roots` root folders of `root_bytes` each, all calling one module
    /// folder of `module_bytes`: the batches' roots.
    fn split(roots: usize, root_bytes: usize, module_bytes: usize) -> Vec<Vec<usize>> {
        let module = PathBuf::from("/p/modules/shared");
        let mut files = vec![SourceFile::new(
            "/p/modules/shared/main.tf",
            "#".repeat(module_bytes),
        )];
        let mut all_dirs = BTreeMap::from([(module.clone(), vec![0])]);
        let dirs: Vec<PathBuf> = (0..roots)
            .map(|i| PathBuf::from(format!("/p/live/r{i}")))
            .collect();
        for dir in &dirs {
            all_dirs.insert(dir.clone(), vec![files.len()]);
            files.push(SourceFile::new(dir.join("main.tf"), "#".repeat(root_bytes)));
        }
        let graph: HashMap<&PathBuf, Vec<PathBuf>> =
            dirs.iter().map(|d| (d, vec![module.clone()])).collect();
        batches(&dirs, &graph, &Manifests::new(), &all_dirs, &files)
            .into_iter()
            .map(|b| {
                assert!(b.dirs.contains(&module));
                b.roots
            })
            .collect()
    }

    #[test]
    fn roots_share_a_batch_up_to_the_budget_beyond_the_first() {
        // 600 kB roots: the first's text, then one more within 1 MiB.
        assert_eq!(split(4, 600_000, 1_000), [vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn a_file_may_call_modules_where_a_line_starts_a_module_block() {
        let may = |path: &str, text: &str| may_call_modules(&SourceFile::new(path, text));
        // Blocks: at a line's start, after blanks or a comment, with a
        // quoted or a bare label, in a CRLF file.
        assert!(may("a.tf", "module \"db\" {\n  source = \"./db\"\n}\n"));
        assert!(may("a.tf", "locals {}\n\t  module db {\n}\n"));
        assert!(may("a.tf", "/* old */ module \"db\" {\n}\n"));
        assert!(may("a.tf", "locals {}\r\nmodule \"db\" {\r\n}\r\n"));
        // References to outputs, other words, the word inside a line.
        assert!(!may("a.tf", "output \"id\" {\n  value = module.db.id\n}\n"));
        assert!(!may("a.tf", "variable \"module_name\" {}\nmodules = 1\n"));
        assert!(!may("a.tf", "locals {\n  x = \"module \\\"db\\\"\"\n}\n"));
        // The JSON syntax may write its key anywhere.
        assert!(may(
            "a.tf.json",
            "{\"module\": {\"db\": {\"source\": \"./db\"}}}"
        ));
        assert!(!may("a.tf.json", "{\"resource\": {}}"));
    }

    #[test]
    fn a_large_shared_module_is_not_parsed_once_per_root() {
        // A 3 MB module called by 100 small roots: one batch, not 100.
        assert_eq!(split(100, 5_000, 3_000_000).len(), 1);
    }
}
