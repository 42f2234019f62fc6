//! `backup-plan` and `backup-coverage`: OSP 3.2's daily backups kept at
//! least 7 days, as AWS Backup provides them.
//!
//! `backup-plan` judges an `aws_backup_plan`: it complies when one of its
//! rules runs at least daily and keeps each recovery point `min_days` or
//! more. `backup-coverage` judges a data store: it passes on its own
//! settings (`own`, a schema: RDS's `backup_retention_period`, DynamoDB's
//! point-in-time recovery), or when an `aws_backup_selection` covers it —
//! by reference in `resources`, by a `resources` wildcard, or by a tag in
//! `selection_tag` or `condition` — and its plan complies. Both share one
//! reading of a plan, so they cannot disagree on it.

use serde::Deserialize;
use serde_json::Value;

use super::{Global, GlobalRun, NativeResult};
use crate::engine::schema::{self, CompiledSchema, Outcome};
use crate::engine::wording;
use crate::model::{attribute_path, base_address, BlockKind, Index, Origin, Resource};

const PLAN: &str = "aws_backup_plan";
const SELECTION: &str = "aws_backup_selection";
/// AWS Backup's schedule when a plan rule gives none: daily at 05:00 UTC.
const DEFAULT_SCHEDULE: &str = "cron(0 5 ? * * *)";

fn default_min_days() -> u64 {
    7
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanParams {
    /// The fewest days a recovery point must be kept.
    #[serde(default = "default_min_days")]
    min_days: u64,
}

/// `backup-plan`: a plan with a daily rule keeping backups long enough.
#[derive(Debug)]
pub struct BackupPlan {
    min_days: u64,
}

impl BackupPlan {
    pub fn new(params: &Value) -> Result<BackupPlan, String> {
        let params: PlanParams = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `backup-plan`: {e}"))?;
        Ok(BackupPlan {
            min_days: params.min_days,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "Checks each `{PLAN}`: it passes when one of its `rule` blocks runs at least once a day \
             (its `schedule`, a cron expression whose day-of-month and day-of-week fields are `*` or \
             `?`; `{DEFAULT_SCHEDULE}`, daily, when left out) and keeps each recovery point {} days \
             or more (`lifecycle.delete_after`; kept forever without it). A schedule or retention \
             not known statically makes the verdict undecided.",
            self.min_days
        )
    }

    pub fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        match plan_verdict(resource, self.min_days) {
            Verdict::Complies => Vec::new(),
            Verdict::Falls { pointer, detail } => vec![NativeResult::Fail { pointer, detail }],
            Verdict::Unknown { pointer, detail } => {
                vec![NativeResult::Undecided { pointer, detail }]
            }
        }
    }
}

/// What a plan does for OSP 3.2.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Complies,
    Falls { pointer: String, detail: String },
    Unknown { pointer: String, detail: String },
}

