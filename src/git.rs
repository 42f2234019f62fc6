//! The git state of the project root, for a report's provenance: the
//! commit checked out, its branch, and whether the work tree differs
//! from it. Read in process with gix, never by running git.
//!
//! `.git` is input like any other, and may be hostile: it is opened
//! isolated (only its own configuration, no environment, no global or
//! system files), no section of that configuration is trusted for
//! anything that runs a program (filter drivers, submodules, remotes),
//! `.git` itself must not be a link, its small files must be regular
//! and small, and the whole read runs on its own thread under a
//! deadline: a FIFO or a huge tree makes the answer unknown, never a
//! hang. Whatever goes wrong leaves a field `None`, not an error.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What a report records of the work tree it was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitState {
    /// The commit HEAD resolves to, in hex; `None` on an unborn branch.
    pub commit: Option<String>,
    /// The branch checked out (`main`); `None` when HEAD is detached, as
    /// in most CI checkouts of a pull request.
    pub branch: Option<String>,
    /// Whether tracked files differ from the commit (staged or not) or
    /// untracked files (not ignored) are present; `None` when not asked
    /// for or not known in time. Submodules are not looked into.
    pub dirty: Option<bool>,
}

/// The largest `.git` file (`gitdir: ...`), `HEAD` or `config` read.
const MAX_SMALL_FILE: u64 = 1024 * 1024;

/// What the reading thread sends, in this order.
enum Part {
    Head {
        commit: Option<String>,
        branch: Option<String>,
    },
    Dirty(Option<bool>),
}

/// A read of the git state running beside the check.
pub struct Pending {
    rx: Option<mpsc::Receiver<Part>>,
    interrupt: Arc<AtomicBool>,
}

/// Starts reading the git state of the work tree whose top is `top`
/// (the folder holding `.git`); `dirty` asks for the status walk too,
/// which costs as much as `git status`.
pub fn start(top: &Path, dirty: bool) -> Pending {
    let interrupt = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let top = top.to_path_buf();
    let flag = Arc::clone(&interrupt);
    let spawned = std::thread::Builder::new()
        .name("provcheck-git".into())
        .spawn(move || read(&top, dirty, &flag, &tx));
    Pending {
        rx: spawned.ok().map(|_| rx),
        interrupt,
    }
}

impl Pending {
    /// The state, waiting at most `wait` in all; `None` when `.git`
    /// could not be read. A status walk still running at the deadline
    /// is stopped and `dirty` is `None`.
    pub fn finish(self, wait: Duration) -> Option<GitState> {
        let rx = self.rx?;
        let deadline = Instant::now() + wait;
        let left = || deadline.saturating_duration_since(Instant::now());
        let mut state = match rx.recv_timeout(left()) {
            Ok(Part::Head { commit, branch }) => GitState {
                commit,
                branch,
                dirty: None,
            },
            _ => {
                self.interrupt.store(true, Ordering::Release);
                return None;
            }
        };
        match rx.recv_timeout(left()) {
            Ok(Part::Dirty(dirty)) => state.dirty = dirty,
            _ => self.interrupt.store(true, Ordering::Release),
        }
        Some(state)
    }
}

/// The state at once (for tests and the library): [`start`], then
/// [`Pending::finish`].
pub fn state(top: &Path, dirty: bool, wait: Duration) -> Option<GitState> {
    start(top, dirty).finish(wait)
}

fn read(top: &Path, dirty: bool, interrupt: &Arc<AtomicBool>, tx: &mpsc::Sender<Part>) {
    let Some(repo) = open(top) else {
        return;
    };
    let commit = repo.head_id().ok().map(|id| id.to_string());
    let branch = repo
        .head_name()
        .ok()
        .flatten()
        .map(|name| name.shorten().to_string());
    if tx.send(Part::Head { commit, branch }).is_err() || !dirty {
        return;
    }
    // `core.worktree` may point anywhere: walk only the folder asked for.
    let same_tree = repo
        .workdir()
        .and_then(|w| w.canonicalize().ok())
        .zip(top.canonicalize().ok())
        .is_some_and(|(w, t)| w == t);
    let dirty = if same_tree {
        is_dirty(&repo, interrupt)
    } else {
        None
    };
    let _ = tx.send(Part::Dirty(dirty));
}

/// Opens the repository at `top` after checking what gix will read
/// first; `None` for anything unexpected.
fn open(top: &Path) -> Option<gix::Repository> {
    let dot_git = top.join(".git");
    let metadata = std::fs::symlink_metadata(&dot_git).ok()?;
    let git_dir: PathBuf = if metadata.is_dir() {
        dot_git
    } else if metadata.is_file() && metadata.len() <= MAX_SMALL_FILE {
        // A linked work tree or submodule: `gitdir: <path>`.
        let text = crate::read::text(&dot_git, crate::read::Within::Anywhere).ok()?;
        let target = text.trim().strip_prefix("gitdir:")?.trim();
        top.join(target)
    } else {
        return None;
    };
    for name in ["HEAD", "config"] {
        match std::fs::metadata(git_dir.join(name)) {
            Ok(m) if m.is_file() && m.len() <= MAX_SMALL_FILE => {}
            // A linked work tree's config is the common one.
            Err(_) if name == "config" => {}
            _ => return None,
        }
    }
    let options = gix::open::Options::isolated()
        // No section of the repository's own configuration is trusted
        // with what runs programs or reaches elsewhere.
        .filter_config_section(|_| false)
        .lossy_config(true);
    gix::open_opts(top, options).ok()
}

