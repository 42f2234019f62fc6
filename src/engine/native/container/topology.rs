//! What the container checks share: the containers of a pod template, an
//! ECS task or a compose service as role-classifier subjects, Kubernetes
//! label selectors, and compose projects (a compose file and its
//! override, the services and networks they declare).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::model::Resource;
use crate::parse::compose::{self, NETWORK_TYPE, SERVICE_TYPE};
use crate::parse::kubernetes;
use crate::roles::{Classifier, Role, Subject, Verdict};

/// One container of a pod template or an ECS task.
#[derive(Debug, Clone, Default)]
pub struct Container {
    /// Where the container is written.
    pub pointer: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub image_unknown: bool,
    pub ports: Vec<u16>,
}

impl Container {
    pub fn subject<'a>(&'a self, metadata: &'a [(String, String)]) -> Subject<'a> {
        Subject {
            name: self.name.as_deref(),
            image: self.image.as_deref(),
            image_unknown: self.image_unknown,
            built: None,
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect(),
            metadata_unknown: false,
            ports: self.ports.clone(),
        }
    }

    /// `` `web` (image nginx:1.27) ``
    pub fn describe(&self) -> String {
        let name = self.name.as_deref().unwrap_or("?");
        match &self.image {
            Some(image) => format!("`{name}` (image {image})"),
            None => format!("`{name}`"),
        }
    }
}

/// A Kubernetes object's pointer for a pointer into its `/pod` view.
pub fn real_pointer(resource: &Resource, pod_pointer: &str) -> String {
    let Some(rest) = pod_pointer.strip_prefix("/pod") else {
        return pod_pointer.to_string();
    };
    match kubernetes::pod_template_pointer(&resource.resource_type) {
        Some(template) => format!("{template}{rest}"),
        None => pod_pointer.to_string(),
    }
}

/// Whether the resource is a Kubernetes workload (it has a pod template).
pub fn is_workload(resource: &Resource) -> bool {
    kubernetes::pod_template_pointer(&resource.resource_type).is_some()
        && resource.attributes.get("pod").is_some()
}

/// The long-running containers of a workload's pod template: its
/// `containers`, and `initContainers` with `restartPolicy: Always`
/// (native sidecars). Plain init containers finish before the pod runs.
pub fn pod_containers(resource: &Resource) -> Vec<Container> {
    let mut out = Vec::new();
    for (list, only_sidecars) in [("containers", false), ("initContainers", true)] {
        let pointer = format!("/pod/spec/{list}");
        let Some(Value::Array(items)) = resource.attributes.pointer(&pointer) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            if only_sidecars && item.get("restartPolicy").and_then(Value::as_str) != Some("Always")
            {
                continue;
            }
            let ports = item
                .get("ports")
                .and_then(Value::as_array)
                .map(|ports| {
                    ports
                        .iter()
                        .filter_map(|p| p.get("containerPort").and_then(port_number))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Container {
                pointer: real_pointer(resource, &format!("{pointer}/{i}")),
                name: item.get("name").and_then(Value::as_str).map(str::to_string),
                image: item
                    .get("image")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                image_unknown: false,
                ports,
            });
        }
    }
    out
}

