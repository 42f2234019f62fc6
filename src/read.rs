//! The one way provcheck reads a file. Every read — discovered files,
//! tfvars, `.env`, installed modules, the configuration, waivers and
//! baseline, Terraform's file functions — goes through [`bytes`] or
//! [`text`]: regular files only (no FIFOs, devices, sockets, nothing under
//! `/proc` or `/sys`), at most [`MAX_FILE_BYTES`], and, for files the
//! project names, inside the [`Project`] once symbolic links are resolved
//! and never inside a `.git` folder. A pull request controls the scanned
//! tree: a link in it must not make provcheck print the CI's environment
//! or the checkout's credentials.

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused rather than read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The folders files named by the project may be read in: the project
/// root and the scanned folders, each kept as written (made absolute) and
/// with its links resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Project {
    roots: Arc<[Root]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Root {
    /// Absolute, `.` and `..` resolved without the filesystem.
    lexical: PathBuf,
    /// With every link resolved.
    canonical: PathBuf,
}

/// Where a file may be, which depends on who named it.
#[derive(Debug, Clone, Copy)]
pub enum Within<'a> {
    /// Found in the scanned tree or named by a file in it: only inside
    /// the project.
    Project(&'a Project),
    /// As `Project`, for many files at once (a scanned tree's): each
    /// folder is resolved once, through the shared memo, not each file's
    /// path component by component.
    ProjectFolders(&'a Project, &'a Folders),
    /// Named on the command line by the user: anywhere, but still a
    /// regular file within the size limit.
    Anywhere,
}

/// Who named a file that is not discovered (waivers, baseline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path: PathBuf,
    /// Named on the command line, rather than by the configuration file
    /// or by being where the project keeps it.
    pub by_user: bool,
}

impl Named {
    pub fn by_user(path: PathBuf) -> Named {
        Named {
            path,
            by_user: true,
        }
    }

    pub fn by_project(path: PathBuf) -> Named {
        Named {
            path,
            by_user: false,
        }
    }

    /// Where the file may be read.
    pub fn within<'a>(&self, project: &'a Project) -> Within<'a> {
        if self.by_user {
            Within::Anywhere
        } else {
            Within::Project(project)
        }
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("symlink to outside the project; not read")]
    LinkOutside,
    #[error("outside the project; not read")]
    Outside,
    #[error("inside a .git folder; not read")]
    InGit,
    #[error("{0}, not a regular file; not read")]
    NotRegular(&'static str),
    #[error("a system file (/proc, /sys); not read")]
    System,
    #[error("file is larger than {} MiB; not checked", MAX_FILE_BYTES / 1024 / 1024)]
    TooLarge,
    /// The text before the first NUL byte, for positions.
    #[error("binary file (contains NUL bytes); not checked")]
    Binary { text: String },
    /// The text with invalid sequences replaced, and where the first is.
    #[error("invalid UTF-8 at byte {valid}; not checked")]
    InvalidUtf8 { text: String, valid: usize },
}

impl ReadError {
    /// The file is not there (a missing `.env` is no error).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }

    /// The message for a file read as `what` ("the waivers file"): what
    /// could not be read, or why it was refused.
    pub fn describe(&self, what: &str) -> String {
        match self {
            ReadError::Io(e) => format!("cannot read {what}: {e}"),
            other => other.to_string(),
        }
    }

    /// Refused for where it is, not for what it holds.
    pub fn is_confinement(&self) -> bool {
        matches!(
            self,
            ReadError::LinkOutside | ReadError::Outside | ReadError::InGit | ReadError::System
        )
    }
}

impl Project {
    /// The project of these folders; a file stands for its folder, and
    /// paths that do not exist are left out.
    pub fn new<P: AsRef<Path>>(folders: impl IntoIterator<Item = P>) -> Project {
        let mut roots: Vec<Root> = Vec::new();
        for folder in folders {
            let folder = folder.as_ref();
            let folder = if folder.is_file() {
                match folder.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                }
            } else {
                folder
            };
            let Ok(canonical) = folder.canonicalize() else {
                continue;
            };
            let lexical = absolute(folder);
            let root = Root { lexical, canonical };
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        Project {
            roots: roots.into(),
        }
    }

    /// The folders, links resolved.
    pub fn roots(&self) -> impl Iterator<Item = &Path> {
        self.roots.iter().map(|r| r.canonical.as_path())
    }

    /// Whether a path, as written (absolute, cleaned, links not
    /// resolved), is inside the project: what may be looked at at all.
    pub fn holds_lexically(&self, path: &Path) -> bool {
        let path = absolute(path);
        self.roots
            .iter()
            .any(|r| path.starts_with(&r.lexical) || path.starts_with(&r.canonical))
    }

