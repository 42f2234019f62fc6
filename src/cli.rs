//! The command line, as clap parses it. No I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::FailOn;
use crate::output::OutputFormat;

const EXAMPLES: &str = "\
Examples:
  provcheck check                      check the current folder
  provcheck check infra/ modules/db    check some folders
  provcheck check --format json --output provcheck.json .
  provcheck check --format compact main.tf network.tf
  provcheck check --format sarif --output provcheck.sarif --format human .
  provcheck check --rules ./policy-rules .
  provcheck check --fail-on high --baseline .provcheck-baseline.json .
  provcheck baseline .                 accept today's findings
  provcheck rules                      list every rule
  provcheck explain aws-rds-storage-unencrypted

Exit codes: 0 no findings at or above --fail-on (default: low), 1 such
findings, 2 errors (a file that does not parse, a bad rule, config or
waivers file, bad usage, nothing to check without --allow-empty), even
when there are findings too.";

/// Checks Terraform against the company's provisioning baselines:
/// encryption, private networks, backups, audit logging and approval
/// evidence, each finding tied to its policy clause and source line.
#[derive(Debug, Parser)]
#[command(name = "provcheck", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files and folders for policy violations.
    #[command(after_help = EXAMPLES)]
    Check(CheckArgs),
    /// List every rule: id, severity, category and title.
    Rules(RulesArgs),
    /// Show a rule's description, policy clauses, remediation and examples.
    Explain(ExplainArgs),
    /// Write today's findings to a baseline file, so that `check
    /// --baseline` reports only new ones.
    Baseline(BaselineArgs),
    /// Write the security officer's inspection report: inventory,
    /// data-store protection matrix, exposure, policy clauses, checklist.
    Inspect(InspectArgs),
    /// Review a change: the findings it adds and resolves, the data-store
    /// controls it weakens, what it newly exposes (CMP 8.4.2).
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Compare environments: whether staging mirrors production (CMP
    /// 8.2.8) — missing resources, control verdicts, significant
    /// attributes.
    #[command(after_help = PARITY_EXAMPLES)]
    Parity(ParityArgs),
}

const PARITY_EXAMPLES: &str = "\
Examples:
  provcheck parity envs/staging envs/production     compare two environment roots
  provcheck parity a/ b/ --name staging --name production
  provcheck parity                                  every configured environment against production
  provcheck parity --all --format markdown -o parity.md

Exit codes: 0 the environments' data stores and control verdicts agree,
1 a control verdict differs or a data store is missing from one, 2 errors
in either environment or bad usage.";

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// Two environment roots, A compared against B; or none (or one
    /// folder to find the configuration from) to compare the
    /// configuration's `environments` against `production`.
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Name the environments, in the order of the folders (default: the
    /// folders' names).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Also list sizes and counts (instance classes, storage, replicas,
    /// node counts), which are expected to differ.
    #[arg(long)]
    pub all: bool,

    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = ParityFormat::Human)]
    pub format: ParityFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParityFormat {
    /// For a terminal or a CI log.
    Human,
    /// JSON (`version: 1`).
    Json,
    /// Markdown tables, for a review.
    Markdown,
}

const DIFF_EXAMPLES: &str = "\
Examples:
  provcheck diff before/ after/              compare two folders
  provcheck diff --git origin/main           the work tree against a revision
  provcheck diff --git HEAD~1 infra/         only infra/, on both sides
  provcheck diff --git origin/main --format markdown -o comment.md

Exit codes: 0 nothing added at or above --fail-on and no control went
from pass to fail, 1 otherwise, 2 errors on either side.";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// BASE and HEAD folders; with --git, the paths to compare on both
    /// sides (default: the work tree's top).
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Compare the work tree against this revision (a commit, branch or
    /// tag, as git names it), read from the repository's object store.
    #[arg(long, value_name = "REV")]
    pub git: Option<String>,

    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The lowest severity of an added finding that makes the run exit 1
    /// (default: low, or the head's configured fail-on).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// For a terminal or a CI log.
    Human,
    /// JSON (`version: 1`).
    Json,
    /// A pull-request comment.
    Markdown,
    /// SARIF 2.1.0 with only the added findings.
    Sarif,
}

#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add a folder of user rules (YAML, same format as the built-in ones).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
}

