//! Kubernetes objects: recognised by `apiVersion` and `kind` in any YAML
//! file, lowered to one resource each (`Deployment/prod/web`, the
//! namespace defaulted to `default`), `List` objects unpacked.
//!
//! Every workload kind also gets its pod template at `/pod` (`metadata`
//! and `spec`), wherever the kind nests it (`/spec/template` of a
//! Deployment, `/spec/jobTemplate/spec/template` of a CronJob, the object
//! itself for a Pod), with the spans of the original lines: rules and
//! native checks read every workload's containers at `/pod/spec/containers`.

use serde_json::{Map, Value};

use crate::model::{BlockKind, Resource};
use crate::parse::document::{first_line, rebase, subtree};
use crate::parse::yaml::Document;
use crate::source::SourceFile;

/// The kinds that run pods, and where each keeps its pod template.
pub const WORKLOAD_KINDS: &[(&str, &str)] = &[
    ("Pod", ""),
    ("Deployment", "/spec/template"),
    ("StatefulSet", "/spec/template"),
    ("DaemonSet", "/spec/template"),
    ("ReplicaSet", "/spec/template"),
    ("ReplicationController", "/spec/template"),
    ("Job", "/spec/template"),
    ("CronJob", "/spec/jobTemplate/spec/template"),
];

/// Kinds that live outside namespaces; their address has no namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "GatewayClass",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// The namespace of objects that name none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Whether a YAML value is a Kubernetes object.
pub fn is_object(value: &Value) -> bool {
    value.get("apiVersion").is_some_and(Value::is_string)
        && value.get("kind").is_some_and(Value::is_string)
}

/// Where a workload kind keeps its pod template, if it is one.
pub fn pod_template_pointer(kind: &str) -> Option<&'static str> {
    WORKLOAD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
}

/// Whether objects of this kind live in a namespace.
pub fn is_namespaced(kind: &str) -> bool {
    !CLUSTER_SCOPED.contains(&kind)
}

/// The namespace an object lives in (defaulted), `None` for cluster-scoped
/// kinds.
pub fn namespace_of(resource: &Resource) -> Option<String> {
    if !is_namespaced(&resource.resource_type) {
        return None;
    }
    Some(
        resource
            .attributes
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string(),
    )
}

/// Lowers the objects of one YAML document: the object itself, or the
/// items of a `List`. `ordinal` numbers the document in its file (from 1),
/// for objects without a name.
pub fn lower(
    file_index: usize,
    source: &SourceFile,
    document: &Document,
    ordinal: usize,
) -> Vec<Resource> {
    let mut out = Vec::new();
    let is_list = document
        .value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && document.value.get("items").is_some_and(Value::is_array);
    if is_list {
        let count = document.value["items"].as_array().map_or(0, Vec::len);
        for i in 0..count {
            let base = format!("/items/{i}");
            if document.value.pointer(&base).is_some_and(is_object) {
                let ordinal_name = format!("{ordinal}.{}", i + 1);
                out.extend(lower_object(
                    file_index,
                    source,
                    document,
                    &base,
                    &ordinal_name,
                ));
            }
        }
    } else if is_object(&document.value) {
        out.extend(lower_object(
            file_index,
            source,
            document,
            "",
            &ordinal.to_string(),
        ));
    }
    out
}

fn lower_object(
    file_index: usize,
    source: &SourceFile,
    document: &Document,
    base: &str,
    ordinal: &str,
) -> Option<Resource> {
    let (mut attributes, mut spans) = subtree(document, base)?;
    let kind = attributes.get("kind")?.as_str()?.to_string();
    let metadata = attributes.get("metadata");
    let text = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = text("name")
        .or_else(|| text("generateName").map(|g| format!("{g}*")))
        .unwrap_or_else(|| format!("#{ordinal}"));
    let address = if is_namespaced(&kind) {
        let namespace = text("namespace").unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        format!("{kind}/{namespace}/{name}")
    } else {
        format!("{kind}/{name}")
    };
    let span = document.locate(base);
    if let Some(template) = pod_template_pointer(&kind) {
        add_pod_view(&mut attributes, &mut spans, template);
    }
    spans.remove("");
    Some(Resource {
        kind: BlockKind::Manifest,
        address,
        resource_type: kind,
        file: file_index,
        header: first_line(source, span),
        span,
        attributes,
        spans: spans.into_iter().collect(),
        ..Resource::default()
    })
}

/// Copies the pod template at `template` to `/pod`, spans included.
fn add_pod_view(attributes: &mut Value, spans: &mut crate::model::Spans, template: &str) {
    let mut pod = Map::new();
    for part in ["metadata", "spec"] {
        let from = format!("{template}/{part}");
        if let Some(value) = attributes.pointer(&from) {
            pod.insert(part.to_string(), value.clone());
            let copied = rebase(spans, &from, &format!("/pod/{part}"));
            spans.extend(copied);
        }
    }
    if let Some(map) = attributes.as_object_mut() {
        if !map.contains_key("pod") {
            map.insert("pod".to_string(), Value::Object(pod));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml;
    use crate::source::SourceFile;

    fn lower_text(text: &str) -> (SourceFile, Vec<Resource>) {
        let source = SourceFile::new("app.yaml", text);
        let docs = yaml::parse(&source).unwrap();
        let resources = docs
            .iter()
            .enumerate()
            .flat_map(|(i, d)| lower(0, &source, d, i + 1))
            .collect();
        (source, resources)
    }

    fn line(source: &SourceFile, r: &Resource, pointer: &str) -> usize {
        source.position(r.locate(pointer).start).line
    }

    #[test]
    fn addresses_default_the_namespace_and_unpack_lists() {
        let text = "\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
  - apiVersion: v1
    kind: Namespace
    metadata: {name: prod}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
";
        let (source, resources) = lower_text(text);
        let addresses: Vec<&str> = resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "Service/default/web",
                "Namespace/prod",
                "Deployment/prod/api"
            ]
        );
        assert_eq!(line(&source, &resources[0], "/metadata/name"), 6);
        assert_eq!(line(&source, &resources[0], ""), 4);
        assert_eq!(line(&source, &resources[2], ""), 11);
    }

    #[test]
    fn pod_templates_are_reachable_at_pod() {
        let text = "\
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: '@daily'
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: dump
              image: postgres:16
";
        let (source, resources) = lower_text(text);
        let cron = &resources[0];
        assert_eq!(
            cron.attributes.pointer("/pod/spec/containers/0/image"),
            Some(&Value::from("postgres:16"))
        );
        assert_eq!(line(&source, cron, "/pod/spec/containers/0/image"), 12);
    }
}
