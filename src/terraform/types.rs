//! Type constraints of `variable` blocks (`type = map(object({ a =
//! optional(bool, true) }))`) and the conversion Terraform applies to a
//! variable's value: primitives converted (`"7"` to a `number`), object
//! attributes not in the type dropped, and `optional()` attributes that
//! are left out or null given their default (or null).

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey};

use super::value::Value;

/// A type constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// `any`, or a constraint provcheck does not read: values pass as
    /// they are.
    Any,
    String,
    Number,
    Bool,
    /// `list(T)` and `set(T)`.
    List(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Attribute>),
    Tuple(Vec<Type>),
}

/// One attribute of an `object({...})` type.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub ty: Type,
    /// Declared with `optional(...)`.
    pub optional: bool,
    /// The second argument of `optional(T, default)`, converted to `T`.
    pub default: Option<Value>,
}

impl Type {
    /// Reads a type expression; `constant` evaluates the defaults of
    /// `optional()` attributes (constants, in Terraform).
    pub fn parse(expr: &Expression, constant: &dyn Fn(&Expression) -> Value) -> Type {
        match expr {
            Expression::Variable(name) => match name.as_str() {
                "string" => Type::String,
                "number" => Type::Number,
                "bool" => Type::Bool,
                _ => Type::Any,
            },
            Expression::Parenthesis(inner) => Type::parse(inner.inner(), constant),
            Expression::FuncCall(call) => {
                let args: Vec<&Expression> = call.args.iter().collect();
                let inner = || {
                    args.first()
                        .map_or(Type::Any, |arg| Type::parse(arg, constant))
                };
                match (call.name.name.as_str(), args.as_slice()) {
                    ("list" | "set", [_]) => Type::List(Box::new(inner())),
                    ("map", [_]) => Type::Map(Box::new(inner())),
                    ("tuple", [Expression::Array(items)]) => {
                        Type::Tuple(items.iter().map(|t| Type::parse(t, constant)).collect())
                    }
                    ("object", [Expression::Object(object)]) => {
                        let mut attributes = BTreeMap::new();
                        for (key, value) in object.iter() {
                            let name = match key {
                                ObjectKey::Ident(ident) => ident.as_str().to_string(),
                                ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                                ObjectKey::Expression(_) => return Type::Any,
                            };
                            attributes.insert(name, Attribute::parse(value.expr(), constant));
                        }
                        Type::Object(attributes)
                    }
                    _ => Type::Any,
                }
            }
            _ => Type::Any,
        }
    }

    /// The keyword of a primitive type, as `--var` parsing needs it.
    pub fn primitive(&self) -> Option<&'static str> {
        match self {
            Type::String => Some("string"),
            Type::Number => Some("number"),
            Type::Bool => Some("bool"),
            _ => None,
        }
    }

    /// Converts a value to this type as Terraform does when it assigns a
    /// variable. What cannot be converted is kept as it is (Terraform
    /// would reject it; provcheck checks what it can).
    pub fn convert(&self, value: Value) -> Value {
        match (self, value) {
            (_, value @ (Value::Unknown | Value::Null)) => value,
            (Type::Number, value @ Value::String(_)) => {
                value.to_tf_number().map(Value::Number).unwrap_or(value)
            }
            (Type::Bool, value @ Value::String(_)) => {
                value.to_tf_bool().map(Value::Bool).unwrap_or(value)
            }
            (Type::String, value @ (Value::Number(_) | Value::Bool(_))) => {
                value.to_tf_string().map(Value::String).unwrap_or(value)
            }
            (Type::List(inner), Value::List(items)) => {
                Value::List(items.into_iter().map(|v| inner.convert(v)).collect())
            }
            (Type::Map(inner), Value::Map(map)) => Value::Map(
                map.into_iter()
                    .map(|(k, v)| (k, inner.convert(v)))
                    .collect(),
            ),
            (Type::Tuple(types), Value::List(items)) if types.len() == items.len() => Value::List(
                types
                    .iter()
                    .zip(items)
                    .map(|(ty, v)| ty.convert(v))
                    .collect(),
            ),
            (Type::Object(attributes), Value::Map(mut map)) => {
                let mut out = BTreeMap::new();
                for (name, attribute) in attributes {
                    let value = match map.remove(name) {
                        Some(Value::Null) | None if attribute.optional => {
                            attribute.default.clone().unwrap_or(Value::Null)
                        }
                        Some(value) => attribute.ty.convert(value),
                        // A required attribute left out: Terraform rejects
                        // the value; provcheck cannot know what was meant.
                        None => Value::Unknown,
                    };
                    out.insert(name.clone(), value);
                }
                Value::Map(out)
            }
            (_, value) => value,
        }
    }
}

impl Attribute {
    fn parse(expr: &Expression, constant: &dyn Fn(&Expression) -> Value) -> Attribute {
        if let Expression::FuncCall(call) = expr {
            if call.name.name.as_str() == "optional" {
                let mut args = call.args.iter();
                let ty = args
                    .next()
                    .map_or(Type::Any, |arg| Type::parse(arg, constant));
                let default = args.next().map(|d| ty.convert(constant(d)));
                return Attribute {
                    ty,
                    optional: true,
                    default,
                };
            }
        }
        Attribute {
            ty: Type::parse(expr, constant),
            optional: false,
            default: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Type {
        let body = hcl_edit::parser::parse_body(&format!("t = {text}\n")).expect("parses");
        let expr = &body.get_attribute("t").expect("t").value;
        Type::parse(expr, &|e| match e {
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => Value::from(n.value().as_i64().unwrap_or(0)),
            Expression::Object(o) if o.is_empty() => Value::Map(BTreeMap::new()),
            _ => Value::Unknown,
        })
    }

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn optional_attributes_take_their_defaults() {
        let ty = parse(
            "map(object({ name = string, a = optional(bool, true), t = optional(map(string), {}), n = optional(number) }))",
        );
        let value = map(&[
            ("one", map(&[("name", Value::from("x"))])),
            (
                "two",
                map(&[
                    ("name", Value::from("y")),
                    ("a", Value::Null),
                    ("n", Value::from("7")),
                    ("extra", Value::from("dropped")),
                ]),
            ),
        ]);
        let expected = map(&[
            (
                "one",
                map(&[
                    ("a", Value::Bool(true)),
                    ("n", Value::Null),
                    ("name", Value::from("x")),
                    ("t", Value::Map(BTreeMap::new())),
                ]),
            ),
            (
                "two",
                map(&[
                    ("a", Value::Bool(true)),
                    ("n", Value::from(7)),
                    ("name", Value::from("y")),
                    ("t", Value::Map(BTreeMap::new())),
                ]),
            ),
        ]);
        assert_eq!(ty.convert(value), expected);
    }

    #[test]
    fn unknown_constraints_keep_values() {
        assert_eq!(parse("any"), Type::Any);
        assert_eq!(parse("list(string)"), Type::List(Box::new(Type::String)));
        let value = map(&[("a", Value::from(1))]);
        assert_eq!(parse("any").convert(value.clone()), value);
        assert_eq!(
            parse("object({ a = string })").convert(Value::Unknown),
            Value::Unknown
        );
        // A required attribute left out is unknown, never a guess.
        assert_eq!(
            parse("object({ a = string, b = bool })").convert(map(&[("a", Value::from("x"))])),
            map(&[("a", Value::from("x")), ("b", Value::Unknown)])
        );
    }
}
