//! The HTML inspection report in a real browser: headless Chromium loads
//! the page `provcheck inspect` wrote for a tree with hostile names, runs
//! its script and dumps the DOM. The matrix must be there, the hostile text
//! must stay text, and the page's own script must have run.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium` package; `.ci/run`
//! installs it). Without it the test fails under CI and is skipped with a
//! note elsewhere.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

const HOSTILE_TF: &str = r#"resource "aws_db_instance" "x" {
  identifier     = "<img src=x onerror=document.body.setAttribute('data-pwned','1')>"
  engine         = "<script>document.body.setAttribute('data-pwned','3')</script>\"'"
  instance_class = "db.t3.micro"
  tags = {
    owner = "<script>document.body.setAttribute('data-pwned','2')</script>"
  }
}

resource "aws_db_instance" "plain" {
  identifier     = "plain"
  engine         = "postgres"
  instance_class = "db.t3.micro"
}
"#;

/// A service name with quotes: it lands in `data-store="…"` attributes.
const HOSTILE_COMPOSE: &str = r#"services:
  'db" onmouseover="document.body.setAttribute(''data-pwned'',''4'')':
    image: postgres:16
"#;

fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    path.exists().then_some(path)
}

/// Runs provcheck inspect on `tree`, writing `output` in `format`.
fn inspect(tree: &Path, format: &str, output: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .arg("inspect")
        .arg(tree)
        .args(["--format", format, "--output"])
        .arg(output)
        .status()
        .expect("run provcheck");
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "provcheck inspect --format {format} failed: {status}"
    );
}

/// The DOM of `page` after load, as headless Chromium serializes it. The
/// browser is killed after [`BROWSER_TIMEOUT`].
fn dump_dom(browser: &Path, page: &Path, scratch: &Path) -> String {
    let profile = scratch.join("profile");
    let out_path = scratch.join("dom.html");
    let err_path = scratch.join("chromium.log");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create dom.html"))
        .stderr(File::create(&err_path).expect("create chromium.log"))
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_TIMEOUT:?}; its log:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = std::fs::read_to_string(&out_path).expect("read the dumped DOM");
    assert!(
        status.success() && !dom.is_empty(),
        "chromium failed ({status}); its log:\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    dom
}

/// The start tag of the first `<name` element in `dom`.
fn start_tag<'d>(dom: &'d str, name: &str) -> &'d str {
    let at = dom
        .find(&format!("<{name}"))
        .unwrap_or_else(|| panic!("no <{name}> in the DOM"));
    let end = dom[at..].find('>').map_or(dom.len(), |e| at + e + 1);
    &dom[at..end]
}

/// Every start tag in a serialized DOM. Text and attribute values escape
/// `<` and `>`, so a raw `<` always opens markup.
fn start_tags(dom: &str) -> impl Iterator<Item = &str> {
    dom.match_indices('<').filter_map(move |(at, _)| {
        let rest = &dom[at..];
        let first = rest[1..].chars().next()?;
        first
            .is_ascii_alphabetic()
            .then(|| &rest[..rest.find('>').map_or(rest.len(), |e| e + 1)])
    })
}

