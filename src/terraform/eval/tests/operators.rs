//! Arithmetic, comparison, equality, logic and conditionals.

use serde_json::json;

use super::*;

#[test]
fn arithmetic() {
    check_values(&[
        ("1 + 2", Value::from(3)),
        ("10 - 15", Value::from(-5)),
        ("6 * 7", Value::from(42)),
        ("6 / 3", Value::from(2)),
        ("7 / 2", j(json!(3.5))),
        ("7 % 3", Value::from(1)),
        ("-7 % 3", Value::from(-1)),
        ("7 % -3", Value::from(1)),
        ("5.5 % 2", j(json!(1.5))),
        ("2.5 * 2", Value::from(5)),
        ("0.1 + 0.2", j(json!(0.30000000000000004))),
        ("1 + 2 * 3 - 4 / 2", Value::from(5)),
        ("(1 + 2) * 3", Value::from(9)),
        ("-var.count", Value::from(-3)),
        ("-(-2.5)", j(json!(2.5))),
        ("- -1", Value::from(1)),
        // Strings holding numbers convert.
        ("var.str_num + 1", Value::from(6)),
        ("\"2\" * \"3\"", Value::from(6)),
        // Overflow continues in floating point.
        ("9223372036854775807 + 1", j(json!(9223372036854775808.0))),
        ("-9223372036854775807 - 1", Value::from(i64::MIN)),
        (
            "(-9223372036854775807 - 1) / -1",
            j(json!(9223372036854775808.0)),
        ),
        ("(-9223372036854775807 - 1) % -1", Value::from(0)),
        (
            "-(-9223372036854775807 - 1)",
            j(json!(9223372036854775808.0)),
        ),
        (
            "9223372036854775807 * 9223372036854775807",
            j(json!(8.507059173023462e37)),
        ),
        // Unknown operands.
        ("var.unknown + 1", U),
        ("1 * var.unknown", U),
        ("-var.unknown", U),
        ("var.unknown / 0", U),
    ]);
}

#[test]
fn comparison_and_equality() {
    check_values(&[
        ("1 < 2", Value::from(true)),
        ("2 <= 2", Value::from(true)),
        ("1.5 > 2", Value::from(false)),
        ("-1 >= -1.0", Value::from(true)),
        ("\"10\" > 9", Value::from(true)),
        ("var.unknown < 1", U),
        ("1 == 1.0", Value::from(true)),
        ("\"1\" == 1", Value::from(false)),
        ("\"a\" != \"b\"", Value::from(true)),
        ("[1, 2] == [1, 2]", Value::from(true)),
        ("[1, 2] == [2, 1]", Value::from(false)),
        ("{ a = 1 } == { a = 1.0 }", Value::from(true)),
        ("{ a = 1 } == { b = 1 }", Value::from(false)),
        ("null == null", Value::from(true)),
        ("var.nothing == null", Value::from(true)),
        ("var.region != null", Value::from(true)),
        ("var.unknown == 1", U),
        ("var.unknown != null", U),
        // A known difference decides even beside an unknown element.
        ("var.partial == [\"b\", 1]", Value::from(false)),
        ("var.partial == [\"a\", 1]", U),
        ("var.partial == [\"a\"]", Value::from(false)),
    ]);
}

