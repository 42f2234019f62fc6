//! Evaluating Terraform modules: each folder of `.tf` files is a module;
//! folders no other scanned module calls are roots, evaluated with their
//! variables' defaults, tfvars files, `--var`/`--var-file` and `TF_VAR_`
//! values; module calls are evaluated with the caller's arguments,
//! recursively, with `count`/`for_each` on resources, data sources and
//! calls expanded into Terraform's instance addresses.
//!
//! Everything is lazy and memoised: locals, module outputs and child
//! instances are evaluated when first asked for, with cycles reported and
//! turned into unknown values rather than followed.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

use rayon::prelude::*;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body};

use super::eval::{self, Scope};
use super::functions::Context;
use super::types::Type;
use super::value::Value;
use crate::error::FileError;
use crate::model::{BlockKind, Origin, Resource};
use crate::parse::hcl::{self as hcl_front, Evaluate, Header};
use crate::source::{without_bom, SourceFile, Span};

/// Module calls nested deeper than this are not followed.
pub const MAX_MODULE_DEPTH: usize = 24;
/// Instances of one `count`/`for_each` beyond this are not expanded.
pub const MAX_INSTANCES: usize = 10_000;

/// Variable values given on the command line and in the environment.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--var NAME=VALUE`, in order.
    pub vars: Vec<(String, String)>,
    /// `--var-file FILE`, in order.
    pub var_files: Vec<PathBuf>,
    /// `TF_VAR_name` values (read from the environment by the caller).
    pub env: Vec<(String, String)>,
}

/// What evaluation produced.
#[derive(Debug, Default)]
pub struct Evaluated {
    pub resources: Vec<Resource>,
    pub errors: Vec<FileError>,
    /// Files read for evaluation besides the checked ones (tfvars files),
    /// indexed after them, so provenance can point into them.
    pub extra_files: Vec<SourceFile>,
    /// Things a reader should know, such as modules that were not scanned.
    pub notes: Vec<FileError>,
}

/// A declared variable.
struct VarDef<'a> {
    file: usize,
    default: Option<&'a Attribute>,
    nullable: bool,
    /// The `type` constraint; `Any` when there is none.
    ty: Type,
    /// Whether the variable has no type or `string`: a `--var` value is
    /// then a string, not an expression.
    takes_string: bool,
}

/// A `module` block.
struct Call<'a> {
    name: String,
    file: usize,
    block: &'a Block,
    /// The called folder, when it was found.
    target: Option<PathBuf>,
    source: String,
}

/// One module folder, parsed.
struct Def<'a> {
    dir: PathBuf,
    variables: BTreeMap<String, VarDef<'a>>,
    locals: HashMap<String, (usize, &'a Attribute)>,
    /// Resources and data sources.
    blocks: Vec<(usize, &'a Block, Header)>,
    calls: Vec<Call<'a>>,
    outputs: HashMap<String, (usize, &'a Attribute)>,
    providers: Vec<(usize, &'a Block)>,
}

/// All module definitions, and what evaluation needs everywhere.
struct Program<'a> {
    defs: HashMap<PathBuf, Def<'a>>,
    /// Remote modules installed by `terraform init`.
    manifests: Manifests,
    files: Vec<&'a SourceFile>,
    root: PathBuf,
    notes: Mutex<Vec<FileError>>,
    errors: Mutex<Vec<FileError>>,
}

/// Evaluates every module under the checked files and lowers their
/// resources. `bodies[i]` is the parsed `files[i]` (None when it is not a
/// Terraform file or did not parse).
pub fn evaluate(
    files: &[SourceFile],
    bodies: &[Option<Body>],
    root: &Path,
    inputs: &Inputs,
) -> Evaluated {
    let mut out = Evaluated::default();
    // tfvars files are read for every folder that may be a root.
    let mut dirs: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, (file, body)) in files.iter().zip(bodies).enumerate() {
        if body.is_some() {
            dirs.entry(canonical_dir(&file.path)).or_default().push(i);
        }
    }
    let mut tfvars: Vec<(PathBuf, SourceFile)> = Vec::new();
    for dir in dirs.keys() {
        for path in tfvars_files(dir) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let text = without_bom(text);
                tfvars.push((dir.clone(), SourceFile::new(presentable(&path), text)));
            }
        }
    }
    for path in &inputs.var_files {
        match std::fs::read_to_string(path) {
            Ok(text) => tfvars.push((
                PathBuf::new(),
                SourceFile::new(path.clone(), without_bom(text)),
            )),
            Err(e) => out.errors.push(FileError::new(
                path,
                None,
                format!("cannot read the variables file: {e}"),
            )),
        }
    }
    // Remote modules that `terraform init` installed under .terraform.
    let first_module_file = files.len() + tfvars.len();
    let (manifests, module_files, module_bodies, module_dirs) =
        installed_modules(&dirs, first_module_file, &mut out.errors);
    let mut all_files: Vec<&SourceFile> = files.iter().collect();
    all_files.extend(tfvars.iter().map(|(_, f)| f));
    all_files.extend(module_files.iter());
    let mut all_bodies: Vec<Option<&Body>> = bodies.iter().map(Option::as_ref).collect();
    all_bodies.resize(first_module_file, None);
    all_bodies.extend(module_bodies.iter().map(Option::as_ref));
    let mut all_dirs = dirs.clone();
    for (dir, indices) in module_dirs {
        all_dirs.entry(dir).or_default().extend(indices);
    }

    let mut program = Program::build(&all_files, &all_bodies, &all_dirs, root);
    program.manifests = manifests;
    // Roots are independent: each is evaluated on its own thread, its
    // module instances (Rc, RefCell) never leaving it.
    // Each root is a scope of its own (numbered from 1): references and
    // names resolve only inside it.
    let per_root: Vec<Vec<Resource>> = roots(&program, dirs.keys())
        .par_iter()
        .enumerate()
        .map(|(i, dir)| {
            let mut resources = evaluate_root(&program, dir, files.len(), &tfvars, inputs);
            let scope = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for r in &mut resources {
                r.scope = scope;
            }
            resources
        })
        .collect();
    for mut resources in per_root {
        out.resources.append(&mut resources);
    }
    out.errors
        .extend(program.errors.into_inner().unwrap_or_default());
    out.notes = program.notes.into_inner().unwrap_or_default();
    // Threads finish in any order; reports must not.
    out.notes.sort_by(|a, b| {
        (&a.path, a.span.map(|s| s.start), &a.message).cmp(&(
            &b.path,
            b.span.map(|s| s.start),
            &b.message,
        ))
    });
    out.notes.dedup();
    out.extra_files = tfvars.into_iter().map(|(_, f)| f).collect();
    out.extra_files.extend(module_files);
    out
}

