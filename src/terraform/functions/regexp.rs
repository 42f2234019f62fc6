//! Regular expressions: `regex`, `regexall` and the `/.../` form of
//! `replace`. Terraform uses Go's RE2 syntax, which Rust's `regex` crate
//! shares except in a few places the patterns are translated for: `\\d`,
//! `\\w`, `\\s` and `\\b` are ASCII-only in RE2, `\\Q...\\E` quotes literal
//! text, `[`, `&&`, `--` and `~~` inside a class are literal, and a `{`
//! that starts no repetition is literal.
//!
//! The crate is built without Unicode case-folding tables, so a pattern
//! that needs them (`(?i)`) is compiled in ASCII mode instead, where case
//! insensitivity covers ASCII letters only and a negated class ignores
//! `(?i)`. Unicode classes (`\\pL`) are unavailable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use regex::{Regex, RegexBuilder};

use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("regex", Exactly(2), regex),
    Function::new("regexall", Exactly(2), regexall),
    Function::new("replace", Exactly(3), replace),
];

fn regex(args: &Args<'_>) -> Result<Value, FunctionError> {
    let re = compile(args, 0)?;
    let text = args.string(1)?;
    let shape = Shape::of(args, &re)?;
    let captures = re
        .captures(&text)
        .ok_or_else(|| args.fail("pattern did not match any part of the given string"))?;
    Ok(shape.result(&re, &captures))
}

fn regexall(args: &Args<'_>) -> Result<Value, FunctionError> {
    let re = compile(args, 0)?;
    let text = args.string(1)?;
    let shape = Shape::of(args, &re)?;
    Ok(Value::List(
        re.captures_iter(&text)
            .map(|c| shape.result(&re, &c))
            .collect(),
    ))
}

/// What a match becomes: the matched text without capture groups, a list
/// with unnamed ones, a map with named ones (mixing is an error). A group
/// that did not take part in the match is null.
enum Shape {
    Whole,
    List,
    Map,
}

impl Shape {
    fn of(args: &Args<'_>, re: &Regex) -> Result<Shape, FunctionError> {
        let names: Vec<_> = re.capture_names().skip(1).collect();
        let named = names.iter().filter(|n| n.is_some()).count();
        match (names.len() - named, named) {
            (0, 0) => Ok(Shape::Whole),
            (_, 0) => Ok(Shape::List),
            (0, _) => Ok(Shape::Map),
            _ => Err(args.invalid(
                0,
                "invalid regexp pattern: cannot mix both named and unnamed capture groups",
            )),
        }
    }

    fn result(&self, re: &Regex, captures: &regex::Captures<'_>) -> Value {
        let text = |m: Option<regex::Match<'_>>| m.map_or(Value::Null, |m| Value::from(m.as_str()));
        match self {
            Shape::Whole => text(captures.get(0)),
            Shape::List => {
                Value::List((1..captures.len()).map(|i| text(captures.get(i))).collect())
            }
            Shape::Map => Value::Map(
                re.capture_names()
                    .flatten()
                    .map(|name| (name.to_string(), text(captures.name(name))))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }
}

/// `replace(string, substring, replacement)`; a substring written `/.../`
/// is a regular expression and the replacement may use `$1` or `${name}`.
/// The longest string `replace` builds, in bytes, as a template may
/// render: one call must not turn kilobytes into gigabytes.
const MAX_REPLACED: usize = crate::terraform::eval::MAX_STRING;

fn replace(args: &Args<'_>) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let search = args.string(1)?;
    let replacement = args.string(2)?;
    // Every character, or every match, may become the replacement: past
    // the limit, count what a literal search really replaces.
    let worst = (text.chars().count() + 1)
        .saturating_mul(replacement.len())
        .saturating_add(text.len());
    if worst > MAX_REPLACED {
        let literal = !(search.len() > 1 && search.starts_with('/') && search.ends_with('/'));
        let size = if literal && !search.is_empty() {
            let n = text.matches(&*search).count();
            (text.len() - n * search.len()).saturating_add(n.saturating_mul(replacement.len()))
        } else {
            worst
        };
        if size > MAX_REPLACED {
            return Err(FunctionError::TooLarge {
                name: "replace".into(),
                message: format!("the result would be longer than {MAX_REPLACED} bytes"),
            });
        }
    }
    if let Some(pattern) = search
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|_| search.len() > 1)
    {
        let re = compile_pattern(pattern).map_err(|m| args.invalid(1, m))?;
        return Ok(Value::from(
            re.replace_all(&text, replacement.as_ref()).into_owned(),
        ));
    }
    if search.is_empty() {
        // Go inserts the replacement around every character.
        let mut out = String::from(&*replacement);
        for c in text.chars() {
            out.push(c);
            out.push_str(&replacement);
        }
        return Ok(Value::from(out));
    }
    Ok(Value::from(text.replace(&*search, &replacement)))
}

fn compile(args: &Args<'_>, i: usize) -> Result<Arc<Regex>, FunctionError> {
    compile_pattern(&args.string(i)?).map_err(|m| args.invalid(i, m))
}

/// Compiles an RE2-syntax pattern, caching recent ones: the same pattern
/// recurs across resources and modules.
fn compile_pattern(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    const CAPACITY: usize = 256;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Arc::new(build_regex(pattern)?);
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(pattern.to_string(), Arc::clone(&re));
    }
    Ok(re)
}

