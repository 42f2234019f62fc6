//! Finding the files to check: walking the given paths in a stable order,
//! recognising each file's format, and skipping what is not ours.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::FileError;

/// The formats provcheck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// A `.tf` file.
    Terraform,
    /// A YAML file: Kubernetes manifests or a docker-compose file, told
    /// apart by content when lowered.
    Yaml,
    /// A Dockerfile (`Dockerfile`, `Dockerfile.*`, `*.Dockerfile`).
    Dockerfile,
}

/// Folders never descended into: version control, package caches, and
/// tool working directories (`.terraform` is read deliberately, by the
/// evaluator, when it needs module manifests).
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".terraform",
    ".terragrunt-cache",
];

/// A file found for checking.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub path: PathBuf,
    pub format: Format,
}

/// Recognises a file's format from its name.
pub fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?;
    if name == "Dockerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
    {
        return Some(Format::Dockerfile);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("tf") => Some(Format::Terraform),
        Some("yaml" | "yml") => Some(Format::Yaml),
        _ => None,
    }
}

/// Walks `paths` (files or folders) and returns the files to check, sorted
/// and without duplicates, with an error for every path that cannot be
/// read. Symbolic links to files are read; links to folders are not
/// followed, so a link cycle can never loop.
pub fn discover(paths: &[PathBuf]) -> (Vec<Candidate>, Vec<FileError>) {
    discover_with(paths, &Walk::default())
}

/// How far to walk, and what to leave out.
#[derive(Default)]
pub struct Walk<'a> {
    /// Only the files directly in each folder when set to 1.
    pub max_depth: Option<usize>,
    /// Paths to leave out (the configuration's `exclude` globs).
    pub exclude: Option<&'a (dyn Fn(&Path) -> bool + Sync)>,
}

/// [`discover`], walking as `walk` says.
pub fn discover_with(paths: &[PathBuf], walk: &Walk<'_>) -> (Vec<Candidate>, Vec<FileError>) {
    let excluded = |path: &Path| walk.exclude.is_some_and(|f| f(path));
    let mut found = BTreeSet::new();
    let mut errors = Vec::new();
    for root in paths {
        let metadata = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(err) => {
                errors.push(FileError::new(root, None, io_message(&err)));
                continue;
            }
        };
        if metadata.is_file() {
            if excluded(root) {
                continue;
            }
            if let Some(format) = format_of(root) {
                found.insert(Candidate {
                    path: root.clone(),
                    format,
                });
            }
            continue;
        }
        let mut walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name();
        if let Some(depth) = walk.max_depth {
            walker = walker.max_depth(depth);
        }
        let walker = walker
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !skipped(entry, &excluded));
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = err.path().unwrap_or(root).to_path_buf();
                    let message = err.io_error().map_or_else(|| err.to_string(), io_message);
                    errors.push(FileError::new(&path, None, message));
                    continue;
                }
            };
            let Some(format) = format_of(entry.path()) else {
                continue;
            };
            let is_file = entry.file_type().is_file()
                || (entry.file_type().is_symlink() && entry.path().is_file());
            if is_file {
                found.insert(Candidate {
                    path: entry.into_path(),
                    format,
                });
            }
        }
    }
    (found.into_iter().collect(), errors)
}

/// Every `.tf` file under `root` (a canonical path), in no set order,
/// skipping what [`discover_with`] skips and what `exclude` leaves out;
/// a symbolic link counts only when it resolves inside `root`. Folders
/// that cannot be read are passed over: this looks for context, not for
/// files to check.
pub fn terraform_files(
    root: &Path,
    exclude: Option<&(dyn Fn(&Path) -> bool + Sync)>,
) -> Vec<PathBuf> {
    let excluded = |path: &Path| exclude.is_some_and(|f| f(path));
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !skipped(entry, &excluded))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "tf"))
        .filter(|entry| {
            entry.file_type().is_file()
                || (entry.file_type().is_symlink()
                    && entry
                        .path()
                        .canonicalize()
                        .is_ok_and(|p| p.starts_with(root) && p.is_file()))
        })
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Whether a walk leaves an entry out: a folder never descended into, or
/// a path excluded.
fn skipped(entry: &walkdir::DirEntry, excluded: &impl Fn(&Path) -> bool) -> bool {
    (entry.file_type().is_dir()
        && entry
            .file_name()
            .to_str()
            .is_some_and(|name| SKIPPED_DIRS.contains(&name)))
        || excluded(entry.path())
}

fn io_message(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.to_string(),
    }
}
