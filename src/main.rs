//! The provcheck binary: arguments -> configuration -> rules -> check ->
//! render -> exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use provcheck::cli::{
    BaselineArgs, CheckArgs, Cli, ColorArg, Command, DiffArgs, DiffFormat, ExplainArgs, FormatArg,
    InspectArgs, InspectFormat, ParityArgs, ParityFormat, RuleArgs, RulesArgs, RulesFormat,
    ScanArgs,
};
use provcheck::config::{Config, FailOn};
use provcheck::error::FileError;
use provcheck::output::{self, OutputFormat, RenderOptions};
use provcheck::read::{self, Named};
use provcheck::ruleset::RuleSet;
use provcheck::source::SourceFile;
use provcheck::{explain, provenance, suppress, Report, Settings};

// The check allocates many small values (parsed expressions, JSON
// attributes, findings) from every core: mimalloc serves that pattern
// faster than the system allocator (`cargo bench --bench check` uses it
// too, so the figures are the binary's).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its index in the `mi_option_e`
/// enumeration of the v3 `mimalloc.h` that libmimalloc-sys 0.1.49 (the
/// version Cargo.lock pins) builds. An upgrade must check it again:
/// `MIMALLOC_VERBOSE=1 provcheck rules` lists the options in order.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the peak resident memory near what the check holds (README,
/// "Performance"). Terraform syntax trees are built and freed one batch
/// of root modules at a time; with mimalloc's defaults the freed pages
/// stayed resident for a second before being purged, and were backed by
/// transparent huge pages, so on the 1,356 files of the bench's
/// Terraform corpus the peak RSS was 119 MB for 49 MB of live memory.
/// Purging soon and declining huge pages: 73 MB. Purging at once (a
/// delay of 0) costs time: on ten copies of the corpus, 365,000 page
/// faults and TLB flushes for pages freed and taken again, 2 s of
/// system time. [`PURGE_DELAY_MS`] keeps most of the saving for little
/// of that cost. A `MIMALLOC_PURGE_DELAY` set in the environment is
/// respected.
/// How long freed memory stays resident before mimalloc returns it, in
/// milliseconds. Medians on the corpus (5 runs) and ten copies (3), for
/// delays of 0, 10, 50 and 100 ms: 0.46, 0.39, 0.37, 0.37 s at 76, 77,
/// 78, 81 MiB; ten copies 4.55, 4.07, 3.92, 3.89 s at 323, 331, 335,
/// 336 MiB (mimalloc's own default, 1,000 ms: 358 MiB).
const PURGE_DELAY_MS: std::ffi::c_long = 50;

fn tune_memory() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and changes only
    // this process's huge page policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's options are integers it reads when it
        // purges. Setting one is not thread-safe: this runs first in
        // `main`, before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

/// No findings at or above the threshold, no errors.
const EXIT_CLEAN: u8 = 0;
/// Findings at or above the threshold.
const EXIT_FINDINGS: u8 = 1;
/// Errors: unreadable or unparsable input, bad rules, configuration or
/// waivers, bad usage.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    tune_memory();
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    match cli.command {
        Command::Check(args) => {
            let order = matches
                .subcommand_matches("check")
                .map(|m| {
                    let at = |id: &str| {
                        m.indices_of(id)
                            .map(|i| i.collect::<Vec<_>>())
                            .unwrap_or_default()
                    };
                    (at("format"), at("output"))
                })
                .unwrap_or_default();
            check(&args, &order)
        }
        Command::Baseline(args) => baseline(&args),
        Command::Inspect(args) => inspect(&args),
        Command::Diff(args) => diff(&args),
        Command::Parity(args) => parity(&args),
        Command::Rules(args) => rules(&args),
        Command::Explain(args) => explain_rule(&args),
    }
}

/// Prints errors about rule, configuration or waiver files (compact, with
/// their lines) on standard error.
fn print_errors(errors: Vec<FileError>, what: &str) {
    let mut report = Report::default();
    for error in &errors {
        // Only a file that was parsed has a position worth its text.
        if error.span.is_none() || report.files.iter().any(|f| f.path == error.path) {
            continue;
        }
        // The rule and configuration files were named by the user or
        // found as the configuration: read as they were.
        if let Ok(text) = read::text(&error.path, read::Within::Anywhere) {
            report.files.push(SourceFile::new(error.path.clone(), text));
        }
    }
    report.errors = errors;
    let text = output::render(
        &report,
        &RuleSet::default(),
        OutputFormat::Compact,
        RenderOptions::default(),
    );
    eprint!("{text}");
    eprintln!("provcheck: fix the {what} above; nothing was checked.");
}

