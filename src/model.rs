//! The resource model every front-end lowers into: an address, a type,
//! attributes as JSON, a span for every attribute, and what is unknown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::source::Span;

/// What a resource came from: a top-level Terraform block, or a container
/// manifest object. Rules check managed resources and manifests; the other
/// Terraform blocks are kept for the evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum BlockKind {
    #[default]
    Resource,
    Data,
    Provider,
    Variable,
    Locals,
    Module,
    Output,
    /// A container manifest object: a Kubernetes object, a compose
    /// service or network, a Dockerfile stage.
    Manifest,
}

impl BlockKind {
    /// Whether rules check resources of this kind.
    pub fn is_checked(self) -> bool {
        matches!(self, BlockKind::Resource | BlockKind::Manifest)
    }

    pub fn from_keyword(keyword: &str) -> Option<BlockKind> {
        Some(match keyword {
            "resource" => BlockKind::Resource,
            "data" => BlockKind::Data,
            "provider" => BlockKind::Provider,
            "variable" => BlockKind::Variable,
            "locals" => BlockKind::Locals,
            "module" => BlockKind::Module,
            "output" => BlockKind::Output,
            _ => return None,
        })
    }
}

/// One lowered block.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    pub kind: BlockKind,
    /// Terraform's address: `aws_db_instance.records`, `data.aws_vpc.main`,
    /// `var.region`, `module.db`, `provider.aws`, `locals`.
    pub address: String,
    /// The resource or data source type (`aws_db_instance`); the block
    /// keyword for the other kinds.
    pub resource_type: String,
    /// Index into the checked files.
    pub file: usize,
    /// The block's keyword and labels.
    pub header: Span,
    /// The whole block.
    pub span: Span,
    /// Attributes and nested blocks; nested blocks become arrays of objects.
    pub attributes: Value,
    /// Span of every attribute, nested block and literal element, keyed by
    /// JSON pointer (`/ingress/0/cidr_blocks/1`).
    pub spans: PointerMap<Span>,
    /// Pointers whose value is not known statically. Their JSON value is
    /// `null`.
    pub unknown: Unknown,
    /// The expression each value that is not a literal was written as
    /// (`var.public`, `module.vpc.database_subnet_group`), by the pointer
    /// of the attribute or element holding it: what a reader is told an
    /// undecided result depends on, or a value came from.
    pub expressions: PointerMap<Pointer>,
    /// Where the values of some attributes were written, when that is not
    /// the attribute itself: a variable default, a tfvars file, a module
    /// argument, a local, a provider's default tags.
    pub related: Related,
    /// The module calls from the root module down to this resource, one
    /// per level: the `module` block's header, with the instance address
    /// (`module.app`, `module.app.module.db["audit"]`) as the message.
    /// Empty for resources of a root module and for manifests.
    pub module: Vec<Origin>,
    /// The `key=value` pairs of a `# policy:` comment right above the
    /// block: metadata for resources that take no tags (Aptible), such as
    /// `data_classification=ephi`.
    pub policy: BTreeMap<String, String>,
    /// Addresses of the resources and data sources this one refers to
    /// (`aws_s3_bucket.logs`, `module.db.aws_db_instance.this`), without
    /// instance keys.
    pub references: Vec<String>,
    /// The evaluation scope: one number per Terraform root module (from
    /// 1), 0 outside Terraform. Addresses and references mean something
    /// only inside one scope: two sibling roots may both hold an
    /// `aws_db_parameter_group.pg`.
    pub scope: u32,
    /// For a compose service with `build:`, the Dockerfile it builds and
    /// that file's final base image: the role the service takes when its
    /// `image` says nothing (CMP 8.2.5).
    pub built: Option<Box<Built>>,
    /// For a resource read from a Terraform plan and located in its
    /// `.tf` source: where the plan holds it. Findings list it, and are
    /// reported wherever the plan is.
    pub planned: Option<Box<Origin>>,
}

/// A resource's values by JSON pointer (spans, expressions, origins):
/// a sorted vector, iterated in the pointers' order as a `BTreeMap` is.
/// A monorepo keeps hundreds of thousands of resources, most with a few
/// entries each, until the report is written; a `BTreeMap` allocates
/// nodes of eleven entries, so the flat vector holds the same in half
/// the memory. Its inserts out of order cost O(n): lowerers build a
/// [`Spans`] or another `BTreeMap` and collect it here, in O(n) since it
/// is sorted.
pub type PointerMap<V> = litemap::LiteMap<Pointer, V>;

