//! Throughput of a whole `check` on a large synthetic Terraform tree,
//! with the parse-only figure beside it, and what `inspect` costs on top
//! of the check (in the library, then the binary end to end).
//!
//! `cargo bench --bench check` (or `-- FILES` for another tree size, or
//! `-- staged` for the pre-commit run alone).
//! Generates the tree in a temporary folder, then times several runs of
//! each phase and reports the best and the median; phases compared with
//! each other run in turns, round by round.

// The allocator the `provcheck` binary uses, so the figures are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use provcheck::ruleset::RuleSet;

const DEFAULT_FILES: usize = 4000;
const RUNS: usize = 9;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_FILES);
    if !args.iter().any(|a| a == "staged") {
        whole_trees(files);
    }
    staged_file();
}

fn whole_trees(files: usize) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let bytes = generate(dir.path(), files);
    let paths = vec![dir.path().to_path_buf()];
    let (rules, errors) = RuleSet::load(&[]);
    assert!(errors.is_empty(), "{errors:?}");

    println!(
        "tree: {files} files, {:.1} MB, {} rules, {} threads",
        bytes as f64 / 1e6,
        rules.rules.len(),
        rayon::current_num_threads()
    );

    let mut resources = 0;
    let parse = time(|| {
        let sources = provcheck::load(&paths);
        let (parsed, errors) = provcheck::parse_all(&sources.files, &sources.formats);
        assert!(errors.is_empty());
        resources = parsed.len();
    });
    report("parse only", &parse, files, bytes);

    // Check, inspect's model and inspect with its page run in turns, one
    // of each per round, so that the machine slowing down or speeding up
    // (a shared VM here) weighs on all three alike; a ratio is the median
    // of the rounds' ratios.
    let mut findings = 0;
    let out = tempfile::tempdir().expect("temporary folder");
    let page_path = out.path().join("report.html");
    let [check, inspect, html] = rounds([
        &mut || {
            let report = provcheck::check(&paths, &rules);
            assert!(report.errors.is_empty());
            findings = report.findings.len();
        },
        &mut || {
            let report = provcheck::check(&paths, &rules);
            let model =
                provcheck::inspect::build(&report, &rules, &provcheck::inspect::Options::default());
            assert!(!model.inventory.is_empty());
        },
        // The default report: the model written as the HTML page to a
        // file, as `provcheck inspect` does (the check writes nothing).
        &mut || {
            let report = provcheck::check(&paths, &rules);
            let model =
                provcheck::inspect::build(&report, &rules, &provcheck::inspect::Options::default());
            let mut file = std::fs::File::create(&page_path).expect("create the page");
            provcheck::inspect::html::write(&model, &report, &mut file).expect("write the page");
        },
    ]);
    report("whole check", &check, files, bytes);
    report("inspect (check + model)", &inspect, files, bytes);
    report(
        "inspect --format html (check + model + page file)",
        &html,
        files,
        bytes,
    );
    let page = std::fs::metadata(&page_path).map_or(0, |m| m.len() / 1024);
    println!(
        "inspect / check (median of rounds): model {:.2}x, html {:.2}x ({} KiB page)",
        ratio(&inspect, &check),
        ratio(&html, &check),
        page
    );
    println!("({resources} blocks, {findings} findings per check)");

    // The same comparison as a user sees it: the binary, end to end, each
    // command writing its report to a file.
    let binary = env!("CARGO_BIN_EXE_provcheck");
    let tree = dir.path().to_string_lossy().into_owned();
    let command = |args: &[&str]| {
        let status = std::process::Command::new(binary)
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run provcheck");
        // 1: findings, as expected on this tree.
        assert_eq!(status.code(), Some(1), "provcheck {args:?}");
    };
    let json = out.path().join("check.json").to_string_lossy().into_owned();
    let html_file = out
        .path()
        .join("inspect.html")
        .to_string_lossy()
        .into_owned();
    let [cli_check, cli_inspect] = rounds([
        &mut || command(&["check", &tree, "--format", "json", "-o", &json]),
        &mut || command(&["inspect", &tree, "-o", &html_file]),
    ]);
    report("provcheck check --format json", &cli_check, files, bytes);
    report("provcheck inspect (html)", &cli_inspect, files, bytes);
    println!(
        "provcheck inspect / check --format json (median of rounds): {:.2}x",
        ratio(&cli_inspect, &cli_check)
    );

    // A multi-module tree: roots calling a shared module with for_each,
    // which calls a nested one, as live/<env>/<stack> repositories do.
    let modules_dir = tempfile::tempdir().expect("temporary folder");
    let (module_files, module_bytes) = generate_modules(modules_dir.path(), files / 10);
    let paths = vec![modules_dir.path().to_path_buf()];
    let mut instances = 0;
    let modules = time(|| {
        let report = provcheck::check(&paths, &rules);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        instances = report.resource_count();
    });
    println!(
        "modules tree: {module_files} files, {:.1} MB, {} roots",
        module_bytes as f64 / 1e6,
        files / 10
    );
    report("modules", &modules, module_files, module_bytes);
    println!("({instances} resource instances after expansion)");
}

