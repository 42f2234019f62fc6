//! String functions: case, trimming, splitting and joining, searching.
//! (`format` is in `format.rs`, regular expressions in `regexp.rs`.)
//!
//! Terraform counts "characters" as Unicode grapheme clusters; without the
//! Unicode segmentation tables this file approximates a cluster as a
//! character plus any combining marks, variation selectors and
//! zero-width-joined characters after it, `\r\n`, and flag pairs.

use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("chomp", Exactly(1), chomp),
    Function::new("endswith", Exactly(2), endswith),
    Function::new("indent", Exactly(2), indent),
    Function::new("join", AtLeast(2), join),
    Function::new("lower", Exactly(1), lower),
    Function::new("split", Exactly(2), split),
    Function::handling_unknowns("startswith", Exactly(2), startswith),
    Function::new("strcontains", Exactly(2), strcontains),
    Function::new("strrev", Exactly(1), strrev),
    Function::new("substr", Exactly(3), substr),
    Function::new("title", Exactly(1), title),
    Function::new("trim", Exactly(2), trim),
    Function::new("trimprefix", Exactly(2), trimprefix),
    Function::new("trimspace", Exactly(1), trimspace),
    Function::new("trimsuffix", Exactly(2), trimsuffix),
    Function::new("upper", Exactly(1), upper),
];

/// Removes every trailing line break (`\n` or `\r\n`, or a lone `\r`).
fn chomp(args: &Args<'_>) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    Ok(Value::from(s.trim_end_matches(['\n', '\r'])))
}

fn endswith(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(args.string(0)?.ends_with(&*args.string(1)?)))
}

/// Every line but the first gets `spaces` spaces.
fn indent(args: &Args<'_>) -> Result<Value, FunctionError> {
    let spaces = args.int(0)?;
    let spaces = usize::try_from(spaces)
        .ok()
        .filter(|&n| n <= 1024)
        .ok_or_else(|| args.invalid(0, "must be between 0 and 1024"))?;
    let pad = format!("\n{}", " ".repeat(spaces));
    Ok(Value::from(args.string(1)?.replace('\n', &pad)))
}

/// `join(separator, list...)`: Terraform accepts several lists.
fn join(args: &Args<'_>) -> Result<Value, FunctionError> {
    let separator = args.string(0)?;
    let several = args.len() > 2;
    let mut parts = Vec::new();
    for i in 1..args.len() {
        for (n, item) in args.list(i)?.iter().enumerate() {
            if item.is_null() {
                let which = if several {
                    format!("element {n} of list {i}")
                } else {
                    format!("element {n}")
                };
                return Err(args.invalid(
                    i,
                    format!("{which} is null; cannot concatenate null values"),
                ));
            }
            parts.push(
                super::as_string(item).map_err(|m| args.invalid(i, format!("element {n}: {m}")))?,
            );
        }
    }
    Ok(Value::from(parts.join(&*separator)))
}

/// Per character, as Go's `strings.ToLower` (no context-dependent forms).
fn lower(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(map_chars(&args.string(0)?, |c| {
        single(c.to_lowercase(), c)
    })))
}

fn upper(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(map_chars(&args.string(0)?, |c| {
        single(c.to_uppercase(), c)
    })))
}

fn map_chars(s: &str, f: impl Fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

/// Go maps case one rune to one rune: a mapping that expands (`ß` to `SS`)
/// leaves the character as it was.
fn single(mut mapped: impl Iterator<Item = char>, original: char) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(c), None) => c,
        _ => original,
    }
}

/// Upper-cases the first letter of every word, as Go's `strings.Title`.
fn title(args: &Args<'_>) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let mut out = String::with_capacity(s.len());
    let mut previous = ' ';
    for c in s.chars() {
        if is_word_separator(previous) {
            out.push(single(c.to_uppercase(), c));
        } else {
            out.push(c);
        }
        previous = c;
    }
    Ok(Value::from(out))
}

fn is_word_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    !c.is_alphanumeric() && c.is_whitespace()
}