/// `&&` and `||` over true, false, unknown and failing operands, per
/// HCL's short-circuit table.
#[test]
fn logic() {
    let err = "var.tags.missing";
    type Outcome = Result<Value, ()>;
    let table: &[(&str, &str, Outcome, Outcome)] = &[
        // (lhs, rhs, lhs && rhs, lhs || rhs)
        ("true", "true", Ok(Value::from(true)), Ok(Value::from(true))),
        (
            "true",
            "false",
            Ok(Value::from(false)),
            Ok(Value::from(true)),
        ),
        (
            "false",
            "false",
            Ok(Value::from(false)),
            Ok(Value::from(false)),
        ),
        ("false", "var.unknown", Ok(Value::from(false)), Ok(U)),
        ("var.unknown", "false", Ok(Value::from(false)), Ok(U)),
        ("true", "var.unknown", Ok(U), Ok(Value::from(true))),
        ("var.unknown", "true", Ok(U), Ok(Value::from(true))),
        ("var.unknown", "var.unknown", Ok(U), Ok(U)),
        ("false", err, Ok(Value::from(false)), Err(())),
        (err, "false", Ok(Value::from(false)), Err(())),
        ("true", err, Err(()), Ok(Value::from(true))),
        (err, "true", Err(()), Ok(Value::from(true))),
        ("var.unknown", err, Ok(U), Ok(U)),
        (err, "var.unknown", Err(()), Err(())),
        (err, err, Err(()), Err(())),
        (
            "\"true\"",
            "\"false\"",
            Ok(Value::from(false)),
            Ok(Value::from(true)),
        ),
    ];
    for (lhs, rhs, and, or) in table {
        for (op, want) in [("&&", and), ("||", or)] {
            let src = format!("{lhs} {op} {rhs}");
            let got = run(&src).map_err(|_| ());
            assert_eq!(&got, want, "{src}");
        }
    }
    check_values(&[
        ("!true", Value::from(false)),
        ("!!var.enabled", Value::from(true)),
        ("!\"false\"", Value::from(true)),
        ("!var.unknown", U),
        (
            "var.nothing != null && var.nothing.enabled",
            Value::from(false),
        ),
        ("1 < 2 && 2 < 3 || false", Value::from(true)),
    ]);
}

#[test]
fn conditionals() {
    check_values(&[
        ("true ? 1 : 2", Value::from(1)),
        ("false ? 1 : 2", Value::from(2)),
        ("var.enabled ? \"on\" : \"off\"", s("on")),
        ("\"false\" ? 1 : 2", Value::from(2)),
        // Only the chosen branch is evaluated.
        ("true ? 1 : var.tags.missing", Value::from(1)),
        ("false ? var.list[10] : 2", Value::from(2)),
        ("var.nothing == null ? \"none\" : var.nothing.x", s("none")),
        // An unknown condition: known only when both branches agree.
        ("var.unknown ? 1 : 1.0", Value::from(1)),
        ("var.unknown ? [\"a\"] : [\"a\"]", j(json!(["a"]))),
        ("var.unknown ? null : null", Value::Null),
        ("var.unknown ? 1 : 2", U),
        ("var.unknown ? var.partial : var.partial", U),
        ("var.unknown ? 1 : var.tags.missing", U),
        ("true ? var.unknown : 1", U),
    ]);
}

#[test]
fn operator_errors() {
    check_errors(&[
        ("1 / 0", "can't divide by zero", "1 / 0"),
        ("1 / 0.0", "can't divide by zero", "1 / 0.0"),
        ("5 % 0", "modulo with zero", "5 % 0"),
        ("\"a\" + 1", "unsuitable value for left operand", "\"a\""),
        ("1 + \"b\"", "unsuitable value for right operand", "\"b\""),
        ("var.nothing + 1", "must not be null", "var.nothing"),
        ("true + 1", "cannot convert bool to number", "true"),
        ("[1] * 2", "cannot convert list to number", "[1]"),
        ("\"a\" < \"b\"", "left operand", "\"a\""),
        ("-\"x\"", "unary operand", "\"x\""),
        ("!1", "cannot convert number to bool", "1"),
        ("1 && true", "left operand", "1"),
        ("true || var.nothing", "must not be null", "var.nothing"),
        ("1e308 * 10", "out of range", "1e308 * 10"),
        ("var.nothing ? 1 : 2", "Null condition", "var.nothing"),
        ("5 ? 1 : 2", "must be of type bool", "5"),
        ("true ? var.tags.missing : 1", "attribute named", ".missing"),
        ("var.undefined ? 1 : 2", "undeclared", "var.undefined"),
    ]);
}
