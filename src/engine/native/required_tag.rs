//! `required-tag`: an approval tag (change request, approver, owner)
//! every resource must carry, in its tags or, for manifests, its labels
//! and annotations; the configuration's `approval-tags` renames it.

use serde::Deserialize;
use serde_json::Value;

use super::NativeResult;
use crate::engine::wording;
use crate::model::{push_pointer, Resource};

/// The parameters of `required-tag`, as a rule file writes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredTagParams {
    /// Which approval tag of the config file (`approval-tags`) may
    /// rename the tag or change its pattern: `change-request`,
    /// `approver` or `owner`.
    slot: Option<String>,
    tag: String,
    pattern: Option<String>,
    /// The maps the tag may be in, by JSON pointer, looked at in order:
    /// `[/tags]` (the default) for Terraform, `[/metadata/annotations,
    /// /metadata/labels]` for Kubernetes objects, `[/labels]` for compose
    /// services; `policy` names the `# policy:` comment above the block,
    /// for resources that take no tags (Aptible).
    at: Option<Vec<String>>,
    /// The maps hold lowercase keys and values only (GCP labels): the
    /// tag's name is lowercased and its value matched ignoring case.
    #[serde(default)]
    lowercase: bool,
}

/// The place `at` names for the `# policy:` comment above a block.
const POLICY: &str = "policy";

/// A tag every resource must carry in one of the maps `at` (`tags` by
/// default), with a value matching `pattern` (any non-blank value when
/// there is none).
#[derive(Debug, Clone)]
pub struct RequiredTag {
    pub slot: Option<String>,
    pub tag: String,
    pub pattern: Option<regex::Regex>,
    pub at: Vec<String>,
    /// Keys and values are lowercase where the tag lives (GCP labels).
    pub lowercase: bool,
}

impl RequiredTag {
    pub(super) fn new(params: &Value) -> Result<RequiredTag, String> {
        let params: RequiredTagParams = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `required-tag`: {e}"))?;
        let at = params.at.unwrap_or_else(|| vec!["/tags".to_string()]);
        if at.is_empty() || at.iter().any(|p| !p.starts_with('/') && p != POLICY) {
            return Err(
                "`at` lists JSON pointers such as `/tags`, or `policy` for the `# policy:` comment"
                    .to_string(),
            );
        }
        let mut check = RequiredTag {
            slot: params.slot,
            tag: String::new(),
            pattern: None,
            at,
            lowercase: params.lowercase,
        };
        check.configure(Some(params.tag), params.pattern)?;
        Ok(check)
    }

    /// Renames the tag or changes its pattern, as the config file asks.
    /// Where keys and values are lowercase (`lowercase`), the name is
    /// lowercased and the pattern matches ignoring case, so one setting
    /// serves AWS tags and GCP labels alike (`OPS-123` is `ops-123`).
    pub fn configure(
        &mut self,
        tag: Option<String>,
        pattern: Option<String>,
    ) -> Result<(), String> {
        if let Some(tag) = tag {
            self.tag = if self.lowercase {
                tag.to_lowercase()
            } else {
                tag
            };
        }
        if let Some(pattern) = pattern {
            let regex = regex::RegexBuilder::new(&pattern)
                .case_insensitive(self.lowercase)
                .build()
                .map_err(|e| format!("invalid tag pattern `{pattern}`: {e}"))?;
            self.pattern = Some(regex);
        }
        Ok(())
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        let places: Vec<String> = self
            .at
            .iter()
            .map(|p| {
                if p == POLICY {
                    "the `# policy:` comment above the block".to_string()
                } else {
                    format!("`{p}`")
                }
            })
            .collect();
        let place = match places.len() {
            1 => format!("in {}", places[0]),
            _ => format!("in {}, looked up in that order", wording::or_list(&places)),
        };
        let value = match &self.pattern {
            Some(pattern) if self.lowercase => {
                format!("a value matching `{pattern}` in any case")
            }
            Some(pattern) => format!("a value matching `{pattern}`"),
            None => "a value that is not blank".to_string(),
        };
        let mut out = format!(
            "Passes when the resource carries the `{}` {} ({place}) with {value}.",
            self.tag,
            self.noun()
        );
        if let Some(slot) = &self.slot {
            out.push_str(&format!(
                " `{slot}` under the configuration's `approval-tags` may rename the {} \
                 (`name`) and set its pattern (`pattern`).",
                self.noun()
            ));
        }
        if self.lowercase {
            out.push_str(&format!(
                " {} hold lowercase keys and values only, so the name is lowercased \
                 and the value matched ignoring case.",
                wording::capitalised(&self.plural())
            ));
        }
        out.push_str(&format!(
            " {} not known statically make the verdict undecided.",
            wording::capitalised(&self.plural())
        ));
        out
    }

