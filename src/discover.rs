//! Finding the files to check: walking the given paths in a stable order,
//! recognising each file's format, and skipping what is not ours.

use std::collections::HashSet;
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
    /// A Dockerfile: `Dockerfile`, `Dockerfile.<suffix>` (unless the
    /// suffix is in [`NOT_DOCKERFILE`]), `*.Dockerfile`, `*.dockerfile`.
    Dockerfile,
    /// A Terraform plan's JSON (`terraform show -json`), any `.json` file
    /// that starts like one (see [`crate::parse::plan`]); confirmed on
    /// its text when read.
    Plan,
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

/// Last suffixes that make `Dockerfile.<suffix>` something else than a
/// Dockerfile, compared without case: documentation and pictures of it,
/// templates not yet rendered, files of another format, BuildKit's
/// per-Dockerfile ignore file, and editor, merge and backup leftovers
/// (as are names ending in `~`).
#[rustfmt::skip]
pub const NOT_DOCKERFILE: &[&str] = &[
    // Documentation and pictures.
    "md", "markdown", "txt", "rst", "adoc", "asciidoc", "html", "htm", "pdf",
    "png", "jpg", "jpeg", "gif", "svg", "webp",
    // Templates, checked once rendered.
    "j2", "jinja", "jinja2", "tpl", "tmpl", "template", "gotmpl", "erb",
    "mustache", "hbs",
    // Other formats, and companions.
    "json", "yaml", "yml", "dockerignore",
    // Leftovers.
    "orig", "rej", "bak", "backup", "old", "tmp", "temp", "swp", "swo", "save",
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
    if is_dockerfile(name) {
        return Some(Format::Dockerfile);
    }
    if is_terraform(path) {
        return Some(Format::Terraform);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Some(Format::Yaml),
        _ => None,
    }
}

/// A file's format from its name, or, for a `.json` file that is not
/// Terraform's, from its first bytes: a Terraform plan.
pub fn format_by_content(path: &Path) -> Option<Format> {
    format_of(path).or_else(|| {
        (crate::parse::plan::is_plan_name(path)
            && crate::read::head(path, crate::parse::plan::HEAD_BYTES)
                .is_some_and(|head| crate::parse::plan::may_be_plan(&head)))
        .then_some(Format::Plan)
    })
}

/// Whether a path names a Terraform file of either syntax: `main.tf` or
/// `main.tf.json` (not `*.tfvars.json`, which holds variable values).
pub fn is_terraform(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tf") || crate::parse::tfjson::is_tf_json(path)
}

/// Whether a file name is a Dockerfile's: `Dockerfile.md` documents one,
/// `Dockerfile.prod~` is an editor's backup of one.
fn is_dockerfile(name: &str) -> bool {
    if name.ends_with('~') {
        return false;
    }
    if name == "Dockerfile" || name.ends_with(".Dockerfile") || name.ends_with(".dockerfile") {
        return true;
    }
    let Some(suffixes) = name.strip_prefix("Dockerfile.") else {
        return false;
    };
    let last = suffixes.rsplit('.').next().unwrap_or(suffixes);
    !last.is_empty()
        && !NOT_DOCKERFILE
            .iter()
            .any(|skipped| skipped.eq_ignore_ascii_case(last))
}

/// Walks `paths` (files or folders) and returns the files to check, sorted
/// and without duplicates, with an error for every path that cannot be
/// read. Symbolic links to files are read; links to folders are not
/// followed, so a link cycle can never loop.
///
/// Paths that overlap (`sub` and `.`, `.` and `./`, a link to a folder
/// given beside the folder, a link beside the file it points to) give
/// each file once, under the path that reached it first. A file linked
/// into another folder is that folder's too, as it is to Terraform (a
/// module is a folder) and compose (the `.env` beside it), and is read
/// there as well.
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

/// What the walks of one run have found so far, by real path, so that
/// overlapping paths give each file (and each error) once.
#[derive(Debug, Default)]
pub struct Seen {
    /// Folders whose whole tree was walked.
    trees: HashSet<PathBuf>,
    /// Files found: the real folder they were reached in, and the real
    /// file (see [`discover`] for why the folder counts).
    files: HashSet<(PathBuf, PathBuf)>,
    /// Paths that could not be walked.
    errors: HashSet<PathBuf>,
    /// What was found and not read, worth a note: a named file of no
    /// checked kind, a Terragrunt configuration.
    pub notes: Vec<FileError>,
}

/// A named file read for context rather than checked on its own:
/// variable values and compose environments.
fn is_context_input(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".tfvars") || name.ends_with(".tfvars.json") || name == ".env"
}

/// [`discover`], walking as `walk` says.
pub fn discover_with(paths: &[PathBuf], walk: &Walk<'_>) -> (Vec<Candidate>, Vec<FileError>) {
    discover_new(paths, walk, &mut Seen::default())
}

