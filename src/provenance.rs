//! The provenance of a report (`meta`): when and by which provcheck it
//! was made, from which rules and configuration, over which paths, and
//! from which commit — what a reader needs to run the same command on
//! the same tree and get the same findings. Every format carries it; see
//! the README's "Provenance" section.

use serde::Serialize;

use crate::config::FailOn;
use crate::git::GitState;
use crate::ruleset::RuleSet;

/// The variable that pins `generated_at`, as reproducible builds do: whole
/// seconds since 1970-01-01T00:00:00Z.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// A report's provenance, as the JSON formats write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// RFC 3339, UTC, to the second.
    pub generated_at: String,
    pub provcheck_version: String,
    pub rules: Rules,
    pub config: Settings,
    /// The paths checked, as given on the command line.
    pub paths: Vec<String>,
    /// The folder the report's paths are relative to, absolute.
    pub project_root: String,
    /// `null` when the project root is not the top of a git work tree or
    /// its `.git` could not be read.
    pub git: Option<GitState>,
}

/// The rule set a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// Rules in force, built-in and `--rules`, after `select`/`ignore`.
    pub count: usize,
    /// [`RuleSet::digest`].
    pub digest: String,
    /// The `--rules` folders, as given.
    pub folders: Vec<String>,
}

/// The effective settings that decide what is reported and what fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The configuration file, relative to the project root; `null` for
    /// the built-in defaults.
    pub file: Option<String>,
    /// `sha256:<hex>` of the configuration file's bytes, when there is one.
    pub digest: Option<String>,
    /// The rule ids, categories or packs selected; `null` for all.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    /// The lowest severity that fails the run (`--fail-on` over the file).
    pub fail_on: &'static str,
    /// Whether `provcheck:ignore` comments were honoured.
    pub inline_suppressions: bool,
}

impl Meta {
    /// The provenance of a run with `rules` (as filtered by the
    /// configuration), `settings`, over `paths`.
    pub fn new(
        rules: &RuleSet,
        folders: &[std::path::PathBuf],
        settings: Settings,
        paths: &[std::path::PathBuf],
        project_root: &std::path::Path,
        git: Option<GitState>,
    ) -> Meta {
        Meta {
            generated_at: generated_at(),
            provcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            rules: Rules {
                count: rules.rules.len(),
                digest: rules.digest(),
                folders: folders
                    .iter()
                    .map(|f| crate::source::display_path(f))
                    .collect(),
            },
            config: settings,
            paths: paths
                .iter()
                .map(|p| crate::source::display_path(p))
                .collect(),
            project_root: crate::source::display_path(project_root),
            git,
        }
    }

    /// The same provenance with every text passed through `f` (escaping
    /// for a text format).
    pub fn map_text(&self, mut f: impl FnMut(&str) -> String) -> Meta {
        let mut all = |items: &[String]| items.iter().map(|s| f(s)).collect::<Vec<_>>();
        let folders = all(&self.rules.folders);
        let paths = all(&self.paths);
        let ignore = all(&self.config.ignore);
        let select = self.config.select.as_deref().map(&mut all);
        Meta {
            generated_at: f(&self.generated_at),
            provcheck_version: f(&self.provcheck_version),
            rules: Rules {
                count: self.rules.count,
                digest: f(&self.rules.digest),
                folders,
            },
            config: Settings {
                file: self.config.file.as_deref().map(&mut f),
                digest: self.config.digest.clone(),
                select,
                ignore,
                fail_on: self.config.fail_on,
                inline_suppressions: self.config.inline_suppressions,
            },
            paths,
            project_root: f(&self.project_root),
            git: self.git.as_ref().map(|g| GitState {
                commit: g.commit.as_deref().map(&mut f),
                branch: g.branch.as_deref().map(&mut f),
                dirty: g.dirty,
            }),
        }
    }

