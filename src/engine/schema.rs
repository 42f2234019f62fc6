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

/// The most subschemas one evaluation may apply at one place in the
/// instance, `$ref`s followed: a schema past it (`anyOf` over `$ref`s to
/// `anyOf`s ..., exponential once expanded) is refused when loaded.
pub const MAX_EXPANDED_SCHEMA: usize = 1_000;

/// Compiles a rule's JSON Schema (draft 2020-12); never fetches anything
/// over the network. Bounded, so that evaluating it cannot blow up: its
/// references are local and acyclic, its size with them expanded is at
/// most [`MAX_EXPANDED_SCHEMA`], and its patterns are matched by the
/// `regex` crate, in time linear in the text (lookaround and
/// backreferences, which need backtracking, are refused).
pub fn compile(schema: &Value) -> Result<CompiledSchema, String> {
    let size = Expansion::new(schema).size(schema)?;
    if size > MAX_EXPANDED_SCHEMA {
        return Err(format!(
            "the schema is too large once its $refs are expanded (more than \
             {MAX_EXPANDED_SCHEMA} subschemas): its evaluation could take too long"
        ));
    }
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(false)
        .with_pattern_options(jsonschema::PatternOptions::regex())
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

/// Keywords whose value is one subschema.
const ONE_SCHEMA: &[&str] = &[
    "items",
    "additionalItems",
    "additionalProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to subschemas (`$defs` is reached only
/// through references).
const SCHEMA_MAP: &[&str] = &["properties", "patternProperties", "dependentSchemas"];

/// Counts a schema's subschemas with its `$ref`s expanded, refusing what
/// cannot be bounded: references that are not local, `$id`, dynamic
/// references and reference cycles.
struct Expansion<'s> {
    root: &'s Value,
    anchors: std::collections::HashMap<&'s str, &'s Value>,
    /// Sizes of the reference targets already counted.
    done: std::collections::HashMap<&'s str, usize>,
    /// The references being expanded, to find cycles.
    open: Vec<&'s str>,
}

impl<'s> Expansion<'s> {
    fn new(root: &'s Value) -> Expansion<'s> {
        let mut anchors = std::collections::HashMap::new();
        let mut stack = vec![root];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(name)) = map.get("$anchor") {
                        anchors.insert(name.as_str(), value);
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        Expansion {
            root,
            anchors,
            done: Default::default(),
            open: Vec::new(),
        }
    }

    fn size(&mut self, schema: &'s Value) -> Result<usize, String> {
        let Value::Object(map) = schema else {
            return Ok(1);
        };
        let mut total: usize = 1;
        for (keyword, value) in map {
            let add = match keyword.as_str() {
                "$ref" => self.reference(value)?,
                "$dynamicRef" | "$recursiveRef" => {
                    return Err(format!("`{keyword}` is not supported in rule schemas"))
                }
                "$id" if !std::ptr::eq(schema, self.root) => {
                    return Err("`$id` below the root is not supported in rule schemas".into())
                }
                k if ONE_SCHEMA.contains(&k) => self.size(value)?,
                k if SCHEMA_LIST.contains(&k) => {
                    let mut sum: usize = 0;
                    for sub in value.as_array().into_iter().flatten() {
                        sum = sum.saturating_add(self.size(sub)?);
                    }
                    sum
                }
                k if SCHEMA_MAP.contains(&k) => {
                    let mut sum: usize = 0;
                    for sub in value.as_object().into_iter().flat_map(|m| m.values()) {
                        sum = sum.saturating_add(self.size(sub)?);
                    }
                    sum
                }
                _ => 0,
            };
            total = total.saturating_add(add);
            if total > MAX_EXPANDED_SCHEMA {
                // Past the bound: no need to count further.
                return Ok(total);
            }
        }
        Ok(total)
    }

    fn reference(&mut self, target: &'s Value) -> Result<usize, String> {
        let Some(reference) = target.as_str() else {
            return Ok(1);
        };
        if let Some(&size) = self.done.get(reference) {
            return Ok(size);
        }
        if self.open.contains(&reference) {
            return Err(format!(
                "the reference `{reference}` refers to itself: rule schemas may not recurse"
            ));
        }
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(format!(
                "the reference `{reference}` is not local: rule schemas may refer only within \
                 themselves (`#/$defs/...` or `#anchor`)"
            ));
        };
        let found = if fragment.is_empty() {
            Some(self.root)
        } else if fragment.starts_with('/') {
            self.root.pointer(fragment)
        } else {
            self.anchors.get(fragment).copied()
        };
        let Some(found) = found else {
            return Err(format!("the reference `{reference}` leads nowhere"));
        };
        self.open.push(reference);
        let size = self.size(found);
        self.open.pop();
        let size = size?;
        self.done.insert(reference, size);
        Ok(size)
    }
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
                        .map(ToString::to_string),
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

    /// `anyOf` of two references to the next level, `depth` levels deep.
    fn doubling(depth: usize) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..depth {
            let next = if i + 1 < depth {
                json!({"$ref": format!("#/$defs/d{}", i + 1)})
            } else {
                json!({"type": "integer"})
            };
            defs.insert(format!("d{i}"), json!({"anyOf": [next, next]}));
        }
        json!({"$defs": defs, "properties": {"tags": {"$ref": "#/$defs/d0"}}})
    }

    #[test]
    fn schemas_that_could_blow_up_are_refused() {
        // 2^8 subschemas once expanded: fine; 2^30: refused, not hung.
        assert!(compile(&doubling(8)).is_ok());
        let err = compile(&doubling(30)).unwrap_err();
        assert!(
            err.contains("too large once its $refs are expanded"),
            "{err}"
        );
        let err =
            compile(&json!({"$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"}))
                .unwrap_err();
        assert!(err.contains("refers to itself"), "{err}");
        let err = compile(&json!({"$ref": "https://example.com/s.json"})).unwrap_err();
        assert!(err.contains("not local"), "{err}");
        let err = compile(&json!({"$dynamicRef": "#x"})).unwrap_err();
        assert!(err.contains("$dynamicRef"), "{err}");
        // Anchors are followed too.
        assert!(compile(
            &json!({"$defs": {"a": {"$anchor": "x", "type": "string"}}, "$ref": "#x"})
        )
        .is_ok());
        // Backtracking patterns are refused; a linear engine runs the rest.
        assert!(compile(&json!({"pattern": "^(?=a)"})).is_err());
        assert!(compile(&json!({"pattern": "(a)\\1"})).is_err());
        let nested = compile(&json!({"properties": {"d": {"pattern": "^(a+)+$"}}})).unwrap();
        let started = std::time::Instant::now();
        let body = format!("d = \"{}!\"", "a".repeat(5000));
        assert!(matches!(
            evaluate(&nested, &resource(&body)),
            Outcome::Fail(_)
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
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
