//! Function calls, `try`, `can`, `templatefile` and `templatestring`.

use std::fs;

use serde_json::json;

use super::*;

#[test]
fn builtin_calls() {
    check_values(&[
        ("upper(\"x\")", s("X")),
        ("join(\"-\", var.list)", s("a-b-c")),
        ("max(var.nums...)", Value::from(3)),
        ("max(7, var.nums...)", Value::from(7)),
        ("max([4, 5]...)", Value::from(5)),
        ("length(var.partial)", Value::from(2)),
        ("upper(var.unknown)", U),
        ("max(var.unknown...)", U),
        ("max(1, var.unknown...)", U),
        ("core::upper(\"a\")", s("A")),
        ("provider::aws::arn_parse(\"x\")", U),
        ("lookup(var.tags, \"env\", \"none\")", s("prod")),
        ("format(\"%s-%d\", local.name, var.count)", s("app-3")),
    ]);
}

#[test]
fn call_errors() {
    check_errors(&[
        ("nosuch(1)", "unknown function \"nosuch\"", "nosuch(1)"),
        ("upper([1])", "invalid argument 1 to \"upper\"", "[1]"),
        (
            "join(\",\", [[1]])",
            "invalid argument 2 to \"join\"",
            "[[1]]",
        ),
        ("upper()", "wrong number of arguments", "upper()"),
        ("max(var.nothing...)", "must not be null", "var.nothing"),
        (
            "max(var.region...)",
            "tuple, list, or set type",
            "var.region",
        ),
        ("upper(var.missing)", "undeclared", "var.missing"),
        // A spread argument's error is placed on the call.
        (
            "upper([[1]]...)",
            "invalid argument 1 to \"upper\"",
            "upper([[1]]...)",
        ),
    ]);
}

#[test]
fn try_and_can() {
    check_values(&[
        ("try(var.tags.missing, \"d\")", s("d")),
        ("try(var.tags.env, \"d\")", s("prod")),
        ("try(local.name)", s("app")),
        ("core::try(var.list[9], 1)", Value::from(1)),
        (
            "try([for x in var.list : x.missing], \"fallback\")",
            s("fallback"),
        ),
        ("try(var.nothing.x, var.list[7], 3)", Value::from(3)),
        // Reading something unknown: the result is unknown.
        ("try(var.unknown.x, \"d\")", U),
        ("try(aws_s3_bucket.logs.arn, \"x\")", U),
        ("try(var.half_known.later, \"d\")", U),
        ("try(var.partial, [])", U),
        ("try(var.tags.missing, var.unknown)", U),
        // Only the path read matters: this part of the map is known.
        ("try(var.half_known.known, \"d\")", s("k")),
        // A loop variable bound inside the argument is not a read.
        ("try([for x in [1] : x], [])", j(json!([1]))),
        ("can(var.tags.env)", Value::from(true)),
        ("can(var.tags.missing)", Value::from(false)),
        ("can(var.list[9])", Value::from(false)),
        ("can(regex(\"^a\", \"abc\"))", Value::from(true)),
        ("can(regex(\"[\", \"abc\"))", Value::from(false)),
        ("can(nosuch())", Value::from(false)),
        ("can(var.unknown)", U),
        ("can(var.partial[1])", U),
        // The element read is known, though its list is not wholly.
        ("can(var.partial[0])", Value::from(true)),
        ("can(upper(var.unknown))", U),
        (
            "[for x in [\"1\", \"a\"] : can(tonumber(x))]",
            j(json!([true, false])),
        ),
    ]);
    check_errors(&[
        (
            "try(var.list[9], var.tags.missing)",
            "no expression succeeded",
            "try(var.list[9], var.tags.missing)",
        ),
        ("try()", "expected at least 1, got 0", "try()"),
        ("can(1, 2)", "expected 1, got 2", "can(1, 2)"),
        ("can(var.list...)", "expanded", "can(var.list...)"),
    ]);
}

/// A module folder inside a scanned root, with a file outside the root.
struct Tree {
    _dir: tempfile::TempDir,
    ctx: Context,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let module = root.join("mod");
    fs::create_dir_all(&module).unwrap();
    fs::create_dir_all(dir.path().join("outside")).unwrap();
    fs::write(dir.path().join("outside/secret.tpl"), "secret").unwrap();
    let files = [
        (
            "main.tpl",
            "Hello ${name}!\n%{ for s in items ~}\n- ${s}\n%{ endfor ~}\n",
        ),
        ("value.tpl", "${value}"),
        ("missing_var.tpl", "x ${nope}"),
        ("bad.tpl", "x ${"),
        ("recursive.tpl", "${templatefile(\"recursive.tpl\", {})}"),
        ("error.tpl", "line1\nline2 ${items[5]}"),
        ("loop.tpl", "%{ for i in range(n) }${i}%{ endfor }"),
    ];
    for (name, text) in files {
        fs::write(module.join(name), text).unwrap();
    }
    Tree {
        _dir: dir,
        ctx: Context {
            base_dir: module,
            root: crate::read::Project::new([root]),
        },
    }
}

