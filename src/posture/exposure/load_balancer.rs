//! Internet-facing load balancers (`aws_lb`, `aws_alb`, `aws_elb` whose
//! `internal` is not true) and their listeners: port, protocol, TLS or
//! not, and for plain HTTP whether it redirects to HTTPS.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{addresses, flag, list, text, Context, Exposure, ExposureKind, Known, INTERNET};
use crate::model::{base_address, push_pointer, Resource};

const LOAD_BALANCERS: &[&str] = &["aws_lb", "aws_alb", "aws_elb"];
const LISTENERS: &[&str] = &["aws_lb_listener", "aws_alb_listener"];
const TARGET_GROUPS: &[&str] = &["aws_lb_target_group", "aws_alb_target_group"];

/// A load balancer that is (or may be) internet-facing, for its listeners.
struct Facing {
    address: String,
    certain: bool,
    lb_type: Option<String>,
    /// Its element in a path.
    label: String,
}

/// Internet-facing load balancers and their listeners.
pub(super) fn load_balancers(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    let mut facing: HashMap<&str, Facing> = HashMap::new();
    let mut internal: HashSet<&str> = HashSet::new();
    for lb_type in LOAD_BALANCERS {
        for &lb in ctx.of_type(lb_type) {
            let key = base_address(&lb.address);
            let is_internal = flag(lb, "/internal", false);
            if is_internal == Some(true) {
                internal.insert(key);
                continue;
            }
            let certain = is_internal.is_some();
            let kind = if lb.resource_type == "aws_elb" {
                Some("classic".to_string())
            } else {
                match text(lb, "/load_balancer_type") {
                    Known::Absent => Some("application".to_string()),
                    Known::Value(t) => Some(t.to_ascii_lowercase()),
                    Known::Unknown => None,
                }
            };
            let described = match &kind {
                Some(t) => format!("{t} load balancer"),
                None => "load balancer of a type not known statically".to_string(),
            };
            let label = if certain {
                format!(
                    "{} (internet-facing {})",
                    lb.address,
                    kind.as_deref().unwrap_or("load balancer")
                )
            } else {
                format!("{} (`internal` not known statically)", lb.address)
            };
            let mut e = ctx.entry(
                ExposureKind::LoadBalancer,
                lb,
                "",
                if certain { "" } else { "/internal" },
            );
            e.certain = certain;
            e.how = if certain {
                let why = if lb.attributes.get("internal").is_some() {
                    "`internal = false`"
                } else {
                    "`internal` is not set"
                };
                format!(
                    "{} is an internet-facing {described} ({why}): its listeners are reachable from the internet.",
                    lb.address
                )
            } else {
                format!(
                    "May be internet-facing: {} is a {described} whose `internal` is not known statically.",
                    lb.address
                )
            };
            e.path = vec![INTERNET.to_string(), label.clone()];
            out.push(e);
            let this = Facing {
                address: lb.address.clone(),
                certain,
                lb_type: kind,
                label,
            };
            if lb.resource_type == "aws_elb" {
                classic_listeners(ctx, lb, &this, out);
            }
            // One instance facing the internet is enough for listeners
            // that refer to them all.
            let replace = facing.get(key).is_none_or(|f| !f.certain && certain);
            if replace {
                facing.insert(key, this);
            }
        }
    }
    for listener_type in LISTENERS {
        for &listener in ctx.of_type(listener_type) {
            let lb = listener
                .references
                .iter()
                .find_map(|a| facing.get(a.as_str()));
            let behind_internal = listener
                .references
                .iter()
                .any(|a| internal.contains(a.as_str()));
            if lb.is_none() && behind_internal {
                continue;
            }
            listener_entry(ctx, listener, lb, out);
        }
    }
}