/// Evaluates one root module and lowers its resources and its children's.
fn evaluate_root(
    program: &Program<'_>,
    dir: &PathBuf,
    first_tfvars: usize,
    tfvars: &[(PathBuf, SourceFile)],
    inputs: &Inputs,
) -> Vec<Resource> {
    let mut out = Vec::new();
    let Some(def) = program.defs.get(dir) else {
        return out;
    };
    let mut values = Vec::new();
    for (i, (var_dir, file)) in tfvars.iter().enumerate() {
        // A folder's own tfvars files, then --var-file ones (no folder).
        if var_dir == dir || var_dir.as_os_str().is_empty() {
            values.extend(read_tfvars(first_tfvars + i, file, program));
        }
    }
    let vars = root_variables(def, &values, inputs, program);
    let instance = Rc::new(Instance::new(
        program,
        def,
        Place {
            prefix: String::new(),
            key: String::new(),
            root: dir.clone(),
            calls: Vec::new(),
        },
        vars,
        vec![dir.clone()],
        Providers::default(),
    ));
    instance.lower(&mut out);
    out
}

fn push(list: &Mutex<Vec<FileError>>, error: FileError) {
    if let Ok(mut list) = list.lock() {
        list.push(error);
    }
}

/// Module folders by manifest key (`app`, `app.db`), per root folder.
type Manifests = HashMap<PathBuf, HashMap<String, PathBuf>>;

/// Reads `.terraform/modules/modules.json` in each folder that has one,
/// and parses the `.tf` files of the modules it lists (inside that
/// folder only), numbering them from `first_index`.
#[allow(clippy::type_complexity)]
fn installed_modules(
    dirs: &BTreeMap<PathBuf, Vec<usize>>,
    first_index: usize,
    errors: &mut Vec<FileError>,
) -> (
    Manifests,
    Vec<SourceFile>,
    Vec<Option<Body>>,
    BTreeMap<PathBuf, Vec<usize>>,
) {
    let mut manifests = Manifests::new();
    let mut files = Vec::new();
    let mut bodies = Vec::new();
    let mut module_dirs: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for dir in dirs.keys() {
        let path = dir.join(".terraform/modules/modules.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(e) => {
                errors.push(FileError::new(
                    &presentable(&path),
                    None,
                    format!("cannot read the module manifest: {e}"),
                ));
                continue;
            }
        };
        let mut keys = HashMap::new();
        for entry in json["Modules"].as_array().into_iter().flatten() {
            let (Some(key), Some(module_dir)) = (entry["Key"].as_str(), entry["Dir"].as_str())
            else {
                continue;
            };
            if key.is_empty() {
                continue;
            }
            let Ok(module_dir) = dir.join(module_dir).canonicalize() else {
                continue;
            };
            // Never read outside the scanned folder.
            if !module_dir.starts_with(dir) {
                continue;
            }
            keys.insert(key.to_string(), module_dir.clone());
            if dirs.contains_key(&module_dir) || module_dirs.contains_key(&module_dir) {
                continue;
            }
            let mut tf: Vec<PathBuf> = std::fs::read_dir(&module_dir)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "tf") && p.is_file())
                .collect();
            tf.sort();
            let indices = module_dirs.entry(module_dir.clone()).or_default();
            for file in tf {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                let source = SourceFile::new(presentable(&file), without_bom(text));
                match hcl_front::parse(&source) {
                    Ok(body) => bodies.push(Some(body)),
                    Err(err) => {
                        errors.push(err);
                        bodies.push(None);
                    }
                }
                indices.push(first_index + files.len());
                files.push(source);
            }
        }
        manifests.insert(dir.clone(), keys);
    }
    (manifests, files, bodies, module_dirs)
}

fn canonical_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// A path under the current folder is shown relative to it.
fn presentable(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .unwrap_or_default();
    path.strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The folders evaluated as root modules: those no other folder calls,
/// then, in order, any folder still unreached (modules calling each other
/// in a cycle), so that nothing is silently skipped.
fn roots<'p>(program: &Program<'_>, dirs: impl Iterator<Item = &'p PathBuf>) -> Vec<PathBuf> {
    let dirs: Vec<&PathBuf> = dirs.collect();
    let called: std::collections::HashSet<&PathBuf> = program
        .defs
        .values()
        .flat_map(|d| {
            d.calls
                .iter()
                .filter_map(|c| c.target.as_ref().filter(|t| **t != d.dir))
        })
        .collect();
    let mut roots: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| !called.contains(*d))
        .map(|d| (*d).clone())
        .collect();
    let mut reached: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut queue: Vec<PathBuf> = roots.clone();
    loop {
        while let Some(dir) = queue.pop() {
            if !reached.insert(dir.clone()) {
                continue;
            }
            if let Some(def) = program.defs.get(&dir) {
                queue.extend(def.calls.iter().filter_map(|c| c.target.clone()));
            }
        }
        match dirs.iter().find(|d| !reached.contains(**d)) {
            Some(dir) => {
                roots.push((*dir).clone());
                queue.push((*dir).clone());
            }
            None => break,
        }
    }
    roots
}

