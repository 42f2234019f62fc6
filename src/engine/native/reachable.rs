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
            let result = match (found, undecided) {
                (Some(detail), _) => NativeResult::Fail { pointer, detail },
                (None, Some(detail)) => NativeResult::Undecided { pointer, detail },
                (None, None) => match unresolved_groups(database, &pointer, &attached) {
                    Some(detail) => NativeResult::Undecided { pointer, detail },
                    None => continue,
                },
            };
            results.push((index, result));
        }
        results
    }
}

/// Why the groups a database lists at `pointer` are not all judged: the
/// list is not known statically, or it holds more groups than the
/// `attached` ones found among the files checked (a group from a module
/// that was not scanned, a literal `sg-...` id managed elsewhere). `None`
/// when every listed group was found, or none is listed (the VPC's
/// default group, which admits only its own members).
fn unresolved_groups(database: &Resource, pointer: &str, attached: &[&Resource]) -> Option<String> {
    let written = |at: &str| database.unknown_source(at);
    // The groups as the database's own module refers to them
    // (`aws_security_group.db`), to tell their elements from the others.
    let locals: Vec<String> = attached
        .iter()
        .map(|group| {
            let base = crate::model::base_address(&group.address);
            let mut parts = base.rsplitn(3, '.');
            let name = parts.next().unwrap_or_default();
            let kind = parts.next().unwrap_or_default();
            format!("{kind}.{name}")
        })
        .collect();
    let names_attached = |expression: &str| {
        locals.iter().any(|local| {
            expression.match_indices(local.as_str()).any(|(at, _)| {
                matches!(
                    expression.as_bytes().get(at + local.len()),
                    Some(b'.' | b'[')
                )
            })
        })
    };
    if database.is_unknown(pointer) {
        return attached.is_empty().then(|| {
            format!(
                "its security groups ({}) are not known statically",
                written(pointer)
            )
        });
    }
    let Some(Value::Array(listed)) = database.attributes.pointer(pointer) else {
        return None;
    };
    if listed.len() <= attached.len() {
        return None;
    }
    let missing = listed.len() - attached.len();
    // Name one group that was not found: an unknown element by what it
    // was written as, a literal by its value.
    let example = (0..listed.len()).rev().find_map(|i| {
        let at = crate::model::push_pointer(pointer, &i.to_string());
        if database.is_unknown(&at) {
            let expression = written(&at);
            (!names_attached(&expression)).then_some(expression)
        } else {
            listed[i].as_str().map(|id| format!("`{id}`"))
        }
    });
    let of = if listed.len() == 1 {
        "its security group".to_string()
    } else {
        format!("{missing} of its {} security groups", listed.len())
    };
    Some(match example {
        Some(example) => format!(
            "{of} ({example}) {} not among the files checked, so the traffic {} admits is not known",
            if missing == 1 { "is" } else { "are" },
            if missing == 1 { "it" } else { "they" }
        ),
        None => format!("{of} are not among the files checked"),
    })
}
