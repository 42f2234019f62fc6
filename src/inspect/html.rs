//! The inspection report as one self-contained HTML page, rendered by
//! askama from `templates/report/` with HTML escaping: every value read
//! from scanned files reaches the page as text. The templates are compiled
//! into the binary and checked against the types below at build time. This
//! file only computes what they show beside the [`Model`] (counts, the
//! chart's geometry, source snippets); it writes no markup.
//!
//! The long lists (matrix, exposure, inventory and checklist rows, finding
//! cards) are rendered in chunks, in parallel, from borrowed data; the page
//! template places the rendered chunks and is written straight to the
//! output, so a report of 20,000 findings (some 50 MB) is never copied
//! into one string.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write as _};

use askama::Template;
use foldhash::{HashMap, HashSet};
use rayon::prelude::*;

use super::exposure::Exposure;
use super::{
    AcceptedRisk, Call, Clause, DataStore, Item, Kind, Model, Problem, Step, SystemVerdict,
    CONTROLS,
};
use crate::finding::Finding;
use crate::output::json::{JsonFinding, JsonSuppressed};
use crate::source::{LineIndex, SourceFile, Span};
use crate::Report;

/// Lines of context shown above and below a finding.
const CONTEXT_LINES: usize = 2;
/// At most this many lines in a snippet.
const SNIPPET_LINES: usize = 12;
/// Characters of a source line shown before it is cut.
const LINE_CHARS: usize = 240;
/// At most this many clauses in the summary chart.
const CHART_BARS: usize = 40;
/// Rows or cards rendered as one piece of work.
const CHUNK: usize = 400;
/// Chunks rendered at once, in parallel, before they are written: the
/// page (678 MB for a 100,000-file tree) is never held whole.
const WINDOW: usize = 16;

/// A long list of the page, rendered a window of chunks at a time as the
/// page is written.
struct Parts<'a> {
    /// How many chunks.
    count: usize,
    render: Box<dyn Fn(usize) -> askama::Result<String> + Sync + 'a>,
}

impl<'a> Parts<'a> {
    /// `len` items in chunks of [`CHUNK`], each rendered by `render` from
    /// its range of indices.
    fn chunked<F>(len: usize, render: F) -> Parts<'a>
    where
        F: Fn(std::ops::Range<usize>) -> askama::Result<String> + Sync + 'a,
    {
        Parts {
            count: len.div_ceil(CHUNK),
            render: Box::new(move |i| {
                let start = i.saturating_mul(CHUNK).min(len);
                render(start..start.saturating_add(CHUNK).min(len))
            }),
        }
    }