/// `split(separator, string)`; an empty separator splits into characters.
fn split(args: &Args<'_>) -> Result<Value, FunctionError> {
    let separator = args.string(0)?;
    let text = args.string(1)?;
    let parts: Vec<Value> = if separator.is_empty() {
        text.chars().map(|c| Value::from(c.to_string())).collect()
    } else {
        text.split(&*separator).map(Value::from).collect()
    };
    Ok(Value::List(parts))
}

/// Unknown handling: every string starts with `""`, even an unknown one.
fn startswith(args: &Args<'_>) -> Result<Value, FunctionError> {
    if !args.get(1).is_known() {
        return Ok(Value::Unknown);
    }
    let prefix = args.string(1)?;
    if matches!(args.get(0), Value::Unknown) {
        return Ok(if prefix.is_empty() {
            Value::from(true)
        } else {
            Value::Unknown
        });
    }
    Ok(Value::from(args.string(0)?.starts_with(&*prefix)))
}

fn strcontains(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(args.string(0)?.contains(&*args.string(1)?)))
}

fn strrev(args: &Args<'_>) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    Ok(Value::from(
        graphemes(&s).into_iter().rev().collect::<String>(),
    ))
}

/// `substr(string, offset, length)`: a negative offset counts from the
/// end, a negative length means "to the end". Counts grapheme clusters.
fn substr(args: &Args<'_>) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let mut offset = args.int(1)?;
    let length = args.int(2)?;
    let clusters = graphemes(&s);
    let total = i64::try_from(clusters.len()).unwrap_or(i64::MAX);
    if offset < 0 {
        offset = (offset + total).max(0);
    } else if length == 0 {
        return Ok(Value::from(""));
    }
    let start = usize::try_from(offset.min(total)).unwrap_or(0);
    let rest = &clusters[start..];
    // A negative length means "to the end"; so, in cty, does a zero length
    // after a negative offset (its length scan never stops).
    let take = if length <= 0 {
        rest.len()
    } else {
        usize::try_from(length)
            .unwrap_or(usize::MAX)
            .min(rest.len())
    };
    Ok(Value::from(rest[..take].concat()))
}

/// Removes any of the characters in `cutset` from both ends.
fn trim(args: &Args<'_>) -> Result<Value, FunctionError> {
    let cutset = args.string(1)?;
    Ok(Value::from(
        args.string(0)?.trim_matches(|c| cutset.contains(c)),
    ))
}

fn trimprefix(args: &Args<'_>) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let prefix = args.string(1)?;
    Ok(Value::from(s.strip_prefix(&*prefix).unwrap_or(&s)))
}

fn trimsuffix(args: &Args<'_>) -> Result<Value, FunctionError> {
    let s = args.string(0)?;
    let suffix = args.string(1)?;
    Ok(Value::from(s.strip_suffix(&*suffix).unwrap_or(&s)))
}

fn trimspace(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(args.string(0)?.trim()))
}

/// Approximate grapheme clusters (see the module docs).
pub(super) fn graphemes(s: &str) -> Vec<&str> {
    let mut clusters: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut previous: Option<char> = None;
    let mut regional_run = 0;
    for (i, c) in s.char_indices() {
        let joins = match previous {
            None => false,
            Some(p) => {
                is_extending(c)
                    || p == '\u{200D}'
                    || (p == '\r' && c == '\n')
                    || (is_regional(p) && is_regional(c) && regional_run % 2 == 1)
            }
        };
        if !joins && i > start {
            clusters.push(&s[start..i]);
            start = i;
        }
        regional_run = if is_regional(c) { regional_run + 1 } else { 0 };
        previous = Some(c);
    }
    if start < s.len() {
        clusters.push(&s[start..]);
    }
    clusters
}

fn is_extending(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0900}'..='\u{0903}'
        | '\u{093A}'..='\u{094F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

