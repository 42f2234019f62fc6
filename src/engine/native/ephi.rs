//! `ephi-placement` (CMP 8.3.4): a data store marked as holding production
//! data (ePHI) must be one the policy allows — by default an Aptible
//! database of type PostgreSQL or Redis. The marker is a tag or label
//! (`data_classification = "ephi"`), a `# policy:` comment above a block
//! that takes no tags, or an address listed in the configuration.
//!
//! [`is_ephi`] answers "is this store marked?" for the inspection report
//! with the same check the rules run, so the two never disagree.

use std::sync::OnceLock;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_json::Value;

use super::container::topology;
use super::{Native, NativeResult};
use crate::engine::wording;
use crate::kinds::{engine_attribute, kind_of, Kind};
use crate::model::{push_pointer, Resource};
use crate::roles::{Classifier, Role};
use crate::ruleset::{Check, RuleSet};

/// A store type the policy allows, with the engines allowed on it (any,
/// when the list is empty).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub engine: Vec<String>,
}

/// The rule file's `params`, which the configuration's `ephi` section
/// may replace key by key.
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

impl Default for Params {
    /// What the built-in rule files say (a test keeps them equal): the
    /// fallback of [`is_ephi`] when the configuration turned the rules off.
    fn default() -> Params {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Params {
            keys: strings(&["data_classification", "data-classification"]),
            values: strings(&["ephi"]),
            resources: Vec::new(),
            allowed: vec![
                Allowed {
                    resource_type: "aptible_database".into(),
                    engine: strings(&["postgresql", "redis"]),
                },
                Allowed {
                    resource_type: "aptible_replica".into(),
                    engine: Vec::new(),
                },
            ],
        }
    }
}

/// A mistake in the params, at a JSON pointer relative to them
/// (`/resources/2`, `/allowed/0/engine`), so that the configuration can
/// report it at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.pointer, self.message)
    }
}

/// The engine a store type takes when its engine attribute is left out,
/// as the provider documents it. Types whose engine is required have no
/// entry.
const ENGINE_DEFAULTS: &[(&str, &str)] = &[
    ("aptible_database", "postgresql"),
    ("aws_elasticache_replication_group", "redis"),
    ("aws_docdb_cluster", "docdb"),
    ("aws_neptune_cluster", "neptune"),
];

/// The metadata maps a marker may be in: Terraform `tags`, compose (and
/// GCP) `labels`, a Cloud SQL instance's `settings.user_labels`, a
/// Kubernetes object's labels and annotations, and a workload's pod
/// template labels.
const PLACES: &[&str] = &[
    "/tags",
    "/labels",
    "/settings/0/user_labels",
    "/metadata/labels",
    "/metadata/annotations",
    "/pod/metadata/labels",
];

#[derive(Debug, Clone)]
pub struct EphiPlacement {
    params: Params,
    resources: GlobSet,
}

/// How a resource is marked as holding ePHI: the pointer of the tag or
/// label (empty for a comment or the configuration) and a description.
pub struct Marker {
    pub pointer: String,
    pub how: String,
}

/// Whether a resource is marked, as far as is known.
enum Marking {
    Marked(Marker),
    /// Not marked by anything known, but a map the marker may be in (or
    /// the marker's value) is unknown: its pointer.
    Unknown(String),
    No,
}

/// Whether the store is one ePHI may live in.
enum Placement {
    Allowed,
    /// Not allowed: where to report it, and what the store runs, if known.
    Outside {
        pointer: String,
        engine: Option<String>,
    },
    /// Depends on the engine attribute at the pointer, which is unknown.
    Unknown(String),
}

