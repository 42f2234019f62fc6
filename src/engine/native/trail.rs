//! `audit-trail`: a Terraform root that configures the AWS provider (an
//! account root) and declares data stores also declares an account audit
//! trail (CMP 8.6.5) — a question about the system, not
//! about one resource. One finding per root module lacking a trail,
//! reported on the first data store the root declares itself (or, when
//! all of them come from modules, on the first one).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::{Global, GlobalRun, NativeResult};
use crate::engine::schema::{self, CompiledSchema, Outcome};
use crate::engine::wording;
use crate::model::{BlockKind, Origin, Resource};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The resource types that count as a trail (`aws_cloudtrail`).
    trails: Vec<String>,
    /// What a trail must satisfy to count (any trail does, when absent).
    require: Option<Value>,
    /// The provider whose block, in a root module, makes it an account
    /// root (`aws`); roots without one are not checked.
    provider: String,
}

#[derive(Debug)]
pub struct AuditTrail {
    params: Params,
    require: Option<CompiledSchema>,
    /// The data store types: the rule's resource types.
    stores: BTreeSet<String>,
}

/// Data stores named in a message, at most.
const NAMED: usize = 3;

impl AuditTrail {
    pub fn new(params: &Value) -> Result<AuditTrail, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `audit-trail`: {e}"))?;
        if params.trails.is_empty() {
            return Err("`trails` names at least one resource type".to_string());
        }
        Ok(AuditTrail {
            require: params
                .require
                .as_ref()
                .map(schema::compile)
                .transpose()
                .map_err(|e| format!("invalid `require` schema: {e}"))?,
            params,
            stores: BTreeSet::new(),
        })
    }

    /// Whether a store of this type is the provider's own, which the
    /// trail audits: an Aptible database is no concern of an AWS trail.
    pub fn judges(&self, resource_type: &str) -> bool {
        resource_type
            .strip_prefix(self.params.provider.as_str())
            .is_some_and(|rest| rest.starts_with('_'))
    }

    /// The data store types, from the rule's `resource_types` narrowed
    /// to those it [`judges`](AuditTrail::judges).
    pub fn set_stores(&mut self, types: &BTreeSet<String>) {
        self.stores = types.clone();
    }

    pub fn describe(&self) -> String {
        let trails = wording::or_list(&wording::code(&self.params.trails));
        let what = match &self.params.require {
            Some(require) => format!(
                "{} {trails} that satisfies: {}",
                wording::article(&trails),
                wording::schema(require)
            ),
            None => format!("{} {trails}", wording::article(&trails)),
        };
        format!(
            "Checks each Terraform root module that configures the `{}` provider (a `provider` \
             block in the root itself: an account root) and declares one of the rule's resource \
             types (data stores) of that provider, in the root or in the modules it calls: it \
             passes when the root also declares {what}. A root without one gets one finding, on \
             the first data store declared in the root module itself (on the first one from its \
             modules when it declares none). A trail not known statically makes the verdict \
             undecided.",
            self.params.provider
        )
    }

    pub fn run_global(&self, resources: &[Resource]) -> GlobalRun {
        let provider = format!("provider.{}", self.params.provider);
        let mut roots: BTreeMap<u32, Root> = BTreeMap::new();
        for (index, r) in resources.iter().enumerate() {
            if r.scope == 0 {
                continue;
            }
            match r.kind {
                BlockKind::Resource if self.stores.contains(&r.resource_type) => {
                    roots.entry(r.scope).or_default().stores.push(index);
                }
                BlockKind::Resource if self.params.trails.contains(&r.resource_type) => {
                    roots.entry(r.scope).or_default().trails.push(index);
                }
                BlockKind::Provider if r.address == provider && r.module.is_empty() => {
                    roots.entry(r.scope).or_default().account = true;
                }
                _ => {}
            }
        }
        let mut results = Vec::new();
        let mut held = Vec::new();
        for root in roots
            .values()
            .filter(|root| root.account && !root.stores.is_empty())
        {
            let outcomes: Vec<Outcome> = root
                .trails
                .iter()
                .map(|&t| match &self.require {
                    Some(require) => schema::evaluate(require, &resources[t]),
                    None => Outcome::Pass,
                })
                .collect();
            if outcomes.contains(&Outcome::Pass) {
                held.extend(root.stores.iter().copied());
                continue;
            }
            let names: Vec<&str> = root
                .stores
                .iter()
                .take(NAMED)
                .map(|&i| resources[i].address.as_str())
                .collect();
            let more = root.stores.len().saturating_sub(NAMED);
            let stores = match more {
                0 => names.join(", "),
                n => format!("{} and {n} more", names.join(", ")),
            };
            let trails = wording::or_list(&wording::code(&self.params.trails));
            let detail = if root.trails.is_empty() {
                format!("no {trails} in this root, which declares data stores: {stores}")
            } else {
                let names: Vec<&str> = root
                    .trails
                    .iter()
                    .map(|&t| resources[t].address.as_str())
                    .collect();
                format!(
                    "no trail of this root records: {} (data stores: {stores})",
                    names.join(", ")
                )
            };
            let examined = root
                .trails
                .iter()
                .map(|&t| Origin {
                    file: resources[t].file,
                    span: resources[t].header,
                    message: format!("examined {}", resources[t].address).into(),
                    from_environment: false,
                })
                .collect();
            let at = root
                .stores
                .iter()
                .copied()
                .find(|&i| resources[i].module.is_empty())
                .unwrap_or(root.stores[0]);
            let result = if outcomes.iter().any(|o| matches!(o, Outcome::Undecided(_))) {
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
            results.push(Global {
                at,
                result,
                examined,
            });
        }
        GlobalRun {
            results,
            held: Some(held),
        }
    }
}

/// What one root module declares, by index into the resources.
#[derive(Default)]
struct Root {
    stores: Vec<usize>,
    trails: Vec<usize>,
    /// The root module configures the provider itself.
    account: bool,
}
