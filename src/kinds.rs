//! Resource kinds: what a resource type is (data store, compute,
//! network, other), the attribute naming a store's engine, where its
//! backup retention is written, the resources that carry its settings,
//! the controls that cannot apply to it and the platform's guarantees —
//! the table `data/resource-kinds.yaml`, compiled once. Below the engine:
//! rules and the posture both read it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::source::SourceFile;

/// What kind of thing a resource type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DataStore,
    Compute,
    Network,
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DataStore => "data-store",
            Kind::Compute => "compute",
            Kind::Network => "network",
            Kind::Other => "other",
        }
    }
}

/// The kind of a resource type, from `data/resource-kinds.yaml`; `None`
/// for types the table does not name (reported as `other`).
pub fn kind_of(resource_type: &str) -> Option<Kind> {
    kinds().get(resource_type).map(|e| e.kind)
}

/// The attribute naming a data store type's engine (`engine`,
/// `database_type`), from `data/resource-kinds.yaml`.
pub fn engine_attribute(resource_type: &str) -> Option<&'static str> {
    kinds().get(resource_type)?.engine.as_deref()
}

pub(crate) struct KindEntry {
    pub(crate) kind: Kind,
    pub(crate) engine: Option<String>,
    pub(crate) retention: Option<Retention>,
    /// Types whose findings count for this store's cells.
    pub(crate) context: Vec<String>,
    /// Controls the platform provides, with the reason.
    pub(crate) platform: BTreeMap<String, String>,
    /// Controls that do not apply to the type (or to some of its
    /// engines), with the reason.
    pub(crate) not_applicable: Vec<NotApplicable>,
    /// For a copy of another store, how it names the source.
    pub(crate) source: Option<SourceOf>,
}

/// How a copy of a data store (a read replica) names its source, and the
/// controls whose verdict is the source's.
pub(crate) struct SourceOf {
    pub(crate) attribute: String,
    pub(crate) match_by: Option<String>,
    pub(crate) controls: Vec<String>,
}

/// Controls that cannot apply: a Memcached node has no storage to encrypt
/// or back up; a snapshot copy has no network.
pub(crate) struct NotApplicable {
    pub(crate) controls: Vec<String>,
    /// The engines it holds for (every engine when empty).
    pub(crate) engines: Vec<String>,
    pub(crate) reason: String,
}

/// Where a data store's backup retention is written.
pub(crate) struct Retention {
    /// The type of the referred resource that holds it, if not the store.
    pub(crate) via: Option<String>,
    /// A JSON pointer into the attributes.
    pub(crate) pointer: String,
    /// The provider's value when the attribute is left out.
    pub(crate) default: Option<i64>,
    /// A JSON pointer to the switch that turns automated backups on, when
    /// the platform has one (Cloud SQL's `backup_configuration.enabled`):
    /// unless it is `true`, no backups are kept at all.
    pub(crate) enabled: Option<String>,
}

/// The resource-kind table, `data/resource-kinds.yaml`, compiled once.
pub(crate) fn kinds() -> &'static BTreeMap<String, KindEntry> {
    static TABLE: OnceLock<BTreeMap<String, KindEntry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let source = SourceFile::new(
            "builtin:data/resource-kinds.yaml",
            include_str!("../data/resource-kinds.yaml"),
        );
        let documents = crate::parse::yaml::parse(&source).expect("resource-kinds.yaml parses");
        let mut table = BTreeMap::new();
        if let Some(Value::Object(map)) = documents.first().map(|d| &d.value) {
            for (resource_type, entry) in map {
                let kind = match entry.get("kind").and_then(Value::as_str) {
                    Some("data-store") => Kind::DataStore,
                    Some("compute") => Kind::Compute,
                    Some("network") => Kind::Network,
                    _ => Kind::Other,
                };
                let text =
                    |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
                let retention = entry.get("retention").map(|r| {
                    let attribute = text(r, "attribute").unwrap_or_default();
                    Retention {
                        via: text(r, "via"),
                        pointer: if attribute.starts_with('/') {
                            attribute
                        } else {
                            crate::model::push_pointer("", &attribute)
                        },
                        default: r.get("default").and_then(Value::as_i64),
                        enabled: text(r, "enabled"),
                    }
                });
                let context = entry
                    .get("context")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let platform = entry
                    .get("platform")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                let strings = |v: Option<&Value>| -> Vec<String> {
                    v.and_then(Value::as_array)
                        .map(|list| {
                            list.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let not_applicable = entry
                    .get("not_applicable")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|na| {
                                Some(NotApplicable {
                                    controls: strings(na.get("controls")),
                                    engines: strings(na.get("engines")),
                                    reason: text(na, "reason")?,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let source = entry.get("source").map(|s| SourceOf {
                    attribute: text(s, "attribute").unwrap_or_default(),
                    match_by: text(s, "match_by"),
                    controls: strings(s.get("controls")),
                });
                table.insert(
                    resource_type.clone(),
                    KindEntry {
                        kind,
                        engine: text(entry, "engine"),
                        retention,
                        context,
                        platform,
                        source,
                        not_applicable,
                    },
                );
            }
        }
        table
    })
}
