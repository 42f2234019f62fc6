//! `provcheck:ignore` comments: found in any source file's `#`, `//` or
//! `/*` comments, on the line above what they silence (or at the end of
//! its line).
//!
//! `provcheck:ignore RULE_ID[,RULE_ID] status=<false-positive|unused|accepted-risk> reason="..." [expires=YYYY-MM-DD] [ticket=PROJ-123] [approver=...]`

use std::sync::OnceLock;

use regex::Regex;

use super::{parse_date, Status};
use crate::source::{SourceFile, Span};

/// One `provcheck:ignore` comment.
#[derive(Debug, Clone)]
pub struct Comment {
    pub file: usize,
    /// The comment's text span (from the marker to the end of the line).
    pub span: Span,
    /// 1-based line of the comment.
    pub line: usize,
    /// The line of code it applies to.
    pub target: usize,
    pub rules: Vec<String>,
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub expires: Option<String>,
    pub ticket: Option<String>,
    pub approver: Option<String>,
    /// Why the comment is not a valid suppression, if it is not.
    pub problems: Vec<String>,
}

fn marker() -> &'static Regex {
    static MARKER: OnceLock<Regex> = OnceLock::new();
    MARKER.get_or_init(|| Regex::new(r"(#|//|/\*)\s*provcheck:ignore\b").expect("valid regex"))
}

fn pair() -> &'static Regex {
    static PAIR: OnceLock<Regex> = OnceLock::new();
    PAIR.get_or_init(|| {
        Regex::new(r#"^([A-Za-z_][A-Za-z0-9_-]*)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+))"#)
            .expect("valid regex")
    })
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty()
        || t.starts_with('#')
        || t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with('*')
}

/// Every `provcheck:ignore` comment of a file.
pub fn scan(file_index: usize, file: &SourceFile) -> Vec<Comment> {
    let text = &file.text;
    if !text.contains("provcheck:ignore") {
        return Vec::new();
    }
    if crate::parse::tfjson::is_tf_json(file.path()) {
        return scan_json(file_index, file);
    }
    // Each line with its start offset, without its line break.
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        lines.push((offset, line.strip_suffix('\r').unwrap_or(line)));
        offset += raw.len();
    }
    // The first line of code at or after each line, from the end, so a
    // run of comments finds its target in one pass.
    let mut next_code = vec![None; lines.len() + 1];
    for i in (0..lines.len()).rev() {
        next_code[i] = if is_comment_or_blank(lines[i].1) {
            next_code[i + 1]
        } else {
            Some(i)
        };
    }
    let mut comments = Vec::new();
    for (i, &(line_start, line)) in lines.iter().enumerate() {
        let Some(found) = marker().find(line) else {
            continue;
        };
        let trailing = !line[..found.start()].trim().is_empty();
        let target = if trailing {
            i + 1
        } else {
            next_code[i + 1].map_or(i + 1, |j| j + 1)
        };
        let body = line[found.end()..].trim_end_matches("*/").trim();
        let end = line.trim_end().len();
        let mut comment = parse(body);
        comment.file = file_index;
        comment.span = Span::new(
            line_start + found.start(),
            line_start + end.max(found.end()),
        );
        comment.line = i + 1;
        comment.target = target;
        comments.push(comment);
    }
    comments
}

