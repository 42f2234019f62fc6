//! Three-valued evaluation of a JSON Schema against a resource whose
//! attributes may be partly unknown.
//!
//! Unknown values are `null` in the resource's JSON view. A verdict that
//! read an unknown value cannot be trusted either way, so:
//! - an error on a known value, reached only through conjunctive keywords
//!   (`properties`, `items`, `allOf`, `required`, ...), is a definite
//!   failure;
//! - any other error, or a pass, when the evaluation read an unknown value,
//!   is undecided;
//! - everything else is a definite pass.

use jsonschema::Validator;
use serde_json::Value;

use crate::model::{push_pointer, Resource};

/// The outcome of one schema on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The pointers of the failing values (empty pointer: the resource
    /// itself), each with the validator's description of the failure.
    Fail(Vec<SchemaError>),
    /// The verdict depends on these unknown values.
    Undecided(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub pointer: String,
    /// For a missing required property: its name.
    pub missing: Option<String>,
    pub description: String,
}

/// Keywords whose errors hold only under some values of their siblings:
/// an error below one of them is definite only if no unknown was read.
const CONDITIONAL: &[&str] = &[
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// A rule's schema, compiled once, with its source kept for the analysis
/// of which unknowns it reads.
#[derive(Debug)]
pub struct CompiledSchema {
    pub source: Value,
    pub validator: Validator,
}

/// Compiles a rule's JSON Schema (draft 2020-12); never fetches anything
/// over the network.
pub fn compile(schema: &Value) -> Result<CompiledSchema, String> {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(false)
        .build(schema)
        .map_err(|err| err.to_string())?;
    Ok(CompiledSchema {
        source: schema.clone(),
        validator,
    })
}

/// Compiles a schema shipped inside the binary (the rule, config and
/// waiver meta-schemas). The tests prove they compile; should one ever
/// fail, it falls back to accepting everything rather than panicking.
pub fn builtin(text: &str) -> Validator {
    let schema: Value = serde_json::from_str(text).unwrap_or(Value::Bool(true));
    jsonschema::draft202012::new(&schema).unwrap_or_else(|_| {
        jsonschema::draft202012::new(&Value::Bool(true)).expect("the schema `true` compiles")
    })
}

pub fn evaluate(schema: &CompiledSchema, resource: &Resource) -> Outcome {
    let validator = &schema.validator;
    let instance = &resource.attributes;
    if resource.unknown.is_empty() {
        return definite(validator, instance);
    }
    let read = unknowns_read(&schema.source, resource);
    if read.is_empty() {
        return definite(validator, instance);
    }
    let definite_errors: Vec<SchemaError> = validator
        .iter_errors(instance)
        .filter(|err| {
            let pointer = err.instance_path().as_str();
            !resource.is_unknown(pointer)
                && !err
                    .schema_path()
                    .as_str()
                    .split('/')
                    .any(|segment| CONDITIONAL.contains(&segment))
        })
        .map(|err| schema_error(&err))
        .collect();
    if definite_errors.is_empty() {
        Outcome::Undecided(read)
    } else {
        Outcome::Fail(definite_errors)
    }
}

fn definite(validator: &Validator, instance: &Value) -> Outcome {
    let errors: Vec<SchemaError> = validator
        .iter_errors(instance)
        .map(|err| schema_error(&err))
        .collect();
    if errors.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(errors)
    }
}

fn schema_error(err: &jsonschema::ValidationError<'_>) -> SchemaError {
    let missing = match err.kind() {
        jsonschema::error::ValidationErrorKind::Required { property } => Some(
            property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string),
        ),
        _ => None,
    };
    SchemaError {
        pointer: err.instance_path().as_str().to_string(),
        missing,
        description: err.to_string(),
    }
}

/// The unknown pointers the schema could look at: every location its
/// applicators reach in this instance, whatever the branch taken. An
/// over-approximation, so a verdict that does not list an unknown
/// certainly did not depend on it.
fn unknowns_read(schema: &Value, resource: &Resource) -> Vec<String> {
    let mut read = Vec::new();
    reach(schema, &resource.attributes, "", resource, &mut read);
    read.sort();
    read.dedup();
    read
}

