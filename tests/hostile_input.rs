//! Hostile input under 1 MiB, run through the built binary as a CI job
//! on an untrusted pull request would run it: each case must end
//! normally within a wall-clock bound and a 1 GiB address-space limit
//! (`ulimit -v`), so a blow-up fails the test with an allocation failure
//! instead of slowing the machine down. The reproducers are generated
//! here, never committed.

#![cfg(unix)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The address space a run may use, in KiB: the bar is 1 GiB.
const MEMORY_KIB: u64 = 1024 * 1024;
/// The wall-clock bound, generous for a debug build on a shared machine.
const TIME: Duration = Duration::from_secs(10);
/// A run still going after this is killed, so a regression fails the test
/// rather than hanging it.
const KILL_AFTER: Duration = Duration::from_secs(120);

/// One run at a time, so that each is timed alone.
static SERIAL: Mutex<()> = Mutex::new(());

struct Run {
    /// `None` when the process died of a signal (an allocation failure
    /// aborts).
    code: Option<i32>,
    report: Value,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn messages(&self, list: &str) -> Vec<String> {
        self.report[list]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e["message"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn has_finding(&self, rule: &str) -> bool {
        self.report["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["rule_id"] == rule))
    }

    /// Asserts the run ended with `code`, in time, without running out of
    /// memory.
    fn assert_ended(&self, code: i32) {
        assert_eq!(self.code, Some(code), "stderr: {}", self.stderr);
        assert!(
            self.elapsed < TIME,
            "took {:?}, more than {TIME:?}",
            self.elapsed
        );
    }
}

/// Writes `files` into a fresh folder and runs `provcheck check --format
/// json` on it under the memory limit.
fn check(files: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let scanned = dir.path().join("in");
    std::fs::create_dir(&scanned).unwrap();
    for (name, text) in files {
        assert!(text.len() < 1024 * 1024, "{name} is not under 1 MiB");
        std::fs::write(scanned.join(name), text).unwrap();
    }
    run(&scanned, dir.path())
}

fn run(scanned: &Path, out: &Path) -> Run {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stdout = out.join("stdout");
    let stderr = out.join("stderr");
    let start = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_provcheck"))
        // Inputs with no resource are fine here: time and memory are
        // what is measured.
        .args(["check", "--format", "json", "--allow-empty"])
        .arg(scanned)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > KILL_AFTER {
            child.kill().unwrap();
            panic!("still running after {KILL_AFTER:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let stdout = std::fs::read_to_string(stdout).unwrap();
    Run {
        code: status.code(),
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: std::fs::read_to_string(stderr).unwrap(),
        elapsed,
    }
}

/// A Kubernetes object with a finding (no approval annotations), to show
/// that what comes before the hostile part is still checked.
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n";

#[test]
fn the_limit_lets_a_normal_run_through() {
    let run = check(&[("service.yaml", SERVICE)]);
    run.assert_ended(1);
    assert!(run.has_finding("kubernetes-approver-missing"));
}

/// Nine hundred thousand values from a few hundred bytes: under the
/// per-document limits, so only a budget for the whole file stops sixty
/// of them (5 GB).
#[test]
fn an_alias_bomb_split_over_documents_is_refused_per_file() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (name, previous, copies) in [
        ('b', 'a', 10),
        ('c', 'b', 10),
        ('d', 'c', 10),
        ('e', 'd', 10),
        ('f', 'e', 7),
    ] {
        let items = vec![format!("*{previous}"); copies].join(", ");
        writeln!(bomb, "{name}: &{name} [{items}]").unwrap();
    }
    let mut text = String::from(SERVICE);
    for _ in 0..60 {
        text.push_str("---\n");
        text.push_str(&bomb);
    }
    let run = check(&[("bomb.yaml", &text)]);
    run.assert_ended(2);
    let errors = run.messages("errors");
    assert!(
        errors
            .iter()
            .any(|m| m.contains("aliases in this file expand to more than")),
        "{errors:?}"
    );
    // At the alias that went over, in the second bomb.
    let line = run.report["errors"][0]["span"]["start"]["line"].as_u64();
    assert!(line.is_some_and(|l| l > 10), "{:?}", run.report["errors"]);
    assert!(run.has_finding("kubernetes-approver-missing"));
}

/// A 300 KB key above 300,000 values: each value's pointer would repeat
/// the key (90 GB).
#[test]
fn a_long_yaml_key_above_many_values_is_refused() {
    let key = "k".repeat(300_000);
    let items = vec!["1"; 300_000].join(",");
    let text = format!("{SERVICE}---\n? {key}\n: [{items}]\n");
    let run = check(&[("long.yaml", &text)]);
    run.assert_ended(2);
    let errors = run.messages("errors");
    assert!(
        errors
            .iter()
            .any(|m| m.contains("paths to this file's YAML values")),
        "{errors:?}"
    );
    assert!(run.has_finding("kubernetes-approver-missing"));
}

/// Merging 52,000 keys into a mapping that already has 65,000: each
/// merged key was compared with every explicit one (3.4 billion times).
#[test]
fn merge_keys_take_linear_time() {
    // Four-letter keys: as many as fit under 1 MiB, all the same length.
    let key = |i: usize| {
        let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
        [i / 17_576, i / 676, i / 26, i]
            .map(letter)
            .iter()
            .collect::<String>()
    };
    let mut text = String::from("base: &base\n");
    for i in 0..52_000 {
        writeln!(text, "  {}: 0", key(i)).unwrap();
    }
    for i in 52_000..117_000 {
        writeln!(text, "{}: 0", key(i)).unwrap();
    }
    text.push_str("<<: *base\n");
    let run = check(&[("merge.yaml", &text)]);
    run.assert_ended(0);
}

/// Minified JSON is YAML on one line: each position was found by walking
/// the line from its start.
#[test]
fn a_document_on_one_long_line_takes_linear_time() {
    let items = vec!["1"; 400_000].join(",");
    let text = format!("{{\"a\": [{items}]}}\n");
    let run = check(&[("one-line.yaml", &text)]);
    run.assert_ended(0);
}

/// A Terraform violation beside the hostile file, to show the rest of the
/// module is still checked.
const EBS: &str = "resource \"aws_ebs_volume\" \"v\" {\n  encrypted = false\n}\n";

/// A 300 KB block name above 60,000 attributes: each attribute's pointer
/// would repeat the name (18 GB).
#[test]
fn a_long_terraform_block_name_above_many_attributes_is_located_at_the_block() {
    let mut text = format!(
        "resource \"aws_s3_bucket\" \"b\" {{\n  {} {{\n",
        "n".repeat(300_000)
    );
    for i in 0..60_000 {
        writeln!(text, "a{i}=1").unwrap();
    }
    text.push_str("  }\n}\n");
    let run = check(&[("a.tf", EBS), ("b.tf", &text)]);
    run.assert_ended(1);
    assert!(run.has_finding("aws-ebs-volume-unencrypted"));
    let notes = run.messages("notes");
    assert!(
        notes.iter().any(|m| m.contains("longer than 4096 bytes")),
        "{notes:?}"
    );
    // Naming the block in a few words, not in 300 KB.
    assert!(notes.iter().all(|m| m.len() < 500), "{notes:?}");
}