    /// `items` in chunks of [`CHUNK`], each rendered by `render`.
    fn of<T, F>(items: &'a [T], render: F) -> Parts<'a>
    where
        T: Sync,
        F: Fn(&[T]) -> askama::Result<String> + Sync + 'a,
    {
        Parts::chunked(items.len(), move |range| {
            render(items.get(range).unwrap_or_default())
        })
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl std::fmt::Display for Parts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for start in (0..self.count).step_by(WINDOW) {
            let end = start.saturating_add(WINDOW).min(self.count);
            let window: Vec<askama::Result<String>> = (start..end)
                .into_par_iter()
                .map(|i| (self.render)(i))
                .collect();
            for part in window {
                f.write_str(&part.map_err(|_| std::fmt::Error)?)?;
            }
        }
        Ok(())
    }
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const KINDS: [Kind; 4] = [Kind::DataStore, Kind::Compute, Kind::Network, Kind::Other];

/// Renders `model` (built from `report`) as HTML.
pub fn render(model: &Model<'_>, report: &Report) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, nor can the templates, which are
    // checked at build time and only print values.
    let _ = write(model, report, &mut out);
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Writes `model` (built from `report`) as HTML to `out`.
pub fn write(model: &Model<'_>, report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    page(model, report, &mut out)?;
    out.flush()
}

/// A verdict as the page shows it: a class for its colour, a symbol and a
/// label, so that it reads without colour too.
#[derive(Clone, Copy)]
struct Verdict {
    cls: &'static str,
    sym: &'static str,
    label: &'static str,
}

impl Verdict {
    fn of(name: &str) -> Verdict {
        let (cls, sym, label) = match name {
            "pass" => ("pass", "✓", "Pass"),
            "fail" => ("fail", "✗", "Fail"),
            "undecided" => ("undecided", "?", "Undecided"),
            "accepted" => ("accepted", "!", "Accepted risk"),
            "n/a" => ("na", "–", "N/A"),
            _ => ("na", "·", "Unknown"),
        };
        Verdict { cls, sym, label }
    }
}

/// The page around the rendered chunks of the long lists.
#[derive(Template)]
#[template(path = "report/page.html", whitespace = "minimize")]
struct Page<'m, 'r> {
    title: &'m str,
    /// The run's provenance, for the masthead and the footer.
    meta: Option<&'m crate::provenance::Meta>,
    summary: Summary,
    chart: Chart,
    errors: &'m [Problem],
    notes: &'m [Problem],
    /// Pass, fail, undecided, n/a.
    legend: [Verdict; 5],
    /// The matrix columns, in order.
    controls: &'m [Control],
    /// Element ids of the policy clauses, by clause.
    clause_ids: &'m HashMap<&'m str, String>,
    /// The `<tr>` chunks of the matrix.
    matrix: Parts<'m>,
    /// The exposure rows.
    exposure: Parts<'m>,
    /// Data stores holding ePHI.
    ephi: Vec<EphiRow<'m>>,
    /// The inventory rows, per kind, data stores first.
    inventory: Vec<Group<'m>>,
    clauses: Vec<ClauseRow<'m>>,
    accepted_risks: &'m [AcceptedRisk],
    /// What fingerprints on the page point at.
    targets: &'m HashMap<&'r str, Target<'r>>,
    suppressed: Vec<SilencedRow<'m, 'r>>,
    /// The checklist rows.
    checklist: Parts<'m>,
    /// Each system's verdict.
    systems: Vec<SystemRow<'m>>,
    /// Environment parity, when environments are configured: the
    /// headline and one row per difference.
    parity: Option<(String, Vec<crate::parity::render::Row>)>,
    /// The finding cards.
    findings: Parts<'m>,
    /// Data-store controls the matrix leaves undecided, with why.
    open_cells: Vec<OpenCell<'m>>,
    /// How many undecided results there are, and their cards.
    undecided_count: usize,
    undecided: Parts<'m>,
}

/// A matrix cell left undecided: what could not be decided and why.
struct OpenCell<'m> {
    address: &'m str,
    file: &'m str,
    line: usize,
    control: String,
    reason: &'m str,
    cites: Vec<(&'m str, Option<Target<'m>>)>,
}

#[derive(Template)]
#[template(path = "report/matrix.html", whitespace = "minimize")]
struct MatrixRows<'a> {
    stores: &'a [StoreRow<'a>],
}

#[derive(Template)]
#[template(path = "report/exposure.html", whitespace = "minimize")]
struct ExposureRows<'a, 'r> {
    rows: &'a [Exposure],
    targets: &'a HashMap<&'r str, Target<'r>>,
}

#[derive(Template)]
#[template(path = "report/inventory.html", whitespace = "minimize")]
struct InventoryRows<'a> {
    items: &'a [&'a Item],
}

#[derive(Template)]
#[template(path = "report/checklist.html", whitespace = "minimize")]
struct ChecklistRows<'a> {
    steps: &'a [StepRow<'a>],
}

#[derive(Template)]
#[template(path = "report/cards.html", whitespace = "minimize")]
struct Cards<'a> {
    cards: &'a [Card<'a>],
    undecided: bool,
    clause_ids: &'a HashMap<&'a str, String>,
}

struct Control {
    key: &'static str,
    label: String,
}

struct Count {
    name: &'static str,
    count: usize,
}

struct SeverityCount {
    name: &'static str,
    label: String,
    count: usize,
}

struct Summary {
    files: usize,
    resources: usize,
    data_stores: usize,
    ephi_stores: usize,
    exposures: usize,
    findings: usize,
    suppressed: usize,
    undecided: usize,
    /// Accepted risks past their expiry date.
    lapsed: usize,
    severities: Vec<SeverityCount>,
    categories: Vec<Count>,
    /// Data stores with at least one failing control.
    failing_stores: usize,
}

struct Chart {
    width: usize,
    height: usize,
    label_width: usize,
    bar_height: usize,
    bars: Vec<Bar>,
    /// Clauses left out of the chart.
    omitted: usize,
}

struct Bar {
    clause: String,
    id: String,
    count: usize,
    y: usize,
    width: usize,
}

