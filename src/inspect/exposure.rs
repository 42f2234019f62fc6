//! What is reachable from outside: public load balancers and their
//! listeners, security-group rules open to the world, public subnets and
//! what sits in them, publicly accessible databases, non-internal Aptible
//! endpoints, Kubernetes Services and Ingress hosts, compose ports
//! published on all interfaces.

use serde::Serialize;

use crate::finding::Category;
use crate::source::SourceFile;
use crate::Report;

#[derive(Debug, Serialize)]
pub struct Exposure {
    pub address: String,
    pub file: String,
    pub line: usize,
    pub how: String,
}

/// Everything in `report` reachable from outside. (First cut: the
/// private-network findings; to be replaced by a walk over resources.)
pub fn collect(report: &Report) -> Vec<Exposure> {
    report
        .findings
        .iter()
        .filter(|f| f.category == Category::PrivateNetwork)
        .map(|f| {
            let file = report.files.get(f.file);
            Exposure {
                address: f.resource.clone(),
                file: file.map(SourceFile::display_path).unwrap_or_default(),
                line: file.map_or(0, |s| s.position(f.span.start).line),
                how: f.message.clone(),
            }
        })
        .collect()
}
