//! CMP 8.3.4: databases sit on a private network.
//!
//! Kubernetes: `exposed-database-service` (a LoadBalancer or NodePort
//! Service, or one with `externalIPs`, selecting database pods, matched
//! across files in the same namespace), `database-network-policy`
//! (database pods that no NetworkPolicy isolates, or a policy that admits
//! everything), `database-host-network` (`hostNetwork`, `hostPort`).
//!
//! Compose: `published-database-port` (a database service publishing
//! ports on every host interface, or on the host's network) and
//! `database-network-internal` (a database service on no `internal`
//! network).

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::topology::{
    compose_projects, database_pod, is_workload, pod_containers, pod_labels, real_pointer,
    resolved_attachment, scalar, selector_is_empty, selector_matches, service_selects,
    service_subject, Attachment,
};
use super::NativeResult;
use crate::engine::wording;
use crate::model::Resource;
use crate::parse::compose;
use crate::parse::kubernetes::namespace_of;
use crate::roles::{Classifier, Role, Subject};

/// Where a finding about a whole Kubernetes object points: its name.
const NAME: &str = "/metadata/name";

/// The database workloads among `resources`: (index, namespace, reason).
fn database_workloads(
    resources: &[Resource],
    classifier: &Classifier,
) -> Vec<(usize, String, String)> {
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| is_workload(r))
        .filter_map(|(i, r)| {
            let reason = database_pod(r, classifier)?;
            Some((i, namespace_of(r).unwrap_or_default(), reason))
        })
        .collect()
}

/// The parameters of `exposed-database-service`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExposedParams {
    /// Annotations that make a LoadBalancer internal, with the values
    /// that do (any value when the list is empty).
    #[serde(default)]
    internal_annotations: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ExposedDatabaseService {
    params: ExposedParams,
}

impl ExposedDatabaseService {
    pub fn new(params: ExposedParams) -> ExposedDatabaseService {
        ExposedDatabaseService { params }
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        let annotations: Vec<String> = self
            .params
            .internal_annotations
            .iter()
            .map(|(key, values)| {
                if values.is_empty() {
                    format!("`{key}` (any value)")
                } else {
                    let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                    format!("`{key}` = {}", wording::or_list(&values))
                }
            })
            .collect();
        let internal = if annotations.is_empty() {
            String::new()
        } else {
            format!(
                " without an annotation that makes it internal ({})",
                wording::or_list(&annotations)
            )
        };
        format!(
            "Fails when a Service selects database pods of its namespace (matched across \
             the files checked) and exposes them outside the cluster: `type: NodePort`, \
             `externalIPs`, or `type: LoadBalancer`{internal}. A Service whose pods are \
             not in the files checked is judged by its own labels and ports. {}",
            super::ROLES
        )
    }

