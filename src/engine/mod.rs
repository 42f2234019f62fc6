//! Running rules on resources: selecting resources by type and `where`,
//! running schema and native checks, and mapping each failure to a span.

pub mod native;
pub mod schema;
pub mod wording;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::FileError;
use crate::finding::{fingerprint, Finding};
use crate::model::Resource;
use crate::ruleset::{Check, Rule, RuleSet};

use native::NativeResult;
use schema::{Outcome, SchemaError};

/// Findings, the results that depend on unknown values, and the rules
/// that held.
#[derive(Debug, Default)]
pub struct Results {
    pub findings: Vec<Finding>,
    pub undecided: Vec<Finding>,
    /// (rule, resource) indices of every rule that evaluated a resource on
    /// known values and passed: a rule whose `where` left the resource
    /// out, or that could not decide, is not here. A pass is earned.
    pub held: Vec<(usize, usize)>,
    /// (rule, resource, why) of every rule whose check passed on a
    /// resource its `where` may or may not select, because what the
    /// `where` reads is not known statically: neither a pass nor a
    /// finding (a storage rule that skips read replicas, on a database
    /// whose `replicate_source_db` is unknown).
    pub maybe: Vec<(usize, usize, String)>,
    /// User rules stopped for taking too long.
    pub errors: Vec<FileError>,
}

/// How long one user rule may spend evaluating, summed over the resources
/// (and threads) of a run. A rule's schema is bounded when it is loaded
/// (see [`schema::compile`]); this bounds what is left, a bounded but
/// costly schema over very many or very large resources.
pub const RULE_TIME: Duration = Duration::from_secs(5);

/// The evaluation time each user rule has spent. Built-in rules, which
/// ship with the binary, are not timed.
struct Clock {
    budget: Duration,
    timed: Vec<bool>,
    spent: Vec<AtomicU64>,
}

