//! The container side of the exposure: Kubernetes Services of type
//! LoadBalancer or NodePort (or with external IPs) and the workloads they
//! select, Ingress hosts and paths with their backends, pods on their
//! node's network or ports, compose ports published on every host
//! interface. Internal load balancers are told apart by the annotations
//! the `kubernetes-database-service-exposed` rule lists, and TLS by the
//! `ingress-tls` check itself.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::{list, text, Context, Exposure, ExposureKind, Known, INTERNET};
use crate::engine::native::container::topology::{
    compose_projects, is_workload, pod_containers, pod_labels, real_pointer, scalar,
    service_selects,
};
use crate::engine::native::container::{Check, ExposedDatabaseService, IngressTls};
use crate::engine::native::NativeResult;
use crate::model::{BlockKind, Resource};
use crate::parse::compose::{self, SERVICE_TYPE};
use crate::parse::kubernetes::{namespace_of, WORKLOAD_KINDS};
use crate::source::SourceFile;

/// Where a node port is reachable from.
const NODES: &str = "any address reaching a node";
/// Where a published compose port is reachable from.
const HOST: &str = "any address reaching the host";

/// The `exposed-database-service` check as its rule configures it, for
/// its list of annotations that make a load balancer internal.
fn internal_annotations() -> Option<&'static ExposedDatabaseService> {
    static CHECK: OnceLock<Option<ExposedDatabaseService>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let source = SourceFile::new(
                "builtin:kubernetes/database-service-exposed.yaml",
                include_str!("../../../rules/kubernetes/database-service-exposed.yaml"),
            );
            let documents = crate::parse::yaml::parse(&source).ok()?;
            let params = documents.first()?.value.get("params")?;
            match Check::new("exposed-database-service", params) {
                Ok(Check::ExposedDatabaseService(check)) => Some(check),
                _ => None,
            }
        })
        .as_ref()
}

/// Workloads by (namespace, pod label, value), so that a Service's
/// selector is matched against the few workloads carrying its rarest
/// label rather than against all.
struct Workloads<'r> {
    by_label: HashMap<(String, String, String), Vec<&'r Resource>>,
}