struct Group<'m> {
    kind: &'static str,
    label: &'static str,
    count: usize,
    rows: Parts<'m>,
}

/// An ePHI store, its worst verdict, and the labels of the controls it
/// fails, and of those accepted as a risk or undecided.
struct EphiRow<'m> {
    store: &'m DataStore,
    verdict: Verdict,
    failing: Vec<&'m str>,
    open: Vec<(Verdict, &'m str)>,
}

/// A policy clause with its element id and the shares of its verdicts.
struct ClauseRow<'m> {
    clause: &'m Clause,
    id: &'m str,
    total: usize,
    /// Failures per thousand results: the sort key of the share column.
    fail_permille: usize,
    pass_share: String,
    fail_share: String,
    undecided_share: String,
}

/// A silenced finding; the first holder of a fingerprint on the page
/// carries it as element id.
struct SilencedRow<'m, 'r> {
    entry: &'m JsonSuppressed<'r>,
    anchor: bool,
    line: Option<usize>,
}

struct StepRow<'m> {
    step: &'m Step,
    verdict: Verdict,
}

/// A system's verdict as the page shows it.
struct SystemRow<'m> {
    system: &'m SystemVerdict,
    verdict: Verdict,
}

fn system_row(system: &SystemVerdict) -> SystemRow<'_> {
    let (cls, sym, label) = match system.verdict {
        "ready" => ("pass", "✓", "Ready"),
        "not ready" => ("fail", "✗", "Not ready"),
        _ => ("undecided", "?", "Incomplete"),
    };
    SystemRow {
        system,
        verdict: Verdict { cls, sym, label },
    }
}

/// A matrix row: the data store without its map of cells, which come as a
/// list in column order, each with the findings it cites resolved.
struct StoreRow<'m> {
    address: &'m str,
    resource_type: &'m str,
    engine: Option<&'m str>,
    file: &'m str,
    line: usize,
    ephi: bool,
    environment: Option<&'m str>,
    module: &'m [Call],
    backup_retention_days: Option<i64>,
    cells: Vec<CellView<'m>>,
}

struct CellView<'m> {
    /// The control (column).
    key: &'static str,
    verdict: &'m str,
    /// A pass that only names the rules that checked it: shown quietly.
    quiet: bool,
    reason: Option<&'m str>,
    /// (fingerprint, the finding when the page shows it).
    cites: Vec<(&'m str, Option<Target<'m>>)>,
}

/// A finding card: the finding's JSON entry (its line instead of its
/// span), whether it carries its fingerprint as element id (the first
/// holder does), and its snippet.
struct Card<'a> {
    rule_id: &'a str,
    severity: &'static str,
    controls: &'a [String],
    resource: &'a str,
    file: &'a str,
    line: Option<usize>,
    message: &'a str,
    remediation: &'a str,
    fingerprint: &'a str,
    related: Vec<Related<'a>>,
    anchor: bool,
    snippet: Option<Snippet<'a>>,
}

/// Where the offending value of a finding was written, when elsewhere.
struct Related<'a> {
    message: &'a str,
    file: &'a str,
    line: Option<usize>,
}

/// The source around a finding in three runs of whole lines: the context
/// before, the lines the finding covers (split around the exact span), the
/// context after. Line numbers come as text for a gutter beside the code.
/// No run is an empty string and none ends in a line break, so the gutter
/// and the code stay aligned line for line.
#[derive(Debug, PartialEq)]
struct Snippet<'r> {
    gutter_before: Option<String>,
    gutter_hit: String,
    gutter_after: Option<String>,
    before: Option<Cow<'r, str>>,
    lead: Cow<'r, str>,
    mark: Cow<'r, str>,
    tail: Cow<'r, str>,
    after: Option<Cow<'r, str>>,
}

/// A finding the page shows, as a link names it: its rule and line.
#[derive(Clone, Copy)]
struct Target<'r> {
    rule_id: &'r str,
    line: Option<usize>,
}

