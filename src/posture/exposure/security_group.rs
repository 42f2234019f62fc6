//! Security-group rules open to the world (`0.0.0.0/0`, `::/0`): inline
//! `ingress` blocks of `aws_security_group`, `aws_security_group_rule` of
//! type ingress, `aws_vpc_security_group_ingress_rule`, each with its
//! ports and what its group is attached to.

use std::collections::HashMap;

use serde_json::Value;

use super::{addresses, list, sets_any, text, Context, Exposure, ExposureKind, Known, INTERNET};
use crate::engine::native::Known as NativeKnown;
use crate::model::{base_address, push_pointer, Resource};

/// Security groups (by address without instance key) and what of the
/// world each admits: `tcp 5432 from 0.0.0.0/0`.
pub(super) type OpenGroups = HashMap<(u32, String), Vec<String>>;

pub(super) const GROUP: &str = "aws_security_group";
/// Attributes that attach security groups to the resource holding them.
const GROUP_ATTRIBUTES: &[&str] = &[
    "vpc_security_group_ids",
    "security_groups",
    "security_group_ids",
    "security_group_id",
];

/// What a CIDR attribute (a string or a list) opens.
pub(super) enum Cidr {
    World(String),
    Unknown,
    Closed,
}

/// The world-open CIDR at `pointer`, as the native check
/// `open-ingress-to-ports` reads it.
pub(super) fn world_cidr(resource: &Resource, pointer: &str) -> Cidr {
    match crate::engine::native::world_cidr(resource, pointer) {
        NativeKnown::Yes(Some(cidr)) => Cidr::World(cidr.trim().to_string()),
        NativeKnown::Yes(None) => Cidr::Closed,
        NativeKnown::Unknown => Cidr::Unknown,
    }
}

/// The ports a rule opens: `tcp 443`, `tcp 1024-2048`, `all traffic`.
fn ports(resource: &Resource, base: &str, protocol_key: &str) -> String {
    let protocol = match text(resource, &push_pointer(base, protocol_key)) {
        Known::Unknown => return "ports not known statically".to_string(),
        Known::Absent => "tcp".to_string(),
        Known::Value(p) => p.trim().to_ascii_lowercase(),
    };
    let name = match protocol.as_str() {
        "-1" | "all" => return "all traffic".to_string(),
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" => "icmpv6",
        other => other,
    };
    if name.starts_with("icmp") {
        return name.to_string();
    }
    let read = |key: &str| text(resource, &push_pointer(base, key));
    match (read("from_port"), read("to_port")) {
        (Known::Value(from), Known::Value(to)) => {
            let (from, to) = (from.trim(), to.trim());
            if from == to {
                format!("{name} {from}")
            } else if (from == "0" || from == "1") && to == "65535" {
                format!("{name} all ports")
            } else {
                format!("{name} {from}-{to}")
            }
        }
        (Known::Unknown, _) | (_, Known::Unknown) => format!("{name} ports not known statically"),
        _ => name.to_string(),
    }
}

/// One ingress rule: an inline block of a group, or a rule resource.
struct Ingress<'r> {
    resource: &'r Resource,
    /// The inline block (`/ingress/0`); empty for a rule resource.
    scope: String,
    protocol_key: &'static str,
    cidr_keys: &'static [&'static str],
    /// The group it belongs to, when in the files checked.
    group: Option<&'r Resource>,
    /// Why it may not be an ingress rule at all (`type` unknown).
    type_unknown: bool,
}

/// Security-group rules admitting the world; returns what each group
/// admits, for the databases behind them.
pub(super) fn security_groups(ctx: &Context<'_>, out: &mut Vec<Exposure>) -> OpenGroups {
    let mut open = OpenGroups::new();
    let mut attached: HashMap<(u32, String), Vec<String>> = HashMap::new();
    for &group in ctx.of_type(GROUP) {
        if group.is_unknown("/ingress") {
            let on = attached_to(ctx, group, &mut attached);
            let mut e = ctx.entry(ExposureKind::SecurityGroupRule, group, "", "/ingress");
            e.certain = false;
            e.how = format!(
                "May admit the internet: the ingress rules of {} are generated dynamically and not known statically{}.",
                group.address,
                attached_clause(&on)
            );
            e.path = vec![
                format!("{INTERNET} (range not known statically)"),
                format!("{} dynamic ingress", group.address),
            ];
            if !on.is_empty() {
                e.path.push(on.join(", "));
            }
            out.push(e);
        }
        if let Some(Value::Array(blocks)) = group.attributes.get("ingress") {
            for i in 0..blocks.len() {
                let rule = Ingress {
                    resource: group,
                    scope: format!("/ingress/{i}"),
                    protocol_key: "protocol",
                    cidr_keys: &["cidr_blocks", "ipv6_cidr_blocks"],
                    group: Some(group),
                    type_unknown: false,
                };
                ingress(ctx, &rule, &mut attached, &mut open, out);
            }
        }
    }
    for &resource in ctx.of_type("aws_security_group_rule") {
        let type_unknown = match text(resource, "/type") {
            Known::Value(t) if t == "ingress" => false,
            Known::Unknown => true,
            _ => continue,
        };
        let rule = Ingress {
            resource,
            scope: String::new(),
            protocol_key: "protocol",
            cidr_keys: &["cidr_blocks", "ipv6_cidr_blocks"],
            group: ctx.referred(resource, &[GROUP]).next(),
            type_unknown,
        };
        ingress(ctx, &rule, &mut attached, &mut open, out);
    }
    for &resource in ctx.of_type("aws_vpc_security_group_ingress_rule") {
        let rule = Ingress {
            resource,
            scope: String::new(),
            protocol_key: "ip_protocol",
            cidr_keys: &["cidr_ipv4", "cidr_ipv6"],
            group: ctx.referred(resource, &[GROUP]).next(),
            type_unknown: false,
        };
        ingress(ctx, &rule, &mut attached, &mut open, out);
    }
    open
}