    pub(crate) fn internal(&self, service: &Resource) -> bool {
        let Some(annotations) = service
            .attributes
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
        else {
            return false;
        };
        self.params
            .internal_annotations
            .iter()
            .any(|(key, values)| {
                annotations
                    .get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| {
                        values.is_empty() || values.iter().any(|w| w.eq_ignore_ascii_case(v))
                    })
            })
    }

    pub fn run_global(
        &self,
        resources: &[Resource],
        paths: &[String],
        classifier: &Classifier,
    ) -> Vec<(usize, NativeResult)> {
        let databases = database_workloads(resources, classifier);
        let folder = |r: &Resource| {
            let path = paths.get(r.file).map(String::as_str).unwrap_or("");
            path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string()
        };
        // The workloads of each namespace, and of each (namespace, pod
        // label, value), in order: looked up per exposed Service, not
        // scanned (a monorepo holds thousands of each).
        let mut in_namespace: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut labelled: BTreeMap<(String, &str, String), Vec<usize>> = BTreeMap::new();
        for (i, r) in resources.iter().enumerate() {
            if !is_workload(r) {
                continue;
            }
            let Some(namespace) = namespace_of(r) else {
                continue;
            };
            let labels = r
                .attributes
                .pointer("/pod/metadata/labels")
                .and_then(Value::as_object);
            for (key, value) in labels.into_iter().flatten() {
                if let Some(value) = scalar(value) {
                    labelled
                        .entry((namespace.clone(), key.as_str(), value))
                        .or_default()
                        .push(i);
                }
            }
            in_namespace.entry(namespace).or_default().push(i);
        }
        let mut out = Vec::new();
        for (index, service) in resources.iter().enumerate() {
            if service.resource_type != "Service" {
                continue;
            }
            let spec = service.attributes.get("spec");
            let kind = spec
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let external_ips = spec
                .and_then(|s| s.get("externalIPs"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            let (pointer, how) = match kind {
                "LoadBalancer" if !self.internal(service) => {
                    ("/spec/type", "a public LoadBalancer".to_string())
                }
                "NodePort" => ("/spec/type", "a NodePort on every node".to_string()),
                _ if external_ips => ("/spec/externalIPs", "external IPs".to_string()),
                _ => continue,
            };
            let namespace = namespace_of(service).unwrap_or_default();
            let selector = spec
                .and_then(|s| s.get("selector"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            // The workloads bearing the selector's first label, when it is
            // a scalar (a workload must bear it to be selected), else those
            // of the namespace; in ascending order, as the resources are.
            let candidates = match selector.iter().next() {
                Some((key, value)) => match scalar(value) {
                    Some(value) => labelled.get(&(namespace.clone(), key.as_str(), value)),
                    None => in_namespace.get(&namespace),
                },
                None => None,
            };
            let selected: Vec<usize> = candidates
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| service_selects(&selector, &pod_labels(&resources[i])))
                .collect();
            // Name the database beside the Service first: selectors match
            // across the files checked, but the same folder is the likely
            // application.
            let here = folder(service);
            let mut matched: Vec<&(usize, String, String)> = databases
                .iter()
                .filter(|(i, _, _)| selected.binary_search(i).is_ok())
                .collect();
            matched.sort_by_key(|(i, _, _)| folder(&resources[*i]) != here);
            let database = matched.first().map(|(i, _, reason)| {
                format!("database pods of {} ({reason})", resources[*i].address)
            });
            let database = database.or_else(|| {
                if !selected.is_empty() {
                    return None;
                }
                // No pods in sight: what the Service itself says.
                self.service_role(service, classifier).map(|reason| {
                    format!("a database ({reason}); its pods are not in the files checked")
                })
            });
            if let Some(what) = database {
                out.push((
                    index,
                    NativeResult::Fail {
                        pointer: pointer.into(),
                        detail: format!("exposes {what} through {how}"),
                    },
                ));
            }
        }
        out
    }

    /// A Service's own role: its labels, else its ports.
    fn service_role(&self, service: &Resource, classifier: &Classifier) -> Option<String> {
        let labels: Vec<(String, String)> = service
            .attributes
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let mut ports = Vec::new();
        if let Some(Value::Array(entries)) = service.attributes.pointer("/spec/ports") {
            for entry in entries {
                let target = entry.get("targetPort").or_else(|| entry.get("port"));
                if let Some(port) = target.and_then(super::topology::port_number) {
                    ports.push(port);
                }
            }
        }
        let verdict = classifier.classify(&Subject {
            metadata: labels
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect(),
            ports,
            ..Subject::default()
        });
        (verdict.role == Some(Role::Database)).then_some(verdict.reason)
    }
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseNetworkPolicy {}

impl DatabaseNetworkPolicy {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        format!(
            "Fails when database pods have no NetworkPolicy in their namespace that \
             selects them and restricts ingress, or when such a policy has an ingress rule \
             that admits every source: one without `from`, an `ipBlock` of `0.0.0.0/0` or \
             `::/0` without `except`, or an empty `namespaceSelector` with no \
             `podSelector`. {}",
            super::ROLES
        )
    }

    pub fn run_global(
        &self,
        resources: &[Resource],
        classifier: &Classifier,
    ) -> Vec<(usize, NativeResult)> {
        let databases = database_workloads(resources, classifier);
        let policies: Vec<(usize, &Resource)> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.resource_type == "NetworkPolicy")
            .collect();
        let mut out = Vec::new();
        let mut reported_rules = HashSet::new();
        for (db, namespace, reason) in &databases {
            let labels = pod_labels(&resources[*db]);
            let covering: Vec<&(usize, &Resource)> = policies
                .iter()
                .filter(|(_, p)| namespace_of(p).as_deref() == Some(namespace.as_str()))
                .filter(|(_, p)| restricts_ingress(p))
                .filter(|(_, p)| {
                    p.attributes
                        .pointer("/spec/podSelector")
                        .is_some_and(|s| selector_matches(s, &labels))
                })
                .collect();
            if covering.is_empty() {
                out.push((
                    *db,
                    NativeResult::Fail {
                        pointer: NAME.into(),
                        detail: format!(
                            "no NetworkPolicy in namespace `{namespace}` restricts ingress to these database pods ({reason})"
                        ),
                    },
                ));
                continue;
            }
            for (index, policy) in covering {
                for (pointer, why) in admits_everything(policy) {
                    if !reported_rules.insert((*index, pointer.clone())) {
                        continue;
                    }
                    out.push((
                        *index,
                        NativeResult::Fail {
                            pointer,
                            detail: format!(
                                "{why}, into the database pods of {} ({reason})",
                                resources[*db].address
                            ),
                        },
                    ));
                }
            }
        }
        out
    }
}

/// Whether a policy applies to ingress: `policyTypes` lists `Ingress`, or
/// is absent (every policy then restricts ingress).
fn restricts_ingress(policy: &Resource) -> bool {
    match policy.attributes.pointer("/spec/policyTypes") {
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some("Ingress")),
        _ => true,
    }
}