/// Spans by JSON pointer, while a lowerer builds them (see
/// [`PointerMap`]).
pub type Spans = BTreeMap<Pointer, Span>;
/// JSON pointers whose values are not known statically.
pub type Unknown = BTreeSet<Pointer>;
/// Where values came from, by JSON pointer.
pub type Related = PointerMap<Origins>;

/// The places one value came from, shared: every attribute that reads
/// `var.name`, in every resource of a module instance, has the same list
/// (the module argument, the root variable, its tfvars line), and a
/// monorepo's resources held 739,000 copies of such lists. See
/// [`shared_origins`].
pub type Origins = Arc<[Origin]>;

/// How many lists each thread's table of shared origins holds before it
/// starts again (see [`SHARED_POINTERS`]).
const SHARED_ORIGINS: usize = 1 << 14;

/// The longest list the table keeps: longer ones are rare and not worth
/// holding on to.
const SHARED_ORIGINS_LEN: usize = 8;

thread_local! {
    static ORIGINS: std::cell::RefCell<foldhash::HashSet<Origins>> =
        std::cell::RefCell::new(foldhash::HashSet::default());
}

/// The shared copy of `list`, made when this thread has none.
pub fn shared_origins(list: Vec<Origin>) -> Origins {
    if list.len() > SHARED_ORIGINS_LEN {
        return list.into();
    }
    ORIGINS.with(|table| {
        let mut table = table.borrow_mut();
        if let Some(shared) = table.get(list.as_slice()) {
            return Arc::clone(shared);
        }
        if table.len() >= SHARED_ORIGINS {
            table.clear();
        }
        let shared: Origins = list.into();
        table.insert(Arc::clone(&shared));
        shared
    })
}

/// A JSON pointer, or another short text that many resources repeat (an
/// expression such as `var.region`): shared, not copied. Every resource
/// of a type spells the same pointers (`/tags/owner`), and a module
/// called from ten thousand roots yields ten thousand resources with the
/// same ones; each pointer's text is kept once per thread (see
/// [`Pointer::new`]). Compares, orders and hashes as its text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer(Arc<str>);

/// How many texts each thread's table of shared pointers holds before it
/// starts again: a bound on what the table keeps alive, whatever the
/// input spells. Texts handed out before stay valid.
const SHARED_POINTERS: usize = 1 << 16;

/// The longest text the table keeps: pointers that repeat are short, and
/// with [`SHARED_POINTERS`] this bounds the table to a few megabytes per
/// thread. A longer one (a YAML key can be a megabyte) is copied, and
/// freed with the last resource that holds it.
const SHARED_LEN: usize = 256;

thread_local! {
    static POINTERS: std::cell::RefCell<foldhash::HashSet<Arc<str>>> =
        std::cell::RefCell::new(foldhash::HashSet::default());
}

