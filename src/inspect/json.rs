//! The inspection report as JSON (`"version": 1`, the shape of issue 7).

use super::Model;

pub fn render(model: &Model<'_>) -> String {
    crate::output::written(|out| write(model, out))
}

/// Writes the report as [`render`] does, straight to `out`: on ten
/// copies of the corpus it is 50 MB, which a string would hold twice.
pub fn write(model: &Model<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    crate::output::write_pretty_json(model, out)
}
