//! `database-reachable-from-internet`: a database whose security groups
//! admit the whole internet — in the group's inline `ingress` blocks or in
//! separate `aws_security_group_rule` / `aws_vpc_security_group_ingress_rule`
//! resources attached to the group — on the database's port or on every
//! port. It follows the references a database holds to its groups, and the
//! references the rules hold to the groups.

use serde::Deserialize;
use serde_json::Value;

use super::{NativeResult, OpenIngress};
use crate::engine::wording;
use crate::model::{BlockKind, Index, Resource};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Database resource types and the attribute listing their groups.
    databases: Vec<Database>,
    /// Ports assumed when a database's `port` is not set.
    default_ports: Vec<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Database {
    #[serde(rename = "type")]
    resource_type: String,
    attribute: String,
}

#[derive(Debug)]
pub struct Reachable {
    params: Params,
}

/// The security group rule resources, and the attribute naming their group.
const RULE_TYPES: &[(&str, &str)] = &[
    ("aws_security_group_rule", "security_group_id"),
    ("aws_vpc_security_group_ingress_rule", "security_group_id"),
];

impl Reachable {
    pub fn new(params: &Value) -> Result<Reachable, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `database-reachable-from-internet`: {e}"))?;
        Ok(Reachable { params })
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        // Types sharing an attribute, said together, in the params' order.
        let mut by_attribute: Vec<(&str, Vec<&str>)> = Vec::new();
        for database in &self.params.databases {
            match by_attribute
                .iter_mut()
                .find(|(a, _)| *a == database.attribute)
            {
                Some((_, types)) => types.push(&database.resource_type),
                None => by_attribute.push((&database.attribute, vec![&database.resource_type])),
            }
        }
        let databases: Vec<String> = by_attribute
            .iter()
            .map(|(attribute, types)| {
                format!(
                    "{} by the references in `{attribute}`",
                    wording::and_list(&wording::code(types))
                )
            })
            .collect();
        let ports: Vec<String> = self
            .params
            .default_ports
            .iter()
            .map(u16::to_string)
            .collect();
        let rules: Vec<&str> = RULE_TYPES.iter().map(|(t, _)| *t).collect();
        format!(
            "Follows each database to its `aws_security_group` resources ({}) and to the \
             {} resources attached to those groups, and fails when one admits the whole \
             internet (`0.0.0.0/0` or `::/0`) on the database's `port` (when it is not \
             set: {}) or on every port. Groups or rules not known statically make the \
             verdict undecided.",
            databases.join("; "),
            wording::or_list(&wording::code(&rules)),
            wording::or_list(&ports)
        )
    }

    pub fn run_global(&self, resources: &[Resource]) -> Vec<(usize, NativeResult)> {
        let groups = Index::of(resources, &["aws_security_group"]);
        let rule_types: Vec<&str> = RULE_TYPES.iter().map(|(t, _)| *t).collect();
        let rules = Index::of(resources, &rule_types);
        let mut results = Vec::new();
        for (index, database) in resources.iter().enumerate() {
            let Some(spec) = self.params.databases.iter().find(|d| {
                d.resource_type == database.resource_type && database.kind == BlockKind::Resource
            }) else {
                continue;
            };
            let pointer = crate::model::push_pointer("", &spec.attribute);
            let ports = match database.attributes.get("port").and_then(Value::as_u64) {
                Some(port) => vec![u16::try_from(port).unwrap_or(0)],
                None => self.params.default_ports.clone(),
            };
            let check = OpenIngress { ports };
            let mut attached: Vec<&Resource> = groups.referred_by(database).collect();
            attached.dedup_by(|a, b| a.address == b.address);
            let mut found = None;
            let mut undecided = None;
            for group in &attached {
                let mut outcomes = check.run(group);
                for rule in rules.referring_to(group) {
                    for outcome in check.run(rule) {
                        outcomes.push(match outcome {
                            NativeResult::Fail { pointer, detail } => NativeResult::Fail {
                                pointer,
                                detail: format!("{detail} in {}", rule.address),
                            },
                            other => other,
                        });
                    }
                }
                for outcome in outcomes {
                    match outcome {
                        NativeResult::Fail { detail, .. } if found.is_none() => {
                            found = Some(format!("through {}: {detail}", group.address));
                        }
                        NativeResult::Undecided { detail, .. } if undecided.is_none() => {
                            undecided = Some(format!("through {}: {detail}", group.address));
                        }
                        _ => {}
                    }
                }
            }
            let groups_unknown = database.is_unknown(&pointer) && attached.is_empty();
            let result = match (found, undecided) {
                (Some(detail), _) => NativeResult::Fail { pointer, detail },
                (None, Some(detail)) => NativeResult::Undecided { pointer, detail },
                (None, None) if groups_unknown => NativeResult::Undecided {
                    pointer,
                    detail: "its security groups are not known statically".into(),
                },
                (None, None) => continue,
            };
            results.push((index, result));
        }
        results
    }
}
