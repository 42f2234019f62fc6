//! `linked`: a resource passes when another resource that refers to it
//! satisfies a schema — an S3 bucket and its separate public-access-block
//! or encryption resource, an environment and its log drain. Optionally
//! the resource passes on its own (the deprecated inline blocks).
//!
//! A related resource refers to the subject through `attribute`: by a
//! reference to the subject's address (`aws_s3_bucket.logs.id`), or by a
//! literal equal to one of the subject's `match_by` attributes (the bucket
//! name). A related resource whose link is unknown makes the verdict
//! undecided, never a guess.

use serde::Deserialize;
use serde_json::Value;

use super::NativeResult;
use crate::engine::schema::{self, CompiledSchema, Outcome};
use crate::engine::wording;
use std::collections::HashMap;

use crate::model::{BlockKind, Index, Resource};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The resource types checked.
    subjects: Vec<String>,
    /// Types of the resources that refer to a subject.
    related: Vec<String>,
    /// The related resource's attribute naming the subject (the
    /// subject's attribute naming the related one, with `from_subject`).
    attribute: String,
    /// The link goes from the subject to the related resource (a
    /// database naming its parameter group), not the other way.
    #[serde(default)]
    from_subject: bool,
    /// Which subjects are checked (all, when absent).
    when: Option<Value>,
    /// Subject attributes a literal link may equal (a bucket's `bucket`).
    #[serde(default)]
    match_by: Vec<String>,
    /// What a related resource must satisfy (any related one does, when
    /// absent).
    require: Option<Value>,
    /// What makes a subject pass on its own.
    inline: Option<Value>,
    /// Types of resources that, satisfying `require`, cover every subject
    /// (an account-wide public access block).
    #[serde(default)]
    account_wide: Vec<String>,
    /// Said when no related resource refers to the subject.
    missing: String,
    /// Said when related resources exist but none satisfies `require`.
    insufficient: String,
}

#[derive(Debug)]
pub struct Linked {
    params: Params,
    require: Option<CompiledSchema>,
    inline: Option<CompiledSchema>,
    when: Option<CompiledSchema>,
}

impl Linked {
    pub fn new(params: &Value) -> Result<Linked, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `linked`: {e}"))?;
        let compile = |schema: &Option<Value>| schema.as_ref().map(schema::compile).transpose();
        Ok(Linked {
            require: compile(&params.require)
                .map_err(|e| format!("invalid `require` schema: {e}"))?,
            inline: compile(&params.inline).map_err(|e| format!("invalid `inline` schema: {e}"))?,
            when: compile(&params.when).map_err(|e| format!("invalid `when` schema: {e}"))?,
            params,
        })
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        let p = &self.params;
        let subjects = wording::or_list(&wording::code(&p.subjects));
        let related = wording::or_list(&wording::code(&p.related));
        let mut out = vec![match &p.when {
            Some(when) => format!("Checks each {subjects} where {}.", wording::schema(when)),
            None => format!("Checks each {subjects}."),
        }];
        if let Some(inline) = &p.inline {
            out.push(format!(
                "It passes on its own when {}.",
                wording::schema(inline)
            ));
        }
        let passes = if p.inline.is_some() {
            "Otherwise it passes"
        } else {
            "It passes"
        };
        let attribute = &p.attribute;
        let how = |whose: &str| {
            if p.match_by.is_empty() {
                String::new()
            } else {
                format!(
                    " (by reference or by {whose} {})",
                    wording::or_list(&wording::code(&p.match_by))
                )
            }
        };
        let link = if p.from_subject {
            format!("the {related} it names in `{attribute}`{}", how("its"))
        } else {
            format!(
                "{} {related} refers to it in `{attribute}`{}",
                wording::article(&related),
                how(&format!("the {subjects}'s"))
            )
        };
        out.push(match (&p.require, p.from_subject) {
            (Some(require), true) => format!(
                "{passes} when {link} satisfies: {}.",
                wording::schema(require)
            ),
            (Some(require), false) => format!(
                "{passes} when {link} and satisfies: {}.",
                wording::schema(require)
            ),
            (None, true) => format!("{passes} when {link} exists."),
            (None, false) => format!("{passes} when {link}."),
        });
        if !p.account_wide.is_empty() {
            let covering = wording::or_list(&wording::code(&p.account_wide));
            let satisfying = if p.require.is_some() {
                " that satisfies the same"
            } else {
                ""
            };
            out.push(format!(
                "{} {covering}{satisfying} covers every {subjects}.",
                wording::capitalised(wording::article(&covering))
            ));
        }
        out.push("A link not known statically makes the verdict undecided.".to_string());
        out.join(" ")
    }

    pub fn run_global(&self, resources: &[Resource]) -> Vec<(usize, NativeResult)> {
        let types: Vec<&str> = self.params.related.iter().map(String::as_str).collect();
        let related = Index::of(resources, &types);
        let links = Links::new(&self.params, &related);
        let covered_everywhere = resources.iter().any(|r| {
            r.kind == BlockKind::Resource
                && self.params.account_wide.contains(&r.resource_type)
                && self
                    .require
                    .as_ref()
                    .is_none_or(|s| schema::evaluate(s, r) == Outcome::Pass)
        });
        if covered_everywhere {
            return Vec::new();
        }
        let mut results = Vec::new();
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
            if let Some(inline) = &self.inline {
                if schema::evaluate(inline, subject) == Outcome::Pass {
                    continue;
                }
            }
            let (linked, maybe) = links.of(subject, &related);
            let outcomes: Vec<Outcome> = linked
                .iter()
                .map(|r| match &self.require {
                    Some(require) => schema::evaluate(require, r),
                    None => Outcome::Pass,
                })
                .collect();
            if outcomes.contains(&Outcome::Pass) {
                continue;
            }
            let undecided = maybe
                || matches!(selected, Outcome::Undecided(_))
                || outcomes.iter().any(|o| matches!(o, Outcome::Undecided(_)));
            let detail = if linked.is_empty() {
                self.params.missing.clone()
            } else {
                self.params.insufficient.clone()
            };
            let result = if undecided {
                NativeResult::Undecided {
                    pointer: String::new(),
                    detail: format!("{detail}, as far as known"),
                }
            } else {
                NativeResult::Fail {
                    pointer: String::new(),
                    detail,
                }
            };
            results.push((index, result));
        }
        results
    }
}