/// `terraform.tfvars`, `terraform.tfvars.json`, then `*.auto.tfvars` and
/// `*.auto.tfvars.json` in lexical order: Terraform's order.
fn tfvars_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for name in ["terraform.tfvars", "terraform.tfvars.json"] {
        let path = dir.join(name);
        if path.is_file() {
            files.push(path);
        }
    }
    let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json"))
        })
        .filter(|p| p.is_file())
        .collect();
    auto.sort();
    files.extend(auto);
    files
}

/// A variable value and where it was written.
#[derive(Debug, Clone)]
struct Assigned {
    name: String,
    value: Value,
    /// Where the value was written, then where what it was written from
    /// was written (a module argument, then the caller's tfvars line...).
    origin: Vec<Origin>,
    /// The resources the caller's argument refers to (addresses in the
    /// caller's module instance), so that relations such as a database's
    /// subnets survive being passed into a module.
    references: Vec<String>,
}

/// The assignments of a tfvars file (HCL or JSON).
fn read_tfvars(index: usize, file: &SourceFile, program: &Program<'_>) -> Vec<Assigned> {
    let is_json = file.path.extension().is_some_and(|e| e == "json");
    if is_json {
        return match serde_json::from_str::<serde_json::Value>(&file.text) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .map(|(name, v)| Assigned {
                    origin: vec![Origin {
                        file: index,
                        span: Span::default(),
                        message: format!("var.{name} set in {}", file.display_path()),
                    }],
                    name,
                    value: Value::from_json(&v),
                    references: Vec::new(),
                })
                .collect(),
            _ => {
                push(
                    &program.errors,
                    FileError::new(
                        file.path(),
                        None,
                        "a .tfvars.json file must hold one JSON object",
                    ),
                );
                Vec::new()
            }
        };
    }
    let body = match hcl_front::parse(file) {
        Ok(body) => body,
        Err(err) => {
            push(&program.errors, err);
            return Vec::new();
        }
    };
    let empty = Constants;
    let ctx = Context {
        base_dir: file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        root: program.root.clone(),
    };
    body.attributes()
        .map(|attribute| {
            let name = attribute.key.as_str().to_string();
            let value = eval::eval(&attribute.value, &empty, &ctx).unwrap_or(Value::Unknown);
            Assigned {
                origin: vec![Origin {
                    file: index,
                    span: span_of(attribute),
                    message: format!("var.{name} set in {}", file.display_path()),
                }],
                name,
                value,
                references: Vec::new(),
            }
        })
        .collect()
}

fn span_of(attribute: &Attribute) -> Span {
    hcl_edit::Span::span(attribute)
        .map(Span::from)
        .unwrap_or_default()
}

/// A scope with nothing in it, for tfvars files (constants only).
struct Constants;

impl Scope for Constants {
    fn resolve(&self, _root: &str, _attr: Option<&str>) -> Option<Value> {
        None
    }
}

/// A root module's variables: defaults, then `TF_VAR_` values, then tfvars
/// files in Terraform's order, then `--var-file`/`--var`. Unset ones are
/// unknown, never empty.
fn root_variables(
    def: &Def<'_>,
    files: &[Assigned],
    inputs: &Inputs,
    program: &Program<'_>,
) -> HashMap<String, Assigned> {
    let mut vars: HashMap<String, Assigned> = HashMap::new();
    for (name, var) in &def.variables {
        vars.insert(name.clone(), default_of(name, var, program));
    }
    let mut set = |name: &str, value: Value, origin: Vec<Origin>| {
        if let Some(var) = def.variables.get(name) {
            let value = var.ty.convert(value);
            let value = if value.is_null() && !var.nullable {
                default_of(name, var, program).value
            } else {
                value
            };
            vars.insert(
                name.to_string(),
                Assigned {
                    name: name.to_string(),
                    value,
                    origin,
                    references: Vec::new(),
                },
            );
        }
    };
    for (name, text) in &inputs.env {
        let var = def.variables.get(name);
        set(
            name,
            parse_cli_value(text, var.is_none_or(|v| v.takes_string)),
            Vec::new(),
        );
    }
    for assigned in files {
        set(
            &assigned.name,
            assigned.value.clone(),
            assigned.origin.clone(),
        );
    }
    for (name, text) in &inputs.vars {
        let var = def.variables.get(name);
        set(
            name,
            parse_cli_value(text, var.is_none_or(|v| v.takes_string)),
            Vec::new(),
        );
    }
    vars
}

fn default_of(name: &str, var: &VarDef<'_>, program: &Program<'_>) -> Assigned {
    match var.default {
        Some(attribute) => {
            let value = eval::eval(
                &attribute.value,
                &Constants,
                &program.context(&program.root),
            )
            .unwrap_or(Value::Unknown);
            Assigned {
                name: name.to_string(),
                value: var.ty.convert(value),
                origin: vec![Origin {
                    file: var.file,
                    span: span_of(attribute),
                    message: format!("default of var.{name}"),
                }],
                references: Vec::new(),
            }
        }
        None => Assigned {
            name: name.to_string(),
            value: Value::Unknown,
            origin: Vec::new(),
            references: Vec::new(),
        },
    }
}