#[test]
fn report_renders_in_chromium_and_keeps_hostile_text_inert() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{CHROMIUM} is missing: CI must install Debian's chromium package \
                 (.ci/run does) to run the browser test"
            );
        }
        eprintln!(
            "note: {CHROMIUM} not found; skipping the browser test (apt-get install chromium)"
        );
        return;
    };

    let dir = tempfile::tempdir().expect("temporary folder");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("app")).unwrap();
    std::fs::create_dir_all(tree.join("compose")).unwrap();
    std::fs::write(tree.join("app/main.tf"), HOSTILE_TF).unwrap();
    std::fs::write(tree.join("compose/compose.yaml"), HOSTILE_COMPOSE).unwrap();

    let page = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    inspect(&tree, "html", &page);
    inspect(&tree, "json", &json);
    let model: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    let html = std::fs::read_to_string(&page).unwrap();
    for forbidden in ["<script src", "<link", "@import", "url(http", "src=\"http"] {
        assert!(
            !html.contains(forbidden),
            "the page must be self-contained, found {forbidden:?}"
        );
    }

    let dom = dump_dom(&browser, &page, dir.path());

    // The inline script ran: JavaScript was live, so the checks below
    // would have caught an injected script.
    assert!(
        start_tag(&dom, "html").contains(r#"data-enhanced="1""#),
        "the report's script did not run: {}",
        start_tag(&dom, "html")
    );
    let body = start_tag(&dom, "body");
    assert!(!body.contains("data-pwned"), "injected markup ran: {body}");
    assert!(!dom.contains("<img"), "an injected <img> became an element");
    assert!(
        !dom.contains("<script>document.body"),
        "an injected <script> became an element"
    );

    // Hostile values are shown, as text.
    assert!(
        dom.contains("&lt;script&gt;document.body.setAttribute('data-pwned','3')&lt;/script&gt;"),
        "the engine value is not shown as text"
    );
    assert!(
        dom.contains("&lt;img src=x onerror=document.body.setAttribute('data-pwned','1')&gt;"),
        "the identifier is not shown as text in the finding snippets"
    );
    // A quote in a service name cannot close an attribute: the value
    // stays whole, and no element gained an event handler.
    assert!(
        dom.contains(r#"<tr data-store="compose:db&quot; onmouseover=&quot;document.body"#),
        "the hostile service name is not kept whole in data-store"
    );
    for tag in start_tags(&dom) {
        assert!(
            !tag.contains(r#"onmouseover=""#) && !tag.starts_with("<img"),
            "injected markup: {tag}"
        );
    }
    assert_eq!(
        start_tags(&dom)
            .filter(|t| t.starts_with("<script"))
            .count(),
        1,
        "only the report's own script"
    );

    // One matrix row per data store, with a cell per control.
    let stores = model["data_stores"].as_array().unwrap();
    assert!(stores.len() >= 3, "{stores:?}");
    for address in ["aws_db_instance.x", "aws_db_instance.plain"] {
        assert!(
            dom.contains(&format!(r#"<tr data-store="{address}""#)),
            "no matrix row for {address}"
        );
    }
    assert_eq!(dom.matches("<tr data-store=").count(), stores.len());
    assert_eq!(
        dom.matches(r#"<td class="cell" data-control="#).count(),
        // Six protection controls and ePHI placement.
        stores.len() * 7,
        "a cell per control and data store"
    );

    // The unencrypted database fails encryption at rest, and the cell
    // links to the finding it cites.
    let plain = stores
        .iter()
        .find(|s| s["address"] == "aws_db_instance.plain")
        .unwrap();
    let cell = &plain["controls"]["encryption-at-rest"];
    assert_eq!(cell["verdict"], "fail");
    assert!(
        dom.contains(r#"<td class="cell" data-control="encryption-at-rest" data-verdict="fail">"#)
    );
    for fingerprint in cell["findings"].as_array().unwrap() {
        let fingerprint = fingerprint.as_str().unwrap();
        assert!(dom.contains(&format!(r##"href="#{fingerprint}""##)));
        let id = format!(r#" id="{fingerprint}""#);
        assert!(
            start_tags(&dom).any(|t| t.starts_with("<article") && t.contains(&id)),
            "no finding card with id {fingerprint}"
        );
    }

    // Every section is there, in order.
    let mut at = 0;
    for section in [
        "summary",
        "matrix",
        "exposure",
        "ephi",
        "inventory",
        "clauses",
        "accepted-risks",
        "checklist",
        "findings",
    ] {
        let found = dom[at..]
            .find(&format!(r#"id="{section}""#))
            .unwrap_or_else(|| panic!("section {section} missing or out of order"));
        at += found;
    }
}