/// The ingress rules of a policy that admit any source: a rule without
/// `from`, a peer `ipBlock` of `0.0.0.0/0` or `::/0` without exceptions,
/// or a peer selecting every namespace.
fn admits_everything(policy: &Resource) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(Value::Array(rules)) = policy.attributes.pointer("/spec/ingress") else {
        return out;
    };
    for (i, rule) in rules.iter().enumerate() {
        let base = format!("/spec/ingress/{i}");
        let from = rule.get("from").and_then(Value::as_array);
        let Some(peers) = from.filter(|f| !f.is_empty()) else {
            out.push((
                base,
                "an ingress rule without `from` admits every source".into(),
            ));
            continue;
        };
        for (j, peer) in peers.iter().enumerate() {
            let pointer = format!("{base}/from/{j}");
            if let Some(block) = peer.get("ipBlock") {
                let cidr = block.get("cidr").and_then(Value::as_str).unwrap_or("");
                let except = block
                    .get("except")
                    .and_then(Value::as_array)
                    .is_some_and(|e| !e.is_empty());
                if (cidr == "0.0.0.0/0" || cidr == "::/0") && !except {
                    out.push((pointer, format!("ipBlock `{cidr}` admits every address")));
                }
                continue;
            }
            let every_namespace = peer.get("namespaceSelector").is_some_and(selector_is_empty);
            let every_pod = peer.get("podSelector").is_none_or(selector_is_empty);
            if every_namespace && every_pod {
                out.push((
                    pointer,
                    "an empty namespaceSelector admits every pod of every namespace".into(),
                ));
            }
        }
    }
    out
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseHostNetwork {}

