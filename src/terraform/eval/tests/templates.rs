//! String templates: interpolation, directives, strip markers.

use serde_json::json;

use super::*;

#[test]
fn interpolation() {
    check_values(&[
        ("\"hello ${var.region}\"", s("hello eu-west-1")),
        (
            "\"${local.name}-${var.count}-${var.enabled}-${1.5}\"",
            s("app-3-true-1.5"),
        ),
        ("\"$${literal} %%{also}\"", s("${literal} %{also}")),
        ("\"${\"inner ${local.name}\"}!\"", s("inner app!")),
        ("\"a${\"\"}b\"", s("ab")),
        // A lone interpolation keeps its value's type.
        ("\"${var.nums}\"", j(json!([1, 2, 3]))),
        ("\"${var.count}\"", Value::from(3)),
        ("\"${var.nothing}\"", Value::Null),
        ("\"${var.unknown}\"", U),
        // Anything unknown makes the whole string unknown.
        ("\"x-${var.unknown}\"", U),
        ("\"x-${var.partial[1]}-${var.region}\"", U),
    ]);
}

#[test]
fn directives() {
    check_values(&[
        ("\"%{if var.enabled}on%{else}off%{endif}\"", s("on")),
        ("\"%{if !var.enabled}on%{else}off%{endif}\"", s("off")),
        ("\"[%{if false}never%{endif}]\"", s("[]")),
        ("\"%{if \"true\"}yes%{endif}\"", s("yes")),
        ("\"%{for x in var.list}${x},%{endfor}\"", s("a,b,c,")),
        (
            "\"%{for i, x in var.list}${i}=${x} %{endfor}\"",
            s("0=a 1=b 2=c "),
        ),
        (
            "\"%{for k, v in var.tags}${k}:${v};%{endfor}\"",
            s("env:prod;team:core;"),
        ),
        (
            "\"%{for x in var.nums}%{if x % 2 == 1}${x}%{endif}%{endfor}\"",
            s("13"),
        ),
        ("\"%{for x in []}never%{endfor}\"", s("")),
        // Loop variables shadow and then give way.
        (
            "\"%{for item in [1]}${item}%{endfor}/${item}\"",
            s("1/outer-item"),
        ),
        // Unknown conditions and collections.
        ("\"%{if var.unknown}a%{endif}\"", U),
        ("\"%{for x in var.unknown}a%{endfor}\"", U),
        ("\"%{for x in var.partial}${x}%{endfor}\"", U),
    ]);
}

#[test]
fn strip_markers() {
    check_values(&[
        ("\"a  ${~ \"b\" ~}  c\"", s("abc")),
        ("\"a  ${~ \"b\"}  c\"", s("ab  c")),
        ("\"a  ${\"b\" ~}  c\"", s("a  bc")),
        ("\"a \\n\\t ${~ \"b\"}\"", s("ab")),
        ("\"x %{~ if true ~} y %{~ endif ~} z\"", s("xyz")),
        (
            "\"x %{ if false ~} y %{~ else ~} n %{~ endif } z\"",
            s("x n z"),
        ),
        (
            "\"x %{~ if false} y %{ else ~} n %{ endif ~} z\"",
            s("xn z"),
        ),
        (
            "\"[%{ for x in var.list ~} ${x} %{~ endfor }]\"",
            s("[abc]"),
        ),
        (
            "\"[%{~ for x in var.list } ${x} %{ endfor ~}]\"",
            s("[ a  b  c ]"),
        ),
    ]);
    // The usual heredoc idiom: markers swallow the directive lines (and,
    // as in Terraform, the indentation of the line after a `~}`).
    let src = "<<EOT\nitems:\n%{ for x in var.list ~}\n  - ${x}\n%{ endfor ~}\ndone\nEOT";
    assert_eq!(run(src), Ok(s("items:\n- a\n- b\n- c\ndone\n")));
    let src = "<<-EOT\n  %{~ if var.enabled ~}\n  enabled\n  %{~ endif ~}\n  EOT";
    assert_eq!(run(src), Ok(s("enabled")));
}

#[test]
fn template_errors() {
    check_errors(&[
        (
            "\"x${var.nothing}\"",
            "null value in a string template",
            "var.nothing",
        ),
        ("\"x${var.list}\"", "string required, got list", "var.list"),
        ("\"x${var.tags}\"", "string required, got map", "var.tags"),
        ("\"x${var.missing}\"", "undeclared", "var.missing"),
        (
            "\"%{if var.nothing}a%{endif}\"",
            "Null condition",
            "var.nothing",
        ),
        ("\"%{if 3}a%{endif}\"", "must be of type bool", "3"),
        (
            "\"%{for x in var.nothing}a%{endfor}\"",
            "null value",
            "var.nothing",
        ),
        (
            "\"%{for x in 1}a%{endfor}\"",
            "type number cannot be used",
            "1",
        ),
        (
            "\"%{for x in [1]}${x.y}%{endfor}\"",
            "primitive-typed",
            ".y",
        ),
        // An error after an unknown part is still reported.
        (
            "\"${var.unknown}${var.missing}\"",
            "undeclared",
            "var.missing",
        ),
    ]);
}