/// Whether one of the plan's rules backs up daily and keeps `min_days`.
fn plan_verdict(plan: &Resource, min_days: u64) -> Verdict {
    let rules = match plan.attributes.get("rule") {
        Some(Value::Array(rules)) if !rules.is_empty() => rules,
        _ if plan.is_unknown("/rule") => {
            return Verdict::Unknown {
                pointer: "/rule".into(),
                detail: format!(
                    "its rules depend on {}, which is not known statically",
                    plan.unknown_source("/rule")
                ),
            }
        }
        _ => {
            return Verdict::Falls {
                pointer: String::new(),
                detail: "the plan has no rule".into(),
            }
        }
    };
    let mut reasons = Vec::new();
    let mut first_failing: Option<String> = None;
    let mut unknown: Option<String> = None;
    for (i, rule) in rules.iter().enumerate() {
        let name = match rule.get("rule_name") {
            Some(Value::String(n)) => format!("rule `{n}`"),
            _ => format!("rule {}", i + 1),
        };
        let schedule_at = format!("/rule/{i}/schedule");
        let keep_at = format!("/rule/{i}/lifecycle/0/delete_after");
        let daily = if plan.is_unknown(&schedule_at) {
            None
        } else {
            match rule.get("schedule") {
                Some(Value::String(cron)) => {
                    Some(runs_daily(cron).then_some(()).ok_or_else(|| {
                        (
                            schedule_at.clone(),
                            format!("{name} runs on `{cron}`, less often than daily"),
                        )
                    }))
                }
                None | Some(Value::Null) => Some(Ok(())),
                Some(_) => Some(Err((
                    schedule_at.clone(),
                    format!("{name} has a schedule that is not a cron expression"),
                ))),
            }
        };
        let kept = if plan.is_unknown(&keep_at) || plan.is_unknown(&format!("/rule/{i}/lifecycle"))
        {
            None
        } else {
            match plan.attributes.pointer(&keep_at) {
                None | Some(Value::Null) => Some(Ok(())),
                Some(v) => match v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()) {
                    Some(days) if days >= min_days => Some(Ok(())),
                    Some(days) => Some(Err((
                        keep_at.clone(),
                        format!("{name} deletes recovery points after {days} days"),
                    ))),
                    None => Some(Err((
                        keep_at.clone(),
                        format!("{name} has a retention that is not a number of days"),
                    ))),
                },
            }
        };
        match (daily, kept) {
            (Some(Ok(())), Some(Ok(()))) => return Verdict::Complies,
            (Some(Err((at, why))), _) | (_, Some(Err((at, why)))) => {
                first_failing.get_or_insert(at);
                reasons.push(why);
            }
            (None, _) => {
                unknown.get_or_insert(schedule_at);
            }
            (_, None) => {
                unknown.get_or_insert(keep_at);
            }
        }
    }
    if let Some(pointer) = unknown {
        let detail = format!(
            "no rule is known to run daily and keep backups {min_days} days: it depends on {}, \
             which is not known statically",
            plan.unknown_source(&pointer)
        );
        return Verdict::Unknown { pointer, detail };
    }
    Verdict::Falls {
        pointer: first_failing.unwrap_or_default(),
        detail: format!(
            "no rule runs daily and keeps backups {min_days} days: {}",
            reasons.join("; ")
        ),
    }
}