/// A `--var`/`TF_VAR_` string: a string for string (or untyped)
/// variables, an HCL expression for the others.
fn parse_cli_value(text: &str, takes_string: bool) -> Value {
    if takes_string {
        return Value::String(text.to_string());
    }
    match hcl_edit::parser::parse_body(&format!("v = {text}\n")) {
        Ok(body) => body
            .get_attribute("v")
            .and_then(|a| {
                let ctx = Context {
                    base_dir: PathBuf::from("."),
                    root: PathBuf::from("."),
                };
                eval::eval(&a.value, &Constants, &ctx).ok()
            })
            .unwrap_or(Value::Unknown),
        Err(_) => Value::Unknown,
    }
}

impl<'a> Program<'a> {
    fn build(
        files: &[&'a SourceFile],
        bodies: &[Option<&'a Body>],
        dirs: &BTreeMap<PathBuf, Vec<usize>>,
        root: &Path,
    ) -> Program<'a> {
        let mut defs = HashMap::new();
        let mut errors = Vec::new();
        for (dir, indices) in dirs {
            let mut def = Def {
                dir: dir.clone(),
                variables: BTreeMap::new(),
                locals: HashMap::new(),
                blocks: Vec::new(),
                calls: Vec::new(),
                outputs: HashMap::new(),
                providers: Vec::new(),
            };
            for &i in indices {
                let Some(body) = bodies.get(i).copied().flatten() else {
                    continue;
                };
                for block in body.blocks() {
                    let header = match hcl_front::classify(block) {
                        Ok(Some(header)) => header,
                        Ok(None) => continue,
                        Err(message) => {
                            errors.push(FileError::new(
                                files[i].path(),
                                Some(hcl_front::header_span(block)),
                                message,
                            ));
                            continue;
                        }
                    };
                    let label = block
                        .labels
                        .first()
                        .map(|l| l.as_str().to_string())
                        .unwrap_or_default();
                    match header.kind {
                        BlockKind::Resource | BlockKind::Data => {
                            def.blocks.push((i, block, header))
                        }
                        BlockKind::Variable => {
                            let type_expr = block.body.get_attribute("type").map(|a| &a.value);
                            let context = Context {
                                base_dir: dir.clone(),
                                root: root.to_path_buf(),
                            };
                            let constant = |e: &Expression| {
                                eval::eval(e, &Constants, &context).unwrap_or(Value::Unknown)
                            };
                            let ty = type_expr.map_or(Type::Any, |t| Type::parse(t, &constant));
                            let takes_string = match type_expr {
                                None => true,
                                Some(Expression::Variable(v)) => v.as_str() == "string",
                                Some(_) => false,
                            };
                            let nullable = !matches!(
                                block.body.get_attribute("nullable").map(|a| &a.value),
                                Some(Expression::Bool(b)) if !*b.value()
                            );
                            def.variables.insert(
                                label,
                                VarDef {
                                    file: i,
                                    default: block.body.get_attribute("default"),
                                    nullable,
                                    ty,
                                    takes_string,
                                },
                            );
                        }
                        BlockKind::Locals => {
                            for attribute in block.body.attributes() {
                                def.locals
                                    .insert(attribute.key.as_str().to_string(), (i, attribute));
                            }
                        }
                        BlockKind::Output => {
                            if let Some(value) = block.body.get_attribute("value") {
                                def.outputs.insert(label, (i, value));
                            }
                        }
                        BlockKind::Module => {
                            let source = match block.body.get_attribute("source").map(|a| &a.value)
                            {
                                Some(Expression::String(s)) => s.value().clone(),
                                _ => String::new(),
                            };
                            let target = local_target(dir, &source);
                            def.calls.push(Call {
                                name: label,
                                file: i,
                                block,
                                target,
                                source,
                            });
                        }
                        BlockKind::Provider => def.providers.push((i, block)),
                        BlockKind::Manifest => {}
                    }
                }
            }
            defs.insert(dir.clone(), def);
        }
        Program {
            defs,
            manifests: Manifests::new(),
            files: files.to_vec(),
            root: root.to_path_buf(),
            notes: Mutex::new(Vec::new()),
            errors: Mutex::new(errors),
        }
    }

    fn context(&self, dir: &Path) -> Context {
        Context {
            base_dir: dir.to_path_buf(),
            root: self.root.clone(),
        }
    }

    fn note(&self, file: usize, span: Span, message: String) {
        if let Some(source) = self.files.get(file) {
            push(
                &self.notes,
                FileError::new(source.path(), Some(span), message),
            );
        }
    }
}

/// The folder a local `source` (`./x`, `../x`) names, when it exists.
fn local_target(dir: &Path, source: &str) -> Option<PathBuf> {
    if !(source.starts_with("./") || source.starts_with("../")) {
        return None;
    }
    dir.join(source).canonicalize().ok().filter(|p| p.is_dir())
}

/// Provider `default_tags` in force for a module instance, by provider
/// configuration name (`aws`, `aws.west`).
#[derive(Debug, Clone, Default)]
struct Providers {
    default_tags: HashMap<String, (Value, Option<Origin>)>,
}

/// The state of a lazily evaluated value.
enum Slot {
    Evaluating,
    Done(Value),
}

/// The instances one `module` block expands to.
enum Children<'a> {
    One(Rc<Instance<'a>>),
    Counted(Vec<Rc<Instance<'a>>>),
    Keyed(BTreeMap<String, Rc<Instance<'a>>>),
    /// Not scanned, or its expansion is unknown.
    Opaque,
}

/// Where a module instance sits in the module tree.
struct Place {
    /// `module.db.` or `module.db[0].`, prepended to addresses.
    prefix: String,
    /// The module manifest key (`app.db`), for remote modules.
    key: String,
    /// The root module's folder.
    root: PathBuf,
    /// The module calls from the root to this instance.
    calls: Vec<Origin>,
}

/// One instance of a module: its definition with variable values.
struct Instance<'a> {
    program: &'a Program<'a>,
    def: &'a Def<'a>,
    /// `module.db.` or `module.db[0].`, prepended to addresses.
    prefix: String,
    key: String,
    root: PathBuf,
    calls: Vec<Origin>,
    vars: HashMap<String, Assigned>,
    locals: RefCell<HashMap<String, Slot>>,
    outputs: RefCell<HashMap<String, Slot>>,
    children: RefCell<HashMap<String, Rc<Children<'a>>>>,
    /// Module folders from the root to here, against call cycles.
    path: Vec<PathBuf>,
    providers: Providers,
}

impl<'a> Instance<'a> {
    fn new(
        program: &'a Program<'a>,
        def: &'a Def<'a>,
        place: Place,
        vars: HashMap<String, Assigned>,
        path: Vec<PathBuf>,
        inherited: Providers,
    ) -> Instance<'a> {
        let mut instance = Instance {
            program,
            def,
            prefix: place.prefix,
            key: place.key,
            root: place.root,
            calls: place.calls,
            vars,
            locals: RefCell::new(HashMap::new()),
            outputs: RefCell::new(HashMap::new()),
            children: RefCell::new(HashMap::new()),
            path,
            providers: inherited,
        };
        instance.providers = instance.own_providers();
        instance
    }

    fn ctx(&self) -> Ctx<'_, 'a> {
        Ctx {
            instance: self,
            count: None,
            each: None,
            bindings: Vec::new(),
        }
    }

    /// The `default_tags` of this module's own provider blocks, over the
    /// inherited ones.
    fn own_providers(&self) -> Providers {
        let mut providers = self.providers.clone();
        for (file, block) in &self.def.providers {
            let Some(name) = block.labels.first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            let config = match block.body.get_attribute("alias").map(|a| &a.value) {
                Some(Expression::String(alias)) => format!("{name}.{}", alias.value()),
                _ => name,
            };
            let Some(tags) = block
                .body
                .get_blocks("default_tags")
                .next()
                .and_then(|b| b.body.get_attribute("tags"))
            else {
                continue;
            };
            let value = self.ctx().evaluate(&tags.value);
            let origin = Origin {
                file: *file,
                span: span_of(tags),
                message: format!("default_tags of provider {config}"),
            };
            providers.default_tags.insert(config, (value, Some(origin)));
        }
        providers
    }

    fn local(&self, name: &str) -> Option<Value> {
        let (file, attribute) = *self.def.locals.get(name)?;
        Some(self.memo(&self.locals, name, attribute, || {
            self.program.note(
                file,
                span_of(attribute),
                format!("local.{name} refers to itself (a cycle); its value is unknown"),
            );
        }))
    }

    fn output(&self, name: &str) -> Value {
        match self.def.outputs.get(name) {
            Some(&(_, attribute)) => self.memo(&self.outputs, name, attribute, || {}),
            None => Value::Unknown,
        }
    }

    /// Evaluates `attribute` once per name; a name met again while it is
    /// being evaluated is a cycle: `on_cycle` runs and the value is unknown.
    fn memo(
        &self,
        slots: &RefCell<HashMap<String, Slot>>,
        name: &str,
        attribute: &Attribute,
        on_cycle: impl FnOnce(),
    ) -> Value {
        match slots.borrow().get(name) {
            Some(Slot::Done(value)) => return value.clone(),
            Some(Slot::Evaluating) => {
                on_cycle();
                return Value::Unknown;
            }
            None => {}
        }
        slots
            .borrow_mut()
            .insert(name.to_string(), Slot::Evaluating);
        let value = self.ctx().evaluate(&attribute.value);
        slots
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(value.clone()));
        value
    }

