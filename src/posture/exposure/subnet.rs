//! Public subnets — `map_public_ip_on_launch = true`, or associated with
//! a route table that sends `0.0.0.0/0` (or `::/0`) to an internet
//! gateway, inline or through `aws_route` — and what sits in them.
//!
//! The links followed are those of the native check
//! `database-in-public-subnet` (private to `engine::native`): subnet ←
//! route table associations → route tables ← routes.

use std::collections::HashMap;

use serde_json::Value;

use super::security_group::{world_cidr, Cidr};
use super::{addresses, flag, list, sets_any, Context, Exposure, ExposureKind, INTERNET};
use crate::engine::native::public_subnet::internet_gateway_of as gateway_of;
use crate::model::{push_pointer, BlockKind, Resource};

/// Attributes that place the resource holding them in subnets.
const SUBNET_ATTRIBUTES: &[&str] = &["subnet_id", "subnet_ids", "subnets"];
/// Types that refer to subnets without sitting in them.
const NOT_IN_SUBNET: &[&str] = &[
    "aws_route_table_association",
    "aws_network_acl",
    "aws_network_acl_association",
];
/// Attributes naming a subnet group by its literal name.
const SUBNET_GROUP_NAMES: &[&str] = &[
    "db_subnet_group_name",
    "subnet_group_name",
    "cluster_subnet_group_name",
];
const WORLD: &[&str] = &["0.0.0.0/0", "::/0"];

/// A route to the world through an internet gateway.
struct Route {
    table: String,
    gateway: String,
    cidr: Option<String>,
}

impl Route {
    fn certain(&self) -> bool {
        self.cidr.is_some()
    }
}

/// The route for the world in a route (an inline block or `aws_route`).
fn world_route(resource: &Resource, base: &str) -> Cidr {
    let mut unknown = false;
    for key in [
        "cidr_block",
        "destination_cidr_block",
        "ipv6_cidr_block",
        "destination_ipv6_cidr_block",
    ] {
        match world_cidr(resource, &push_pointer(base, key)) {
            Cidr::World(c) if WORLD.contains(&c.as_str()) => return Cidr::World(c),
            Cidr::World(_) | Cidr::Closed => {}
            Cidr::Unknown => unknown = true,
        }
    }
    if unknown {
        Cidr::Unknown
    } else {
        Cidr::Closed
    }
}

/// The route a subnet's route tables send to an internet gateway: a
/// certain one, else one whose destination is not known statically.
fn internet_route(ctx: &Context<'_>, subnet: &Resource) -> Option<Route> {
    let mut maybe = None;
    let associations = ctx
        .referring_to(subnet)
        .iter()
        .filter(|r| r.resource_type == "aws_route_table_association");
    for association in associations {
        for table in ctx.referred(association, &["aws_route_table"]) {
            let mut routes: Vec<(Cidr, &str)> = Vec::new();
            if let Some(gateway) = gateway_of(table) {
                if table.is_unknown("/route") {
                    routes.push((Cidr::Unknown, gateway));
                }
                if let Some(Value::Array(blocks)) = table.attributes.get("route") {
                    for (i, block) in blocks.iter().enumerate() {
                        // NAT routes (`nat_gateway_id`) keep a subnet private.
                        let to_gateway = block.get("gateway_id").is_some()
                            || table
                                .spans
                                .contains_key(format!("/route/{i}/gateway_id").as_str());
                        if to_gateway {
                            routes.push((world_route(table, &format!("/route/{i}")), gateway));
                        }
                    }
                }
            }
            for route in ctx.referring_to(table) {
                if route.resource_type != "aws_route" {
                    continue;
                }
                if let Some(gateway) = gateway_of(route) {
                    routes.push((world_route(route, ""), gateway));
                }
            }
            for (cidr, gateway) in routes {
                let route = |cidr| Route {
                    table: table.address.clone(),
                    gateway: gateway.to_string(),
                    cidr,
                };
                match cidr {
                    Cidr::World(c) => return Some(route(Some(c))),
                    Cidr::Unknown => {
                        maybe.get_or_insert_with(|| route(None));
                    }
                    Cidr::Closed => {}
                }
            }
        }
    }
    maybe
}

