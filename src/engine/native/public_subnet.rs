//! `database-in-public-subnet`: a database whose subnet group holds a
//! public subnet — one that gives instances public addresses
//! (`map_public_ip_on_launch = true`) or whose route table sends
//! `0.0.0.0/0` (or `::/0`) to an internet gateway, through an inline
//! `route` block or a separate `aws_route`. The links are followed through
//! references (or literal names, for subnet groups): database → subnet
//! group → subnets ← route table associations → route tables ← routes.

use serde::Deserialize;
use serde_json::Value;

use super::NativeResult;
use crate::engine::wording;
use crate::model::{BlockKind, Index, Resource};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    databases: Vec<Database>,
}

/// A database type, the attribute naming its subnet group, and the subnet
/// group's type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Database {
    #[serde(rename = "type")]
    resource_type: String,
    attribute: String,
    subnet_group: String,
}

#[derive(Debug)]
pub struct PublicSubnet {
    params: Params,
}

const WORLD: &[&str] = &["0.0.0.0/0", "::/0"];

impl PublicSubnet {
    pub fn new(params: &Value) -> Result<PublicSubnet, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `database-in-public-subnet`: {e}"))?;
        Ok(PublicSubnet { params })
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        // Types sharing an attribute and a group type, said together.
        let mut paths: Vec<((&str, &str), Vec<&str>)> = Vec::new();
        for database in &self.params.databases {
            let key = (database.attribute.as_str(), database.subnet_group.as_str());
            match paths.iter_mut().find(|(k, _)| *k == key) {
                Some((_, types)) => types.push(&database.resource_type),
                None => paths.push((key, vec![&database.resource_type])),
            }
        }
        let databases: Vec<String> = paths
            .iter()
            .map(|((attribute, group), types)| {
                format!(
                    "{} through `{attribute}` to {} `{group}`",
                    wording::and_list(&wording::code(types)),
                    wording::article(group)
                )
            })
            .collect();
        format!(
            "Follows each database to its subnet group, by reference or by the group's \
             `name` ({}), and the group to its `aws_subnet` resources, and fails when one \
             of them is public: it sets `map_public_ip_on_launch = true`, or a route table \
             associated with it (`aws_route_table_association`) routes `0.0.0.0/0` or \
             `::/0` to an `aws_internet_gateway`, in an inline `route` block or an \
             `aws_route`. A NAT gateway keeps a subnet private.",
            databases.join("; ")
        )
    }

    /// The results, and the databases whose subnet groups were found and
    /// hold no public subnet. A database naming a subnet group that is not
    /// among the files checked is undecided; one naming none (the default
    /// VPC's subnets) is left to the other private-network rules.
    pub fn run_global(&self, resources: &[Resource]) -> (Vec<(usize, NativeResult)>, Vec<usize>) {
        let group_types: Vec<&str> = self
            .params
            .databases
            .iter()
            .map(|d| d.subnet_group.as_str())
            .collect();
        let network = Network {
            groups: Index::of(resources, &group_types),
            subnets: Index::of(resources, &["aws_subnet"]),
            associations: Index::of(resources, &["aws_route_table_association"]),
            tables: Index::of(resources, &["aws_route_table"]),
            routes: Index::of(resources, &["aws_route"]),
        };
        let mut results = Vec::new();
        let mut held = Vec::new();
        for (index, database) in resources.iter().enumerate() {
            if database.kind != BlockKind::Resource {
                continue;
            }
            let Some(spec) = self
                .params
                .databases
                .iter()
                .find(|d| d.resource_type == database.resource_type)
            else {
                continue;
            };
            let pointer = crate::model::push_pointer("", &spec.attribute);
            let literal = database
                .attributes
                .get(&spec.attribute)
                .and_then(Value::as_str);
            let mut groups: Vec<&Resource> = network
                .groups
                .referred_by(database)
                .filter(|g| g.resource_type == spec.subnet_group)
                .collect();
            if let Some(name) = literal {
                groups.extend(network.groups.all().filter(|g| {
                    g.resource_type == spec.subnet_group
                        && g.scope == database.scope
                        && g.attributes.get("name").and_then(Value::as_str) == Some(name)
                }));
            }
            let public = groups.iter().find_map(|group| {
                network.subnets.referred_by(group).find_map(|subnet| {
                    network
                        .public_reason(subnet)
                        .map(|why| (group, subnet, why))
                })
            });
            if let Some((group, subnet, why)) = public {
                results.push((
                    index,
                    NativeResult::Fail {
                        pointer,
                        detail: format!(
                            "subnet group {} holds {}, {why}",
                            group.address, subnet.address
                        ),
                    },
                ));
            } else if groups.is_empty() && database.is_unknown(&pointer) {
                // The subnet group comes from a module that was not
                // scanned or a value known only after apply: no verdict.
                results.push((
                    index,
                    NativeResult::Undecided {
                        detail: format!(
                            "its subnet group ({}) is not known statically",
                            database.unknown_source(&pointer)
                        ),
                        pointer,
                    },
                ));
            } else if !groups.is_empty() {
                held.push(index);
            } else if let Some(name) = literal {
                // Named, but no group of that name among the files
                // checked: its subnets are not known.
                results.push((
                    index,
                    NativeResult::Undecided {
                        detail: format!(
                            "its subnet group `{name}` is not among the files checked, so its subnets are not known"
                        ),
                        pointer,
                    },
                ));
            }
        }
        (results, held)
    }
}

/// The network resources, indexed.
struct Network<'r> {
    groups: Index<'r>,
    subnets: Index<'r>,
    associations: Index<'r>,
    tables: Index<'r>,
    routes: Index<'r>,
}

impl Network<'_> {
    /// Why a subnet is public, if it is.
    fn public_reason(&self, subnet: &Resource) -> Option<String> {
        if subnet.attributes.get("map_public_ip_on_launch") == Some(&Value::Bool(true)) {
            return Some(
                "which gives instances public addresses (map_public_ip_on_launch = true)".into(),
            );
        }
        for association in self.associations.referring_to(subnet) {
            for table in self.tables.referred_by(association) {
                let inline = table
                    .attributes
                    .get("route")
                    .and_then(Value::as_array)
                    .is_some_and(|routes| routes.iter().any(to_world))
                    && refers_to_gateway(table);
                let separate = self
                    .routes
                    .referring_to(table)
                    .iter()
                    .any(|route| to_world(&route.attributes) && refers_to_gateway(route));
                if inline || separate {
                    return Some(format!(
                        "routed to an internet gateway by {}",
                        table.address
                    ));
                }
            }
        }
        None
    }
}

/// A route (inline block or `aws_route`) for the whole internet.
fn to_world(route: &Value) -> bool {
    [
        "cidr_block",
        "destination_cidr_block",
        "ipv6_cidr_block",
        "destination_ipv6_cidr_block",
    ]
    .iter()
    .any(|key| {
        route
            .get(*key)
            .and_then(Value::as_str)
            .is_some_and(|c| WORLD.contains(&c))
    })
}

/// Whether the resource refers to an internet gateway (NAT gateways keep
/// a subnet private).
fn refers_to_gateway(resource: &Resource) -> bool {
    internet_gateway_of(resource).is_some()
}

/// The internet gateway a resource (a route or route table) refers to.
pub(crate) fn internet_gateway_of(resource: &Resource) -> Option<&str> {
    resource
        .references
        .iter()
        .find(|a| {
            a.rsplit_once('.')
                .is_some_and(|(ty, _)| ty.ends_with("aws_internet_gateway"))
        })
        .map(String::as_str)
}
