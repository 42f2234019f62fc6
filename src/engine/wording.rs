//! Plain words for what a JSON Schema over a resource asks, for the
//! `explain` pages of native checks that take schemas as parameters
//! (`linked`'s `require`, `inline` and `when`). It reads the keywords rule
//! files use; anything else is quoted as compact JSON, never guessed.

use serde_json::{Map, Value};

/// What `schema` asks of a resource, as one clause: "`encrypted` is true
/// and `kms_key_id` is set".
pub fn schema(schema: &Value) -> String {
    let clauses = object(schema);
    if clauses.is_empty() {
        return "anything".to_string();
    }
    and_list(&clauses)
}

/// A value as a rule file writes it: strings quoted, the rest as JSON.
pub fn value(value: &Value) -> String {
    value.to_string()
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    join(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    join(items, "and")
}

fn join(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

/// Names as code: `aws_s3_bucket`.
pub fn code<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    names.iter().map(|n| format!("`{}`", n.as_ref())).collect()
}

/// The text with its first letter in capitals, to start a sentence.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `an` before a vowel, else `a`: "an aws_s3_bucket", "a compose service".
pub fn article(word: &str) -> &'static str {
    match word.trim_start_matches('`').chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'A' | 'E' | 'I' | 'O' | 'U') => "an",
        _ => "a",
    }
}

/// Conditions on an object's attributes, each a whole clause.
fn object(schema: &Value) -> Vec<String> {
    let Some(map) = schema.as_object() else {
        return match schema {
            Value::Bool(false) => vec!["nothing passes".to_string()],
            _ => Vec::new(),
        };
    };
    let required: Vec<&str> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = map.get("properties").and_then(Value::as_object);
    let mut clauses = Vec::new();
    for name in &required {
        if !properties.is_some_and(|p| p.contains_key(*name)) {
            clauses.push(format!("`{name}` is set"));
        }
    }
    for (name, sub) in properties.into_iter().flatten() {
        let said = about(sub);
        let required = required.contains(&name.as_str());
        match (said.is_empty(), required) {
            (true, true) => clauses.push(format!("`{name}` is set")),
            (true, false) => {}
            (false, true) => clauses.push(format!("`{name}` {}", and_list(&said))),
            (false, false) => clauses.push(format!("`{name}` (if set) {}", and_list(&said))),
        }
    }
    for (keyword, sub) in map {
        match keyword.as_str() {
            "required" | "properties" | "$schema" | "$id" | "title" | "description"
            | "$comment" | "type" => {}
            "anyOf" | "oneOf" => {
                let alternatives: Vec<String> = sub
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|alt| grouped(&object(alt)))
                    .collect();
                clauses.push(either(&alternatives));
            }
            "allOf" => {
                for part in sub.as_array().into_iter().flatten() {
                    clauses.extend(object(part));
                }
            }
            "not" => clauses.push(format!("not {}", grouped(&object(sub)))),
            _ => clauses.push(unread(keyword, sub)),
        }
    }
    clauses
}

/// What a schema says of one value, each a predicate: "is true",
/// "matches `^a`", "has an item where `name` is "x"".
fn about(schema: &Value) -> Vec<String> {
    let Some(map) = schema.as_object() else {
        return match schema {
            Value::Bool(false) => vec!["is never allowed".to_string()],
            _ => Vec::new(),
        };
    };
    let mut said = Vec::new();
    // Keywords about an object's members, said together after the rest.
    let mut members = Map::new();
    for (keyword, sub) in map {
        match keyword.as_str() {
            "const" => said.push(format!("is {}", value(sub))),
            "enum" => said.push(one_of(sub)),
            "pattern" => said.push(format!("matches `{}`", sub.as_str().unwrap_or_default())),
            "minimum" => said.push(format!("is at least {sub}")),
            "maximum" => said.push(format!("is at most {sub}")),
            "exclusiveMinimum" => said.push(format!("is more than {sub}")),
            "exclusiveMaximum" => said.push(format!("is less than {sub}")),
            "minLength" => said.push(format!("has at least {sub} characters")),
            "maxLength" => said.push(format!("has at most {sub} characters")),
            "minItems" => said.push(format!("has at least {sub} items")),
            "maxItems" => said.push(format!("has at most {sub} items")),
            "type" => said.push(type_of(sub)),
            "contains" => said.push(format!("has an item {}", item(sub))),
            "items" => said.push(format!("has only items {}", item(sub))),
            "not" => said.push(negated(sub)),
            "anyOf" | "oneOf" => {
                let alternatives: Vec<String> = sub
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|alt| grouped(&about(alt)))
                    .collect();
                said.push(either(&alternatives));
            }
            "allOf" => {
                for part in sub.as_array().into_iter().flatten() {
                    said.extend(about(part));
                }
            }
            "required" | "properties" => {
                members.insert(keyword.clone(), sub.clone());
            }
            "$comment" | "title" | "description" => {}
            _ => said.push(unread(keyword, sub)),
        }
    }
    if !members.is_empty() {
        said.push(format!(
            "has {}",
            object(&Value::Object(members)).join(", ")
        ));
    }
    said
}