fn reach(
    schema: &Value,
    instance: &Value,
    pointer: &str,
    resource: &Resource,
    read: &mut Vec<String>,
) {
    if resource.unknown.contains(pointer) {
        read.push(pointer.to_string());
        return;
    }
    let Value::Object(schema) = schema else {
        return;
    };
    for (keyword, sub) in schema {
        match keyword.as_str() {
            "properties" => {
                if let (Value::Object(subs), Value::Object(object)) = (sub, instance) {
                    for (key, sub) in subs {
                        if let Some(value) = object.get(key) {
                            reach(sub, value, &push_pointer(pointer, key), resource, read);
                        }
                    }
                }
            }
            "patternProperties" | "dependentSchemas" => {
                if let Value::Object(subs) = sub {
                    for sub in subs.values() {
                        reach_children_or_here(keyword, sub, instance, pointer, resource, read);
                    }
                }
            }
            "additionalProperties" | "propertyNames" | "unevaluatedProperties" => {
                reach_members(sub, instance, pointer, resource, read);
            }
            "items" | "prefixItems" | "contains" | "unevaluatedItems" => match sub {
                Value::Array(subs) => {
                    for sub in subs {
                        reach_members(sub, instance, pointer, resource, read);
                    }
                }
                sub => reach_members(sub, instance, pointer, resource, read),
            },
            "allOf" | "anyOf" | "oneOf" => {
                if let Value::Array(subs) = sub {
                    for sub in subs {
                        reach(sub, instance, pointer, resource, read);
                    }
                }
            }
            "not" | "if" | "then" | "else" => reach(sub, instance, pointer, resource, read),
            "$ref" | "$dynamicRef" => {
                // Where a reference leads is not followed here: assume it
                // reads everything below this point.
                read.extend(
                    resource
                        .unknown
                        .iter()
                        .filter(|u| {
                            u.starts_with(pointer)
                                && u.as_bytes().get(pointer.len()).is_none_or(|&b| b == b'/')
                        })
                        .cloned(),
                );
            }
            _ => {}
        }
    }
}

fn reach_children_or_here(
    keyword: &str,
    sub: &Value,
    instance: &Value,
    pointer: &str,
    resource: &Resource,
    read: &mut Vec<String>,
) {
    if keyword == "dependentSchemas" {
        reach(sub, instance, pointer, resource, read);
    } else {
        reach_members(sub, instance, pointer, resource, read);
    }
}

/// Applies `sub` to every member of an object or array instance.
fn reach_members(
    sub: &Value,
    instance: &Value,
    pointer: &str,
    resource: &Resource,
    read: &mut Vec<String>,
) {
    match instance {
        Value::Object(object) => {
            for (key, value) in object {
                reach(sub, value, &push_pointer(pointer, key), resource, read);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                reach(
                    sub,
                    value,
                    &push_pointer(pointer, &i.to_string()),
                    resource,
                    read,
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::hcl::lower_file;
    use crate::source::SourceFile;
    use serde_json::json;

    fn resource(body: &str) -> Resource {
        let text = format!("resource \"t\" \"n\" {{\n{body}\n}}\n");
        let source = SourceFile::new("main.tf", text);
        lower_file(0, &source).unwrap().resources.remove(0)
    }

    fn outcome(schema: Value, body: &str) -> Outcome {
        evaluate(&compile(&schema).unwrap(), &resource(body))
    }

    fn encrypted() -> Value {
        json!({"required": ["enc"], "properties": {"enc": {"const": true}}})
    }

    #[test]
    fn known_values_decide() {
        assert_eq!(outcome(encrypted(), "enc = true"), Outcome::Pass);
        let Outcome::Fail(errors) = outcome(encrypted(), "enc = false") else {
            panic!("expected a failure");
        };
        assert_eq!(errors[0].pointer, "/enc");
        let Outcome::Fail(errors) = outcome(encrypted(), "other = 1") else {
            panic!("expected a failure");
        };
        assert_eq!(errors[0].pointer, "");
        assert_eq!(errors[0].missing.as_deref(), Some("enc"));
    }

    #[test]
    fn unknown_values_leave_the_verdict_open() {
        assert_eq!(
            outcome(encrypted(), "enc = var.enc"),
            Outcome::Undecided(vec!["/enc".into()])
        );
        // A negated check passes on null, but it read the unknown.
        let schema = json!({"properties": {"public": {"not": {"const": true}}}});
        assert!(matches!(
            outcome(schema, "public = var.p"),
            Outcome::Undecided(_)
        ));
        // An unknown object cannot satisfy nor break what is inside it.
        let schema = json!({"properties": {"tags": {"required": ["owner"]}}});
        assert!(matches!(
            outcome(schema, "tags = local.tags"),
            Outcome::Undecided(_)
        ));
    }

    #[test]
    fn unknowns_the_schema_never_reads_do_not_matter() {
        assert_eq!(
            outcome(encrypted(), "enc = true\nname = var.n"),
            Outcome::Pass
        );
        assert!(matches!(
            outcome(encrypted(), "enc = false\nname = var.n"),
            Outcome::Fail(_)
        ));
    }

    #[test]
    fn a_definite_error_beside_an_unknown_still_fails() {
        let schema = json!({"properties": {"a": {"const": true}, "b": {"const": true}}});
        let Outcome::Fail(errors) = outcome(schema, "a = false\nb = var.b") else {
            panic!("expected a failure");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/a");
    }

    #[test]
    fn conditions_on_unknowns_are_undecided() {
        let schema = json!({
            "if": {"properties": {"engine": {"const": "valkey"}}, "required": ["engine"]},
            "then": true,
            "else": {"required": ["at_rest"]}
        });
        assert!(matches!(
            outcome(schema.clone(), "engine = var.e"),
            Outcome::Undecided(_)
        ));
        assert!(matches!(
            outcome(schema, "engine = \"redis\""),
            Outcome::Fail(_)
        ));
    }
}
