//! The inspection report as one self-contained HTML page, rendered by
//! minijinja from `templates/report.html` with HTML auto-escaping on: every
//! value read from scanned files reaches the page as text. This file only
//! computes what the template shows beside the [`Model`] (counts, the chart's
//! geometry, source snippets); it writes no markup.
//!
//! The long lists (matrix, exposure, inventory and checklist rows, finding
//! cards) are rendered by the template's own macros in chunks, in parallel,
//! and the page template places the rendered chunks: the rendering stays
//! linear in the size of the model and uses every core.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Template, UndefinedBehavior};
use rayon::prelude::*;
use serde::Serialize;

use super::{DataStore, Item, Kind, Model, CONTROLS};
use crate::error::FileError;
use crate::finding::Finding;
use crate::output::json::{JsonFinding, JsonRelated, JsonSuppressed};
use crate::source::{LineIndex, SourceFile, Span};
use crate::Report;

const TEMPLATE: &str = include_str!("../../templates/report.html");
const TEMPLATE_NAME: &str = "report.html";
const FALLBACK_NAME: &str = "fallback.html";
const FALLBACK: &str = "<!doctype html><meta charset=utf-8><title>provcheck report</title>\
<p>The report could not be rendered: {{ error }}</p>\n";

/// Lines of context shown above and below a finding.
const CONTEXT_LINES: usize = 2;
/// At most this many lines in a snippet.
const SNIPPET_LINES: usize = 12;
/// Characters of a source line shown before it is cut.
const LINE_CHARS: usize = 240;
/// At most this many clauses in the summary chart.
const CHART_BARS: usize = 40;
/// Rows or cards rendered by one macro call.
const CHUNK: usize = 400;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const KINDS: [Kind; 4] = [Kind::DataStore, Kind::Compute, Kind::Network, Kind::Other];

/// The template environment, compiled once.
fn environment() -> &'static Result<Environment<'static>, String> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Escape every value whatever the template is called; the model
        // grows fields, so a missing one renders as nothing, not an error.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // The template is indented for reading; the page need not be.
        env.add_template_owned(TEMPLATE_NAME, dedent(TEMPLATE))
            .map_err(|err| format!("{err:#}"))?;
        Ok(env)
    })
}

fn dedent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.trim_start_matches([' ', '\t']));
        out.push('\n');
    }
    out
}

/// Renders `model` (built from `report`) as HTML.
pub fn render(model: &Model<'_>, report: &Report) -> String {
    let rendered = environment()
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|env| {
            env.get_template(TEMPLATE_NAME)
                .and_then(|template| page(&template, model, report))
                .map_err(|err| format!("{err:#}"))
        });
    match rendered {
        Ok(mut text) => {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
        Err(error) => {
            // A page that says what went wrong, from its own environment
            // so that it renders even when the report's template does not.
            let mut env = Environment::new();
            env.set_auto_escape_callback(|_| AutoEscape::Html);
            env.add_template(FALLBACK_NAME, FALLBACK)
                .and_then(|()| env.get_template(FALLBACK_NAME))
                .and_then(|t| t.render(minijinja::context! { error }))
                .unwrap_or_default()
        }
    }
}

/// What every macro call sees beside its arguments.
#[derive(Serialize)]
struct Shared<'m> {
    /// `false`: evaluate the macros only, not the page.
    page: bool,
    /// The matrix columns, in order.
    controls: Vec<Control>,
    /// Element ids of the policy clauses, by clause.
    clause_ids: BTreeMap<&'m str, String>,
}

