//! The HTML inspection report in a real browser: headless Chromium loads
//! the page `provcheck inspect` wrote for a tree with hostile names, runs
//! its script and dumps the DOM. The matrix must be there, the hostile text
//! must stay text, and the page's own script must have run. A second test
//! lays the report of the fixtures out at 1280 px and measures it from a
//! probe script: no table wider than its box, every in-page link lands on
//! an element, the table of contents scrolls each section into view below
//! the sticky bar, and each section's count agrees with its rows.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium` package; `.ci/run`
//! installs it). Without it the tests fail, unless `PROVCHECK_SKIP_BROWSER=1`
//! is set: then they are skipped, with a note.

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
    inspect_all(&[tree], format, output);
}

/// A configuration beside `output` naming the parity fixtures as
/// environments, so that the page has its Environment parity section.
fn parity_config(output: &Path) -> PathBuf {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity");
    let config = output.with_file_name("provcheck-parity.yaml");
    std::fs::write(
        &config,
        format!(
            "environments:\n  staging: '{}'\n  production: '{}'\n",
            data.join("staging").display(),
            data.join("production").display()
        ),
    )
    .unwrap();
    config
}

/// Runs provcheck inspect on `trees`, writing `output` in `format`.
fn inspect_all(trees: &[&Path], format: &str, output: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .arg("inspect")
        .args(trees)
        .arg("--config")
        .arg(parity_config(output))
        .args(["--format", format, "--output"])
        .arg(output)
        .status()
        .expect("run provcheck");
    // 2: some files could not be read (the fixtures hold broken ones);
    // the report is written all the same.
    assert!(
        matches!(status.code(), Some(0..=2)) && output.metadata().is_ok_and(|m| m.len() > 0),
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
            "--hide-scrollbars",
            "--window-size=1280,900",
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

/// The browser, or `None` when `PROVCHECK_SKIP_BROWSER=1` asks to skip
/// the browser tests (with a note saying so). Without that, a missing
/// Chromium fails the test: a suite that passes without having looked at
/// the page would say nothing about it.
fn browser_or_skip() -> Option<PathBuf> {
    if std::env::var_os("PROVCHECK_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("note: PROVCHECK_SKIP_BROWSER=1: skipped the browser test");
        return None;
    }
    let found = chromium();
    assert!(
        found.is_some(),
        "{CHROMIUM} is missing: install Debian's chromium package (.ci/run does), \
         or set PROVCHECK_SKIP_BROWSER=1 to skip the browser tests"
    );
    found
}

#[test]
fn report_renders_in_chromium_and_keeps_hostile_text_inert() {
    let Some(browser) = browser_or_skip() else {
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
        "parity",
        "findings",
        "undecided",
    ] {
        let found = dom[at..]
            .find(&format!(r#"id="{section}""#))
            .unwrap_or_else(|| panic!("section {section} missing or out of order"));
        at += found;
    }
}

/// Measures the laid-out page and writes what it found, as JSON, into a
/// `<pre id="probe">` that the dumped DOM carries.
const PROBE: &str = r##"<script>
(function () {
  "use strict";
  var out = { page: [document.documentElement.scrollWidth, window.innerWidth],
              wide: [], clipped: [], broken: [], anchors: [], counts: [] };
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var name = function (t) { return t.id || t.getAttribute("data-filter") || "table"; };
  each(document.querySelectorAll("table"), function (t) {
    var box = t.parentElement.getBoundingClientRect();
    var own = t.getBoundingClientRect();
    if (own.right > box.right + 1 || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1) {
      out.wide.push(name(t) + ": " + Math.round(own.width) + " px in " + Math.round(box.width));
    }
    each(t.querySelectorAll("td, th"), function (c) {
      if (c.scrollWidth > c.clientWidth + 1) {
        out.clipped.push(name(t) + ": " + c.textContent.trim().slice(0, 60));
      }
    });
  });
  each(document.querySelectorAll("a[href^='#']"), function (a) {
    var id = decodeURIComponent(a.getAttribute("href").slice(1));
    if (!document.getElementById(id)) { out.broken.push(id); }
  });
  var nav = document.querySelector("nav.toc");
  each(nav.querySelectorAll("a"), function (a) {
    var id = a.getAttribute("href").slice(1);
    window.scrollTo(0, 0);
    location.hash = "#" + id;
    var target = document.getElementById(id);
    out.anchors.push({ id: id, found: !!target, y: window.scrollY,
                       top: target ? target.getBoundingClientRect().top : -1,
                       bar: nav.getBoundingClientRect().bottom, view: window.innerHeight });
  });
  var rows = function (sel) { return document.querySelectorAll(sel).length; };
  var count = function (sel) {
    var el = document.querySelector(sel);
    return el ? parseInt(el.textContent, 10) : -1;
  };
  var paren = function (sel) {
    var el = document.querySelector(sel);
    return el ? parseInt(el.textContent.replace("(", ""), 10) : -1;
  };
  out.counts = [
    ["matrix", count("#matrix h2 .count"), rows("#matrix-table tbody tr")],
    ["exposure", count("#exposure h2 .count"), rows("#exposure-table tbody tr")],
    ["ephi", count("#ephi h2 .count"), rows("#ephi-table tbody tr")],
    ["clauses", count("#clauses h2 .count"), rows("#clauses-table tbody tr")],
    ["accepted-risks", count("#accepted-risks h2 .count"), rows("#accepted-table tbody tr")],
    ["silenced", paren("#silenced .sub"), rows("#silenced-table tbody tr")],
    ["parity", count("#parity h2 .count"), rows("#parity-table tbody tr")],
    ["findings", count("#findings h2 .count"), rows("#finding-list > article")],
    ["undecided-controls", count("#undecided h2 .count"), rows("#undecided-controls-table tbody tr")],
    ["undecided-results", paren("#undecided-results .sub"), rows("#undecided-list > article")]
  ];
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"##;

/// A module with a long address and a long path, so that wrapping is
/// tested on more than the fixtures' short names.
const LONG_NAMES_TF: &str = r#"resource "aws_db_instance" "a_database_instance_with_a_name_far_longer_than_any_column_is_wide_x" {
  identifier     = "long"
  engine         = "postgres"
  instance_class = "db.t3.micro"
}
"#;

#[test]
fn report_fits_1280_px_and_its_links_land() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary folder");
    let deep = dir
        .path()
        .join("tree/an-unusually-long-folder-name-for-an-environment/with-a-nested-module-folder");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("a_file_name_that_is_long_too.tf"), LONG_NAMES_TF).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");

    let page = dir.path().join("report.html");
    inspect_all(&[&fixtures, &dir.path().join("tree")], "html", &page);
    let html = std::fs::read_to_string(&page).unwrap();
    let at = html.rfind("</body>").expect("a body");
    let probed = dir.path().join("probed.html");
    std::fs::write(&probed, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();

    let dom = dump_dom(&browser, &probed, dir.path());
    let start =
        dom.find(r#"<pre id="probe">"#).expect("the probe ran") + r#"<pre id="probe">"#.len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let probe: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));

    let page_width = &probe["page"];
    assert!(
        page_width[0].as_f64() <= page_width[1].as_f64(),
        "the page scrolls sideways at 1280 px: {page_width}"
    );
    assert_eq!(
        probe["wide"],
        Value::Array(vec![]),
        "tables wider than their box"
    );
    assert_eq!(
        probe["clipped"],
        Value::Array(vec![]),
        "cells whose content is cut"
    );
    assert_eq!(probe["broken"], Value::Array(vec![]), "links to no element");

    let anchors = probe["anchors"].as_array().unwrap();
    assert!(anchors.len() >= 10, "{anchors:?}");
    for a in anchors {
        assert_eq!(a["found"], true, "{a}");
        let (top, bar, view) = (
            a["top"].as_f64().unwrap(),
            a["bar"].as_f64().unwrap(),
            a["view"].as_f64().unwrap(),
        );
        assert!(
            top >= bar - 1.0 && top < view,
            "section {} is not shown below the bar after its link: {a}",
            a["id"]
        );
    }
    // The sections further down really scrolled.
    assert!(
        anchors.iter().any(|a| a["y"].as_f64() > Some(0.0)),
        "{anchors:?}"
    );

    for c in probe["counts"].as_array().unwrap() {
        assert_eq!(
            c[1], c[2],
            "section {} says {} but shows {} rows",
            c[0], c[1], c[2]
        );
    }
    // The fixtures hold findings, accepted risks and undecided results,
    // so the counts above compared something.
    let counted = |name: &str| {
        probe["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == name)
            .and_then(|c| c[2].as_u64())
            .unwrap()
    };
    for name in [
        "matrix",
        "parity",
        "findings",
        "accepted-risks",
        "undecided-controls",
        "undecided-results",
    ] {
        assert!(counted(name) > 0, "no rows in {name}");
    }
}