/// Whether an AWS cron expression (`cron(min hour dom month dow year)`)
/// fires at least once every day: any day of the month and of the week,
/// every month.
fn runs_daily(expression: &str) -> bool {
    let Some(inner) = expression
        .trim()
        .strip_prefix("cron(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return false;
    };
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let any = |f: &str| f == "*" || f == "?";
    match fields.as_slice() {
        [_, _, dom, month, dow] | [_, _, dom, month, dow, _] => {
            any(dom) && any(dow) && (*month == "*" || *month == "?")
        }
        _ => false,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageParams {
    /// The data store types checked.
    subjects: Vec<String>,
    /// Which subjects are checked (all, when absent).
    when: Option<Value>,
    /// What makes a subject pass on its own settings.
    own: Value,
    /// The attribute a finding points at when the subject sets it.
    focus: Option<String>,
    /// The provider's default for `focus`, said when it is left out.
    default: Option<String>,
    #[serde(default = "default_min_days")]
    min_days: u64,
}

/// `backup-coverage`: a data store backed up by itself or by AWS Backup.
#[derive(Debug)]
pub struct BackupCoverage {
    params: CoverageParams,
    own: CompiledSchema,
    when: Option<CompiledSchema>,
}

impl BackupCoverage {
    pub fn new(params: &Value) -> Result<BackupCoverage, String> {
        let params: CoverageParams = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `backup-coverage`: {e}"))?;
        if params.focus.as_deref().is_some_and(|f| !f.starts_with('/')) {
            return Err("`focus` is a JSON pointer such as `/backup_retention_period`".into());
        }
        Ok(BackupCoverage {
            own: schema::compile(&params.own).map_err(|e| format!("invalid `own` schema: {e}"))?,
            when: params
                .when
                .as_ref()
                .map(schema::compile)
                .transpose()
                .map_err(|e| format!("invalid `when` schema: {e}"))?,
            params,
        })
    }

    pub fn describe(&self) -> String {
        let p = &self.params;
        let subjects = wording::or_list(&wording::code(&p.subjects));
        let mut out = vec![match &p.when {
            Some(when) => format!("Checks each {subjects} where {}.", wording::schema(when)),
            None => format!("Checks each {subjects}."),
        }];
        out.push(format!(
            "It passes on its own when {}.",
            wording::schema(&p.own)
        ));
        out.push(format!(
            "Otherwise it passes when an `{SELECTION}` covers it — naming it in `resources`, with a \
             `*` wildcard there, or through a `selection_tag` it carries; every `condition` on its \
             tags holding; not naming it in `not_resources` — and the `{PLAN}` the selection's \
             `plan_id` refers to has a rule that runs at least daily and keeps recovery points {} \
             days or more.",
            p.min_days
        ));
        out.push(
            "A selection or plan not known statically makes the verdict undecided.".to_string(),
        );
        out.join(" ")
    }

    pub fn run_global(&self, resources: &[Resource]) -> GlobalRun {
        let plans = Index::of(resources, &[PLAN]);
        let selections: Vec<Selection<'_>> = resources
            .iter()
            .filter(|r| r.kind == BlockKind::Resource && r.resource_type == SELECTION)
            .map(|r| Selection::new(r, &plans, self.params.min_days))
            .collect();
        let mut results = Vec::new();
        let mut held = Vec::new();
        for (index, subject) in resources.iter().enumerate() {
            if subject.kind != BlockKind::Resource
                || !self.params.subjects.contains(&subject.resource_type)
            {
                continue;
            }
            let selected = self
                .when
                .as_ref()
                .map_or(Outcome::Pass, |w| schema::evaluate(w, subject));
            if matches!(selected, Outcome::Fail(_)) {
                continue;
            }
            let own = schema::evaluate(&self.own, subject);
            if own == Outcome::Pass {
                if selected == Outcome::Pass {
                    held.push(index);
                }
                continue;
            }
            let mut covering = Vec::new();
            let mut maybe = false;
            let mut weak = Vec::new();
            for selection in selections
                .iter()
                .filter(|s| s.resource.scope == subject.scope)
            {
                match selection.covers(subject) {
                    Some(false) => continue,
                    None => maybe = true,
                    Some(true) => match &selection.plan {
                        Verdict::Complies => covering.push(selection),
                        Verdict::Unknown { .. } => maybe = true,
                        Verdict::Falls { detail, .. } => weak.push((selection, detail.clone())),
                    },
                }
            }
            if !covering.is_empty() {
                if selected == Outcome::Pass {
                    held.push(index);
                }
                continue;
            }
            let (pointer, own_detail) = self.own_failure(subject, &own);
            let plans = if weak.is_empty() {
                format!("and no {SELECTION} covers it with a daily plan")
            } else {
                let names: Vec<String> = weak
                    .iter()
                    .map(|(s, why)| format!("{} ({why})", s.resource.address))
                    .collect();
                format!("and the plans of {} fall short", names.join(", "))
            };
            let detail = match own_detail {
                Some(own) => format!("{own}, {plans}"),
                None => plans,
            };
            let examined = weak
                .iter()
                .map(|(s, _)| Origin {
                    file: s.resource.file,
                    span: s.resource.header,
                    message: format!("examined {}", s.resource.address).into(),
                    from_environment: false,
                })
                .collect();
            let undecided = maybe
                || matches!(own, Outcome::Undecided(_))
                || matches!(selected, Outcome::Undecided(_));
            let result = if undecided {
                NativeResult::Undecided {
                    pointer,
                    detail: format!("{detail}, as far as known"),
                }
            } else {
                NativeResult::Fail { pointer, detail }
            };
            results.push(Global {
                at: index,
                result,
                examined,
            });
        }
        GlobalRun {
            results,
            held: Some(held),
        }
    }

    /// Where the store's own setting falls short, and what it is: the
    /// focus attribute's value, or that it is left out and its default.
    fn own_failure(&self, subject: &Resource, own: &Outcome) -> (String, Option<String>) {
        if let Some(focus) = &self.params.focus {
            let path = attribute_path(focus);
            if subject.spans.contains_key(focus.as_str()) {
                return (focus.clone(), crate::engine::value_set(subject, focus));
            }
            let detail = match &self.params.default {
                Some(default) => format!("{path} is not set: the provider default is {default}"),
                None => format!("{path} is not set"),
            };
            return (String::new(), Some(detail));
        }
        let pointer = match own {
            Outcome::Fail(errors) => errors
                .iter()
                .find(|e| e.missing.is_none())
                .or_else(|| errors.first())
                .map(|e| e.pointer.clone())
                .unwrap_or_default(),
            Outcome::Undecided(pointers) => pointers.first().cloned().unwrap_or_default(),
            Outcome::Pass => String::new(),
        };
        (pointer, None)
    }
}

/// One `aws_backup_selection`, with its plan judged once.
struct Selection<'r> {
    resource: &'r Resource,
    plan: Verdict,
}

impl<'r> Selection<'r> {
    fn new(resource: &'r Resource, plans: &Index<'r>, min_days: u64) -> Selection<'r> {
        let found: Vec<&Resource> = plans.referred_by(resource).collect();
        let plan = match found.as_slice() {
            [] => Verdict::Unknown {
                pointer: "/plan_id".into(),
                detail: "its plan is not among the files checked".into(),
            },
            several => {
                let verdicts: Vec<Verdict> =
                    several.iter().map(|p| plan_verdict(p, min_days)).collect();
                verdicts
                    .iter()
                    .find(|v| **v == Verdict::Complies)
                    .or_else(|| {
                        verdicts
                            .iter()
                            .find(|v| matches!(v, Verdict::Unknown { .. }))
                    })
                    .unwrap_or(&verdicts[0])
                    .clone()
            }
        };
        Selection { resource, plan }
    }

    /// Whether the selection covers `subject`: `None` when that depends
    /// on values not known statically. As AWS Backup reads a selection:
    /// the resources it names or matches (`resources`, a `*` wildcard
    /// there, or any `selection_tag`), if every `condition` holds, less
    /// those in `not_resources`.
    fn covers(&self, subject: &Resource) -> Option<bool> {
        let r = self.resource;
        if self.names(subject, "/not_resources") {
            return Some(false);
        }
        if r.is_unknown("/not_resources") {
            return None;
        }
        let tags = subject.attributes.get("tags");
        let wildcard = array(r.attributes.get("resources"))
            .iter()
            .any(|v| v.as_str() == Some("*"));
        let mut base = if self.names(subject, "/resources") || wildcard {
            Some(true)
        } else if r.is_unknown("/resources") && r.references.is_empty() {
            None
        } else {
            Some(false)
        };
        for (i, tag) in array(r.attributes.get("selection_tag")).iter().enumerate() {
            let matched = if r.is_unknown(&format!("/selection_tag/{i}")) {
                None
            } else {
                tag_matches(tag, tags, subject, Some)
            };
            base = or(base, matched);
        }
        let mut conditions = Some(true);
        for (i, condition) in array(r.attributes.get("condition")).iter().enumerate() {
            if r.is_unknown(&format!("/condition/{i}")) {
                conditions = and(conditions, None);
                continue;
            }
            let Some(map) = condition.as_object() else {
                continue;
            };
            for (kind, tests) in map {
                for test in array(Some(tests)) {
                    let matched = match kind.as_str() {
                        "string_equals" => tag_matches(test, tags, subject, |key| {
                            key.strip_prefix("aws:ResourceTag/")
                        }),
                        "string_not_equals" => tag_matches(test, tags, subject, |key| {
                            key.strip_prefix("aws:ResourceTag/")
                        })
                        .map(|m| !m),
                        // `string_like` and `string_not_like` take wildcards
                        // this check does not read.
                        _ => None,
                    };
                    conditions = and(conditions, matched);
                }
            }
        }
        and(base, conditions)
    }

    /// Whether an expression written at `pointer` (or below it) names the
    /// subject: `aws_db_instance.records.arn`, `aws_db_instance.records[0].arn`.
    fn names(&self, subject: &Resource, pointer: &str) -> bool {
        let address = base_address(&subject.address);
        let below = format!("{pointer}/");
        self.resource
            .expressions
            .iter()
            .filter(|(at, _)| at.as_str() == pointer || at.starts_with(&below))
            .any(|(_, expr)| mentions(expr, address))
    }
}