impl EphiPlacement {
    pub fn new(params: &Value) -> Result<EphiPlacement, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `ephi-placement`: {e}"))?;
        EphiPlacement::from_params(params)
            .map_err(|e| format!("invalid params for `ephi-placement` at {e}"))
    }

    /// Builds the check: compiles the address globs and checks that every
    /// `engine` list belongs to a type with an engine attribute.
    pub fn from_params(params: Params) -> Result<EphiPlacement, ParamError> {
        let mut builder = GlobSetBuilder::new();
        for (i, pattern) in params.resources.iter().enumerate() {
            let glob = Glob::new(pattern).map_err(|e| ParamError {
                pointer: format!("/resources/{i}"),
                message: format!("invalid glob `{pattern}`: {e}"),
            })?;
            builder.add(glob);
        }
        let resources = builder.build().map_err(|e| ParamError {
            pointer: "/resources".into(),
            message: format!("invalid globs: {e}"),
        })?;
        for (i, allowed) in params.allowed.iter().enumerate() {
            let ty = &allowed.resource_type;
            if !allowed.engine.is_empty() && engine_attribute(ty).is_none() {
                return Err(ParamError {
                    pointer: format!("/allowed/{i}/engine"),
                    message: format!(
                        "`{ty}` has no engine attribute (data/resource-kinds.yaml); \
                         leave `engine` out to allow every {ty}"
                    ),
                });
            }
        }
        Ok(EphiPlacement { params, resources })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether the resource is a data store: a type the resource-kind
    /// table names so, or a compose service or workload whose role is
    /// database.
    pub fn is_data_store(&self, resource: &Resource, classifier: &Classifier) -> bool {
        if kind_of(&resource.resource_type) == Some(Kind::DataStore) {
            return true;
        }
        if resource.resource_type == crate::parse::compose::SERVICE_TYPE {
            let subject = topology::service_subject(resource);
            return classifier.classify(&subject).counted() == Some(Role::Database);
        }
        topology::is_workload(resource)
            && topology::pod_role(resource, classifier).map(|(role, _)| role)
                == Some(Role::Database)
    }

    fn is_ephi_value(&self, value: &str) -> bool {
        self.params
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value.trim()))
    }

    /// How the resource is marked as holding ePHI, if it is.
    pub fn marker(&self, resource: &Resource) -> Option<Marker> {
        match self.marking(resource) {
            Marking::Marked(marker) => Some(marker),
            Marking::Unknown(_) | Marking::No => None,
        }
    }

    fn marking(&self, resource: &Resource) -> Marking {
        let mut unknown = None;
        for map in PLACES {
            if resource.is_unknown(map) {
                unknown.get_or_insert_with(|| map.to_string());
                continue;
            }
            let Some(Value::Object(entries)) = resource.attributes.pointer(map) else {
                continue;
            };
            for key in &self.params.keys {
                let pointer = push_pointer(map, key);
                if resource.is_unknown(&pointer) {
                    unknown.get_or_insert(pointer);
                    continue;
                }
                let Some(value) = entries.get(key).and_then(Value::as_str) else {
                    continue;
                };
                if self.is_ephi_value(value) {
                    return Marking::Marked(Marker {
                        pointer: topology::real_pointer(resource, &pointer),
                        how: format!("{key} = {value}"),
                    });
                }
            }
        }
        for key in &self.params.keys {
            if let Some(value) = resource.policy.get(key) {
                if self.is_ephi_value(value) {
                    return Marking::Marked(Marker {
                        pointer: String::new(),
                        how: format!("`# policy: {key}={value}`"),
                    });
                }
            }
        }
        let base = crate::model::base_address(&resource.address);
        if self.resources.is_match(&resource.address) || self.resources.is_match(base) {
            return Marking::Marked(Marker {
                pointer: String::new(),
                how: "listed under `ephi.resources` in the configuration".to_string(),
            });
        }
        match unknown {
            Some(pointer) => Marking::Unknown(topology::real_pointer(resource, &pointer)),
            None => Marking::No,
        }
    }

    /// Whether the store is allowed by type and engine. Where the engine
    /// decides, it is read from the type's engine attribute, or the
    /// provider's default when the attribute is left out.
    fn placement(&self, resource: &Resource, marker_pointer: &str) -> Placement {
        let allowed: Vec<&Allowed> = self
            .params
            .allowed
            .iter()
            .filter(|a| a.resource_type == resource.resource_type)
            .collect();
        let attribute = engine_attribute(&resource.resource_type);
        let pointer = attribute.map(|a| push_pointer("", a));
        let written = |pointer: &Option<String>| {
            pointer
                .as_ref()
                .filter(|p| resource.spans.contains_key(p.as_str()))
                .cloned()
        };
        if allowed.is_empty() {
            let engine = pointer
                .as_ref()
                .filter(|p| !resource.is_unknown(p))
                .and_then(|_| engine_of(resource, attribute?));
            return Placement::Outside {
                pointer: marker_pointer.to_string(),
                engine,
            };
        }
        if allowed.iter().any(|a| a.engine.is_empty()) {
            return Placement::Allowed;
        }
        if let Some(p) = pointer.as_ref().filter(|p| resource.is_unknown(p)) {
            return Placement::Unknown(p.clone());
        }
        let engine = attribute.and_then(|a| engine_of(resource, a));
        let fits = engine.as_deref().is_some_and(|engine| {
            allowed
                .iter()
                .any(|a| a.engine.iter().any(|e| e.eq_ignore_ascii_case(engine)))
        });
        if fits {
            return Placement::Allowed;
        }
        Placement::Outside {
            pointer: written(&pointer).unwrap_or_else(|| marker_pointer.to_string()),
            engine,
        }
    }

    pub fn run(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        if !self.is_data_store(resource, classifier) {
            return Vec::new();
        }
        let marking = self.marking(resource);
        let marker_pointer = match &marking {
            Marking::Marked(marker) => marker.pointer.clone(),
            Marking::Unknown(pointer) => pointer.clone(),
            Marking::No => return Vec::new(),
        };
        let store = describe(resource);
        let rule = self.describe_allowed();
        let result = match (marking, self.placement(resource, &marker_pointer)) {
            (_, Placement::Allowed) | (Marking::No, _) => return Vec::new(),
            (Marking::Marked(marker), Placement::Outside { pointer, engine }) => {
                let store = match engine {
                    Some(engine) => format!("{store} of type `{engine}`"),
                    None => store,
                };
                NativeResult::Fail {
                    pointer,
                    detail: format!("{store} holds ePHI ({}); {rule}", marker.how),
                }
            }
            (Marking::Marked(marker), Placement::Unknown(pointer)) => {
                let attribute = pointer.trim_start_matches('/');
                NativeResult::Undecided {
                    detail: format!(
                        "{store} holds ePHI ({}), and its `{attribute}` is not known statically; {rule}",
                        marker.how
                    ),
                    pointer,
                }
            }
            (Marking::Unknown(pointer), _) => NativeResult::Undecided {
                detail: format!(
                    "{store} may be marked as holding ePHI by values not known statically; {rule}"
                ),
                pointer,
            },
        };
        vec![result]
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        let p = &self.params;
        let keys = wording::or_list(&wording::code(&p.keys));
        let values: Vec<String> = p.values.iter().map(|v| format!("{v:?}")).collect();
        let mut markers = vec![
            format!(
                "a tag, label or annotation {keys} whose value is {} (in any case)",
                wording::or_list(&values)
            ),
            match (p.keys.first(), p.values.first()) {
                (Some(key), Some(value)) => {
                    format!("a `# policy: {key}={value}` comment above a block that takes no tags")
                }
                _ => "a `# policy:` comment above a block that takes no tags".to_string(),
            },
        ];
        if !p.resources.is_empty() {
            markers.push(format!(
                "an address matching {}",
                wording::or_list(&wording::code(&p.resources))
            ));
        }
        let allowed: Vec<String> = p
            .allowed
            .iter()
            .map(|a| {
                let store = format!(
                    "{} `{}`",
                    wording::article(&a.resource_type),
                    a.resource_type
                );
                if a.engine.is_empty() {
                    store
                } else {
                    format!("{store} running {}", wording::or_list(&a.engine))
                }
            })
            .collect();
        let verdict = if allowed.is_empty() {
            "A marked store fails wherever it is: no store is allowed to hold ePHI.".to_string()
        } else {
            format!(
                "A marked store fails unless it is {}; an engine not known statically makes \
                 the verdict undecided.",
                wording::or_list(&allowed)
            )
        };
        format!(
            "Looks at every data store (a type `data/resource-kinds.yaml` calls one, or a \
             compose service or workload whose role is database) that is marked as \
             holding ePHI: by {}. {verdict} The inspection report asks the same check which \
             stores hold ePHI.",
            wording::or_list(&markers)
        )
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
        if stores.is_empty() {
            return "no store is allowed to hold ePHI".to_string();
        }
        format!("ePHI may live only in {}", stores.join(", "))
    }
}

