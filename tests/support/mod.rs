//! What the golden snapshots leave out of a report's provenance (`meta`):
//! what depends on the checkout — its folder and its git state. The
//! time is pinned with `SOURCE_DATE_EPOCH`; the version, the rule digest
//! and the settings stay in the snapshots. And the generated tree the
//! size caps are tried on.

#![allow(dead_code)]

use serde_json::Value;

/// The checkout, links resolved, as `meta.project_root` writes it.
pub fn root() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .expect("the checkout exists")
        .to_string_lossy()
        .replace('\\', "/")
}

/// A `meta` object with the checkout's folder and git state replaced,
/// after checking they are this checkout's.
pub fn redact_meta(meta: &mut Value) {
    assert_eq!(meta["project_root"], root().as_str(), "{meta}");
    meta["project_root"] = Value::from("[root]");
    // Outside git (a source archive) it is null; in it, an object.
    if meta["git"].is_object() {
        meta["git"] = Value::from("[git]");
    }
}

/// A pretty JSON document with its `meta` at `pointer` redacted.
pub fn redact_json(text: &str, pointer: &str) -> String {
    let mut document: Value = serde_json::from_str(text).expect("JSON");
    if let Some(meta) = document.pointer_mut(pointer) {
        redact_meta(meta);
    }
    let mut text = serde_json::to_string_pretty(&document).expect("JSON");
    text.push('\n');
    text
}

/// A text report with its provenance lines redacted: GitHub's debug
/// line, JUnit's properties, and the summary line of human and Markdown.
pub fn redact_text(text: &str) -> String {
    let root = root();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let redacted = if let Some(json) = body.strip_prefix("::debug::provcheck provenance: ") {
            let mut meta: Value = serde_json::from_str(json).expect("JSON provenance");
            redact_meta(&mut meta);
            format!("::debug::provcheck provenance: {meta}")
        } else if body.contains("name=\"provcheck.git.")
            || body.contains("name=\"provcheck.project_root\"")
        {
            let start = body.find("value=\"").expect("a value") + 7;
            format!("{}[redacted]\"/>", &body[..start])
        } else if body.starts_with("| git |") {
            "| git | [git] |".to_string()
        } else if body.contains("provcheck ") && body.contains(" rule") {
            redact_commit(&body.replace(&root, "[root]"))
        } else {
            body.replace(&root, "[root]")
        };
        out.push_str(&redacted);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// `..., commit 0123abcd on main (dirty), 1970-...` -> `..., [git], 1970-...`.
fn redact_commit(line: &str) -> String {
    let Some(start) = line.find(", commit ") else {
        return line.to_string();
    };
    let rest = &line[start + 2..];
    // The timestamp follows the last ", ".
    let end = rest.rfind(", 1970-").unwrap_or(rest.len());
    format!("{}, [git]{}", &line[..start], &rest[end..])
}

/// Writes `main.tf` into `dir`: `count` public, unencrypted databases,
/// each failing several rules (1,000 of them make more than 5,000
/// findings). The tree the Markdown size caps are tried on.
pub fn many_findings(dir: &std::path::Path, count: usize) {
    let mut tf = String::new();
    for i in 0..count {
        tf.push_str(&format!(
            "resource \"aws_db_instance\" \"db_{i}\" {{\n  engine = \"postgres\"\n  instance_class = \"db.t3.micro\"\n  publicly_accessible = true\n}}\n"
        ));
    }
    std::fs::write(dir.join("main.tf"), tf).expect("write main.tf");
}