/// Files in the pre-commit repository.
const STAGED_REPO_FILES: usize = 500;

/// A pre-commit run, as a hook makes it: the binary given one staged
/// file in a child module of a 500-file repository, which it evaluates
/// through the root modules that call it, found by a text pre-filter
/// over the repository's files.
fn staged_file() {
    let repo = tempfile::tempdir().expect("temporary folder");
    let (callers, bytes) = generate_repo(repo.path(), STAGED_REPO_FILES);
    println!(
        "pre-commit repository: {STAGED_REPO_FILES} files, {:.1} MB; modules/database called from {callers} roots",
        bytes as f64 / 1e6
    );
    let binary = env!("CARGO_BIN_EXE_provcheck");
    let run = |staged: &str| {
        let out = std::process::Command::new(binary)
            .args(["check", "--format", "compact", staged])
            .current_dir(repo.path())
            .output()
            .expect("run provcheck");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "provcheck check {staged}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    };
    // A file in the shared module, then one in a root (no callers to
    // evaluate it through), in turns.
    let staged = ["modules/database/main.tf", "live/qa/stack1/main.tf"];
    let (mut in_module, mut in_root) = (0, 0);
    let [module, root] = rounds([&mut || in_module = run(staged[0]), &mut || {
        in_root = run(staged[1])
    }]);
    for ((file, times), found) in staged.iter().zip([module, root]).zip([in_module, in_root]) {
        let mut times = times;
        times.sort();
        println!(
            "provcheck check {file:28} best {:5.1} ms  median {:5.1} ms  ({found} findings)",
            times[0].as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3,
        );
    }
}

/// Shared modules the generated repository's roots call.
const MODULES: [&str; 10] = [
    "database", "network", "bucket", "queue", "cache", "service", "cluster", "dns", "logging",
    "secrets",
];

/// A repository with `.git`, ten modules of three files each
/// (`modules/<name>/{main,variables,outputs}.tf`) and root modules
/// `live/<env>/stack<k>/main.tf` for the rest of `files`, each calling two
/// modules. Returns how many roots call `modules/database`, and the
/// bytes written.
fn generate_repo(root: &Path, files: usize) -> (usize, usize) {
    let mut total = 0;
    let mut write = |path: PathBuf, text: String| {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        total += text.len();
        std::fs::write(path, text).expect("write file");
    };
    std::fs::create_dir_all(root.join(".git")).expect("create .git");
    for name in MODULES {
        let dir = root.join("modules").join(name);
        write(
            dir.join("variables.tf"),
            r#"variable "name" { type = string }
variable "encrypted" {
  type    = bool
  default = true
}
variable "backup_days" {
  type    = number
  default = 7
}
variable "tags" { type = map(string) }
"#
            .to_string(),
        );
        write(
            dir.join("main.tf"),
            format!(
                r#"locals {{
  tags = merge(var.tags, {{ module = "{name}" }})
}}

resource "aws_db_instance" "this" {{
  identifier                      = "${{var.name}}-{name}"
  engine                          = "postgres"
  engine_version                  = "16.3"
  instance_class                  = "db.t3.medium"
  storage_encrypted               = var.encrypted
  backup_retention_period         = var.backup_days
  enabled_cloudwatch_logs_exports = ["postgresql"]
  vpc_security_group_ids          = [aws_security_group.this.id]
  tags                            = local.tags
}}

resource "aws_security_group" "this" {{
  name = "${{var.name}}-{name}"
  ingress {{
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }}
  tags = local.tags
}}
"#
            ),
        );
        write(
            dir.join("outputs.tf"),
            r#"output "endpoint" { value = aws_db_instance.this.endpoint }
output "security_group_id" { value = aws_security_group.this.id }
"#
            .to_string(),
        );
    }
    let envs = ["dev", "qa", "staging", "prod", "sandbox"];
    let roots = files.saturating_sub(MODULES.len() * 3);
    let mut callers = 0;
    for i in 0..roots {
        let (first, second) = (MODULES[i % 10], MODULES[(i + 3) % 10]);
        if first == "database" || second == "database" {
            callers += 1;
        }
        write(
            root.join(format!("live/{}/stack{i}/main.tf", envs[i % envs.len()])),
            format!(
                r#"locals {{
  tags = {{
    change_request = "OPS-{n}"
    approved_by    = "cto"
    owner          = "team-{t}"
  }}
}}

module "{first}" {{
  source      = "../../../modules/{first}"
  name        = "stack{i}"
  encrypted   = {e}
  backup_days = 14
  tags        = local.tags
}}

module "{second}" {{
  source = "../../../modules/{second}"
  name   = "stack{i}"
  tags   = local.tags
}}

output "endpoints" {{
  value = [module.{first}.endpoint, module.{second}.endpoint]
}}
"#,
                n = i + 1,
                t = i % 13,
                e = i % 4 != 0,
            ),
        );
    }
    (callers, total)
}