fn listener_entry(
    ctx: &Context<'_>,
    listener: &Resource,
    lb: Option<&Facing>,
    out: &mut Vec<Exposure>,
) {
    let gateway = lb.is_some_and(|f| f.lb_type.as_deref() == Some("gateway"));
    let mut defaulted = false;
    let protocol = match text(listener, "/protocol") {
        Known::Value(p) => Some(p.trim().to_ascii_uppercase()),
        Known::Absent if gateway => Some("GENEVE".to_string()),
        Known::Absent => {
            defaulted = true;
            Some("HTTP".to_string())
        }
        Known::Unknown => None,
    };
    let port = match text(listener, "/port") {
        Known::Value(p) => Some(p),
        Known::Absent | Known::Unknown => None,
    };
    let tls = protocol.as_deref().and_then(|p| match p {
        "HTTPS" | "TLS" => Some(true),
        "HTTP" | "TCP" | "UDP" | "TCP_UDP" => Some(false),
        _ => None,
    });
    let http = protocol.as_deref() == Some("HTTP");
    let redirects = http && redirects_to_https(listener);
    let mut label = listener.address.clone();
    if let Some(port) = &port {
        label.push_str(&format!(" :{port}"));
    }
    label.push(' ');
    label.push_str(protocol.as_deref().unwrap_or("protocol ?"));
    if redirects {
        label.push_str(" → redirect to HTTPS");
    }
    let on_port = match &port {
        Some(p) => format!(" on port {p}"),
        None if listener.is_unknown("/port") => " on a port not known statically".to_string(),
        None => String::new(),
    };
    let of = match lb {
        Some(f) if f.certain => format!("of internet-facing {}", f.address),
        Some(f) => format!("of {}", f.address),
        None => "of a load balancer not in the files checked".to_string(),
    };
    let mut body = match protocol.as_deref() {
        Some("HTTP") => {
            let default = if defaulted {
                " (protocol defaults to HTTP)"
            } else {
                ""
            };
            let redirect = if redirects {
                "it redirects to HTTPS"
            } else {
                "it does not redirect to HTTPS"
            };
            format!("Plain HTTP listener{on_port} {of}{default}; {redirect}")
        }
        Some(p) if tls == Some(false) => format!("{p} listener{on_port} {of}, without TLS"),
        Some(p) => format!("{p} listener{on_port} {of}"),
        None => format!("Listener{on_port} {of}, with a protocol not known statically"),
    };
    let certain = lb.is_some_and(|f| f.certain);
    if !certain {
        let why = match lb {
            Some(f) => format!("`internal` of {} is not known statically", f.address),
            None => "its load balancer is not in the files checked".to_string(),
        };
        body = format!("May be reachable ({why}): {body}");
    }
    let mut e = ctx.entry(ExposureKind::Listener, listener, "", "");
    e.certain = certain;
    e.tls = tls;
    e.how = format!("{body}.");
    e.path = vec![
        INTERNET.to_string(),
        lb.map_or_else(
            || "load balancer not in the files checked".to_string(),
            |f| f.label.clone(),
        ),
        label,
    ];
    let targets = addresses(ctx.referred(listener, TARGET_GROUPS));
    if !targets.is_empty() {
        e.path.push(list(&targets));
    }
    out.push(e);
}

/// Whether a listener's default action redirects to HTTPS.
fn redirects_to_https(listener: &Resource) -> bool {
    let Some(Value::Array(actions)) = listener.attributes.get("default_action") else {
        return false;
    };
    actions.iter().any(|action| {
        action.get("type").and_then(Value::as_str) == Some("redirect")
            && action
                .get("redirect")
                .and_then(Value::as_array)
                .is_some_and(|r| {
                    r.iter().any(|r| {
                        r.get("protocol")
                            .and_then(Value::as_str)
                            .is_some_and(|p| p.eq_ignore_ascii_case("HTTPS"))
                    })
                })
    })
}

/// The inline `listener` blocks of a classic load balancer.
fn classic_listeners(ctx: &Context<'_>, elb: &Resource, lb: &Facing, out: &mut Vec<Exposure>) {
    let Some(Value::Array(blocks)) = elb.attributes.get("listener") else {
        return;
    };
    for i in 0..blocks.len() {
        let scope = format!("/listener/{i}");
        let read = |key: &str| match text(elb, &push_pointer(&scope, key)) {
            Known::Value(v) => Some(v),
            Known::Absent | Known::Unknown => None,
        };
        let protocol = read("lb_protocol").map(|p| p.to_ascii_uppercase());
        let port = read("lb_port");
        let tls = protocol.as_deref().and_then(|p| match p {
            "HTTPS" | "SSL" => Some(true),
            "HTTP" | "TCP" => Some(false),
            _ => None,
        });
        let port_text = port.as_deref().unwrap_or("?");
        let protocol_text = protocol.as_deref().unwrap_or("protocol ?");
        let to = read("instance_port")
            .map(|p| format!(", forwarding to instance port {p}"))
            .unwrap_or_default();
        let of = if lb.certain {
            format!("of internet-facing {}", elb.address)
        } else {
            format!("of {}", elb.address)
        };
        let mut e = ctx.entry(ExposureKind::Listener, elb, &scope, &scope);
        e.certain = lb.certain;
        e.tls = tls;
        let body = format!(
            "{protocol_text} listener #{} on port {port_text} {of}{to}",
            i + 1
        );
        e.how = if lb.certain {
            format!("{body}.")
        } else {
            format!(
                "May be reachable (`internal` of {} is not known statically): {body}.",
                elb.address
            )
        };
        e.path = vec![
            INTERNET.to_string(),
            lb.label.clone(),
            format!(
                "{} listener #{} :{port_text} {protocol_text}",
                elb.address,
                i + 1
            ),
        ];
        out.push(e);
    }
}