impl Clock {
    fn new(rules: &RuleSet, budget: Duration) -> Clock {
        Clock {
            budget,
            timed: rules
                .rules
                .iter()
                .map(|r| !r.origin.starts_with("builtin:"))
                .collect(),
            spent: rules.rules.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn spent(&self, rule: usize) -> Duration {
        Duration::from_nanos(self.spent[rule].load(Ordering::Relaxed))
    }

    /// Runs `f` for `rule`, timed if the rule is; `None` when the rule's
    /// time is already spent.
    fn run<T>(&self, rule: usize, f: impl FnOnce() -> T) -> Option<T> {
        if !self.timed[rule] {
            return Some(f());
        }
        if self.spent(rule) > self.budget {
            return None;
        }
        let started = Instant::now();
        let out = f();
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.spent[rule].fetch_add(nanos, Ordering::Relaxed);
        Some(out)
    }
}

/// Runs every rule on every managed resource.
/// `paths` holds each file's path as fingerprints use it.
pub fn run(rules: &RuleSet, resources: &[Resource], paths: &[String]) -> Results {
    run_timed(rules, resources, paths, RULE_TIME)
}

/// One whole-set rule's findings, undecided findings and passes.
fn global_run(
    index: usize,
    rule: &Rule,
    native: &native::Native,
    resources: &[Resource],
    paths: &[String],
    ctx: &native::Context,
) -> Results {
    let mut out = Results::default();
    let run = native.run_global(resources, paths, ctx);
    match run.held {
        Some(held) => out.held.extend(held.into_iter().map(|at| (index, at))),
        None => {
            let reported: std::collections::HashSet<usize> =
                run.results.iter().map(|g| g.at).collect();
            out.held.extend(
                resources
                    .iter()
                    .enumerate()
                    .filter(|(at, r)| {
                        r.kind.is_checked()
                            && rule.applies_to(&r.resource_type)
                            && !reported.contains(at)
                    })
                    .map(|(at, _)| (index, at)),
            );
        }
    }
    for global_result in run.results {
        let Some(resource) = resources.get(global_result.at) else {
            continue;
        };
        let (pointer, detail, decided) = match global_result.result {
            NativeResult::Fail { pointer, detail } => (pointer, detail, true),
            NativeResult::Undecided { pointer, detail } => (pointer, detail, false),
        };
        let mut finding = finding(index, rule, resource, paths, pointer, Some(detail));
        finding.related.extend(global_result.examined);
        if decided {
            out.findings.push(finding);
        } else {
            out.undecided.push(finding);
        }
    }
    out
}

fn run_timed(
    rules: &RuleSet,
    resources: &[Resource],
    paths: &[String],
    budget: Duration,
) -> Results {
    let clock = Clock::new(rules, budget);
    let ctx = native::Context {
        classifier: std::sync::Arc::clone(&rules.classifier),
    };
    // Checks over the whole set of resources (topology, co-location),
    // before the per-resource results exist: the two are merged at
    // their exact sizes below. Each such rule scans every resource, on
    // a core of its own; their results are gathered in rule order.
    let global_rules: Vec<(usize, &Rule, &native::Native)> = rules
        .rules
        .iter()
        .enumerate()
        .filter_map(|(index, rule)| match &rule.check {
            Check::Native(native) if native.is_global() => Some((index, rule, native)),
            _ => None,
        })
        .collect();
    let runs: Vec<Results> = global_rules
        .par_iter()
        .map(|&(index, rule, native)| global_run(index, rule, native, resources, paths, &ctx))
        .collect();
    let mut global = Results::default();
    for mut run in runs {
        global.findings.append(&mut run.findings);
        global.undecided.append(&mut run.undecided);
        global.held.append(&mut run.held);
    }
    global.held.shrink_to_fit();
    // Gathered by run of resources, one list of each kind per run: one
    // per resource cost a `Results` and its small lists for each of a
    // monorepo's hundreds of thousands of resources, all held until the
    // merge below.
    let per_resource: Vec<Results> = resources
        .par_iter()
        .enumerate()
        .filter(|(_, r)| r.kind.is_checked())
        .fold(Results::default, |mut results, (at, resource)| {
            for (index, rule) in rules.rules.iter().enumerate() {
                if !rule.applies_to(&resource.resource_type) {
                    continue;
                }
                match clock.run(index, || {
                    check(index, rule, resource, paths, &ctx, &mut results)
                }) {
                    Some(Verdict::Held) => results.held.push((index, at)),
                    Some(Verdict::Maybe(why)) => results.maybe.push((index, at, why)),
                    Some(Verdict::Other) | None => {}
                }
            }
            results
        })
        .collect();
    let mut all = Results::default();
    for (index, rule) in rules.rules.iter().enumerate() {
        if clock.spent(index) > budget {
            all.errors.push(FileError::new(
                std::path::Path::new(&rule.origin),
                None,
                format!(
                    "rule `{}` was stopped after {} s of evaluation: the resources it had \
                     not reached have no verdict from it",
                    rule.id,
                    budget.as_secs()
                ),
            ));
        }
    }
    // Reserved at their sizes, the whole-set checks' results included:
    // grown by doubling, the lists of a monorepo's findings would be
    // copied at each step and left with up to half their room spare.
    let parts = || per_resource.iter().chain(std::iter::once(&global));
    all.findings
        .reserve_exact(parts().map(|r| r.findings.len()).sum());
    all.undecided
        .reserve_exact(parts().map(|r| r.undecided.len()).sum());
    all.held.reserve_exact(parts().map(|r| r.held.len()).sum());
    for mut results in per_resource.into_iter().chain(std::iter::once(global)) {
        all.findings.append(&mut results.findings);
        all.undecided.append(&mut results.undecided);
        all.held.append(&mut results.held);
        all.maybe.append(&mut results.maybe);
    }
    dedupe_overlays(&mut all.findings, resources, paths);
    dedupe_overlays(&mut all.undecided, resources, paths);
    all
}

/// One object described by several files of a folder — a compose service
/// in `compose.yaml` and `compose.override.yaml` — is lowered once per
/// file, each with the same merged attributes but only the spans of the
/// values that file wrote. A finding on it is kept once: in the file that
/// wrote the offending value (the deepest span at or above its pointer),
/// on a tie the file the object is defined in (its span at ``).
fn dedupe_overlays(findings: &mut Vec<Finding>, resources: &[Resource], paths: &[String]) {
    use std::collections::HashMap;
    let folder = |file: usize| {
        let path = paths.get(file).map(String::as_str).unwrap_or("");
        path.rsplit_once('/').map_or("", |(dir, _)| dir)
    };
    let by_file: HashMap<(usize, &str), &Resource> = resources
        .iter()
        .filter(|r| r.kind == crate::model::BlockKind::Manifest)
        .map(|r| ((r.file, r.address.as_str()), r))
        .collect();
    if by_file.is_empty() {
        return;
    }
    // Only manifests are lowered once per file: the findings on other
    // resources (most of a monorepo's) are left out of the groups.
    let mut groups: HashMap<(usize, &str, &str, &str, &str), Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if !by_file.contains_key(&(f.file, f.resource.as_str())) {
            continue;
        }
        let key = (
            f.rule,
            f.resource.as_str(),
            f.pointer.as_str(),
            f.message.as_str(),
            folder(f.file),
        );
        groups.entry(key).or_default().push(i);
    }
    let mut drop = vec![false; findings.len()];
    for members in groups.values().filter(|m| m.len() > 1) {
        let resource = |i: usize| by_file.get(&(findings[i].file, findings[i].resource.as_str()));
        let Some(first) = resource(members[0]) else {
            continue;
        };
        let same: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| findings[i].file != findings[members[0]].file || i == members[0])
            .filter(|&i| resource(i).is_some_and(|r| r.attributes == first.attributes))
            .collect();
        if same.len() < 2 {
            continue;
        }
        let score = |i: usize| {
            let r = resource(i)?;
            let mut pointer = findings[i].pointer.as_str();
            while !pointer.is_empty() && !r.spans.contains_key(pointer) {
                pointer = crate::model::parent_pointer(pointer);
            }
            let depth = pointer.matches('/').count();
            Some((
                depth,
                r.spans.contains_key(""),
                std::cmp::Reverse(findings[i].file),
            ))
        };
        let best = same
            .iter()
            .copied()
            .max_by_key(|&i| score(i))
            .unwrap_or(same[0]);
        for &i in &same {
            if i != best {
                drop[i] = true;
            }
        }
    }
    let mut index = 0;
    findings.retain(|_| {
        let keep = !drop[index];
        index += 1;
        keep
    });
}

