//! The shared table-driven harness: every family lists its cases, one
//! runner checks them against a fixture tree.

use std::fs;

use super::{call, Context, FunctionError, Value};

pub struct Case {
    pub name: &'static str,
    pub args: Vec<Value>,
    /// The value, or a fragment of the error message.
    pub expected: Result<Value, &'static str>,
}

pub fn ok(name: &'static str, args: Vec<Value>, expected: Value) -> Case {
    Case {
        name,
        args,
        expected: Ok(expected),
    }
}

pub fn err(name: &'static str, args: Vec<Value>, message: &'static str) -> Case {
    Case {
        name,
        args,
        expected: Err(message),
    }
}

/// A value from JSON.
pub fn j(json: serde_json::Value) -> Value {
    Value::from_json(&json)
}

pub fn s(text: &str) -> Value {
    Value::from(text)
}

pub fn n(number: f64) -> Value {
    Value::from_f64(number).expect("finite")
}

/// A scanned root with a module folder (`base_dir`), a file beside the
/// module, and a file outside the root.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub ctx: Context,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let module = root.join("module");
    fs::create_dir_all(module.join("sub/deep")).expect("mkdir");
    fs::create_dir_all(dir.path().join("outside")).expect("mkdir");
    let files: &[(&str, &[u8])] = &[
        ("root/module/hello.txt", b"Hello World"),
        ("root/module/bin.dat", &[0xff, 0xfe, 0x00]),
        ("root/module/sub/a.tf", b"a"),
        ("root/module/sub/b.tf", b"b"),
        ("root/module/sub/x.json", b"{}"),
        ("root/module/sub/deep/c.tf", b"c"),
        ("root/beside.txt", b"beside"),
        ("outside/passwd", b"root:x:0:0"),
    ];
    for (path, bytes) in files {
        fs::write(dir.path().join(path), bytes).expect("write");
    }
    let ctx = Context {
        base_dir: module,
        root: crate::read::Project::new([root]),
    };
    Fixture { dir, ctx }
}

pub fn eval(name: &str, args: Vec<Value>) -> Result<Value, FunctionError> {
    let fixture = fixture();
    call(name, args, &fixture.ctx)
}

/// Runs every case, reporting all failures at once.
pub fn run(cases: Vec<Case>) {
    let fixture = fixture();
    let mut failures = Vec::new();
    for case in cases {
        let got = call(case.name, case.args.clone(), &fixture.ctx);
        let fine = match (&got, &case.expected) {
            (Ok(v), Ok(want)) => v == want,
            (Err(e), Err(fragment)) => e.to_string().contains(fragment),
            _ => false,
        };
        if !fine {
            failures.push(format!(
                "{}({:?})\n    expected {:?}\n    got      {:?}",
                case.name, case.args, case.expected, got
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every family's cases, for the coverage meta-test.
pub fn all_cases() -> Vec<Case> {
    [
        super::collections::cases(),
        super::sequences::cases(),
        super::conversion::cases(),
        super::datetime::cases(),
        super::encoding::cases(),
        super::filesystem::cases(),
        super::format::cases(),
        super::hashing::cases(),
        super::maps::cases(),
        super::network::cases(),
        super::numeric::cases(),
        super::regexp::cases(),
        super::serialization::cases(),
        super::sets::cases(),
        super::strings::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
