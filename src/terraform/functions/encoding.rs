//! Text encodings: Base64 (Go's standard alphabet and padding, line breaks
//! ignored when decoding), character encodings for the `text*base64`
//! functions, URL query escaping, and CSV.

use std::collections::BTreeMap;

use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("base64decode", Exactly(1), base64decode),
    Function::new("base64encode", Exactly(1), base64encode),
    // The bytes depend on Go's gzip compressor, which is not reproduced.
    Function::new("base64gzip", Exactly(1), super::unknown),
    Function::new("csvdecode", Exactly(1), csvdecode),
    Function::new("textdecodebase64", Exactly(2), textdecodebase64),
    Function::new("textencodebase64", Exactly(2), textencodebase64),
    Function::new("urlencode", Exactly(1), urlencode),
];

fn base64decode(args: &Args<'_>) -> Result<Value, FunctionError> {
    let bytes = base64_decode(&args.string(0)?)
        .map_err(|_| args.invalid(0, "failed to decode base64 data"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.fail("the result of decoding the provided string is not valid UTF-8"))
}

fn base64encode(args: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::from(base64_encode(args.string(0)?.as_bytes())))
}

/// The character encodings supported here, by IANA name or alias.
#[derive(Clone, Copy)]
enum Charset {
    Utf8,
    /// `UTF-16`: big-endian with a byte-order mark.
    Utf16,
    Utf16Le,
    Utf16Be,
}

impl Charset {
    fn named(name: &str) -> Option<Charset> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "csutf8" => Some(Charset::Utf8),
            "utf-16" | "csutf16" => Some(Charset::Utf16),
            "utf-16le" | "csutf16le" => Some(Charset::Utf16Le),
            "utf-16be" | "csutf16be" => Some(Charset::Utf16Be),
            _ => None,
        }
    }

    fn encode(self, text: &str) -> Vec<u8> {
        let units = text.encode_utf16();
        match self {
            Charset::Utf8 => text.as_bytes().to_vec(),
            Charset::Utf16Le => units.flat_map(u16::to_le_bytes).collect(),
            Charset::Utf16Be => units.flat_map(u16::to_be_bytes).collect(),
            Charset::Utf16 => [0xFE, 0xFF]
                .into_iter()
                .chain(units.flat_map(u16::to_be_bytes))
                .collect(),
        }
    }

    fn decode(self, bytes: &[u8]) -> Option<String> {
        let (little, body) = match self {
            Charset::Utf8 => return String::from_utf8(bytes.to_vec()).ok(),
            Charset::Utf16Le => (true, bytes),
            Charset::Utf16Be => (false, bytes),
            Charset::Utf16 => match bytes {
                [0xFF, 0xFE, rest @ ..] => (true, rest),
                [0xFE, 0xFF, rest @ ..] => (false, rest),
                _ => (false, bytes),
            },
        };
        if body.len() % 2 != 0 {
            return None;
        }
        let units = body.chunks_exact(2).map(|pair| {
            let pair = [pair[0], pair[1]];
            if little {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .ok()
    }
}

fn charset(args: &Args<'_>, i: usize) -> Result<Charset, FunctionError> {
    let name = args.string(i)?;
    Charset::named(&name).ok_or_else(|| {
        args.invalid(
            i,
            format!(
                "{name:?} is not a supported encoding here (only UTF-8, UTF-16, UTF-16LE and UTF-16BE are)"
            ),
        )
    })
}

/// `textencodebase64(string, encoding)`.
fn textencodebase64(args: &Args<'_>) -> Result<Value, FunctionError> {
    let charset = charset(args, 1)?;
    Ok(Value::from(base64_encode(
        &charset.encode(&args.string(0)?),
    )))
}

/// `textdecodebase64(string, encoding)`.
fn textdecodebase64(args: &Args<'_>) -> Result<Value, FunctionError> {
    let charset = charset(args, 1)?;
    let bytes = base64_decode(&args.string(0)?).map_err(|offset| {
        args.invalid(
            0,
            format!("the given value has an invalid base64 symbol at offset {offset}"),
        )
    })?;
    charset.decode(&bytes).map(Value::String).ok_or_else(|| {
        args.invalid(
            0,
            format!(
                "the given string contains symbols that are not defined for {}",
                args.string(1).unwrap_or_default()
            ),
        )
    })
}

/// Go's `url.QueryEscape`: unreserved characters stay, spaces become `+`.
fn urlencode(args: &Args<'_>) -> Result<Value, FunctionError> {
    let mut out = String::new();
    for b in args.string(0)?.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::from(out))
}

/// A list of maps, one per row, keyed by the header row.
fn csvdecode(args: &Args<'_>) -> Result<Value, FunctionError> {
    let records = parse_csv(&args.string(0)?)
        .map_err(|(line, m)| args.fail(format!("CSV parse error on line {line}: {m}")))?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(args.fail("missing header line"));
    };
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(args.fail(format!("duplicate column name {name:?}")));
        }
    }
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.len() != header.len() {
            return Err(args.fail(format!(
                "CSV parse error on line {line}: wrong number of fields"
            )));
        }
        rows.push(Value::Map(
            header
                .iter()
                .cloned()
                .zip(fields.into_iter().map(Value::String))
                .collect::<BTreeMap<_, _>>(),
        ));
    }
    Ok(Value::List(rows))
}

/// A CSV record and the line it starts on.
type Record = (usize, Vec<String>);

