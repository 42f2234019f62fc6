//! Aptible endpoints that are not internal, with the app or database
//! behind them (`resource_id`) and their `ip_filtering`.

use serde_json::Value;

use super::{addresses, flag, list, text, Context, Exposure, ExposureKind, Known, INTERNET};

/// Aptible endpoints that are not internal.
pub(super) fn aptible_endpoints(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    for &endpoint in ctx.of_type("aptible_endpoint") {
        let internal = flag(endpoint, "/internal", false);
        if internal == Some(true) {
            continue;
        }
        let certain = internal.is_some();
        let resource_type = match text(endpoint, "/resource_type") {
            Known::Value(t) => t,
            Known::Absent | Known::Unknown => "resource".to_string(),
        };
        let database = resource_type == "database";
        let targets = addresses(ctx.referred(
            endpoint,
            &["aptible_app", "aptible_database", "aptible_replica"],
        ));
        let behind = if !targets.is_empty() {
            list(&targets)
        } else {
            match text(endpoint, "/resource_id") {
                Known::Value(id) => format!("{resource_type} {id}"),
                Known::Absent | Known::Unknown => {
                    format!("a {resource_type} not in the files checked")
                }
            }
        };
        let serves = if targets.is_empty() {
            behind.clone()
        } else {
            format!("{resource_type} {behind}")
        };
        let endpoint_type = match text(endpoint, "/endpoint_type") {
            Known::Value(t) => Some(t.to_ascii_lowercase()),
            Known::Absent if database => Some("tcp".to_string()),
            Known::Absent => Some("https".to_string()),
            Known::Unknown => None,
        };
        let tls = match endpoint_type.as_deref() {
            Some("https" | "tls") => Some(true),
            // A database's own protocol may still use TLS.
            Some("tcp") if !database => Some(false),
            _ => None,
        };
        let filtering = if endpoint.is_unknown("/ip_filtering") {
            Known::Unknown
        } else {
            match endpoint.attributes.get("ip_filtering") {
                Some(Value::Array(ranges)) if !ranges.is_empty() => Known::Value(
                    ranges
                        .iter()
                        .map(|r| r.as_str().unwrap_or("?").to_string())
                        .collect::<Vec<_>>(),
                ),
                _ => Known::Absent,
            }
        };
        let (outside, reach) = match &filtering {
            Known::Absent => (INTERNET.to_string(), "open to every address".to_string()),
            Known::Value(ranges) => (
                format!("{INTERNET} (ip_filtering: {})", list(ranges)),
                format!("restricted by ip_filtering to {}", list(ranges)),
            ),
            Known::Unknown => (
                format!("{INTERNET} (ip_filtering not known statically)"),
                "with ip_filtering not known statically".to_string(),
            ),
        };
        let protocol = endpoint_type
            .as_deref()
            .unwrap_or("of a type not known statically");
        let mut e = ctx.entry(ExposureKind::AptibleEndpoint, endpoint, "", "/internal");
        e.certain = certain;
        e.tls = tls;
        e.how = if certain {
            let why = if endpoint.attributes.get("internal").is_some() {
                "`internal = false`"
            } else {
                "`internal` is not set"
            };
            format!(
                "{} is an external {protocol} endpoint ({why}) for {serves}, {reach}.",
                endpoint.address
            )
        } else {
            format!(
                "May be reachable from the internet: `internal` of {} is not known statically; it serves {serves}, {reach}.",
                endpoint.address
            )
        };
        e.path = vec![
            outside,
            if certain {
                format!("{} (external {protocol})", endpoint.address)
            } else {
                format!("{} (`internal` not known statically)", endpoint.address)
            },
            behind,
        ];
        out.push(e);
    }
}