/// The labels of a workload's pods.
pub fn pod_labels(resource: &Resource) -> Map<String, Value> {
    resource
        .attributes
        .pointer("/pod/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn string_pairs(map: &Map<String, Value>) -> Vec<(String, String)> {
    map.iter()
        .filter_map(|(k, v)| scalar(v).map(|v| (k.clone(), v)))
        .collect()
}

/// A label value as text, as selectors compare them.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn port_number(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The containers of a pod with their roles. The pod's own role label
/// (`tier: frontend`) describes its main container: the one named by the
/// `kubectl.kubernetes.io/default-container` annotation, else the first
/// that is not a sidecar. The others are classified by their own image,
/// name and ports.
pub fn classified_pod(resource: &Resource, classifier: &Classifier) -> Vec<(Container, Verdict)> {
    let containers = pod_containers(resource);
    let mut verdicts: Vec<Verdict> = containers
        .iter()
        .map(|c| classifier.classify(&c.subject(&[])))
        .collect();
    let default = resource
        .attributes
        .pointer("/pod/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(Value::as_str);
    let main = match default {
        Some(name) => containers
            .iter()
            .position(|c| c.name.as_deref() == Some(name)),
        None => (0..verdicts.len()).find(|&i| !verdicts[i].sidecar),
    };
    if let Some(main) = main {
        let labels = string_pairs(&pod_labels(resource));
        verdicts[main] = classifier.classify(&containers[main].subject(&labels));
    }
    containers.into_iter().zip(verdicts).collect()
}

/// A workload's pods' role: their explicit role label, else the role of
/// a database container among them, else the first counted role.
pub fn pod_role(resource: &Resource, classifier: &Classifier) -> Option<(Role, String)> {
    let labels = string_pairs(&pod_labels(resource));
    let explicit = classifier.classify(&Subject {
        metadata: labels
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect(),
        ..Subject::default()
    });
    let classified = classified_pod(resource, classifier);
    if let Some(role) = explicit.role {
        // A `backend` pod running a database container runs a database
        // (CMP 8.2.5 counts databases among backend systems).
        if role == Role::Backend {
            if let Some((c, v)) = classified
                .iter()
                .find(|(_, v)| v.counted() == Some(Role::Database))
            {
                let name = c.name.as_deref().unwrap_or("?");
                // The container's image or port is the evidence; the
                // pods' label only says backend, which a database also is.
                let reason = if v.reason.contains(&explicit.reason) {
                    format!("container `{name}`, {}", v.reason)
                } else {
                    format!(
                        "container `{name}`, {}; {} is not what makes it a database",
                        v.reason, explicit.reason
                    )
                };
                return Some((Role::Database, reason));
            }
        }
        return Some((role, explicit.reason));
    }
    let counted = || {
        classified
            .iter()
            .filter_map(|(c, v)| v.counted().map(|r| (r, c, v)))
    };
    counted()
        .find(|(r, _, _)| *r == Role::Database)
        .or_else(|| counted().next())
        .map(|(role, c, v)| {
            let name = c.name.as_deref().unwrap_or("?");
            (role, format!("container `{name}`, {}", v.reason))
        })
}

/// Whether a workload runs database pods; with the reason.
pub fn database_pod(resource: &Resource, classifier: &Classifier) -> Option<String> {
    match pod_role(resource, classifier) {
        Some((Role::Database, reason)) => Some(reason),
        _ => None,
    }
}

/// A Kubernetes `LabelSelector` (`matchLabels`, `matchExpressions`)
/// against labels; `{}` selects everything.
pub fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    let label = |k: &str| labels.get(k).and_then(scalar);
    if let Some(Value::Object(match_labels)) = selector.get("matchLabels") {
        for (k, v) in match_labels {
            if label(k) != scalar(v) {
                return false;
            }
        }
    }
    if let Some(Value::Array(expressions)) = selector.get("matchExpressions") {
        for e in expressions {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(scalar).collect())
                .unwrap_or_default();
            let current = label(key);
            let ok = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => current.is_some_and(|c| values.contains(&c)),
                "NotIn" => current.is_none_or(|c| !values.contains(&c)),
                "Exists" => current.is_some(),
                "DoesNotExist" => current.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Whether a selector is empty (selects everything).
pub fn selector_is_empty(selector: &Value) -> bool {
    let empty = |key: &str| match selector.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    selector.is_object() && empty("matchLabels") && empty("matchExpressions")
}

/// A Service's `selector` (a plain map) against pod labels: every pair
/// must be present. An empty selector selects no pods.
pub fn service_selects(selector: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    !selector.is_empty()
        && selector
            .iter()
            .all(|(k, v)| labels.get(k).and_then(scalar) == scalar(v))
}

/// A compose service as a classifier subject.
pub fn service_subject<'r>(resource: &'r Resource) -> Subject<'r> {
    let attrs = &resource.attributes;
    let labels = attrs.get("labels").and_then(Value::as_object);
    let mut ports = Vec::new();
    if let Some(Value::Array(entries)) = attrs.get("ports") {
        for entry in entries {
            if let Some(port) = compose::port(entry) {
                ports.extend(port.target_ports());
            }
        }
    }
    if let Some(Value::Array(entries)) = attrs.get("expose") {
        for entry in entries {
            if let Some(text) = scalar(entry) {
                let text = text.split('/').next().unwrap_or("").to_string();
                ports.extend(compose::port_range(&text));
            }
        }
    }
    Subject {
        name: resource.address.strip_prefix("compose:"),
        image: attrs.get("image").and_then(Value::as_str),
        image_unknown: resource.is_unknown("/image"),
        built: resource
            .built
            .as_ref()
            .map(|b| (b.base_image.as_deref(), b.dockerfile.as_str())),
        metadata: labels
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .unwrap_or_default(),
        metadata_unknown: resource.is_unknown("/labels"),
        ports,
    }
}

/// A compose project: a compose file (and its override) in one folder.
#[derive(Debug, Default)]
pub struct Project {
    /// Services by name, each with the resources describing it (one per
    /// file that mentions it), in source order.
    pub services: Vec<(String, Vec<usize>)>,
    /// Declared networks by name.
    pub networks: BTreeMap<String, Vec<usize>>,
}

impl Project {
    /// The resource whose attributes stand for the service (they are the
    /// same, merged, in every file).
    pub fn primary<'r>(&self, resources: &'r [Resource], instances: &[usize]) -> &'r Resource {
        &resources[instances[0]]
    }

    pub fn network<'r>(&self, resources: &'r [Resource], name: &str) -> Option<&'r Resource> {
        self.networks.get(name).map(|i| &resources[i[0]])
    }

    pub fn service(&self, name: &str) -> Option<&[usize]> {
        self.services
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| i.as_slice())
    }
}

