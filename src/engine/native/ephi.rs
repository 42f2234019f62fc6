//! `ephi-placement` (CMP 8.3.4): a data store marked as holding production
//! data (ePHI) must be one the policy allows — by default an Aptible
//! database of type PostgreSQL or Redis. The marker is a tag or label
//! (`data_classification = "ephi"`), a `# policy:` comment above a block
//! that takes no tags, or an address listed in the configuration.

use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_json::Value;

use super::container::topology;
use super::NativeResult;
use crate::inspect::{engine_attribute, kind_of, Kind};
use crate::model::{push_pointer, Resource};
use crate::roles::{Classifier, Role};

/// A store type the policy allows, with the engines allowed on it (any,
/// when the list is empty).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub engine: Vec<String>,
}

/// The rule file's `params`, which the configuration's `ephi` section
/// may replace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Tag or label keys that classify data.
    pub keys: Vec<String>,
    /// Values of those keys that mean ePHI (compared without case).
    pub values: Vec<String>,
    /// Address globs of stores that hold ePHI whatever their tags say.
    #[serde(default)]
    pub resources: Vec<String>,
    pub allowed: Vec<Allowed>,
}

#[derive(Debug, Clone)]
pub struct EphiPlacement {
    params: Params,
    resources: GlobSet,
    pub(crate) classifier: Arc<Classifier>,
}

/// How a resource is marked as holding ePHI: the pointer of the tag or
/// label (empty for a comment or the configuration) and a description.
pub struct Marker {
    pub pointer: String,
    pub how: String,
}

impl EphiPlacement {
    pub fn new(params: &Value) -> Result<EphiPlacement, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `ephi-placement`: {e}"))?;
        EphiPlacement::from_params(params)
    }

    pub fn from_params(params: Params) -> Result<EphiPlacement, String> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &params.resources {
            builder.add(Glob::new(pattern).map_err(|e| format!("`{pattern}`: {e}"))?);
        }
        let resources = builder.build().map_err(|e| e.to_string())?;
        Ok(EphiPlacement {
            params,
            resources,
            classifier: Classifier::builtin(),
        })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether the resource is a data store: a type the resource-kind
    /// table names so, or a compose service or workload whose role is
    /// database.
    pub fn is_data_store(&self, resource: &Resource) -> bool {
        if kind_of(&resource.resource_type) == Some(Kind::DataStore) {
            return true;
        }
        if resource.resource_type == crate::parse::compose::SERVICE_TYPE {
            let subject = topology::service_subject(resource);
            return self.classifier.classify(&subject).counted() == Some(Role::Database);
        }
        topology::is_workload(resource)
            && topology::pod_role(resource, &self.classifier).map(|(role, _)| role)
                == Some(Role::Database)
    }

    /// How the resource is marked as holding ePHI, if it is.
    pub fn marker(&self, resource: &Resource) -> Option<Marker> {
        let matches = |value: &str| {
            self.params
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value.trim()))
        };
        for map in [
            "/tags",
            "/labels",
            "/metadata/labels",
            "/metadata/annotations",
            "/pod/metadata/labels",
        ] {
            let Some(Value::Object(entries)) = resource.attributes.pointer(map) else {
                continue;
            };
            for key in &self.params.keys {
                if let Some(value) = entries.get(key).and_then(Value::as_str) {
                    if matches(value) {
                        let pointer = push_pointer(map, key);
                        let pointer = topology::real_pointer(resource, &pointer);
                        return Some(Marker {
                            pointer,
                            how: format!("{key} = {value}"),
                        });
                    }
                }
            }
        }
        for key in &self.params.keys {
            if let Some(value) = resource.policy.get(key) {
                if matches(value) {
                    return Some(Marker {
                        pointer: String::new(),
                        how: format!("`# policy: {key}={value}`"),
                    });
                }
            }
        }
        if self.resources.is_match(&resource.address) {
            return Some(Marker {
                pointer: String::new(),
                how: "listed under `ephi.resources` in the configuration".to_string(),
            });
        }
        None
    }

    pub fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        if !self.is_data_store(resource) {
            return Vec::new();
        }
        let Some(marker) = self.marker(resource) else {
            return Vec::new();
        };
        let allowed: Vec<&Allowed> = self
            .params
            .allowed
            .iter()
            .filter(|a| a.resource_type == resource.resource_type)
            .collect();
        let store = describe(resource);
        let rule = self.describe_allowed();
        if allowed.is_empty() {
            return vec![NativeResult::Fail {
                pointer: marker.pointer,
                detail: format!("{store} holds ePHI ({}); {rule}", marker.how),
            }];
        }
        if allowed.iter().any(|a| a.engine.is_empty()) {
            return Vec::new();
        }
        let Some(attribute) = engine_attribute(&resource.resource_type) else {
            return Vec::new();
        };
        let pointer = push_pointer("", attribute);
        if resource.is_unknown(&pointer) {
            return vec![NativeResult::Undecided {
                pointer,
                detail: format!(
                    "{store} holds ePHI ({}), and its `{attribute}` is not known statically; {rule}",
                    marker.how
                ),
            }];
        }
        let engine = resource
            .attributes
            .get(attribute)
            .and_then(Value::as_str)
            .unwrap_or("");
        let fits = allowed
            .iter()
            .any(|a| a.engine.iter().any(|e| e.eq_ignore_ascii_case(engine)));
        if fits {
            Vec::new()
        } else {
            vec![NativeResult::Fail {
                pointer,
                detail: format!(
                    "{store} of type `{engine}` holds ePHI ({}); {rule}",
                    marker.how
                ),
            }]
        }
    }

    /// `ePHI may live only in aptible_database (postgresql or redis)`.
    fn describe_allowed(&self) -> String {
        let stores: Vec<String> = self
            .params
            .allowed
            .iter()
            .map(|a| {
                if a.engine.is_empty() {
                    a.resource_type.clone()
                } else {
                    format!("{} ({})", a.resource_type, a.engine.join(" or "))
                }
            })
            .collect();
        format!("ePHI may live only in {}", stores.join(", "))
    }
}

fn describe(resource: &Resource) -> String {
    match resource.resource_type.as_str() {
        crate::parse::compose::SERVICE_TYPE => format!(
            "compose service `{}`",
            resource.address.trim_start_matches("compose:")
        ),
        _ if topology::is_workload(resource) => format!("workload {}", resource.address),
        t => format!("{t} {}", resource.address),
    }
}
