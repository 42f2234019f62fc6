//! What is reachable from outside, each with the path that makes it so:
//! public load balancers and their listeners, security-group rules open to
//! the world, public subnets and what sits in them, publicly accessible
//! databases and instances, non-internal Aptible endpoints, Kubernetes
//! Services and Ingress hosts, compose ports published on all interfaces.
//! Not only what a rule flags: the walk is over resources, and the
//! findings on the same resource are linked to each entry.

mod aptible;
mod container;
mod database;
mod load_balancer;
mod security_group;
mod subnet;

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::discover::{format_of, Format};
use crate::finding::{Category, Finding};
use crate::model::{base_address, parent_pointer, BlockKind, Resource};
use crate::Report;

/// One thing reachable from outside.
#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    pub address: String,
    pub file: String,
    /// 1-based line of the resource, or of the attribute or nested block
    /// that exposes it.
    pub line: usize,
    /// One sentence: what is reachable and how.
    pub how: String,
    pub kind: ExposureKind,
    /// False when the exposure depends on values not known statically:
    /// the entry then says what *may* be exposed and why.
    pub certain: bool,
    /// Whether the traffic is encrypted where it enters (`None`: not
    /// applicable or not known).
    pub tls: Option<bool>,
    /// The chain from outside to the resource, outermost first.
    pub path: Vec<String>,
    /// Fingerprints of the private-network and encryption-in-transit
    /// findings on the same resource.
    pub findings: Vec<String>,
}

/// What kind of thing is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExposureKind {
    /// An internet-facing `aws_lb`, `aws_alb` or `aws_elb`.
    LoadBalancer,
    /// A listener of an internet-facing load balancer.
    Listener,
    /// An ingress rule admitting `0.0.0.0/0` or `::/0`.
    SecurityGroupRule,
    /// A subnet giving public addresses or routed to an internet gateway.
    PublicSubnet,
    /// A database with `publicly_accessible = true`.
    PublicDatabase,
    /// An instance with `associate_public_ip_address = true`.
    PublicInstance,
    /// A non-internal `aptible_endpoint`.
    AptibleEndpoint,
    /// A Kubernetes Service of type LoadBalancer or NodePort, or with
    /// external IPs.
    Service,
    /// A Kubernetes Ingress host and path.
    Ingress,
    /// A compose port published on every host interface, a Kubernetes
    /// `hostPort`, or a container on the host's (node's) network.
    PublishedPort,
    /// A Terraform resource none of the walks lists, with a
    /// private-network finding (an S3 bucket without a public access
    /// block, a cache behind an open security group): the finding says
    /// how.
    Flagged,
    /// A Terraform resource whose private-network verdict depends on
    /// what the files checked do not say (security groups or a subnet
    /// group from a module that was not scanned): it may be reachable.
    Undetermined,
}

impl ExposureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureKind::LoadBalancer => "load-balancer",
            ExposureKind::Listener => "listener",
            ExposureKind::SecurityGroupRule => "security-group-rule",
            ExposureKind::PublicSubnet => "public-subnet",
            ExposureKind::PublicDatabase => "public-database",
            ExposureKind::PublicInstance => "public-instance",
            ExposureKind::AptibleEndpoint => "aptible-endpoint",
            ExposureKind::Service => "service",
            ExposureKind::Ingress => "ingress",
            ExposureKind::PublishedPort => "published-port",
            ExposureKind::Flagged => "flagged",
            ExposureKind::Undetermined => "undetermined",
        }
    }
}

/// The start of every path from the internet.
const INTERNET: &str = "internet";

/// Everything in `report` reachable from outside, sorted by file, line
/// and address.
pub fn collect(report: &Report) -> Vec<Exposure> {
    let context = Context::new(report);
    let mut out = Vec::new();
    let open_groups = security_group::security_groups(&context, &mut out);
    load_balancer::load_balancers(&context, &mut out);
    subnet::subnets(&context, &mut out);
    database::public_databases(&context, &open_groups, &mut out);
    aptible::aptible_endpoints(&context, &mut out);
    container::services(&context, &mut out);
    container::host_ports(&context, &mut out);
    container::compose(&context, &mut out);
    flagged(&context, &mut out);
    undetermined(&context, &mut out);
    out.sort_by(|a, b| {
        (&a.file, a.line, &a.address, a.kind, &a.how)
            .cmp(&(&b.file, b.line, &b.address, b.kind, &b.how))
    });
    out
}

/// The types the walks follow references to (kept small: indexing every
/// address costs more than the walks themselves on large trees).
const NAMED: &[&str] = &[
    "aws_security_group",
    "aws_route_table",
    "aws_lb_target_group",
    "aws_alb_target_group",
    "aptible_app",
    "aptible_database",
    "aptible_replica",
];

