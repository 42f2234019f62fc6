//! The significant attributes per resource family: the table
//! `data/parity.yaml`, compiled once.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::source::SourceFile;

/// The attributes `parity` compares for a family of resource types, each
/// as written in the table and as a JSON pointer.
#[derive(Debug, Default)]
pub struct Family {
    /// The family's name in the table (`default` for the rest).
    pub name: String,
    pub significant: Vec<(String, String)>,
    /// Significant, and compared as versions.
    pub versions: Vec<(String, String)>,
    /// Sizes and counts: only with `--all`.
    pub sizes: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilyEntry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    significant: Vec<String>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    sizes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    default: FamilyEntry,
    families: Vec<FamilyEntry>,
}

struct Table {
    default: Family,
    by_type: BTreeMap<String, Family>,
}

fn pointers(names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| {
            let pointer = if n.starts_with('/') {
                n.clone()
            } else {
                crate::model::push_pointer("", n)
            };
            (n.clone(), pointer)
        })
        .collect()
}

fn family(entry: &FamilyEntry) -> Family {
    Family {
        name: entry.name.clone().unwrap_or_else(|| "default".into()),
        significant: pointers(&entry.significant),
        versions: pointers(&entry.versions),
        sizes: pointers(&entry.sizes),
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let source = SourceFile::new(
            "builtin:data/parity.yaml",
            include_str!("../../data/parity.yaml"),
        );
        let documents = crate::parse::yaml::parse(&source).expect("parity.yaml parses");
        let value = documents
            .into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or_default();
        let file: TableFile =
            serde_json::from_value(value).expect("parity.yaml has the table's shape");
        let mut by_type = BTreeMap::new();
        for entry in &file.families {
            for t in &entry.types {
                by_type.insert(t.clone(), family(entry));
            }
        }
        Table {
            default: family(&file.default),
            by_type,
        }
    })
}

/// The attributes compared for `resource_type`.
pub fn family_of(resource_type: &str) -> &'static Family {
    let table = table();
    table.by_type.get(resource_type).unwrap_or(&table.default)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_loads_and_names_each_type_once() {
        let source = include_str!("../../data/parity.yaml");
        let value: serde_json::Value = {
            let file = crate::source::SourceFile::new("parity.yaml", source);
            crate::parse::yaml::parse(&file).unwrap().remove(0).value
        };
        let mut seen = std::collections::BTreeSet::new();
        for family in value["families"].as_array().unwrap() {
            for t in family["types"].as_array().unwrap() {
                assert!(seen.insert(t.as_str().unwrap()), "{t} twice");
            }
        }
        assert!(!super::family_of("aws_db_instance").versions.is_empty());
    }
}