/// The page: the model without its long lists, which come rendered.
#[derive(Serialize)]
struct Page<'m, 'r> {
    #[serde(flatten)]
    shared: &'m Shared<'m>,
    model: PageModel<'m, 'r>,
    summary: Summary,
    chart: Chart,
    /// Rendered `<tr>` chunks of the matrix.
    matrix: Vec<Value>,
    /// Rendered inventory rows, per kind, data stores first.
    inventory: Vec<Group>,
    /// Rendered finding cards.
    findings: Vec<Value>,
    /// Rendered exposure rows, and which optional columns they have.
    exposure: Vec<Value>,
    exposure_columns: BTreeMap<&'static str, bool>,
    /// Rendered checklist rows.
    checklist: Vec<Value>,
    /// Rendered undecided cards, when the model lists them.
    undecided: Vec<Value>,
    /// Data stores holding ePHI.
    ephi: Vec<&'m DataStore>,
    /// Parallel to `model.suppressed`: whether the row carries its
    /// fingerprint as element id.
    suppressed_ids: Vec<bool>,
    /// What an accepted risk's fingerprints point at.
    targets: HashMap<&'r str, Target<'r>>,
    errors: Vec<Problem>,
    notes: Vec<Problem>,
}

/// The model's short parts, as the template sees them under `model`.
#[derive(Serialize)]
struct PageModel<'m, 'r> {
    version: u32,
    title: &'m str,
    clauses: &'m [super::Clause],
    suppressed: &'m [JsonSuppressed<'r>],
    accepted_risks: &'m [super::AcceptedRisk],
    #[serde(skip_serializing_if = "Option::is_none")]
    undecided: Option<usize>,
}

#[derive(Serialize)]
struct Control {
    key: &'static str,
    label: String,
}

#[derive(Serialize)]
struct Count {
    name: String,
    count: usize,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    resources: usize,
    data_stores: usize,
    ephi_stores: usize,
    exposures: usize,
    findings: usize,
    suppressed: usize,
    undecided: usize,
    errors: usize,
    severities: Vec<Count>,
    categories: Vec<Count>,
    /// Data stores with at least one failing control.
    failing_stores: usize,
}

#[derive(Serialize)]
struct Chart {
    width: usize,
    height: usize,
    label_width: usize,
    bar_height: usize,
    bars: Vec<Bar>,
    /// Clauses left out of the chart.
    omitted: usize,
}

#[derive(Serialize)]
struct Bar {
    clause: String,
    id: String,
    count: usize,
    y: usize,
    width: usize,
}

#[derive(Serialize)]
struct Group {
    kind: &'static str,
    label: &'static str,
    count: usize,
    rows: Vec<Value>,
}

/// A matrix row: the data store without its map of cells, which come as a
/// list in column order, each with the findings it cites resolved.
#[derive(Serialize)]
struct StoreRow<'m> {
    address: &'m str,
    #[serde(rename = "type")]
    resource_type: &'m str,
    engine: Option<&'m str>,
    file: &'m str,
    line: usize,
    ephi: bool,
    environment: Option<&'m str>,
    system: &'m str,
    module: &'m [super::Call],
    backup_retention_days: Option<i64>,
    cells: Vec<CellView<'m>>,
}

#[derive(Serialize)]
struct CellView<'m> {
    /// The control (column).
    key: &'static str,
    verdict: &'m str,
    /// A pass that only names the rules that checked it: shown quietly.
    quiet: bool,
    reason: Option<&'m str>,
    /// (fingerprint, rule id when the page shows the finding).
    cites: Vec<(&'m str, Option<&'m str>)>,
}

/// A finding card: the finding's JSON entry (without its span, which the
/// line replaces), whether it carries its fingerprint as element id (the
/// first holder does), and its snippet.
#[derive(Serialize)]
struct Card<'m, 'r> {
    rule_id: &'r str,
    severity: &'static str,
    category: &'static str,
    controls: &'r [String],
    resource: &'r str,
    file: &'m str,
    line: Option<usize>,
    message: &'r str,
    fingerprint: &'r str,
    related: &'m [JsonRelated],
    anchor: bool,
    snippet: Option<Snippet<'r>>,
}