/// Tracked changes (HEAD to index, index to work tree) or untracked
/// files, whichever is seen first.
fn is_dirty(repo: &gix::Repository, interrupt: &Arc<AtomicBool>) -> Option<bool> {
    let platform = repo
        .status(gix::progress::Discard)
        .ok()?
        .untracked_files(gix::status::UntrackedFiles::Collapsed)
        .index_worktree_submodules(None)
        .should_interrupt_owned(Arc::clone(interrupt));
    let mut items = platform.into_iter(Vec::new()).ok()?;
    let first = items.next();
    if interrupt.load(Ordering::Acquire) {
        return None;
    }
    match first {
        None => Some(false),
        Some(Ok(_)) => Some(true),
        Some(Err(_)) => None,
    }
}

/// The largest file written out of a revision (as the reader's limit).
const EXTRACT_MAX_FILE: u64 = 16 * 1024 * 1024;
/// At most this many bytes and files written out of one revision.
const EXTRACT_MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;
const EXTRACT_MAX_FILES: usize = 500_000;

/// What [`extract`] wrote out of a revision, and what it left out.
#[derive(Debug, Default)]
pub struct Extracted {
    /// The commit the revision names, in hex.
    pub commit: String,
    /// Files written.
    pub files: usize,
    /// Entries left out, with why (a link, a submodule, too large, a
    /// name that cannot be a path here).
    pub skipped: Vec<String>,
}

/// Writes the files of the commit `rev` names, in the repository whose
/// work tree top is `top`, into `dest` (a new, empty folder outside the
/// work tree): only those under one of `prefixes` ('/'-separated, from
/// the top; every file when empty). Read from the object store alone,
/// never by running git or touching the work tree. The tree is hostile
/// like any input: a name that is not a plain relative path (`..`, a
/// `.git` component, a separator or NUL inside a name) is skipped, as
/// are links and submodules (they could point outside `dest`), and
/// blobs past 16 MiB; in all at most 2 GiB and 500,000 files.
pub fn extract(
    top: &Path,
    rev: &str,
    prefixes: &[String],
    dest: &Path,
) -> Result<Extracted, String> {
    let repo = open(top).ok_or_else(|| {
        format!(
            "{} is not a git work tree provcheck can read",
            top.display()
        )
    })?;
    let id = repo
        .rev_parse_single(rev)
        .map_err(|e| format!("revision `{rev}` does not name a commit: {e}"))?;
    let commit = id
        .object()
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| format!("revision `{rev}` does not name a commit: {e}"))?;
    let tree = commit
        .tree()
        .map_err(|e| format!("the tree of `{rev}` cannot be read: {e}"))?;
    let entries = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| format!("the tree of `{rev}` cannot be read: {e}"))?;
    let mut out = Extracted {
        commit: commit.id.to_string(),
        ..Extracted::default()
    };
    let mut bytes = 0u64;
    for entry in entries {
        if entry.mode.is_tree() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.filepath).into_owned();
        let under = prefixes.is_empty()
            || prefixes.iter().any(|p| {
                let p = p.trim_end_matches('/');
                p.is_empty() || p == "." || name == p || name.starts_with(&format!("{p}/"))
            });
        if !under {
            continue;
        }
        let Some(relative) = plain_path(&entry.filepath) else {
            out.skipped
                .push(format!("{name}: not a plain relative path"));
            continue;
        };
        if entry.mode.is_link() {
            out.skipped.push(format!("{name}: a symbolic link"));
            continue;
        }
        if entry.mode.is_commit() {
            out.skipped.push(format!("{name}: a submodule"));
            continue;
        }
        if !entry.mode.is_blob() {
            continue;
        }
        // A partial clone may lack a blob: left out, and said so.
        let Ok(header) = repo.find_header(entry.oid) else {
            out.skipped.push(format!(
                "{name}: not in the object store (a partial clone?)"
            ));
            continue;
        };
        let size = header.size();
        if size > EXTRACT_MAX_FILE {
            out.skipped.push(format!("{name}: larger than 16 MiB"));
            continue;
        }
        bytes += size;
        if bytes > EXTRACT_MAX_BYTES || out.files >= EXTRACT_MAX_FILES {
            return Err(format!(
                "revision `{rev}` holds more than 2 GiB or 500,000 files under the paths given"
            ));
        }
        let Ok(blob) = repo.find_object(entry.oid) else {
            out.skipped.push(format!(
                "{name}: not in the object store (a partial clone?)"
            ));
            continue;
        };
        let path = dest.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &blob.data))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out.files += 1;
    }
    Ok(out)
}

/// A tree entry's path as a relative path of plain names, or `None`.
fn plain_path(name: &[u8]) -> Option<PathBuf> {
    let text = std::str::from_utf8(name).ok()?;
    let mut path = PathBuf::new();
    for part in text.split('/') {
        let plain = !part.is_empty()
            && part != "."
            && part != ".."
            && !part.eq_ignore_ascii_case(".git")
            && !part.contains(['\\', '\0']);
        if !plain {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(20);

    #[test]
    fn no_git_folder_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(state(dir.path(), true, WAIT), None);
    }

    #[test]
    fn a_git_folder_that_is_not_a_repository_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "garbage\n").unwrap();
        assert_eq!(state(dir.path(), true, WAIT), None);
    }

    #[test]
    fn a_gitdir_file_leading_nowhere_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".git"), "gitdir: ../nowhere\n").unwrap();
        assert_eq!(state(dir.path(), true, WAIT), None);
        std::fs::write(dir.path().join(".git"), "not a gitdir line").unwrap();
        assert_eq!(state(dir.path(), true, WAIT), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_git_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/", dir.path().join(".git")).unwrap();
        assert_eq!(state(dir.path(), true, WAIT), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_for_head_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir(&git).unwrap();
        let head = std::ffi::CString::new(git.join("HEAD").to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(head.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        assert_eq!(state(dir.path(), true, Duration::from_secs(2)), None);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
