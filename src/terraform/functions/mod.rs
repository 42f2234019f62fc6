//! Terraform's built-in functions, evaluated on [`Value`]s: the registry,
//! argument checking, unknown propagation and errors. Each family of
//! functions lives in its own file with its own table.
//!
//! # Unknown values
//!
//! By default a function returns `Unknown` as soon as any argument holds
//! an `Unknown` anywhere inside. The functions registered with
//! `Function::handling_unknowns` follow Terraform more closely, each
//! documenting its rule; in short:
//!
//! - `length`, `keys`, `values`, `reverse`, `slice`, `chunklist`,
//!   `concat`, `element`, `one`, `zipmap` (values), `merge`, `tolist`,
//!   `tomap`, `sensitive`, `nonsensitive`, `ephemeralasnull` only move
//!   elements around: unknown elements stay in place and the result is
//!   known. A wholly unknown collection argument still gives `Unknown`.
//! - `lookup` returns the looked-up value (even if other values are
//!   unknown); `contains`, `index`, `alltrue`, `anytrue` answer when a known
//!   element settles the question; `coalesce`, `coalescelist` answer when
//!   a known non-empty argument comes before any unknown one.
//! - `flatten` is known unless an element it would have to look into is
//!   unknown (an unknown element might itself be a list).
//! - `formatlist` makes only the affected elements unknown.
//! - `startswith(unknown, "")` is true.
//!
//! Non-deterministic and environment-dependent functions (`timestamp`,
//! `plantimestamp`, `uuid`, `bcrypt`, `pathexpand("~...")`), those whose
//! output this crate cannot reproduce (`base64gzip`, `rsadecrypt`) or
//! whose answer depends on marks it does not track (`issensitive`) always
//! return `Unknown`, as do provider-defined functions (`provider::...`).
//! `try`, `can`, `templatefile` and `templatestring` need their arguments
//! unevaluated or a template engine: they belong to the evaluator and
//! `call` refuses them with [`FunctionError::Lazy`] (`read_file` serves
//! `templatefile`).
//!
//! # Numbers
//!
//! Terraform computes with arbitrary-precision decimals; here whole
//! numbers stay exact `i64`s where an operation allows, everything else
//! is `f64` (so `sum([0.1, 0.2])` is `0.30000000000000004`, not `0.3`).

mod collections;
mod conversion;
mod datetime;
mod encoding;
mod filesystem;
mod format;
mod hashing;
mod maps;
mod network;
mod numeric;
mod regexp;
mod sequences;
mod serialization;
mod sets;
mod strings;
#[cfg(test)]
mod testing;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Number;

use super::value::Value;

pub use filesystem::read_file;

/// Where file functions resolve paths.
#[derive(Debug, Clone)]
pub struct Context {
    /// The module's directory: relative paths are resolved against it.
    pub base_dir: PathBuf,
    /// The project (its root and the scanned folders): no function reads
    /// outside it.
    pub root: crate::read::Project,
}

/// Why a function call has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    #[error("unknown function \"{0}\"")]
    UnknownFunction(String),
    #[error("wrong number of arguments to \"{name}\": expected {expected}, got {got}")]
    Arity {
        name: String,
        expected: String,
        got: usize,
    },
    #[error(
        "\"{0}\" must be evaluated by the expression evaluator (its arguments are evaluated lazily or as templates), not called as a plain function"
    )]
    Lazy(String),
    /// `position` counts from 1.
    #[error("invalid argument {position} to \"{name}\": {message}")]
    InvalidArgument {
        name: String,
        position: usize,
        message: String,
    },
    #[error("call to \"{name}\" failed: {message}")]
    Failed { name: String, message: String },
    /// The result would be too large to build.
    #[error("call to \"{name}\" stopped: {message}")]
    TooLarge { name: String, message: String },
    #[error("{name}({path:?}) is outside the scanned folder")]
    OutsideRoot { name: String, path: String },
    #[error("{name}({path:?}): {message}")]
    File {
        name: String,
        path: String,
        message: String,
    },
}

