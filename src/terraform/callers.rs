//! Finding the folders that call a module folder, for files named on
//! their own: a staged file in a child module is evaluated through the
//! root modules that reach it, as `check .` evaluates it, not with the
//! module's defaults.
//!
//! A pre-commit run must stay fast, so the project is not parsed: every
//! `.tf` file under the project root is read and scanned once for string
//! literals that look like local sources (`"../modules/db"`); only files
//! with one ending in a sought folder's name (or made of `..` alone, in
//! a file below it) are parsed, once each, to see where their `module`
//! calls really lead. A source that reaches a folder through a symbolic
//! link of another name is not found.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::module::{local_sources, local_target, MAX_MODULE_DEPTH};

/// The folders under `root` (canonical) that call one of `targets`
/// (canonical folders), directly or through other modules, in path
/// order; `targets` themselves are not among them.
pub fn callers(
    targets: &[PathBuf],
    root: &Path,
    exclude: Option<&(dyn Fn(&Path) -> bool + Sync)>,
) -> Vec<PathBuf> {
    let targets: Vec<&PathBuf> = targets.iter().filter(|t| t.starts_with(root)).collect();
    if targets.is_empty() {
        return Vec::new();
    }
    let files: Vec<Scanned> = crate::discover::terraform_files(root, exclude)
        .into_par_iter()
        .filter_map(Scanned::read)
        .collect();
    let mut seen: HashSet<PathBuf> = targets.iter().map(|t| (*t).clone()).collect();
    let mut frontier: Vec<PathBuf> = targets.into_iter().cloned().collect();
    let mut found = BTreeSet::new();
    // The `source` strings of the `module` blocks of each file parsed.
    let mut sources: HashMap<usize, Vec<String>> = HashMap::new();
    for _ in 0..MAX_MODULE_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let sought: HashSet<&Path> = frontier.iter().map(PathBuf::as_path).collect();
        let names: HashSet<&str> = frontier
            .iter()
            .filter_map(|dir| dir.file_name()?.to_str())
            .collect();
        let candidates: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, file)| file.may_call(&names, &sought))
            .map(|(i, _)| i)
            .collect();
        let parsed: Vec<(usize, Vec<String>)> = candidates
            .par_iter()
            .filter(|i| !sources.contains_key(i))
            .map(|&i| (i, files[i].module_sources()))
            .collect();
        sources.extend(parsed);
        let mut next = Vec::new();
        for i in candidates {
            let Some(dir) = files[i].path.parent() else {
                continue;
            };
            let calls = sources.get(&i).is_some_and(|list| {
                list.iter()
                    .filter(|s| may_name(s, &names))
                    .filter_map(|s| local_target(dir, s))
                    .any(|target| sought.contains(target.as_path()))
            });
            if calls && seen.insert(dir.to_path_buf()) {
                found.insert(dir.to_path_buf());
                next.push(dir.to_path_buf());
            }
        }
        frontier = next;
    }
    found.into_iter().collect()
}

/// One `.tf` file, with what its text says about the local sources it
/// may hold.
struct Scanned {
    path: PathBuf,
    text: String,
    /// The last folder name of each string that looks like a local
    /// source (`db` for `"../modules/db"`).
    ends: Vec<String>,
    /// Whether a string made of `.` and `..` alone (`".."`) occurs.
    upward: bool,
}

impl Scanned {
    /// Reads and scans a file; None when it holds no string that looks
    /// like a local source, or cannot be read.
    fn read(path: PathBuf) -> Option<Scanned> {
        let text = read_limited(&path)?;
        let mut ends = Vec::new();
        let mut upward = false;
        for (at, _) in text.match_indices("\".") {
            let rest = &text[at + 1..];
            if !(rest.starts_with("./") || rest.starts_with("../") || rest.starts_with("..\"")) {
                continue;
            }
            let Some(literal) = rest.split(['"', '\n']).next() else {
                continue;
            };
            match last_name(literal) {
                Some(name) => ends.push(name.to_string()),
                None => upward = true,
            }
        }
        (!ends.is_empty() || upward).then_some(Scanned {
            path,
            text,
            ends,
            upward,
        })
    }

    /// Whether a local source here could name one of the sought folders:
    /// by name, or by climbing to it from below.
    fn may_call(&self, names: &HashSet<&str>, sought: &HashSet<&Path>) -> bool {
        self.ends.iter().any(|end| names.contains(end.as_str()))
            || (self.upward && self.path.ancestors().any(|dir| sought.contains(dir)))
    }

    /// The `source` strings of the file's `module` blocks.
    fn module_sources(&self) -> Vec<String> {
        let source = crate::source::SourceFile::new(self.path.clone(), self.text.clone());
        match crate::parse::terraform(&source) {
            Ok(body) => local_sources(&body).map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// The last folder name of a relative path (`db` for `../modules/db/`),
/// None when it is made of `.` and `..` alone.
fn last_name(path: &str) -> Option<&str> {
    path.split('/')
        .rev()
        .find(|part| !part.is_empty())
        .filter(|part| *part != "." && *part != "..")
}

/// Whether a source may lead to one of the folders named `names`:
/// worth resolving on disk.
fn may_name(source: &str, names: &HashSet<&str>) -> bool {
    last_name(source).is_none_or(|name| names.contains(name))
}

/// A file's text, unless it cannot be read, is not UTF-8 or is larger
/// than the checker reads.
fn read_limited(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(crate::MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= crate::MAX_FILE_BYTES).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_names_of_local_sources() {
        assert_eq!(last_name("../../modules/db"), Some("db"));
        assert_eq!(last_name("./db/"), Some("db"));
        assert_eq!(last_name("../.."), None);
        assert_eq!(last_name("./"), None);
    }
}