/// `roots` root modules, each calling `modules/service` for five
/// services, which calls `modules/database` once per service.
fn generate_modules(root: &Path, roots: usize) -> (usize, usize) {
    let mut total = 0;
    let mut count = 0;
    let mut write = |path: PathBuf, text: String| {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        total += text.len();
        count += 1;
        std::fs::write(path, text).expect("write file");
    };
    write(
        root.join("modules/database/main.tf"),
        r#"variable "name" { type = string }
variable "backup_days" { type = number }
variable "encrypted" {
  type    = bool
  default = true
}
variable "tags" { type = map(string) }

resource "aws_db_instance" "this" {
  identifier                      = var.name
  engine                          = "postgres"
  instance_class                  = "db.t3.medium"
  storage_encrypted               = var.encrypted
  backup_retention_period         = var.backup_days
  enabled_cloudwatch_logs_exports = ["postgresql"]
  tags                            = var.tags
}

output "endpoint" { value = aws_db_instance.this.endpoint }
"#
        .to_string(),
    );
    write(
        root.join("modules/service/main.tf"),
        r#"variable "env" { type = string }
variable "services" { type = map(object({ backups = number, encrypted = bool })) }

locals {
  tags = {
    change_request = "OPS-7"
    approved_by    = "cto"
    owner          = "team-${var.env}"
  }
}

module "db" {
  source      = "../database"
  for_each    = var.services
  name        = "${var.env}-${each.key}"
  backup_days = each.value.backups
  encrypted   = each.value.encrypted
  tags        = merge(local.tags, { service = each.key })
}

resource "aws_security_group" "svc" {
  for_each = var.services
  name     = "${var.env}-${each.key}"
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = local.tags
}

output "endpoints" { value = { for k, m in module.db : k => m.endpoint } }
"#
        .to_string(),
    );
    for i in 0..roots {
        write(
            root.join(format!("live/env{i}/main.tf")),
            format!(
                r#"module "stack" {{
  source = "../../modules/service"
  env    = "env{i}"
  services = {{
    api     = {{ backups = 14, encrypted = true }}
    billing = {{ backups = {b}, encrypted = true }}
    search  = {{ backups = 7, encrypted = {e} }}
    queue   = {{ backups = 30, encrypted = true }}
    reports = {{ backups = 10, encrypted = true }}
  }}
}}
"#,
                b = if i % 4 == 0 { 3 } else { 14 },
                e = i % 3 != 0,
            ),
        );
    }
    (count, total)
}