/// Writes the page to `out`: its long lists are rendered as they are
/// reached, a window of chunks at a time in parallel (see [`Parts`]).
fn page(model: &Model<'_>, report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let controls: Vec<Control> = CONTROLS
        .iter()
        .map(|c| Control {
            key: c,
            label: label(c),
        })
        .collect();
    let clause_ids: HashMap<&str, String> = model
        .clauses
        .iter()
        .map(|c| (c.control.as_str(), clause_id(&c.control)))
        .collect();

    // Element ids must be unique: the first holder of a fingerprint gets it.
    let mut ids: HashSet<&str> = HashSet::default();
    let finding_anchors: Vec<bool> = model
        .findings
        .iter()
        .map(|f| ids.insert(f.fingerprint))
        .collect();
    let suppressed_anchors: Vec<bool> = model
        .suppressed
        .iter()
        .map(|s| ids.insert(s.finding.fingerprint))
        .collect();
    let listed_undecided: &[JsonFinding<'_>] = &model.undecided;
    let undecided_anchors: Vec<bool> = listed_undecided
        .iter()
        .map(|f| ids.insert(f.fingerprint))
        .collect();

    // Only what the page shows can be linked to.
    let mut targets: HashMap<&str, Target<'_>> = HashMap::default();
    for f in listed_undecided
        .iter()
        .chain(model.suppressed.iter().map(|s| &s.finding))
        .chain(model.findings.iter())
    {
        targets.insert(
            f.fingerprint,
            Target {
                rule_id: f.rule_id,
                line: f.span.as_ref().map(|s| s.start.line),
            },
        );
    }

    // The long lists are rendered as the page is written, a window of
    // chunks at a time in parallel.
    let store_rows = |stores: &[DataStore]| {
        let rows: Vec<StoreRow<'_>> = stores.iter().map(|d| store_row(d, &targets)).collect();
        MatrixRows { stores: &rows }.render()
    };
    let matrix = Parts::of(&model.data_stores, store_rows);
    let by_kind: Vec<(Kind, Vec<&Item>)> = KINDS
        .iter()
        .map(|&kind| {
            let items: Vec<&Item> = model.inventory.iter().filter(|i| i.kind == kind).collect();
            (kind, items)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect();
    let inventory: Vec<Group<'_>> = by_kind
        .iter()
        .map(|(kind, items)| Group {
            kind: kind.as_str(),
            label: match kind {
                Kind::DataStore => "Data stores",
                Kind::Compute => "Compute",
                Kind::Network => "Network",
                Kind::Other => "Other",
            },
            count: items.len(),
            rows: Parts::of(items, |items| InventoryRows { items }.render()),
        })
        .collect();
    let exposure = Parts::of(&model.exposure, |rows| {
        ExposureRows {
            rows,
            targets: &targets,
        }
        .render()
    });
    let steps: Vec<StepRow<'_>> = model
        .checklist
        .iter()
        .map(|step| StepRow {
            step,
            verdict: Verdict::of(step.verdict),
        })
        .collect();
    let checklist = Parts::of(&steps, |steps| ChecklistRows { steps }.render());
    let findings = cards(
        report,
        &report.findings,
        &model.findings,
        &finding_anchors,
        false,
        &clause_ids,
    );
    let undecided = cards(
        report,
        &report.undecided,
        listed_undecided,
        &undecided_anchors,
        true,
        &clause_ids,
    );

    let page = Page {
        title: &model.title,
        meta: model.meta.as_ref(),
        summary: summary(model, report),
        chart: chart(model),
        errors: &model.errors,
        notes: &model.notes,
        legend: ["pass", "fail", "undecided", "accepted", "n/a"].map(Verdict::of),
        controls: &controls,
        clause_ids: &clause_ids,
        matrix,
        exposure,
        ephi: model
            .data_stores
            .iter()
            .filter(|d| d.ephi)
            .map(|store| ephi_row(store, &controls))
            .collect(),
        inventory,
        clauses: model
            .clauses
            .iter()
            .map(|clause| clause_row(clause, &clause_ids))
            .collect(),
        accepted_risks: &model.accepted_risks,
        targets: &targets,
        suppressed: model
            .suppressed
            .iter()
            .zip(&suppressed_anchors)
            .map(|(entry, &anchor)| SilencedRow {
                entry,
                anchor,
                line: entry.finding.span.as_ref().map(|s| s.start.line),
            })
            .collect(),
        checklist,
        systems: model.systems.iter().map(system_row).collect(),
        parity: model.parity.as_ref().map(|p| {
            (
                crate::parity::render::headline(p),
                crate::parity::render::rows(p),
            )
        }),
        findings,
        open_cells: model
            .open_cells()
            .map(|(d, control, cell)| OpenCell {
                address: &d.address,
                file: &d.file,
                line: d.line,
                control: label(control),
                reason: cell.reason.as_deref().unwrap_or("not checked"),
                cites: cites(&cell.findings, &targets),
            })
            .collect(),
        undecided_count: model.undecided.len(),
        undecided,
    };
    page.write_into(out)
}

/// An ePHI store's row: `fail` when a control fails, else `accepted` or
/// `undecided` when one is, `pass` only when every control passes.
fn ephi_row<'m>(store: &'m DataStore, controls: &'m [Control]) -> EphiRow<'m> {
    let verdict_of = |c: &Control| {
        store
            .controls
            .get(c.key)
            .map_or("undecided", |cell| cell.verdict)
    };
    let failing: Vec<&str> = controls
        .iter()
        .filter(|c| verdict_of(c) == "fail")
        .map(|c| c.label.as_str())
        .collect();
    let open: Vec<(Verdict, &str)> = controls
        .iter()
        .filter(|c| matches!(verdict_of(c), "accepted" | "undecided"))
        .map(|c| (Verdict::of(verdict_of(c)), c.label.as_str()))
        .collect();
    let worst = if !failing.is_empty() {
        "fail"
    } else if open.iter().any(|(v, _)| v.cls == "accepted") {
        "accepted"
    } else if !open.is_empty() {
        "undecided"
    } else {
        "pass"
    };
    EphiRow {
        store,
        verdict: Verdict::of(worst),
        failing,
        open,
    }
}

fn clause_row<'m>(clause: &'m Clause, ids: &'m HashMap<&str, String>) -> ClauseRow<'m> {
    let total = clause.pass + clause.fail + clause.undecided;
    let share = |n: usize| {
        if total == 0 {
            String::from("0")
        } else {
            format!("{:.2}", n as f64 * 100.0 / total as f64)
        }
    };
    ClauseRow {
        clause,
        id: ids.get(clause.control.as_str()).map_or("", String::as_str),
        total,
        fail_permille: (clause.fail * 1000).checked_div(total).unwrap_or(0),
        pass_share: share(clause.pass),
        fail_share: share(clause.fail),
        undecided_share: share(clause.undecided),
    }
}

fn store_row<'m>(d: &'m DataStore, targets: &HashMap<&str, Target<'m>>) -> StoreRow<'m> {
    StoreRow {
        address: &d.address,
        resource_type: &d.resource_type,
        engine: d.engine.as_deref(),
        file: &d.file,
        line: d.line,
        ephi: d.ephi,
        environment: d.environment.as_deref(),
        module: &d.module,
        backup_retention_days: d.backup_retention_days,
        cells: CONTROLS
            .iter()
            .map(|c| match d.controls.get(*c) {
                Some(cell) => CellView {
                    key: c,
                    verdict: cell.verdict,
                    quiet: cell.verdict == "pass"
                        && cell
                            .reason
                            .as_deref()
                            .is_some_and(|r| r.starts_with("checked by")),
                    reason: cell.reason.as_deref(),
                    cites: cites(&cell.findings, targets),
                },
                None => CellView {
                    key: c,
                    verdict: "n/a",
                    quiet: false,
                    reason: None,
                    cites: Vec::new(),
                },
            })
            .collect(),
    }
}

/// The findings a cell cites, each with what the page shows of it.
fn cites<'m>(
    fingerprints: &'m [String],
    targets: &HashMap<&str, Target<'m>>,
) -> Vec<(&'m str, Option<Target<'m>>)> {
    fingerprints
        .iter()
        .map(|fp| (fp.as_str(), targets.get(fp.as_str()).copied()))
        .collect()
}

/// Finding cards for `entries` (findings or undecided results as in the
/// JSON report) with their snippets, from the `found` they came from.
fn cards<'a>(
    report: &'a Report,
    found: &'a [Finding],
    entries: &'a [JsonFinding<'_>],
    anchors: &'a [bool],
    undecided: bool,
    clause_ids: &'a HashMap<&str, String>,
) -> Parts<'a> {
    let by_fingerprint: HashMap<&str, &Finding> =
        found.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
    Parts::chunked(entries.len(), move |range| {
        let cards: Vec<Card<'_>> = range
            .filter_map(|i| entries.get(i).map(|f| (i, f)))
            .map(|(i, f)| Card {
                rule_id: f.rule_id,
                severity: f.severity,
                controls: f.controls,
                resource: f.resource,
                file: &f.file,
                line: f.span.as_ref().map(|s| s.start.line),
                message: f.message,
                remediation: f.remediation,
                fingerprint: f.fingerprint,
                related: f
                    .related
                    .iter()
                    .map(|r| Related {
                        message: &r.message,
                        file: &r.file,
                        line: r.span.as_ref().map(|s| s.start.line),
                    })
                    .collect(),
                anchor: anchors.get(i).copied().unwrap_or(false),
                snippet: by_fingerprint
                    .get(f.fingerprint)
                    .and_then(|found| snippet(report.files.get(found.file)?, found.span)),
            })
            .collect();
        Cards {
            cards: &cards,
            undecided,
            clause_ids,
        }
        .render()
    })
}