/// Public subnets and what sits in them.
pub(super) fn subnets(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    let subnets = ctx.of_type("aws_subnet");
    if subnets.is_empty() {
        return;
    }
    // Stores naming their subnet group by a literal name.
    let mut by_group_name: HashMap<(u32, &str), Vec<&Resource>> = HashMap::new();
    for r in &ctx.report.resources {
        if r.kind != BlockKind::Resource {
            continue;
        }
        for key in SUBNET_GROUP_NAMES {
            if let Some(name) = r.attributes.get(*key).and_then(Value::as_str) {
                by_group_name.entry((r.scope, name)).or_default().push(r);
            }
        }
    }
    for &subnet in subnets {
        let launch = flag(subnet, "/map_public_ip_on_launch", false);
        let route = internet_route(ctx, subnet);
        let routed = route.as_ref().is_some_and(Route::certain);
        let certain = routed || launch == Some(true);
        if !certain && route.is_none() && launch.is_some() {
            continue;
        }
        let inside = contents(ctx, subnet, &by_group_name);
        let holds = if inside.is_empty() {
            "it holds nothing in the files checked".to_string()
        } else {
            format!("it holds {}", list(&inside))
        };
        let at = if routed {
            ""
        } else {
            "/map_public_ip_on_launch"
        };
        let mut e = ctx.entry(ExposureKind::PublicSubnet, subnet, "", at);
        e.certain = certain;
        let launch_text = "gives instances public addresses (`map_public_ip_on_launch = true`)";
        e.how = match (&route, launch) {
            (Some(r), _) if r.certain() => {
                let also = if launch == Some(true) {
                    format!(", and it {launch_text}")
                } else {
                    String::new()
                };
                format!(
                    "{} is public: {} routes {} to internet gateway {}{also}; {holds}.",
                    subnet.address,
                    r.table,
                    r.cidr.as_deref().unwrap_or_default(),
                    r.gateway
                )
            }
            (_, Some(true)) => format!("{} is public: it {launch_text}; {holds}.", subnet.address),
            (Some(r), _) => format!(
                "May be public: {} routes a destination not known statically to internet gateway {} for {}; {holds}.",
                r.table, r.gateway, subnet.address
            ),
            (None, _) => format!(
                "May be public: `map_public_ip_on_launch` of {} is not known statically; {holds}.",
                subnet.address
            ),
        };
        e.path = match &route {
            Some(r) if r.certain() || launch != Some(true) => vec![
                INTERNET.to_string(),
                r.gateway.clone(),
                format!(
                    "{} ({})",
                    r.table,
                    r.cidr
                        .as_deref()
                        .unwrap_or("destination not known statically")
                ),
                subnet.address.clone(),
            ],
            _ => vec![
                INTERNET.to_string(),
                format!("{} (map_public_ip_on_launch)", subnet.address),
            ],
        };
        if !inside.is_empty() {
            e.path.push(list(&inside));
        }
        out.push(e);
    }
}

/// What sits in a subnet: resources placed in it, and subnet groups with
/// the stores that use them.
fn contents(
    ctx: &Context<'_>,
    subnet: &Resource,
    by_group_name: &HashMap<(u32, &str), Vec<&Resource>>,
) -> Vec<String> {
    let mut names: Vec<String> = ctx
        .referring_to(subnet)
        .iter()
        .filter(|r| !NOT_IN_SUBNET.contains(&r.resource_type.as_str()))
        .filter(|r| sets_any(r, SUBNET_ATTRIBUTES))
        .map(|r| {
            if !r.resource_type.ends_with("subnet_group") {
                return r.address.clone();
            }
            let by_name = r
                .attributes
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| by_group_name.get(&(r.scope, n)))
                .into_iter()
                .flatten()
                .copied();
            let users = addresses(
                ctx.referring_to(r)
                    .iter()
                    .copied()
                    .chain(by_name)
                    .filter(|u| u.resource_type != "aws_subnet"),
            );
            if users.is_empty() {
                r.address.clone()
            } else {
                format!("{} ({})", r.address, list(&users))
            }
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