/// An array item matching `schema`: "where `name` is "x"" for blocks,
/// "that is "x"" for plain values.
fn item(schema: &Value) -> String {
    let members = object(&only_members(schema));
    let rest = about(&without_members(schema));
    match (members.is_empty(), rest.is_empty()) {
        (false, true) => format!("where {}", grouped(&members)),
        (true, false) => format!("that {}", grouped(&rest)),
        (true, true) => "of any kind".to_string(),
        (false, false) => format!("that {} and where {}", grouped(&rest), grouped(&members)),
    }
}

/// A negated predicate, in the forms rule files use.
fn negated(schema: &Value) -> String {
    if let Some(map) = schema.as_object().filter(|m| m.len() == 1) {
        if let Some(sub) = map.get("contains") {
            return format!("has no item {}", item(sub));
        }
        if let Some(sub) = map.get("const") {
            return format!("is not {}", value(sub));
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            let values: Vec<String> = values.iter().map(value).collect();
            return format!("is none of {}", join(&values, "and"));
        }
    }
    format!("is not such that it {}", grouped(&about(schema)))
}

fn one_of(values: &Value) -> String {
    let values: Vec<String> = values.as_array().into_iter().flatten().map(value).collect();
    match values.len() {
        1 => format!("is {}", values[0]),
        2 => format!("is {}", or_list(&values)),
        _ => format!("is one of {}", or_list(&values)),
    }
}

fn type_of(types: &Value) -> String {
    let names: Vec<String> = match types {
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(noun).collect(),
        Value::String(t) => vec![noun(t)],
        _ => Vec::new(),
    };
    format!("is {}", or_list(&names))
}

fn noun(json_type: &str) -> String {
    let noun = match json_type {
        "object" => "block or map",
        "array" => "list",
        "null" => "null",
        other => other,
    };
    format!("{} {noun}", article(noun))
}

/// `either (a) or (b)`; a single alternative is just itself.
fn either(alternatives: &[String]) -> String {
    match alternatives {
        [one] => one.clone(),
        _ => format!("either {}", or_list(alternatives)),
    }
}

/// Several clauses as one, in parentheses when they are several.
fn grouped(clauses: &[String]) -> String {
    match clauses {
        [] => "(anything)".to_string(),
        [one] if !loose(one) => one.clone(),
        _ => format!("({})", and_list(clauses)),
    }
}

/// Whether a clause has a list in it (`and`, `or`, a comma) outside
/// parentheses and quotes, so that it needs them to join another list.
fn loose(clause: &str) -> bool {
    let mut depth = 0usize;
    let mut quoted: Option<char> = None;
    for (i, c) in clause.char_indices() {
        match (quoted, c) {
            (Some(q), c) if c == q => quoted = None,
            (Some(_), _) => {}
            (None, '`' | '"') => quoted = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, _) if depth == 0 => {
                let rest = &clause[i..];
                if rest.starts_with(" and ") || rest.starts_with(" or ") || rest.starts_with(", ") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn unread(keyword: &str, sub: &Value) -> String {
    let mut map = Map::new();
    map.insert(keyword.to_string(), sub.clone());
    format!("satisfies `{}`", Value::Object(map))
}

fn only_members(schema: &Value) -> Value {
    let mut map = Map::new();
    for key in ["required", "properties", "anyOf", "oneOf", "allOf"] {
        if let Some(sub) = schema.get(key) {
            map.insert(key.to_string(), sub.clone());
        }
    }
    Value::Object(map)
}

fn without_members(schema: &Value) -> Value {
    let mut map = schema.as_object().cloned().unwrap_or_default();
    for key in ["required", "properties", "anyOf", "oneOf", "allOf"] {
        map.remove(key);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_constants_and_optional_patterns() {
        assert_eq!(
            schema(&json!({
                "required": ["engine", "kms_key_id"],
                "properties": {
                    "engine": { "const": "postgres" },
                    "engine_version": { "pattern": "^1[5-9]" },
                    "port": { "enum": [5432, "5432"] },
                    "backup_retention_period": { "minimum": 7 },
                }
            })),
            "`kms_key_id` is set, `engine` is \"postgres\", `engine_version` (if set) \
             matches `^1[5-9]`, `port` (if set) is 5432 or \"5432\" and \
             `backup_retention_period` (if set) is at least 7"
        );
    }

    #[test]
    fn nested_blocks_and_alternatives() {
        assert_eq!(
            schema(&json!({
                "anyOf": [
                    {
                        "required": ["parameter"],
                        "properties": { "parameter": { "contains": {
                            "required": ["name", "value"],
                            "properties": {
                                "name": { "const": "rds.force_ssl" },
                                "value": { "enum": ["1", 1] }
                            }
                        } } }
                    },
                    {
                        "required": ["family"],
                        "properties": {
                            "family": { "pattern": "^postgres1[5-9]$" },
                            "parameter": { "not": { "contains": {
                                "properties": { "value": { "enum": ["0", 0] } }
                            } } }
                        }
                    }
                ]
            })),
            "either `parameter` has an item where (`name` is \"rds.force_ssl\" and \
             `value` is \"1\" or 1) or (`family` matches `^postgres1[5-9]$` and \
             `parameter` (if set) has no item where (`value` (if set) is \"0\" or 0))"
        );
    }

    #[test]
    fn unknown_keywords_are_quoted_not_guessed() {
        assert_eq!(
            schema(&json!({ "if": { "required": ["a"] } })),
            "satisfies `{\"if\":{\"required\":[\"a\"]}}`"
        );
        assert_eq!(schema(&json!({})), "anything");
    }
}