/// What one rule made of one resource, beside its results.
enum Verdict {
    /// Selected, evaluated on known values, and held.
    Held,
    /// Passed, but whether the rule applies depends on unknown values.
    Maybe(String),
    /// Not selected, reported a result, or checked in the global pass.
    Other,
}

/// Runs one rule on one resource, adding its results to `out`.
fn check(
    index: usize,
    rule: &Rule,
    resource: &Resource,
    paths: &[String],
    ctx: &native::Context,
    out: &mut Results,
) -> Verdict {
    let mut unknown_selection = Vec::new();
    let selected = match &rule.selector {
        None => Selection::Yes,
        Some(selector) => match schema::evaluate(selector, resource) {
            Outcome::Pass => Selection::Yes,
            Outcome::Fail(_) => Selection::No,
            Outcome::Undecided(pointers) => {
                unknown_selection = pointers;
                Selection::Maybe
            }
        },
    };
    if selected == Selection::No {
        return Verdict::Other;
    }
    let before = out.findings.len() + out.undecided.len();
    let emit = |pointer: String, detail: Option<String>, decided: bool, out: &mut Results| {
        let finding = finding(index, rule, resource, paths, pointer, detail);
        if decided && selected == Selection::Yes {
            out.findings.push(finding);
        } else {
            out.undecided.push(finding);
        }
    };
    match &rule.check {
        Check::Native(native) if native.is_global() => {}
        Check::Schema(validator) => match schema::evaluate(validator, resource) {
            Outcome::Pass => {}
            Outcome::Fail(errors) => {
                let pointer = failure_pointer(rule, resource, &errors);
                let detail = value_in_effect(rule, resource, &pointer, &errors);
                emit(pointer, detail, true, out);
            }
            Outcome::Undecided(pointers) => {
                let detail = depends_on(resource, &pointers);
                let pointer = pointers.into_iter().next().unwrap_or_default();
                emit(pointer, Some(detail), false, out);
            }
        },
        Check::Native(native) => {
            for result in native.run(resource, ctx) {
                match result {
                    NativeResult::Fail { pointer, detail } => {
                        emit(pointer, Some(detail), true, out)
                    }
                    NativeResult::Undecided { pointer, detail } => {
                        emit(pointer, Some(detail), false, out)
                    }
                }
            }
        }
    }
    // A global check's verdicts come from the global pass.
    let global = matches!(&rule.check, Check::Native(native) if native.is_global());
    if global || out.findings.len() + out.undecided.len() != before {
        Verdict::Other
    } else if selected == Selection::Yes {
        Verdict::Held
    } else {
        Verdict::Maybe(format!(
            "whether it applies {}",
            depends_on(resource, &unknown_selection)
        ))
    }
}

