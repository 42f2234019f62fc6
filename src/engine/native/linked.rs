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

use super::{Global, GlobalRun, NativeResult};
use crate::engine::schema::{self, CompiledSchema, Outcome};
use crate::engine::wording;
use std::collections::{HashMap, HashSet};

use crate::model::{BlockKind, Index, Origin, Resource};

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
    /// A subject no related resource is found for is undecided rather
    /// than failing: the related resource may live outside the files
    /// checked (a read replica's source database).
    #[serde(default)]
    missing_undecided: bool,
    /// Attributes of an examined related resource worth naming in the
    /// message (a parameter group's `family`).
    #[serde(default)]
    show: Vec<String>,
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
        if p.missing_undecided {
            out.push(format!(
                "When no {related} is found among the files checked, the verdict is undecided."
            ));
        }
        out.push("A link not known statically makes the verdict undecided.".to_string());
        out.join(" ")
    }

    pub fn run_global(&self, resources: &[Resource]) -> GlobalRun {
        let types: Vec<&str> = self.params.related.iter().map(String::as_str).collect();
        let related = Index::of(resources, &types);
        let links = Links::new(&self.params, &related);
        // An account-wide resource covers the subjects of its own root
        // module: another root may well deploy to another account.
        let covered: HashSet<u32> = resources
            .iter()
            .filter(|r| {
                r.kind == BlockKind::Resource
                    && self.params.account_wide.contains(&r.resource_type)
                    && self
                        .require
                        .as_ref()
                        .is_none_or(|s| schema::evaluate(s, r) == Outcome::Pass)
            })
            .map(|r| r.scope)
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
            if covered.contains(&subject.scope) {
                if selected == Outcome::Pass {
                    held.push(index);
                }
                continue;
            }
            // An inline configuration not known statically may pass on
            // its own: no related resource can make that a failure.
            let mut inline_unknown = false;
            if let Some(inline) = &self.inline {
                match schema::evaluate(inline, subject) {
                    Outcome::Pass => {
                        if selected == Outcome::Pass {
                            held.push(index);
                        }
                        continue;
                    }
                    Outcome::Undecided(_) => inline_unknown = true,
                    Outcome::Fail(_) => {}
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
                if selected == Outcome::Pass {
                    held.push(index);
                }
                continue;
            }
            let undecided = maybe
                || inline_unknown
                || (linked.is_empty() && self.params.missing_undecided)
                || matches!(selected, Outcome::Undecided(_))
                || outcomes.iter().any(|o| matches!(o, Outcome::Undecided(_)));
            let detail = if linked.is_empty() {
                self.params.missing.clone()
            } else {
                let names: Vec<String> = linked.iter().map(|r| self.name(r)).collect();
                format!("{}: {}", self.params.insufficient, names.join(", "))
            };
            let examined = linked
                .iter()
                .map(|r| Origin {
                    file: r.file,
                    span: r.header,
                    message: format!("examined {}", self.name(r)).into(),
                    from_environment: false,
                })
                .collect();
            let result = if undecided {
                NativeResult::Undecided {
                    pointer: String::new(),
                    detail: if linked.is_empty() && self.params.missing_undecided {
                        detail
                    } else {
                        format!("{detail}, as far as known")
                    },
                }
            } else {
                NativeResult::Fail {
                    pointer: String::new(),
                    detail,
                }
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

    /// A related resource's address, with the attributes `show` names
    /// (`aws_db_parameter_group.params (family mysql8.0)`).
    fn name(&self, r: &Resource) -> String {
        let shown: Vec<String> = self
            .params
            .show
            .iter()
            .filter_map(|key| match r.attributes.get(key) {
                Some(Value::String(v)) => Some(format!("{key} {v}")),
                Some(Value::Number(n)) => Some(format!("{key} {n}")),
                Some(Value::Bool(b)) => Some(format!("{key} {b}")),
                _ => None,
            })
            .collect();
        if shown.is_empty() {
            r.address.clone()
        } else {
            format!("{} ({})", r.address, shown.join(", "))
        }
    }
}

/// What links related resources to subjects, indexed once per run.
struct Links<'p, 'r> {
    params: &'p Params,
    /// Related resources by scope and the literal value of their
    /// `attribute` (or, with `from_subject`, of their `match_by`
    /// attributes): a name links only inside one root module.
    literal: HashMap<u32, HashMap<&'r str, Vec<&'r Resource>>>,
    /// The scopes where some related resource's link is unknown and
    /// refers to nothing.
    unknown: HashSet<u32>,
}

impl<'p, 'r> Links<'p, 'r> {
    fn new(params: &'p Params, related: &Index<'r>) -> Links<'p, 'r> {
        let mut literal: HashMap<u32, HashMap<&'r str, Vec<&'r Resource>>> = HashMap::new();
        let mut unknown = HashSet::new();
        let keys: Vec<&str> = if params.from_subject {
            params.match_by.iter().map(String::as_str).collect()
        } else {
            vec![params.attribute.as_str()]
        };
        for r in related.all() {
            for key in &keys {
                if let Some(Value::String(text)) = r.attributes.get(*key) {
                    literal
                        .entry(r.scope)
                        .or_default()
                        .entry(text.as_str())
                        .or_default()
                        .push(r);
                }
            }
            let pointer = crate::model::push_pointer("", &params.attribute);
            if !params.from_subject && r.is_unknown(&pointer) && r.references.is_empty() {
                unknown.insert(r.scope);
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
            linked.extend(related.referred_by(subject));
            if let Some(Value::String(name)) = subject.attributes.get(&self.params.attribute) {
                linked.extend(self.named(subject, name));
            }
            let pointer = crate::model::push_pointer("", &self.params.attribute);
            linked.is_empty() && subject.is_unknown(&pointer)
        } else {
            linked.extend(related.referring_to(subject));
            for key in &self.params.match_by {
                if let Some(Value::String(name)) = subject.attributes.get(key) {
                    linked.extend(self.named(subject, name));
                }
            }
            self.unknown.contains(&subject.scope)
        };
        linked.sort_by(|a, b| a.address.cmp(&b.address));
        linked.dedup_by(|a, b| a.address == b.address);
        (linked, maybe)
    }

    /// The related resources named `name` in `subject`'s scope.
    fn named(&self, subject: &Resource, name: &str) -> &[&'r Resource] {
        self.literal
            .get(&subject.scope)
            .and_then(|m| m.get(name))
            .map_or(&[], Vec::as_slice)
    }
}