/// The source around a finding in three runs of whole lines: the context
/// before, the lines the finding covers (split around the exact span), the
/// context after. Line numbers come as text for a gutter beside the code.
/// No run is an empty string and none ends in a line break, so the gutter
/// and the code stay aligned line for line.
#[derive(Serialize, Debug, PartialEq)]
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

#[derive(Serialize, Clone, Copy)]
struct Target<'r> {
    rule_id: &'r str,
    /// `finding`, `suppressed` or `undecided`.
    status: &'static str,
}

#[derive(Serialize)]
struct Problem {
    file: String,
    line: Option<usize>,
    message: String,
}

/// Renders the page: the long lists first, by chunks in parallel, then
/// the page around them.
fn page(
    template: &Template<'_, '_>,
    model: &Model<'_>,
    report: &Report,
) -> Result<String, minijinja::Error> {
    let shared = Shared {
        page: false,
        controls: CONTROLS
            .iter()
            .map(|c| Control {
                key: c.as_str(),
                label: label(c.as_str()),
            })
            .collect(),
        clause_ids: model
            .clauses
            .iter()
            .map(|c| (c.control.as_str(), clause_id(&c.control)))
            .collect(),
    };

    // Element ids must be unique: the first holder of a fingerprint gets it.
    let mut ids: HashSet<&str> = HashSet::new();
    let finding_anchors: Vec<bool> = model
        .findings
        .iter()
        .map(|f| ids.insert(f.fingerprint))
        .collect();
    let suppressed_ids: Vec<bool> = model
        .suppressed
        .iter()
        .map(|s| ids.insert(s.finding.fingerprint))
        .collect();
    let listed_undecided: &[JsonFinding<'_>] = model.undecided.as_deref().unwrap_or(&[]);
    let undecided_anchors: Vec<bool> = listed_undecided
        .iter()
        .map(|f| ids.insert(f.fingerprint))
        .collect();

    // Only what the page shows can be linked to.
    let mut targets: HashMap<&str, Target<'_>> = HashMap::new();
    for (f, status) in listed_undecided
        .iter()
        .map(|f| (f, "undecided"))
        .chain(model.suppressed.iter().map(|s| (&s.finding, "suppressed")))
        .chain(model.findings.iter().map(|f| (f, "finding")))
    {
        targets.insert(
            f.fingerprint,
            Target {
                rule_id: f.rule_id,
                status,
            },
        );
    }

    // Optional exposure columns: those the entries' shape has.
    let shape = model
        .exposure
        .first()
        .and_then(|e| serde_json::to_value(e).ok())
        .unwrap_or_default();
    let exposure_columns: BTreeMap<&str, bool> = ["kind", "tls", "path", "findings"]
        .into_iter()
        .map(|field| (field, shape.get(field).is_some()))
        .collect();

    // Every list at once, so that no core waits for the end of one list
    // before starting on the next.
    let matrix = || {
        chunks(template, &shared, &model.data_stores, |state, stores| {
            let rows: Vec<StoreRow<'_>> = stores.iter().map(|d| store_row(d, &targets)).collect();
            state.call_macro("store_rows", &[Value::from_serialize(&rows)])
        })
    };
    let inventory = || {
        KINDS
            .par_iter()
            .filter_map(|&kind| {
                let items: Vec<&Item> = model.inventory.iter().filter(|i| i.kind == kind).collect();
                (!items.is_empty()).then(|| {
                    Ok(Group {
                        kind: kind.as_str(),
                        label: match kind {
                            Kind::DataStore => "Data stores",
                            Kind::Compute => "Compute",
                            Kind::Network => "Network",
                            Kind::Other => "Other",
                        },
                        count: items.len(),
                        rows: chunks(template, &shared, &items, |state, items| {
                            state.call_macro("inventory_rows", &[Value::from_serialize(items)])
                        })?,
                    })
                })
            })
            .collect::<Result<Vec<Group>, minijinja::Error>>()
    };
    let exposure = || {
        chunks(template, &shared, &model.exposure, |state, rows| {
            let cited = cited(&targets, rows.iter().flat_map(|e| &e.findings));
            state.call_macro(
                "exposure_rows",
                &[
                    Value::from_serialize(rows),
                    Value::from_serialize(&exposure_columns),
                    Value::from_serialize(&cited),
                ],
            )
        })
    };
    let checklist = || {
        chunks(template, &shared, &model.checklist, |state, steps| {
            state.call_macro("checklist_rows", &[Value::from_serialize(steps)])
        })
    };
    let findings = || {
        cards(
            template,
            &shared,
            report,
            &report.findings,
            &model.findings,
            &finding_anchors,
            false,
        )
    };
    let undecided = || {
        cards(
            template,
            &shared,
            report,
            &report.undecided,
            listed_undecided,
            &undecided_anchors,
            true,
        )
    };
    let ((findings, matrix), ((inventory, exposure), (checklist, undecided))) = rayon::join(
        || rayon::join(findings, matrix),
        || {
            rayon::join(
                || rayon::join(inventory, exposure),
                || rayon::join(checklist, undecided),
            )
        },
    );
    let (findings, matrix, inventory, exposure, checklist, undecided) = (
        findings?, matrix?, inventory?, exposure?, checklist?, undecided?,
    );

    let risk_targets = cited(
        &targets,
        model.accepted_risks.iter().flat_map(|r| &r.findings),
    );
    let files: HashMap<&Path, &SourceFile> = report.files.iter().map(|f| (f.path(), f)).collect();
    let context = Page {
        shared: &Shared {
            page: true,
            ..shared
        },
        model: PageModel {
            version: model.version,
            title: &model.title,
            clauses: &model.clauses,
            suppressed: &model.suppressed,
            accepted_risks: &model.accepted_risks,
            undecided: model.undecided.as_ref().map(Vec::len),
        },
        summary: summary(model, report),
        chart: chart(model),
        matrix,
        inventory,
        findings,
        exposure,
        exposure_columns,
        checklist,
        undecided,
        ephi: model.data_stores.iter().filter(|d| d.ephi).collect(),
        suppressed_ids,
        targets: risk_targets,
        errors: report.errors.iter().map(|e| problem(&files, e)).collect(),
        notes: report.notes.iter().map(|e| problem(&files, e)).collect(),
    };
    // The page copies the rendered chunks once, into a buffer of the
    // right size, rather than growing a string as it goes.
    let size: usize = [&context.matrix, &context.exposure, &context.checklist]
        .into_iter()
        .chain(context.inventory.iter().map(|g| &g.rows))
        .chain([&context.findings, &context.undecided])
        .flatten()
        .filter_map(Value::as_str)
        .map(str::len)
        .sum();
    let mut out = Vec::with_capacity(size + TEMPLATE.len() + (1 << 16));
    template.render_captured_to(&context, &mut out)?;
    Ok(String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()))
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
        system: &d.system,
        module: &d.module,
        backup_retention_days: d.backup_retention_days,
        cells: CONTROLS
            .iter()
            .map(|c| match d.controls.get(c.as_str()) {
                Some(cell) => CellView {
                    key: c.as_str(),
                    verdict: cell.verdict,
                    quiet: cell.verdict == "pass"
                        && cell
                            .reason
                            .as_deref()
                            .is_some_and(|r| r.starts_with("checked by")),
                    reason: cell.reason.as_deref(),
                    cites: cell
                        .findings
                        .iter()
                        .map(|fp| (fp.as_str(), targets.get(fp.as_str()).map(|t| t.rule_id)))
                        .collect(),
                },
                None => CellView {
                    key: c.as_str(),
                    verdict: "n/a",
                    quiet: false,
                    reason: None,
                    cites: Vec::new(),
                },
            })
            .collect(),
    }
}

