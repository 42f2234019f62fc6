//! Hostile input from an untrusted pull request: no file under 1 MiB may
//! make a run take more than 10 seconds or 1 GiB, and no report may print
//! a byte from the scanned files that it did not escape. Each reproducer
//! is generated here; each run is the binary, under an address-space limit
//! where `prlimit` exists, timed, and killed if it hangs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bar, in a debug build on a shared two-core machine.
const TIME_LIMIT: Duration = Duration::from_secs(10);
/// When a run is killed: well past the bar, so a failure says how slow.
const KILL_AFTER: Duration = Duration::from_secs(60);
const MEMORY_LIMIT: u64 = 1 << 30;

/// Runs are timed one at a time: parallel tests would time each other.
static SERIAL: Mutex<()> = Mutex::new(());

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    /// Asserts the exit code and the time bound.
    fn expect(&self, code: i32) -> &Run {
        eprintln!("took {:?}", self.took);
        assert!(
            self.took < TIME_LIMIT,
            "took {:?} (limit {TIME_LIMIT:?})\n{}",
            self.took,
            tail(&self.stderr)
        );
        assert_eq!(
            self.code,
            Some(code),
            "stderr: {}\nstdout: {}",
            tail(&self.stderr),
            tail(&self.stdout)
        );
        self
    }
}

