//! Source files, byte spans, and the line index that turns spans into
//! lines and columns at the edge.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A byte range into a source file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<Range<usize>> for Span {
    fn from(range: Range<usize>) -> Span {
        Span::new(range.start, range.end)
    }
}

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A file read for checking: the path as reached from the arguments, and
/// its text. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
    pub lines: Arc<LineIndex>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> SourceFile {
        let text: Arc<str> = text.into();
        let lines = Arc::new(LineIndex::new(&text));
        SourceFile {
            path: path.into(),
            text,
            lines,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path as text, with `/` separators on every platform.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    pub fn position(&self, offset: usize) -> Position {
        self.lines.position(&self.text, offset)
    }
}

/// A file's text without the byte-order mark that some Windows editors put
/// at its start. Terraform, Docker and YAML parsers ignore it; dropping it
/// when the file is read keeps spans, columns and snippets about the
/// characters a user sees.
pub fn without_bom(mut text: String) -> String {
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    text
}

/// Renders a path with forward slashes so reports are identical everywhere.
/// Only Windows separates with `\`: elsewhere it is part of a name (and of
/// the escapes the text reports write).
pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '\\' {
        text.replace('\\', "/")
    } else {
        text.to_string()
    }
}

/// Where the reports' paths are anchored: the project root (README,
/// "Paths in reports"). A path inside it is written relative to it, with
/// `/`, whatever the current folder and however the path was reached
/// (relative or absolute, through a link); a path outside it, which only
/// a file named explicitly can have, is written absolute. Without a root
/// (the library's in-memory checks), paths are written as reached.
#[derive(Debug, Clone, Default)]
pub struct Anchor {
    /// Absolute, links resolved.
    root: Option<PathBuf>,
    /// What relative paths are relative to: the current folder when the
    /// anchor was made.
    cwd: PathBuf,
    /// Each absolute path that needed its links resolved, resolved: a
    /// report names the same module file in many findings' related
    /// locations, and each resolution is a system call per component.
    resolved: Arc<crate::read::PathMemo<Option<PathBuf>>>,
    /// Each path already shown, as shown: every finding and related
    /// location is written with its file's path, thousands of times per
    /// file in a monorepo's report.
    shown: Arc<crate::read::PathMemo<ShownPath>>,
}

/// A path as a report writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownPath {
    /// With `/` separators; `.` for the root itself.
    pub text: String,
    /// Relative to the anchor's root (or, without a root, as reached and
    /// not absolute).
    pub relative: bool,
}

impl Anchor {
    /// Paths shown relative to `root`, which is made absolute (links
    /// resolved when it exists).
    pub fn new(root: &Path) -> Anchor {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = root
            .canonicalize()
            .unwrap_or_else(|_| crate::read::absolute(&cwd.join(root)));
        Anchor {
            root: Some(root),
            cwd,
            resolved: Arc::default(),
            shown: Arc::default(),
        }
    }

    /// The root, absolute and with its links resolved.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// How a report writes `path`. Lexical first (no file system access);
    /// only a path that does not fall under the root as written has its
    /// links resolved, since it may reach the root through one.
    pub fn show(&self, path: &Path) -> ShownPath {
        if self.root.is_none() {
            return ShownPath {
                text: display_path(path),
                relative: !path.is_absolute(),
            };
        }
        self.shown.get(path, || self.show_anew(path))
    }

    /// [`Anchor::show`] without its memory of paths shown.
    fn show_anew(&self, path: &Path) -> ShownPath {
        let Some(root) = &self.root else {
            return ShownPath {
                text: display_path(path),
                relative: !path.is_absolute(),
            };
        };
        let absolute = crate::read::absolute(&self.cwd.join(path));
        let inside = |p: &Path| {
            p.strip_prefix(root).ok().map(|rest| {
                let text = display_path(rest);
                if text.is_empty() {
                    ".".to_string()
                } else {
                    text
                }
            })
        };
        let relative = inside(&absolute).or_else(|| {
            self.resolved
                .get(&absolute, || absolute.canonicalize().ok())
                .as_deref()
                .and_then(inside)
        });
        match relative {
            Some(text) => ShownPath {
                text,
                relative: true,
            },
            None => ShownPath {
                text: display_path(&absolute),
                relative: false,
            },
        }
    }

    /// The same anchor with its folders rewritten (escaped for a text
    /// report, as the paths it will be given are).
    pub fn map(&self, mut f: impl FnMut(&Path) -> PathBuf) -> Anchor {
        Anchor {
            root: self.root.as_deref().map(&mut f),
            cwd: f(&self.cwd),
            resolved: Arc::default(),
            shown: Arc::default(),
        }
    }
}

/// Start offsets of every line, for offset -> line/column conversion.
/// Columns count characters: in a file that is not all ASCII, a mark at
/// every [`MARK_EVERY`]th character keeps that to a short walk, so a
/// megabyte on one line costs no more per position than a short line.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of every line's start, as `u32`: a file read is at
    /// most 16 MiB ([`crate::read::MAX_FILE_BYTES`]), and a tree of
    /// 100,000 files keeps an index for each.
    starts: Vec<u32>,
    /// Byte offset of every `MARK_EVERY`th character; empty for ASCII
    /// text, where characters are bytes.
    marks: Vec<u32>,
}