fn load_rules(args: &RuleArgs) -> Result<RuleSet, ExitCode> {
    let (rules, errors) = RuleSet::load(&args.rule_dirs);
    if errors.is_empty() {
        Ok(rules)
    } else {
        print_errors(errors, "rule files");
        Err(ExitCode::from(EXIT_ERROR))
    }
}

/// Everything a scan needs, resolved from the arguments and the
/// configuration file.
struct Prepared {
    config: Config,
    rules: RuleSet,
}

fn prepare(scan: &ScanArgs) -> Result<Prepared, ExitCode> {
    let start = scan
        .paths
        .first()
        .map_or_else(|| PathBuf::from("."), Clone::clone);
    let mut config = match Config::load(scan.config.as_deref(), &start) {
        Ok(config) => config,
        Err(errors) => {
            print_errors(errors, "configuration file");
            return Err(ExitCode::from(EXIT_ERROR));
        }
    };
    let mut rules = load_rules(&scan.rules)?;
    if let Err(errors) = config.command_line(&rules, &scan.select, &scan.ignore, &scan.exclude) {
        for error in errors {
            eprintln!("provcheck: {error}");
        }
        return Err(ExitCode::from(EXIT_ERROR));
    }
    let errors = config.apply(&mut rules);
    if !errors.is_empty() {
        print_errors(errors, "configuration file");
        return Err(ExitCode::from(EXIT_ERROR));
    }
    Ok(Prepared { config, rules })
}

/// What a report's provenance needs from the command beyond the scan.
struct Record {
    fail_on: Option<provcheck::cli::FailOnArg>,
    /// Whether to walk the work tree for `git.dirty`: as long as `git
    /// status`, so not for the terminal formats a pre-commit hook uses.
    dirty: bool,
}

/// How long the git state may take beyond the check before it is left
/// unknown.
const GIT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn run(
    scan: &ScanArgs,
    prepared: &Prepared,
    baseline: Option<&Path>,
    record: Option<Record>,
) -> Report {
    let config = &prepared.config;
    // Read beside the check: the status walk is I/O, the check CPU.
    let git = match &record {
        Some(record) if config.in_git => {
            Some(provcheck::git::start(&config.report_root, record.dirty))
        }
        _ => None,
    };
    let exclude = |path: &Path| config.is_excluded(path);
    let settings = Settings {
        root: Some(config.root.clone()),
        exclude: config
            .exclude
            .as_ref()
            .map(|_| &exclude as &(dyn Fn(&Path) -> bool + Sync)),
        suppress: suppress::Options {
            inline: config.inline_suppressions && !scan.no_inline_suppressions,
            // The command line's files are the user's; the configuration's
            // (or the default waivers file) are the project's.
            waivers: scan
                .waivers
                .clone()
                .map(Named::by_user)
                .or_else(|| config.waivers.clone().map(Named::by_project)),
            baseline: baseline
                .map(|b| Named::by_user(b.to_path_buf()))
                .or_else(|| config.baseline.clone().map(Named::by_project)),
            today: suppress::today(),
        },
        production: config.production.clone(),
        config: config.shown_file(),
        report_root: Some(config.report_root.clone()),
        plan_source: scan.source.clone(),
        // Only the variables named: any other may hold a CI secret.
        compose_env: scan
            .env
            .iter()
            .chain(&config.compose_environment)
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.clone(), v)))
            .collect(),
        inputs: provcheck::terraform::module::Inputs {
            vars: scan.vars.clone(),
            var_files: scan.var_files.clone(),
            env: std::env::vars()
                .filter_map(|(k, v)| k.strip_prefix("TF_VAR_").map(|n| (n.to_string(), v)))
                .collect(),
            ..Default::default()
        },
    };
    let mut report = provcheck::check_with(&scan.paths, &prepared.rules, &settings);
    if let Some(record) = record {
        let fail_on = record
            .fail_on
            .map(FailOn::from)
            .or(config.fail_on)
            .unwrap_or(FailOn::Low);
        let effective = provenance::Settings {
            file: config.file.as_deref().map(|f| report.shown_path(f)),
            digest: config.digest(),
            select: config.select().map(<[String]>::to_vec),
            ignore: config.ignore().to_vec(),
            fail_on: provenance::fail_on_name(fail_on),
            inline_suppressions: settings.suppress.inline,
        };
        let root = report
            .anchor
            .root()
            .unwrap_or(&config.report_root)
            .to_path_buf();
        report.meta = Some(provenance::Meta::new(
            &prepared.rules,
            &scan.rules.rule_dirs,
            effective,
            &scan.paths,
            &root,
            git.and_then(|g| g.finish(GIT_WAIT)),
        ));
    }
    report
}

