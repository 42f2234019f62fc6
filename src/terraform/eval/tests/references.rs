//! `references`: roots, static paths, spans, order and loop variables.

use super::super::references;
use super::*;

/// A reference as (root, path, source text at its span).
type Expected<'a> = (&'a str, &'a [&'a str], &'a str);

/// Each source's references.
#[track_caller]
fn check(cases: &[(&str, &[Expected<'_>])]) {
    for (src, want) in cases {
        let got: Vec<(String, Vec<String>, String)> = references(&parse(src))
            .into_iter()
            .map(|r| (r.root, r.path, src.get(r.span).unwrap_or("?").to_string()))
            .collect();
        let want: Vec<(String, Vec<String>, String)> = want
            .iter()
            .map(|(root, path, at)| {
                (
                    root.to_string(),
                    path.iter().map(|p| p.to_string()).collect(),
                    at.to_string(),
                )
            })
            .collect();
        assert_eq!(got, want, "{src}");
    }
}

#[test]
fn roots_and_static_paths() {
    check(&[
        (
            "aws_s3_bucket.logs.id",
            &[("aws_s3_bucket", &["logs", "id"], "aws_s3_bucket.logs.id")],
        ),
        (
            "var.list[0].name",
            &[("var", &["list", "0", "name"], "var.list[0].name")],
        ),
        (
            "var.m[\"k\"].x",
            &[("var", &["m", "k", "x"], "var.m[\"k\"].x")],
        ),
        ("var.m.0.x", &[("var", &["m", "0", "x"], "var.m.0.x")]),
        ("count.index", &[("count", &["index"], "count.index")]),
        ("path.module", &[("path", &["module"], "path.module")]),
        ("self", &[("self", &[], "self")]),
        (
            "each.value.port + 1",
            &[("each", &["value", "port"], "each.value.port")],
        ),
        // The path stops at the first dynamic step; the index's own
        // references follow.
        (
            "var.m[var.k].x",
            &[("var", &["m"], "var.m"), ("var", &["k"], "var.k")],
        ),
        (
            "aws_instance.web[*].id",
            &[("aws_instance", &["web"], "aws_instance.web")],
        ),
        (
            "aws_instance.web.*.id",
            &[("aws_instance", &["web"], "aws_instance.web")],
        ),
        (
            "data.aws_ami.ubuntu.id",
            &[(
                "data",
                &["aws_ami", "ubuntu", "id"],
                "data.aws_ami.ubuntu.id",
            )],
        ),
        (
            "module.net.subnet_ids[count.index]",
            &[
                ("module", &["net", "subnet_ids"], "module.net.subnet_ids"),
                ("count", &["index"], "count.index"),
            ],
        ),
        // Traversals from other expressions are not references themselves.
        (
            "split(\",\", local.csv)[0]",
            &[("local", &["csv"], "local.csv")],
        ),
        ("upper(\"x\")", &[]),
        ("1 + 2", &[]),
    ]);
}

#[test]
fn every_expression_form_is_walked_in_source_order() {
    check(&[
        (
            "local.b + local.a",
            &[("local", &["b"], "local.b"), ("local", &["a"], "local.a")],
        ),
        (
            "var.c ? local.t : local.f",
            &[
                ("var", &["c"], "var.c"),
                ("local", &["t"], "local.t"),
                ("local", &["f"], "local.f"),
            ],
        ),
        (
            "[var.a, { k = var.b }]",
            &[("var", &["a"], "var.a"), ("var", &["b"], "var.b")],
        ),
        // Literal keys are not references; computed ones are.
        (
            "{ name = 1, (local.k) = data.x.y.id }",
            &[
                ("local", &["k"], "local.k"),
                ("data", &["x", "y", "id"], "data.x.y.id"),
            ],
        ),
        (
            "try(local.a, module.b.out)",
            &[
                ("local", &["a"], "local.a"),
                ("module", &["b", "out"], "module.b.out"),
            ],
        ),
        ("!var.off", &[("var", &["off"], "var.off")]),
        ("(var.x)", &[("var", &["x"], "var.x")]),
        ("f(x)", &[("x", &[], "x")]),
        (
            "\"${each.key}-${var.env}\"",
            &[("each", &["key"], "each.key"), ("var", &["env"], "var.env")],
        ),
        ("<<EOT\n${local.a}\nEOT", &[("local", &["a"], "local.a")]),
        (
            "\"%{if var.on}${local.x}%{else}${local.y}%{endif}\"",
            &[
                ("var", &["on"], "var.on"),
                ("local", &["x"], "local.x"),
                ("local", &["y"], "local.y"),
            ],
        ),
    ]);
}

#[test]
fn loop_variables_are_not_references() {
    check(&[
        (
            "[for x in var.list : x.name if x != local.skip]",
            &[
                ("var", &["list"], "var.list"),
                ("local", &["skip"], "local.skip"),
            ],
        ),
        (
            "{ for k, v in var.m : k => v... }",
            &[("var", &["m"], "var.m")],
        ),
        // The collection is outside the loop: `x` there is a reference.
        ("[for x in x : x]", &[("x", &[], "x")]),
        // Bound only inside: the same name after the loop is a reference.
        (
            "[[for each in [] : each.key], each.key]",
            &[("each", &["key"], "each.key")],
        ),
        (
            "[for a in var.as : [for b in a.bs : [a, b, c]]]",
            &[("var", &["as"], "var.as"), ("c", &[], "c")],
        ),
        (
            "\"%{for i, s in var.l}${i}${s}${count.index}%{endfor}${s}\"",
            &[
                ("var", &["l"], "var.l"),
                ("count", &["index"], "count.index"),
                ("s", &[], "s"),
            ],
        ),
    ]);
}
