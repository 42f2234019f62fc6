//! Pathological inputs fail with an error: no panic, no hang, no
//! unbounded memory.

use std::time::{Duration, Instant};

use hcl_edit::expr::{Expression, FuncArgs, FuncCall, Parenthesis};
use hcl_edit::template::Element;
use hcl_edit::Ident;

use super::super::{references, MAX_DEPTH};
use super::*;

/// Evaluates, asserting it took under a few seconds.
fn timed(expr: &Expression) -> Result<Value, EvalError> {
    let start = Instant::now();
    let result = eval(expr, &scope(), &ctx());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    result
}

fn nested_parentheses(depth: usize) -> Expression {
    let mut expr = Expression::from(1);
    for _ in 0..depth {
        expr = Expression::Parenthesis(Box::new(Parenthesis::new(expr)));
    }
    expr
}

fn nested_calls(depth: usize) -> Expression {
    let mut expr = Expression::from("x");
    for _ in 0..depth {
        let call = FuncCall::new(Ident::new("upper"), FuncArgs::from(vec![expr]));
        expr = Expression::FuncCall(Box::new(call));
    }
    expr
}

/// `[for x in [1] : <inner>]`, `depth` times.
fn nested_fors(depth: usize) -> Expression {
    let mut expr = Expression::from(1);
    for _ in 0..depth {
        let Expression::ForExpr(mut f) = parse("[for x in [1] : x]") else {
            unreachable!()
        };
        f.value_expr = expr;
        expr = Expression::ForExpr(f);
    }
    expr
}

#[test]
fn deep_nesting_is_an_error() {
    // hcl-edit's parser refuses this much nesting itself...
    let text = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    assert!(hcl_edit::parser::parse_expr(&text).is_err());
    // ...but a tree built another way reaches the evaluator.
    for expr in [nested_parentheses(300), nested_calls(300), nested_fors(300)] {
        let err = timed(&expr).unwrap_err();
        assert!(err.message.contains("nested more than 256 levels"), "{err}");
        let _ = references(&expr);
    }
}

/// `"x${<inner>}"`, `depth` times.
fn nested_templates(depth: usize) -> Expression {
    let mut expr = Expression::from(1);
    for _ in 0..depth {
        let Expression::StringTemplate(mut template) = parse("\"x${1}\"") else {
            unreachable!()
        };
        if let Some(Element::Interpolation(interpolation)) = template.get_mut(1) {
            interpolation.expr = expr;
        }
        expr = Expression::StringTemplate(template);
    }
    expr
}

/// `true ? <inner> : 2`, `depth` times.
fn nested_conditionals(depth: usize) -> Expression {
    let mut expr = Expression::from(1);
    for _ in 0..depth {
        let Expression::Conditional(mut conditional) = parse("true ? 1 : 2") else {
            unreachable!()
        };
        conditional.true_expr = expr;
        expr = Expression::Conditional(conditional);
    }
    expr
}

/// Runs `f` on a thread with a 2 MiB stack (Rust's default for spawned
/// threads, rayon's workers included).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic")
}

#[test]
fn nesting_up_to_the_limit_fits_the_stack() {
    // The deepest accepted nesting of each recursive shape, and one level
    // past it, evaluate within a 2 MiB stack (in debug builds too).
    on_small_stack(|| {
        assert_eq!(
            timed(&nested_parentheses(MAX_DEPTH - 1)),
            Ok(Value::from(1))
        );
        assert_eq!(
            timed(&nested_conditionals(MAX_DEPTH - 1)),
            Ok(Value::from(1))
        );
        assert_eq!(timed(&nested_calls(MAX_DEPTH - 1)), Ok(s("X")));
        let mut want = Value::from(1);
        for _ in 0..MAX_DEPTH / 2 - 1 {
            want = list(vec![want]);
        }
        assert_eq!(timed(&nested_fors(MAX_DEPTH / 2 - 1)), Ok(want));
        let mut want = "1".to_string();
        for _ in 0..MAX_DEPTH / 2 - 1 {
            want = format!("x{want}");
        }
        assert_eq!(timed(&nested_templates(MAX_DEPTH / 2 - 1)), Ok(s(&want)));
        let shapes: [fn(usize) -> Expression; 5] = [
            nested_parentheses,
            nested_conditionals,
            nested_calls,
            nested_fors,
            nested_templates,
        ];
        for shape in shapes {
            assert!(timed(&shape(MAX_DEPTH + 1)).is_err());
        }
        let splats = parse(&format!("var.list{}", "[*]".repeat(MAX_DEPTH + 1)));
        assert!(timed(&splats).is_err());
    });
}

