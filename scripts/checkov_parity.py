#!/usr/bin/env python3
"""Agreement between provcheck's rules and Checkov's own test fixtures.

For each provcheck rule mapped to a Checkov check (the map is
scripts/checkov_map/<pack>.json), this runs provcheck on the cases
Checkov's unit tests use for that check and compares the verdicts with
the ones the tests expect:

- a fixture folder, tests/terraform/checks/resource/<provider>/example_<Check>/,
  with the `passing_resources` / `failing_resources` sets of
  test_<Check>.py;
- otherwise the cases written inside test_<Check>.py: a `resource_conf`
  dict (rendered back to HCL as a resource of the check's first supported
  type) or an `hcl2.loads(...)` string, with the CheckResult the test
  asserts. UNKNOWN and SKIPPED cases are left out.

A resource is `fail` when provcheck reports the mapped rule on it,
`undecided` when the result depends on unknown values, `pass` otherwise.
Disagreements listed in the map with a reason are "explained"; the others
are flagged. Nothing from Checkov is run or imported: its test files are
read as text (Python's `ast`), so Checkov need not be installed.

Usage:
    scripts/checkov_parity.py PACK [--map FILE] [--checkov DIR]
                              [--provcheck BIN] [--format markdown|json]

PACK is a pack name (aws, gcp, azure) or its folder (rules/aws); the map
defaults to scripts/checkov_map/<pack>.json. The map is a JSON list of
{"rule", "check", "id", "provider"?, "note"?, "explained"?: {address: reason},
"invalid"?: {address: reason}, "cases"?: {address: "pass"|"fail"}}:

- "check" is the name of Checkov's test, test_<check>.py;
- "invalid" lists fixtures Terraform itself would reject, reported but
  left out of the figures;
- "cases" gives the verdicts of a test that asserts only how many
  resources of its fixture folder pass and fail, naming none (read from
  the fixture, e.g. its resource names); they must add up to the counts
  the test asserts, or the check is reported as a problem;
- an entry whose "rule" is null is a Checkov check examined and left out
  (no provcheck rule means the same); its "note" says why. It is listed,
  never run, and not counted.

Exit status: 0 when every disagreement is explained and every check left
out says why, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKOV = Path("/work/corpora/bridgecrewio__checkov")


@dataclass
class Case:
    """One resource Checkov's tests give a verdict on."""

    address: str
    expected: str  # "pass" | "fail"


@dataclass
class Outcome:
    rule: str
    check: str
    check_id: str
    source: str = ""
    cases: list[Case] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Cases Terraform itself would reject, with the reason: left out of
    # the agreement figures.
    invalid: dict[str, str] = field(default_factory=dict)


# --- reading Checkov's tests -------------------------------------------------


def string_set(node: ast.AST) -> set[str] | None:
    """The strings of a set/list/tuple literal."""
    if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
        out = set()
        for elt in node.elts:
            if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                out.add(elt.value)
            else:
                return None
        return out
    return None


def folder_cases(test: ast.Module) -> list[Case] | None:
    """The expected sets of a fixture-folder test."""
    sets: dict[str, set[str]] = {}
    for node in ast.walk(test):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in (
                "passing_resources",
                "failing_resources",
            ):
                found = string_set(node.value)
                if found is not None:
                    sets[target.id] = found
    if not sets:
        return None
    cases = [Case(a, "pass") for a in sorted(sets.get("passing_resources", ()))]
    cases += [Case(a, "fail") for a in sorted(sets.get("failing_resources", ()))]
    return cases


def summary_counts(test: ast.Module) -> dict[str, int]:
    """`{"passed": n, "failed": m}` from `assertEqual(summary['passed'], n)`."""
    out: dict[str, int] = {}
    for node in ast.walk(test):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "assertEqual"):
            continue
        if len(node.args) != 2:
            continue
        key, value = node.args
        if (
            isinstance(key, ast.Subscript)
            and isinstance(key.slice, ast.Constant)
            and key.slice.value in ("passed", "failed")
            and isinstance(value, ast.Constant)
            and isinstance(value.value, int)
        ):
            out[key.slice.value] = value.value
    return out