/// Calls the built-in function `name` (optionally written `core::name`).
pub fn call(name: &str, args: Vec<Value>, ctx: &Context) -> Result<Value, FunctionError> {
    let name = name.strip_prefix("core::").unwrap_or(name);
    if name.starts_with("provider::") {
        // Provider-defined functions run inside provider plugins.
        return Ok(Value::Unknown);
    }
    if EVALUATOR_FUNCTIONS.contains(&name) {
        return Err(FunctionError::Lazy(name.to_string()));
    }
    let Some(function) = registry().get(name) else {
        return Err(FunctionError::UnknownFunction(name.to_string()));
    };
    function.arity.check(function.name, args.len())?;
    if function.unknowns == Unknowns::Propagate && !args.iter().all(Value::is_known) {
        return Ok(Value::Unknown);
    }
    (function.eval)(&Args {
        name: function.name,
        values: &args,
        ctx,
    })
}

/// Whether `name` is a built-in function `call` evaluates.
pub fn exists(name: &str) -> bool {
    let name = name.strip_prefix("core::").unwrap_or(name);
    registry().contains_key(name)
}

/// Functions only the evaluator can run.
const EVALUATOR_FUNCTIONS: &[&str] = &["try", "can", "templatefile", "templatestring"];

fn registry() -> &'static HashMap<&'static str, &'static Function> {
    static REGISTRY: OnceLock<HashMap<&'static str, &'static Function>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        families()
            .iter()
            .flat_map(|family| family.iter())
            .map(|f| (f.name, f))
            .collect()
    })
}

fn families() -> [&'static [Function]; 15] {
    [
        collections::FUNCTIONS,
        conversion::FUNCTIONS,
        datetime::FUNCTIONS,
        encoding::FUNCTIONS,
        filesystem::FUNCTIONS,
        format::FUNCTIONS,
        hashing::FUNCTIONS,
        maps::FUNCTIONS,
        network::FUNCTIONS,
        numeric::FUNCTIONS,
        regexp::FUNCTIONS,
        sequences::FUNCTIONS,
        serialization::FUNCTIONS,
        sets::FUNCTIONS,
        strings::FUNCTIONS,
    ]
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy)]
enum Arity {
    Exactly(usize),
    Between(usize, usize),
    AtLeast(usize),
}

impl Arity {
    fn check(self, name: &str, got: usize) -> Result<(), FunctionError> {
        let (fits, expected) = match self {
            Arity::Exactly(n) => (got == n, n.to_string()),
            Arity::Between(lo, hi) => (
                (lo..=hi).contains(&got),
                if hi == lo + 1 {
                    format!("{lo} or {hi}")
                } else {
                    format!("{lo} to {hi}")
                },
            ),
            Arity::AtLeast(n) => (got >= n, format!("at least {n}")),
        };
        if fits {
            Ok(())
        } else {
            Err(FunctionError::Arity {
                name: name.to_string(),
                expected,
                got,
            })
        }
    }
}

/// Who deals with unknown arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknowns {
    /// Any unknown, however deep, makes the result unknown.
    Propagate,
    /// The function looks at unknowns itself (documented at the function).
    Handled,
}

/// One built-in function.
struct Function {
    name: &'static str,
    arity: Arity,
    unknowns: Unknowns,
    eval: fn(&Args<'_>) -> Result<Value, FunctionError>,
}

impl Function {
    const fn new(
        name: &'static str,
        arity: Arity,
        eval: fn(&Args<'_>) -> Result<Value, FunctionError>,
    ) -> Function {
        Function {
            name,
            arity,
            unknowns: Unknowns::Propagate,
            eval,
        }
    }

    /// A function that handles unknown arguments itself.
    const fn handling_unknowns(
        name: &'static str,
        arity: Arity,
        eval: fn(&Args<'_>) -> Result<Value, FunctionError>,
    ) -> Function {
        Function {
            name,
            arity,
            unknowns: Unknowns::Handled,
            eval,
        }
    }
}

/// The arguments of one call, with typed accessors that apply Terraform's
/// automatic conversions and produce positioned errors.
struct Args<'a> {
    name: &'static str,
    values: &'a [Value],
    ctx: &'a Context,
}

impl<'a> Args<'a> {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn get(&self, i: usize) -> &'a Value {
        &self.values[i]
    }

