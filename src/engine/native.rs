//! Checks written in Rust, for questions one JSON Schema cannot express.
//! Each is named in rule files (`native: <name>`) with its parameters;
//! the metadata and examples stay in the rule's YAML.

mod backup;
pub mod container;
pub mod ephi;
mod gcp_firewall;
mod ip_range;
mod linked;
pub(crate) mod public_subnet;
mod reachable;
mod required_tag;
mod trail;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::wording;
use crate::model::{push_pointer, Resource};

pub use required_tag::RequiredTag;

/// A native check with its parameters, parsed when the rule loads.
#[derive(Debug, Clone)]
pub enum Native {
    OpenIngressToPorts(OpenIngress),
    /// A GCP firewall rule admitting the internet on listed ports.
    FirewallOpenToPorts(gcp_firewall::FirewallOpen),
    /// A firewall rule's address range spanning much of the internet.
    WideIpRange(ip_range::WideRange),
    /// A resource passes through another that refers to it.
    Linked(Arc<linked::Linked>),
    /// A database whose security groups admit the internet.
    Reachable(Arc<reachable::Reachable>),
    /// A database in a public subnet.
    PublicSubnet(Arc<public_subnet::PublicSubnet>),
    RequiredTag(RequiredTag),
    /// Findings about `provcheck:ignore` comments and waivers; produced by
    /// the suppression pass, not per resource.
    SuppressionAudit,
    /// Checks over container manifests (`src/engine/native/container.rs`).
    Container(container::Check),
    /// Data stores holding ePHI outside the allowed ones (CMP 8.3.4).
    EphiPlacement(Arc<ephi::EphiPlacement>),
    /// An AWS Backup plan with a daily rule kept long enough (OSP 3.2).
    BackupPlan(Arc<backup::BackupPlan>),
    /// A data store backed up by its own settings or by AWS Backup.
    BackupCoverage(Arc<backup::BackupCoverage>),
    /// A root module with data stores and no audit trail (CMP 8.6.5).
    AuditTrail(Arc<trail::AuditTrail>),
}

impl Native {
    /// The check named `name`, configured by the rule's `params`.
    pub fn new(name: &str, params: &Value) -> Result<Native, String> {
        let params = if params.is_null() {
            Value::Object(Default::default())
        } else {
            params.clone()
        };
        match name {
            "open-ingress-to-ports" => serde_json::from_value(params)
                .map(Native::OpenIngressToPorts)
                .map_err(|e| format!("invalid params for `{name}`: {e}")),
            "firewall-open-to-ports" => {
                gcp_firewall::FirewallOpen::new(&params).map(Native::FirewallOpenToPorts)
            }
            "wide-ip-range" => ip_range::WideRange::new(&params).map(Native::WideIpRange),
            "required-tag" => RequiredTag::new(&params).map(Native::RequiredTag),
            "suppression-audit" => Ok(Native::SuppressionAudit),
            "ephi-placement" => {
                ephi::EphiPlacement::new(&params).map(|e| Native::EphiPlacement(Arc::new(e)))
            }
            "linked" => linked::Linked::new(&params).map(|l| Native::Linked(Arc::new(l))),
            "database-reachable-from-internet" => {
                reachable::Reachable::new(&params).map(|r| Native::Reachable(Arc::new(r)))
            }
            "database-in-public-subnet" => {
                public_subnet::PublicSubnet::new(&params).map(|p| Native::PublicSubnet(Arc::new(p)))
            }
            "backup-plan" => {
                backup::BackupPlan::new(&params).map(|p| Native::BackupPlan(Arc::new(p)))
            }
            "backup-coverage" => {
                backup::BackupCoverage::new(&params).map(|c| Native::BackupCoverage(Arc::new(c)))
            }
            "audit-trail" => {
                trail::AuditTrail::new(&params).map(|t| Native::AuditTrail(Arc::new(t)))
            }
            name if container::NAMES.contains(&name) => {
                container::Check::new(name, &params).map(Native::Container)
            }
            _ => Err(format!("unknown native check `{name}`")),
        }
    }