/// The targets of `fingerprints`: what a chunk links to.
fn cited<'r, 'f>(
    targets: &HashMap<&'r str, Target<'r>>,
    fingerprints: impl Iterator<Item = &'f String>,
) -> HashMap<&'r str, Target<'r>> {
    fingerprints
        .filter_map(|fp| targets.get_key_value(fp.as_str()).map(|(k, t)| (*k, *t)))
        .collect()
}

/// Renders `items` in chunks, in parallel, with `call` (a macro call on a
/// state of the template); each chunk is safe markup for the page.
fn chunks<T, F>(
    template: &Template<'_, '_>,
    shared: &Shared<'_>,
    items: &[T],
    call: F,
) -> Result<Vec<Value>, minijinja::Error>
where
    T: Sync,
    F: Fn(&minijinja::State<'_, '_>, &[T]) -> Result<String, minijinja::Error> + Sync,
{
    items
        .par_chunks(CHUNK)
        .map(|chunk| {
            let captured = template.render_captured(shared)?;
            call(captured.state(), chunk).map(Value::from_safe_string)
        })
        .collect()
}

/// Finding cards for `entries` (findings or undecided results as in the
/// JSON report) with their snippets, from the `found` they came from.
fn cards(
    template: &Template<'_, '_>,
    shared: &Shared<'_>,
    report: &Report,
    found: &[Finding],
    entries: &[JsonFinding<'_>],
    anchors: &[bool],
    undecided: bool,
) -> Result<Vec<Value>, minijinja::Error> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let by_fingerprint: HashMap<&str, &Finding> =
        found.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
    let indices: Vec<usize> = (0..entries.len()).collect();
    chunks(template, shared, &indices, |state, chunk| {
        let cards: Vec<Card<'_, '_>> = chunk
            .iter()
            .filter_map(|&i| entries.get(i).map(|f| (i, f)))
            .map(|(i, f)| Card {
                rule_id: f.rule_id,
                severity: f.severity,
                category: f.category,
                controls: f.controls,
                resource: f.resource,
                file: &f.file,
                line: f.span.as_ref().map(|s| s.start.line),
                message: f.message,
                fingerprint: f.fingerprint,
                related: &f.related,
                anchor: anchors.get(i).copied().unwrap_or(false),
                snippet: by_fingerprint
                    .get(f.fingerprint)
                    .and_then(|found| snippet(report.files.get(found.file)?, found.span)),
            })
            .collect();
        state.call_macro(
            "finding_cards",
            &[Value::from_serialize(&cards), Value::from(undecided)],
        )
    })
}

