//! The inspection report as one self-contained HTML page.

use super::Model;
use crate::Report;

/// Renders `model` (built from `report`) as HTML. (Placeholder: the
/// Markdown text in a `<pre>`, escaped; the real page is being built.)
pub fn render(model: &Model<'_>, _report: &Report) -> String {
    let text = super::markdown::render(model)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<!doctype html><meta charset=utf-8><pre>{text}</pre>\n")
}
