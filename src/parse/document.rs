//! Helpers over parsed YAML documents that both manifest front-ends
//! (compose, Kubernetes) use: below them both, so that neither imports
//! the other or the dispatcher above them (`manifest.rs`).

use serde_json::Value;

use crate::parse::yaml;
use crate::source::{SourceFile, Span};

/// The value at `base` of a document, and the spans below it with `base`
/// cut off their pointers (the span of `base` itself at ``).
pub(crate) fn subtree(
    document: &yaml::Document,
    base: &str,
) -> Option<(Value, crate::model::Spans)> {
    let value = document.value.pointer(base)?.clone();
    let spans = rebase(&document.spans, base, "");
    Some((value, spans))
}

/// The spans at and below `from`, moved under `to`.
pub(crate) fn rebase(spans: &crate::model::Spans, from: &str, to: &str) -> crate::model::Spans {
    spans
        .range::<str, _>((std::ops::Bound::Included(from), std::ops::Bound::Unbounded))
        .take_while(|(p, _)| p.starts_with(from))
        .filter(|(p, _)| p.len() == from.len() || p.as_bytes()[from.len()] == b'/')
        .map(|(p, s)| (format!("{to}{}", &p[from.len()..]).into(), *s))
        .collect()
}

/// The first line of `span`: where a finding about a missing attribute
/// points, and where a comment above an object applies.
pub(crate) fn first_line(source: &SourceFile, span: Span) -> Span {
    let text = &source.text;
    let start = span.start.min(text.len());
    let end = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i)
        .min(span.end.max(start));
    let line = &text[start..end];
    // Not a trailing comment (`db:  # the database`).
    let line = match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    };
    let line = line.trim_end();
    Span::new(start, start + line.len())
}
