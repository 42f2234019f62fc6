//! The provcheck binary: arguments -> rules -> check -> render -> exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use provcheck::cli::{CheckArgs, Cli, ColorArg, Command, ExplainArgs, RuleArgs};
use provcheck::output::{self, RenderOptions};
use provcheck::ruleset::RuleSet;
use provcheck::{explain, Report};

/// No findings, no errors.
const EXIT_CLEAN: u8 = 0;
/// Findings.
const EXIT_FINDINGS: u8 = 1;
/// Errors: unreadable or unparsable input, bad rules, bad usage.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules(args) => rules(&args),
        Command::Explain(args) => explain_rule(&args),
    }
}

fn load_rules(args: &RuleArgs) -> Result<RuleSet, ExitCode> {
    let (rules, errors) = RuleSet::load(&args.rule_dirs);
    if errors.is_empty() {
        return Ok(rules);
    }
    // Rule errors are rendered like input errors, against the rule file.
    let mut report = Report::default();
    for error in &errors {
        if let Ok(text) = std::fs::read_to_string(&error.path) {
            report
                .files
                .push(provcheck::source::SourceFile::new(error.path.clone(), text));
        }
    }
    report.errors = errors;
    let text = output::render(
        &report,
        &rules,
        output::OutputFormat::Compact,
        RenderOptions::default(),
    );
    eprint!("{text}");
    eprintln!("provcheck: fix the rule files above; nothing was checked.");
    Err(ExitCode::from(EXIT_ERROR))
}

fn check(args: &CheckArgs) -> ExitCode {
    let rules = match load_rules(&args.rules) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    let report = provcheck::check(&args.paths, &rules);
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let options = RenderOptions {
        show_undecided: args.show_undecided,
        color,
    };
    let text = output::render(&report, &rules, args.format.into(), options);
    let written = match &args.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes()).map_err(|e| (path.display().to_string(), e))
        }
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| ("standard output".to_string(), e)),
    };
    if let Err((target, err)) = written {
        eprintln!("provcheck: cannot write the report to {target}: {err}");
        return ExitCode::from(EXIT_ERROR);
    }
    if !report.errors.is_empty() {
        ExitCode::from(EXIT_ERROR)
    } else if !report.findings.is_empty() {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::from(EXIT_CLEAN)
    }
}

fn rules(args: &RuleArgs) -> ExitCode {
    let rules = match load_rules(args) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    print!("{}", explain::table(&rules));
    ExitCode::from(EXIT_CLEAN)
}

fn explain_rule(args: &ExplainArgs) -> ExitCode {
    let rules = match load_rules(&args.rules) {
        Ok(rules) => rules,
        Err(code) => return code,
    };
    match rules.get(&args.rule_id) {
        Some(rule) => {
            print!("{}", explain::explain(rule));
            ExitCode::from(EXIT_CLEAN)
        }
        None => {
            eprintln!(
                "provcheck: no rule `{}`; `provcheck rules` lists them all.",
                args.rule_id
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}