def expected_result(fn: ast.FunctionDef) -> str | None:
    """`pass`/`fail` from `assertEqual(CheckResult.X, ...)`; None otherwise."""
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "assertEqual":
            continue
        for arg in node.args:
            if (
                isinstance(arg, ast.Attribute)
                and isinstance(arg.value, ast.Name)
                and arg.value.id == "CheckResult"
            ):
                return {"PASSED": "pass", "FAILED": "fail"}.get(arg.attr)
    return None


def inline_cases(test: ast.Module) -> list[tuple[str, object, str]]:
    """(test name, dict conf or HCL text, expected) of each inline test."""
    out = []
    for fn in ast.walk(test):
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test"):
            continue
        expected = expected_result(fn)
        if expected is None:
            continue
        conf: object = None
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "loads":
                if node.args and isinstance(node.args[0], ast.Constant):
                    conf = str(node.args[0].value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                try:
                    conf = ast.literal_eval(node.value)
                except ValueError:
                    conf = None
        if conf is not None:
            out.append((fn.name, conf, expected))
    return out


def supported_type(check_source: str) -> str | None:
    """The first resource type a Checkov check supports."""
    match = re.search(r"supported_resources\s*=\s*[\(\[]\s*['\"]([a-z0-9_]+)['\"]", check_source)
    return match.group(1) if match else None


# --- HCL rendering of a Checkov conf ------------------------------------------


def hcl_scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hcl_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {hcl_scalar(v)}" for k, v in value.items()) + " }"
    text = str(value)
    return json.dumps(text)


def hcl_body(conf: dict, indent: str) -> list[str]:
    lines = []
    for key, value in conf.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(key)) or key in ("__start_line__", "__end_line__"):
            continue
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if key == "tags":
                lines.append(f"{indent}{key} = {hcl_scalar(value[0])}")
                continue
            for block in value:
                lines.append(f"{indent}{key} {{")
                lines.extend(hcl_body(block, indent + "  "))
                lines.append(f"{indent}}}")
            continue
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        lines.append(f"{indent}{key} = {hcl_scalar(value)}")
    return lines


def render(resource_type: str, name: str, conf: dict) -> str:
    return "\n".join([f'resource "{resource_type}" "{name}" {{', *hcl_body(conf, "  "), "}", ""])


# --- running provcheck ----------------------------------------------------------


def run_provcheck(binary: str, folder: Path, rule_dir: Path | None) -> dict:
    args = [binary, "check", "--format", "json", "--show-undecided"]
    if rule_dir is not None:
        args += ["--rules", str(rule_dir)]
    args.append(str(folder))
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"provcheck failed on {folder}: {done.stderr.strip()[:300]}")