/// Whether the walks look for what refers to resources of this type:
/// security groups (what they are attached to), subnets (what sits in
/// them), route tables (their routes), subnet groups (their stores).
fn is_followed_back(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "aws_security_group" | "aws_subnet" | "aws_route_table"
    ) || resource_type.ends_with("_subnet_group")
}

/// The type in a resource address: `module.a.aws_subnet.b[0]` ->
/// `aws_subnet`.
fn type_of(address: &str) -> &str {
    base_address(address).rsplit('.').nth(1).unwrap_or("")
}

/// The report's resources indexed once, for every walk in this module.
struct Context<'r> {
    report: &'r Report,
    /// Each file's display path.
    paths: Vec<String>,
    /// Checked resources by type.
    by_type: HashMap<&'r str, Vec<&'r Resource>>,
    /// Managed Terraform resources of the [`NAMED`] types by address
    /// without instance key.
    /// without instance key, per scope (root module).
    by_address: HashMap<u32, HashMap<&'r str, Vec<&'r Resource>>>,
    /// Managed Terraform resources by the addresses they refer to, for
    /// addresses of the types [`is_followed_back`] accepts, per scope.
    referrers: HashMap<u32, HashMap<&'r str, Vec<&'r Resource>>>,
    /// Private-network and encryption-in-transit findings by (file,
    /// resource).
    findings: HashMap<(usize, &'r str), Vec<&'r Finding>>,
}

