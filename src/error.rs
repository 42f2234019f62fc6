//! Errors that belong to one input file (or rule file): reported with a
//! span, never fatal to the rest of the run.

use std::path::{Path, PathBuf};

use crate::source::Span;

/// A problem with one file. The run goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub span: Option<Span>,
    pub message: String,
}

impl FileError {
    pub fn new(path: &Path, span: Option<Span>, message: impl Into<String>) -> FileError {
        FileError {
            path: path.to_path_buf(),
            span,
            message: message.into(),
        }
    }
}