impl<'r> Workloads<'r> {
    fn new(ctx: &Context<'r>) -> Workloads<'r> {
        let mut by_label: HashMap<(String, String, String), Vec<&'r Resource>> = HashMap::new();
        for (kind, _) in WORKLOAD_KINDS {
            for &r in ctx.of_type(kind) {
                if r.kind != BlockKind::Manifest || !is_workload(r) {
                    continue;
                }
                let namespace = namespace_of(r).unwrap_or_default();
                for (key, value) in pod_labels(r) {
                    if let Some(value) = scalar(&value) {
                        by_label
                            .entry((namespace.clone(), key, value))
                            .or_default()
                            .push(r);
                    }
                }
            }
        }
        Workloads { by_label }
    }

    /// The addresses of the workloads a Service selector selects.
    fn selected(&self, namespace: &str, selector: &Map<String, Value>) -> Vec<String> {
        // The workloads carrying the selector's rarest label: every
        // selected workload carries them all.
        let mut fewest: Option<&Vec<&Resource>> = None;
        for (key, value) in selector {
            let Some(value) = scalar(value) else {
                return Vec::new();
            };
            let key = (namespace.to_string(), key.clone(), value);
            let Some(carrying) = self.by_label.get(&key) else {
                return Vec::new();
            };
            if fewest.is_none_or(|f| carrying.len() < f.len()) {
                fewest = Some(carrying);
            }
        }
        let mut names: Vec<String> = fewest
            .into_iter()
            .flatten()
            .filter(|r| service_selects(selector, &pod_labels(r)))
            .map(|r| r.address.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The workloads a Service selects.
fn service_workloads(workloads: &Workloads<'_>, service: &Resource) -> Vec<String> {
    let selector = service
        .attributes
        .pointer("/spec/selector")
        .and_then(Value::as_object);
    match selector {
        Some(selector) => workloads.selected(&namespace_of(service).unwrap_or_default(), selector),
        None => Vec::new(),
    }
}

/// Kubernetes Services reachable from outside the cluster, and Ingress
/// hosts and paths.
pub(super) fn services(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    let services = ctx.of_type("Service");
    let ingresses = ctx.of_type("Ingress");
    if services.is_empty() && ingresses.is_empty() {
        return;
    }
    let workloads = Workloads::new(ctx);
    for &service in services {
        if service.kind == BlockKind::Manifest {
            service_entry(ctx, &workloads, service, out);
        }
    }
    if ingresses.is_empty() {
        return;
    }
    let by_name: HashMap<(String, &str), &Resource> = services
        .iter()
        .filter_map(|s| {
            let name = s.attributes.pointer("/metadata/name")?.as_str()?;
            Some(((namespace_of(s)?, name), *s))
        })
        .collect();
    for &ingress in ingresses {
        if ingress.kind == BlockKind::Manifest {
            ingress_entries(ctx, &workloads, &by_name, ingress, out);
        }
    }
}

/// How a Service is reachable from outside.
struct Opening {
    /// `LoadBalancer`, `NodePort`, `external IPs`.
    what: &'static str,
    /// Where the reason is written.
    at: &'static str,
    outside: &'static str,
    certain: bool,
}

fn service_entry(
    ctx: &Context<'_>,
    workloads: &Workloads<'_>,
    service: &Resource,
    out: &mut Vec<Exposure>,
) {
    let spec = service.attributes.get("spec");
    let external_ips: Vec<String> = spec
        .and_then(|s| s.get("externalIPs"))
        .and_then(Value::as_array)
        .map(|ips| ips.iter().filter_map(scalar).collect())
        .unwrap_or_default();
    let external = Opening {
        what: "external IPs",
        at: "/spec/externalIPs",
        outside: "any address routed to its external IPs",
        certain: true,
    };
    let opening = match text(service, "/spec/type") {
        Known::Unknown => Opening {
            what: "a type not known statically",
            at: "/spec/type",
            outside: INTERNET,
            certain: false,
        },
        Known::Value(t) if t == "LoadBalancer" => {
            if internal_annotations().is_some_and(|check| check.internal(service)) {
                if external_ips.is_empty() {
                    return;
                }
                external
            } else {
                Opening {
                    what: "LoadBalancer",
                    at: "/spec/type",
                    outside: INTERNET,
                    certain: true,
                }
            }
        }
        Known::Value(t) if t == "NodePort" => Opening {
            what: "NodePort",
            at: "/spec/type",
            outside: NODES,
            certain: true,
        },
        _ if !external_ips.is_empty() => external,
        _ => return,
    };
    let node_ports = opening.what == "NodePort";
    let mut ports = Vec::new();
    if let Some(Value::Array(entries)) = spec.and_then(|s| s.get("ports")) {
        for entry in entries {
            let field = |key: &str| entry.get(key).and_then(scalar);
            let protocol = field("protocol").unwrap_or_else(|| "TCP".to_string());
            let port = field("port").unwrap_or_else(|| "?".to_string());
            ports.push(if node_ports {
                let node = field("nodePort").unwrap_or_else(|| "cluster-assigned".to_string());
                format!("{node}→{port}/{protocol}")
            } else {
                match field("targetPort").filter(|t| *t != port) {
                    Some(target) => format!("{port}→{target}/{protocol}"),
                    None => format!("{port}/{protocol}"),
                }
            });
        }
    }
    let ranges: Vec<String> = spec
        .and_then(|s| s.get("loadBalancerSourceRanges"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(scalar).collect())
        .unwrap_or_default();
    let selected = service_workloads(workloads, service);
    let ports_text = if ports.is_empty() {
        "no declared port".to_string()
    } else {
        list(&ports)
    };
    let selects = if selected.is_empty() {
        "it selects no workload in the files checked".to_string()
    } else {
        format!("it selects {}", list(&selected))
    };
    let restricted = if ranges.is_empty() || opening.what != "LoadBalancer" {
        String::new()
    } else {
        format!(", restricted to {}", list(&ranges))
    };
    let mut e = ctx.entry(ExposureKind::Service, service, "", opening.at);
    e.certain = opening.certain;
    e.how = match opening.what {
        "LoadBalancer" => format!(
            "{} is a public LoadBalancer on {ports_text}{restricted}; {selects}.",
            service.address
        ),
        "NodePort" => format!(
            "{} opens node port {ports_text} on every node; {selects}.",
            service.address
        ),
        "external IPs" => format!(
            "{} accepts {ports_text} on external IPs {}; {selects}.",
            service.address,
            list(&external_ips)
        ),
        _ => format!(
            "May be reachable from outside the cluster: the type of {} is not known statically ({ports_text}); {selects}.",
            service.address
        ),
    };
    // TLS terminated at an AWS load balancer.
    let certificate = service
        .attributes
        .pointer("/metadata/annotations/service.beta.kubernetes.io~1aws-load-balancer-ssl-cert")
        .is_some();
    if opening.what == "LoadBalancer" && certificate {
        e.tls = Some(true);
    }
    let outside = if restricted.is_empty() {
        opening.outside.to_string()
    } else {
        format!("{} ({})", opening.outside, list(&ranges))
    };
    let label = if ports.is_empty() {
        format!("{} ({})", service.address, opening.what)
    } else {
        format!(
            "{} ({} :{})",
            service.address,
            opening.what,
            ports.join(", :")
        )
    };
    e.path = vec![outside, label];
    if !selected.is_empty() {
        e.path.push(list(&selected));
    }
    out.push(e);
}

/// A backend of an Ingress path: `(service name, port)`.
fn backend(value: &Value) -> Option<(String, Option<String>)> {
    if let Some(service) = value.get("service") {
        let name = service.get("name").and_then(scalar)?;
        let port = service
            .get("port")
            .and_then(|p| p.get("number").or_else(|| p.get("name")))
            .and_then(scalar);
        return Some((name, port));
    }
    let name = value.get("serviceName").and_then(scalar)?;
    Some((name, value.get("servicePort").and_then(scalar)))
}

/// One way into an Ingress: a host and path (or the default backend).
struct Route<'a> {
    /// Where it is written (`/spec/rules/0/http/paths/1`).
    scope: String,
    host: String,
    path: String,
    backend: Option<&'a Value>,
    /// Why it is served over plain HTTP, if it is.
    plain: Option<String>,
}

fn ingress_entries(
    ctx: &Context<'_>,
    workloads: &Workloads<'_>,
    by_name: &HashMap<(String, &str), &Resource>,
    ingress: &Resource,
    out: &mut Vec<Exposure>,
) {
    let namespace = namespace_of(ingress).unwrap_or_default();
    // Where the `ingress-tls` check finds plain HTTP, and why.
    let plain: HashMap<String, String> = IngressTls
        .run(ingress)
        .into_iter()
        .filter_map(|r| match r {
            NativeResult::Fail { pointer, detail } => Some((pointer, detail)),
            NativeResult::Undecided { .. } => None,
        })
        .collect();
    let spec = ingress.attributes.get("spec");
    let has_tls = spec
        .and_then(|s| s.get("tls"))
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let mut routes: Vec<Route<'_>> = Vec::new();
    let rules = spec.and_then(|s| s.get("rules")).and_then(Value::as_array);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let scope = format!("/spec/rules/{i}");
        let host = rule
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or("*")
            .to_string();
        let reason = plain
            .get(&format!("{scope}/host"))
            .or_else(|| plain.get(&scope))
            .cloned();
        let paths = rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty());
        match paths {
            Some(paths) => {
                for (j, p) in paths.iter().enumerate() {
                    let path = p.get("path").and_then(Value::as_str).unwrap_or("/");
                    routes.push(Route {
                        scope: format!("{scope}/http/paths/{j}"),
                        host: host.clone(),
                        path: path.to_string(),
                        backend: p.get("backend"),
                        plain: reason.clone(),
                    });
                }
            }
            None => routes.push(Route {
                scope,
                host,
                path: "/".to_string(),
                backend: None,
                plain: reason,
            }),
        }
    }
    for key in ["defaultBackend", "backend"] {
        if let Some(default) = spec.and_then(|s| s.get(key)) {
            let scope = format!("/spec/{key}");
            let reason = plain
                .get(&scope)
                .cloned()
                .or_else(|| (!has_tls).then(|| "the Ingress has no `tls` section".to_string()));
            routes.push(Route {
                scope,
                host: "*".to_string(),
                path: "/".to_string(),
                backend: Some(default),
                plain: reason,
            });
        }
    }
    for Route {
        scope,
        host,
        path,
        backend: target,
        plain: reason,
    } in routes
    {
        let scheme = if reason.is_some() { "http" } else { "https" };
        let url = format!("{scheme}://{host}{path}");
        let mut e = ctx.entry(ExposureKind::Ingress, ingress, &scope, &scope);
        e.tls = Some(reason.is_none());
        e.path = vec![INTERNET.to_string(), format!("{url} ({})", ingress.address)];
        let routed = match target.and_then(backend) {
            Some((name, port)) => {
                let service = match &port {
                    Some(port) => format!("Service/{namespace}/{name} :{port}"),
                    None => format!("Service/{namespace}/{name}"),
                };
                e.path.push(service.clone());
                if let Some(s) = by_name.get(&(namespace.clone(), name.as_str())) {
                    let selected = service_workloads(workloads, s);
                    if !selected.is_empty() {
                        e.path.push(list(&selected));
                    }
                }
                format!(", routed to {service}")
            }
            None => String::new(),
        };
        let transport = match &reason {
            Some(why) => format!("over plain HTTP ({why})"),
            None => "over TLS".to_string(),
        };
        e.how = format!(
            "{} serves {url} to the internet{routed}, {transport}.",
            ingress.address
        );
        out.push(e);
    }
}

/// Kubernetes workloads listening on their nodes' addresses: pods on the
/// node's network (`hostNetwork`), container ports bound to a `hostPort`.
pub(super) fn host_ports(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    for (kind, _) in WORKLOAD_KINDS {
        for &workload in ctx.of_type(kind) {
            if workload.kind != BlockKind::Manifest || !is_workload(workload) {
                continue;
            }
            let address = &workload.address;
            if workload.attributes.pointer("/pod/spec/hostNetwork") == Some(&Value::Bool(true)) {
                let at = real_pointer(workload, "/pod/spec/hostNetwork");
                let mut e = ctx.entry(ExposureKind::PublishedPort, workload, &at, &at);
                e.how = format!(
                    "The pods of {address} run on the node's network (`hostNetwork: true`): every port they listen on is open on the node's addresses."
                );
                e.path = vec![
                    NODES.to_string(),
                    "node network".to_string(),
                    address.clone(),
                ];
                out.push(e);
            }
            for container in pod_containers(workload) {
                let ports = format!("{}/ports", container.pointer);
                let Some(Value::Array(entries)) = workload.attributes.pointer(&ports) else {
                    continue;
                };
                for (i, entry) in entries.iter().enumerate() {
                    let Some(host) = entry.get("hostPort").and_then(scalar) else {
                        continue;
                    };
                    let target = entry
                        .get("containerPort")
                        .and_then(scalar)
                        .unwrap_or_else(|| "?".to_string());
                    let protocol = entry
                        .get("protocol")
                        .and_then(scalar)
                        .unwrap_or_else(|| "TCP".to_string());
                    let name = container.name.as_deref().unwrap_or("?");
                    let at = format!("{ports}/{i}");
                    let mut e = ctx.entry(ExposureKind::PublishedPort, workload, &at, &at);
                    e.how = format!(
                        "Container `{name}` of {address} binds port {target}/{protocol} to port {host} of its node (`hostPort`)."
                    );
                    e.path = vec![
                        NODES.to_string(),
                        format!("node :{host}"),
                        format!("{address} `{name}` :{target}/{protocol}"),
                    ];
                    out.push(e);
                }
            }
        }
    }
}

/// Compose ports published on every host interface, and services on the
/// host's network.
pub(super) fn compose(ctx: &Context<'_>, out: &mut Vec<Exposure>) {
    if ctx.of_type(SERVICE_TYPE).is_empty() {
        return;
    }
    let resources = &ctx.report.resources;
    for project in compose_projects(resources, &ctx.paths) {
        for (name, instances) in &project.services {
            let described: Vec<&Resource> =
                instances.iter().filter_map(|&i| resources.get(i)).collect();
            let Some(&service) = described.first() else {
                continue;
            };
            // Report where the value is written: base or override file.
            let owner = |pointer: &str| {
                described
                    .iter()
                    .copied()
                    .find(|r| r.spans.contains_key(pointer))
                    .unwrap_or(service)
            };
            published(ctx, name, service, &owner, out);
        }
    }
}

fn published<'r>(
    ctx: &Context<'_>,
    name: &str,
    service: &'r Resource,
    owner: &dyn Fn(&str) -> &'r Resource,
    out: &mut Vec<Exposure>,
) {
    let address = &service.address;
    if let Known::Value(mode) = text(service, "/network_mode") {
        if mode == "host" {
            let at = "/network_mode";
            let mut e = ctx.entry(ExposureKind::PublishedPort, owner(at), at, at);
            e.how = format!(
                "Compose service `{name}` runs on the host's network: every port it listens on is open on every host interface."
            );
            e.path = vec![
                HOST.to_string(),
                "host network".to_string(),
                address.clone(),
            ];
            out.push(e);
        }
    }
    if service.is_unknown("/ports") {
        let at = "/ports";
        let mut e = ctx.entry(ExposureKind::PublishedPort, owner(at), at, at);
        e.certain = false;
        e.how = format!(
            "May publish ports on every host interface: the `ports` of compose service `{name}` are not known statically."
        );
        e.path = vec![HOST.to_string(), address.clone()];
        out.push(e);
    }
    let Some(Value::Array(entries)) = service.attributes.get("ports") else {
        return;
    };
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("/ports/{i}");
        if service.is_unknown(&at) {
            let mut e = ctx.entry(ExposureKind::PublishedPort, owner(&at), &at, &at);
            e.certain = false;
            e.how = format!(
                "May publish a port on every host interface: entry {} of the `ports` of compose service `{name}` is not known statically.",
                i + 1
            );
            e.path = vec![HOST.to_string(), address.clone()];
            out.push(e);
            continue;
        }
        let Some(port) = compose::port(entry) else {
            continue;
        };
        if !port.on_all_interfaces() {
            continue;
        }
        let (host, as_port) = match &port.published {
            Some(p) => (format!("host :{p}"), format!("host port {p}")),
            None => ("host".to_string(), "a random host port".to_string()),
        };
        let mut e = ctx.entry(ExposureKind::PublishedPort, owner(&at), &at, &at);
        e.how = format!(
            "Compose service `{name}` publishes container port {} ({}) as {as_port} on every host interface.",
            port.target, port.protocol
        );
        e.path = vec![
            HOST.to_string(),
            format!("{host} (all interfaces)"),
            format!("{address} :{}/{}", port.target, port.protocol),
        ];
        out.push(e);
    }
}