/// Values longer than this (as JSON) are not quoted in messages.
const QUOTED_VALUE: usize = 60;

/// The value a failed assertion saw, in Terraform's words, and where it
/// came from: "storage_encrypted = false, from default of var.encrypted",
/// or, for an attribute left out, "storage_encrypted is not set: the
/// provider default is false". A value that came from the environment
/// (`TF_VAR_name`, which CI fills with secrets) is never quoted: the
/// message names the variable instead.
fn value_in_effect(
    rule: &Rule,
    resource: &Resource,
    pointer: &str,
    errors: &[SchemaError],
) -> Option<String> {
    // A nested block that lacks the attribute (`settings[0]` without
    // `ip_configuration`) is said by what it lacks, not by its whole value.
    let lacks_attribute = errors
        .iter()
        .any(|e| e.missing.is_some() && e.pointer == pointer);
    if resource
        .attributes
        .pointer(pointer)
        .is_some_and(|_| !pointer.is_empty() && !lacks_attribute)
    {
        return value_set(resource, pointer);
    }
    // The attribute is left out: the first missing one at the pointer or
    // the one the rule focuses on.
    let missing: Vec<String> = errors
        .iter()
        .filter_map(|e| {
            e.missing
                .as_ref()
                .map(|name| crate::model::push_pointer(&e.pointer, name))
        })
        .collect();
    let missing = missing
        .iter()
        .find(|p| rule.focus.contains(p))
        .or_else(|| missing.iter().find(|p| p.starts_with(pointer)))?
        .clone();
    let path = crate::model::attribute_path(&missing);
    Some(match rule.defaults.get(&missing) {
        Some(default) => format!("{path} is not set: the provider default is {default}"),
        None => format!("{path} is not set"),
    })
}

/// A value that is set, in Terraform's words, and where it came from
/// (`backup_retention_period = 3, from var.backup_days set in ...`); a
/// value from the environment is named, never quoted; `None` for a value
/// too long to quote or no value at all.
pub(crate) fn value_set(resource: &Resource, pointer: &str) -> Option<String> {
    let value = resource.attributes.pointer(pointer)?;
    let path = crate::model::attribute_path(pointer);
    if let Some(secret) = resource
        .origins(pointer)
        .iter()
        .find(|o| o.from_environment)
    {
        return Some(format!(
            "{path} is set from {}; its value is not shown",
            secret.message
        ));
    }
    let text = serde_json::to_string(value).ok()?;
    if text.chars().count() > QUOTED_VALUE {
        return None;
    }
    Some(match value_source(resource, pointer) {
        Some(source) => format!("{path} = {text}, from {source}"),
        None => format!("{path} = {text}"),
    })
}

/// Where a value came from, for a message: for an attribute written as a
/// plain reference (`var.encrypted`), the place its value was last
/// written (a module argument, a tfvars line, a default); for a computed
/// one, the expression itself, since no one place decided it.
fn value_source(resource: &Resource, pointer: &str) -> Option<String> {
    let origins = resource.origins(pointer);
    let last = origins.last().map(|o| o.message.to_string());
    match resource.expressions.get(pointer) {
        _ if origins.is_empty() => None,
        Some(expr) if is_plain_reference(expr) => last,
        Some(expr) => Some(expr.to_string()),
        None => last,
    }
}