    /// All outputs as an object, as `module.NAME` reads.
    fn outputs_value(&self) -> Value {
        let names: Vec<String> = self.def.outputs.keys().cloned().collect();
        Value::Map(
            names
                .into_iter()
                .map(|n| {
                    let v = self.output(&n);
                    (n, v)
                })
                .collect(),
        )
    }

    fn module_value(&self, name: &str) -> Option<Value> {
        let children = self.children(name)?;
        Some(match children.as_ref() {
            Children::One(child) => child.outputs_value(),
            Children::Counted(list) => {
                Value::List(list.iter().map(|c| c.outputs_value()).collect())
            }
            Children::Keyed(map) => Value::Map(
                map.iter()
                    .map(|(k, c)| (k.clone(), c.outputs_value()))
                    .collect(),
            ),
            Children::Opaque => Value::Unknown,
        })
    }

    /// The instances of the `module "name"` call, created on first use.
    fn children(&self, name: &str) -> Option<Rc<Children<'a>>> {
        if let Some(children) = self.children.borrow().get(name) {
            return Some(children.clone());
        }
        let call = self.def.calls.iter().find(|c| c.name == name)?;
        // Mark first, so a call whose arguments refer to itself ends.
        self.children
            .borrow_mut()
            .insert(name.to_string(), Rc::new(Children::Opaque));
        let children = Rc::new(self.expand_call(call));
        self.children
            .borrow_mut()
            .insert(name.to_string(), children.clone());
        Some(children)
    }

    fn expand_call(&self, call: &Call<'a>) -> Children<'a> {
        let header = hcl_front::header_span(call.block);
        let key = if self.key.is_empty() {
            call.name.clone()
        } else {
            format!("{}.{}", self.key, call.name)
        };
        let manifest_key = key;
        let installed = self
            .program
            .manifests
            .get(&self.root)
            .and_then(|m| m.get(&manifest_key));
        let Some(target) = call.target.as_ref().or(installed) else {
            self.program.note(
                call.file,
                header,
                format!(
                    "module \"{}\" (source \"{}\") was not scanned (run `terraform init` to install it): its outputs are unknown",
                    call.name, call.source
                ),
            );
            return Children::Opaque;
        };
        let Some(def) = self.program.defs.get(target) else {
            self.program.note(
                call.file,
                header,
                format!(
                    "module \"{}\": no Terraform files in its source folder",
                    call.name
                ),
            );
            return Children::Opaque;
        };
        if self.path.contains(target) || self.path.len() >= MAX_MODULE_DEPTH {
            self.program.note(
                call.file,
                header,
                format!(
                    "module \"{}\" calls itself (directly or through other modules); not followed",
                    call.name
                ),
            );
            return Children::Opaque;
        }
        let base = format!("{}module.{}", self.prefix, call.name);
        let expanded = self.expand(&call.block.body);
        let mut children = expanded.instances.into_iter().map(|(suffix, key, ctx)| {
            (
                key,
                Rc::new(self.child(call, def, &manifest_key, format!("{base}{suffix}"), &ctx)),
            )
        });
        match expanded.shape {
            Shape::Single | Shape::Unknown => children
                .next()
                .map_or(Children::Opaque, |(_, c)| Children::One(c)),
            Shape::Counted => Children::Counted(children.map(|(_, c)| c).collect()),
            Shape::Keyed => {
                Children::Keyed(children.map(|(k, c)| (k.unwrap_or_default(), c)).collect())
            }
        }
    }

    /// The instances a block with `count` or `for_each` expands to: the
    /// address suffix, the `for_each` key, and the scope of each.
    fn expand(&self, body: &Body) -> Expanded<'_, 'a> {
        let base = self.ctx();
        let (shape, instances) = match expansion(&base, body) {
            Expansion::Single => (Shape::Single, vec![(String::new(), None, base)]),
            Expansion::Count(n) => (
                Shape::Counted,
                (0..n)
                    .map(|i| {
                        let ctx = Ctx {
                            count: Some(Value::from(i as i64)),
                            ..self.ctx()
                        };
                        (format!("[{i}]"), None, ctx)
                    })
                    .collect(),
            ),
            Expansion::Keys(entries) => (
                Shape::Keyed,
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let ctx = Ctx {
                            each: Some((Value::String(key.clone()), value)),
                            ..self.ctx()
                        };
                        (format!("[{key:?}]"), Some(key), ctx)
                    })
                    .collect(),
            ),
            Expansion::Unknown(kind) => {
                let ctx = match kind {
                    UnknownKind::Count => Ctx {
                        count: Some(Value::Unknown),
                        ..self.ctx()
                    },
                    UnknownKind::Each => Ctx {
                        each: Some((Value::Unknown, Value::Unknown)),
                        ..self.ctx()
                    },
                };
                (Shape::Unknown, vec![("[*]".to_string(), None, ctx)])
            }
        };
        Expanded { shape, instances }
    }

    /// One instance of a called module, its arguments evaluated in `ctx`.
    fn child(
        &self,
        call: &Call<'a>,
        def: &'a Def<'a>,
        key: &str,
        prefix: String,
        ctx: &Ctx<'_, 'a>,
    ) -> Instance<'a> {
        let mut vars = HashMap::new();
        for (name, var) in &def.variables {
            let assigned = match call.block.body.get_attribute(name) {
                Some(attribute) => {
                    let value = var.ty.convert(ctx.evaluate(&attribute.value));
                    if value.is_null() && !var.nullable {
                        default_of(name, var, self.program)
                    } else {
                        let mut origin = vec![Origin {
                            file: call.file,
                            span: span_of(attribute),
                            message: format!("argument {name} of module.{}", call.name),
                        }];
                        origin.extend(self.origins_of(&attribute.value, 0));
                        Assigned {
                            name: name.clone(),
                            value,
                            origin,
                            references: self.expression_references(&attribute.value, 0),
                        }
                    }
                }
                None => default_of(name, var, self.program),
            };
            vars.insert(name.clone(), assigned);
        }
        let mut providers = Providers::default();
        // Without a `providers` map a child inherits the default
        // configurations; with one, exactly what the map passes.
        match call.block.body.get_attribute("providers").map(|a| &a.value) {
            Some(Expression::Object(map)) => {
                for (key, value) in map.iter() {
                    let inner = match key {
                        hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                        hcl_edit::expr::ObjectKey::Expression(e) => {
                            traversal_name(e).unwrap_or_default()
                        }
                    };
                    let outer = traversal_name(value.expr()).unwrap_or_default();
                    if let Some(tags) = self.providers.default_tags.get(&outer) {
                        providers.default_tags.insert(inner, tags.clone());
                    }
                }
            }
            _ => {
                for (name, tags) in &self.providers.default_tags {
                    if !name.contains('.') {
                        providers.default_tags.insert(name.clone(), tags.clone());
                    }
                }
            }
        }
        let mut path = self.path.clone();
        path.push(def.dir.clone());
        let mut calls = self.calls.clone();
        calls.push(Origin {
            file: call.file,
            span: hcl_front::header_span(call.block),
            message: prefix.clone(),
        });
        let place = Place {
            prefix: format!("{prefix}."),
            key: key.to_string(),
            root: self.root.clone(),
            calls,
        };
        Instance::new(self.program, def, place, vars, path, providers)
    }

    /// Lowers this instance's resources and data sources, then its
    /// children's.
    fn lower(&self, out: &mut Vec<Resource>) {
        for (file, block, header) in &self.def.blocks {
            let base = format!("{}{}", self.prefix, header.address);
            let mut lower_one = |address: String, ctx: &Ctx<'_, 'a>| {
                let header = Header {
                    kind: header.kind,
                    address,
                    resource_type: header.resource_type.clone(),
                };
                let (mut resource, note) = hcl_front::lower_block(*file, block, header, Some(ctx));
                if let Some((span, message)) = note {
                    self.program.note(*file, span, message);
                }
                self.provenance(block, &mut resource);
                resource.module.clone_from(&self.calls);
                resource.references = self.references(&block.body);
                if header_is_aws(&resource) && resource.kind == BlockKind::Resource {
                    self.apply_default_tags(block, &mut resource);
                }
                out.push(resource);
            };
            for (suffix, _, ctx) in self.expand(&block.body).instances {
                lower_one(format!("{base}{suffix}"), &ctx);
            }
        }
        for call in &self.def.calls {
            let Some(children) = self.children(&call.name) else {
                continue;
            };
            match children.as_ref() {
                Children::One(child) => child.lower(out),
                Children::Counted(list) => list.iter().for_each(|c| c.lower(out)),
                Children::Keyed(map) => map.values().for_each(|c| c.lower(out)),
                Children::Opaque => {}
            }
        }
    }

    /// The resources and data sources a block's expressions refer to, as
    /// addresses in this module instance, with those reached through
    /// variables, locals and module outputs.
    fn references(&self, body: &Body) -> Vec<String> {
        let mut found = Vec::new();
        collect_references(body, &mut found);
        let mut addresses: Vec<String> = found
            .iter()
            .flat_map(|r| self.reference_addresses(r, 0))
            .collect();
        addresses.sort();
        addresses.dedup();
        addresses
    }

    /// The addresses one expression refers to, as [`Self::references`].
    fn expression_references(&self, expr: &Expression, depth: usize) -> Vec<String> {
        eval::references(expr)
            .iter()
            .flat_map(|r| self.reference_addresses(r, depth))
            .collect()
    }

    /// The addresses one reference stands for: a resource's own, or what
    /// the variable, local or module output it names refers to (a few
    /// levels deep).
    fn reference_addresses(&self, r: &eval::Reference, depth: usize) -> Vec<String> {
        let Some(first) = r.path.first() else {
            return Vec::new();
        };
        let deeper = depth < 4;
        match r.root.as_str() {
            "var" => self
                .vars
                .get(first)
                .map(|a| a.references.clone())
                .unwrap_or_default(),
            "local" if deeper => self
                .def
                .locals
                .get(first)
                .map(|(_, local)| self.expression_references(&local.value, depth + 1))
                .unwrap_or_default(),
            "module" => {
                let mut out = vec![format!("{}module.{first}", self.prefix)];
                if let (true, Some(output)) = (deeper, r.path.get(1)) {
                    if let Some(children) = self.children(first) {
                        let instances: Vec<&Rc<Instance<'a>>> = match children.as_ref() {
                            Children::One(child) => vec![child],
                            Children::Counted(list) => list.iter().collect(),
                            Children::Keyed(map) => map.values().collect(),
                            Children::Opaque => Vec::new(),
                        };
                        for child in instances {
                            if let Some((_, attribute)) = child.def.outputs.get(output) {
                                out.extend(
                                    child.expression_references(&attribute.value, depth + 1),
                                );
                            }
                        }
                    }
                }
                out
            }
            "data" => r
                .path
                .get(1)
                .map(|name| vec![format!("{}data.{first}.{name}", self.prefix)])
                .unwrap_or_default(),
            "local" | "count" | "each" | "path" | "terraform" | "self" => Vec::new(),
            root if root.contains('_') => vec![format!("{}{root}.{first}", self.prefix)],
            _ => Vec::new(),
        }
    }

    /// Records where the values of `var.*` and `local.*` that an attribute
    /// reads were written.
    fn provenance(&self, block: &Block, resource: &mut Resource) {
        for attribute in block.body.attributes() {
            let origins = self.origins_of(&attribute.value, 0);
            if !origins.is_empty() {
                let pointer = crate::model::push_pointer("", attribute.key.as_str());
                resource.related.insert(pointer, origins);
            }
        }
    }

    /// Where the variables and locals an expression reads were written,
    /// following locals and module arguments back (a few levels deep).
    fn origins_of(&self, expr: &Expression, depth: usize) -> Vec<Origin> {
        let mut origins: Vec<Origin> = Vec::new();
        if depth > 4 {
            return origins;
        }
        for reference in eval::references(expr) {
            let Some(name) = reference.path.first() else {
                continue;
            };
            match reference.root.as_str() {
                "var" => {
                    if let Some(assigned) = self.vars.get(name) {
                        origins.extend(assigned.origin.iter().cloned());
                    }
                }
                "local" => {
                    if let Some((file, local)) = self.def.locals.get(name) {
                        origins.push(Origin {
                            file: *file,
                            span: span_of(local),
                            message: format!("local.{name}"),
                        });
                        origins.extend(self.origins_of(&local.value, depth + 1));
                    }
                }
                _ => {}
            }
        }
        origins.dedup();
        origins
    }

    /// Merges the provider's `default_tags` under the resource's `tags`
    /// (the resource wins), for the provider configuration it uses.
    fn apply_default_tags(&self, block: &Block, resource: &mut Resource) {
        if resource.resource_type == "aws_autoscaling_group" {
            return;
        }
        let config = block
            .body
            .get_attribute("provider")
            .and_then(|a| traversal_name(&a.value))
            .unwrap_or_else(|| "aws".to_string());
        let Some((defaults, origin)) = self.providers.default_tags.get(&config) else {
            return;
        };
        if resource.is_unknown("/tags") {
            return;
        }
        let (defaults_json, unknown) = defaults.to_json();
        let serde_json::Value::Object(attributes) = &mut resource.attributes else {
            return;
        };
        if !unknown.is_empty() && unknown.iter().any(|p| p.is_empty()) {
            // The default tags themselves are unknown: so is the merge.
            if !attributes.contains_key("tags") {
                attributes.insert("tags".into(), serde_json::Value::Null);
            }
            resource.unknown.insert("/tags".into());
            return;
        }
        let serde_json::Value::Object(defaults_map) = defaults_json else {
            return;
        };
        let tags = attributes
            .entry("tags")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        let serde_json::Value::Object(tags) = tags else {
            return;
        };
        for (key, value) in defaults_map {
            if tags.contains_key(&key) {
                continue;
            }
            let pointer = crate::model::push_pointer("/tags", &key);
            if unknown.iter().any(|u| u == &format!("/{key}")) {
                resource.unknown.insert(pointer.clone());
            }
            if let Some(origin) = origin {
                resource.related.insert(pointer, vec![origin.clone()]);
            }
            tags.insert(key, value);
        }
    }
}