/// The format an output file's extension names.
fn format_of_output(path: &Path) -> Option<FormatArg> {
    match path.extension()?.to_str()? {
        "sarif" => Some(FormatArg::Sarif),
        "json" => Some(FormatArg::Json),
        "xml" => Some(FormatArg::Junit),
        "md" | "markdown" => Some(FormatArg::Markdown),
        _ => None,
    }
}

/// Pairs each --output with a --format by their places on the command
/// line: an output belongs to the nearest format before it that has none,
/// else to the nearest one after it.
fn reports(
    args: &CheckArgs,
    order: &(Vec<usize>, Vec<usize>),
) -> Result<Vec<(FormatArg, Option<PathBuf>)>, String> {
    // Without --format, each output's extension names its format: a file
    // called x.json must not receive human text.
    if args.format.is_empty() && !args.output.is_empty() {
        return Ok(args
            .output
            .iter()
            .map(|o| {
                (
                    format_of_output(o).unwrap_or(FormatArg::Human),
                    Some(o.clone()),
                )
            })
            .collect());
    }
    let mut formats: Vec<(FormatArg, usize, Option<PathBuf>)> = if args.format.is_empty() {
        vec![(FormatArg::Human, 0, None)]
    } else {
        args.format
            .iter()
            .zip(order.0.iter().copied().chain(std::iter::repeat(0)))
            .map(|(f, i)| (*f, i, None))
            .collect()
    };
    for (output, at) in args
        .output
        .iter()
        .zip(order.1.iter().copied().chain(std::iter::repeat(usize::MAX)))
    {
        let before = formats.iter().rposition(|(_, i, o)| *i < at && o.is_none());
        let slot = before.or_else(|| formats.iter().position(|(_, _, o)| o.is_none()));
        match slot {
            Some(slot) => formats[slot].2 = Some(output.clone()),
            None => {
                return Err(format!(
                    "--output {} has no --format of its own",
                    output.display()
                ))
            }
        }
    }
    let to_stdout = formats.iter().filter(|(_, _, o)| o.is_none()).count();
    if to_stdout > 1 {
        return Err(
            "only one report can go to standard output: give the others an --output".into(),
        );
    }
    Ok(formats.into_iter().map(|(f, _, o)| (f, o)).collect())
}

