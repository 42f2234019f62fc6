//! Filesystem functions and the path rules every file read obeys:
//! relative paths resolve against the module's directory, nothing outside
//! the project (the project root and the scanned folders; never the
//! current folder for being current) is read or even tested for
//! existence (symbolic links are followed, then checked), nothing inside
//! `.git`, `~` paths are refused, and every read goes through
//! [`crate::read`]: regular files only, none over 16 MiB.
//!
//! Terraform itself resolves relative paths against its working directory
//! (the root module's): callers pick `base_dir` accordingly.

use std::path::PathBuf;

use walkdir::WalkDir;

use super::encoding::base64_encode;
use super::{Args, Arity, Context, Function, FunctionError, Value};
use crate::read::{ReadError, Within};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("abspath", Exactly(1), abspath),
    Function::new("basename", Exactly(1), basename),
    Function::new("dirname", Exactly(1), dirname),
    Function::new("file", Exactly(1), file),
    Function::new("filebase64", Exactly(1), filebase64),
    Function::new("fileexists", Exactly(1), fileexists),
    Function::new("fileset", Exactly(2), fileset),
    Function::new("pathexpand", Exactly(1), pathexpand),
];

/// Files visited by one `fileset` call before it gives up.
const MAX_FILESET_ENTRIES: usize = 100_000;

/// Reads a UTF-8 file for the evaluator's `templatefile`, under the same
/// rules as `file` (errors name `templatefile`).
pub fn read_file(ctx: &Context, path: &str) -> Result<String, FunctionError> {
    read_text(ctx, "templatefile", path)
}

fn file_error(name: &str, path: &str, message: impl Into<String>) -> FunctionError {
    FunctionError::File {
        name: name.to_string(),
        path: path.to_string(),
        message: message.into(),
    }
}

fn outside(name: &str, path: &str) -> FunctionError {
    FunctionError::OutsideRoot {
        name: name.to_string(),
        path: path.to_string(),
    }
}

/// Where a path leads, once it is known to stay inside the project.
enum Located {
    /// The canonical path of something that exists.
    Exists(PathBuf),
    Missing,
}