#[test]
fn huge_loops_are_an_error() {
    let cases = [
        "[for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]]",
        "{ for a in range(1000) : a => { for b in range(1000) : b => [for c in range(1000) : c] } }",
        "length([for a in range(1000) : [for b in range(1000) : local.big]])",
        "\"%{for a in range(1000)}%{for b in range(1000)}%{for c in range(1000)}%{endfor}%{endfor}%{endfor}\"",
        "[for a in range(1000) : [for b in range(1000) : \"%{for c in range(1000)}%{endfor}\"]]",
        // try and can do not swallow a limit.
        "try([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]], 0)",
        "can([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]])",
        "[for a in range(1000) : try([for b in range(1000) : [for c in range(1000) : c]], 0)]",
    ];
    for src in cases {
        let err = timed(&parse(src)).unwrap_err();
        assert!(
            err.message.contains("more than 1000000 steps"),
            "{src}: {err}"
        );
    }
    // Large but bounded loops are fine.
    let src = "length([for a in range(1000) : [for b in range(100) : b]])";
    assert_eq!(timed(&parse(src)), Ok(Value::from(1000)));
}

#[test]
fn huge_strings_are_an_error() {
    // 1,000 copies of a 64 KiB string.
    let err = timed(&parse("\"%{for a in range(1000)}${local.big}%{endfor}\"")).unwrap_err();
    assert!(err.message.contains("longer than 16777216 bytes"), "{err}");
    // Self-similar: every level doubles the string.
    let mut src = "local.big".to_string();
    for _ in 0..12 {
        src = format!("\"${{{src}}}${{{src}}}\"");
        if hcl_edit::parser::parse_expr(&src).is_err() {
            break;
        }
    }
    if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
        assert!(timed(&expr).is_err());
    }
    // Templates cannot render themselves.
    let err = timed(&parse("templatestring(local.recursive, {})")).unwrap_err();
    assert!(err.message.contains("cannot recursively call"), "{err}");
}

#[test]
fn deep_splat_chains_are_an_error() {
    let src = format!("var.list{}", "[*]".repeat(1000));
    let err = timed(&parse(&src)).unwrap_err();
    assert!(err.message.contains("nested more than"), "{err}");
    let src = format!("var.nested{}", ".*.a".repeat(1000));
    assert!(timed(&parse(&src)).is_err());
}

#[test]
fn long_operator_chains_evaluate() {
    let src = vec!["1"; 120].join(" + ");
    assert_eq!(timed(&parse(&src)), Ok(Value::from(120)));
}

#[test]
fn awkward_inputs_never_panic() {
    let sources = [
        "var.list[9223372036854775807]",
        "var.list[-9223372036854775808]",
        "var.list[1e300]",
        "var.list.18446744073709551615",
        "var.tags[1e300]",
        "-9223372036854775808",
        "-(-9223372036854775807 - 1) * -1",
        "9223372036854775807 * -9223372036854775807 * 9223372036854775807",
        "(-9223372036854775807 - 1) / -1",
        "(-9223372036854775807 - 1) % -1",
        "1e308 + 1e308",
        "-1e308 - 1e308",
        "1 / 1e-320",
        "5 % -0",
        "5 % 0.0",
        "0 / 0",
        "\"${var.unknown}${var.nothing}\"",
        "[for x in var.list : x][*]",
        "{ for k, v in {} : k => v }",
        "try(try(try(var.x, var.y), var.z), 1)",
        "can(can(can(var.unknown)))",
        "templatefile(\"\", {})",
        "templatefile(\"/\", {})",
        "templatestring(var.list, {})",
        "max([]...)",
        "\"%{for k, v in var.tags}%{for x in v}${x}%{endfor}%{endfor}\"",
        "[for x in var.objects : x[*].name[*]]",
    ];
    for src in sources {
        let _ = timed(&parse(src));
    }
}