    /// Checks a path whose links are resolved: inside a root and not in a
    /// `.git` folder below it.
    pub fn admit(&self, canonical: &Path) -> Result<(), ReadError> {
        let mut inside = false;
        for root in self.roots.iter() {
            let Ok(rest) = canonical.strip_prefix(&root.canonical) else {
                continue;
            };
            inside = true;
            if !rest.components().any(|c| c.as_os_str() == ".git") {
                return Ok(());
            }
        }
        if inside {
            Err(ReadError::InGit)
        } else {
            Err(ReadError::Outside)
        }
    }

    /// Resolves `path` and checks where it leads; a path that is inside
    /// as written but leads out is a link out.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, ReadError> {
        self.admit_resolved(path, path.canonicalize()?)
    }

    /// As [`Project::resolve`], the folder resolved through `folders`.
    pub fn resolve_in(&self, path: &Path, folders: &Folders) -> Result<PathBuf, ReadError> {
        match folders.canonical(path) {
            Some(canonical) => self.admit_resolved(path, canonical),
            // What canonicalize says about a path it cannot resolve.
            None => self.resolve(path),
        }
    }

    fn admit_resolved(&self, path: &Path, canonical: PathBuf) -> Result<PathBuf, ReadError> {
        match self.admit(&canonical) {
            Err(ReadError::Outside) if self.holds_lexically(path) => Err(ReadError::LinkOutside),
            Err(e) => Err(e),
            Ok(()) => Ok(canonical),
        }
    }
}

/// Resolves files' paths as [`Path::canonicalize`] does, each folder
/// once: a file that is no link resolves to its folder's resolved path
/// and its name, so that the files of one folder cost one look each, not
/// one per component of their path. Shared between threads.
#[derive(Debug, Default)]
pub struct Folders {
    resolved: PathMemo<Option<PathBuf>>,
}

/// An answer per path, worked out once and shared between threads. The
/// lock is not held while an answer is worked out (a system call or
/// more): two threads may both work one out, and either is kept.
///
/// Paths are kept by their bytes: a `Path` hashes component by component,
/// several times the cost, and two spellings of one path (`a//b`, `a/b`)
/// only cost an answer each.
#[derive(Debug)]
pub struct PathMemo<T>(std::sync::Mutex<std::collections::HashMap<std::ffi::OsString, T>>);

impl<T> Default for PathMemo<T> {
    fn default() -> PathMemo<T> {
        PathMemo(std::sync::Mutex::default())
    }
}

impl<T: Clone> PathMemo<T> {
    /// The answer for `path`, from `make` the first time.
    pub fn get(&self, path: &Path, make: impl FnOnce() -> T) -> T {
        let lock = || {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(answer) = lock().get(path.as_os_str()) {
            return answer.clone();
        }
        let answer = make();
        lock().insert(path.as_os_str().to_os_string(), answer.clone());
        answer
    }
}

impl Folders {
    /// `path` resolved; `None` where `canonicalize` fails.
    pub fn canonical(&self, path: &Path) -> Option<PathBuf> {
        let Some(name) = path.file_name() else {
            return path.canonicalize().ok();
        };
        // A link, or anything not there, is resolved whole.
        if !std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink()) {
            return path.canonicalize().ok();
        }
        let parent = crate::discover::folder_of(path);
        let folder = self.resolved.get(parent, || parent.canonicalize().ok());
        Some(folder?.join(name))
    }
}