/// Compiles an RE2 pattern (see the module docs for the translation).
fn build_regex(pattern: &str) -> Result<Regex, String> {
    match RegexBuilder::new(&translate(pattern, false)).build() {
        Ok(re) => Ok(re),
        Err(first) => RegexBuilder::new(&translate(pattern, true))
            .unicode(false)
            .build()
            .map_err(|_| {
                let text = first.to_string();
                let detail = text
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("error: "))
                    .unwrap_or(&text)
                    .to_string();
                format!("invalid regexp pattern: {detail}")
            }),
    }
}

/// Rewrites RE2 syntax where Rust's reads it differently. With `ascii`,
/// the pattern is prepared for the crate's non-Unicode mode, where only
/// explicitly Unicode pieces may match outside ASCII: `.` becomes `(?u:.)`
/// and a negated class `(?u-i:[^...])`.
fn translate(pattern: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escape(&mut chars, &mut out, false, ascii),
            '[' => class(&mut chars, &mut out, ascii),
            '.' if ascii => out.push_str("(?u:.)"),
            '{' if !is_repetition(chars.clone()) => out.push_str("\\{"),
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// RE2's Perl classes are ASCII-only.
fn perl_class(c: char) -> &'static str {
    match c {
        'd' => "0-9",
        'w' => "0-9A-Za-z_",
        _ => "\\t\\n\\f\\r ",
    }
}

/// After a backslash.
fn escape(chars: &mut Chars<'_>, out: &mut String, in_class: bool, ascii: bool) {
    match chars.next() {
        None => out.push('\\'),
        Some('Q') if !in_class => {
            let mut literal = String::new();
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&'E') {
                    chars.next();
                    break;
                }
                literal.push(c);
            }
            out.push_str(&regex::escape(&literal));
        }
        Some(c @ ('d' | 'w' | 's')) if in_class => out.push_str(perl_class(c)),
        Some(c @ ('d' | 'w' | 's')) => {
            out.push('[');
            out.push_str(perl_class(c));
            out.push(']');
        }
        Some(c @ ('D' | 'W' | 'S')) if !in_class => {
            let negated = format!("[^{}]", perl_class(c.to_ascii_lowercase()));
            if ascii {
                out.push_str(&format!("(?u-i:{negated})"));
            } else {
                out.push_str(&negated);
            }
        }
        Some(c @ ('b' | 'B')) if !in_class => {
            out.push_str("(?-u:\\");
            out.push(c);
            out.push(')');
        }
        Some(c) => {
            out.push('\\');
            out.push(c);
        }
    }
}

/// After an opening bracket. Rust reads `[`, `&&`, `--` and `~~` inside a
/// class as nesting and set operations; RE2 reads them literally.
fn class(chars: &mut Chars<'_>, out: &mut String, ascii: bool) {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut body = String::new();
    if chars.next_if_eq(&']').is_some() {
        body.push_str("\\]");
    }
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            ']' => {
                closed = true;
                break;
            }
            '\\' => escape(chars, &mut body, true, ascii),
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class such as [:alpha:], the same in both.
                body.push('[');
                while let Some(p) = chars.next() {
                    body.push(p);
                    if p == ':' && chars.peek() == Some(&']') {
                        body.push(']');
                        chars.next();
                        break;
                    }
                }
            }
            '[' | '&' | '~' => {
                body.push('\\');
                body.push(c);
            }
            '-' if chars.peek() == Some(&'-') => body.push_str("\\-"),
            c => body.push(c),
        }
    }
    let caret = if negated { "^" } else { "" };
    let closing = if closed { "]" } else { "" };
    let class = format!("[{caret}{body}{closing}");
    if negated && ascii {
        out.push_str(&format!("(?u-i:{class})"));
    } else {
        out.push_str(&class);
    }
}