def verdicts(report: dict, rule: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in report.get("undecided", []):
        if f["rule_id"] == rule:
            out[f["resource"]] = "undecided"
    for f in report.get("findings", []):
        if f["rule_id"] == rule:
            out[f["resource"]] = "fail"
    return out


def strip_index(address: str) -> str:
    return re.sub(r"\[[^\]]*\]$", "", address)


# --- one check -------------------------------------------------------------------


def evaluate(entry: dict, checkov: Path, binary: str, rule_dir: Path | None) -> Outcome:
    check = entry["check"]
    provider = entry.get("provider", "aws")
    outcome = Outcome(entry["rule"], check, entry.get("id", ""))
    tests = checkov / "tests/terraform/checks/resource" / provider
    test_file = tests / f"test_{check}.py"
    if not test_file.is_file():
        outcome.problems.append(f"no {test_file.relative_to(checkov)}")
        return outcome
    text = test_file.read_text(encoding="utf-8")
    module = ast.parse(text)
    # The folder the test names (it may differ from the test's name).
    named = re.search(r"[\"']/?(example_\w+)[\"'/]", text)
    folder = tests / (named.group(1) if named else f"example_{check}")
    cases = folder_cases(module) if folder.is_dir() else None
    if cases is None and folder.is_dir() and entry.get("cases"):
        cases = [Case(a, v) for a, v in sorted(entry["cases"].items())]
        counts = summary_counts(module)
        given = {
            "passed": sum(1 for c in cases if c.expected == "pass"),
            "failed": sum(1 for c in cases if c.expected == "fail"),
        }
        if counts != given:
            outcome.problems.append(f"the map's cases give {given}, the test asserts {counts}")
    if cases is not None:
        outcome.source = f"{folder.name}/"
        outcome.cases = cases
        report = run_provcheck(binary, folder, rule_dir)
        if report.get("errors"):
            outcome.problems.append(f"{len(report['errors'])} file errors")
        found = verdicts(report, entry["rule"])
        for case in cases:
            outcome.verdicts[case.address] = found.get(case.address, "pass")
        return outcome
    # The check module the test imports (a test's name may differ from it).
    imported = re.search(
        r"from checkov\.terraform\.checks\.resource\.([a-z0-9_.]+)\.(\w+) import",
        text,
    )
    check_file = (
        checkov / "checkov/terraform/checks/resource" / imported.group(1).replace(".", "/") / f"{imported.group(2)}.py"
        if imported
        else checkov / "checkov/terraform/checks/resource" / provider / f"{check}.py"
    )
    resource_type = supported_type(check_file.read_text(encoding="utf-8")) if check_file.is_file() else None
    outcome.source = f"test_{check}.py (inline)"
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        for name, conf, expected in inline_cases(module):
            if isinstance(conf, dict):
                if resource_type is None:
                    outcome.problems.append("no supported resource type for dict confs")
                    continue
                text = render(resource_type, name, conf)
                address = f"{resource_type}.{name}"
            else:
                heads = re.findall(r'resource\s+"([^"]+)"\s+"([^"]+)"', conf)
                if len(heads) != 1:
                    outcome.problems.append(f"{name}: {len(heads)} resources in its HCL")
                    continue
                # Renamed, so that cases of one test file cannot collide.
                text = re.sub(r'(resource\s+"[^"]+"\s+)"[^"]+"', rf'\1"{name}"', conf, count=1)
                address = f"{heads[0][0]}.{name}"
            Path(tmp, f"{name}.tf").write_text(text, encoding="utf-8")
            outcome.cases.append(Case(address, expected))
        if outcome.cases:
            report = run_provcheck(binary, Path(tmp), rule_dir)
            if report.get("errors"):
                outcome.problems.append(
                    "file errors: " + "; ".join(e.get("message", "")[:80] for e in report["errors"])
                )
            found = verdicts(report, entry["rule"])
            for case in outcome.cases:
                outcome.verdicts[case.address] = found.get(case.address, "pass")
    return outcome


# --- report ------------------------------------------------------------------------


def disagreements(outcome: Outcome, explained: dict[str, str]):
    for case in outcome.cases:
        if case.address in outcome.invalid:
            continue
        got = outcome.verdicts.get(case.address, "pass")
        if got != case.expected:
            reason = explained.get(case.address) or explained.get(strip_index(case.address)) or explained.get("*")
            yield case, got, reason


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pack", help="pack name (aws) or folder (rules/aws)")
    parser.add_argument("--map", type=Path, help="the rule-to-check map (JSON)")
    parser.add_argument("--checkov", type=Path, default=Path(os.environ.get("CHECKOV_REPO", DEFAULT_CHECKOV)))
    parser.add_argument("--provcheck", default=os.environ.get("PROVCHECK", str(ROOT / "target/debug/provcheck")))
    parser.add_argument("--rules", type=Path, help="extra rules folder handed to provcheck --rules")
    parser.add_argument("--format", choices=["markdown", "json"], default="markdown")
    args = parser.parse_args()
    pack = Path(args.pack).name
    mapping = args.map or ROOT / "scripts/checkov_map" / f"{pack}.json"
    if not mapping.is_file():
        print(f"no map at {mapping}", file=sys.stderr)
        return 2
    if not (args.checkov / "tests/terraform/checks").is_dir():
        print(f"no Checkov repository at {args.checkov}", file=sys.stderr)
        return 2
    if not Path(args.provcheck).is_file():
        print(f"no provcheck binary at {args.provcheck} (cargo build first)", file=sys.stderr)
        return 2
    entries = json.loads(mapping.read_text(encoding="utf-8"))
    left_out = [e for e in entries if e.get("rule") is None]
    entries = [e for e in entries if e.get("rule") is not None]
    rows = []
    total = agree = unexplained = invalid_total = 0
    for entry in entries:
        outcome = evaluate(entry, args.checkov, args.provcheck, args.rules)
        outcome.invalid = {
            c.address: entry["invalid"][c.address] for c in outcome.cases if c.address in entry.get("invalid", {})
        }
        explained = entry.get("explained", {})
        diffs = list(disagreements(outcome, explained))
        n = len(outcome.cases) - len(outcome.invalid)
        invalid_total += len(outcome.invalid)
        total += n
        agree += n - len(diffs)
        unexplained += sum(1 for d in diffs if d[2] is None)
        rows.append((entry, outcome, diffs))
    if args.format == "json":
        print(
            json.dumps(
                {
                    "resources": total,
                    "agree": agree,
                    "unexplained": unexplained,
                    "invalid": invalid_total,
                    "checks": [
                        {
                            "rule": e["rule"],
                            "check": e["check"],
                            "id": e.get("id", ""),
                            "source": o.source,
                            "resources": len(o.cases) - len(o.invalid),
                            "agree": len(o.cases) - len(o.invalid) - len(d),
                            "invalid": o.invalid,
                            "problems": o.problems,
                            "disagreements": [
                                {"resource": c.address, "checkov": c.expected, "provcheck": got, "reason": why}
                                for c, got, why in d
                            ],
                        }
                        for e, o, d in rows
                    ],
                    "left_out": [
                        {"check": e["check"], "id": e.get("id", ""), "note": e.get("note", "")} for e in left_out
                    ],
                },
                indent=2,
            )
        )
    else:
        print("| Checkov check | provcheck rule | resources | agree | disagree (reason) |")
        print("| --- | --- | ---: | ---: | --- |")
        for entry, outcome, diffs in rows:
            notes = []
            for case, got, why in diffs:
                notes.append(f"`{case.address}` Checkov {case.expected}, provcheck {got}: {why or 'UNEXPLAINED'}")
            notes += [f"`{a}` left out, not valid Terraform: {why}" for a, why in outcome.invalid.items()]
            notes += [f"({p})" for p in outcome.problems]
            counted = len(outcome.cases) - len(outcome.invalid)
            print(
                f"| {entry.get('id', '')} {entry['check']} | {entry['rule']} | {counted} | "
                f"{counted - len(diffs)} | {'<br>'.join(notes) or '—'} |"
            )
        if left_out:
            print()
            print("Checks left out (no provcheck rule means the same):")
            print()
            print("| Checkov check | why |")
            print("| --- | --- |")
            for entry in left_out:
                print(f"| {entry.get('id', '')} {entry['check']} | {entry.get('note') or 'NO REASON GIVEN'} |")
        share = 100.0 * agree / total if total else 0.0
        print()
        print(
            f"{agree} of {total} resources agree ({share:.1f}%); {unexplained} disagreements unexplained; "
            f"{invalid_total} fixtures left out as not valid Terraform."
        )
    unreasoned = sum(1 for e in left_out if not e.get("note"))
    return 1 if unexplained or unreasoned else 0


if __name__ == "__main__":
    sys.exit(main())
