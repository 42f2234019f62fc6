//! Rule documentation for people: the `rules` table and `explain` pages,
//! generated from the rule files, never written twice.

use std::fmt::Write;

use crate::ruleset::{Check, Rule, RuleSet, Target};

/// One line a rule: id, pack (the folder the rule file is in: `aws`,
/// `gcp`, `azure`, ... or `user`), severity, category, title.
pub fn table(rules: &RuleSet) -> String {
    let width = |f: fn(&Rule) -> usize| rules.rules.iter().map(f).max().unwrap_or(0);
    let id_w = width(|r| r.id.as_str().len()).max(2);
    let pack_w = width(|r| r.pack.len()).max("pack".len());
    let sev_w = "severity".len();
    let cat_w = width(|r| r.category.as_str().len()).max("category".len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:id_w$}  {:pack_w$}  {:sev_w$}  {:cat_w$}  title",
        "id", "pack", "severity", "category"
    );
    for rule in &rules.rules {
        let _ = writeln!(
            out,
            "{:id_w$}  {:pack_w$}  {:sev_w$}  {:cat_w$}  {}",
            rule.id.as_str(),
            rule.pack,
            rule.severity.as_str(),
            rule.category.as_str(),
            rule.title
        );
    }
    let _ = writeln!(out, "\n{} rules", rules.rules.len());
    out
}

/// The rules as a JSON array, for tools: id, pack, severity, category,
/// title and policy clauses.
pub fn json(rules: &RuleSet) -> String {
    let list: Vec<serde_json::Value> = rules
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id.as_str(),
                "pack": r.pack,
                "severity": r.severity.as_str(),
                "category": r.category.as_str(),
                "title": r.title,
                "controls": r.controls,
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

/// A rule's page in Markdown, as `docs/rules/<id>.md` holds it and
/// `explain --format markdown` prints it: description, policy clauses,
/// how it is checked, the provider defaults it relies on, remediation and
/// its pass and fail examples.
pub fn markdown(rule: &Rule) -> String {
    let fence = match rule.target {
        Target::Terraform => "hcl",
        Target::Kubernetes | Target::Compose => "yaml",
        Target::Dockerfile => "dockerfile",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# `{}`: {}
",
        rule.id, rule.title
    );
    let _ = writeln!(
        out,
        "| | |
| --- | --- |"
    );
    let _ = writeln!(out, "| Pack | `{}` |", rule.pack);
    let _ = writeln!(out, "| Severity | {} |", rule.severity);
    let _ = writeln!(out, "| Category | `{}` |", rule.category);
    let _ = writeln!(out, "| Policy | {} |", rule.controls.join(", "));
    let applies = if rule.declared_types.is_empty() {
        "`provcheck:ignore` comments and waivers".to_string()
    } else {
        rule.declared_types
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "| Applies to | {applies} |");
    let _ = writeln!(
        out,
        "| Source | `{}` |
",
        rule.origin
    );
    let _ = writeln!(
        out,
        "{}
",
        rule.description.trim_end()
    );
    if let Check::Native(native) = &rule.check {
        let _ = writeln!(
            out,
            "## How it is checked

{}
",
            native.describe().trim()
        );
    }
    if !rule.defaults.is_empty() {
        let _ = writeln!(
            out,
            "## Provider defaults it relies on
"
        );
        for (pointer, value) in &rule.defaults {
            let _ = writeln!(out, "- `{pointer}`: `{value}` when left out");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Remediation

{}
",
        rule.remediation.trim_end()
    );
    if !rule.links.is_empty() {
        let _ = writeln!(
            out,
            "## Links
"
        );
        for link in &rule.links {
            let _ = writeln!(out, "- <{link}>");
        }
        out.push('\n');
    }
    for (i, example) in rule.examples.fail.iter().enumerate() {
        let _ = writeln!(
            out,
            "## Fails (example {}, finding on line {})\n\n```{fence}\n{}\n```\n",
            i + 1,
            example.line,
            example.code.trim_end()
        );
    }
    for (i, example) in rule.examples.pass.iter().enumerate() {
        let _ = writeln!(
            out,
            "## Passes (example {})\n\n```{fence}\n{}\n```\n",
            i + 1,
            example.trim_end()
        );
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

/// The index of `docs/rules/`: every rule by pack, linked to its page.
pub fn markdown_index(rules: &RuleSet) -> String {
    let mut out = String::from(
        "# provcheck rules\n\nGenerated from `rules/` by `provcheck explain --format markdown` \
         (the test `docs_rules_are_current` fails when a page is stale; \
         `UPDATE_DOCS=1 cargo test --test docs` rewrites them).\n\n\
         | Rule | Pack | Severity | Category | Title |\n| --- | --- | --- | --- | --- |\n",
    );
    for rule in &rules.rules {
        let _ = writeln!(
            out,
            "| [`{id}`]({id}.md) | {} | {} | {} | {} |",
            rule.pack,
            rule.severity,
            rule.category,
            rule.title.replace('|', "\\|"),
            id = rule.id
        );
    }
    out
}

/// The full page for one rule.
pub fn explain(rule: &Rule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", rule.id, rule.title);
    let _ = writeln!(out);
    let _ = writeln!(out, "pack:       {}", rule.pack);
    let _ = writeln!(out, "severity:   {}", rule.severity);
    let _ = writeln!(out, "category:   {}", rule.category);
    let _ = writeln!(out, "policy:     {}", rule.controls.join(", "));
    let applies = if rule.declared_types.is_empty() {
        "provcheck:ignore comments and waivers".to_string()
    } else {
        rule.declared_types.join(", ")
    };
    let _ = writeln!(out, "applies to: {applies}");
    let kind = match &rule.check {
        Check::Schema(_) => "JSON Schema assertion".to_string(),
        Check::Native(native) => format!("native check `{}`", native.name()),
    };
    let _ = writeln!(out, "check:      {kind}");
    let _ = writeln!(out, "source:     {}", rule.origin);
    let _ = writeln!(out, "\n{}", rule.description.trim_end());
    if let Check::Native(native) = &rule.check {
        let _ = writeln!(out, "\nHow it is checked:\n{}", wrap(&native.describe()));
    }
    let _ = writeln!(
        out,
        "\nRemediation:\n{}",
        indent(rule.remediation.trim_end())
    );
    if !rule.links.is_empty() {
        let _ = writeln!(out, "\nLinks:");
        for link in &rule.links {
            let _ = writeln!(out, "  {link}");
        }
    }
    for (i, example) in rule.examples.fail.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nFails (example {}, finding on line {}):\n{}",
            i + 1,
            example.line,
            indent(example.code.trim_end())
        );
    }
    for (i, example) in rule.examples.pass.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nPasses (example {}):\n{}",
            i + 1,
            indent(example.trim_end())
        );
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text as an indented paragraph of lines up to 76 columns, never
/// breaking inside a `code span`; a word longer than that (a long pattern)
/// gets a line of its own.
fn wrap(text: &str) -> String {
    const WIDTH: usize = 76;
    let mut words: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(open) if open.matches('`').count() % 2 == 1 => {
                open.push(' ');
                open.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in &words {
        if !line.is_empty() && 4 + line.chars().count() + 1 + word.chars().count() > WIDTH {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    indent(&lines.join("\n"))
}