impl<'r> Context<'r> {
    fn new(report: &'r Report) -> Context<'r> {
        let mut context = Context {
            report,
            paths: report
                .files
                .iter()
                .map(|f| report.shown_path(&f.path))
                .collect(),
            by_type: HashMap::new(),
            by_address: HashMap::new(),
            referrers: HashMap::new(),
            findings: HashMap::new(),
        };
        for r in &report.resources {
            if !r.kind.is_checked() {
                continue;
            }
            context
                .by_type
                .entry(r.resource_type.as_str())
                .or_default()
                .push(r);
            if r.kind != BlockKind::Resource {
                continue;
            }
            if NAMED.contains(&r.resource_type.as_str()) {
                context
                    .by_address
                    .entry(r.scope)
                    .or_default()
                    .entry(base_address(&r.address))
                    .or_default()
                    .push(r);
            }
            for reference in &r.references {
                if is_followed_back(type_of(reference)) {
                    context
                        .referrers
                        .entry(r.scope)
                        .or_default()
                        .entry(reference.as_str())
                        .or_default()
                        .push(r);
                }
            }
        }
        for f in &report.findings {
            if matches!(
                f.category,
                Category::PrivateNetwork | Category::EncryptionInTransit
            ) {
                context
                    .findings
                    .entry((f.file, f.resource.as_str()))
                    .or_default()
                    .push(f);
            }
        }
        context
    }

    /// The checked resources of one type.
    fn of_type(&self, resource_type: &str) -> &[&'r Resource] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }

    /// The managed resources `from`'s reference names.
    fn named(&self, from: &Resource, reference: &str) -> &[&'r Resource] {
        self.by_address
            .get(&from.scope)
            .and_then(|m| m.get(reference))
            .map_or(&[], Vec::as_slice)
    }

    /// The managed resources referring to `subject` (any instance of it),
    /// of a type [`is_followed_back`] accepts.
    fn referring_to(&self, subject: &Resource) -> &[&'r Resource] {
        let address = base_address(&subject.address);
        debug_assert!(is_followed_back(type_of(address)), "{address}");
        self.referrers
            .get(&subject.scope)
            .and_then(|m| m.get(address))
            .map_or(&[], Vec::as_slice)
    }

    /// The resources `resource` refers to whose type is one of `types`,
    /// all of them [`NAMED`].
    fn referred<'a>(
        &'a self,
        resource: &'a Resource,
        types: &'a [&str],
    ) -> impl Iterator<Item = &'r Resource> + 'a {
        debug_assert!(types.iter().all(|t| NAMED.contains(t)), "{types:?}");
        resource
            .references
            .iter()
            .flat_map(move |a| self.named(resource, a))
            .copied()
            .filter(|r| types.contains(&r.resource_type.as_str()))
    }

    /// An entry for `resource`, located at `at` (or its nearest ancestor
    /// with a span), with the findings within `scope` linked: a nested
    /// block or list item (`/ingress/0`) takes the resource's findings
    /// except those on its siblings.
    fn entry(&self, kind: ExposureKind, resource: &Resource, scope: &str, at: &str) -> Exposure {
        let file = self.report.files.get(resource.file);
        let span = resource.locate(at);
        let findings = self
            .findings
            .get(&(resource.file, resource.address.as_str()))
            .map(|list| {
                list.iter()
                    .filter(|f| in_scope(&f.pointer, scope))
                    .map(|f| f.fingerprint.clone())
                    .collect()
            })
            .unwrap_or_default();
        Exposure {
            address: resource.address.clone(),
            file: self.paths.get(resource.file).cloned().unwrap_or_default(),
            line: file.map_or(0, |f| f.position(span.start).line),
            how: String::new(),
            kind,
            certain: true,
            tls: None,
            path: Vec::new(),
            findings,
        }
    }
}

/// The Terraform resources with a private-network finding that no walk
/// listed, one entry each, located and worded as their first such
/// finding. Terraform's private-network rules are all about the
/// internet; the container ones also judge isolation inside a cluster or
/// a compose project (no NetworkPolicy, no internal network), which is
/// not exposure, and the walks above cover their outside reach.
fn flagged(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    let listed: HashSet<(&str, &str)> = out
        .iter()
        .map(|e| (e.file.as_str(), e.address.as_str()))
        .collect();
    let mut found: Vec<Exposure> = Vec::new();
    let mut seen: HashSet<(usize, &str)> = HashSet::new();
    for f in &ctx.report.findings {
        let terraform = || {
            ctx.report
                .files
                .get(f.file)
                .and_then(|file| format_of(file.path()))
                == Some(Format::Terraform)
        };
        if f.category != Category::PrivateNetwork || !terraform() {
            continue;
        }
        let path = ctx.paths.get(f.file).map_or("", String::as_str);
        if listed.contains(&(path, f.resource.as_str())) || !seen.insert((f.file, &f.resource)) {
            continue;
        }
        let on_resource = ctx
            .findings
            .get(&(f.file, f.resource.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let others = on_resource
            .iter()
            .filter(|o| o.category == Category::PrivateNetwork)
            .count()
            .saturating_sub(1);
        let more = match others {
            0 => String::new(),
            n => format!(" ({n} more private-network finding(s) on it)"),
        };
        found.push(Exposure {
            address: f.resource.clone(),
            file: path.to_string(),
            line: ctx
                .report
                .files
                .get(f.file)
                .map_or(0, |file| file.position(f.span.start).line),
            how: format!("{}{more}.", f.message.trim_end_matches('.')),
            kind: ExposureKind::Flagged,
            certain: true,
            tls: None,
            path: vec![INTERNET.to_string(), f.resource.clone()],
            findings: on_resource.iter().map(|o| o.fingerprint.clone()).collect(),
        });
    }
    out.append(&mut found);
}

/// The Terraform resources no walk listed whose private-network verdict
/// is undecided: they may be reachable, and a report that listed none of
/// them would claim an exposure it has not shown is absent.
fn undetermined(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    let listed: HashSet<(String, String)> = out
        .iter()
        .map(|e| (e.file.clone(), e.address.clone()))
        .collect();
    let mut seen: HashSet<(usize, &str)> = HashSet::new();
    for f in &ctx.report.undecided {
        if f.category != Category::PrivateNetwork
            || ctx
                .report
                .files
                .get(f.file)
                .and_then(|file| format_of(file.path()))
                != Some(Format::Terraform)
        {
            continue;
        }
        let path = ctx.paths.get(f.file).map_or("", String::as_str);
        if listed.contains(&(path.to_string(), f.resource.clone()))
            || !seen.insert((f.file, &f.resource))
        {
            continue;
        }
        out.push(Exposure {
            address: f.resource.clone(),
            file: path.to_string(),
            line: ctx
                .report
                .files
                .get(f.file)
                .map_or(0, |file| file.position(f.span.start).line),
            how: format!("May be reachable, not decided: {}", f.message),
            kind: ExposureKind::Undetermined,
            certain: false,
            tls: None,
            path: vec![
                INTERNET.to_string(),
                format!("{} (not decided)", f.resource),
            ],
            findings: vec![f.fingerprint.clone()],
        });
    }
}

/// Whether a finding at `pointer` belongs to an entry about `scope`: it is
/// not inside a sibling item of any list on the way to `scope`.
fn in_scope(pointer: &str, scope: &str) -> bool {
    let mut element = scope;
    while !element.is_empty() {
        let list = parent_pointer(element);
        let last = &element[list.len()..];
        if last.trim_start_matches('/').parse::<usize>().is_ok()
            && within(pointer, list)
            && !within(pointer, element)
        {
            return false;
        }
        element = list;
    }
    true
}

/// Whether `pointer` is `base` or inside it.
fn within(pointer: &str, base: &str) -> bool {
    pointer
        .strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A value read from a resource.
enum Known<T> {
    /// Left out (or null without being unknown).
    Absent,
    /// Not known statically.
    Unknown,
    Value(T),
}

/// A scalar attribute as text (numbers and booleans rendered).
fn text(resource: &Resource, pointer: &str) -> Known<String> {
    if resource.is_unknown(pointer) {
        return Known::Unknown;
    }
    match resource.attributes.pointer(pointer) {
        None | Some(Value::Null) => Known::Absent,
        Some(Value::String(s)) => Known::Value(s.clone()),
        Some(Value::Number(n)) => Known::Value(n.to_string()),
        Some(Value::Bool(b)) => Known::Value(b.to_string()),
        Some(_) => Known::Unknown,
    }
}

/// A boolean attribute: its value, `default` when left out, `None` when
/// not known statically.
fn flag(resource: &Resource, pointer: &str, default: bool) -> Option<bool> {
    match text(resource, pointer) {
        Known::Absent => Some(default),
        Known::Unknown => None,
        Known::Value(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

/// Whether the resource sets one of `names`, at the top or nested
/// (`network_configuration.security_groups`).
fn sets_any(resource: &Resource, names: &[&str]) -> bool {
    let top = resource
        .attributes
        .as_object()
        .is_some_and(|m| m.keys().any(|k| names.contains(&k.as_str())));
    top || resource.spans.keys().any(|p| {
        p.rsplit('/')
            .next()
            .is_some_and(|last| names.contains(&last))
    })
}

/// Sorted, deduplicated addresses.
fn addresses<'a>(resources: impl Iterator<Item = &'a Resource>) -> Vec<String> {
    let mut names: Vec<String> = resources.map(|r| r.address.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// Names for a sentence: `a, b, c and 3 more`.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    match names.len() {
        0 => String::new(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::RuleSet;
    use crate::source::SourceFile;

    fn rules() -> &'static RuleSet {
        static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
        RULES.get_or_init(|| {
            let (rules, errors) = RuleSet::load(&[]);
            assert!(errors.is_empty(), "{errors:?}");
            rules
        })
    }

    /// The exposure of in-memory files, checked with the built-in rules.
    fn exposure(files: &[(&str, &str)]) -> Vec<Exposure> {
        let sources = files
            .iter()
            .map(|(path, text)| SourceFile::new(*path, *text))
            .collect();
        collect(&crate::check_sources(sources, rules()))
    }

    fn terraform(text: &str) -> Vec<Exposure> {
        exposure(&[("main.tf", text)])
    }

    fn of_kind(found: &[Exposure], kind: ExposureKind) -> Vec<&Exposure> {
        found.iter().filter(|e| e.kind == kind).collect()
    }

    fn one<'a>(found: &'a [Exposure], kind: ExposureKind, address: &str) -> &'a Exposure {
        let matching: Vec<&Exposure> = found
            .iter()
            .filter(|e| e.kind == kind && e.address == address)
            .collect();
        assert_eq!(matching.len(), 1, "{kind:?} {address}: {found:#?}");
        matching[0]
    }

    const LOAD_BALANCER: &str = r#"
resource "aws_lb" "web" {
  name               = "web"
  load_balancer_type = "application"
  security_groups    = [aws_security_group.web.id]
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.web.arn
  port              = 443
  protocol          = "HTTPS"
  certificate_arn   = "arn:aws:acm:eu-west-1:123456789012:certificate/web"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_listener" "plain" {
  load_balancer_arn = aws_lb.web.arn
  port              = 8080

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_target_group" "web" {
  port     = 8080
  protocol = "HTTP"
}

resource "aws_lb" "internal" {
  internal = true
}

resource "aws_lb_listener" "internal" {
  load_balancer_arn = aws_lb.internal.arn
  port              = 80
  protocol          = "HTTP"
}
"#;

    #[test]
    fn public_load_balancer_and_its_listeners() {
        let found = terraform(LOAD_BALANCER);
        let lb = one(&found, ExposureKind::LoadBalancer, "aws_lb.web");
        assert!(lb.certain);
        assert_eq!(lb.line, 2);
        assert!(lb.how.contains("internet-facing application"), "{}", lb.how);
        assert_eq!(
            lb.path,
            ["internet", "aws_lb.web (internet-facing application)"]
        );

        let http = one(&found, ExposureKind::Listener, "aws_lb_listener.http");
        assert_eq!(http.tls, Some(false));
        assert!(http.how.contains("redirects to HTTPS"), "{}", http.how);
        assert_eq!(
            http.path,
            [
                "internet",
                "aws_lb.web (internet-facing application)",
                "aws_lb_listener.http :80 HTTP → redirect to HTTPS"
            ]
        );
        assert!(http.findings.is_empty());

        let https = one(&found, ExposureKind::Listener, "aws_lb_listener.https");
        assert_eq!(https.tls, Some(true));
        assert_eq!(
            https.path.last().map(String::as_str),
            Some("aws_lb_target_group.web")
        );

        // Protocol left out: HTTP, and flagged by the plain-HTTP rule.
        let plain = one(&found, ExposureKind::Listener, "aws_lb_listener.plain");
        assert_eq!(plain.tls, Some(false));
        assert!(plain.how.contains("does not redirect"), "{}", plain.how);
        assert_eq!(plain.findings.len(), 1);
    }

    #[test]
    fn internal_load_balancer_is_not_listed() {
        let found = terraform(LOAD_BALANCER);
        assert!(
            !found.iter().any(|e| e.address.contains("internal")),
            "{found:#?}"
        );
    }

    #[test]
    fn unknown_internal_flag_may_be_exposed() {
        let found = terraform(
            r#"
variable "internal" {
  type = bool
}

resource "aws_lb" "web" {
  internal = var.internal
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"
}
"#,
        );
        let lb = one(&found, ExposureKind::LoadBalancer, "aws_lb.web");
        assert!(!lb.certain);
        assert_eq!(lb.line, 7);
        assert!(lb.how.starts_with("May be"), "{}", lb.how);
        let listener = one(&found, ExposureKind::Listener, "aws_lb_listener.http");
        assert!(!listener.certain);
        assert!(listener.how.starts_with("May be"), "{}", listener.how);
    }

    #[test]
    fn classic_elb_listeners() {
        let found = terraform(
            r#"
resource "aws_elb" "legacy" {
  listener {
    lb_port           = 80
    lb_protocol       = "http"
    instance_port     = 8080
    instance_protocol = "http"
  }
  listener {
    lb_port           = 443
    lb_protocol       = "https"
    instance_port     = 8080
    instance_protocol = "http"
  }
}
"#,
        );
        let lb = one(&found, ExposureKind::LoadBalancer, "aws_elb.legacy");
        assert!(lb.how.contains("classic"), "{}", lb.how);
        let listeners = of_kind(&found, ExposureKind::Listener);
        assert_eq!(listeners.len(), 2, "{found:#?}");
        assert_eq!((listeners[0].line, listeners[0].tls), (3, Some(false)));
        assert_eq!((listeners[1].line, listeners[1].tls), (9, Some(true)));
    }

    const SECURITY_GROUPS: &str = r#"
resource "aws_security_group" "web" {
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}

resource "aws_instance" "web" {
  ami                    = "ami-123"
  vpc_security_group_ids = [aws_security_group.web.id]
}

resource "aws_security_group" "db" {}

resource "aws_security_group_rule" "db" {
  type              = "ingress"
  from_port         = 5432
  to_port           = 5432
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.db.id
}

resource "aws_vpc_security_group_ingress_rule" "all" {
  security_group_id = aws_security_group.db.id
  ip_protocol       = "-1"
  cidr_ipv6         = "::/0"
}

resource "aws_vpc_security_group_ingress_rule" "office" {
  security_group_id = aws_security_group.db.id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.0.0.0/8"
}

resource "aws_security_group_rule" "egress" {
  type              = "egress"
  from_port         = 0
  to_port           = 0
  protocol          = "-1"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.db.id
}

resource "aws_db_instance" "records" {
  engine                 = "postgres"
  vpc_security_group_ids = [aws_security_group.db.id]
}
"#;

    #[test]
    fn security_group_rules_open_to_the_world() {
        let found = terraform(SECURITY_GROUPS);
        let rules = of_kind(&found, ExposureKind::SecurityGroupRule);
        assert_eq!(rules.len(), 3, "{rules:#?}");

        let inline = one(
            &found,
            ExposureKind::SecurityGroupRule,
            "aws_security_group.web",
        );
        assert_eq!(inline.line, 3);
        assert!(inline.how.contains("tcp 443"), "{}", inline.how);
        assert!(inline.how.contains("aws_instance.web"), "{}", inline.how);
        assert_eq!(
            inline.path,
            [
                "internet (0.0.0.0/0)",
                "aws_security_group.web ingress #1: tcp 443",
                "aws_instance.web"
            ]
        );

        let rule = one(
            &found,
            ExposureKind::SecurityGroupRule,
            "aws_security_group_rule.db",
        );
        assert!(rule.how.contains("tcp 5432"), "{}", rule.how);
        assert_eq!(
            rule.path,
            [
                "internet (0.0.0.0/0)",
                "aws_security_group_rule.db: tcp 5432",
                "aws_security_group.db",
                "aws_db_instance.records"
            ]
        );
        // Linked to the database's open-port finding on the rule.
        assert!(!rule.findings.is_empty());

        let all = one(
            &found,
            ExposureKind::SecurityGroupRule,
            "aws_vpc_security_group_ingress_rule.all",
        );
        assert!(all.how.contains("all traffic"), "{}", all.how);
        assert_eq!(all.path[0], "internet (::/0)");
    }

    #[test]
    fn private_ranges_and_egress_are_not_listed() {
        let found = terraform(SECURITY_GROUPS);
        for e in &found {
            assert!(!e.how.contains("tcp 22"), "{e:#?}");
            assert_ne!(e.address, "aws_vpc_security_group_ingress_rule.office");
            assert_ne!(e.address, "aws_security_group_rule.egress");
        }
    }

    #[test]
    fn unknown_cidr_may_be_open() {
        let found = terraform(
            r#"
variable "allowed" {
  type = list(string)
}

resource "aws_security_group_rule" "maybe" {
  type              = "ingress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = var.allowed
}
"#,
        );
        let rule = one(
            &found,
            ExposureKind::SecurityGroupRule,
            "aws_security_group_rule.maybe",
        );
        assert!(!rule.certain);
        assert!(rule.how.starts_with("May admit"), "{}", rule.how);
        assert_eq!(rule.line, 11);
    }

    const SUBNETS: &str = r#"
resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
}

resource "aws_subnet" "public" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.1.0/24"
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_subnet" "launch" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.0.2.0/24"
  map_public_ip_on_launch = true
}

resource "aws_subnet" "private" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.3.0/24"
}

resource "aws_nat_gateway" "main" {
  subnet_id = aws_subnet.public.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.main.id
  }
}

resource "aws_route_table_association" "private" {
  subnet_id      = aws_subnet.private.id
  route_table_id = aws_route_table.private.id
}

resource "aws_db_subnet_group" "db" {
  subnet_ids = [aws_subnet.public.id, aws_subnet.private.id]
}

resource "aws_db_instance" "records" {
  engine               = "postgres"
  db_subnet_group_name = aws_db_subnet_group.db.name
}

resource "aws_instance" "app" {
  ami       = "ami-123"
  subnet_id = aws_subnet.launch.id
}
"#;

    #[test]
    fn public_subnets_and_what_sits_in_them() {
        let found = terraform(SUBNETS);
        let subnets = of_kind(&found, ExposureKind::PublicSubnet);
        assert_eq!(subnets.len(), 2, "{subnets:#?}");

        let routed = one(&found, ExposureKind::PublicSubnet, "aws_subnet.public");
        assert_eq!(
            routed.path,
            [
                "internet",
                "aws_internet_gateway.main",
                "aws_route_table.public (0.0.0.0/0)",
                "aws_subnet.public",
                "aws_db_subnet_group.db (aws_db_instance.records), aws_nat_gateway.main"
            ]
        );
        assert!(
            routed.how.contains("aws_db_instance.records"),
            "{}",
            routed.how
        );

        let launch = one(&found, ExposureKind::PublicSubnet, "aws_subnet.launch");
        assert_eq!(launch.line, 27);
        assert!(
            launch.how.contains("map_public_ip_on_launch"),
            "{}",
            launch.how
        );
        assert_eq!(
            launch.path.last().map(String::as_str),
            Some("aws_instance.app")
        );
    }

    #[test]
    fn subnet_routed_through_nat_is_not_listed() {
        let found = terraform(SUBNETS);
        assert!(!found.iter().any(|e| e.address == "aws_subnet.private"));
    }

    #[test]
    fn separate_route_to_the_gateway() {
        let found = terraform(
            r#"
resource "aws_route_table" "public" {
  vpc_id = "vpc-1"
}

resource "aws_route" "out" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_internet_gateway" "main" {
  vpc_id = "vpc-1"
}

resource "aws_subnet" "public" {
  vpc_id = "vpc-1"
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}
"#,
        );
        let subnet = one(&found, ExposureKind::PublicSubnet, "aws_subnet.public");
        assert!(
            subnet.how.contains("aws_route_table.public"),
            "{}",
            subnet.how
        );
    }