fn check(args: &CheckArgs, order: &(Vec<usize>, Vec<usize>)) -> ExitCode {
    let reports = match reports(args, order) {
        Ok(reports) => reports,
        Err(message) => {
            eprintln!("provcheck: {message}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let prepared = match prepare(&args.scan) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let record = Record {
        fail_on: args.fail_on,
        dirty: reports
            .iter()
            .any(|(f, _)| !matches!(f, FormatArg::Human | FormatArg::Compact)),
    };
    let mut report = run(
        &args.scan,
        &prepared,
        args.baseline.as_deref(),
        Some(record),
    );
    // --min-severity filters what is shown; --fail-on still judges every
    // finding, hidden or not.
    let fail_on = args
        .fail_on
        .map(FailOn::from)
        .or(prepared.config.fail_on)
        .unwrap_or(FailOn::Low);
    let mut hidden = 0;
    let mut hidden_fails = false;
    if let Some(min) = args.min_severity {
        let min = provcheck::finding::Severity::from(min);
        hidden_fails = report
            .findings
            .iter()
            .any(|f| f.severity < min && fail_on.fails(f.severity));
        let before = report.findings.len();
        report.findings.retain(|f| f.severity >= min);
        hidden = before - report.findings.len();
    }
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut failed_write = false;
    for (format, output) in &reports {
        let options = RenderOptions {
            show_undecided: args.show_undecided,
            color: color && output.is_none(),
            quiet: args.quiet,
            hidden,
        };
        let format = (*format).into();
        let write = |out: &mut dyn Write| {
            let mut out = std::io::BufWriter::new(out);
            output::write(&report, &prepared.rules, format, options, &mut out)?;
            out.flush()
        };
        let written = match output {
            Some(path) => std::fs::File::create(path)
                .and_then(|mut file| write(&mut file))
                .map_err(|e| (path.display().to_string(), e)),
            None => {
                write(&mut std::io::stdout().lock()).map_err(|e| ("standard output".to_string(), e))
            }
        };
        if let Err((target, err)) = written {
            eprintln!("provcheck: cannot write the report to {target}: {err}");
            failed_write = true;
        }
    }
    let mut code = exit_code(&report, &prepared, args.fail_on, failed_write);
    if hidden_fails && report.errors.is_empty() && !failed_write {
        code = ExitCode::from(EXIT_FINDINGS);
    }
    // Exit 0 says "checked and clean": not when nothing was checked.
    if report.resource_count() == 0 && report.errors.is_empty() {
        let paths: Vec<String> = args
            .scan
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "provcheck: nothing to check under {}: no Terraform resource, Kubernetes object, \
             compose service or Dockerfile found{}",
            paths.join(", "),
            if args.allow_empty {
                " (--allow-empty: not an error)"
            } else {
                ""
            }
        );
        if !args.allow_empty && !failed_write {
            code = ExitCode::from(EXIT_ERROR);
        }
    }
    leave(report);
    code
}

/// Leaves the report to the end of the process: freeing a large tree's
/// resources and findings one by one takes a tenth of the run, and the
/// process is about to end.
fn leave<T>(value: T) {
    std::mem::forget(value);
}

/// The exit code of a checking run, `check`'s scheme.
fn exit_code(
    report: &Report,
    prepared: &Prepared,
    fail_on: Option<provcheck::cli::FailOnArg>,
    failed_write: bool,
) -> ExitCode {
    let fail_on = fail_on
        .map(FailOn::from)
        .or(prepared.config.fail_on)
        .unwrap_or(FailOn::Low);
    if failed_write || !report.errors.is_empty() {
        ExitCode::from(EXIT_ERROR)
    } else if report.findings.iter().any(|f| fail_on.fails(f.severity)) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::from(EXIT_CLEAN)
    }
}

fn inspect(args: &InspectArgs) -> ExitCode {
    let prepared = match prepare(&args.scan) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let record = Record {
        fail_on: args.fail_on,
        dirty: true,
    };
    let report = run(
        &args.scan,
        &prepared,
        args.baseline.as_deref(),
        Some(record),
    );
    let options = provcheck::inspect::Options {
        title: args.title.clone(),
        production: prepared.config.production.clone(),
    };
    let mut model = provcheck::inspect::build(&report, &prepared.rules, &options);
    if !prepared.config.environments.is_empty() {
        let sides = configured_environments(&args.scan, &prepared.config);
        match compare_environments(&sides, &provcheck::parity::Options::default()) {
            Ok(mut parity) => {
                // The report's own provenance covers the runs.
                parity.meta = None;
                model.parity = Some(parity);
            }
            Err(code) => return code,
        }
    }
    let format = args.format.unwrap_or_else(|| {
        match args
            .output
            .as_deref()
            .and_then(|o| o.extension())
            .and_then(|e| e.to_str())
        {
            Some("md" | "markdown") => InspectFormat::Markdown,
            Some("json") => InspectFormat::Json,
            _ => InspectFormat::Html,
        }
    });
    let default = match format {
        InspectFormat::Html => "provcheck-report.html",
        InspectFormat::Json => "provcheck-report.json",
        InspectFormat::Markdown => "provcheck-report.md",
    };
    let target = args
        .output
        .clone()
        .or_else(|| default_report_path(default, &args.scan.paths));
    let created = match &target {
        Some(path) => std::fs::File::create(path).map(|file| (file, path.clone())),
        None => create_temporary(default),
    };
    // Where the report went, or was meant to go.
    let path = match &created {
        Ok((_, path)) => path.clone(),
        Err(_) => target.unwrap_or_else(|| std::env::temp_dir().join(default)),
    };
    let written = created.and_then(|(mut file, _)| match format {
        // The page streams from its rendered parts: it can be large.
        InspectFormat::Html => provcheck::inspect::html::write(&model, &report, &mut file),
        InspectFormat::Json => provcheck::inspect::json::write(&model, &mut file),
        InspectFormat::Markdown => {
            file.write_all(provcheck::inspect::markdown::render(&model).as_bytes())
        }
    });
    let failed_write = match written {
        Ok(()) => {
            eprintln!("provcheck: wrote the report to {}", path.display());
            false
        }
        Err(err) => {
            eprintln!("provcheck: cannot write {}: {err}", path.display());
            true
        }
    };
    if !report.errors.is_empty() {
        let text = output::render(
            &report,
            &prepared.rules,
            OutputFormat::Compact,
            RenderOptions::default(),
        );
        for line in text.lines().filter(|l| l.contains(": error ")) {
            eprintln!("{line}");
        }
    }
    let code = exit_code(&report, &prepared, args.fail_on, failed_write);
    leave(model);
    leave(report);
    code
}

