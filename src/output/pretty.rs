//! Pretty JSON, byte for byte as `serde_json::to_writer_pretty` writes
//! it, with a document's long lists rendered in parallel: serializing
//! the findings was most of the time `check --format json` spent
//! writing, on one core.
//!
//! serde_json indents by two spaces a level, puts each member of a
//! non-empty object or array on a line of its own, and writes `{}` and
//! `[]` for empty ones. A value rendered on its own is the same text as
//! that value nested `n` levels deep, but for `2n` spaces after each line
//! break; a line break in JSON text is never inside a string (strings
//! escape it), so indenting after each one is exact.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

/// Entries rendered by one task, and by one window of tasks before they
/// are written: a window's text is all that is held at once.
const CHUNK: usize = 16;
const WINDOW: usize = 16 * CHUNK;

/// An object being written, `level` deep, its members one by one.
pub(crate) struct Object<'w, W: Write> {
    out: &'w mut W,
    level: usize,
    empty: bool,
}

impl<'w, W: Write> Object<'w, W> {
    /// Starts an object `level` deep (0 for a document).
    pub(crate) fn begin(out: &'w mut W, level: usize) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(Object {
            out,
            level,
            empty: true,
        })
    }

    fn key(&mut self, key: &str) -> io::Result<()> {
        self.out
            .write_all(if self.empty { b"\n" } else { b",\n" })?;
        self.empty = false;
        indent(self.out, self.level + 1)?;
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.write_all(b": ")
    }

    /// A member whose value is rendered whole.
    pub(crate) fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key)?;
        let text = serde_json::to_vec_pretty(value)?;
        indented(self.out, &text, self.level + 1)
    }

    /// A member whose value is the array of `entry(item)` for each of
    /// `items`, rendered in parallel, a window at a time, and written in
    /// order.
    pub(crate) fn list<'a, I, T, F>(
        &mut self,
        key: &str,
        items: &'a [I],
        entry: F,
    ) -> io::Result<()>
    where
        I: Sync,
        T: Serialize,
        F: Fn(&'a I) -> T + Sync,
    {
        self.key(key)?;
        if items.is_empty() {
            return self.out.write_all(b"[]");
        }
        self.out.write_all(b"[")?;
        let level = self.level + 2;
        for (w, window) in items.chunks(WINDOW).enumerate() {
            let texts: Vec<io::Result<Vec<u8>>> = window
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    let mut text = Vec::new();
                    for (i, item) in chunk.iter().enumerate() {
                        let first = w == 0 && c == 0 && i == 0;
                        text.extend_from_slice(if first { b"\n" } else { b",\n" });
                        indent(&mut text, level)?;
                        let value = serde_json::to_vec_pretty(&entry(item))?;
                        indented(&mut text, &value, level)?;
                    }
                    Ok(text)
                })
                .collect();
            for text in texts {
                self.out.write_all(&text?)?;
            }
        }
        self.out.write_all(b"\n")?;
        indent(self.out, self.level + 1)?;
        self.out.write_all(b"]")
    }

    /// Ends the object.
    pub(crate) fn end(self) -> io::Result<()> {
        if !self.empty {
            self.out.write_all(b"\n")?;
            indent(self.out, self.level)?;
        }
        self.out.write_all(b"}")
    }
}

fn indent(out: &mut (impl Write + ?Sized), level: usize) -> io::Result<()> {
    for _ in 0..level {
        out.write_all(b"  ")?;
    }
    Ok(())
}

/// Writes pretty JSON `text` as it reads `level` levels deep.
fn indented(out: &mut (impl Write + ?Sized), text: &[u8], level: usize) -> io::Result<()> {
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
            indent(out, level)?;
        }
        out.write_all(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the object writer makes of `members` (lists given as
    /// arrays), and what serde_json makes of the same object.
    fn both(members: &[(&str, serde_json::Value)], level: usize) -> (String, String) {
        let mut out = Vec::new();
        let mut object = Object::begin(&mut out, level).unwrap();
        for (key, value) in members {
            match value.as_array() {
                Some(items) => object.list(key, items, |v| v.clone()).unwrap(),
                None => object.field(key, value).unwrap(),
            }
        }
        object.end().unwrap();
        let map: serde_json::Map<String, serde_json::Value> = members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        // Nested `level` deep in arrays, then cut back out.
        let mut nested = serde_json::Value::Object(map);
        for _ in 0..level {
            nested = json!([nested]);
        }
        let whole = serde_json::to_string_pretty(&nested).unwrap();
        let mut expected = whole.as_str();
        for _ in 0..level {
            expected = expected[1..expected.len() - 1].trim_matches(['\n', ' ']);
        }
        (String::from_utf8(out).unwrap(), expected.to_string())
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let long: Vec<serde_json::Value> = (0..WINDOW * 2 + CHUNK + 3)
            .map(|i| json!({"n": i, "s": format!("line\nbreak {i}"), "a": [], "o": {"k": [1, {}]}}))
            .collect();
        let members = [
            ("version", json!(1)),
            (
                "meta",
                json!({"paths": ["a", "b"], "empty": {}, "none": null}),
            ),
            ("findings", json!(long)),
            ("empty", json!([])),
            ("one", json!([{"x": "\"quoted\""}])),
            ("summary", json!({"files": 3})),
        ];
        for level in [0, 2] {
            let (ours, theirs) = both(&members, level);
            assert_eq!(ours, theirs);
        }
        assert_eq!(both(&[], 0), ("{}".to_string(), "{}".to_string()));
    }
}
