//! The inspection report as JSON (`"version": 1`, the shape of issue 7).

use super::Model;

pub fn render(model: &Model<'_>) -> String {
    let mut text = serde_json::to_string_pretty(model).unwrap_or_default();
    text.push('\n');
    text
}