/// The sides of a `diff`: the scan of each, the folder its paths are
/// shown relative to, and its name.
struct DiffSides {
    base: (ScanArgs, PathBuf, provcheck::diff::Side),
    head: (ScanArgs, PathBuf, provcheck::diff::Side),
    /// The base revision written out, removed when dropped.
    _scratch: Option<tempfile::TempDir>,
}

fn diff_sides(args: &DiffArgs) -> Result<DiffSides, String> {
    let side = |scan: &ScanArgs, paths: Vec<PathBuf>| ScanArgs {
        paths,
        ..scan.clone()
    };
    let named = |label: String, commit: Option<String>| provcheck::diff::Side { label, commit };
    let Some(rev) = &args.git else {
        let [base, head] = args.scan.paths.as_slice() else {
            return Err("give two folders, BASE and HEAD, or --git REV [PATH...]".into());
        };
        for folder in [base, head] {
            if !folder.is_dir() {
                return Err(format!("{} is not a folder", folder.display()));
            }
        }
        // Each tree's paths (and so its fingerprints) are relative to its
        // own folder, so the same file matches on both sides.
        let root = |p: &PathBuf| read::absolute(p);
        return Ok(DiffSides {
            base: (
                side(&args.scan, vec![base.clone()]),
                root(base),
                named(base.display().to_string(), None),
            ),
            head: (
                side(&args.scan, vec![head.clone()]),
                root(head),
                named(head.display().to_string(), None),
            ),
            _scratch: None,
        });
    };
    let start = args
        .scan
        .paths
        .first()
        .map_or_else(|| PathBuf::from("."), Clone::clone);
    let absolute = read::absolute(&start);
    let top = absolute
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} is not inside a git work tree", start.display()))?;
    // The paths as the repository names them, from its top.
    let mut prefixes = Vec::new();
    for path in &args.scan.paths {
        let full = read::absolute(path);
        let relative = full.strip_prefix(&top).map_err(|_| {
            format!(
                "{} is outside the work tree {}",
                path.display(),
                top.display()
            )
        })?;
        prefixes.push(relative.to_string_lossy().replace('\\', "/"));
    }
    let scratch = tempfile::Builder::new()
        .prefix("provcheck-diff-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let base_root = scratch.path().join("tree");
    std::fs::create_dir(&base_root).map_err(|e| format!("{}: {e}", base_root.display()))?;
    let extracted = provcheck::git::extract(&top, rev, &prefixes, &base_root)?;
    for skipped in &extracted.skipped {
        eprintln!("provcheck: {rev}: left out {skipped}");
    }
    // A path the revision does not have is an empty base (the change
    // adds it).
    let base_paths: Vec<PathBuf> = prefixes
        .iter()
        .map(|p| base_root.join(p))
        .filter(|p| p.exists())
        .collect();
    let base_paths = if base_paths.is_empty() {
        vec![base_root.clone()]
    } else {
        base_paths
    };
    Ok(DiffSides {
        base: (
            side(&args.scan, base_paths),
            base_root,
            named(rev.clone(), Some(extracted.commit)),
        ),
        head: (
            side(&args.scan, args.scan.paths.clone()),
            top,
            named("work tree".into(), None),
        ),
        _scratch: Some(scratch),
    })
}