fn tail(text: &str) -> &str {
    let cut = text.len().saturating_sub(2000);
    let cut = (cut..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[cut..]
}

fn has_prlimit() -> bool {
    Command::new("prlimit")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `provcheck ARGS`, from `dir`, with at most 1 GiB of address space.
fn provcheck(dir: &Path, args: &[&str]) -> Run {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let binary = env!("CARGO_BIN_EXE_provcheck");
    let mut command = if has_prlimit() {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={MEMORY_LIMIT}")).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    let out_file = dir.join(".stdout");
    let err_file = dir.join(".stderr");
    let started = Instant::now();
    let mut child = command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .spawn()
        .expect("the binary starts");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    Run {
        code: status.and_then(|s| s.code()),
        stdout: read(&out_file),
        stderr: read(&err_file),
        took,
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    assert!(text.len() < 1 << 20, "{name} is {} bytes", text.len());
    std::fs::write(path, text).unwrap();
}

const UNENCRYPTED: &str =
    "resource \"aws_ebs_volume\" \"v\" {\n  count = 2000\n  encrypted = false\n}\n";

// ---- quadratic paths ----

#[test]
fn many_suppression_comments_are_read_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let line = "# provcheck:ignore aws-ebs-volume-unencrypted status=unused reason=x\n";
    let comments = (1 << 20) / line.len() - 2;
    let mut text = line.repeat(comments);
    text.push_str(UNENCRYPTED);
    write(dir.path(), "src/main.tf", &text);
    let run = provcheck(dir.path(), &["check", "--format", "json", "src"]);
    run.expect(1);
    // The first comment silences the 2,000 findings; the others are unused.
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let suppressed = report["suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 2000);
    assert_eq!(suppressed[0]["suppression"]["line"], 1);
    let unused: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "provcheck-suppression-unused")
        .collect();
    assert_eq!(unused.len(), comments - 1);
    assert!(unused
        .iter()
        .all(|f| f["resource"] == "aws_ebs_volume.v[0]"));
}

#[test]
fn comments_above_a_counted_block_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "#\n".repeat(50_000);
    text.push_str("# policy: data_classification=ephi\n");
    text.push_str(&UNENCRYPTED.replace("2000", "10000"));
    write(dir.path(), "main.tf", &text);
    provcheck(dir.path(), &["check", "--format", "compact", "."]).expect(1);
}

#[test]
fn the_human_report_reads_only_the_lines_it_shows() {
    // 1,500 instances, 4,500 findings, below 40,000 lines of a heredoc.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("locals {\n  filler = <<EOT\n");
    text.push_str(&"filler line\n".repeat(40_000));
    text.push_str("EOT\n}\n\n");
    text.push_str(&UNENCRYPTED.replace("2000", "1500"));
    write(dir.path(), "main.tf", &text);
    let run = provcheck(dir.path(), &["check", "."]);
    run.expect(1);
    assert!(
        run.stdout.contains("40008 │   encrypted = false"),
        "{}",
        tail(&run.stdout)
    );
}

#[test]
fn a_finding_on_a_huge_line_shows_a_piece_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let padding = "x".repeat(900_000);
    write(
        dir.path(),
        "main.tf",
        &format!(
            "resource \"aws_ebs_volume\" \"v\" {{\n  count = 500\n  tags = {{ pad = \"{padding}\" }}\n  encrypted = false\n}}\n"
        ),
    );
    let run = provcheck(dir.path(), &["check", "."]);
    run.expect(1);
    // Each snippet line is cut to a window, not 900 kB per finding.
    assert!(run.stdout.len() < 20 << 20, "{} bytes", run.stdout.len());
    assert!(run.stdout.contains("…"));
}

// ---- escaping ----

/// Characters that must never reach a text report raw.
fn raw_controls(text: &str) -> Vec<(usize, char)> {
    text.char_indices()
        .filter(|&(_, c)| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// A tree whose names, labels, tags, comments and values hold terminal
/// sequences, line breaks and bidirectional overrides.
fn hostile_tree(dir: &Path) -> String {
    let name =
        "x\nfake.tf:1:1: critical forged \u{1b}[31mred\u{1b}]8;;http:e.example\u{7}\u{202e}.tf";
    write(
        dir,
        name,
        "resource \"aws_ebs_volume\" \"v\\u001b[2J\\r\\n\\u202e\" {\n  encrypted = false # \u{1b}[2J\u{1b}]8;;http://e.example/\u{7}\u{202e}\n  tags = { owner = \"a\\nb\\u0007\", approved_by = \"\\u001b[31m\" }\n}\n# provcheck:ignore aws-ebs-volume-unencrypted status=unused reason=\"\u{1b}[2J\u{202e}\"\nresource \"aws_s3_bucket\" \"b\" {\n}\n",
    );
    write(
        dir,
        "k8s/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"web\\e[31m\\u202e\"\n  labels:\n    app: \"x\\ny\\a\"\nspec:\n  containers:\n    - name: \"c\\r\\nforged: line\"\n      image: \"nginx\\e]8;;x\\a\"\n      securityContext:\n        privileged: true\n",
    );
    write(
        dir,
        "compose/docker-compose.yml",
        "services:\n  \"db\\e[2J\":\n    image: \"postgres:16\\u202e\"\n    ports: [\"5432:5432\"]\n    labels:\n      role: \"database\\r\"\n",
    );
    write(
        dir,
        "docker/Dockerfile",
        "FROM alpine\nLABEL owner=\"\u{1b}[31m\u{202e}\"\nRUN apk add openssh \u{1b}]8;;x\u{7}\nUSER root\n",
    );
    write(
        dir,
        "broken/main.tf",
        "resource \"a\" {\n  \u{1b}[31m = = \u{202e}\n",
    );
    name.to_string()
}

#[test]
fn no_text_report_prints_a_raw_control_character() {
    let dir = tempfile::tempdir().unwrap();
    hostile_tree(dir.path());
    for format in ["human", "compact", "github", "markdown", "junit"] {
        let run = provcheck(dir.path(), &["check", "--format", format, "."]);
        run.expect(2);
        let raw = raw_controls(&run.stdout);
        assert!(raw.is_empty(), "{format}: {raw:?}\n{}", run.stdout);
        assert!(
            raw_controls(&run.stderr).is_empty(),
            "{format}: {}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("\nfake.tf"),
            "{format}:\n{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("\nforged: line"),
            "{format}:\n{}",
            run.stdout
        );
        if format == "github" {
            // One workflow command a line, none forged.
            assert!(
                run.stdout.lines().all(|l| l.starts_with("::")),
                "{}",
                run.stdout
            );
            assert!(
                run.stdout
                    .contains("file=x\\u{a}fake.tf%3A1%3A1%3A critical"),
                "{}",
                run.stdout
            );
        }
    }
    // With colour, the only escape sequences are the renderer's own.
    let run = provcheck(dir.path(), &["check", "--color", "always", "."]);
    assert!(!run.stdout.contains("\u{1b}[2J") && !run.stdout.contains("\u{1b}]8"));
    assert!(!run.stdout.contains('\u{202e}') && !run.stdout.contains('\u{7}'));
}

#[test]
fn every_compact_record_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let name = hostile_tree(dir.path());
    let run = provcheck(dir.path(), &["check", "--format", "compact", "."]);
    run.expect(2);
    let json = provcheck(dir.path(), &["check", "--format", "json", "."]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let count = |key: &str| report[key].as_array().map_or(0, Vec::len);
    let records = count("findings") + count("suppressed") + count("errors");
    assert_eq!(run.stdout.lines().count(), records, "{}", run.stdout);
    let shown = "x\\u{a}fake.tf:1:1: critical forged \\u{1b}[31mred\\u{1b}]8;;http:e.example\\u{7}\\u{202e}.tf";
    assert!(run.stdout.contains(shown), "{}", run.stdout);
    // JSON keeps the name as it is.
    assert!(json
        .stdout
        .contains(&serde_json::to_string(&name).unwrap()[1..20]));
}

#[test]
fn the_inspection_markdown_escapes_what_it_quotes() {
    let dir = tempfile::tempdir().unwrap();
    hostile_tree(dir.path());
    write(
        dir.path(),
        "infra/db.tf",
        "resource \"aws_db_instance\" \"a```<img src=x onerror=alert(1)>|b\" {\n  storage_encrypted = false\n  tags = {\n    environment = \"<script>alert(1)</script> | x\\r\\n## forged\"\n  }\n}\n",
    );
    let run = provcheck(
        dir.path(),
        &[
            "inspect",
            "--format",
            "markdown",
            "-o",
            "report.md",
            "--title",
            "T <b>|</b>",
            ".",
        ],
    );
    run.expect(2);
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(raw_controls(&report).is_empty(), "{report}");
    assert!(
        !report.contains("<script>") && !report.contains("<b>"),
        "{report}"
    );
    assert!(!report.contains("\n## forged"), "{report}");
    // The address stays in one code span whose fence outruns its backticks.
    assert!(
        report.contains("````aws_db_instance.a```<img src=x onerror=alert(1)>\\|b````"),
        "{report}"
    );
    // Every row of a table has as many cells as its header.
    let mut columns = 0;
    for line in report.lines() {
        if !line.starts_with('|') {
            columns = 0;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        if columns == 0 {
            columns = cells;
        }
        assert_eq!(cells, columns, "{line}");
    }
}

// ---- expansion ----

#[test]
fn doubling_an_env_value_stops_at_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("FROM alpine\nENV A=0123456789abcdef\n");
    text.push_str(&"ENV A=$A$A\n".repeat(40));
    text.push_str("LABEL big=$A\nUSER root\n");
    write(dir.path(), "Dockerfile", &text);
    let run = provcheck(dir.path(), &["check", "--format", "json", "."]);
    run.expect(2);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["span"]["start"]["line"], 15);
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("`ENV`") && message.contains("64 KiB"),
        "{message}"
    );
    // The stage is still checked.
    assert_eq!(report["summary"]["resources"], 1);
}

#[test]
fn chained_and_wide_stages_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 3,000 stages, each built from the last and adding to it.
    let mut text = String::from("FROM alpine AS s0\n");
    for i in 1..3000 {
        text.push_str(&format!(
            "FROM s{} AS s{i}\nENV V{i}=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\nRUN apk add curl\n",
            i - 1
        ));
    }
    write(dir.path(), "chain/Dockerfile", &text);
    // 3,000 stages built from one that holds 500 kB.
    let mut text = String::from("FROM alpine AS big\n");
    text.push_str(
        &"ENV X=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
            .repeat(6000),
    );
    text.push_str(&"FROM big\n".repeat(3000));
    write(dir.path(), "wide/Dockerfile", &text);
    let run = provcheck(dir.path(), &["check", "--format", "compact", "."]);
    run.expect(2);
    let spent: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("error `FROM`") && l.contains("16 MiB"))
        .collect();
    assert_eq!(spent.len(), 2, "{spent:?}");
}