/// `encryption-at-rest` -> `Encryption at rest`.
fn label(key: &str) -> String {
    if key == super::EPHI_PLACEMENT {
        return "ePHI placement".to_string();
    }
    let text = key.replace('-', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// An element id for a policy clause: `CMP 8.3.4` -> `clause-CMP-8-3-4`.
fn clause_id(control: &str) -> String {
    let slug: String = control
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("clause-{slug}")
}

fn summary(model: &Model<'_>, report: &Report) -> Summary {
    let mut severities: HashMap<&str, usize> = HashMap::default();
    let mut categories: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in &model.findings {
        *severities.entry(f.severity).or_default() += 1;
        *categories.entry(f.category).or_default() += 1;
    }
    let mut categories: Vec<Count> = categories
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(b.name)));
    Summary {
        files: report.files_read,
        resources: model.inventory.len(),
        data_stores: model.data_stores.len(),
        ephi_stores: model.data_stores.iter().filter(|d| d.ephi).count(),
        exposures: model.exposure.len(),
        findings: model.findings.len(),
        suppressed: model.suppressed.len(),
        undecided: model.undecided.len(),
        lapsed: model.accepted_risks.iter().filter(|r| r.expired).count(),
        severities: SEVERITIES
            .iter()
            .map(|&name| SeverityCount {
                name,
                label: label(name),
                count: severities.get(name).copied().unwrap_or(0),
            })
            .collect(),
        categories,
        failing_stores: model
            .data_stores
            .iter()
            .filter(|d| d.controls.values().any(|c| c.verdict == "fail"))
            .count(),
    }
}