/// Whether a `{` starts a counted repetition (`{n}`, `{n,}`, `{n,m}`);
/// RE2 reads any other `{` literally.
fn is_repetition(mut chars: Chars<'_>) -> bool {
    let digits = |chars: &mut Chars<'_>| {
        let mut n = 0;
        while chars.next_if(char::is_ascii_digit).is_some() {
            n += 1;
        }
        n
    };
    if digits(&mut chars) == 0 {
        return false;
    }
    if chars.next_if_eq(&',').is_some() {
        digits(&mut chars);
    }
    chars.next() == Some('}')
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok("regex", vec![s("[a-z]+"), s("53abc12")], s("abc")),
        ok(
            "regex",
            vec![s("(\\d\\d\\d\\d)-(\\d\\d)-(x)?"), s("2019-02-01")],
            j(json!(["2019", "02", null])),
        ),
        ok(
            "regex",
            vec![s("(?P<user>[^@]+)@(?P<domain>.+)"), s("me@example.com")],
            j(json!({"user": "me", "domain": "example.com"})),
        ),
        ok("regex", vec![s("(?i)^ABC$"), s("abc")], s("abc")),
        err("regex", vec![s("x"), s("abc")], "did not match"),
        err("regex", vec![s("(a)(?P<n>b)"), s("ab")], "cannot mix"),
        err(
            "regex",
            vec![s("(unclosed"), s("x")],
            "invalid regexp pattern",
        ),
        ok(
            "regexall",
            vec![s("[a-z]+"), s("1a2bb3")],
            j(json!(["a", "bb"])),
        ),
        ok(
            "regexall",
            vec![s("(\\d)"), s("a1b2")],
            j(json!([["1"], ["2"]])),
        ),
        ok("regexall", vec![s("z"), s("abc")], j(json!([]))),
        ok(
            "replace",
            vec![s("1 + 2 + 3"), s("+"), s("-")],
            s("1 - 2 - 3"),
        ),
        ok(
            "replace",
            vec![s("hello world"), s("/w(or)ld/"), s("$1")],
            s("hello or"),
        ),
        ok("replace", vec![s("ab"), s(""), s("-")], s("-a-b-")),
        ok("replace", vec![s("a/b"), s("/"), s("_")], s("a_b")),
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
    fn regexes_are_cached() {
        let a = compile_pattern("^cache-me$").unwrap();
        let b = compile_pattern("^cache-me$").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn re2_syntax_is_translated() {
        assert_eq!(translate(r"\d+\.\w", false), r"[0-9]+\.[0-9A-Za-z_]");
        assert_eq!(translate(r"[\d.]\S", false), r"[0-9.][^\t\n\f\r ]");
        assert_eq!(translate(r"\bx\B", false), r"(?-u:\b)x(?-u:\B)");
        assert_eq!(translate(r"\Q*.\E+", false), r"\*\.+");
        assert_eq!(translate(r"[[:alpha:][&&]", false), r"[[:alpha:]\[\&\&]");
        assert_eq!(translate(r"a{2,3}{x}", false), r"a{2,3}\{x}");
        assert_eq!(translate(r"(?i)a.[^b]", true), r"(?i)a(?u:.)(?u-i:[^b])");
    }

    #[test]
    fn perl_classes_are_ascii_and_case_folding_falls_back_to_ascii() {
        let re = compile_pattern(r"\d+").unwrap();
        assert_eq!(re.find("\u{661}\u{662}34").map(|m| m.as_str()), Some("34"));
        let re = compile_pattern(r"\w+").unwrap();
        assert_eq!(re.find("héllo").map(|m| m.as_str()), Some("h"));
        let re = compile_pattern(r"(?i)^prod-[^/]+\.example$").unwrap();
        assert!(re.is_match("PROD-wéb.Example"));
        assert!(!re.is_match("prod-a/b.example"));
    }
}