fn collect_references(body: &Body, found: &mut Vec<eval::Reference>) {
    for attribute in body.attributes() {
        found.extend(eval::references(&attribute.value));
    }
    for block in body.blocks() {
        collect_references(&block.body, found);
    }
}

fn header_is_aws(resource: &Resource) -> bool {
    resource.resource_type.starts_with("aws_")
}

/// `aws.west` from a traversal expression `aws.west`; `aws` from `aws`.
fn traversal_name(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Variable(v) => Some(v.as_str().to_string()),
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else {
                return None;
            };
            let mut name = root.as_str().to_string();
            for op in &t.operators {
                if let hcl_edit::expr::TraversalOperator::GetAttr(attr) = op.value() {
                    name.push('.');
                    name.push_str(attr.as_str());
                }
            }
            Some(name)
        }
        _ => None,
    }
}

/// What [`Instance::expand`] gives.
struct Expanded<'i, 'a> {
    shape: Shape,
    instances: Vec<(String, Option<String>, Ctx<'i, 'a>)>,
}

/// How a block expanded.
enum Shape {
    Single,
    Counted,
    Keyed,
    Unknown,
}

/// How a block with `count` or `for_each` expands.
enum Expansion {
    Single,
    Count(usize),
    /// `for_each` keys (sorted) with their values.
    Keys(Vec<(String, Value)>),
    /// The expansion is not known: one instance whose count/each values
    /// are unknown.
    Unknown(UnknownKind),
}