/// Groups compose resources into projects: same folder, same file name
/// once `.override` is dropped.
pub fn compose_projects(resources: &[Resource], paths: &[String]) -> Vec<Project> {
    let mut projects: BTreeMap<(String, String), Project> = BTreeMap::new();
    // Base files before override files, then source order.
    let mut order: Vec<usize> = (0..resources.len())
        .filter(|&i| {
            let t = resources[i].resource_type.as_str();
            t == SERVICE_TYPE || t == NETWORK_TYPE
        })
        .collect();
    let is_override = |i: usize| {
        paths
            .get(resources[i].file)
            .is_some_and(|p| p.contains(".override."))
    };
    order.sort_by_key(|&i| (is_override(i), resources[i].file, resources[i].header.start));
    for i in order {
        let resource = &resources[i];
        let path = paths.get(resource.file).map(String::as_str).unwrap_or("");
        let path = Path::new(path);
        let dir = path
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name
            .trim_end_matches(".yaml")
            .trim_end_matches(".yml")
            .replace(".override", "");
        let project = projects.entry((dir, stem)).or_default();
        if resource.resource_type == SERVICE_TYPE {
            let service = resource.address.trim_start_matches("compose:").to_string();
            match project.services.iter_mut().find(|(n, _)| *n == service) {
                Some((_, instances)) => instances.push(i),
                None => project.services.push((service, vec![i])),
            }
        } else {
            let network = resource
                .address
                .trim_start_matches("compose:network/")
                .to_string();
            project.networks.entry(network).or_default().push(i);
        }
    }
    projects.into_values().collect()
}

/// The networks a compose service is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    /// Project networks (`default` when none is listed), each with the
    /// pointer that lists it (`None` for the implicit `default`).
    Networks(Vec<(String, Option<String>)>),
    /// `network_mode: host`.
    Host,
    /// `network_mode: none`.
    Isolated,
    /// `network_mode: service:<name>`: the named service's networks.
    Service(String),
    /// Not known statically.
    Unknown,
}

pub fn attachment(service: &Resource) -> Attachment {
    if service.is_unknown("/network_mode") {
        return Attachment::Unknown;
    }
    if let Some(mode) = service
        .attributes
        .get("network_mode")
        .and_then(Value::as_str)
    {
        return match mode {
            "host" => Attachment::Host,
            "none" => Attachment::Isolated,
            m if m.starts_with("service:") => {
                Attachment::Service(m["service:".len()..].to_string())
            }
            m if m.starts_with("container:") => Attachment::Unknown,
            other => Attachment::Networks(vec![(other.to_string(), Some("/network_mode".into()))]),
        };
    }
    if service.is_unknown("/networks") {
        return Attachment::Unknown;
    }
    match service
        .attributes
        .get("networks")
        .and_then(Value::as_object)
    {
        Some(map) if !map.is_empty() => Attachment::Networks(
            map.keys()
                .map(|k| (k.clone(), Some(crate::model::push_pointer("/networks", k))))
                .collect(),
        ),
        _ => Attachment::Networks(vec![("default".into(), None)]),
    }
}

/// The attachment with `service:<name>` resolved (one level).
pub fn resolved_attachment(
    project: &Project,
    resources: &[Resource],
    service: &Resource,
) -> Attachment {
    match attachment(service) {
        Attachment::Service(name) => match project.service(&name) {
            Some(instances) => match attachment(project.primary(resources, instances)) {
                Attachment::Service(_) => Attachment::Unknown,
                Attachment::Networks(networks) => Attachment::Networks(
                    networks
                        .into_iter()
                        .map(|(n, _)| (n, Some("/network_mode".to_string())))
                        .collect(),
                ),
                other => other,
            },
            None => Attachment::Unknown,
        },
        other => other,
    }
}