/// `encryption-at-rest` -> `Encryption at rest`.
fn label(key: &str) -> String {
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
    let mut severities: HashMap<&str, usize> = HashMap::new();
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &model.findings {
        *severities.entry(f.severity).or_default() += 1;
        *categories.entry(f.category).or_default() += 1;
    }
    let mut categories: Vec<Count> = categories
        .into_iter()
        .map(|(name, count)| Count {
            name: name.to_string(),
            count,
        })
        .collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    Summary {
        files: report.files_read,
        resources: model.inventory.len(),
        data_stores: model.data_stores.len(),
        ephi_stores: model.data_stores.iter().filter(|d| d.ephi).count(),
        exposures: model.exposure.len(),
        findings: model.findings.len(),
        suppressed: model.suppressed.len(),
        undecided: report.undecided.len(),
        errors: report.errors.len(),
        severities: SEVERITIES
            .iter()
            .map(|s| Count {
                name: s.to_string(),
                count: severities.get(s).copied().unwrap_or(0),
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

fn problem(files: &HashMap<&Path, &SourceFile>, error: &FileError) -> Problem {
    Problem {
        file: crate::source::display_path(&error.path),
        line: match (files.get(error.path.as_path()), error.span) {
            (Some(file), Some(span)) => Some(file.position(span.start).line),
            _ => None,
        },
        message: error.message.clone(),
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
    fn template_compiles() {
        if let Err(err) = environment() {
            panic!("templates/report.html: {err}");
        }
    }

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