    /// The name rule files give the check (`native: <name>`).
    pub fn name(&self) -> &'static str {
        match self {
            Native::OpenIngressToPorts(_) => "open-ingress-to-ports",
            Native::FirewallOpenToPorts(_) => "firewall-open-to-ports",
            Native::WideIpRange(_) => "wide-ip-range",
            Native::Linked(_) => "linked",
            Native::Reachable(_) => "database-reachable-from-internet",
            Native::PublicSubnet(_) => "database-in-public-subnet",
            Native::RequiredTag(_) => "required-tag",
            Native::SuppressionAudit => "suppression-audit",
            Native::Container(check) => check.name(),
            Native::EphiPlacement(_) => "ephi-placement",
            Native::BackupPlan(_) => "backup-plan",
            Native::BackupCoverage(_) => "backup-coverage",
            Native::AuditTrail(_) => "audit-trail",
        }
    }

    /// What the check does with its parameters, in plain words, for
    /// `provcheck explain`; each check says it beside its code.
    pub fn describe(&self) -> String {
        match self {
            Native::OpenIngressToPorts(check) => check.describe(),
            Native::FirewallOpenToPorts(check) => check.describe(),
            Native::WideIpRange(check) => check.describe(),
            Native::Linked(check) => check.describe(),
            Native::Reachable(check) => check.describe(),
            Native::PublicSubnet(check) => check.describe(),
            Native::RequiredTag(check) => check.describe(),
            Native::SuppressionAudit => crate::suppress::describe_audit().to_string(),
            Native::Container(check) => check.describe(),
            Native::EphiPlacement(check) => check.describe(),
            Native::BackupPlan(check) => check.describe(),
            Native::BackupCoverage(check) => check.describe(),
            Native::AuditTrail(check) => check.describe(),
        }
    }

    /// Whether the check looks at all resources at once (topology,
    /// co-location) rather than one at a time.
    pub fn is_global(&self) -> bool {
        match self {
            Native::Container(check) => check.is_global(),
            other => matches!(
                other,
                Native::Linked(_)
                    | Native::Reachable(_)
                    | Native::PublicSubnet(_)
                    | Native::BackupCoverage(_)
                    | Native::AuditTrail(_)
            ),
        }
    }

    /// Runs a global check: each result names the resource (by index) it
    /// is reported on. `paths` holds each file's path (compose files are
    /// grouped into projects by folder).
    /// `Examined` lists the other resources a result was judged by (a
    /// bucket's public access block, a replica's source), to be shown
    /// beside the finding.
    pub fn run_global(&self, resources: &[Resource], paths: &[String], ctx: &Context) -> GlobalRun {
        let plain = |results: Vec<(usize, NativeResult)>| GlobalRun {
            results: results
                .into_iter()
                .map(|(at, result)| Global {
                    at,
                    result,
                    examined: Vec::new(),
                })
                .collect(),
            held: None,
        };
        match self {
            Native::Linked(check) => check.run_global(resources),
            Native::Reachable(check) => plain(check.run_global(resources)),
            Native::PublicSubnet(check) => {
                let (results, held) = check.run_global(resources);
                GlobalRun {
                    held: Some(held),
                    ..plain(results)
                }
            }
            Native::Container(check) => plain(check.run_global(resources, paths, &ctx.classifier)),
            Native::BackupCoverage(check) => check.run_global(resources),
            Native::AuditTrail(check) => check.run_global(resources),
            _ => GlobalRun::default(),
        }
    }

    pub fn run(&self, resource: &Resource, ctx: &Context) -> Vec<NativeResult> {
        match self {
            Native::OpenIngressToPorts(check) => check.run(resource),
            Native::FirewallOpenToPorts(check) => check.run(resource),
            Native::WideIpRange(check) => check.run(resource),
            Native::RequiredTag(check) => check.run(resource),
            Native::Container(check) => check.run(resource, &ctx.classifier),
            Native::EphiPlacement(check) => check.run(resource, &ctx.classifier),
            Native::BackupPlan(check) => check.run(resource),
            Native::SuppressionAudit
            | Native::Linked(_)
            | Native::Reachable(_)
            | Native::PublicSubnet(_)
            | Native::BackupCoverage(_)
            | Native::AuditTrail(_) => Vec::new(),
        }
    }

    /// The rule's resource types that the check can judge: an AWS audit
    /// trail covers only the AWS provider's stores, so a Cloud SQL
    /// instance in the same type set is no subject of it (and the report
    /// must not count its audit logging as checked).
    pub fn subjects(
        &self,
        types: &std::collections::BTreeSet<String>,
    ) -> std::collections::BTreeSet<String> {
        match self {
            Native::AuditTrail(check) => {
                types.iter().filter(|t| check.judges(t)).cloned().collect()
            }
            _ => types.clone(),
        }
    }

    /// Hands the check the rule's resource types, `@sets` expanded, for
    /// checks that take their subjects from them.
    pub fn set_types(&mut self, types: &std::collections::BTreeSet<String>) {
        if let Native::AuditTrail(check) = self {
            if let Some(check) = Arc::get_mut(check) {
                check.set_stores(types);
            }
        }
    }
}