impl Pointer {
    /// The shared copy of `text`, made when this thread has none.
    pub fn new(text: &str) -> Pointer {
        if text.len() > SHARED_LEN {
            return Pointer(Arc::from(text));
        }
        POINTERS.with(|table| {
            let mut table = table.borrow_mut();
            if let Some(shared) = table.get(text) {
                return Pointer(Arc::clone(shared));
            }
            if table.len() >= SHARED_POINTERS {
                table.clear();
            }
            let shared: Arc<str> = Arc::from(text);
            table.insert(Arc::clone(&shared));
            Pointer(shared)
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Pointer {
    fn default() -> Pointer {
        Pointer::new("")
    }
}

impl std::ops::Deref for Pointer {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Pointer {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Pointer {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Pointer {
    fn from(text: &str) -> Pointer {
        Pointer::new(text)
    }
}

impl From<String> for Pointer {
    fn from(text: String) -> Pointer {
        Pointer::new(&text)
    }
}

impl From<&String> for Pointer {
    fn from(text: &String) -> Pointer {
        Pointer::new(text)
    }
}

impl PartialEq<str> for Pointer {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Pointer {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl serde::Serialize for Pointer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The image a compose service builds, as far as its role is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The Dockerfile, as the report writes paths (relative to the
    /// compose file's folder's project, as reached).
    pub dockerfile: String,
    /// The final stage's base image, stage aliases followed; `None` when
    /// not known statically.
    pub base_image: Option<String>,
}

/// A place a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Index into the checked files.
    pub file: usize,
    pub span: Span,
    /// Shared: an origin is copied into every resource and instance it
    /// explains (a provider's default tags into each tagged resource).
    pub message: Arc<str>,
    /// The value came from the process environment (`TF_VAR_name`),
    /// which may hold CI secrets: messages must not quote it.
    pub from_environment: bool,
}

impl Resource {
    /// The span of the pointer, or of its nearest ancestor that has one,
    /// falling back to the block header.
    pub fn locate(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if pointer.is_empty() {
                return self.header;
            }
            if let Some(span) = self.spans.get(pointer) {
                return *span;
            }
            pointer = parent_pointer(pointer);
        }
    }

    /// Whether the value at `pointer` is unknown, or sits inside an
    /// unknown value.
    /// Where the value at `pointer` (or an enclosing value) came from.
    pub fn origins(&self, pointer: &str) -> &[Origin] {
        let mut pointer = pointer;
        loop {
            if let Some(origins) = self.related.get(pointer) {
                return origins;
            }
            if pointer.is_empty() {
                return &[];
            }
            pointer = parent_pointer(pointer);
        }
    }

    /// What the value at `pointer` depends on, in Terraform's words: the
    /// expression written at it or at its nearest ancestor, else the
    /// attribute's path (`ingress[0].cidr_blocks`).
    pub fn unknown_source(&self, pointer: &str) -> String {
        let mut at = pointer;
        loop {
            if let Some(expr) = self.expressions.get(at) {
                return expr.to_string();
            }
            if at.is_empty() {
                return attribute_path(pointer);
            }
            at = parent_pointer(at);
        }
    }

    /// Gives back what building the attributes left spare: maps and
    /// arrays grow by doubling as they are filled, and a monorepo's
    /// hundreds of thousands of resources are kept until the report is
    /// written. Called once a resource is complete.
    pub fn shrink(&mut self) {
        shrink_value(&mut self.attributes);
        self.address.shrink_to_fit();
        self.resource_type.shrink_to_fit();
        self.references.shrink_to_fit();
        self.module.shrink_to_fit();
        shrink_map(&mut self.spans);
        shrink_map(&mut self.expressions);
        shrink_map(&mut self.related);
    }

    pub fn is_unknown(&self, pointer: &str) -> bool {
        let mut pointer = pointer;
        while !pointer.is_empty() {
            if self.unknown.contains(pointer) {
                return true;
            }
            pointer = parent_pointer(pointer);
        }
        false
    }
}

/// Gives back a map's spare capacity: its entries stay as they are.
fn shrink_map<V>(map: &mut PointerMap<V>) {
    let mut entries = std::mem::take(map).into_tuple_vec();
    entries.shrink_to_fit();
    *map = PointerMap::from_sorted_store_unchecked(entries);
}

/// Rebuilds every map and array of `value` at its exact size (see
/// [`Resource::shrink`]); the order of keys is kept.
fn shrink_value(value: &mut Value) {
    match value {
        Value::Array(items) => {
            items.iter_mut().for_each(shrink_value);
            items.shrink_to_fit();
        }
        Value::Object(map) => {
            // `Map` cannot shrink in place; collected from an exact-size
            // iterator it is allocated at its length.
            *map = std::mem::take(map)
                .into_iter()
                .map(|(mut key, mut value)| {
                    key.shrink_to_fit();
                    shrink_value(&mut value);
                    (key, value)
                })
                .collect();
        }
        Value::String(text) => text.shrink_to_fit(),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The address without its instance key: `aws_s3_bucket.logs[0]` ->
/// `aws_s3_bucket.logs`, as references name resources.
pub fn base_address(address: &str) -> &str {
    if address.ends_with(']') {
        if let Some(open) = address.rfind('[') {
            return &address[..open];
        }
    }
    address
}

/// Resources of some types, found by address and by what they refer to,
/// so that checks over relations need not compare every pair. Lookups
/// stay inside the asking resource's scope (its root module).
#[derive(Debug, Default)]
pub struct Index<'r> {
    by_address: HashMap<u32, HashMap<&'r str, Vec<&'r Resource>>>,
    by_reference: HashMap<u32, HashMap<&'r str, Vec<&'r Resource>>>,
}

type HashMap<K, V> = std::collections::HashMap<K, V>;

impl<'r> Index<'r> {
    /// The managed resources among `resources` whose type is in `types`.
    pub fn of(resources: &'r [Resource], types: &[&str]) -> Index<'r> {
        let mut index = Index::default();
        for r in resources {
            if r.kind != BlockKind::Resource || !types.contains(&r.resource_type.as_str()) {
                continue;
            }
            index
                .by_address
                .entry(r.scope)
                .or_default()
                .entry(base_address(&r.address))
                .or_default()
                .push(r);
            let referring = index.by_reference.entry(r.scope).or_default();
            for reference in &r.references {
                referring.entry(reference.as_str()).or_default().push(r);
            }
        }
        index
    }

    /// The resources that `from`'s reference names.
    pub fn named(&self, from: &Resource, reference: &str) -> &[&'r Resource] {
        self.by_address
            .get(&from.scope)
            .and_then(|m| m.get(reference))
            .map_or(&[], Vec::as_slice)
    }

    /// The resources `from` refers to.
    pub fn referred_by<'s>(
        &'s self,
        from: &'s Resource,
    ) -> impl Iterator<Item = &'r Resource> + 's {
        from.references
            .iter()
            .flat_map(move |r| self.named(from, r))
            .copied()
    }

    /// The resources that refer to `subject` (any instance of it).
    pub fn referring_to(&self, subject: &Resource) -> &[&'r Resource] {
        self.by_reference
            .get(&subject.scope)
            .and_then(|m| m.get(base_address(&subject.address)))
            .map_or(&[], Vec::as_slice)
    }

    /// Every indexed resource.
    pub fn all(&self) -> impl Iterator<Item = &'r Resource> + '_ {
        self.by_address
            .values()
            .flat_map(|m| m.values())
            .flatten()
            .copied()
    }
}

/// A JSON pointer as Terraform writes the attribute it names:
/// `/ingress/0/cidr_blocks` -> `ingress[0].cidr_blocks`.
pub fn attribute_path(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if token.bytes().all(|b| b.is_ascii_digit()) && !token.is_empty() {
            out.push('[');
            out.push_str(&token);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

/// `/a/b/0` -> `/a/b`; `/a` -> ``.
pub fn parent_pointer(pointer: &str) -> &str {
    pointer.rfind('/').map_or("", |i| &pointer[..i])
}

/// Appends one reference token to a JSON pointer, escaping as RFC 6901 says.
pub fn push_pointer(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    push_token(&mut out, token);
    out
}

/// The bytes `/token` adds to a pointer, escapes included: what
/// [`push_token`] would append, measured without building it.
pub fn token_len(token: &str) -> usize {
    let escapes = token.bytes().filter(|b| matches!(b, b'~' | b'/')).count();
    1 + token.len() + escapes
}

/// Appends `/token` to a pointer, escaping `~` and `/` as JSON pointers do.
pub fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_is_kept_once_and_the_table_is_bounded() {
        let a = Pointer::new("/tags/owner");
        let b = Pointer::from(String::from("/tags/owner"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "/tags/owner");
        for i in 0..=SHARED_POINTERS {
            let _ = Pointer::new(&format!("/x/{i}"));
        }
        assert!(POINTERS.with(|t| t.borrow().len()) <= SHARED_POINTERS);
        // A long text is not kept: the table holds short ones only.
        let long = "/k".repeat(SHARED_LEN);
        let before = POINTERS.with(|t| t.borrow().len());
        assert_eq!(Pointer::new(&long).as_str(), long);
        assert_eq!(POINTERS.with(|t| t.borrow().len()), before);
        assert!(POINTERS.with(|t| t.borrow().iter().all(|p| p.len() <= SHARED_LEN)));
        // Handed out before the table started again: still whole.
        assert_eq!(a.as_str(), "/tags/owner");
        assert_eq!(format!("{a:?} {a}"), r#""/tags/owner" /tags/owner"#);
    }

    #[test]
    fn an_origin_list_is_kept_once_and_the_table_is_bounded() {
        let origin = |i: usize| Origin {
            file: i,
            span: Span::new(i, i + 1),
            message: Arc::from(format!("var.v{i}")),
            from_environment: false,
        };
        let a = shared_origins(vec![origin(1), origin(2)]);
        let b = shared_origins(vec![origin(1), origin(2)]);
        assert!(Arc::ptr_eq(&a, &b));
        // Another order is another list.
        let c = shared_origins(vec![origin(2), origin(1)]);
        assert!(!Arc::ptr_eq(&a, &c));
        for i in 0..=SHARED_ORIGINS {
            let _ = shared_origins(vec![origin(i)]);
        }
        assert!(ORIGINS.with(|t| t.borrow().len()) <= SHARED_ORIGINS);
        // A long list is not kept.
        let long: Vec<Origin> = (0..=SHARED_ORIGINS_LEN).map(origin).collect();
        let before = ORIGINS.with(|t| t.borrow().len());
        assert_eq!(shared_origins(long.clone())[..], long[..]);
        assert_eq!(ORIGINS.with(|t| t.borrow().len()), before);
        // Handed out before the table started again: still whole.
        assert_eq!(a[..], [origin(1), origin(2)]);
    }

    #[test]
    fn pointers_escape_and_climb() {
        assert_eq!(push_pointer("/tags", "a/b~c"), "/tags/a~1b~0c");
        assert_eq!(parent_pointer("/a/b/0"), "/a/b");
        assert_eq!(parent_pointer("/a"), "");
        assert_eq!(token_len("a/b~c"), push_pointer("", "a/b~c").len());
    }
}