enum UnknownKind {
    Count,
    Each,
}

fn expansion(ctx: &Ctx<'_, '_>, body: &Body) -> Expansion {
    if let Some(count) = body.get_attribute("count") {
        return match ctx.evaluate(&count.value).as_i64() {
            Some(n) if n >= 0 => Expansion::Count((n as usize).min(MAX_INSTANCES)),
            _ => Expansion::Unknown(UnknownKind::Count),
        };
    }
    if let Some(for_each) = body.get_attribute("for_each") {
        return match ctx.evaluate(&for_each.value) {
            Value::Map(map) if map.keys().len() <= MAX_INSTANCES => {
                Expansion::Keys(map.into_iter().collect())
            }
            Value::List(items)
                if items.iter().all(|v| v.as_str().is_some()) && items.len() <= MAX_INSTANCES =>
            {
                let mut keys: Vec<(String, Value)> = items
                    .into_iter()
                    .filter_map(|v| {
                        v.as_str()
                            .map(|s| (s.to_string(), Value::String(s.to_string())))
                    })
                    .collect();
                keys.sort_by(|a, b| a.0.cmp(&b.0));
                keys.dedup_by(|a, b| a.0 == b.0);
                Expansion::Keys(keys)
            }
            Value::Null => Expansion::Keys(Vec::new()),
            _ => Expansion::Unknown(UnknownKind::Each),
        };
    }
    Expansion::Single
}

