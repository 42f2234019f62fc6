//! Container manifests in YAML: Kubernetes objects and docker-compose
//! files, lowered to resources. (Being written.)

use crate::error::FileError;
use crate::model::Resource;
use crate::source::SourceFile;

/// Lowers a YAML file: Kubernetes objects (recognised by `apiVersion` and
/// `kind`) or a compose file's services. Anything else yields nothing.
pub fn lower_yaml(file_index: usize, source: &SourceFile) -> (Vec<Resource>, Vec<FileError>) {
    let _ = (file_index, source);
    (Vec::new(), Vec::new())
}