/// Findings by policy clause; a finding counts once per clause.
fn chart(model: &Model<'_>) -> Chart {
    const WIDTH: usize = 760;
    const LABEL: usize = 120;
    const BAR: usize = 20;
    const GAP: usize = 8;
    const COUNT_ROOM: usize = 48;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &model.findings {
        let mut seen: Vec<&str> = Vec::with_capacity(f.controls.len());
        for clause in f.controls {
            if !seen.contains(&clause.as_str()) {
                seen.push(clause);
                *counts.entry(clause).or_default() += 1;
            }
        }
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let omitted = counts.len().saturating_sub(CHART_BARS);
    counts.truncate(CHART_BARS);
    let max = counts.first().map_or(1, |c| c.1.max(1));
    let room = WIDTH - LABEL - COUNT_ROOM;
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, (clause, count))| Bar {
            clause: clause.to_string(),
            id: clause_id(clause),
            count: *count,
            y: i * (BAR + GAP),
            width: (count * room / max).max(2),
        })
        .collect();
    Chart {
        width: WIDTH,
        height: (bars.len() * (BAR + GAP)).max(BAR),
        label_width: LABEL,
        bar_height: BAR,
        bars,
        omitted,
    }
}

/// The lines around a finding, from the file's line index (no re-split):
/// `CONTEXT_LINES` either side, at most `SNIPPET_LINES` in all.
fn snippet(file: &SourceFile, span: Span) -> Option<Snippet<'_>> {
    let text: &str = &file.text;
    if text.is_empty() {
        return None;
    }
    let index = &file.lines;
    let first = file.position(span.start).line;
    // A span that ends at a line break ends on the line before.
    let last = if span.end > span.start {
        file.position(span.end - 1).line.max(first)
    } else {
        first
    };
    let from = first.saturating_sub(CONTEXT_LINES).max(1);
    // A final line break starts no line worth showing.
    let lines_in_file = index.line_count() - usize::from(text.ends_with('\n'));
    let to = (last + CONTEXT_LINES)
        .min(lines_in_file)
        .min(from + SNIPPET_LINES - 1)
        .max(first);
    let last = last.min(to);
    let lines = |a: usize, b: usize| (a <= b).then(|| run(text, index, a, b));
    let numbers = |a: usize, b: usize| {
        (a <= b).then(|| {
            (a..=b)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
    };

    // The covered lines, split around the span when the run is the
    // source's own text; otherwise (cut or padded lines) all marked.
    let hit = run(text, index, first, last);
    let start = index.line_span(text, first).start;
    let (lead, mark, tail) = match &hit {
        Cow::Borrowed(run) if !span.is_empty() => {
            let a = span.start.saturating_sub(start).min(run.len());
            let b = span.end.saturating_sub(start).min(run.len());
            if a < b && run.is_char_boundary(a) && run.is_char_boundary(b) {
                (&run[..a], &run[a..b], &run[b..])
            } else {
                ("", *run, "")
            }
        }
        _ => ("", "", ""),
    };
    let (lead, mark, tail) = match hit {
        Cow::Borrowed(_) if !mark.is_empty() => (
            Cow::Borrowed(lead),
            Cow::Borrowed(mark),
            Cow::Borrowed(tail),
        ),
        whole => (Cow::Borrowed(""), whole, Cow::Borrowed("")),
    };
    Some(Snippet {
        gutter_before: numbers(from, first - 1),
        gutter_hit: numbers(first, last).unwrap_or_default(),
        gutter_after: numbers(last + 1, to),
        before: lines(from, first - 1),
        lead,
        mark,
        tail,
        after: lines(last + 1, to),
    })
}

/// Lines `a..=b` as one run of text: borrowed from the source when it can
/// be shown as it is; owned when a line must be cut (past `LINE_CHARS`) or
/// padded (an empty line would collapse and shift the gutter).
fn run<'r>(text: &'r str, index: &LineIndex, a: usize, b: usize) -> Cow<'r, str> {
    let line = |n: usize| {
        let span = index.line_span(text, n);
        text[span.start..span.end].trim_end_matches('\r')
    };
    let plain =
        |l: &str| !l.is_empty() && (l.len() <= LINE_CHARS || l.chars().count() <= LINE_CHARS);
    if (a..=b).all(|n| plain(line(n)))
        && !text[index.line_span(text, a).start..index.line_span(text, b).end].contains('\r')
    {
        let start = index.line_span(text, a).start;
        let end = index.line_span(text, b).end;
        return Cow::Borrowed(&text[start..end]);
    }
    let mut out = String::new();
    for n in a..=b {
        if n > a {
            out.push('\n');
        }
        let l = line(n);
        match l.char_indices().nth(LINE_CHARS) {
            Some((cut, _)) => {
                out.push_str(&l[..cut]);
                out.push('…');
            }
            None if l.is_empty() => out.push(' '),
            None => out.push_str(l),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clause_ids_are_plain() {
        assert_eq!(clause_id("CMP 8.3.4"), "clause-CMP-8-3-4");
        assert_eq!(label("encryption-at-rest"), "Encryption at rest");
    }

    fn snippet_of(text: &str, pattern: &str) -> Snippet<'static> {
        let file: &'static SourceFile = Box::leak(Box::new(SourceFile::new("x.tf", text)));
        let start = text.find(pattern).unwrap();
        snippet(file, Span::new(start, start + pattern.len())).unwrap()
    }

    #[test]
    fn snippet_marks_the_span_in_its_lines() {
        let s = snippet_of("a\nb\nc = 1\nd\ne\nf\n", "1");
        assert_eq!(s.gutter_before.as_deref(), Some("1\n2"));
        assert_eq!(s.gutter_hit, "3");
        assert_eq!(s.gutter_after.as_deref(), Some("4\n5"));
        assert_eq!(s.before.as_deref(), Some("a\nb"));
        assert_eq!((&*s.lead, &*s.mark, &*s.tail), ("c = ", "1", ""));
        assert_eq!(s.after.as_deref(), Some("d\ne"));
    }

    #[test]
    fn snippet_pads_empty_lines_and_cuts_long_ones() {
        let long = "x".repeat(LINE_CHARS + 5);
        let s = snippet_of(&format!("a\n\nc = 1\n{long}\r\n"), "1");
        assert_eq!(s.before.as_deref(), Some("a\n "));
        let after = s.after.unwrap();
        assert!(after.ends_with('…') && after.chars().count() == LINE_CHARS + 1);
        assert_eq!(s.gutter_after.as_deref(), Some("4"));
    }
}