    #[test]
    fn publicly_accessible_databases_and_instances() {
        let found = terraform(
            r#"
resource "aws_security_group" "db" {
  ingress {
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "public" {
  engine                 = "postgres"
  publicly_accessible    = true
  vpc_security_group_ids = [aws_security_group.db.id]
}

resource "aws_db_instance" "private" {
  engine              = "postgres"
  publicly_accessible = false
}

resource "aws_db_instance" "default" {
  engine = "postgres"
}

variable "public" {
  type = bool
}

resource "aws_rds_cluster_instance" "maybe" {
  publicly_accessible = var.public
}

resource "aws_instance" "bastion" {
  ami                         = "ami-123"
  associate_public_ip_address = true
}

resource "aws_instance" "worker" {
  ami = "ami-123"
}
"#,
        );
        let public = one(
            &found,
            ExposureKind::PublicDatabase,
            "aws_db_instance.public",
        );
        assert!(public.certain);
        assert_eq!(public.line, 13);
        assert_eq!(
            public.path,
            [
                "internet",
                "aws_security_group.db (tcp 5432 from 0.0.0.0/0)",
                "aws_db_instance.public (publicly accessible)"
            ]
        );
        assert!(!public.findings.is_empty());
        let maybe = one(
            &found,
            ExposureKind::PublicDatabase,
            "aws_rds_cluster_instance.maybe",
        );
        assert!(!maybe.certain);
        assert_eq!(of_kind(&found, ExposureKind::PublicDatabase).len(), 2);
        let bastion = one(&found, ExposureKind::PublicInstance, "aws_instance.bastion");
        assert!(bastion.certain);
        assert_eq!(of_kind(&found, ExposureKind::PublicInstance).len(), 1);
    }

    #[test]
    fn aptible_endpoints() {
        let found = terraform(
            r#"
resource "aptible_database" "records" {
  env_id = 1
  handle = "records"
}

resource "aptible_endpoint" "records" {
  env_id        = 1
  resource_id   = aptible_database.records.database_id
  resource_type = "database"
  endpoint_type = "tcp"
  ip_filtering  = ["203.0.113.0/24"]
}

resource "aptible_endpoint" "web" {
  env_id        = 1
  resource_id   = 5678
  resource_type = "app"
}

variable "internal" {
  type = bool
}

resource "aptible_endpoint" "maybe" {
  env_id        = 1
  resource_id   = 91011
  resource_type = "app"
  internal      = var.internal
}

resource "aptible_endpoint" "internal" {
  env_id        = 1
  resource_id   = aptible_database.records.database_id
  resource_type = "database"
  internal      = true
}
"#,
        );
        let endpoints = of_kind(&found, ExposureKind::AptibleEndpoint);
        assert_eq!(endpoints.len(), 3, "{endpoints:#?}");
        assert!(!found
            .iter()
            .any(|e| e.address == "aptible_endpoint.internal"));
        let maybe = one(
            &found,
            ExposureKind::AptibleEndpoint,
            "aptible_endpoint.maybe",
        );
        assert!(!maybe.certain);
        assert!(maybe.how.starts_with("May be"), "{}", maybe.how);
        assert_eq!(maybe.path[2], "app 91011");
        let db = one(
            &found,
            ExposureKind::AptibleEndpoint,
            "aptible_endpoint.records",
        );
        assert_eq!(
            db.path,
            [
                "internet (ip_filtering: 203.0.113.0/24)",
                "aptible_endpoint.records (external tcp)",
                "aptible_database.records"
            ]
        );
        assert!(!db.findings.is_empty());
        let web = one(
            &found,
            ExposureKind::AptibleEndpoint,
            "aptible_endpoint.web",
        );
        assert_eq!(web.tls, Some(true));
        assert!(web.how.contains("every address"), "{}", web.how);
    }

    const KUBERNETES: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
    - port: 443
      targetPort: 8443
---
apiVersion: v1
kind: Service
metadata:
  name: cache
spec:
  type: NodePort
  selector: {app: cache}
  ports:
    - port: 6379
      nodePort: 30079
---
apiVersion: v1
kind: Service
metadata:
  name: internal
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-internal: "true"
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
    - port: 443
---
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector: {app: web}
  ports:
    - port: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
    - hosts: [secure.example.com]
  rules:
    - host: secure.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: api
                port: {number: 80}
    - host: plain.example.com
      http:
        paths:
          - path: /app
            pathType: Prefix
            backend:
              service:
                name: api
                port: {number: 80}
"#;

    #[test]
    fn kubernetes_services_and_ingress() {
        let found = exposure(&[("k8s/app.yaml", KUBERNETES)]);
        let services = of_kind(&found, ExposureKind::Service);
        assert_eq!(services.len(), 2, "{services:#?}");
        let web = one(&found, ExposureKind::Service, "Service/default/web");
        assert_eq!(web.line, 21);
        assert_eq!(
            web.path,
            [
                "internet",
                "Service/default/web (LoadBalancer :443→8443/TCP)",
                "Deployment/default/web"
            ]
        );
        let cache = one(&found, ExposureKind::Service, "Service/default/cache");
        assert!(cache.how.contains("30079"), "{}", cache.how);
        assert!(cache.how.contains("no workload"), "{}", cache.how);

        let ingress = of_kind(&found, ExposureKind::Ingress);
        assert_eq!(ingress.len(), 2, "{ingress:#?}");
        assert_eq!(ingress[0].tls, Some(true));
        assert_eq!(
            ingress[0].path,
            [
                "internet",
                "https://secure.example.com/ (Ingress/default/web)",
                "Service/default/api :80",
                "Deployment/default/web"
            ]
        );
        assert_eq!(ingress[1].tls, Some(false));
        assert!(ingress[1].how.contains("plain HTTP"), "{}", ingress[1].how);
        assert_eq!(ingress[1].findings.len(), 1);
        assert!(ingress[0].findings.is_empty());
    }

    #[test]
    fn cluster_ip_and_internal_services_are_not_listed() {
        let found = exposure(&[("k8s/app.yaml", KUBERNETES)]);
        for address in ["Service/default/api", "Service/default/internal"] {
            assert!(
                !found
                    .iter()
                    .any(|e| e.kind == ExposureKind::Service && e.address == address),
                "{address}"
            );
        }
    }

    #[test]
    fn pods_on_node_network_and_host_ports() {
        let found = exposure(&[(
            "k8s/agents.yaml",
            r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: datadog/agent:7
          ports:
            - containerPort: 8125
              hostPort: 8125
              protocol: UDP
            - containerPort: 5000
"#,
        )]);
        let ports = of_kind(&found, ExposureKind::PublishedPort);
        let lines: Vec<usize> = ports.iter().map(|e| e.line).collect();
        assert_eq!(lines, [12, 17], "{ports:#?}");
        assert_eq!(
            ports[1].path,
            [
                "any address reaching a node",
                "node :8125",
                "DaemonSet/default/agent `agent` :8125/UDP"
            ]
        );
    }

    #[test]
    fn compose_ports_on_every_interface() {
        let found = exposure(&[(
            "app/compose.yaml",
            r#"services:
  web:
    image: nginx:1.27
    ports:
      - "8080:80"
      - "127.0.0.1:8443:443"
      - target: 9000
        published: 9000
        host_ip: 0.0.0.0
  db:
    image: postgres:16.3
    ports:
      - "127.0.0.1:5432:5432"
  cache:
    image: redis:7.2
    ports:
      - "${CACHE_PORT}:6379"
  metrics:
    image: prom/node-exporter
    network_mode: host
"#,
        )]);
        let ports = of_kind(&found, ExposureKind::PublishedPort);
        let summary: Vec<(&str, usize, bool)> = ports
            .iter()
            .map(|e| (e.address.as_str(), e.line, e.certain))
            .collect();
        assert_eq!(
            summary,
            [
                ("compose:web", 5, true),
                ("compose:web", 7, true),
                ("compose:cache", 17, false),
                ("compose:metrics", 20, true),
            ],
            "{ports:#?}"
        );
        assert_eq!(
            ports[0].path,
            [
                "any address reaching the host",
                "host :8080 (all interfaces)",
                "compose:web :80/tcp"
            ]
        );
        assert!(!found.iter().any(|e| e.address == "compose:db"));
    }

    #[test]
    fn other_private_network_findings_are_kept() {
        let found = terraform(
            r#"
resource "aws_s3_bucket" "exports" {
  bucket = "exports"
}

resource "aws_db_instance" "public" {
  engine              = "postgres"
  publicly_accessible = true
}
"#,
        );
        let bucket = one(&found, ExposureKind::Flagged, "aws_s3_bucket.exports");
        assert_eq!(bucket.findings.len(), 1);
        assert!(bucket.how.contains("public access block"), "{}", bucket.how);
        // Listed by a walk: no second entry from its findings.
        assert_eq!(
            found
                .iter()
                .filter(|e| e.address == "aws_db_instance.public")
                .count(),
            1,
            "{found:#?}"
        );
    }

    #[test]
    fn odd_values_do_not_panic() {
        let found = exposure(&[
            (
                "main.tf",
                r#"
resource "aws_security_group" "odd" {
  ingress {
    from_port   = "abc"
    to_port     = 70000
    protocol    = 6
    cidr_blocks = "0.0.0.0/0"
  }
  ingress = 3
}

resource "aws_lb" "odd" {
  internal = "maybe"
}

resource "aws_lb_listener" "odd" {
  load_balancer_arn = aws_lb.odd.arn
  port              = [1]
  default_action    = "redirect"
}

resource "aws_subnet" "odd" {
  map_public_ip_on_launch = { a = 1 }
}
"#,
            ),
            (
                "k8s/odd.yaml",
                r#"apiVersion: v1
kind: Service
metadata:
  name: odd
spec:
  type: NodePort
  selector: {app: [1]}
  ports: oops
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: odd
spec:
  rules:
    - http: {paths: 3}
    - 7
  tls: yes
"#,
            ),
            (
                "compose.yaml",
                r#"services:
  odd:
    image: busybox
    ports:
      - {}
      - "[::1"
      - ":::80"
      - 8080
"#,
            ),
        ]);
        assert!(found.iter().any(|e| e.address == "Service/default/odd"));
        // Values that cannot be read leave the entry undecided.
        let lb = one(&found, ExposureKind::LoadBalancer, "aws_lb.odd");
        assert!(!lb.certain);
    }

    #[test]
    fn scope_keeps_sibling_findings_apart() {
        assert!(in_scope("/ingress/0/cidr_blocks", "/ingress/0"));
        assert!(!in_scope("/ingress/1/cidr_blocks", "/ingress/0"));
        assert!(in_scope("/tags", "/ingress/0"));
        assert!(in_scope("/spec/rules/0/host", "/spec/rules/0/http/paths/1"));
        assert!(!in_scope(
            "/spec/rules/1/host",
            "/spec/rules/0/http/paths/1"
        ));
        assert!(in_scope("/anything", ""));
    }

    #[test]
    fn output_is_sorted_and_stable() {
        let files = [("b.tf", SECURITY_GROUPS), ("a.tf", LOAD_BALANCER)];
        let first = exposure(&files);
        let keys: Vec<(String, usize)> = first.iter().map(|e| (e.file.clone(), e.line)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let again = exposure(&files);
        assert_eq!(
            serde_json::to_string(&first).ok(),
            serde_json::to_string(&again).ok()
        );
    }
}