/// What links related resources to subjects, indexed once per run.
struct Links<'p, 'r> {
    params: &'p Params,
    /// Related resources by the literal value of their `attribute` (or,
    /// with `from_subject`, of their `match_by` attributes).
    literal: HashMap<&'r str, Vec<&'r Resource>>,
    /// Some related resource's link is unknown and refers to nothing.
    unknown: bool,
}

impl<'p, 'r> Links<'p, 'r> {
    fn new(params: &'p Params, related: &Index<'r>) -> Links<'p, 'r> {
        let mut literal: HashMap<&'r str, Vec<&'r Resource>> = HashMap::new();
        let mut unknown = false;
        let keys: Vec<&str> = if params.from_subject {
            params.match_by.iter().map(String::as_str).collect()
        } else {
            vec![params.attribute.as_str()]
        };
        for r in related.all() {
            for key in &keys {
                if let Some(Value::String(text)) = r.attributes.get(*key) {
                    literal.entry(text.as_str()).or_default().push(r);
                }
            }
            let pointer = crate::model::push_pointer("", &params.attribute);
            if !params.from_subject && r.is_unknown(&pointer) && r.references.is_empty() {
                unknown = true;
            }
        }
        Links {
            params,
            literal,
            unknown,
        }
    }

    /// The related resources linked to `subject`, and whether an unknown
    /// link may add one.
    fn of(&self, subject: &Resource, related: &Index<'r>) -> (Vec<&'r Resource>, bool) {
        let mut linked: Vec<&'r Resource> = Vec::new();
        let maybe = if self.params.from_subject {
            for reference in &subject.references {
                linked.extend(related.named(reference));
            }
            if let Some(Value::String(name)) = subject.attributes.get(&self.params.attribute) {
                linked.extend(self.literal.get(name.as_str()).into_iter().flatten());
            }
            let pointer = crate::model::push_pointer("", &self.params.attribute);
            linked.is_empty() && subject.is_unknown(&pointer)
        } else {
            linked.extend(related.referring_to(&subject.address));
            for key in &self.params.match_by {
                if let Some(Value::String(name)) = subject.attributes.get(key) {
                    linked.extend(self.literal.get(name.as_str()).into_iter().flatten());
                }
            }
            self.unknown
        };
        linked.sort_by(|a, b| a.address.cmp(&b.address));
        linked.dedup_by(|a, b| a.address == b.address);
        (linked, maybe)
    }
}