    fn rest(&self, from: usize) -> &'a [Value] {
        self.values.get(from..).unwrap_or(&[])
    }

    /// An error about argument `i` (0-based).
    fn invalid(&self, i: usize, message: impl Into<String>) -> FunctionError {
        FunctionError::InvalidArgument {
            name: self.name.to_string(),
            position: i + 1,
            message: message.into(),
        }
    }

    /// An error about the call as a whole.
    fn fail(&self, message: impl Into<String>) -> FunctionError {
        FunctionError::Failed {
            name: self.name.to_string(),
            message: message.into(),
        }
    }

    fn string(&self, i: usize) -> Result<Cow<'a, str>, FunctionError> {
        as_string(self.get(i)).map_err(|m| self.invalid(i, m))
    }

    fn number(&self, i: usize) -> Result<Number, FunctionError> {
        as_number(self.get(i)).map_err(|m| self.invalid(i, m))
    }

    fn float(&self, i: usize) -> Result<f64, FunctionError> {
        Ok(self.number(i)?.as_f64().unwrap_or(0.0))
    }

    /// A whole number that fits an `i64`.
    fn int(&self, i: usize) -> Result<i64, FunctionError> {
        let n = self.number(i)?;
        super::value::number_as_i64(&n).ok_or_else(|| self.invalid(i, "a whole number is required"))
    }

    fn list(&self, i: usize) -> Result<&'a [Value], FunctionError> {
        match self.get(i) {
            Value::List(items) => Ok(items),
            Value::Null => Err(self.invalid(i, "argument must not be null")),
            other => Err(self.invalid(
                i,
                format!("list, tuple or set required, got {}", other.type_name()),
            )),
        }
    }

    fn map(&self, i: usize) -> Result<&'a BTreeMap<String, Value>, FunctionError> {
        match self.get(i) {
            Value::Map(map) => Ok(map),
            Value::Null => Err(self.invalid(i, "argument must not be null")),
            other => Err(self.invalid(
                i,
                format!("map or object required, got {}", other.type_name()),
            )),
        }
    }

    /// A list whose elements all convert to strings.
    fn string_list(&self, i: usize) -> Result<Vec<Cow<'a, str>>, FunctionError> {
        self.list(i)?
            .iter()
            .enumerate()
            .map(|(n, v)| as_string(v).map_err(|m| self.invalid(i, format!("element {n}: {m}"))))
            .collect()
    }
}

/// Terraform's automatic conversion to string, refusing null.
fn as_string(v: &Value) -> Result<Cow<'_, str>, String> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Null => Err("argument must not be null".to_string()),
        other => other.to_tf_string().map(Cow::Owned).map_err(|e| {
            if matches!(other, Value::List(_) | Value::Map(_)) {
                format!("string required, got {}", other.type_name())
            } else {
                e.0
            }
        }),
    }
}

/// Terraform's automatic conversion to number, refusing null.
fn as_number(v: &Value) -> Result<Number, String> {
    match v {
        Value::Null => Err("argument must not be null".to_string()),
        Value::Number(n) => Ok(n.clone()),
        Value::String(_) => v.to_tf_number().map_err(|e| e.0),
        other => Err(format!("number required, got {}", other.type_name())),
    }
}

/// A number result; NaN and infinities are errors (JSON cannot hold them).
fn number_result(args: &Args<'_>, f: f64) -> Result<Value, FunctionError> {
    Value::from_f64(f).ok_or_else(|| {
        args.fail(if f.is_nan() {
            "result is not a number"
        } else {
            "result is infinite"
        })
    })
}

