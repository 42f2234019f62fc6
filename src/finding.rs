//! What a check reports: severities, categories, findings and their
//! fingerprints.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::source::Span;

/// How bad a finding is. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// This severity raised by `levels`, at most critical.
    pub fn raised(self, levels: u8) -> Severity {
        let order = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        let at = order.iter().position(|s| *s == self).unwrap_or(0);
        order[(at + levels as usize).min(order.len() - 1)]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fixed list of rule categories (DESIGN.md); every rule has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    EncryptionAtRest,
    EncryptionInTransit,
    PrivateNetwork,
    ContainerSeparation,
    Approval,
    Backup,
    AuditLogging,
    Baseline,
    EnvironmentParity,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::EncryptionAtRest => "encryption-at-rest",
            Category::EncryptionInTransit => "encryption-in-transit",
            Category::PrivateNetwork => "private-network",
            Category::ContainerSeparation => "container-separation",
            Category::Approval => "approval",
            Category::Backup => "backup",
            Category::AuditLogging => "audit-logging",
            Category::Baseline => "baseline",
            Category::EnvironmentParity => "environment-parity",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's stable identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(pub String);

impl RuleId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One rule violated (or, for undecided results, possibly violated) by one
/// resource. Holds byte spans; renderers turn them into lines and columns.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index of the rule in the rule set.
    pub rule: usize,
    pub rule_id: RuleId,
    pub severity: Severity,
    pub category: Category,
    pub resource: String,
    /// Index into the report's files.
    pub file: usize,
    pub span: Span,
    /// JSON pointer of the attribute at fault (empty: the whole resource).
    pub pointer: String,
    pub message: String,
    pub fingerprint: String,
    /// Where the offending value was written, when elsewhere: a variable
    /// default, a tfvars file, a module argument, a local.
    pub related: Vec<crate::model::Origin>,
    /// The module calls from the root module to the resource: findings
    /// in a module called from several roots differ by these.
    pub module: Vec<crate::model::Origin>,
}

impl Finding {
    /// The file of the root module's call, for a resource in a module:
    /// with `file` and `resource`, it tells one instance from another.
    pub fn root_call(&self) -> Option<usize> {
        self.module.first().map(|c| c.file)
    }
}

/// A fingerprint that survives moved lines and unrelated edits: it hashes
/// what is wrong and where in the model, never line numbers.
pub fn fingerprint(rule_id: &str, path: &str, resource: &str, pointer: &str) -> String {
    let mut key =
        String::with_capacity(rule_id.len() + path.len() + resource.len() + pointer.len() + 3);
    for part in [rule_id, path, resource, pointer] {
        key.push_str(part);
        key.push('\u{1f}');
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        let s: Severity = serde_json::from_str("\"medium\"").unwrap();
        assert_eq!(s, Severity::Medium);
        let c: Category = serde_json::from_str("\"encryption-at-rest\"").unwrap();
        assert_eq!(c.as_str(), "encryption-at-rest");
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let a = fingerprint("r", "main.tf", "aws_db_instance.a", "/x");
        assert_eq!(a, fingerprint("r", "main.tf", "aws_db_instance.a", "/x"));
        assert_ne!(a, fingerprint("r", "main.tf", "aws_db_instance.b", "/x"));
        assert_eq!(a.len(), 16);
    }
}