/// What a run hands every check beside the resources: the settings of
/// the run (the configuration's), never stored in the checks themselves.
pub struct Context {
    /// The role classifier: the built-in lists plus the configuration's
    /// `roles`.
    pub classifier: Arc<crate::roles::Classifier>,
}

/// One violation, or one place where the answer depends on unknowns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeResult {
    Fail { pointer: String, detail: String },
    Undecided { pointer: String, detail: String },
}

/// What a check over all resources found.
#[derive(Debug, Default)]
pub struct GlobalRun {
    pub results: Vec<Global>,
    /// The resources (by index) the check evaluated on known values and
    /// that passed; `None` when every resource of the rule's types
    /// without a result was evaluated and passed.
    pub held: Option<Vec<usize>>,
}

/// One result of a check over all resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// The resource the result is reported on (an index).
    pub at: usize,
    pub result: NativeResult,
    /// The other resources the verdict was judged by: where each is
    /// declared, and what it is.
    pub examined: Vec<crate::model::Origin>,
}

/// Ingress from anywhere (`0.0.0.0/0`, `::/0`) to one of `ports`, or to
/// every port, in the three ways the AWS provider writes ingress.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenIngress {
    ports: Vec<u16>,
}

/// A tri-state read of one attribute.
pub(crate) enum Known<T> {
    Yes(T),
    Unknown,
}

impl OpenIngress {
    fn describe(&self) -> String {
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        let ports = match ports.len() {
            1 => format!("TCP port {}", ports[0]),
            _ => format!("TCP ports {}", wording::or_list(&ports)),
        };
        format!(
            "Fails when an ingress rule admits the whole internet (`0.0.0.0/0` or `::/0`) \
             on {ports} (its port range includes one) or on every protocol: an inline \
             `ingress` block of an `aws_security_group`, an `aws_security_group_rule` of \
             type `ingress`, or an `aws_vpc_security_group_ingress_rule`. A range, \
             protocol or port not known statically makes the verdict undecided."
        )
    }

    fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        let attrs = &resource.attributes;
        let mut results = Vec::new();
        match resource.resource_type.as_str() {
            "aws_security_group" => {
                if resource.is_unknown("/ingress") {
                    results.push(NativeResult::Undecided {
                        pointer: "/ingress".into(),
                        detail: "ingress rules are generated dynamically".into(),
                    });
                }
                if let Some(Value::Array(blocks)) = attrs.get("ingress") {
                    for i in 0..blocks.len() {
                        let base = format!("/ingress/{i}");
                        self.rule(
                            resource,
                            &base,
                            "protocol",
                            &["cidr_blocks", "ipv6_cidr_blocks"],
                            &mut results,
                        );
                    }
                }
            }
            "aws_security_group_rule" => match string_at(resource, "/type") {
                Known::Yes(Some(t)) if t == "ingress" => {
                    self.rule(
                        resource,
                        "",
                        "protocol",
                        &["cidr_blocks", "ipv6_cidr_blocks"],
                        &mut results,
                    );
                }
                Known::Unknown => {
                    let mut inner = Vec::new();
                    self.rule(
                        resource,
                        "",
                        "protocol",
                        &["cidr_blocks", "ipv6_cidr_blocks"],
                        &mut inner,
                    );
                    results.extend(inner.into_iter().map(undecided));
                }
                _ => {}
            },
            "aws_vpc_security_group_ingress_rule" => {
                self.rule(
                    resource,
                    "",
                    "ip_protocol",
                    &["cidr_ipv4", "cidr_ipv6"],
                    &mut results,
                );
            }
            _ => {}
        }
        results
    }

    /// Checks one ingress rule at `base`.
    fn rule(
        &self,
        resource: &Resource,
        base: &str,
        protocol_key: &str,
        cidr_keys: &[&str],
        results: &mut Vec<NativeResult>,
    ) {
        // Which CIDR attribute opens the rule to the world, if any.
        let mut world: Option<(String, String, bool)> = None;
        for key in cidr_keys {
            let pointer = push_pointer(base, key);
            match world_cidr(resource, &pointer) {
                Known::Yes(Some(cidr)) => {
                    world = Some((pointer, cidr, false));
                    break;
                }
                Known::Unknown if world.is_none() => {
                    world = Some((pointer, "an unknown range".into(), true));
                }
                _ => {}
            }
        }
        let Some((pointer, cidr, cidr_unknown)) = world else {
            return;
        };
        let ports = match self.ports_opened(resource, base, protocol_key) {
            Known::Yes(None) => return,
            Known::Yes(Some(ports)) => Known::Yes(ports),
            Known::Unknown => Known::Unknown,
        };
        let (detail, unknown) = match ports {
            Known::Yes(ports) => (format!("{ports} open to {cidr}"), cidr_unknown),
            Known::Unknown => (
                format!("ports that may include a database port open to {cidr}"),
                true,
            ),
        };
        results.push(if unknown {
            NativeResult::Undecided { pointer, detail }
        } else {
            NativeResult::Fail { pointer, detail }
        });
    }

    /// A description of the listed ports the rule opens (`None`: none).
    fn ports_opened(
        &self,
        resource: &Resource,
        base: &str,
        protocol_key: &str,
    ) -> Known<Option<String>> {
        let protocol = match string_at(resource, &push_pointer(base, protocol_key)) {
            Known::Yes(p) => p.unwrap_or_default().to_ascii_lowercase(),
            Known::Unknown => return Known::Unknown,
        };
        match protocol.as_str() {
            "-1" | "all" => return Known::Yes(Some("all ports".into())),
            "tcp" | "6" => {}
            _ => return Known::Yes(None),
        }
        let (from, to) = match (
            port_at(resource, &push_pointer(base, "from_port")),
            port_at(resource, &push_pointer(base, "to_port")),
        ) {
            (Known::Yes(Some(from)), Known::Yes(Some(to))) => (from, to),
            (Known::Yes(None), _) | (_, Known::Yes(None)) => return Known::Yes(None),
            _ => return Known::Unknown,
        };
        let open: Vec<String> = self
            .ports
            .iter()
            .filter(|&&p| i64::from(p) >= from && i64::from(p) <= to)
            .map(u16::to_string)
            .collect();
        Known::Yes(match open.len() {
            0 => None,
            1 => Some(format!("tcp port {}", open[0])),
            _ => Some(format!("tcp ports {}", open.join(", "))),
        })
    }
}

fn undecided(result: NativeResult) -> NativeResult {
    match result {
        NativeResult::Fail { pointer, detail } | NativeResult::Undecided { pointer, detail } => {
            NativeResult::Undecided { pointer, detail }
        }
    }
}

fn value_at<'r>(resource: &'r Resource, pointer: &str) -> Known<Option<&'r Value>> {
    if resource.is_unknown(pointer) {
        return Known::Unknown;
    }
    Known::Yes(resource.attributes.pointer(pointer))
}

