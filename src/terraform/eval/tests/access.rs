//! Traversals: names, attributes, indices, splats and their errors.

use serde_json::json;

use super::*;

#[test]
fn names_and_attributes() {
    check_values(&[
        ("var.region", s("eu-west-1")),
        ("local.name", s("app")),
        ("var.tags.env", s("prod")),
        ("var.nested.a.b", j(json!([10, 20]))),
        ("each.key", s("k1")),
        ("each.value.port", Value::from(80)),
        ("count.index", Value::from(2)),
        ("item", s("outer-item")),
        // Resources are unknown, and so is everything read from them.
        ("aws_s3_bucket.logs", U),
        ("aws_s3_bucket.logs.id", U),
        ("aws_instance.web[0].tags[\"Name\"]", U),
        ("var.unknown.anything.at.all", U),
        ("var.half_known.known", s("k")),
        ("var.half_known.later", U),
    ]);
}

#[test]
fn indices() {
    check_values(&[
        ("var.list[0]", s("a")),
        ("var.list[2]", s("c")),
        ("var.list[\"1\"]", s("b")),
        ("var.list[1.0]", s("b")),
        ("var.list[var.count - 1]", s("c")),
        ("var.tags[\"team\"]", s("core")),
        (
            "var.tags[\"${local.name == \"app\" ? \"env\" : \"team\"}\"]",
            s("prod"),
        ),
        ("{\"1\" = \"one\"}[1]", s("one")),
        ("{\"true\" = \"yes\"}[true]", s("yes")),
        ("var.nested.a.b[1]", Value::from(20)),
        ("var.nested[\"a\"][\"b\"][0]", Value::from(10)),
        // Legacy index syntax.
        ("var.nested.a.b.1", Value::from(20)),
        ("var.objects.0.name", s("x")),
        // Other expressions can be traversed too.
        ("[1, 2, 3][1]", Value::from(2)),
        ("{ a = { b = 5 } }.a.b", Value::from(5)),
        ("split(\",\", \"a,b\")[1]", s("b")),
        ("(var.tags).env", s("prod")),
        // Unknowns: the collection, the key, the element.
        ("var.unknown[0]", U),
        ("var.list[var.unknown]", U),
        ("var.partial[0]", s("a")),
        ("var.partial[1]", U),
    ]);
}

#[test]
fn splats() {
    check_values(&[
        ("var.objects[*].name", j(json!(["x", "y"]))),
        ("var.objects.*.name", j(json!(["x", "y"]))),
        ("var.objects[*].id", j(json!([1, 2]))),
        (
            "var.objects[*]",
            j(json!([{"name": "x", "id": 1}, {"name": "y", "id": 2}])),
        ),
        // An attribute splat ends at the first index: `[0]` indexes the
        // resulting list; a full splat applies it to every element.
        ("var.objects.*.name[0]", s("x")),
        ("[[1, 2], [3, 4]][*][0]", j(json!([1, 3]))),
        // Nested splats.
        (
            "[[{ a = 1 }], [{ a = 2 }, { a = 3 }]][*][*].a",
            j(json!([[1], [2, 3]])),
        ),
        // A non-list becomes a one-element list, null an empty one.
        ("var.region[*]", j(json!(["eu-west-1"]))),
        ("var.tags[*].env", j(json!(["prod"]))),
        ("var.nothing[*]", j(json!([]))),
        ("var.nothing.*.id", j(json!([]))),
        ("var.unknown[*].id", U),
        (
            "[var.unknown, { id = 1 }][*].id",
            list(vec![U, Value::from(1)]),
        ),
        ("aws_instance.web[*].id", U),
    ]);
}

#[test]
fn legacy_index_in_attribute_splat_selects_each_element() {
    // `.*.name.0` takes the legacy index into the splat, applying it to
    // each name: strings have no indices.
    let err = run("var.objects.*.name.0").unwrap_err();
    assert!(err.message.contains("does not have any indices"), "{err}");
    check_values(&[(
        "[{ ports = [80, 81] }, { ports = [443] }].*.ports.0",
        j(json!([80, 443])),
    )]);
}

#[test]
fn access_errors() {
    check_errors(&[
        (
            "var.tags.missing",
            "attribute named \"missing\"",
            ".missing",
        ),
        (
            "var.tags[\"nope\"]",
            "does not identify an element",
            "[\"nope\"]",
        ),
        ("var.list[5]", "greater than or equal to the length", "[5]"),
        ("var.list[-1]", "negative number", "[-1]"),
        ("var.list[1.5]", "fractional part", "[1.5]"),
        ("var.list[\"x\"]", "does not identify an element", "[\"x\"]"),
        ("var.list[null]", "null value as an indexing key", "[null]"),
        ("var.list[true]", "cannot convert bool to number", "[true]"),
        ("var.tags[[1]]", "cannot convert list to string", "[[1]]"),
        ("[][0]", "the collection has no elements", "[0]"),
        (
            "var.list[18446744073709551615]",
            "greater than or equal",
            "[18446744073709551615]",
        ),
        ("var.list.99", "greater than or equal", ".99"),
        (
            "var.nothing.x",
            "Attempt to get attribute from null value",
            ".x",
        ),
        ("var.nothing[0]", "Attempt to index null value", "[0]"),
        ("var.region.x", "primitive-typed value (string)", ".x"),
        ("var.region[0]", "does not have any indices", "[0]"),
        ("var.objects.name", "list of objects", ".name"),
        (
            "var.objects[*].missing",
            "attribute named \"missing\"",
            ".missing",
        ),
        (
            "var.undefined",
            "undeclared name \"var.undefined\"",
            "var.undefined",
        ),
        (
            "var.undefined.deeper",
            "undeclared name \"var.undefined\"",
            "var.undefined",
        ),
        ("nope", "undeclared name \"nope\"", "nope"),
        ("nope[0]", "undeclared name \"nope\"", "nope"),
        (
            "data.aws_ami.x.id",
            "undeclared name \"data.aws_ami\"",
            "data.aws_ami",
        ),
        // The error is in the index expression itself.
        ("var.list[var.missing]", "undeclared", "var.missing"),
    ]);
}
