//! One front-end per syntax. Each keeps byte spans for every block,
//! attribute and value.

pub mod compose;
pub mod dockerfile;
pub mod document;
pub mod expansion;
pub mod hcl;
pub mod json;
pub mod kubernetes;
pub mod manifest;
pub mod plan;
pub mod tfjson;
pub mod yaml;

/// Parses a Terraform file of either syntax: `.tf.json` files with
/// [`tfjson`], the others with [`hcl`].
pub fn terraform(
    source: &crate::source::SourceFile,
) -> Result<hcl_edit::structure::Body, crate::error::FileError> {
    if tfjson::is_tf_json(source.path()) {
        tfjson::parse(source)
    } else {
        hcl::parse(source)
    }
}