fn time(mut run: impl FnMut()) -> Vec<Duration> {
    run(); // warm the page cache and the thread pool
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// Runs each of `runs` once to warm up, then `RUNS` rounds of one run of
/// each in turn. Returns each one's times, in round order.
fn rounds<const N: usize>(mut runs: [&mut dyn FnMut(); N]) -> [Vec<Duration>; N] {
    for run in runs.iter_mut() {
        run();
    }
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(RUNS));
    for _ in 0..RUNS {
        for (run, times) in runs.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            run();
            times.push(start.elapsed());
        }
    }
    times
}

/// The median over rounds of `times[i] / base[i]`.
fn ratio(times: &[Duration], base: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = times
        .iter()
        .zip(base)
        .map(|(t, b)| t.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn report(name: &str, times: &[Duration], files: usize, bytes: usize) {
    let mut times = times.to_vec();
    times.sort();
    let best = times[0].as_secs_f64();
    let median = times[times.len() / 2].as_secs_f64();
    println!(
        "{name:12} best {:7.1} ms  median {:7.1} ms  {:9.0} files/s  {:6.1} MB/s",
        best * 1e3,
        median * 1e3,
        files as f64 / median,
        bytes as f64 / 1e6 / median
    );
}

/// Writes `files` Terraform files across nested module folders, each with
/// a realistic mix of resources, variables and references. Returns the
/// bytes written.
fn generate(root: &Path, files: usize) -> usize {
    let mut total = 0;
    for i in 0..files {
        let dir: PathBuf = root.join(format!("env{}/module{}", i % 7, i % 53));
        std::fs::create_dir_all(&dir).expect("create folder");
        let mut text = String::new();
        let _ = write!(
            text,
            r#"variable "name_{i}" {{
  type    = string
  default = "svc-{i}"
}}

locals {{
  tags_{i} = {{
    change_request = "OPS-{n}"
    approved_by    = "cto"
    owner          = "team-{m}"
  }}
}}

resource "aws_db_instance" "db_{i}" {{
  identifier              = var.name_{i}
  engine                  = "postgres"
  instance_class          = "db.t3.medium"
  allocated_storage       = 20
  storage_encrypted       = {enc}
  backup_retention_period = {ret}
  publicly_accessible     = false
  vpc_security_group_ids  = [aws_security_group.db_{i}.id]
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  tags = {{
    change_request = "OPS-{n}"
    approved_by    = "cto"
    owner          = "team-{m}"
  }}
}}

resource "aws_security_group" "db_{i}" {{
  name   = "db-{i}"
  vpc_id = aws_vpc.main.id
  ingress {{
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["{cidr}"]
  }}
  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}
  tags = local.tags_{i}
}}

resource "aws_s3_bucket" "logs_{i}" {{
  bucket = "logs-{i}-${{var.name_{i}}}"
  tags   = merge(local.tags_{i}, {{ purpose = "logs" }})
}}

resource "aws_lb_listener" "https_{i}" {{
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }}
}}

output "db_{i}_endpoint" {{
  value = aws_db_instance.db_{i}.endpoint
}}
"#,
            n = i + 1,
            m = i % 13,
            enc = if i % 5 == 0 { "false" } else { "true" },
            ret = if i % 3 == 0 { 1 } else { 14 },
            cidr = if i % 11 == 0 {
                "0.0.0.0/0"
            } else {
                "10.0.0.0/16"
            },
        );
        total += text.len();
        std::fs::write(dir.join(format!("file{i}.tf")), text).expect("write file");
    }
    total
}