/// `var.x` or `local.x`, alone.
fn is_plain_reference(expr: &str) -> bool {
    let Some((root, name)) = expr.split_once('.') else {
        return false;
    };
    matches!(root, "var" | "local")
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// "depends on var.public, which is not known statically": the values an
/// undecided result needed, in Terraform's words.
fn depends_on(resource: &Resource, pointers: &[String]) -> String {
    let mut sources: Vec<String> = Vec::new();
    for pointer in pointers {
        let source = resource.unknown_source(pointer);
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    match sources.as_slice() {
        [] => "depends on values not known statically".to_string(),
        [one] => format!("depends on {one}, which is not known statically"),
        many => format!(
            "depends on {}, which are not known statically",
            many.join(", ")
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Yes,
    No,
    Maybe,
}

/// Where one failed assertion is reported: the rule's focus attribute when
/// the resource has it; else the first failing value; a missing attribute
/// is reported at the object that lacks it (the header, for the resource).
fn failure_pointer(rule: &Rule, resource: &Resource, errors: &[SchemaError]) -> String {
    if let Some(focus) = rule
        .focus
        .iter()
        .find(|p| resource.spans.contains_key(p.as_str()))
    {
        return focus.clone();
    }
    let first = errors
        .iter()
        .find(|e| e.missing.is_none())
        .or_else(|| errors.first());
    first.map(|e| e.pointer.clone()).unwrap_or_default()
}

fn finding(
    index: usize,
    rule: &Rule,
    resource: &Resource,
    paths: &[String],
    pointer: String,
    detail: Option<String>,
) -> Finding {
    let path = paths
        .get(resource.file)
        .map(String::as_str)
        .unwrap_or_default();
    let message = match detail {
        Some(detail) => format!("{} ({detail})", rule.message.trim_end_matches('.')),
        None => rule.message.clone(),
    };
    // A module called from several roots yields one resource per root:
    // the root's folder keeps their fingerprints apart.
    let instance = match resource.module.first() {
        Some(call) => {
            let root = paths.get(call.file).map(String::as_str).unwrap_or_default();
            let folder = root.rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{}@{folder}", resource.address)
        }
        None => resource.address.clone(),
    };
    let mut related = resource.origins(&pointer).to_vec();
    related.extend(resource.module.iter().map(|call| crate::model::Origin {
        file: call.file,
        span: call.span,
        message: format!("instance {} is created here", call.message).into(),
        from_environment: false,
    }));
    related.extend(resource.planned.as_deref().cloned());
    Finding {
        rule: index,
        rule_id: rule.id.clone(),
        severity: rule.severity,
        category: rule.category,
        resource: resource.address.clone(),
        file: resource.file,
        span: resource.locate(&pointer),
        related,
        module: resource.module.clone(),
        fingerprint: fingerprint(rule.id.as_str(), path, &instance, &pointer),
        pointer,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn volumes(n: usize) -> Vec<Resource> {
        let text = (0..n)
            .map(|i| format!("resource \"aws_ebs_volume\" \"v{i}\" {{\n  encrypted = false\n}}\n"))
            .collect::<String>();
        let source = SourceFile::new("main.tf", text);
        crate::parse::hcl::lower_file(0, &source)
            .map(|l| l.resources)
            .unwrap_or_default()
    }

    #[test]
    fn a_user_rule_out_of_time_is_stopped_and_named() {
        let (mut rules, _) = RuleSet::load(&[]);
        let index = rules
            .rules
            .iter()
            .position(|r| r.id.as_str() == "aws-ebs-volume-unencrypted")
            .unwrap_or_default();
        let resources = volumes(20);
        let paths = vec!["main.tf".to_string()];
        let count = |results: &Results| results.findings.iter().filter(|f| f.rule == index).count();
        // Built in: never timed.
        let results = run_timed(&rules, &resources, &paths, Duration::ZERO);
        assert_eq!(count(&results), 20);
        assert!(results.errors.is_empty());
        // A user's: stopped once its time is spent, and said so.
        rules.rules[index].origin = "rules/aws/ebs.yaml".into();
        let results = run_timed(&rules, &resources, &paths, Duration::ZERO);
        assert!(count(&results) < 20);
        assert_eq!(results.errors.len(), 1);
        assert!(results.errors[0]
            .message
            .starts_with("rule `aws-ebs-volume-unencrypted` was stopped"));
        let results = run_timed(&rules, &resources, &paths, RULE_TIME);
        assert_eq!(count(&results), 20);
        assert!(results.errors.is_empty());
    }
}