    /// Every field as a dotted name and a value (`rules.digest`,
    /// `sha256:...`; a list as JSON, `null` for nothing), for formats with
    /// no nesting: JUnit's `<properties>`.
    pub fn properties(&self) -> Vec<(String, String)> {
        fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, value) in map {
                        let name = if prefix.is_empty() {
                            key.clone()
                        } else {
                            format!("{prefix}.{key}")
                        };
                        walk(&name, value, out);
                    }
                }
                serde_json::Value::String(text) => out.push((prefix.to_string(), text.clone())),
                other => out.push((prefix.to_string(), other.to_string())),
            }
        }
        let mut out = Vec::new();
        if let Ok(value) = serde_json::to_value(self) {
            walk("", &value, &mut out);
        }
        out
    }

    /// One line for the human and Markdown summaries: `provcheck 0.1.0,
    /// 154 rules (sha256:1a2b3c4d5e6f), commit 5238262 on main (dirty),
    /// 2026-12-06T16:00:00Z`.
    pub fn line(&self) -> String {
        let digest = self.rules.digest.get(..19).unwrap_or(&self.rules.digest);
        let mut line = format!(
            "provcheck {}, {} rule{} ({digest})",
            self.provcheck_version,
            self.rules.count,
            if self.rules.count == 1 { "" } else { "s" }
        );
        if let Some(git) = &self.git {
            let commit = git
                .commit
                .as_deref()
                .map_or("no commit", |c| c.get(..12).unwrap_or(c));
            line.push_str(&format!(", commit {commit}"));
            if let Some(branch) = &git.branch {
                line.push_str(&format!(" on {branch}"));
            }
            match git.dirty {
                Some(true) => line.push_str(" (dirty)"),
                Some(false) => line.push_str(" (clean)"),
                None => {}
            }
        }
        line.push_str(&format!(", {}", self.generated_at));
        line
    }
}

/// The name of a fail-on threshold, as the configuration writes it.
pub fn fail_on_name(fail_on: FailOn) -> &'static str {
    match fail_on {
        FailOn::Critical => "critical",
        FailOn::High => "high",
        FailOn::Medium => "medium",
        FailOn::Low => "low",
        FailOn::Info => "info",
        FailOn::Never => "never",
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", crate::ruleset::hex(&Sha256::digest(bytes)))
}

/// Now, or `SOURCE_DATE_EPOCH` when it holds whole seconds, in RFC 3339
/// UTC. A malformed value is ignored.
pub fn generated_at() -> String {
    let pinned = std::env::var(SOURCE_DATE_EPOCH)
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    rfc3339(pinned.unwrap_or_else(time::OffsetDateTime::now_utc))
}

/// `2026-12-06T16:00:00Z`.
fn rfc3339(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |s| rfc3339(time::OffsetDateTime::from_unix_timestamp(s).unwrap());
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_796_515_200), "2026-12-06T00:00:00Z");
        assert_eq!(at(951_825_599), "2000-02-29T11:59:59Z");
    }

    #[test]
    fn the_line_names_version_rules_commit_and_time() {
        let meta = Meta {
            generated_at: "1970-01-01T00:00:00Z".into(),
            provcheck_version: "9.9.9".into(),
            rules: Rules {
                count: 1,
                digest: format!("sha256:{}", "ab".repeat(32)),
                folders: Vec::new(),
            },
            config: Settings {
                file: None,
                digest: None,
                select: None,
                ignore: Vec::new(),
                fail_on: "low",
                inline_suppressions: true,
            },
            paths: vec![".".into()],
            project_root: "/repo".into(),
            git: Some(GitState {
                commit: Some("0123456789abcdef0123".into()),
                branch: Some("main".into()),
                dirty: Some(true),
            }),
        };
        assert_eq!(
            meta.line(),
            "provcheck 9.9.9, 1 rule (sha256:abababababab), commit 0123456789ab on main (dirty), 1970-01-01T00:00:00Z"
        );
    }
}