fn run_in(tree: &Tree, src: &str) -> Result<Value, EvalError> {
    eval(&parse(src), &scope(), &tree.ctx)
}

#[test]
fn templatefile_renders_with_its_own_scope() {
    let tree = tree();
    let cases = [
        (
            "templatefile(\"main.tpl\", { name = local.name, items = var.list })",
            s("Hello app!\n- a\n- b\n- c\n"),
        ),
        (
            "templatefile(\"value.tpl\", { value = [1, 2] })",
            j(json!([1, 2])),
        ),
        ("templatefile(\"loop.tpl\", { n = 3 })", s("012")),
        (
            "core::templatefile(\"value.tpl\", { value = 1 })",
            Value::from(1),
        ),
        // Unknowns: the path, the vars, a var used.
        ("templatefile(var.unknown, {})", U),
        ("templatefile(\"main.tpl\", var.unknown)", U),
        (
            "templatefile(\"main.tpl\", { name = var.unknown, items = [] })",
            U,
        ),
        (
            "templatefile(\"main.tpl\", { name = \"n\", items = var.partial })",
            U,
        ),
    ];
    for (src, want) in cases {
        assert_eq!(run_in(&tree, src), Ok(want), "{src}");
    }
}

#[test]
fn templatefile_errors() {
    let tree = tree();
    let cases = [
        (
            "templatefile(\"missing_var.tpl\", {})",
            "vars map does not contain key \"nope\", referenced at 1:5",
            None,
        ),
        (
            "templatefile(\"../../outside/secret.tpl\", {})",
            "outside the scanned folder",
            Some("\"../../outside/secret.tpl\""),
        ),
        (
            "templatefile(\"/etc/passwd\", {})",
            "outside the scanned folder",
            Some("\"/etc/passwd\""),
        ),
        (
            "templatefile(\"absent.tpl\", {})",
            "no file exists",
            Some("\"absent.tpl\""),
        ),
        (
            "templatefile(\"bad.tpl\", {})",
            "templatefile(\"bad.tpl\"): template syntax error at 1:",
            None,
        ),
        (
            "templatefile(\"recursive.tpl\", {})",
            "cannot recursively call templatefile",
            None,
        ),
        (
            "templatefile(\"error.tpl\", { items = [] })",
            "templatefile(\"error.tpl\"):2:14: Invalid index",
            None,
        ),
        (
            "templatefile(\"main.tpl\", { \"bad name\" = 1 })",
            "invalid template variable name \"bad name\"",
            Some("{ \"bad name\" = 1 }"),
        ),
        (
            "templatefile(\"main.tpl\", [1])",
            "must be a map",
            Some("[1]"),
        ),
        (
            "templatefile(\"main.tpl\", null)",
            "must be a map",
            Some("null"),
        ),
        (
            "templatefile(var.nothing, {})",
            "must not be null",
            Some("var.nothing"),
        ),
        ("templatefile(\"main.tpl\")", "expected 2, got 1", None),
        (
            "templatefile(\"loop.tpl\", { n = 2000 })",
            "more than 1024 values",
            None,
        ),
    ];
    for (src, fragment, at) in cases {
        let err = run_in(&tree, src).unwrap_err();
        assert!(err.message.contains(fragment), "{src}: {}", err.message);
        // Errors inside the template are placed on the call.
        let span = err.span.clone().expect("span");
        assert_eq!(&src[span], at.unwrap_or(src), "{src}");
    }
}

#[test]
fn templatestring() {
    check_values(&[
        (
            "templatestring(local.tmpl, { who = \"you\" })",
            s("Hi you!"),
        ),
        ("templatestring(var.unknown, {})", U),
        ("templatestring(local.tmpl, var.unknown)", U),
        ("templatestring(local.tmpl, { who = var.unknown })", U),
    ]);
    check_errors(&[
        (
            "templatestring(\"Hi ${x}\", { x = 1 })",
            "must be a direct reference",
            "\"Hi ${x}\"",
        ),
        (
            "templatestring(upper(local.tmpl), {})",
            "must be a direct reference",
            "upper(local.tmpl)",
        ),
        (
            "templatestring(local.tmpl, {})",
            "vars map does not contain key \"who\"",
            "templatestring(local.tmpl, {})",
        ),
        (
            "templatestring(local.recursive, {})",
            "cannot recursively call templatefile",
            "templatestring(local.recursive, {})",
        ),
        (
            "templatestring(var.nothing, {})",
            "must not be null",
            "var.nothing",
        ),
        (
            "templatestring(local.tmpl)",
            "expected 2, got 1",
            "templatestring(local.tmpl)",
        ),
    ]);
}
