//! One front-end per syntax. Each keeps byte spans for every block,
//! attribute and value.

pub mod compose;
pub mod dockerfile;
pub mod document;
pub mod expansion;
pub mod hcl;
pub mod kubernetes;
pub mod manifest;
pub mod yaml;