/// [`discover_with`], leaving out what `seen` holds and adding to it what
/// is found: the files beside named files, for context, after the paths
/// themselves.
pub fn discover_new(
    paths: &[PathBuf],
    walk: &Walk<'_>,
    seen: &mut Seen,
) -> (Vec<Candidate>, Vec<FileError>) {
    let excluded = |path: &Path| walk.exclude.is_some_and(|f| f(path));
    // Sorted once at the end, not kept in a BTreeSet: a path comparison
    // goes component by component, and the walk's order is nearly the
    // final one already, which the sort finds in one pass.
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut links = Vec::new();
    for root in paths {
        let metadata = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(err) => {
                if seen.errors.insert(root.clone()) {
                    errors.push(FileError::new(root, None, io_message(&err)));
                }
                continue;
            }
        };
        if metadata.is_file() {
            if excluded(root) {
                continue;
            }
            if let Some(format) = format_by_content(root) {
                let folder = canonical(folder_of(root));
                let file = canonical(root);
                if seen.files.insert((folder, file)) {
                    found.push(Candidate {
                        path: root.clone(),
                        format,
                    });
                }
            } else if !is_context_input(root) && seen.errors.insert(root.clone()) {
                seen.notes.push(FileError::new(
                    root,
                    None,
                    "skipped: not a file provcheck checks (Terraform `.tf` or `.tf.json`, a Terraform \
                     plan's JSON, Kubernetes or compose YAML, a Dockerfile); nothing in it was read",
                ));
            }
            continue;
        }
        // Real paths below the root are the root's plus the path walked:
        // the walk follows no links to folders.
        let real_root = canonical(root);
        if seen.trees.contains(&real_root) {
            continue;
        }
        let real = |path: &Path| match path.strip_prefix(root) {
            Ok(rest) => real_root.join(rest),
            Err(_) => path.to_path_buf(),
        };
        let mut walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name();
        if let Some(depth) = walk.max_depth {
            walker = walker.max_depth(depth);
        }
        let trees = &seen.trees;
        let walker = walker.into_iter().filter_entry(|entry| {
            entry.depth() == 0
                || !(skipped(entry, &excluded)
                    || (entry.file_type().is_dir() && trees.contains(&real(entry.path()))))
        });
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = err.path().unwrap_or(root).to_path_buf();
                    if seen.errors.insert(real(&path)) {
                        let message = err.io_error().map_or_else(|| err.to_string(), io_message);
                        errors.push(FileError::new(&path, None, message));
                    }
                    continue;
                }
            };
            // Only regular files are looked into; a link named `.json` is
            // no plan here.
            let format = if entry.file_type().is_file() {
                format_by_content(entry.path())
            } else {
                format_of(entry.path())
            };
            let Some(format) = format else {
                if entry.file_name() == "terragrunt.hcl" && seen.errors.insert(real(entry.path())) {
                    seen.notes.push(FileError::new(
                        entry.path(),
                        None,
                        "skipped: Terragrunt configurations are not read; check the module its \
                         `terraform { source }` names, with its `inputs` in a --var-file",
                    ));
                }
                continue;
            };
            if entry.file_type().is_file() {
                let key = (real(folder_of(entry.path())), real(entry.path()));
                if seen.files.insert(key) {
                    found.push(Candidate {
                        path: entry.into_path(),
                        format,
                    });
                }
            } else if entry.file_type().is_symlink() {
                // A link to anything but a folder is the reader's to judge
                // (a link out of the project, to a FIFO): it says why it
                // refuses. Dangling links are nothing.
                if entry.path().exists() && !entry.path().is_dir() {
                    links.push(Candidate {
                        path: entry.into_path(),
                        format,
                    });
                }
            } else if !entry.file_type().is_dir() {
                // A FIFO, socket or device with a checked name.
                if let Ok(Err(err)) = entry.metadata().map(|m| crate::read::regular(&m)) {
                    errors.push(FileError::new(entry.path(), None, err.to_string()));
                }
            }
        }
        // Links last, so that a file and a link to it beside it give the
        // file, whatever their names.
        for link in links.drain(..) {
            let key = (real(folder_of(&link.path)), canonical(&link.path));
            if seen.files.insert(key) {
                found.push(link);
            }
        }
        if walk.max_depth.is_none() {
            seen.trees.insert(real_root);
        }
    }
    found.sort();
    found.dedup();
    (found, errors)
}

/// The folder a path is in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The real path, or the path itself when it has none (it vanished).
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
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
        .filter(|entry| is_terraform(entry.path()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn format(name: &str) -> Option<Format> {
        format_of(Path::new("app").join(name).as_path())
    }

    #[test]
    fn dockerfiles_by_name() {
        for name in [
            "Dockerfile",
            "Dockerfile.prod",
            "Dockerfile.allinone",
            "Dockerfile.prod.arm64",
            "api.Dockerfile",
            "cache.dockerfile",
        ] {
            assert_eq!(format(name), Some(Format::Dockerfile), "{name}");
        }
    }

    #[test]
    fn documentation_templates_and_leftovers_are_not_dockerfiles() {
        for name in [
            "Dockerfile.md",
            "Dockerfile.MD",
            "Dockerfile.txt",
            "Dockerfile.rst",
            "Dockerfile.adoc",
            "Dockerfile.html",
            "Dockerfile.pdf",
            "Dockerfile.png",
            "Dockerfile.prod.md",
            "Dockerfile.j2",
            "Dockerfile.orig",
            "Dockerfile.bak",
            "Dockerfile.swp",
            "Dockerfile.old",
            "Dockerfile.tmp",
            "Dockerfile.dockerignore",
            "Dockerfile~",
            "Dockerfile.prod~",
            "Dockerfile.",
            "README.Dockerfile.md",
            "Dockerfile-notes.md",
        ] {
            assert_eq!(format(name), None, "{name}");
        }
        // A Dockerfile.yaml is YAML, as its name says.
        assert_eq!(format("Dockerfile.yaml"), Some(Format::Yaml));
    }
}