/// The scope of one expression: its module instance, and the `count`,
/// `each` and iterator values in force.
#[derive(Clone)]
struct Ctx<'i, 'a> {
    instance: &'i Instance<'a>,
    count: Option<Value>,
    each: Option<(Value, Value)>,
    bindings: Vec<(String, Value, Value)>,
}

impl Scope for Ctx<'_, '_> {
    fn resolve(&self, root: &str, attr: Option<&str>) -> Option<Value> {
        if let Some((_, key, value)) = self.bindings.iter().rev().find(|(name, _, _)| name == root)
        {
            return match attr {
                Some("key") => Some(key.clone()),
                Some("value") => Some(value.clone()),
                None => Some(Value::Map(BTreeMap::from([
                    ("key".into(), key.clone()),
                    ("value".into(), value.clone()),
                ]))),
                Some(_) => None,
            };
        }
        let instance = self.instance;
        match (root, attr) {
            ("var", Some(name)) => instance.vars.get(name).map(|a| a.value.clone()),
            ("local", Some(name)) => instance.local(name),
            ("module", Some(name)) => instance.module_value(name),
            ("count", Some("index")) => self.count.clone(),
            ("each", Some("key")) => self.each.as_ref().map(|(k, _)| k.clone()),
            ("each", Some("value")) => self.each.as_ref().map(|(_, v)| v.clone()),
            ("path", Some("module")) => Some(Value::String(instance.def.dir.display().to_string())),
            // Terraform runs in the root module's folder: both name it.
            ("path", Some("root" | "cwd")) => {
                Some(Value::String(instance.root.display().to_string()))
            }
            ("terraform", Some("workspace")) => Some(Value::String("default".into())),
            // Resources, data sources and `self` are known only after
            // apply, here.
            _ => Some(Value::Unknown),
        }
    }
}

impl Evaluate for Ctx<'_, '_> {
    fn evaluate(&self, expr: &Expression) -> Value {
        let ctx = self.instance.program.context(&self.instance.def.dir);
        eval::eval(expr, self, &ctx).unwrap_or(Value::Unknown)
    }

    fn bind(&self, name: &str, key: Value, value: Value) -> Box<dyn Evaluate + '_> {
        let mut bound = self.clone();
        bound.bindings.push((name.to_string(), key, value));
        Box::new(bound)
    }
}