/// An offset as a [`LineIndex`] stores it (past 4 GiB, the last one).
fn narrow(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// Characters between two marks of a [`LineIndex`].
const MARK_EVERY: usize = 256;

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| narrow(i + 1)));
        starts.shrink_to_fit();
        let marks = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(MARK_EVERY)
                .map(|(i, _)| narrow(i))
                .collect()
        };
        LineIndex { starts, marks }
    }

    /// 1-based line of a byte offset (past the end: the last line).
    pub fn line(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s as usize <= offset)
            .max(1)
    }

    /// How many characters come before a byte offset (a char boundary).
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        if self.marks.is_empty() {
            return offset;
        }
        let mark = self
            .marks
            .partition_point(|&m| m as usize <= offset)
            .saturating_sub(1);
        let from = self.marks.get(mark).map_or(0, |&m| m as usize);
        mark * MARK_EVERY + text[from..offset].chars().count()
    }

    /// The byte offset of the character numbered `index` (the end of the
    /// text past the last one).
    fn char_offset(&self, text: &str, index: usize) -> usize {
        if self.marks.is_empty() {
            return index.min(text.len());
        }
        let Some(from) = self.marks.get(index / MARK_EVERY).map(|&m| m as usize) else {
            return text.len();
        };
        text[from..]
            .char_indices()
            .nth(index % MARK_EVERY)
            .map_or(text.len(), |(i, _)| from + i)
    }

    /// 1-based line and character column of a byte offset. Offsets past
    /// the end, or inside a multi-byte character, are clamped.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset);
        let line = self.line(offset);
        let start = self.starts[line - 1] as usize;
        let column = self.chars_before(text, offset) - self.chars_before(text, start) + 1;
        Position { line, column }
    }

    /// Byte offset of a 1-based line and 0-based character column, as YAML
    /// parsers report them.
    pub fn offset(&self, text: &str, line: usize, char_column: usize) -> usize {
        let Some(start) = self.starts.get(line.saturating_sub(1)).map(|&s| s as usize) else {
            return text.len();
        };
        let first = self.chars_before(text, start);
        self.char_offset(text, first.saturating_add(char_column))
    }

    /// Byte span of a 1-based line, without its line break.
    pub fn line_span(&self, text: &str, line: usize) -> Span {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .map_or(text.len(), |&s| s as usize);
        let end = self
            .starts
            .get(line)
            .map_or(text.len(), |&next| next as usize - 1);
        Span::new(start, end.max(start))
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

/// The largest character boundary at or before `offset`, within the text.
pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_from_one() {
        let text = "ab\nçd\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(index.position(text, 3), Position { line: 2, column: 1 });
        // 'd' sits after the two-byte 'ç'.
        assert_eq!(index.position(text, 5), Position { line: 2, column: 2 });
        assert_eq!(index.position(text, 99), Position { line: 3, column: 1 });
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped() {
        assert_eq!(without_bom("\u{FEFF}a\u{FEFF}".into()), "a\u{FEFF}");
        assert_eq!(without_bom("a".into()), "a");
        assert_eq!(without_bom(String::new()), "");
    }

    #[test]
    fn long_lines_of_wide_characters_convert_both_ways() {
        let text = format!("é\n{}x{}\nz", "ç".repeat(1000), "a".repeat(700));
        let index = LineIndex::new(&text);
        let x = text.find('x').unwrap();
        assert_eq!(
            index.position(&text, x),
            Position {
                line: 2,
                column: 1001
            }
        );
        assert_eq!(index.offset(&text, 2, 1000), x);
        assert_eq!(index.offset(&text, 2, 1701), text.len() - 2);
        assert_eq!(index.offset(&text, 3, 0), text.len() - 1);
        assert_eq!(index.offset(&text, 3, 5), text.len());
        let end = text.len();
        assert_eq!(index.position(&text, end), Position { line: 3, column: 2 });
    }

    #[test]
    fn paths_are_shown_from_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap().join("repo");
        std::fs::create_dir_all(root.join("infra")).unwrap();
        let anchor = Anchor::new(&root);
        let shown = |path: &Path| anchor.show(path);
        assert_eq!(
            shown(&root.join("infra/./x/../main.tf")),
            ShownPath {
                text: "infra/main.tf".into(),
                relative: true
            }
        );
        assert_eq!(shown(&root).text, ".");
        let outside = root.join("../other.tf");
        let expected = display_path(&root.parent().unwrap().join("other.tf"));
        assert_eq!(
            shown(&outside),
            ShownPath {
                text: expected,
                relative: false
            }
        );
        let none = Anchor::default();
        assert_eq!(
            none.show(Path::new("./infra/main.tf")),
            ShownPath {
                text: "infra/main.tf".into(),
                relative: true
            }
        );
    }

    #[test]
    fn offsets_round_trip_character_columns() {
        let text = "x: 1\nçé: 2\n";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, 2, 2), "x: 1\nçé".len());
        assert_eq!(index.line_span(text, 2), Span::new(5, 12));
    }
}