/// A side's folder and scanned paths, as given and as resolved, longest
/// first.
fn roots<T>((scan, root, _): &(ScanArgs, PathBuf, T)) -> Vec<String> {
    let mut out: Vec<String> = std::iter::once(root)
        .chain(&scan.paths)
        .flat_map(|p| {
            [
                p.display().to_string(),
                read::absolute(p).display().to_string(),
            ]
        })
        .chain(root.canonicalize().ok().map(|p| p.display().to_string()))
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.len()));
    out.dedup();
    out
}

/// A JSON report as the files hold it: indented, ending in a line break.
fn pretty_json(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn diff(args: &DiffArgs) -> ExitCode {
    let sides = match diff_sides(args) {
        Ok(sides) => sides,
        Err(message) => {
            eprintln!("provcheck: {message}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let prepare_side = |(scan, root, _): &(ScanArgs, PathBuf, provcheck::diff::Side)| {
        let mut prepared = prepare(scan)?;
        // Fingerprints hash paths relative to the project root: each
        // side's own, so that an unchanged file matches across sides.
        let root = root.canonicalize().unwrap_or_else(|_| root.clone());
        prepared.config.root = root.clone();
        prepared.config.report_root = root;
        Ok::<Prepared, ExitCode>(prepared)
    };
    let (base_prepared, head_prepared) =
        match (prepare_side(&sides.base), prepare_side(&sides.head)) {
            (Ok(b), Ok(h)) => (b, h),
            (Err(code), _) | (_, Err(code)) => return code,
        };
    let record = Record {
        fail_on: args.fail_on,
        dirty: true,
    };
    let (base, mut head) = rayon::join(
        || run(&sides.base.0, &base_prepared, None, None),
        || run(&sides.head.0, &head_prepared, None, Some(record)),
    );
    let fail_on = args
        .fail_on
        .map(FailOn::from)
        .or(head_prepared.config.fail_on)
        .unwrap_or(FailOn::Low);
    let diff = provcheck::diff::compare(
        provcheck::diff::Run {
            report: &base,
            rules: &base_prepared.rules,
            side: sides.base.2.clone(),
            roots: roots(&sides.base),
        },
        provcheck::diff::Run {
            report: &head,
            rules: &head_prepared.rules,
            side: sides.head.2.clone(),
            roots: roots(&sides.head),
        },
    );
    let fails = diff.fails(fail_on);
    let errors = !diff.errors.is_empty();
    let text = match args.format {
        DiffFormat::Human => provcheck::diff::render::human(&diff),
        DiffFormat::Markdown => provcheck::diff::render::markdown(&diff),
        DiffFormat::Json => pretty_json(&diff),
        DiffFormat::Sarif => {
            // Code scanning shows what the change introduced: the head's
            // added findings only.
            let added: std::collections::HashSet<String> =
                diff.added_fingerprints().into_iter().collect();
            drop(diff);
            head.findings.retain(|f| added.contains(&f.fingerprint));
            head.suppressed.clear();
            head.undecided.clear();
            output::render(
                &head,
                &head_prepared.rules,
                OutputFormat::Sarif,
                RenderOptions::default(),
            )
        }
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| eprintln!("provcheck: cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| eprintln!("provcheck: cannot write the report: {e}")),
    };
    let code = if errors || written.is_err() {
        EXIT_ERROR
    } else if fails {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    leave(base);
    leave(head);
    ExitCode::from(code)
}

/// An environment `parity` compares: its name, its scan (its folder and
/// variable files) and its folder as the reader named it.
struct EnvironmentSide {
    name: String,
    scan: ScanArgs,
    root: PathBuf,
}

/// The configuration's environments, the reference first.
fn configured_environments(scan: &ScanArgs, config: &Config) -> Vec<EnvironmentSide> {
    let mut sides: Vec<EnvironmentSide> = config
        .environments
        .iter()
        .map(|e| EnvironmentSide {
            name: e.name.clone(),
            scan: ScanArgs {
                paths: vec![e.path.clone()],
                var_files: scan.var_files.iter().chain(&e.var_files).cloned().collect(),
                ..scan.clone()
            },
            root: e.path.clone(),
        })
        .collect();
    sides.sort_by_key(|s| s.name != provcheck::parity::REFERENCE);
    sides
}

/// The environments of a `parity` run, the reference first: two folders
/// (A compared against B, or against the one named `production`), or the
/// configuration's `environments`.
fn parity_environments(args: &ParityArgs) -> Result<Vec<EnvironmentSide>, ExitCode> {
    let usage = |message: String| {
        eprintln!("provcheck: {message}");
        ExitCode::from(EXIT_ERROR)
    };
    match args.scan.paths.as_slice() {
        [a, b] => {
            for folder in [a, b] {
                if !folder.is_dir() {
                    return Err(usage(format!("{} is not a folder", folder.display())));
                }
            }
            let names: Vec<String> = match args.names.as_slice() {
                [] => {
                    let name = |p: &PathBuf| {
                        read::absolute(p)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| p.display().to_string())
                    };
                    if name(a) == name(b) {
                        vec![a.display().to_string(), b.display().to_string()]
                    } else {
                        vec![name(a), name(b)]
                    }
                }
                [x, y] if x != y => vec![x.clone(), y.clone()],
                _ => {
                    return Err(usage(
                        "give two different --name values, one for each folder".into(),
                    ))
                }
            };
            let mut sides: Vec<EnvironmentSide> = [a, b]
                .into_iter()
                .zip(names)
                .map(|(folder, name)| EnvironmentSide {
                    name,
                    scan: ScanArgs {
                        paths: vec![folder.clone()],
                        ..args.scan.clone()
                    },
                    root: folder.clone(),
                })
                .collect();
            // B is the reference, unless A is named production.
            if sides[0].name == provcheck::parity::REFERENCE {
                sides.swap(0, 1);
            } else {
                sides.reverse();
            }
            Ok(sides)
        }
        [start] => {
            if !args.names.is_empty() {
                return Err(usage(
                    "--name names the two folders; configured environments have their names".into(),
                ));
            }
            let config = match Config::load(args.scan.config.as_deref(), start) {
                Ok(config) => config,
                Err(errors) => {
                    print_errors(errors, "configuration file");
                    return Err(ExitCode::from(EXIT_ERROR));
                }
            };
            if config.environments.is_empty() {
                return Err(usage(
                    "give two folders, A and B, or name `environments` in .provcheck.yaml".into(),
                ));
            }
            Ok(configured_environments(&args.scan, &config))
        }
        _ => Err(usage(
            "give two folders, A and B, or none to compare the configured environments".into(),
        )),
    }
}

/// Runs every environment (each with its own folder as the report root,
/// so that systems and paths are relative to it) and compares them.
fn compare_environments(
    sides: &[EnvironmentSide],
    options: &provcheck::parity::Options,
) -> Result<provcheck::parity::Parity, ExitCode> {
    use rayon::prelude::*;
    let mut prepared = Vec::new();
    for side in sides {
        let mut p = prepare(&side.scan)?;
        p.config.report_root = side
            .root
            .canonicalize()
            .unwrap_or_else(|_| side.root.clone());
        prepared.push(p);
    }
    let mut options = options.clone();
    for p in &prepared {
        options
            .ignore
            .extend(p.config.parity_ignore.iter().cloned());
    }
    let reports: Vec<Report> = sides
        .par_iter()
        .zip(&prepared)
        .enumerate()
        .map(|(i, (side, p))| {
            let record = (i == 0).then_some(Record {
                fail_on: None,
                dirty: true,
            });
            run(&side.scan, p, None, record)
        })
        .collect();
    let mut runs = sides
        .iter()
        .zip(&prepared)
        .zip(&reports)
        .map(|((side, p), report)| provcheck::parity::Run {
            report,
            rules: &p.rules,
            name: side.name.clone(),
            root: side.root.display().to_string(),
            roots: roots(&(side.scan.clone(), side.root.clone(), ())),
        });
    let Some(reference) = runs.next() else {
        return Err(ExitCode::from(EXIT_ERROR));
    };
    let parity = provcheck::parity::compare(reference, runs.collect(), &options);
    leave(reports);
    Ok(parity)
}

fn parity(args: &ParityArgs) -> ExitCode {
    let sides = match parity_environments(args) {
        Ok(sides) => sides,
        Err(code) => return code,
    };
    let options = provcheck::parity::Options {
        all: args.all,
        ignore: Vec::new(),
    };
    let parity = match compare_environments(&sides, &options) {
        Ok(parity) => parity,
        Err(code) => return code,
    };
    let text = match args.format {
        ParityFormat::Human => provcheck::parity::render::human(&parity),
        ParityFormat::Markdown => provcheck::parity::render::markdown(&parity),
        ParityFormat::Json => pretty_json(&parity),
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| eprintln!("provcheck: cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| eprintln!("provcheck: cannot write the report: {e}")),
    };
    if !parity.errors.is_empty() || written.is_err() {
        ExitCode::from(EXIT_ERROR)
    } else if parity.fails() {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::from(EXIT_CLEAN)
    }
}

/// Where a report goes when `--output` is not given: the current folder,
/// unless that is inside a scanned folder (a report must not land in the
/// repository it describes unless asked); then `None`, for a new file in
/// the temporary folder.
fn default_report_path(name: &str, scanned: &[PathBuf]) -> Option<PathBuf> {
    let here = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .unwrap_or_default();
    let inside = scanned.iter().any(|p| {
        p.is_dir()
            && p.canonicalize()
                .is_ok_and(|p| !here.as_os_str().is_empty() && here.starts_with(p))
    });
    if inside {
        None
    } else {
        Some(PathBuf::from(name))
    }
}

/// A new file in the temporary folder named like `name`
/// (`provcheck-report-1a2B3c.html`): created exclusively, so a link that
/// another user left there (at a name guessed in advance) is never
/// followed, and kept when the process ends.
fn create_temporary(name: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let suffix = format!(".{extension}");
    let prefix = format!("{stem}-");
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(&suffix)
        .tempfile_in(std::env::temp_dir())?
        .keep()
        .map_err(|e| e.error)
}

fn baseline(args: &BaselineArgs) -> ExitCode {
    let prepared = match prepare(&args.scan) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let report = run(&args.scan, &prepared, None, None);
    let text = suppress::baseline::render(&report);
    if let Err(err) = std::fs::write(&args.output, text) {
        eprintln!("provcheck: cannot write {}: {err}", args.output.display());
        return ExitCode::from(EXIT_ERROR);
    }
    eprintln!(
        "provcheck: wrote {} finding{} to {}",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        args.output.display()
    );
    if report.errors.is_empty() {
        ExitCode::from(EXIT_CLEAN)
    } else {
        let text = output::render(
            &report,
            &prepared.rules,
            OutputFormat::Compact,
            RenderOptions::default(),
        );
        for line in text.lines().filter(|l| l.contains(": error ")) {
            eprintln!("{line}");
        }
        ExitCode::from(EXIT_ERROR)
    }
}

fn rules(args: &RulesArgs) -> ExitCode {
    let mut rules = match load_rules(&args.rules) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    let severity = args.severity.map(provcheck::finding::Severity::from);
    rules.rules.retain(|r| {
        args.pack.as_ref().is_none_or(|p| &r.pack == p)
            && args
                .category
                .as_ref()
                .is_none_or(|c| r.category.as_str() == c)
            && severity.is_none_or(|s| r.severity == s)
    });
    match args.format {
        // User rules' text is theirs: escaped like every text report.
        RulesFormat::Table => print!("{}", output::escape::escape_lines(&explain::table(&rules))),
        RulesFormat::Json => println!("{}", explain::json(&rules)),
    }
    ExitCode::from(EXIT_CLEAN)
}

fn explain_rule(args: &ExplainArgs) -> ExitCode {
    let rules = match load_rules(&args.rules) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    match rules.get(&args.rule_id) {
        Some(rule) => {
            let page = match args.format {
                provcheck::cli::ExplainFormat::Text => explain::explain(rule),
                provcheck::cli::ExplainFormat::Markdown => explain::markdown(rule),
            };
            print!("{}", output::escape::escape_lines(&page));
            ExitCode::from(EXIT_CLEAN)
        }
        None => {
            let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
            let hint = provcheck::config::closest(&args.rule_id, &ids)
                .map(|id| format!(" Did you mean `{id}`?"))
                .unwrap_or_default();
            eprintln!(
                "provcheck: no rule `{}`;{hint} `provcheck rules` lists them all.",
                args.rule_id
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}