/// The engine a store runs: its engine attribute, or the provider's
/// default when that is left out.
fn engine_of(resource: &Resource, attribute: &str) -> Option<String> {
    match resource.attributes.get(attribute) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => ENGINE_DEFAULTS
            .iter()
            .find(|(ty, _)| *ty == resource.resource_type)
            .map(|(_, engine)| engine.to_string()),
        Some(_) => None,
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

/// Whether `resource` is marked as holding ePHI, as the ePHI placement
/// rule for its type sees it (the configured keys, values and addresses);
/// with the built-in defaults when no such rule is in force (the
/// configuration turned it off). The inspection report calls this so
/// that its ePHI column and the rule agree.
pub fn is_ephi(rules: &RuleSet, resource: &Resource) -> bool {
    static DEFAULT: OnceLock<Option<EphiPlacement>> = OnceLock::new();
    let configured = rules.rules.iter().find_map(|rule| match &rule.check {
        Check::Native(Native::EphiPlacement(check)) if rule.applies_to(&resource.resource_type) => {
            Some(check.as_ref())
        }
        _ => None,
    });
    let check = configured.or_else(|| {
        DEFAULT
            .get_or_init(|| EphiPlacement::from_params(Params::default()).ok())
            .as_ref()
    });
    check.is_some_and(|c| c.marker(resource).is_some())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::parse::hcl::lower_file;
    use crate::source::SourceFile;

    fn resource(text: &str) -> Resource {
        let source = SourceFile::new("main.tf", text);
        lower_file(0, &source).unwrap().resources.remove(0)
    }

    fn run(text: &str) -> Vec<NativeResult> {
        let check = EphiPlacement::from_params(Params::default()).unwrap();
        check.run(&resource(text), &Classifier::builtin())
    }

    #[test]
    fn an_aptible_database_left_at_the_default_type_is_postgresql() {
        assert!(run(r#"# policy: data_classification=ephi
resource "aptible_database" "records" {
  env_id = 7
  handle = "records"
}"#)
        .is_empty());
    }

    #[test]
    fn the_engine_is_named_and_the_engine_attribute_reported() {
        let results = run(r#"# policy: data_classification=EPHI owner=data
resource "aptible_database" "search" {
  env_id        = 7
  database_type = "mysql"
}"#);
        let [NativeResult::Fail { pointer, detail }] = &results[..] else {
            panic!("{results:?}");
        };
        assert_eq!(pointer, "/database_type");
        assert!(detail.contains("of type `mysql`"), "{detail}");
        assert!(detail.contains("aptible_database (postgresql or redis)"));
    }

    #[test]
    fn unknown_engines_and_markers_are_undecided() {
        let results = run(r#"# policy: data_classification=ephi
resource "aptible_database" "x" {
  database_type = var.kind
}"#);
        assert!(
            matches!(&results[..], [NativeResult::Undecided { pointer, .. }] if pointer == "/database_type")
        );
        let results = run(r#"resource "aws_dynamodb_table" "t" {
  name = "t"
  tags = var.tags
}"#);
        assert!(
            matches!(&results[..], [NativeResult::Undecided { pointer, .. }] if pointer == "/tags")
        );
    }

    #[test]
    fn unmarked_or_other_classifications_pass() {
        assert!(run(r#"resource "aws_s3_bucket" "b" {
  tags = { data_classification = "public" }
}"#)
        .is_empty());
        assert!(run(r#"resource "aws_instance" "i" {
  tags = { data_classification = "ephi" }
}"#)
        .is_empty());
    }

    #[test]
    fn address_globs_mark_untaggable_stores() {
        let params = Params {
            resources: vec!["aws_ebs_volume.records*".into()],
            ..Params::default()
        };
        let check = EphiPlacement::from_params(params).unwrap();
        let r = resource("resource \"aws_ebs_volume\" \"records_a\" {\n  size = 10\n}");
        assert!(
            matches!(&check.run(&r, &Classifier::builtin())[..], [NativeResult::Fail { pointer, .. }] if pointer.is_empty())
        );
    }

    #[test]
    fn param_mistakes_name_their_place() {
        let bad_glob = Params {
            resources: vec!["ok".into(), "a[".into()],
            ..Params::default()
        };
        let err = EphiPlacement::from_params(bad_glob).unwrap_err();
        assert_eq!(err.pointer, "/resources/1");
        let no_engine = Params {
            allowed: vec![Allowed {
                resource_type: "aws_s3_bucket".into(),
                engine: vec!["s3".into()],
            }],
            ..Params::default()
        };
        let err = EphiPlacement::from_params(no_engine).unwrap_err();
        assert_eq!(err.pointer, "/allowed/0/engine");
        assert!(err.message.contains("no engine attribute"), "{err}");
    }

    /// The defaults are what the built-in rule files say.
    #[test]
    fn defaults_match_the_builtin_rule_files() {
        let (rules, errors) = RuleSet::load(&[]);
        assert!(errors.is_empty(), "{errors:#?}");
        let defaults = Params::default();
        let set = |items: &[String]| items.iter().cloned().collect::<BTreeSet<String>>();
        let mut seen = 0;
        for rule in &rules.rules {
            let Check::Native(Native::EphiPlacement(check)) = &rule.check else {
                continue;
            };
            seen += 1;
            let params = check.params();
            assert_eq!(set(&params.keys), set(&defaults.keys), "{}", rule.id);
            assert_eq!(set(&params.values), set(&defaults.values), "{}", rule.id);
            assert_eq!(params.resources, defaults.resources, "{}", rule.id);
            assert_eq!(params.allowed, defaults.allowed, "{}", rule.id);
        }
        assert_eq!(seen, 3);
    }
}
