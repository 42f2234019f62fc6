//! Suppressions: inline `provcheck:ignore` comments, the waivers file and
//! the baseline, with the resolution statuses of OSP 3.3. Suppressed
//! findings are never dropped: every report lists them for audit.

pub mod baseline;
pub mod inline;
pub mod waivers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::{fingerprint, Finding};
use crate::model::{parent_pointer, Resource};
use crate::read::{Named, Project};
use crate::ruleset::RuleSet;
use crate::source::Span;
use crate::Report;

use inline::Comment;

/// How a finding was resolved without a fix (OSP 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Investigated and found invalid.
    FalsePositive,
    /// Affects something that is not in use.
    Unused,
    /// Analysed and accepted, with a justification.
    AcceptedRisk,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::FalsePositive => "false-positive",
            Status::Unused => "unused",
            Status::AcceptedRisk => "accepted-risk",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "false-positive" => Some(Status::FalsePositive),
            "unused" => Some(Status::Unused),
            "accepted-risk" => Some(Status::AcceptedRisk),
            _ => None,
        }
    }
}

/// Where a suppression was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A `provcheck:ignore` comment in the checked code.
    Inline,
    /// An entry of the waivers file.
    Waiver,
    /// A fingerprint in the baseline file.
    Baseline,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Inline => "inline",
            Source::Waiver => "waiver",
            Source::Baseline => "baseline",
        }
    }
}

/// One suppression, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub source: Source,
    /// `None` only for baseline entries, which record no decision.
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    /// `YYYY-MM-DD`; the suppression stops applying after this day.
    pub expires: Option<String>,
    /// The file it was written in, and the 1-based line where that helps.
    pub file: PathBuf,
    pub line: Option<usize>,
}

/// A finding and what suppressed it.
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub finding: Finding,
    pub by: Suppression,
}

/// A suppression past its expiry date: it silences nothing any more, and
/// the findings it covered are reported again.
#[derive(Debug, Clone)]
pub struct Lapsed {
    pub by: Suppression,
    /// The rule ids it names (`*` for a waiver of every rule).
    pub rules: Vec<String>,
    /// Fingerprints of the findings it would still cover.
    pub findings: Vec<String>,
}

/// Rule ids of the findings this module reports about suppressions.
pub const INVALID_RULE: &str = "provcheck-suppression-invalid";
pub const EXPIRED_RULE: &str = "provcheck-suppression-expired";
pub const UNUSED_RULE: &str = "provcheck-suppression-unused";
pub const UNKNOWN_RULE: &str = "provcheck-suppression-unknown-rule";

/// The ids among `named` that no loaded rule has, each with the closest
/// known id when there is one; `None` when every id is known (or the
/// rule set records none, as an empty test set does).
fn unknown_ids(rules: &RuleSet, named: &[String]) -> Option<String> {
    if rules.known.is_empty() {
        return None;
    }
    let ids: Vec<&str> = rules.known.iter().map(String::as_str).collect();
    let unknown: Vec<String> = named
        .iter()
        .filter(|n| !rules.known.contains(n.as_str()))
        .map(|n| match crate::config::closest(n, &ids) {
            Some(close) => format!("`{n}` (did you mean `{close}`?)"),
            None => format!("`{n}`"),
        })
        .collect();
    (!unknown.is_empty()).then(|| format!("names no rule: {}", unknown.join(", ")))
}

/// What the `suppression-audit` native check is, for `provcheck explain`.
pub fn describe_audit() -> &'static str {
    "Not run on resources: the suppression pass reads every `provcheck:ignore` \
     comment and waiver and reports, under the rule that fits, those that are \
     invalid (no status, reason or rule, a malformed key or date; they suppress \
     nothing), expired (past their `expires` date; the findings they covered are \
     reported again) or unused (they match no finding)."
}

/// What the suppression pass needs besides the report.
#[derive(Debug, Clone)]
pub struct Options {
    /// Honour `provcheck:ignore` comments.
    pub inline: bool,
    /// Read inside the project unless the user named them.
    pub waivers: Option<Named>,
    pub baseline: Option<Named>,
    /// The day expiry dates are compared with.
    pub today: time::Date,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            inline: true,
            waivers: None,
            baseline: None,
            today: today(),
        }
    }
}

/// Today (UTC), or the `PROVCHECK_TODAY` date (`YYYY-MM-DD`) when set, so
/// runs and tests about expiry can be reproduced.
pub fn today() -> time::Date {
    std::env::var("PROVCHECK_TODAY")
        .ok()
        .and_then(|d| parse_date(&d))
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date())
}

/// A `YYYY-MM-DD` date, checked for existence.
pub fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    time::Date::from_calendar_date(year, month, day).ok()
}