impl DatabaseHostNetwork {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        format!(
            "Fails when database pods use the node's network: `hostNetwork: true`, or a \
             container port with a `hostPort`. {}",
            super::ROLES
        )
    }

    pub fn run(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        if !is_workload(resource) {
            return Vec::new();
        }
        let Some(reason) = database_pod(resource, classifier) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if resource.attributes.pointer("/pod/spec/hostNetwork") == Some(&Value::Bool(true)) {
            out.push(NativeResult::Fail {
                pointer: real_pointer(resource, "/pod/spec/hostNetwork"),
                detail: format!("database pods ({reason}) use the node's network"),
            });
        }
        for container in pod_containers(resource) {
            let ports = format!("{}/ports", container.pointer);
            let Some(Value::Array(entries)) = resource.attributes.pointer(&ports) else {
                continue;
            };
            for (i, entry) in entries.iter().enumerate() {
                if let Some(port) = entry.get("hostPort") {
                    out.push(NativeResult::Fail {
                        pointer: format!("{ports}/{i}/hostPort"),
                        detail: format!(
                            "database pods ({reason}) listen on the node's port {port}"
                        ),
                    });
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
pub struct PublishedDatabasePort {}

impl PublishedDatabasePort {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        format!(
            "Fails when a database compose service publishes a port on every host \
             interface (a `ports` entry with no host address, or `0.0.0.0` or `::`; \
             `127.0.0.1:5432:5432` is fine) or runs with `network_mode: host`. A service \
             whose role or ports are not known statically makes the verdict undecided. {}",
            super::ROLES
        )
    }

    pub fn run(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        if resource.resource_type != compose::SERVICE_TYPE {
            return Vec::new();
        }
        let verdict = classifier.classify(&service_subject(resource));
        let database = verdict.counted() == Some(Role::Database);
        let maybe = !database && verdict.counted().is_none() && verdict.uncertain;
        if !database && !maybe {
            return Vec::new();
        }
        let name = resource.address.trim_start_matches("compose:");
        let reason = if database {
            format!("database service `{name}` ({})", verdict.reason)
        } else {
            format!("service `{name}`, whose role is not known statically,")
        };
        let emit = |pointer: String, detail: String| {
            if database && !verdict.uncertain {
                NativeResult::Fail { pointer, detail }
            } else {
                NativeResult::Undecided { pointer, detail }
            }
        };
        let mut out = Vec::new();
        if resource
            .attributes
            .get("network_mode")
            .and_then(Value::as_str)
            == Some("host")
        {
            out.push(emit(
                "/network_mode".into(),
                format!("{reason} runs on the host's network"),
            ));
        }
        if resource.is_unknown("/ports") {
            out.push(NativeResult::Undecided {
                pointer: "/ports".into(),
                detail: "the published ports are not known statically".into(),
            });
        }
        if let Some(Value::Array(entries)) = resource.attributes.get("ports") {
            for (i, entry) in entries.iter().enumerate() {
                let pointer = format!("/ports/{i}");
                if resource.is_unknown(&pointer) {
                    out.push(NativeResult::Undecided {
                        pointer,
                        detail: format!("{reason}: a port entry is not known statically"),
                    });
                    continue;
                }
                let Some(port) = compose::port(entry) else {
                    continue;
                };
                if port.on_all_interfaces() {
                    let published = port.published.as_deref().unwrap_or("a random port");
                    out.push(emit(
                        pointer,
                        format!(
                            "{reason} publishes container port {} as {published} on every host interface",
                            port.target
                        ),
                    ));
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseNetworkInternal {}

impl DatabaseNetworkInternal {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        format!(
            "Fails when a database compose service is attached to no network declared \
             `internal: true` (the implicit `default` network is not). An `external` \
             network, or networks not known statically, make the verdict undecided. {}",
            super::ROLES
        )
    }

    pub fn run_global(
        &self,
        resources: &[Resource],
        paths: &[String],
        classifier: &Classifier,
    ) -> Vec<(usize, NativeResult)> {
        let mut out = Vec::new();
        for project in compose_projects(resources, paths) {
            for (name, instances) in &project.services {
                let service = project.primary(resources, instances);
                let verdict = classifier.classify(&service_subject(service));
                if verdict.counted() != Some(Role::Database) {
                    continue;
                }
                let networks = match resolved_attachment(&project, resources, service) {
                    Attachment::Networks(networks) => networks,
                    // Covered by `published-database-port`; no network.
                    Attachment::Host | Attachment::Isolated => continue,
                    Attachment::Service(_) | Attachment::Unknown => {
                        for &i in instances {
                            out.push((
                                i,
                                NativeResult::Undecided {
                                    pointer: "/network_mode".into(),
                                    detail: "its network is not known statically".into(),
                                },
                            ));
                        }
                        continue;
                    }
                };
                let mut internal = false;
                let mut unknown = false;
                for (network, _) in &networks {
                    // The implicit `default` network (not declared) is a
                    // plain bridge.
                    let Some(declared) = project.network(resources, network) else {
                        continue;
                    };
                    if declared.is_unknown("/internal") || declared.is_unknown("/external") {
                        unknown = true;
                    }
                    let flag = |key: &str| {
                        declared
                            .attributes
                            .get(key)
                            .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
                    };
                    if flag("internal") {
                        internal = true;
                    } else if flag("external") {
                        // Declared elsewhere: cannot tell.
                        unknown = true;
                    }
                }
                if internal {
                    continue;
                }
                let list = networks
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let pointer = if service.attributes.get("networks").is_some() {
                    "/networks".to_string()
                } else {
                    String::new()
                };
                let detail = format!(
                    "database service `{name}` ({}) is only on {list}, none of them `internal: true`",
                    verdict.reason
                );
                for &i in instances {
                    let result = if unknown || verdict.uncertain {
                        NativeResult::Undecided {
                            pointer: pointer.clone(),
                            detail: detail.clone(),
                        }
                    } else {
                        NativeResult::Fail {
                            pointer: pointer.clone(),
                            detail: detail.clone(),
                        }
                    };
                    out.push((i, result));
                }
            }
        }
        out
    }
}