#[test]
fn a_dotenv_that_doubles_itself_stops_at_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = String::from("A=0123456789abcdef\n");
    env.push_str(&"A=${A}${A}\n".repeat(40));
    write(dir.path(), ".env", &env);
    write(
        dir.path(),
        "docker-compose.yml",
        "services:\n  web:\n    image: \"nginx:${A:-1.27}\"\n",
    );
    let run = provcheck(dir.path(), &["check", "--format", "json", "."]);
    run.expect(2);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("line 14: ") && message.contains("64 KiB"),
        "{message}"
    );
    assert_eq!(errors[0]["file"], ".env");
}

#[test]
fn deeply_nested_defaults_stop_at_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}x{}", "${A:-".repeat(50_000), "}".repeat(50_000));
    write(
        dir.path(),
        "docker-compose.yml",
        &format!(
            "services:\n  web:\n    image: \"{deep}\"\n    environment:\n      B: \"${{A:-${{A:-${{A:-ok}}}}}}\"\n"
        ),
    );
    let run = provcheck(dir.path(), &["check", "--format", "json", "."]);
    run.expect(2);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["span"]["start"]["line"], 3);
    assert!(errors[0]["message"].as_str().unwrap().contains("32 deep"));
}

// ---- user rules ----

/// A user rule over EBS volumes asserting `schema`.
fn user_rule(dir: &Path, id: &str, schema: &serde_json::Value) {
    let name = id.trim_start_matches("user-");
    write(
        dir,
        &format!("rules/user/{name}.yaml"),
        &format!(
            "id: {id}\ntitle: T\nseverity: low\ncategory: approval\ncontrols: [\"CMP 8.2.1\"]\n\
             target: terraform\nresource_types: [aws_ebs_volume]\ndescription: D\nmessage: M\n\
             remediation: R\nassert: {schema}\nexamples:\n  pass:\n    - |\n      \
             resource \"aws_ebs_volume\" \"v\" {{\n      }}\n  fail:\n    - line: 1\n      \
             code: |\n        resource \"aws_ebs_volume\" \"v\" {{\n        }}\n"
        ),
    );
}