/// The absolute form of a path, `.` and `..` resolved without the
/// filesystem.
pub fn absolute(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The bytes of a regular file, within the size limit, where `within`
/// allows.
pub fn bytes(path: &Path, within: Within<'_>) -> Result<Vec<u8>, ReadError> {
    let canonical = match within {
        Within::Project(project) => project.resolve(path)?,
        Within::ProjectFolders(project, folders) => project.resolve_in(path, folders)?,
        Within::Anywhere => path.canonicalize()?,
    };
    if is_system(&canonical) {
        return Err(ReadError::System);
    }
    // Said before opening: opening a FIFO would wait for a writer.
    regular(&std::fs::metadata(&canonical)?)?;
    let file = open(&canonical)?;
    let metadata = file.metadata()?;
    regular(&metadata)?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// The text of a regular file, within the size limit, where `within`
/// allows: no NUL bytes, valid UTF-8, a leading byte-order mark dropped.
pub fn text(path: &Path, within: Within<'_>) -> Result<String, ReadError> {
    let bytes = bytes(path, within)?;
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        let text = String::from_utf8_lossy(&bytes[..nul]).into_owned();
        return Err(ReadError::Binary { text });
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(crate::source::without_bom(text)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            Err(ReadError::InvalidUtf8 { text, valid })
        }
    }
}

/// The first `limit` bytes of a regular file, for recognising a format
/// by content (a Terraform plan's JSON): `None` for anything else, or
/// what cannot be opened. Discovery looks only; the file is read, and
/// refused if it must be, by [`text`] like any other. Every `.json` file
/// of a tree is looked at, so the path is opened as it is (a walk
/// follows no links), resolved only when it is a link named by the user.
pub fn head(path: &Path, limit: usize) -> Option<Vec<u8>> {
    let file = match open(path) {
        Ok(file) => file,
        Err(_) => {
            let canonical = path.canonicalize().ok()?;
            if is_system(&canonical) {
                return None;
            }
            open(&canonical).ok()?
        }
    };
    regular(&file.metadata().ok()?).ok()?;
    let mut bytes = Vec::with_capacity(limit.min(64 * 1024));
    file.take(limit as u64).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Kernel pseudo-files report a size of 0 or 4096 whatever they hold, and
/// some (`/proc/self/environ`) hold secrets.
fn is_system(canonical: &Path) -> bool {
    cfg!(unix) && (canonical.starts_with("/proc") || canonical.starts_with("/sys"))
}

/// Refuses anything but a regular file, saying what it is.
pub fn regular(metadata: &std::fs::Metadata) -> Result<(), ReadError> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(ReadError::NotRegular("a folder"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(ReadError::NotRegular("a named pipe (FIFO)"));
        }
        if kind.is_socket() {
            return Err(ReadError::NotRegular("a socket"));
        }
        if kind.is_block_device() || kind.is_char_device() {
            return Err(ReadError::NotRegular("a device"));
        }
    }
    Err(ReadError::NotRegular("a special file"))
}

/// Opens without blocking on a FIFO swapped in since it was looked at, and
/// without following a link swapped in at the last step.
fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn folders_resolve_as_canonicalize_does() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("real/sub")).unwrap();
        std::fs::write(base.join("real/sub/a.tf"), "a").unwrap();
        std::fs::write(base.join("real/b.tf"), "b").unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("linked")).unwrap();
        std::os::unix::fs::symlink(base.join("real/b.tf"), base.join("real/sub/c.tf")).unwrap();
        let folders = Folders::default();
        for path in [
            "real/sub/a.tf",
            "linked/sub/a.tf",
            "real/sub/c.tf",
            "linked/sub/c.tf",
            "real/sub/missing.tf",
            "real/sub/../b.tf",
        ] {
            let path = base.join(path);
            // Twice: the second answer comes from the cache.
            for _ in 0..2 {
                assert_eq!(
                    folders.canonical(&path),
                    path.canonicalize().ok(),
                    "{path:?}"
                );
            }
        }
    }

    fn tree() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("project/.git")).unwrap();
        std::fs::write(dir.path().join("project/a.tf"), "a").unwrap();
        std::fs::write(dir.path().join("project/.git/config"), "token").unwrap();
        std::fs::write(dir.path().join("secret"), "secret").unwrap();
        let project = Project::new([dir.path().join("project")]);
        (dir, project)
    }

    #[test]
    fn reads_inside_the_project() {
        let (dir, project) = tree();
        let path = dir.path().join("project/a.tf");
        assert_eq!(text(&path, Within::Project(&project)).unwrap(), "a");
    }

    #[test]
    fn refuses_outside_and_git() {
        let (dir, project) = tree();
        let within = Within::Project(&project);
        let outside = text(&dir.path().join("secret"), within).unwrap_err();
        assert!(matches!(outside, ReadError::Outside), "{outside}");
        let git = text(&dir.path().join("project/.git/config"), within).unwrap_err();
        assert!(matches!(git, ReadError::InGit), "{git}");
        assert_eq!(
            text(&dir.path().join("secret"), Within::Anywhere).unwrap(),
            "secret"
        );
    }

    #[cfg(unix)]
    #[test]
    fn refuses_links_out_pseudo_files_and_fifos() {
        let (dir, project) = tree();
        let within = Within::Project(&project);
        let link = dir.path().join("project/link.tfvars");
        std::os::unix::fs::symlink(dir.path().join("secret"), &link).unwrap();
        let err = text(&link, within).unwrap_err();
        assert_eq!(err.to_string(), "symlink to outside the project; not read");
        let git = dir.path().join("project/git.tf");
        std::os::unix::fs::symlink(dir.path().join("project/.git/config"), &git).unwrap();
        assert!(matches!(text(&git, within), Err(ReadError::InGit)));
        let environ = Path::new("/proc/self/environ");
        if environ.exists() {
            assert!(matches!(
                text(environ, Within::Anywhere),
                Err(ReadError::System)
            ));
        }
        let fifo = dir.path().join("project/fifo.tf");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = text(&fifo, within).unwrap_err();
            assert_eq!(
                err.to_string(),
                "a named pipe (FIFO), not a regular file; not read"
            );
        }
    }

    #[test]
    fn refuses_large_files() {
        let (dir, project) = tree();
        let big = dir.path().join("project/big.tf");
        File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let err = bytes(&big, Within::Project(&project)).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge), "{err}");
    }

    #[test]
    fn an_empty_project_reads_nothing() {
        let (dir, _) = tree();
        let err = text(
            &dir.path().join("project/a.tf"),
            Within::Project(&Project::default()),
        );
        assert!(matches!(err, Err(ReadError::Outside)));
    }
}