/// RFC 4180 as Go's `encoding/csv` reads it: `\r\n` is a line break, blank
/// lines are skipped, quotes only around whole fields. Errors carry their
/// line.
fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let text = text.replace("\r\n", "\n");
    let mut chars = text.chars().peekable();
    let mut records = Vec::new();
    let mut line = 1;
    while chars.peek().is_some() {
        if chars.peek() == Some(&'\n') {
            chars.next();
            line += 1;
            continue;
        }
        let start = line;
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err((line, "extraneous or missing \" in quoted-field".into()))
                        }
                        Some('"') => match chars.peek() {
                            Some('"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some(',' | '\n') | None => break,
                            Some(_) => {
                                return Err((
                                    line,
                                    "extraneous or missing \" in quoted-field".into(),
                                ))
                            }
                        },
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '\n' {
                        break;
                    }
                    if c == '"' {
                        return Err((line, "bare \" in non-quoted-field".into()));
                    }
                    field.push(c);
                    chars.next();
                }
            }
            fields.push(field);
            match chars.next() {
                Some(',') => continue,
                Some(_) => {
                    line += 1;
                    break;
                }
                None => break,
            }
        }
        records.push((start, fields));
    }
    Ok(records)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard Base64 as Go decodes it: padding required, `\r` and `\n`
/// ignored, leftover bits ignored. The error is the offset of the first
/// bad symbol.
pub(super) fn base64_decode(text: &str) -> Result<Vec<u8>, usize> {
    let symbols: Vec<(usize, u8)> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\r' && *b != b'\n')
        .collect();
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    for (quantum, chunk) in symbols.chunks(4).enumerate() {
        let last = quantum == (symbols.len() - 1) / 4;
        let mut n: u32 = 0;
        let mut data = 0;
        for (k, &(offset, b)) in chunk.iter().enumerate() {
            let value = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if last && k >= 2 && chunk[k..].iter().all(|(_, p)| *p == b'=') => {
                    break;
                }
                _ => return Err(offset),
            };
            n |= u32::from(value) << (18 - 6 * k);
            data += 1;
        }
        if chunk.len() < 4 || data < 2 {
            return Err(chunk.last().map_or(text.len(), |(o, _)| *o));
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..data]);
    }
    Ok(out)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok(
            "base64encode",
            vec![s("Hello World")],
            s("SGVsbG8gV29ybGQ="),
        ),
        ok("base64encode", vec![s("")], s("")),
        ok(
            "base64decode",
            vec![s("SGVsbG8gV29ybGQ=")],
            s("Hello World"),
        ),
        ok("base64decode", vec![s("SGVs\nbG8=")], s("Hello")),
        err(
            "base64decode",
            vec![s("SGVsbG8")],
            "failed to decode base64",
        ),
        err("base64decode", vec![s("//79")], "not valid UTF-8"),
        ok("base64gzip", vec![s("x")], Value::Unknown),
        ok(
            "textencodebase64",
            vec![s("Hello World"), s("UTF-16LE")],
            s("SABlAGwAbABvACAAVwBvAHIAbABkAA=="),
        ),
        ok("textencodebase64", vec![s("hi"), s("utf-8")], s("aGk=")),
        err(
            "textencodebase64",
            vec![s("hi"), s("ISO-8859-1")],
            "not a supported encoding here",
        ),
        ok(
            "textdecodebase64",
            vec![s("SABlAGwAbABvACAAVwBvAHIAbABkAA=="), s("UTF-16LE")],
            s("Hello World"),
        ),
        ok("textdecodebase64", vec![s("/v8AaQ=="), s("UTF-16")], s("i")),
        err(
            "textdecodebase64",
            vec![s("SGV*"), s("UTF-8")],
            "invalid base64 symbol at offset 3",
        ),
        err(
            "textdecodebase64",
            vec![s("//79"), s("UTF-8")],
            "not defined for UTF-8",
        ),
        ok("urlencode", vec![s("Hello World!")], s("Hello+World%21")),
        ok(
            "urlencode",
            vec![s("a/b?c=d&e~f_g.h-é")],
            s("a%2Fb%3Fc%3Dd%26e~f_g.h-%C3%A9"),
        ),
        ok(
            "csvdecode",
            vec![s("a,b,c\n1,2,3\n\"x,\"\"y\"\"\",,\"multi\nline\"\r\n")],
            j(
                json!([{"a": "1", "b": "2", "c": "3"}, {"a": "x,\"y\"", "b": "", "c": "multi\nline"}]),
            ),
        ),
        ok("csvdecode", vec![s("a,b\n")], j(json!([]))),
        err("csvdecode", vec![s("")], "missing header line"),
        err(
            "csvdecode",
            vec![s("a,b\n1\n")],
            "line 2: wrong number of fields",
        ),
        err("csvdecode", vec![s("a\nx\"y\n")], "bare \""),
        err("csvdecode", vec![s("a,a\n")], "duplicate column name"),
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
    fn base64_round_trips_every_length() {
        let data: Vec<u8> = (0..=255).collect();
        for len in 0..20 {
            let encoded = base64_encode(&data[..len]);
            assert_eq!(encoded.len() % 4, 0);
            assert_eq!(base64_decode(&encoded).unwrap(), &data[..len]);
        }
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert!(base64_decode("YQ").is_err());
        assert!(base64_decode("YQ==YQ==").is_err());
        assert!(base64_decode("Y===").is_err());
        assert_eq!(base64_decode("").unwrap(), b"");
    }
}