fn string_at(resource: &Resource, pointer: &str) -> Known<Option<String>> {
    match value_at(resource, pointer) {
        Known::Yes(v) => Known::Yes(match v {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }),
        Known::Unknown => Known::Unknown,
    }
}

fn port_at(resource: &Resource, pointer: &str) -> Known<Option<i64>> {
    match value_at(resource, pointer) {
        Known::Yes(v) => Known::Yes(match v {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }),
        Known::Unknown => Known::Unknown,
    }
}

/// The world-open CIDR at `pointer` (a string or a list of strings).
pub(crate) fn world_cidr(resource: &Resource, pointer: &str) -> Known<Option<String>> {
    let value = match value_at(resource, pointer) {
        Known::Yes(Some(v)) => v,
        Known::Yes(None) => return Known::Yes(None),
        Known::Unknown => return Known::Unknown,
    };
    let candidates: Vec<(String, &Value)> = match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (push_pointer(pointer, &i.to_string()), v))
            .collect(),
        other => vec![(pointer.to_string(), other)],
    };
    let mut unknown = false;
    for (item_pointer, item) in candidates {
        if resource.is_unknown(&item_pointer) {
            unknown = true;
            continue;
        }
        if let Value::String(cidr) = item {
            if is_world(cidr) {
                return Known::Yes(Some(cidr.clone()));
            }
        }
    }
    if unknown {
        Known::Unknown
    } else {
        Known::Yes(None)
    }
}

fn is_world(cidr: &str) -> bool {
    let Some((address, prefix)) = cidr.trim().split_once('/') else {
        return false;
    };
    prefix.trim() == "0" && (address.parse::<std::net::IpAddr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::hcl::lower_file;
    use crate::source::SourceFile;

    fn run(text: &str) -> Vec<NativeResult> {
        let source = SourceFile::new("main.tf", text);
        let resource = lower_file(0, &source).unwrap().resources.remove(0);
        let check = Native::new(
            "open-ingress-to-ports",
            &serde_json::json!({"ports": [5432, 6379]}),
        )
        .unwrap();
        let ctx = Context {
            classifier: crate::roles::Classifier::builtin(),
        };
        check.run(&resource, &ctx)
    }

    #[test]
    fn inline_ingress_open_to_the_world() {
        let results = run(r#"resource "aws_security_group" "db" {
  ingress {
    from_port   = 5000
    to_port     = 6000
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8", "0.0.0.0/0"]
  }
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}"#);
        assert_eq!(
            results,
            [NativeResult::Fail {
                pointer: "/ingress/0/cidr_blocks".into(),
                detail: "tcp port 5432 open to 0.0.0.0/0".into()
            }]
        );
    }

    #[test]
    fn all_protocols_and_ipv6() {
        let results = run(r#"resource "aws_vpc_security_group_ingress_rule" "all" {
  ip_protocol = "-1"
  cidr_ipv6   = "::/0"
}"#);
        assert!(
            matches!(&results[..], [NativeResult::Fail { pointer, .. }] if pointer == "/cidr_ipv6")
        );
    }

    #[test]
    fn egress_private_ranges_and_unknowns() {
        assert!(run(r#"resource "aws_security_group_rule" "e" {
  type = "egress"
  protocol = "-1"
  cidr_blocks = ["0.0.0.0/0"]
}"#)
        .is_empty());
        assert!(run(r#"resource "aws_security_group_rule" "p" {
  type = "ingress"
  protocol = "tcp"
  from_port = 5432
  to_port = 5432
  cidr_blocks = ["10.0.0.0/16"]
}"#)
        .is_empty());
        let results = run(r#"resource "aws_security_group_rule" "u" {
  type = "ingress"
  protocol = "tcp"
  from_port = 5432
  to_port = 5432
  cidr_blocks = var.allowed
}"#);
        assert!(matches!(&results[..], [NativeResult::Undecided { .. }]));
    }
}