    /// The singular noun for the maps the tag is looked for in: `tag`,
    /// `annotation or label`.
    fn noun(&self) -> String {
        let nouns: Vec<&str> = self
            .at
            .iter()
            .map(|p| {
                if p == POLICY {
                    return "`# policy:` key";
                }
                let last = p.rsplit('/').next().unwrap_or(p);
                last.strip_suffix('s').unwrap_or(last)
            })
            .collect();
        nouns.join(" or ")
    }

    /// `tags`, `annotations or labels`.
    fn plural(&self) -> String {
        let names: Vec<&str> = self
            .at
            .iter()
            .map(|p| {
                if p == POLICY {
                    "`# policy:` comments"
                } else {
                    p.rsplit('/').next().unwrap_or(p)
                }
            })
            .collect();
        names.join(" or ")
    }

    pub(super) fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        let tag = &self.tag;
        let noun = self.noun();
        let mut unknown_place = None;
        let mut present_place = None;
        let mut found = None;
        for place in &self.at {
            if place == POLICY {
                if let Some(value) = resource.policy.get(tag.as_str()) {
                    return self.judge(String::new(), value);
                }
                if !resource.policy.is_empty() {
                    present_place.get_or_insert(place);
                }
                continue;
            }
            if resource.is_unknown(place) {
                unknown_place.get_or_insert(place);
                continue;
            }
            let Some(map) = resource.attributes.pointer(place) else {
                continue;
            };
            present_place.get_or_insert(place);
            if let Some(value) = map.as_object().and_then(|m| m.get(tag.as_str())) {
                found = Some((place, value));
                break;
            }
        }
        let Some((tags_pointer, value)) = found else {
            if let Some(place) = unknown_place {
                return vec![NativeResult::Undecided {
                    pointer: place.clone(),
                    detail: format!("`{tag}` may come from the unknown {}", self.plural()),
                }];
            }
            return vec![match present_place {
                Some(place) => NativeResult::Fail {
                    pointer: if place == POLICY {
                        String::new()
                    } else {
                        place.clone()
                    },
                    detail: if place == POLICY {
                        format!("no `{tag}` key in its `# policy:` comment")
                    } else {
                        format!("no `{tag}` {noun}")
                    },
                },
                // Reported at the object that lacks the map: the resource
                // itself for `/tags`.
                None => NativeResult::Fail {
                    pointer: self
                        .at
                        .first()
                        .filter(|p| *p != POLICY)
                        .map(|p| crate::model::parent_pointer(p).to_string())
                        .unwrap_or_default(),
                    detail: if self.at.iter().all(|p| p == POLICY) {
                        "no `# policy:` comment above the block".to_string()
                    } else {
                        format!("no {}, so no `{tag}` {noun}", self.plural())
                    },
                },
            }];
        };
        let pointer = push_pointer(tags_pointer, tag);
        if resource.is_unknown(&pointer) {
            return vec![NativeResult::Undecided {
                pointer,
                detail: format!("the `{tag}` value is unknown"),
            }];
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        };
        self.judge(pointer, &text)
    }

    /// The verdict on the value found at `pointer`.
    fn judge(&self, pointer: String, text: &str) -> Vec<NativeResult> {
        let tag = &self.tag;
        let ok = match &self.pattern {
            Some(pattern) => pattern.is_match(text),
            None => !text.trim().is_empty(),
        };
        if ok {
            return Vec::new();
        }
        let detail = match &self.pattern {
            _ if text.trim().is_empty() => format!("`{tag}` is empty"),
            Some(pattern) if self.lowercase => {
                format!("`{tag}` = {text:?} does not match `{pattern}` in any case")
            }
            Some(pattern) => format!("`{tag}` = {text:?} does not match `{pattern}`"),
            None => format!("`{tag}` is empty"),
        };
        vec![NativeResult::Fail { pointer, detail }]
    }
}