fn is_regional(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok("chomp", vec![s("hello\n\r\n\n")], s("hello")),
        ok("chomp", vec![s("a\nb")], s("a\nb")),
        ok("endswith", vec![s("hello"), s("llo")], Value::from(true)),
        ok("endswith", vec![s("hello"), s("x")], Value::from(false)),
        ok("indent", vec![n(2.0), s("a\nb\n")], s("a\n  b\n  ")),
        err("indent", vec![n(-1.0), s("a")], "between 0 and 1024"),
        ok(
            "join",
            vec![s(", "), j(json!(["a", 1, true]))],
            s("a, 1, true"),
        ),
        ok(
            "join",
            vec![s("-"), j(json!(["a"])), j(json!(["b", "c"]))],
            s("a-b-c"),
        ),
        ok("join", vec![s(","), j(json!([]))], s("")),
        err(
            "join",
            vec![s(","), j(json!(["a", null]))],
            "element 1 is null",
        ),
        err(
            "join",
            vec![s(","), j(json!([["a"]]))],
            "string required, got list",
        ),
        ok("lower", vec![s("HELLO Σ")], s("hello σ")),
        ok("upper", vec![s("hello ß")], s("HELLO ß")),
        ok("upper", vec![n(1.5)], s("1.5")),
        ok(
            "split",
            vec![s(","), s("a,b,,c")],
            j(json!(["a", "b", "", "c"])),
        ),
        ok("split", vec![s(","), s("")], j(json!([""]))),
        ok("split", vec![s(""), s("ab")], j(json!(["a", "b"]))),
        ok("startswith", vec![s("hello"), s("he")], Value::from(true)),
        ok("startswith", vec![s("hello"), s("lo")], Value::from(false)),
        ok("startswith", vec![Value::Unknown, s("")], Value::from(true)),
        ok("startswith", vec![Value::Unknown, s("a")], Value::Unknown),
        ok("strcontains", vec![s("hello"), s("ell")], Value::from(true)),
        ok("strcontains", vec![s("hello"), s("x")], Value::from(false)),
        ok("strrev", vec![s("hello")], s("olleh")),
        ok("strrev", vec![s("e\u{301}a")], s("ae\u{301}")),
        ok("substr", vec![s("hello world"), n(1.0), n(4.0)], s("ello")),
        ok(
            "substr",
            vec![s("hello world"), n(-5.0), n(-1.0)],
            s("world"),
        ),
        ok("substr", vec![s("hello"), n(10.0), n(2.0)], s("")),
        ok("substr", vec![s("hello"), n(1.0), n(0.0)], s("")),
        ok("substr", vec![s("hello"), n(-2.0), n(0.0)], s("lo")),
        ok("substr", vec![s("hello"), n(2.0), n(100.0)], s("llo")),
        ok("substr", vec![s("héllo"), n(1.0), n(1.0)], s("é")),
        err("substr", vec![s("hello"), n(1.5), n(1.0)], "whole number"),
        ok(
            "title",
            vec![s("hello world-wide_web")],
            s("Hello World-Wide_web"),
        ),
        ok("trim", vec![s("?!hello?!"), s("!?")], s("hello")),
        ok("trimprefix", vec![s("helloworld"), s("hello")], s("world")),
        ok("trimprefix", vec![s("hello"), s("x")], s("hello")),
        ok("trimsuffix", vec![s("helloworld"), s("world")], s("hello")),
        ok("trimspace", vec![s(" \t\nhello\n ")], s("hello")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        super::super::testing::run(cases());
    }

    #[test]
    fn grapheme_approximation() {
        assert_eq!(graphemes("ab"), ["a", "b"]);
        assert_eq!(graphemes("e\u{301}x"), ["e\u{301}", "x"]);
        assert_eq!(graphemes("a\r\nb"), ["a", "\r\n", "b"]);
        assert_eq!(
            graphemes("\u{1F1EB}\u{1F1F7}\u{1F1E9}\u{1F1EA}"),
            ["\u{1F1EB}\u{1F1F7}", "\u{1F1E9}\u{1F1EA}"]
        );
        assert_eq!(graphemes("👩\u{200D}💻!"), ["👩\u{200D}💻", "!"]);
    }
}