#[test]
fn a_rule_whose_schema_would_blow_up_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut defs = serde_json::Map::new();
    for i in 0..40 {
        let next = serde_json::json!({"$ref": format!("#/$defs/d{}", i + 1)});
        defs.insert(format!("d{i}"), serde_json::json!({"anyOf": [next, next]}));
    }
    defs.insert("d40".into(), serde_json::json!({"type": "integer"}));
    let schema = serde_json::json!({"$defs": defs, "properties": {"tags": {"$ref": "#/$defs/d0"}}});
    user_rule(dir.path(), "user-exponential-any-of", &schema);
    write(
        dir.path(),
        "src/main.tf",
        "resource \"aws_ebs_volume\" \"v\" {\n  tags = { a = \"x\" }\n}\n",
    );
    let run = provcheck(dir.path(), &["check", "--rules", "rules", "src"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("rule `user-exponential-any-of`: invalid `assert` schema")
            && run.stderr.contains("too large"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pattern_that_needs_backtracking_is_refused_by_name() {
    // A backreference after nested quantifiers: a backtracking engine
    // takes about a million steps a resource on this.
    let dir = tempfile::tempdir().unwrap();
    let schema = serde_json::json!({
        "properties": {"description": {"pattern": "^(a|a)*(a+)+\\1$"}}
    });
    user_rule(dir.path(), "user-backtracking-pattern", &schema);
    let text: String = (0..200)
        .map(|i| {
            format!(
                "resource \"aws_ebs_volume\" \"v{i}\" {{\n  encrypted = true\n  description = \"{}!\"\n}}\n",
                "a".repeat(30)
            )
        })
        .collect();
    write(dir.path(), "src/main.tf", &text);
    let run = provcheck(dir.path(), &["check", "--rules", "rules", "src"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("rule `user-backtracking-pattern`: invalid `assert` schema"),
        "{}",
        run.stderr
    );
}

#[test]
fn positions_on_a_megabyte_line_are_found_quickly() {
    // 4,000 pods in flow style on one line, with a wide character in each.
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..4000)
        .map(|i| {
            format!(
                "{{apiVersion: v1, kind: Pod, metadata: {{name: pé{i}}}, spec: {{containers: [{{name: c, image: nginx, securityContext: {{privileged: true}}}}]}}}}"
            )
        })
        .collect();
    let text = format!(
        "{{apiVersion: v1, kind: List, items: [{}]}}\n",
        items.join(",")
    );
    write(dir.path(), "list.yaml", &text);
    let run = provcheck(dir.path(), &["check", "--format", "json", "."]);
    run.expect(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["resources"], 4000);
    // The last pod's findings point at its metadata, by character column.
    let at = text.rfind("metadata: {name: pé3999").unwrap();
    let column = text[..at].chars().count() + 1;
    let last = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["resource"]
                .as_str()
                .is_some_and(|r| r.ends_with("pé3999"))
        })
        .unwrap();
    assert_eq!(last["span"]["start"]["column"], column);
}
