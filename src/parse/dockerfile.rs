//! The Dockerfile front-end. (Being written.)

use crate::error::FileError;
use crate::model::Resource;
use crate::source::SourceFile;

/// Lowers a Dockerfile's stages to resources.
pub fn lower(file_index: usize, source: &SourceFile) -> (Vec<Resource>, Vec<FileError>) {
    let _ = (file_index, source);
    (Vec::new(), Vec::new())
}
