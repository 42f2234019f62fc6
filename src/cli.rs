//! The command line, as clap parses it. No I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::OutputFormat;

const EXAMPLES: &str = "\
Examples:
  provcheck check                      check the current folder
  provcheck check infra/ modules/db    check some folders
  provcheck check --format json --output provcheck.json .
  provcheck check --format compact main.tf network.tf
  provcheck check --rules ./policy-rules .
  provcheck rules                      list every rule
  provcheck explain aws-rds-storage-unencrypted

Exit codes: 0 no findings, 1 findings, 2 errors (a file that does not
parse, a bad rule file, bad usage), even when there are findings too.";

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
    Rules(RuleArgs),
    /// Show a rule's description, policy clauses, remediation and examples.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Add a folder of user rules (YAML, same format as the built-in ones).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files and folders to check.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also list results that depend on values unknown statically.
    #[arg(long)]
    pub show_undecided: bool,

    /// Colour in the human format: auto (when writing to a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule's id, as `provcheck rules` lists it.
    pub rule_id: String,

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
}

impl From<FormatArg> for OutputFormat {
    fn from(arg: FormatArg) -> OutputFormat {
        match arg {
            FormatArg::Human => OutputFormat::Human,
            FormatArg::Compact => OutputFormat::Compact,
            FormatArg::Json => OutputFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}