fn locate(ctx: &Context, name: &str, path: &str) -> Result<Located, FunctionError> {
    if path.starts_with('~') {
        return Err(outside(name, path));
    }
    let lexical = crate::read::absolute(&ctx.base_dir.join(path));
    if !ctx.root.holds_lexically(&lexical) {
        return Err(outside(name, path));
    }
    match lexical.canonicalize() {
        Ok(canonical) => match ctx.root.admit(&canonical) {
            Ok(()) => Ok(Located::Exists(canonical)),
            Err(ReadError::InGit) => Err(file_error(name, path, "is inside a .git folder")),
            Err(_) => Err(outside(name, path)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Located::Missing),
        Err(e) => Err(file_error(name, path, e.to_string())),
    }
}

/// A refused read, in the words of the function that asked.
fn read_error(name: &str, path: &str, err: ReadError) -> FunctionError {
    match err {
        ReadError::TooLarge => file_error(name, path, "is larger than 16 MiB"),
        ReadError::NotRegular("a folder") => file_error(name, path, "is a directory, not a file"),
        ReadError::Binary { .. } => file_error(
            name,
            path,
            "contents are binary (NUL bytes), not valid UTF-8 text; use the filebase64 function to obtain the Base64 encoded contents",
        ),
        ReadError::InvalidUtf8 { .. } => file_error(
            name,
            path,
            "contents are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents",
        ),
        ReadError::InGit => file_error(name, path, "is inside a .git folder"),
        err if err.is_confinement() => outside(name, path),
        err => file_error(name, path, err.to_string()),
    }
}

fn located(ctx: &Context, name: &str, path: &str) -> Result<PathBuf, FunctionError> {
    match locate(ctx, name, path)? {
        Located::Exists(p) => Ok(p),
        Located::Missing => Err(file_error(
            name,
            path,
            "no file exists at this path; file functions only read files distributed with the configuration",
        )),
    }
}

/// The bytes of a file in the project, for `filebase64`.
pub(super) fn read_bytes(ctx: &Context, name: &str, path: &str) -> Result<Vec<u8>, FunctionError> {
    let located = located(ctx, name, path)?;
    crate::read::bytes(&located, Within::Project(&ctx.root)).map_err(|e| read_error(name, path, e))
}

/// The text of a file in the project, for `file` and `templatefile`.
fn read_text(ctx: &Context, name: &str, path: &str) -> Result<String, FunctionError> {
    let located = located(ctx, name, path)?;
    crate::read::text(&located, Within::Project(&ctx.root)).map_err(|e| read_error(name, path, e))
}

fn file(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    read_text(args.ctx, args.name, &path).map(Value::String)
}

fn filebase64(args: &Args<'_>) -> Result<Value, FunctionError> {
    let bytes = read_bytes(args.ctx, args.name, &args.string(0)?)?;
    Ok(Value::from(base64_encode(&bytes)))
}

fn fileexists(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    match locate(args.ctx, args.name, &path)? {
        Located::Missing => Ok(Value::from(false)),
        Located::Exists(p) if p.is_file() => Ok(Value::from(true)),
        Located::Exists(p) if p.is_dir() => {
            Err(file_error(args.name, &path, "is a directory, not a file"))
        }
        Located::Exists(_) => Err(file_error(args.name, &path, "is not a regular file")),
    }
}

/// `fileset(path, pattern)`: the regular files under `path` matching the
/// glob (`*`, `?`, `[...]`, `{a,b}`, `**` for any number of directories),
/// relative to `path`, with `/` separators. Symbolic links to files
/// inside the root count; directories are not followed through links.
fn fileset(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let pattern = args.string(1)?;
    let segments: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if segments.contains(&"..") {
        return Err(args.invalid(
            1,
            "patterns that leave the directory (\"..\") are not supported",
        ));
    }
    let matcher = regex::Regex::new(&glob_regex(&segments))
        .map_err(|e| args.invalid(1, format!("invalid pattern: {e}")))?;
    let dir = match locate(args.ctx, args.name, &path)? {
        Located::Exists(dir) if dir.is_dir() => dir,
        _ => return Ok(Value::List(vec![])),
    };
    let mut walk = WalkDir::new(&dir).min_depth(1).follow_links(false);
    if !pattern.contains("**") && !pattern.contains('{') {
        walk = walk.max_depth(segments.len());
    }
    let mut found = Vec::new();
    let walk = walk
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || entry.file_name() != ".git");
    for (visited, entry) in walk.enumerate() {
        if visited >= MAX_FILESET_ENTRIES {
            return Err(args.fail(format!(
                "more than {MAX_FILESET_ENTRIES} files under {path:?}"
            )));
        }
        let Ok(entry) = entry else { continue };
        let is_file = if entry.path_is_symlink() {
            entry
                .path()
                .canonicalize()
                .is_ok_and(|target| args.ctx.root.admit(&target).is_ok() && target.is_file())
        } else {
            entry.file_type().is_file()
        };
        if !is_file {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(&dir) else {
            continue;
        };
        let relative: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let relative = relative.join("/");
        if matcher.is_match(&relative) {
            found.push(Value::from(relative));
        }
    }
    Ok(Value::set(found))
}

/// A glob, split on `/`, as an anchored regular expression.
fn glob_regex(segments: &[&str]) -> String {
    let mut re = String::from("^");
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if *segment == "**" {
            re.push_str(if last { ".*" } else { "(?:[^/]+/)*" });
            continue;
        }
        let mut chars = segment.chars().peekable();
        let mut braces = 0;
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    while chars.peek() == Some(&'*') {
                        chars.next();
                    }
                    re.push_str("[^/]*");
                }
                '?' => re.push_str("[^/]"),
                '[' => {
                    re.push('[');
                    if matches!(chars.peek(), Some('!' | '^')) {
                        chars.next();
                        re.push('^');
                    }
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                        if matches!(c, '[' | '\\' | '&' | '~') {
                            re.push('\\');
                        }
                        re.push(c);
                    }
                    re.push(']');
                }
                '{' => {
                    braces += 1;
                    re.push_str("(?:");
                }
                '}' if braces > 0 => {
                    braces -= 1;
                    re.push(')');
                }
                ',' if braces > 0 => re.push('|'),
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        re.push_str(&regex::escape(&escaped.to_string()));
                    }
                }
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
        for _ in 0..braces {
            re.push(')');
        }
        if !last {
            re.push('/');
        }
    }
    re.push('$');
    re
}

