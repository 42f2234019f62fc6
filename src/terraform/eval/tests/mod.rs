//! The evaluator's tests: expressions parsed with hcl-edit's
//! `parse_expr`, evaluated against a small scope, one file per area.

mod access;
mod calls;
mod iteration;
mod limits;
mod literals;
mod operators;
mod references;
mod templates;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::{eval, EvalError, Scope};
use crate::terraform::functions::Context;
use crate::terraform::value::Value;

pub(super) const U: Value = Value::Unknown;

/// `var`, `local`, two resource types (unknown, as the module evaluator
/// gives them for now), `each`, `count` and a bare `item`.
pub(super) struct TestScope {
    vars: BTreeMap<String, Value>,
    locals: BTreeMap<String, Value>,
}

pub(super) fn scope() -> TestScope {
    let vars = BTreeMap::from([
        ("region".to_string(), s("eu-west-1")),
        ("count".to_string(), Value::from(3)),
        ("enabled".to_string(), Value::from(true)),
        (
            "tags".to_string(),
            j(json!({"env": "prod", "team": "core"})),
        ),
        ("list".to_string(), j(json!(["a", "b", "c"]))),
        ("nums".to_string(), j(json!([1, 2, 3]))),
        ("nested".to_string(), j(json!({"a": {"b": [10, 20]}}))),
        (
            "objects".to_string(),
            j(json!([{"name": "x", "id": 1}, {"name": "y", "id": 2}])),
        ),
        ("unknown".to_string(), U),
        ("partial".to_string(), Value::List(vec![s("a"), U])),
        (
            "half_known".to_string(),
            Value::Map(BTreeMap::from([
                ("known".to_string(), s("k")),
                ("later".to_string(), U),
            ])),
        ),
        ("nothing".to_string(), Value::Null),
        ("str_num".to_string(), s("5")),
    ]);
    let locals = BTreeMap::from([
        ("name".to_string(), s("app")),
        ("tmpl".to_string(), s("Hi ${who}!")),
        ("recursive".to_string(), s("${templatefile(\"x.tpl\", {})}")),
        ("big".to_string(), s(&"x".repeat(64 * 1024))),
    ]);
    TestScope { vars, locals }
}

impl Scope for TestScope {
    fn resolve(&self, root: &str, attr: Option<&str>) -> Option<Value> {
        match (root, attr) {
            ("var", Some(name)) => self.vars.get(name).cloned(),
            ("local", Some(name)) => self.locals.get(name).cloned(),
            ("aws_s3_bucket" | "aws_instance", Some(_)) => Some(U),
            ("each", None) => Some(j(json!({"key": "k1", "value": {"port": 80}}))),
            ("count", None) => Some(j(json!({"index": 2}))),
            ("item", None) => Some(s("outer-item")),
            _ => None,
        }
    }
}

pub(super) fn ctx() -> Context {
    Context {
        base_dir: PathBuf::from("."),
        root: crate::read::Project::new(["."]),
    }
}

pub(super) fn parse(src: &str) -> hcl_edit::expr::Expression {
    hcl_edit::parser::parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

pub(super) fn run(src: &str) -> Result<Value, EvalError> {
    eval(&parse(src), &scope(), &ctx())
}

pub(super) fn j(json: serde_json::Value) -> Value {
    Value::from_json(&json)
}

pub(super) fn s(text: &str) -> Value {
    Value::from(text)
}

pub(super) fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

/// Each source evaluates to its value.
#[track_caller]
pub(super) fn check_values(cases: &[(&str, Value)]) {
    for (src, want) in cases {
        assert_eq!(run(src).as_ref(), Ok(want), "{src}");
    }
}

/// Each source fails with a message containing the fragment, its span
/// covering exactly the given text.
#[track_caller]
pub(super) fn check_errors(cases: &[(&str, &str, &str)]) {
    for (src, fragment, at) in cases {
        let err = match run(src) {
            Ok(value) => panic!("{src}: expected an error, got {value:?}"),
            Err(err) => err,
        };
        assert!(
            err.message.contains(fragment),
            "{src}: {:?} lacks {fragment:?}",
            err.message
        );
        let span = err.span.clone().unwrap_or_else(|| panic!("{src}: no span"));
        assert_eq!(src.get(span), Some(*at), "{src}: span of {:?}", err.message);
    }
}
