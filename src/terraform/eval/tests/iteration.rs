//! `for` expressions: list and object forms, filters, grouping,
//! unknowns, shadowing and errors.

use serde_json::json;

use super::*;

#[test]
fn list_form() {
    check_values(&[
        ("[for x in var.list : upper(x)]", j(json!(["A", "B", "C"]))),
        (
            "[for i, x in var.list : \"${i}:${x}\"]",
            j(json!(["0:a", "1:b", "2:c"])),
        ),
        ("[for x in var.nums : x * 10 if x != 2]", j(json!([10, 30]))),
        (
            "[for k, v in var.tags : \"${k}=${v}\"]",
            j(json!(["env=prod", "team=core"])),
        ),
        ("[for v in { b = 1, a = 2 } : v]", j(json!([2, 1]))),
        ("[for o in var.objects : o.name]", j(json!(["x", "y"]))),
        ("[for x in [] : x]", j(json!([]))),
        ("[for x in var.nums : x if false]", j(json!([]))),
        (
            "[for x in [[1, 2], [3]] : [for y in x : y * 10]]",
            j(json!([[10, 20], [30]])),
        ),
        (
            "[for x in [1, 2] : [for y in [10] : x + y]]",
            j(json!([[11], [12]])),
        ),
        ("[for x in var.partial : x]", list(vec![s("a"), U])),
        ("[for x in var.unknown : x]", U),
        ("[for x in var.nums : x if x < var.unknown]", U),
        ("[for x in var.partial : x if x == \"a\"]", U),
    ]);
}

#[test]
fn line_breaks_anywhere_inside() {
    check_values(&[
        (
            "{\n  for k, v in var.tags :\n  k => v\n  if v != \"prod\"\n}",
            j(json!({"team": "core"})),
        ),
        (
            "[\n  for s in var.list :\n  upper(s)\n]",
            j(json!(["A", "B", "C"])),
        ),
        (
            "{ for n in var.nums : n\n  => n\n  * 10\n  if n\n  > 1 }",
            j(json!({"2": 20, "3": 30})),
        ),
        (
            "[for o in var\n  .objects : o\n  .name]",
            j(json!(["x", "y"])),
        ),
        (
            "{ for o in var\n  .objects : o\n  .name => o.id == 1\n  ? \"one\"\n  : \"other\" }",
            j(json!({"x": "one", "y": "other"})),
        ),
    ]);
}

#[test]
fn object_form() {
    check_values(&[
        ("{ for k, v in var.tags : v => k }", j(json!({"prod": "env", "core": "team"}))),
        ("{ for o in var.objects : o.name => o.id }", j(json!({"x": 1, "y": 2}))),
        ("{ for i, x in var.list : x => i if i > 0 }", j(json!({"b": 1, "c": 2}))),
        ("{ for n in var.nums : n => n * n }", j(json!({"1": 1, "2": 4, "3": 9}))),
        (
            "{ for x in [\"a\", \"b\", \"a\"] : x => x... }",
            j(json!({"a": ["a", "a"], "b": ["b"]})),
        ),
        (
            "{ for o in [{ k = \"p\", v = 1 }, { k = \"q\", v = 2 }, { k = \"p\", v = 3 }] : o.k => o.v... }",
            j(json!({"p": [1, 3], "q": [2]})),
        ),
        ("{ for x in var.list : x => var.unknown }", Value::Map(
            [("a", U), ("b", U), ("c", U)].map(|(k, v)| (k.to_string(), v)).into(),
        )),
        ("{ for x in var.partial : x => 1 }", U),
        ("{ for k, v in var.unknown : k => v }", U),
    ]);
}

#[test]
fn loop_variables_shadow_the_scope() {
    check_values(&[
        // `item`, `each` and `local` are names in the test scope.
        ("[for item in [\"inner\"] : item]", j(json!(["inner"]))),
        (
            "[for each in [{ key = \"mine\" }] : each.key]",
            j(json!(["mine"])),
        ),
        (
            "[for local in [{ name = \"x\" }] : local.name]",
            j(json!(["x"])),
        ),
        // After the loop the outer names are back.
        (
            "[[for item in [1] : item], item]",
            j(json!([[1], "outer-item"])),
        ),
        // Other names still resolve through the loop's scope.
        (
            "[for x in [1] : \"${x}-${local.name}-${each.key}\"]",
            j(json!(["1-app-k1"])),
        ),
    ]);
}

#[test]
fn for_errors() {
    check_errors(&[
        (
            "[for x in var.nothing : x]",
            "Iteration over null value",
            "var.nothing",
        ),
        (
            "[for x in \"abc\" : x]",
            "type string cannot be used",
            "\"abc\"",
        ),
        ("[for x in 5 : x]", "type number cannot be used", "5"),
        (
            "{ for x in [\"a\", \"a\"] : x => 1 }",
            "Duplicate object key: two different items produced the key \"a\"",
            "x",
        ),
        (
            "{ for x in [1] : var.nothing => x }",
            "must not produce a null value",
            "var.nothing",
        ),
        ("{ for x in [1] : [x] => x }", "invalid result", "[x]"),
        ("[for x in [1] : x if null]", "must not be null", "null"),
        (
            "[for x in [1] : x if 5]",
            "'if' clause value is invalid",
            "5",
        ),
        ("[for x in [1] : x.missing]", "primitive-typed", ".missing"),
        (
            "[for x in [{}] : x.missing]",
            "attribute named \"missing\"",
            ".missing",
        ),
        ("[for x in var.missing : x]", "undeclared", "var.missing"),
        // The condition is checked even when the collection is unknown.
        (
            "[for x in var.unknown : x if var.missing]",
            "undeclared",
            "var.missing",
        ),
    ]);
    // The same name twice, if the parser lets it through.
    if let Ok(expr) = hcl_edit::parser::parse_expr("[for x, x in [1] : x]") {
        let err = eval(&expr, &scope(), &ctx()).unwrap_err();
        assert!(err.message.contains("both named \"x\""), "{err}");
    }
}
