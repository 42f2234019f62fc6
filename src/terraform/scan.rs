//! The `source` strings of a Terraform file's `module` blocks, read from
//! its text without building a syntax tree: the call graph that plans the
//! evaluation's batches comes from them (see [`super::module::evaluate`]).
//!
//! This is a plan, not a parse: hcl-edit stays the one parser. The
//! reading follows only what a file that parses can hold (blocks, quoted
//! strings and their templates, heredocs, comments, brackets) and gives up
//! on anything else. Each file it read is parsed with its batch, and a
//! file whose sources, as its tree gives them, differ from this reading's
//! (or which does not parse) has the whole evaluation run again from the
//! trees' sources. So a mistake here costs time, never a verdict.

/// The `source` of every top-level `module` block whose `source` is one
/// quoted string without templates or escapes, in order: what
/// [`super::module::local_sources`] gives for the file's tree, if it
/// parses. `None` where the text holds anything this reading does not
/// follow (a top-level attribute, an escape in a `source`, an unclosed
/// block): the file is then parsed.
pub fn module_sources(text: &str) -> Option<Vec<String>> {
    let mut s = Scanner {
        b: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let mut out = Vec::new();
    loop {
        s.blank_lines()?;
        if s.at >= s.b.len() {
            return Some(out);
        }
        let is_module = s.ident()? == b"module";
        s.spaces()?;
        if s.peek() == Some(b'=') {
            return None;
        }
        s.labels()?;
        if is_module {
            if let Some(source) = s.module_body()? {
                out.push(source);
            }
        } else {
            s.nested(b'}')?;
        }
    }
}

/// How deep blocks, brackets and templates may nest before the reading
/// gives up: each level is a recursive call, and a hostile file may open
/// a million brackets. The parser that then runs stops at its own limit
/// (hcl-edit's `MAX_NESTING_DEPTH`, also 64) with an error.
const MAX_DEPTH: usize = 64;

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
    /// The groups open around `at` (see [`MAX_DEPTH`]).
    depth: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.b.get(self.at + ahead).copied()
    }

    /// Blanks, line ends and comments between a body's items.
    fn blank_lines(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.at += 1,
                Some(b'#') => self.line_comment(),
                Some(b'/') if self.peek_at(1) == Some(b'/') => self.line_comment(),
                Some(b'/') if self.peek_at(1) == Some(b'*') => self.block_comment()?,
                _ => return Some(()),
            }
        }
    }

    /// Blanks and one-line `/* */` comments within a line.
    fn spaces(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.at += 1,
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    let start = self.at;
                    self.block_comment()?;
                    if self.b[start..self.at].contains(&b'\n') {
                        return None;
                    }
                }
                _ => return Some(()),
            }
        }
    }

    /// Up to the line end (not past it).
    fn line_comment(&mut self) {
        self.at = self.b[self.at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |n| self.at + n);
    }

    /// Past the `*/` that closes the comment here.
    fn block_comment(&mut self) -> Option<()> {
        let rest = &self.b[self.at + 2..];
        let end = rest.windows(2).position(|w| w == b"*/")?;
        self.at += 2 + end + 2;
        Some(())
    }

    /// An identifier (ASCII only: anything else is given up on).
    fn ident(&mut self) -> Option<&[u8]> {
        let start = self.at;
        match self.peek()? {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.at += 1,
            _ => return None,
        }
        while let Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-') = self.peek() {
            self.at += 1;
        }
        if self.peek().is_some_and(|c| !c.is_ascii()) {
            return None;
        }
        Some(&self.b[start..self.at])
    }

    /// A block's labels, then past its `{`.
    fn labels(&mut self) -> Option<()> {
        loop {
            self.spaces()?;
            match self.peek()? {
                b'{' => {
                    self.at += 1;
                    return Some(());
                }
                b'"' => {
                    self.string()?;
                }
                _ => {
                    self.ident()?;
                }
            }
        }
    }

    /// A `module` block's body, past its `}`: the `source` when it is a
    /// plain quoted string, `Some(None)` when it is anything else or
    /// missing.
    fn module_body(&mut self) -> Option<Option<String>> {
        let mut source: Option<Option<String>> = None;
        loop {
            self.blank_lines()?;
            if self.peek()? == b'}' {
                self.at += 1;
                return Some(source.flatten());
            }
            let is_source = self.ident()? == b"source";
            self.spaces()?;
            if self.peek() == Some(b'=') && self.peek_at(1) != Some(b'=') {
                self.at += 1;
                self.spaces()?;
                if !is_source {
                    self.expression()?;
                    continue;
                }
                // Which of two `source` lines the tree keeps is the
                // parser's business.
                if source.is_some() {
                    return None;
                }
                source = Some(self.source_value()?);
            } else {
                self.labels()?;
                self.nested(b'}')?;
            }
        }
    }

    /// The value of a `source` attribute, past it: the string when it is
    /// one plain quoted string and nothing more.
    fn source_value(&mut self) -> Option<Option<String>> {
        if self.peek() == Some(b'"') {
            let start = self.at + 1;
            let plain = self.string()?;
            let end = self.at - 1;
            self.spaces()?;
            let ends = match self.peek() {
                None | Some(b'\n' | b'\r' | b'#' | b'}') => true,
                Some(b'/') => self.peek_at(1) == Some(b'/'),
                _ => false,
            };
            if ends {
                if !plain {
                    return None;
                }
                return Some(Some(
                    std::str::from_utf8(&self.b[start..end]).ok()?.to_string(),
                ));
            }
        }
        self.expression()?;
        Some(None)
    }

    /// An attribute's expression, up to its line end (or the `}` of a
    /// one-line block), brackets, strings and heredocs whole.
    fn expression(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                None | Some(b'\n' | b'}') => return Some(()),
                Some(_) => self.token(b'\n')?,
            }
        }
    }

    /// Everything up to and past the `close` that ends what is open here
    /// (a block's `}`, a template's `}`), brackets, strings and heredocs
    /// whole.
    fn nested(&mut self, close: u8) -> Option<()> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        loop {
            match self.peek()? {
                c if c == close => {
                    self.at += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => self.token(close)?,
            }
        }
    }

    /// One token or bracketed group (past it); `close` is what ends the
    /// enclosing group, which a stray closing bracket may not stand in
    /// for.
    fn token(&mut self, close: u8) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            b'#' => self.line_comment(),
            b'/' if self.peek_at(1) == Some(b'/') => self.line_comment(),
            b'/' if self.peek_at(1) == Some(b'*') => self.block_comment()?,
            b'<' if self.peek_at(1) == Some(b'<') => self.heredoc()?,
            b'{' => {
                self.at += 1;
                self.nested(b'}')?;
            }
            b'(' => {
                self.at += 1;
                self.nested(b')')?;
            }
            b'[' => {
                self.at += 1;
                self.nested(b']')?;
            }
            c @ (b')' | b']' | b'}') if c != close => return None,
            _ => self.at += 1,
        }
        Some(())
    }

    /// A quoted string, past its closing quote: whether it is plain (no
    /// escape, no template).
    fn string(&mut self) -> Option<bool> {
        self.at += 1;
        let mut plain = true;
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(plain);
                }
                b'\n' => return None,
                b'\\' => {
                    plain = false;
                    self.at += 2;
                }
                b'$' | b'%' if self.peek_at(1) == Some(b'{') => {
                    plain = false;
                    self.at += 2;
                    self.nested(b'}')?;
                }
                // `$${` and `%%{` are the characters themselves.
                c @ (b'$' | b'%')
                    if self.peek_at(1) == Some(c) && self.peek_at(2) == Some(b'{') =>
                {
                    plain = false;
                    self.at += 3;
                }
                _ => self.at += 1,
            }
        }
    }

    /// A heredoc (`<<ID` or `<<-ID`), past its closing line's marker.
    fn heredoc(&mut self) -> Option<()> {
        self.at += 2;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let marker = self.ident()?.to_vec();
        match self.peek()? {
            b'\n' => self.at += 1,
            b'\r' if self.peek_at(1) == Some(b'\n') => self.at += 2,
            _ => return None,
        }
        loop {
            // A line: blanks, then the marker alone ends it.
            let line_start = self.at;
            while let Some(b' ' | b'\t') = self.peek() {
                self.at += 1;
            }
            if self.b[self.at..].starts_with(&marker) {
                let after = self.at + marker.len();
                let rest = &self.b[after..];
                if rest.is_empty() || rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
                    self.at = after;
                    return Some(());
                }
            }
            self.at = line_start;
            // The rest of the line, templates whole (they may span lines).
            loop {
                match self.peek()? {
                    b'\n' => {
                        self.at += 1;
                        break;
                    }
                    c @ (b'$' | b'%')
                        if self.peek_at(1) == Some(c) && self.peek_at(2) == Some(b'{') =>
                    {
                        self.at += 3;
                    }
                    b'$' | b'%' if self.peek_at(1) == Some(b'{') => {
                        self.at += 2;
                        self.nested(b'}')?;
                    }
                    _ => self.at += 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::module_sources;
    use crate::source::SourceFile;

    /// What the parser's tree gives, when the file parses.
    fn parsed(text: &str) -> Option<Vec<String>> {
        let file = SourceFile::new("main.tf", text);
        crate::parse::terraform(&file)
            .ok()
            .map(|body| super::super::module::summary(&body))
    }

    /// The reading agrees with the tree wherever it answers, and answers
    /// for the plain cases.
    #[test]
    fn module_sources_agree_with_the_parsed_tree() {
        let answered = [
            "",
            "module \"a\" {\n  source = \"./a\"\n}\n",
            "module \"a\" { source = \"./a\" }\n",
            "# module \"x\" { source = \"./x\" }\nmodule \"a\" {\r\n  source = \"../a\" # here\r\n}\r\n",
            "/* module \"x\" {\n source = \"./x\" } */\nmodule a {\n  source = \"./a\" // c\n}\n",
            "module \"a\" {\n  source = var.x\n}\n",
            "module \"a\" {\n  count = 1\n}\n",
            "module \"a\" {\n  source = \"./a\" == \"x\" ? \"y\" : \"z\"\n}\n",
            "module \"a\" {\n  source = <<EOF\n./a\nEOF\n}\n",
            "resource \"x\" \"y\" {\n  source = \"./no\"\n  v = <<-EOT\n    module \"b\" {\n    source = \"./b\"\n    }\n    ${jsonencode({ a = \"}\" })}\n    EOT\n}\nmodule \"c\" {\n  source = \"./c\"\n}\n",
            "module \"a\" {\n  source = \"./a\"\n  providers = {\n    aws = aws.x\n  }\n  tags = { \"}\" = \"{\" }\n  lifecycle {\n    source = \"./no\"\n  }\n}\n",
            "locals {\n  s = \"a\\\"}\"\n  t = \"$${x}\"\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n",
            "module \"a\" {\n  source = \"./a\"\n}\nmodule \"b\" {\n  source = \"./b\"\n}\n",
        ];
        for text in answered {
            let read = module_sources(text);
            assert!(read.is_some(), "gave up on {text:?}");
            assert_eq!(read, parsed(text), "for {text:?}");
        }
        // Given up on: the file is parsed instead.
        let given_up = [
            "x = 1\n",
            "module \"a\" {\n  source = \"./\\u0061\"\n}\n",
            "module \"a\" {\n  source = \"./a\"\n  source = \"./b\"\n}\n",
            "module \"a\" {\n  source = \"./a\"\n",
            "module ä {\n  source = \"./a\"\n}\n",
            "module \"a\" {\n  source = \"./${var.x}\"\n}\n",
            "module \"a\" {\n  source = \"./a\n}\n",
            "module \"a\" {\n  x = (1]\n}\n",
        ];
        for text in given_up {
            assert_eq!(module_sources(text), None, "for {text:?}");
        }
    }

    /// Nesting is read to a bound, past which the reading gives up rather
    /// than recurse (a million brackets overflowed the stack).
    #[test]
    fn deep_nesting_is_given_up_on() {
        let nested = |open: &str, close: &str, n: usize| {
            format!(
                "module \"a\" {{\n  source = \"./a\"\n  x = {}1{}\n}}\n",
                open.repeat(n),
                close.repeat(n)
            )
        };
        assert_eq!(
            module_sources(&nested("[", "]", 64)),
            Some(vec!["./a".to_string()])
        );
        assert_eq!(module_sources(&nested("[", "]", 65)), None);
        assert_eq!(module_sources(&nested("[", "]", 1_000_000)), None);
        assert_eq!(module_sources(&nested("\"${", "}\"", 1_000_000)), None);
        assert_eq!(
            module_sources(&nested("<<EOF\n${", "}\nEOF\n", 100_000)),
            None
        );
    }
}