/// The suppressions of a Terraform JSON file, which has no comments:
/// a `"//"` member of a block's object whose string starts with
/// `provcheck:ignore` works as the comment above that block would, so
/// it targets the line of the key that opens the block.
fn scan_json(file_index: usize, file: &SourceFile) -> Vec<Comment> {
    use crate::parse::json::{self, Json, Node};
    fn walk(node: &Node, owner: usize, file: &SourceFile, index: usize, out: &mut Vec<Comment>) {
        match &node.value {
            Json::Array(items) => {
                for item in items {
                    walk(item, owner, file, index, out);
                }
            }
            Json::Object(members) => {
                for member in members {
                    if member.key == "//" {
                        let Json::String { text, .. } = &member.value.value else {
                            continue;
                        };
                        let Some(body) = text.trim_start().strip_prefix("provcheck:ignore") else {
                            continue;
                        };
                        if !body.is_empty() && !body.starts_with(char::is_whitespace) {
                            continue;
                        }
                        let mut comment = parse(body);
                        comment.file = index;
                        comment.span = Span::new(member.value.span.start, member.value.span.end);
                        comment.line = file.position(member.key_span.start).line;
                        comment.target = owner;
                        out.push(comment);
                    } else {
                        let line = file.position(member.key_span.start).line;
                        walk(&member.value, line, file, index, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut comments = Vec::new();
    // A file that does not parse has its error from the front-end.
    if let Ok(root) = json::parse(&file.text) {
        walk(&root, 1, file, file_index, &mut comments);
    }
    comments
}

/// Parses what follows `provcheck:ignore`.
fn parse(body: &str) -> Comment {
    let mut comment = Comment {
        file: 0,
        span: Span::default(),
        line: 0,
        target: 0,
        rules: Vec::new(),
        status: None,
        reason: None,
        expires: None,
        ticket: None,
        approver: None,
        problems: Vec::new(),
    };
    let mut rest = body.trim_start();
    let ids_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let ids = &rest[..ids_end];
    if ids.is_empty() || ids.contains('=') {
        comment.problems.push("names no rule id".into());
    } else {
        comment.rules = ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        rest = &rest[ids_end..];
    }
    loop {
        rest = rest.trim_start();
        // A trailing comment (`# why`, `// why`) ends the suppression.
        if rest.is_empty() || rest.starts_with('#') || rest.starts_with("//") {
            break;
        }
        let Some(captures) = pair().captures(rest) else {
            let word = rest.split_whitespace().next().unwrap_or(rest);
            comment
                .problems
                .push(format!("cannot read `{word}` (expected key=value)"));
            break;
        };
        let whole = captures.get(0).map_or(0, |m| m.end());
        let key = captures.get(1).map_or("", |m| m.as_str());
        let value = captures
            .get(3)
            .map(|m| m.as_str().replace("\\\"", "\"").replace("\\\\", "\\"))
            .or_else(|| captures.get(4).map(|m| m.as_str().to_string()))
            .or_else(|| captures.get(5).map(|m| m.as_str().to_string()))
            .unwrap_or_default();
        match key {
            "status" => match Status::parse(&value) {
                Some(status) => comment.status = Some(status),
                None => comment.problems.push(format!(
                    "status `{value}` is not one of false-positive, unused, accepted-risk"
                )),
            },
            "reason" if value.trim().is_empty() => {
                comment.problems.push("the reason is empty".into())
            }
            "reason" => comment.reason = Some(value),
            "expires" => {
                if parse_date(&value).is_none() {
                    comment
                        .problems
                        .push(format!("expires `{value}` is not a YYYY-MM-DD date"));
                }
                comment.expires = Some(value);
            }
            "ticket" => comment.ticket = Some(value),
            "approver" => comment.approver = Some(value),
            other => comment.problems.push(format!("unknown key `{other}`")),
        }
        rest = &rest[whole..];
    }
    if comment.status.is_none() && !comment.problems.iter().any(|p| p.starts_with("status")) {
        comment
            .problems
            .push("has no status=<false-positive|unused|accepted-risk>".into());
    }
    if comment.reason.is_none() && !comment.problems.iter().any(|p| p.contains("reason")) {
        comment.problems.push("has no reason=\"...\"".into());
    }
    comment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_text(text: &str) -> Vec<Comment> {
        scan(0, &SourceFile::new("main.tf", text))
    }

    #[test]
    fn reads_a_full_comment_and_its_target() {
        let comments = scan_text(
            "# provcheck:ignore aws-a,aws-b status=accepted-risk reason=\"legacy \\\"db\\\"\" expires=2030-01-31 ticket=SEC-1\n\n# another comment\nresource \"x\" \"y\" {}\n",
        );
        let c = &comments[0];
        assert_eq!(c.rules, ["aws-a", "aws-b"]);
        assert_eq!(c.status, Some(Status::AcceptedRisk));
        assert_eq!(c.reason.as_deref(), Some("legacy \"db\""));
        assert_eq!(c.expires.as_deref(), Some("2030-01-31"));
        assert_eq!(c.ticket.as_deref(), Some("SEC-1"));
        assert_eq!((c.line, c.target), (1, 4));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    #[test]
    fn spans_count_carriage_returns() {
        let text = "x = 1\r\n# provcheck:ignore r status=unused reason=x\r\ny = 2\r\n";
        let c = &scan_text(text)[0];
        assert_eq!(
            &text[c.span.start..c.span.end],
            "# provcheck:ignore r status=unused reason=x"
        );
        assert_eq!((c.line, c.target), (2, 3));
    }

    #[test]
    fn trailing_comments_target_their_own_line() {
        let comments = scan_text("x = 1 // provcheck:ignore r status=unused reason=gone\n");
        assert_eq!(comments[0].target, 1);
        assert!(comments[0].problems.is_empty());
    }

    #[test]
    fn a_trailing_comment_ends_the_suppression() {
        let c = &scan_text("# provcheck:ignore r status=unused reason=\"x\" # expect: r\n")[0];
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    #[test]
    fn incomplete_comments_are_problems() {
        let c = &scan_text("# provcheck:ignore r\nx = 1\n")[0];
        assert_eq!(
            c.problems,
            [
                "has no status=<false-positive|unused|accepted-risk>",
                "has no reason=\"...\""
            ]
        );
        let c = &scan_text("# provcheck:ignore r status=fixed reason=x expires=2030-02-30\n")[0];
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        let c = &scan_text("# provcheck:ignore status=unused reason=x\n")[0];
        assert!(c.problems[0].contains("no rule id"));
    }
}