/// The absolute form of a path, resolved against `base_dir` (Terraform
/// uses its working directory), cleaned, with `/` separators. Nothing is
/// read.
fn abspath(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let joined = args.ctx.base_dir.join(&*path);
    let text = crate::read::absolute(&joined)
        .to_string_lossy()
        .replace('\\', "/");
    Ok(Value::from(text))
}

/// Go's `filepath.Base`.
fn basename(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    if path.is_empty() {
        return Ok(Value::from("."));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::from("/"));
    }
    Ok(Value::from(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

/// Go's `filepath.Dir`.
fn dirname(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::from(clean(dir)))
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// A path starting with `~` depends on the home directory of whoever runs
/// Terraform: unknown. Other paths come back unchanged.
fn pathexpand(args: &Args<'_>) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    if path.starts_with('~') {
        return Ok(Value::Unknown);
    }
    Ok(Value::from(path.into_owned()))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok("file", vec![s("hello.txt")], s("Hello World")),
        ok("file", vec![s("./sub/../hello.txt")], s("Hello World")),
        ok("file", vec![s("../beside.txt")], s("beside")),
        err("file", vec![s("missing.txt")], "no file exists"),
        err("file", vec![s("bin.dat")], "not valid UTF-8"),
        err("file", vec![s("sub")], "is a directory"),
        err(
            "file",
            vec![s("../../outside/passwd")],
            "file(\"../../outside/passwd\") is outside the scanned folder",
        ),
        err(
            "file",
            vec![s("../../../../../../etc/passwd")],
            "outside the scanned folder",
        ),
        err("file", vec![s("/etc/passwd")], "outside the scanned folder"),
        err(
            "file",
            vec![s("~/.ssh/id_rsa")],
            "outside the scanned folder",
        ),
        ok("file", vec![Value::Unknown], Value::Unknown),
        ok("filebase64", vec![s("bin.dat")], s("//4A")),
        err(
            "filebase64",
            vec![s("../../outside/passwd")],
            "outside the scanned folder",
        ),
        ok("fileexists", vec![s("hello.txt")], Value::from(true)),
        ok("fileexists", vec![s("nope.txt")], Value::from(false)),
        err("fileexists", vec![s("sub")], "is a directory"),
        err(
            "fileexists",
            vec![s("../../outside/passwd")],
            "outside the scanned folder",
        ),
        ok(
            "fileset",
            vec![s("sub"), s("*.tf")],
            j(json!(["a.tf", "b.tf"])),
        ),
        ok(
            "fileset",
            vec![s("sub"), s("**/*.tf")],
            j(json!(["a.tf", "b.tf", "deep/c.tf"])),
        ),
        ok(
            "fileset",
            vec![s("."), s("sub/{a,x}.*")],
            j(json!(["sub/a.tf", "sub/x.json"])),
        ),
        ok(
            "fileset",
            vec![s("sub"), s("[ab].tf")],
            j(json!(["a.tf", "b.tf"])),
        ),
        ok("fileset", vec![s("sub"), s("?.json")], j(json!(["x.json"]))),
        ok(
            "fileset",
            vec![s("sub"), s("**")],
            j(json!(["a.tf", "b.tf", "deep/c.tf", "x.json"])),
        ),
        ok("fileset", vec![s("nowhere"), s("*")], j(json!([]))),
        err(
            "fileset",
            vec![s("../.."), s("*")],
            "outside the scanned folder",
        ),
        err("fileset", vec![s("sub"), s("../*")], "not supported"),
        ok("abspath", vec![s("/a/./b/../c")], s("/a/c")),
        ok("basename", vec![s("foo/bar/baz.txt")], s("baz.txt")),
        ok("basename", vec![s("foo/bar/")], s("bar")),
        ok("basename", vec![s("")], s(".")),
        ok("basename", vec![s("/")], s("/")),
        ok("dirname", vec![s("foo/bar/baz.txt")], s("foo/bar")),
        ok("dirname", vec![s("baz.txt")], s(".")),
        ok("dirname", vec![s("/baz.txt")], s("/")),
        ok("dirname", vec![s("a//b/../c/d")], s("a/c")),
        ok("pathexpand", vec![s("~/.ssh/id_rsa")], Value::Unknown),
        ok("pathexpand", vec![s("/etc/hosts")], s("/etc/hosts")),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn table() {
        run(cases());
    }

    #[test]
    fn read_file_obeys_the_root() {
        let fixture = fixture();
        assert_eq!(read_file(&fixture.ctx, "hello.txt").unwrap(), "Hello World");
        let err = read_file(&fixture.ctx, "../../outside/passwd").unwrap_err();
        assert_eq!(
            err.to_string(),
            "templatefile(\"../../outside/passwd\") is outside the scanned folder"
        );
        assert!(read_file(&fixture.ctx, "bin.dat").is_err());
    }

    #[test]
    fn abspath_resolves_against_the_module() {
        let fixture = fixture();
        let got =
            super::super::call("abspath", vec![Value::from("sub/a.tf")], &fixture.ctx).unwrap();
        let want = fixture.ctx.base_dir.join("sub/a.tf");
        assert_eq!(got, Value::from(want.to_string_lossy().into_owned()));
    }

    #[test]
    fn large_files_are_refused() {
        let fixture = fixture();
        let big = fixture.ctx.base_dir.join("big.bin");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(crate::read::MAX_FILE_BYTES + 1).unwrap();
        let err = read_bytes(&fixture.ctx, "file", "big.bin").unwrap_err();
        assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_of_the_root_are_refused() {
        let fixture = fixture();
        let outside = fixture.dir.path().join("outside/passwd");
        std::os::unix::fs::symlink(&outside, fixture.ctx.base_dir.join("link")).unwrap();
        std::os::unix::fs::symlink(
            fixture.ctx.base_dir.join("hello.txt"),
            fixture.ctx.base_dir.join("sub/inner-link.tf"),
        )
        .unwrap();
        let err = read_bytes(&fixture.ctx, "file", "link").unwrap_err();
        assert!(matches!(err, FunctionError::OutsideRoot { .. }), "{err}");
        let call = |name: &str, args: Vec<Value>| super::super::call(name, args, &fixture.ctx);
        assert!(call("fileexists", vec![Value::from("link")]).is_err());
        // A link inside the root counts as the file it points to; one out
        // of the root is not listed.
        assert_eq!(
            call("fileset", vec![Value::from("sub"), Value::from("*.tf")]).unwrap(),
            Value::List(vec![
                Value::from("a.tf"),
                Value::from("b.tf"),
                Value::from("inner-link.tf")
            ])
        );
        assert_eq!(
            call("fileset", vec![Value::from("."), Value::from("link")]).unwrap(),
            Value::List(vec![])
        );
    }

    #[test]
    fn globs_translate_to_anchored_regexes() {
        assert_eq!(glob_regex(&["**", "*.tf"]), "^(?:[^/]+/)*[^/]*\\.tf$");
        assert_eq!(glob_regex(&["a", "**"]), "^a/.*$");
        assert_eq!(glob_regex(&["{x,y}[!a]?"]), "^(?:x|y)[^a][^/]$");
    }
}