/// Always `Unknown`: for non-deterministic or environment-dependent
/// functions.
fn unknown(_: &Args<'_>) -> Result<Value, FunctionError> {
    Ok(Value::Unknown)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::testing::*;
    use super::*;

    #[test]
    fn names_are_unique_and_every_function_has_a_case() {
        let mut seen = BTreeSet::new();
        for family in families() {
            for f in family {
                assert!(seen.insert(f.name), "{} registered twice", f.name);
            }
        }
        let tested: BTreeSet<_> = all_cases().iter().map(|c| c.name).collect();
        let untested: Vec<_> = seen.difference(&tested).collect();
        assert!(
            untested.is_empty(),
            "functions without a case: {untested:?}"
        );
        for name in EVALUATOR_FUNCTIONS {
            assert!(!seen.contains(name), "{name} is the evaluator's");
        }
    }

    #[test]
    fn unknown_function() {
        let err = eval("nosuch", vec![]).unwrap_err();
        assert_eq!(err.to_string(), "unknown function \"nosuch\"");
        assert!(!exists("nosuch"));
        assert!(exists("upper") && exists("core::upper"));
    }

    #[test]
    fn arity_errors() {
        let err = eval("upper", vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong number of arguments to \"upper\": expected 1, got 0"
        );
        let err = eval("join", vec![s(",")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong number of arguments to \"join\": expected at least 2, got 1"
        );
        let err = eval("lookup", vec![j(serde_json::json!({}))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong number of arguments to \"lookup\": expected 2 or 3, got 1"
        );
        // Arity is checked before unknowns short-circuit.
        assert!(eval("upper", vec![Value::Unknown, Value::Unknown]).is_err());
    }

    #[test]
    fn type_errors_name_the_argument() {
        let err = eval("upper", vec![j(serde_json::json!([1]))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument 1 to \"upper\": string required, got list"
        );
        let err = eval("upper", vec![Value::Null]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument 1 to \"upper\": argument must not be null"
        );
        let err = eval("abs", vec![s("x")]).unwrap_err();
        assert!(err.to_string().contains("decimal representation"), "{err}");
    }

    #[test]
    fn evaluator_functions_are_refused() {
        for name in ["try", "can", "templatefile", "templatestring", "core::try"] {
            let err = eval(name, vec![Value::Unknown]).unwrap_err();
            assert!(matches!(err, FunctionError::Lazy(_)), "{name}: {err:?}");
            assert!(err.to_string().contains("evaluator"));
        }
    }

    #[test]
    fn unknowns_propagate_deeply_by_default() {
        let nested = Value::List(vec![s("a"), Value::Unknown]);
        assert_eq!(eval("join", vec![s(","), nested]), Ok(Value::Unknown));
        assert_eq!(eval("upper", vec![Value::Unknown]), Ok(Value::Unknown));
        let map = Value::Map(BTreeMap::from([("k".into(), Value::Unknown)]));
        assert_eq!(eval("jsonencode", vec![map]), Ok(Value::Unknown));
    }

    #[test]
    fn provider_functions_and_core_prefix() {
        assert_eq!(
            eval("provider::aws::arn_parse", vec![s("x")]),
            Ok(Value::Unknown)
        );
        assert_eq!(eval("core::upper", vec![s("a")]), Ok(s("A")));
    }

    /// Every function, every combination of up to three awkward
    /// arguments: errors are fine, panics are not.
    #[test]
    fn no_function_panics() {
        let fixture = fixture();
        let pool = [
            Value::Null,
            Value::Unknown,
            Value::from(true),
            Value::from(-3),
            n(2.5),
            s(""),
            s("10.0.0.0/30"),
            s("%[9]*"),
            j(serde_json::json!(["a", 1, null])),
            Value::Map(BTreeMap::from([("k".into(), Value::Unknown)])),
        ];
        let mut combos: Vec<Vec<Value>> = vec![vec![]];
        for _ in 0..3 {
            let longer: Vec<Vec<Value>> = combos
                .iter()
                .filter(|c| c.len() == combos.last().map_or(0, Vec::len))
                .flat_map(|c| {
                    pool.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push(v.clone());
                        c
                    })
                })
                .collect();
            combos.extend(longer);
        }
        for f in families().iter().flat_map(|family| family.iter()) {
            for args in &combos {
                let _ = call(f.name, args.clone(), &fixture.ctx);
            }
        }
    }

    #[test]
    fn non_deterministic_functions_are_unknown() {
        for (name, args) in [
            ("timestamp", vec![]),
            ("plantimestamp", vec![]),
            ("uuid", vec![]),
            ("bcrypt", vec![s("secret")]),
            ("base64gzip", vec![s("x")]),
            ("pathexpand", vec![s("~/x")]),
        ] {
            assert_eq!(eval(name, args), Ok(Value::Unknown), "{name}");
        }
    }
}