/// Moves the findings that a comment, a waiver or the baseline covers to
/// `report.suppressed`, and reports suppressions that are invalid,
/// expired or unused as findings of their own.
///
/// The waivers and baseline files are read inside `project` unless the
/// command line named them.
pub fn apply(report: &mut Report, rules: &RuleSet, options: &Options, project: &Project) {
    let comments: Vec<Comment> = if options.inline {
        // Only infrastructure files hold suppressions: a YAML file that is
        // no manifest (a rule file quoting an example) holds none.
        let sources: std::collections::HashSet<usize> =
            report.resources.iter().map(|r| r.file).collect();
        report
            .files
            .iter()
            .enumerate()
            .filter(|(i, _)| sources.contains(i))
            .flat_map(|(i, f)| inline::scan(i, f))
            .collect()
    } else {
        Vec::new()
    };
    let waivers = match options
        .waivers
        .as_ref()
        .map(|w| waivers::load(&w.path, w.within(project)))
    {
        Some(Ok(w)) => Some(w),
        Some(Err(mut errors)) => {
            report.errors.append(&mut errors);
            None
        }
        None => None,
    };
    let baseline = match options
        .baseline
        .as_ref()
        .map(|b| baseline::load(&b.path, b.within(project)))
    {
        Some(Ok(b)) => b,
        Some(Err(error)) => {
            report.errors.push(error);
            Default::default()
        }
        None => Default::default(),
    };
    let resources: HashMap<(usize, &str), &Resource> = report
        .resources
        .iter()
        .map(|r| ((r.file, r.address.as_str()), r))
        .collect();

    let mut comment_hits = vec![false; comments.len()];
    let mut waiver_hits = vec![false; waivers.as_ref().map_or(0, |w| w.waivers.len())];
    let mut expired_comments: Vec<Vec<String>> = vec![Vec::new(); comments.len()];
    let mut expired_waivers: Vec<Vec<String>> = vec![Vec::new(); waiver_hits.len()];
    let today = options.today;
    let expired = |expires: &Option<String>| {
        expires
            .as_deref()
            .and_then(parse_date)
            .is_some_and(|d| d < today)
    };

    // The valid comments by what they cover: file, target line and rule,
    // in the order written, so a finding looks up its lines instead of
    // reading every comment.
    let mut by_target: HashMap<(usize, usize, &str), Vec<usize>> = HashMap::new();
    for (i, c) in comments.iter().enumerate() {
        if c.problems.is_empty() {
            for rule in &c.rules {
                let list = by_target
                    .entry((c.file, c.target, rule.as_str()))
                    .or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
    }

    // Undecided results keep a suppression in use without moving.
    let mut marked = std::collections::HashSet::new();
    for finding in &report.undecided {
        for line in covered_lines(report, &resources, finding) {
            let key = (finding.file, line, finding.rule_id.as_str());
            if !marked.insert(key) {
                continue;
            }
            for &i in by_target.get(&key).into_iter().flatten() {
                comment_hits[i] = true;
            }
        }
    }

    // What suppresses each finding, by its index: the findings stay in
    // place, and those suppressed are taken out in one pass at the end.
    // Moved one by one into a new list, a monorepo's findings were held
    // twice, and the new list grew by doubling.
    let mut suppressions: Vec<(usize, Suppression)> = Vec::new();
    for (index, finding) in report.findings.iter().enumerate() {
        let lines = covered_lines(report, &resources, finding);
        let first = lines
            .iter()
            .filter_map(|&line| {
                let key = (finding.file, line, finding.rule_id.as_str());
                by_target.get(&key).and_then(|list| list.first().copied())
            })
            .min();
        if let Some((i, c)) = first.map(|i| (i, &comments[i])) {
            comment_hits[i] = true;
            if expired(&c.expires) {
                expired_comments[i].push(finding.fingerprint.clone());
            } else {
                suppressions.push((index, inline_record(report, c)));
                continue;
            }
        }
        if let Some(w) = &waivers {
            let path = report
                .files
                .get(finding.file)
                .map(|f| relative_to(&f.path, &w.dir));
            let waiver = path.and_then(|path| {
                w.waivers
                    .iter()
                    .find(|v| v.covers(finding.rule_id.as_str(), &finding.resource, &path))
            });
            if let Some(v) = waiver {
                waiver_hits[v.index] = true;
                if expired(&v.expires) {
                    expired_waivers[v.index].push(finding.fingerprint.clone());
                } else {
                    suppressions.push((index, waiver_record(w, v)));
                    continue;
                }
            }
        }
        if baseline.contains(&finding.fingerprint) {
            let file = options
                .baseline
                .as_ref()
                .map(|b| b.path.clone())
                .unwrap_or_default();
            suppressions.push((
                index,
                Suppression {
                    source: Source::Baseline,
                    status: None,
                    reason: Some("in the baseline".into()),
                    approver: None,
                    ticket: None,
                    expires: None,
                    file,
                    line: None,
                },
            ));
        }
    }
    let mut suppressed: Vec<Suppressed> = Vec::with_capacity(suppressions.len());
    if !suppressions.is_empty() {
        let mut index = 0;
        let mut next = suppressions.iter().map(|(i, _)| *i).peekable();
        let taken: Vec<Finding> = report
            .findings
            .extract_if(.., |_| {
                let hit = next.next_if_eq(&index).is_some();
                index += 1;
                hit
            })
            .collect();
        suppressed.extend(
            taken
                .into_iter()
                .zip(suppressions)
                .map(|(finding, (_, by))| Suppressed { by, finding }),
        );
    }

    // Findings about the suppressions themselves.
    let mut audit = Vec::new();
    let mut lapsed = Vec::new();
    let targets: Vec<(usize, usize)> = comments.iter().map(|c| (c.file, c.target)).collect();
    let mut holders = resources_at(report, &targets).into_iter();
    for (i, c) in comments.iter().enumerate() {
        let resource = holders.next().unwrap_or_default();
        let (rule, detail) = if !c.problems.is_empty() {
            (
                INVALID_RULE,
                format!("suppresses nothing: {}", c.problems.join("; ")),
            )
        } else if let Some(detail) = unknown_ids(rules, &c.rules) {
            (UNKNOWN_RULE, detail)
        } else if expired(&c.expires) {
            lapsed.push(Lapsed {
                by: inline_record(report, c),
                rules: c.rules.clone(),
                findings: expired_comments[i].clone(),
            });
            let what = if !expired_comments[i].is_empty() {
                "; the finding is reported again"
            } else {
                ""
            };
            (
                EXPIRED_RULE,
                format!("expired on {}{what}", c.expires.as_deref().unwrap_or("")),
            )
        } else if !comment_hits[i] {
            (
                UNUSED_RULE,
                format!("no {} finding here to suppress", c.rules.join(" or ")),
            )
        } else {
            continue;
        };
        let at = Place {
            file: c.file,
            span: c.span,
            resource,
            key: format!("{}:{}", c.line, c.rules.join(",")),
        };
        if let Some(f) = audit_finding(rules, report, rule, at, detail) {
            audit.push(f);
        }
    }
    if let Some(w) = waivers {
        let file_index = report.files.len();
        let mut any = false;
        for v in &w.waivers {
            let named = std::slice::from_ref(&v.rule);
            let (rule, detail) = if let Some(detail) =
                (v.rule != "*").then(|| unknown_ids(rules, named)).flatten()
            {
                (UNKNOWN_RULE, format!("the waiver {detail}"))
            } else if expired(&v.expires) {
                lapsed.push(Lapsed {
                    by: waiver_record(&w, v),
                    rules: vec![v.rule.clone()],
                    findings: expired_waivers[v.index].clone(),
                });
                let what = if !expired_waivers[v.index].is_empty() {
                    "; the finding is reported again"
                } else {
                    ""
                };
                (
                    EXPIRED_RULE,
                    format!(
                        "waiver expired on {}{what}",
                        v.expires.as_deref().unwrap_or("")
                    ),
                )
            } else if !waiver_hits[v.index] {
                (
                    UNUSED_RULE,
                    format!("waiver for {} matches no finding", v.rule),
                )
            } else {
                continue;
            };
            // The waivers file joins the report so findings can point into it.
            if !any {
                report.files.push(w.source.clone());
                any = true;
            }
            let at = Place {
                file: file_index,
                span: v.span,
                resource: String::new(),
                key: format!("waiver:{}:{}", v.index, v.rule),
            };
            if let Some(f) = audit_finding(rules, report, rule, at, detail) {
                audit.push(f);
            }
        }
    }
    report.findings.append(&mut audit);
    report.suppressed = suppressed;
    report.lapsed = lapsed;
}

/// The record of a `provcheck:ignore` comment.
fn inline_record(report: &Report, c: &Comment) -> Suppression {
    Suppression {
        source: Source::Inline,
        status: c.status,
        reason: c.reason.clone(),
        approver: c.approver.clone(),
        ticket: c.ticket.clone(),
        expires: c.expires.clone(),
        file: report.files[c.file].path.clone(),
        line: Some(c.line),
    }
}

/// The record of an entry of the waivers file.
fn waiver_record(w: &waivers::Waivers, v: &waivers::Waiver) -> Suppression {
    Suppression {
        source: Source::Waiver,
        status: Some(v.status),
        reason: Some(v.reason.clone()),
        approver: v.approver.clone(),
        ticket: v.ticket.clone(),
        expires: v.expires.clone(),
        file: w.source.path.clone(),
        line: Some(v.line),
    }
}

/// The lines a suppression may sit above to cover this finding: the
/// finding's own line, and the first line of every enclosing attribute or
/// block up to the resource header.
fn covered_lines(
    report: &Report,
    resources: &HashMap<(usize, &str), &Resource>,
    finding: &Finding,
) -> Vec<usize> {
    let Some(file) = report.files.get(finding.file) else {
        return Vec::new();
    };
    let line = |span: Span| file.position(span.start).line;
    let mut lines = vec![line(finding.span)];
    if let Some(resource) = resources.get(&(finding.file, finding.resource.as_str())) {
        let mut pointer = finding.pointer.as_str();
        while !pointer.is_empty() {
            if let Some(span) = resource.spans.get(pointer) {
                lines.push(line(*span));
            }
            pointer = parent_pointer(pointer);
        }
        lines.push(line(resource.header));
    }
    lines
}

/// One file's resource line ranges (first line, last line, index) and the
/// lines asked (line, index of the question).
type Sweep = (Vec<(usize, usize, usize)>, Vec<(usize, usize)>);

/// For each (file, line), the address of the first resource (in the
/// report's order) whose header or body holds that line, or `""`. One
/// sweep over the lines, so many comments cost no more than many lines.
fn resources_at(report: &Report, places: &[(usize, usize)]) -> Vec<String> {
    use std::cmp::Reverse;
    use std::collections::{BTreeMap, BinaryHeap};

    let mut answers = vec![String::new(); places.len()];
    // Per file: each resource's first and last line, the first resource
    // of every distinct range only (instances of a counted block share
    // theirs), and the places asked.
    let mut files: BTreeMap<usize, Sweep> = BTreeMap::new();
    for (i, &(file, line)) in places.iter().enumerate() {
        files.entry(file).or_default().1.push((line, i));
    }
    let mut seen = std::collections::HashSet::new();
    for (index, r) in report.resources.iter().enumerate() {
        let (Some(entry), Some(source)) = (files.get_mut(&r.file), report.files.get(r.file)) else {
            continue;
        };
        if seen.insert((r.file, r.span)) {
            let start = source.position(r.span.start).line;
            let end = source.position(r.span.end).line;
            entry.0.push((start, end, index));
        }
    }
    for (mut ranges, mut asked) in files.into_values() {
        ranges.sort_unstable();
        asked.sort_unstable();
        let mut ranges = ranges.into_iter().peekable();
        // Open ranges, earliest resource first.
        let mut open: BinaryHeap<Reverse<(usize, usize)>> = BinaryHeap::new();
        for (line, i) in asked {
            while let Some(&(start, end, index)) = ranges.peek() {
                if start > line {
                    break;
                }
                open.push(Reverse((index, end)));
                ranges.next();
            }
            // Lines only grow: a range that ended stays ended.
            while open.peek().is_some_and(|Reverse((_, end))| *end < line) {
                open.pop();
            }
            if let Some(Reverse((index, _))) = open.peek() {
                answers[i].clone_from(&report.resources[*index].address);
            }
        }
    }
    answers
}

fn relative_to(path: &Path, dir: &Path) -> PathBuf {
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    absolute
        .strip_prefix(dir)
        .map(Path::to_path_buf)
        .unwrap_or(absolute)
}

/// Where a finding about a suppression points, and what identifies it.
struct Place {
    file: usize,
    span: Span,
    resource: String,
    /// Stands in for an attribute pointer in the fingerprint.
    key: String,
}

/// A finding of one of the suppression rules, unless the configuration
/// turned that rule off.
fn audit_finding(
    rules: &RuleSet,
    report: &Report,
    rule_id: &str,
    at: Place,
    detail: String,
) -> Option<Finding> {
    let (index, rule) = rules
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.id.as_str() == rule_id)?;
    let path = report
        .fingerprint_paths
        .get(at.file)
        .cloned()
        .or_else(|| report.files.get(at.file).map(|f| f.display_path()))
        .unwrap_or_default();
    Some(Finding {
        rule: index,
        rule_id: rule.id.clone(),
        severity: rule.severity,
        category: rule.category,
        fingerprint: fingerprint(rule_id, &path, &at.resource, &at.key),
        resource: at.resource,
        file: at.file,
        span: at.span,
        pointer: String::new(),
        message: format!("{} ({detail})", rule.message.trim_end_matches('.')),
        related: Vec::new(),
        module: Vec::new(),
    })
}
