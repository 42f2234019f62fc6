//! Literals, collections, object keys and heredocs.

use serde_json::json;

use super::*;

#[test]
fn literals() {
    check_values(&[
        ("null", Value::Null),
        ("true", Value::from(true)),
        ("false", Value::from(false)),
        ("42", Value::from(42)),
        ("1.5", j(json!(1.5))),
        ("1e3", Value::from(1000)),
        ("2.0", Value::from(2)),
        ("18446744073709551615", j(json!(18446744073709551615u64))),
        (r#""a\tb\"c""#, s("a\tb\"c")),
        (r#""\u00e9""#, s("é")),
        ("(((7)))", Value::from(7)),
    ]);
}

#[test]
fn collections() {
    check_values(&[
        ("[]", list(vec![])),
        (
            "[1, \"two\", null, [true]]",
            j(json!([1, "two", null, [true]])),
        ),
        ("[var.region, local.name]", j(json!(["eu-west-1", "app"]))),
        ("[var.unknown, 1]", list(vec![U, Value::from(1)])),
        ("{}", j(json!({}))),
        (
            "{ a = 1, b = { c = [2] } }",
            j(json!({"a": 1, "b": {"c": [2]}})),
        ),
        (
            "{ a = var.unknown }",
            Value::Map([("a".to_string(), U)].into()),
        ),
        // Keys: identifiers and strings are literal, other expressions are
        // evaluated and converted to strings.
        (
            r#"{ name = 1, "quoted key" = 2, (local.name) = 3, (1 + 1) = 4, (true) = 5 }"#,
            j(json!({"name": 1, "quoted key": 2, "app": 3, "2": 4, "true": 5})),
        ),
        (r#"{ "${local.name}-x" = 1 }"#, j(json!({"app-x": 1}))),
        // A bare name as key is literal even if it names something.
        ("{ local = 1 }", j(json!({"local": 1}))),
        (
            "{ null = 1, true = 2, false = 3 }",
            j(json!({"null": 1, "true": 2, "false": 3})),
        ),
        // Equal keys: the later wins, as in HCL, however they are written.
        ("{ a = 1, b = 2, a = 3 }", j(json!({"a": 3, "b": 2}))),
        ("{ a = 1, \"a\" = 2 }", j(json!({"a": 2}))),
        ("{ \"a\" = var.unknown, a = 2 }", j(json!({"a": 2}))),
        ("{ (local.name) = 1, (\"app\") = 2 }", j(json!({"app": 2}))),
        // An unknown key hides the object's shape.
        ("{ (var.unknown) = 1, b = 2 }", U),
        (r#"{ "${var.unknown}" = 1 }"#, U),
    ]);
}

#[test]
fn object_key_errors() {
    check_errors(&[
        (
            "{ (var.nothing) = 1 }",
            "Null value as key",
            "(var.nothing)",
        ),
        ("{ (null) = 1 }", "Null value as key", "(null)"),
        ("{ (var.list) = 1 }", "Incorrect key type", "(var.list)"),
        (
            "{ a = var.missing }",
            "undeclared name \"var.missing\"",
            "var.missing",
        ),
    ]);
    // A naked traversal as a key is ambiguous in HCL.
    if let Ok(expr) = hcl_edit::parser::parse_expr("{ local.name = 1 }") {
        let err = eval(&expr, &scope(), &ctx()).unwrap_err();
        assert!(err.message.contains("Ambiguous attribute key"), "{err}");
    }
}

#[test]
fn heredocs() {
    check_values(&[
        ("<<EOT\nhello\n  world\nEOT", s("hello\n  world\n")),
        (
            "<<-EOT\n    hello\n      world\n    EOT",
            s("hello\n  world\n"),
        ),
        ("<<EOT\nregion=${var.region}\nEOT", s("region=eu-west-1\n")),
        ("<<EOT\nEOT", s("")),
    ]);
}