/// What every command that checks shares: where to look, and the files
/// that shape the run.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Files and folders to check. A file is checked with the files beside
    /// it for context, but only its own findings are reported.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Run only these rules, categories or packs (repeatable or
    /// comma-separated; replaces the configuration's `select`).
    #[arg(
        long,
        visible_alias = "check",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub select: Vec<String>,

    /// Do not run these rules, categories or packs (repeatable or
    /// comma-separated; adds to the configuration's `ignore`).
    #[arg(
        long,
        visible_alias = "skip-check",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub ignore: Vec<String>,

    /// Do not check paths matching this glob, relative to the project
    /// root (repeatable; adds to the configuration's `exclude`).
    #[arg(long, visible_alias = "skip-path", value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// The configuration file (default: the nearest .provcheck.yaml at or
    /// above the first PATH).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The waivers file (default: .provcheck-waivers.yaml beside the
    /// configuration file or at the project root).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,

    /// Ignore every `provcheck:ignore` comment (for security reviews).
    #[arg(long)]
    pub no_inline_suppressions: bool,

    /// Set a Terraform root module variable, as `terraform -var` does.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Read Terraform variables from a .tfvars (or .tfvars.json) file, as
    /// `terraform -var-file` does.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,

    /// The folder of the `.tf` files a Terraform plan's JSON was made
    /// from (default: the plan's folder): its findings are then located
    /// at their `.tf` lines.
    #[arg(long = "source", value_name = "DIR")]
    pub source: Option<PathBuf>,

    /// Let `${NAME}` in compose files read this variable of provcheck's
    /// environment (repeatable). Without it, only the `.env` file beside
    /// the compose file is read: a pull request must not copy CI secrets
    /// into the report.
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,

    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Output format; repeat it for several reports in one run. Each
    /// --output belongs to the --format before it. Without any, each
    /// --output's extension names its format (.sarif, .json, .xml for
    /// JUnit, .md), else human.
    #[arg(long, short = 'f', value_enum, action = clap::ArgAction::Append)]
    pub format: Vec<FormatArg>,

    /// Write the report of the preceding --format to FILE instead of
    /// standard output.
    #[arg(long, short = 'o', value_name = "FILE", action = clap::ArgAction::Append)]
    pub output: Vec<PathBuf>,

    /// The lowest severity that makes the run exit 1 (default: low, or the
    /// configuration's fail-on).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,

    /// Report only findings whose fingerprints are not in this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Also list results that depend on values unknown statically.
    #[arg(long)]
    pub show_undecided: bool,

    /// Show only findings at or above this severity (the exit code still
    /// follows --fail-on over every finding; the summary counts the
    /// hidden ones).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<SeverityArg>,

    /// Findings only: no summary, configuration or provenance lines in
    /// the human and compact formats.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Exit 0, not 2, when nothing of a checked kind was found (for hooks
    /// handed whatever files are staged). The message is printed either way.
    #[arg(long)]
    pub allow_empty: bool,

    /// Colour in the human format: auto (when writing to a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// The baseline file to write.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = ".provcheck-baseline.json"
    )]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Report format (default: from --output's extension, .md or .json,
    /// else HTML).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<InspectFormat>,

    /// The report file (default: provcheck-report.html, .md or .json in
    /// the current folder, never inside the scanned tree).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The report's title.
    #[arg(long, default_value = "Provisioning inspection report")]
    pub title: String,

    /// The lowest severity that makes the run exit 1 (default: low, or the
    /// configuration's fail-on).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,

    /// Treat the findings recorded in FILE (from `provcheck baseline`) as
    /// accepted: they are listed with the suppressed ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Accepted for symmetry with `check`: the report always lists the
    /// results that depend on values unknown statically.
    #[arg(long, hide = true)]
    pub show_undecided: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// One self-contained HTML page (default).
    Html,
    /// JSON (`version: 1`).
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Critical,
    High,
    Medium,
    Low,
    Info,
    /// Findings never fail the run; errors still do.
    Never,
}

impl From<FailOnArg> for FailOn {
    fn from(arg: FailOnArg) -> FailOn {
        match arg {
            FailOnArg::Critical => FailOn::Critical,
            FailOnArg::High => FailOn::High,
            FailOnArg::Medium => FailOn::Medium,
            FailOnArg::Low => FailOn::Low,
            FailOnArg::Info => FailOn::Info,
            FailOnArg::Never => FailOn::Never,
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub rules: RuleArgs,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,

    /// Only rules of this pack (`aws`, `gcp`, `azure`, `kubernetes`, ...).
    #[arg(long)]
    pub pack: Option<String>,

    /// Only rules of this category (`encryption-at-rest`, `backup`, ...).
    #[arg(long)]
    pub category: Option<String>,

    /// Only rules of this severity.
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// One line a rule: id, pack, severity, category, title.
    Table,
    /// A JSON array: id, pack, severity, category, title, controls.
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule's id, as `provcheck rules` lists it.
    pub rule_id: String,

    /// `text` for a terminal, `markdown` for the page `docs/rules/` holds.
    #[arg(long, short = 'f', value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,

    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Graphical diagnostics with the source snippet.
    Human,
    /// One line a finding: file:line:col: severity rule message.
    Compact,
    /// Machine-readable JSON (stable shape, `version: 1`).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML: a test suite per rule, a test case per resource.
    Junit,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// A Markdown summary for pull-request comments.
    Markdown,
    /// GitLab's Code Quality report (JSON) for merge requests.
    Gitlab,
}

impl From<FormatArg> for OutputFormat {
    fn from(arg: FormatArg) -> OutputFormat {
        match arg {
            FormatArg::Human => OutputFormat::Human,
            FormatArg::Compact => OutputFormat::Compact,
            FormatArg::Json => OutputFormat::Json,
            FormatArg::Sarif => OutputFormat::Sarif,
            FormatArg::Junit => OutputFormat::Junit,
            FormatArg::Github => OutputFormat::Github,
            FormatArg::Markdown => OutputFormat::Markdown,
            FormatArg::Gitlab => OutputFormat::Gitlab,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// `NAME=VALUE` for `--var`.
fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}

/// A severity, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl From<SeverityArg> for crate::finding::Severity {
    fn from(arg: SeverityArg) -> crate::finding::Severity {
        use crate::finding::Severity;
        match arg {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::High => Severity::High,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Info => Severity::Info,
        }
    }
}