/// Whether `expr` refers to `address` (followed by `.` or `[`).
fn mentions(expr: &str, address: &str) -> bool {
    expr.match_indices(address).any(|(at, _)| {
        let before = expr[..at].chars().next_back();
        let after = expr[at + address.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && matches!(after, Some('.') | Some('['))
    })
}

/// Three-valued or: true wins over unknown.
fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Three-valued and: false wins over unknown.
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn array(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// Whether a `{key, value}` tag test matches the subject's tags; `None`
/// when the test or the tags are not known statically.
fn tag_matches<'k>(
    test: &'k Value,
    tags: Option<&Value>,
    subject: &Resource,
    key_of: impl Fn(&'k str) -> Option<&'k str>,
) -> Option<bool> {
    if let Some(kind) = test.get("type").and_then(Value::as_str) {
        if !kind.eq_ignore_ascii_case("STRINGEQUALS") {
            return Some(false);
        }
    }
    let key = key_of(test.get("key")?.as_str()?)?;
    let wanted = test.get("value")?.as_str()?;
    match tags {
        Some(Value::Object(map)) => match map.get(key) {
            Some(Value::String(v)) => Some(v == wanted),
            Some(Value::Null) => None,
            Some(_) => Some(false),
            None if subject.is_unknown("/tags") => None,
            None => Some(false),
        },
        _ if subject.is_unknown("/tags") => None,
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_schedules_are_told_from_rarer_ones() {
        assert!(runs_daily("cron(0 5 ? * * *)"));
        assert!(runs_daily("cron(0 */4 * * ? *)"));
        assert!(runs_daily(" cron(30 1 * * ? *) "));
        assert!(!runs_daily("cron(0 5 ? * SUN *)"));
        assert!(!runs_daily("cron(0 5 1 * ? *)"));
        assert!(!runs_daily("cron(0 5 ? 1 * *)"));
        assert!(!runs_daily("rate(1 day)"));
        assert!(!runs_daily("cron(0 5)"));
    }

    #[test]
    fn unknowns_give_way_to_a_decided_answer() {
        assert_eq!(or(None, Some(true)), Some(true));
        assert_eq!(or(Some(false), None), None);
        assert_eq!(and(None, Some(false)), Some(false));
        assert_eq!(and(Some(true), None), None);
        assert_eq!(and(Some(true), Some(true)), Some(true));
    }

    #[test]
    fn a_reference_is_told_from_a_longer_name() {
        assert!(mentions(
            "aws_db_instance.records.arn",
            "aws_db_instance.records"
        ));
        assert!(mentions(
            "[aws_db_instance.records[0].arn]",
            "aws_db_instance.records"
        ));
        assert!(!mentions(
            "aws_db_instance.records_old.arn",
            "aws_db_instance.records"
        ));
        assert!(!mentions(
            "module.x.aws_db_instance.records.arn",
            "aws_db_instance.records"
        ));
    }
}