/// What a group is attached to (memoised per group).
fn attached_to(
    ctx: &Context<'_>,
    group: &Resource,
    memo: &mut HashMap<(u32, String), Vec<String>>,
) -> Vec<String> {
    let key = (group.scope, base_address(&group.address).to_string());
    if let Some(names) = memo.get(&key) {
        return names.clone();
    }
    let names = addresses(
        ctx.referring_to(group)
            .iter()
            .copied()
            .filter(|r| {
                !r.resource_type.starts_with("aws_security_group")
                    && !r.resource_type.starts_with("aws_vpc_security_group_")
            })
            .filter(|r| sets_any(r, GROUP_ATTRIBUTES)),
    );
    memo.insert(key, names.clone());
    names
}

fn attached_clause(on: &[String]) -> String {
    if on.is_empty() {
        ", attached to nothing in the files checked".to_string()
    } else {
        format!(", attached to {}", list(on))
    }
}

fn ingress(
    ctx: &Context<'_>,
    rule: &Ingress<'_>,
    attached: &mut HashMap<(u32, String), Vec<String>>,
    open: &mut OpenGroups,
    out: &mut Vec<Exposure>,
) {
    let resource = rule.resource;
    let mut world = None;
    let mut unknown = None;
    for key in rule.cidr_keys {
        let pointer = push_pointer(&rule.scope, key);
        match world_cidr(resource, &pointer) {
            Cidr::World(cidr) => {
                world = Some(cidr);
                break;
            }
            Cidr::Unknown => {
                unknown.get_or_insert((pointer, *key));
            }
            Cidr::Closed => {}
        }
    }
    let mut why = Vec::new();
    let at = match (&world, &unknown) {
        (Some(_), _) => rule.scope.clone(),
        (None, Some((pointer, key))) => {
            why.push(format!("`{key}` is not known statically"));
            pointer.clone()
        }
        (None, None) => return,
    };
    let at = if rule.type_unknown {
        why.push("its `type` is not known statically".to_string());
        "/type".to_string()
    } else {
        at
    };
    let certain = why.is_empty();
    let ports = ports(resource, &rule.scope, rule.protocol_key);
    let source = world
        .clone()
        .unwrap_or_else(|| "a range not known statically".to_string());
    let on = rule
        .group
        .map(|g| attached_to(ctx, g, attached))
        .unwrap_or_default();
    let (label, by) = if rule.scope.is_empty() {
        let group = match rule.group {
            Some(g) => format!(" on {}", g.address),
            None => " on a security group not in the files checked".to_string(),
        };
        (
            format!("{}: {ports}", resource.address),
            format!("{}{group}", resource.address),
        )
    } else {
        let n = rule
            .scope
            .rsplit('/')
            .next()
            .and_then(|i| i.parse::<usize>().ok())
            .map_or(0, |i| i + 1);
        (
            format!("{} ingress #{n}: {ports}", resource.address),
            format!("ingress #{n} of {}", resource.address),
        )
    };
    let mut e = ctx.entry(ExposureKind::SecurityGroupRule, resource, &rule.scope, &at);
    e.certain = certain;
    let attached_text = if rule.group.is_some() {
        attached_clause(&on)
    } else {
        String::new()
    };
    e.how = if certain {
        format!("{ports} open to {source} by {by}{attached_text}.")
    } else {
        format!(
            "May admit the internet ({}): {ports} open to {source} by {by}{attached_text}.",
            why.join(", ")
        )
    };
    e.path = vec![format!("{INTERNET} ({source})"), label];
    if let (Some(group), true) = (rule.group, rule.scope.is_empty()) {
        e.path.push(group.address.clone());
    }
    if !on.is_empty() {
        e.path.push(list(&on));
    }
    if let (true, Some(group), Some(cidr)) = (certain, rule.group, &world) {
        open.entry((group.scope, base_address(&group.address).to_string()))
            .or_default()
            .push(format!("{ports} from {cidr}"));
    }
    out.push(e);
}
