//! Role classification for CMP 8.2.5 and 8.3.4: is a container, compose
//! service or image a frontend, a backend or a database? The lists are
//! data (`data/roles.yaml`, extended by the configuration's `roles`
//! section); this module only applies them, in the order explicit
//! metadata > image > name > port. Sidecars never count.

use std::fmt;
use std::sync::{Arc, OnceLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// The built-in lists.
pub const BUILTIN_ROLES: &str = include_str!("../data/roles.yaml");

/// What a container does, as far as the separation rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Databases and caches (CMP 8.3.4's Postgres and Redis included).
    Database,
    /// Dashboards, portals, web servers.
    Frontend,
    /// Application servers.
    Backend,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Database, Role::Frontend, Role::Backend];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Database => "database",
            Role::Frontend => "frontend",
            Role::Backend => "backend",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lists for one role, as the data file and the configuration write
/// them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleLists {
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub programs: Vec<String>,
}

/// The whole data file, or the configuration's additions to it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RoleData {
    #[serde(default)]
    pub metadata_keys: Vec<String>,
    #[serde(default)]
    pub database: RoleLists,
    #[serde(default)]
    pub frontend: RoleLists,
    #[serde(default)]
    pub backend: RoleLists,
    #[serde(default)]
    pub name_stop_words: Vec<String>,
    #[serde(default)]
    pub exclude_packages: Vec<String>,
    #[serde(default)]
    pub sidecars: Vec<String>,
}

impl RoleData {
    fn lists(&self, role: Role) -> &RoleLists {
        match role {
            Role::Database => &self.database,
            Role::Frontend => &self.frontend,
            Role::Backend => &self.backend,
        }
    }

    fn lists_mut(&mut self, role: Role) -> &mut RoleLists {
        match role {
            Role::Database => &mut self.database,
            Role::Frontend => &mut self.frontend,
            Role::Backend => &mut self.backend,
        }
    }

    /// These lists with `more` appended.
    pub fn extended(&self, more: &RoleData) -> RoleData {
        let mut out = self.clone();
        out.metadata_keys.extend(more.metadata_keys.iter().cloned());
        out.name_stop_words
            .extend(more.name_stop_words.iter().cloned());
        out.exclude_packages
            .extend(more.exclude_packages.iter().cloned());
        out.sidecars.extend(more.sidecars.iter().cloned());
        for role in Role::ALL {
            let add = more.lists(role);
            let lists = out.lists_mut(role);
            lists.values.extend(add.values.iter().cloned());
            lists.labels.extend(add.labels.iter().cloned());
            lists.images.extend(add.images.iter().cloned());
            lists.names.extend(add.names.iter().cloned());
            lists.ports.extend(add.ports.iter().copied());
            lists.packages.extend(add.packages.iter().cloned());
            lists.programs.extend(add.programs.iter().cloned());
        }
        out
    }
}

/// Image patterns split by what they match.
struct ImagePatterns {
    /// Patterns without `/`: matched against the last path segment.
    segment: GlobSet,
    /// Patterns with `/`: matched against the repository path.
    path: GlobSet,
    /// The words of the plain names among `segment` (no `/`, no `*`):
    /// what an affixed segment (`nginx-slim`, `redis-cluster`) is
    /// matched on.
    words: Vec<Vec<String>>,
}

impl ImagePatterns {
    fn new(patterns: &[String]) -> Result<ImagePatterns, String> {
        let (with, without): (Vec<&String>, Vec<&String>) =
            patterns.iter().partition(|p| p.contains('/'));
        let words = without
            .iter()
            .filter(|p| !p.contains(['*', '?', '[', '{']))
            .map(|p| {
                p.to_ascii_lowercase()
                    .split(['-', '_', '.'])
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        Ok(ImagePatterns {
            segment: globs(without)?,
            path: globs(with)?,
            words,
        })
    }

    /// The segment or the repository path matches a pattern as written.
    fn matches(&self, image: &ImageName) -> bool {
        self.segment.is_match(image.segment()) || self.path.is_match(&image.repository)
    }

    /// The segment's words begin or end with a plain name's words:
    /// `nginx-slim`, `redis-cluster`, `docker-nginx`, `postgres15`
    /// (numbers dropped), but not `mytomcat`.
    fn matches_affixed(&self, segment: &str) -> bool {
        let raw: Vec<&str> = segment
            .split(['-', '_', '.'])
            .filter(|w| !w.is_empty())
            .collect();
        // A word matches as written or numbered (`postgres15`); words of
        // digits alone (`mysql-8-debian`) are left out.
        let same =
            |w: &str, p: &String| w == p || w.trim_end_matches(|c: char| c.is_ascii_digit()) == p;
        let raw: Vec<&str> = raw
            .into_iter()
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
            .collect();
        self.words.iter().any(|name| {
            name.len() <= raw.len()
                && (name.iter().zip(&raw).all(|(p, w)| same(w, p))
                    || name
                        .iter()
                        .rev()
                        .zip(raw.iter().rev())
                        .all(|(p, w)| same(w, p)))
        })
    }
}

/// The words of a name or image segment, split at `-`, `_` and `.`,
/// each without trailing digits (`web1` is `web`); words of digits alone
/// (`api-2`) are dropped.
fn words(text: &str) -> Vec<String> {
    text.split(['-', '_', '.'])
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit()))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn globs<'a>(patterns: impl IntoIterator<Item = &'a String>) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(&pattern.to_ascii_lowercase())
            .literal_separator(false)
            .build()
            .map_err(|e| format!("invalid pattern `{pattern}`: {e}"))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| e.to_string())
}

struct CompiledRole {
    role: Role,
    values: Vec<String>,
    labels: Vec<(String, String)>,
    images: ImagePatterns,
    names: Vec<String>,
    ports: Vec<u16>,
    packages: GlobSet,
    programs: Vec<String>,
}

/// The compiled role lists.
pub struct Classifier {
    metadata_keys: Vec<String>,
    /// In precedence order: database, frontend, backend.
    roles: Vec<CompiledRole>,
    stop_words: Vec<String>,
    exclude_packages: GlobSet,
    sidecars: ImagePatterns,
    sidecar_names: Vec<String>,
}

/// A parsed image reference: `registry/path/name:tag@digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// The repository path without registry, tag or digest, lower-case,
    /// and without Docker Hub's `library/`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageName {
    pub fn parse(image: &str) -> ImageName {
        let image = image.trim();
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        // A tag follows the last `:` after the last `/`.
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_string())),
            None => (rest, None),
        };
        let mut parts: Vec<&str> = path.split('/').collect();
        if parts.len() > 1 {
            let first = parts[0];
            if first.contains('.') || first.contains(':') || first == "localhost" {
                parts.remove(0);
            }
        }
        if parts.len() > 1 && parts[0] == "library" {
            parts.remove(0);
        }
        ImageName {
            repository: parts.join("/").to_ascii_lowercase(),
            tag,
            digest,
        }
    }

    /// The last path segment: `postgresql` of `bitnami/postgresql`.
    pub fn segment(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }
}

/// What is known about one container, service or image.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    /// Container or service name.
    pub name: Option<&'a str>,
    /// The image reference, when known.
    pub image: Option<&'a str>,
    /// Whether the image is set to a value not known statically.
    pub image_unknown: bool,
    /// For a compose service with `build:`, the final base image of the
    /// Dockerfile it builds (`None` when unknown), and that Dockerfile.
    pub built: Option<(Option<&'a str>, &'a str)>,
    /// Labels and annotations; `None` values are unknown.
    pub metadata: Vec<(&'a str, Option<&'a str>)>,
    /// Whether some labels are unknown altogether.
    pub metadata_unknown: bool,
    /// Ports the container listens on.
    pub ports: Vec<u16>,
}

/// The classification of one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub role: Option<Role>,
    /// What decided: `label tier=database`, `image postgres:16`, ...
    pub reason: String,
    /// A sidecar, which never counts for any role.
    pub sidecar: bool,
    /// Evidence that would have taken precedence is unknown, so the role
    /// may be different.
    pub uncertain: bool,
}

impl Verdict {
    /// The role, unless the subject is a sidecar.
    pub fn counted(&self) -> Option<Role> {
        if self.sidecar {
            None
        } else {
            self.role
        }
    }
}

impl fmt::Debug for Classifier {
    // The compiled globs are long and say nothing to a reader.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("metadata_keys", &self.metadata_keys)
            .finish_non_exhaustive()
    }
}

impl Classifier {
    /// The built-in lists, compiled once.
    pub fn builtin() -> Arc<Classifier> {
        static BUILTIN: OnceLock<Arc<Classifier>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let data = builtin_data();
                Arc::new(Classifier::new(data).expect("the built-in role lists compile"))
            })
            .clone()
    }

    /// The built-in lists plus `additions` (the configuration's `roles`).
    pub fn with_additions(additions: &RoleData) -> Result<Classifier, String> {
        Classifier::new(&builtin_data().extended(additions))
    }

    pub fn new(data: &RoleData) -> Result<Classifier, String> {
        let lower = |items: &[String]| -> Vec<String> {
            items.iter().map(|s| s.to_ascii_lowercase()).collect()
        };
        let mut roles = Vec::new();
        for role in Role::ALL {
            let lists = data.lists(role);
            let mut labels = Vec::new();
            for pair in &lists.labels {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(format!(
                        "label `{pair}` of role {role} is not written `key=value`"
                    ));
                };
                labels.push((k.trim().to_string(), v.trim().to_string()));
            }
            roles.push(CompiledRole {
                role,
                values: lower(&lists.values),
                labels,
                images: ImagePatterns::new(&lists.images)?,
                names: lower(&lists.names),
                ports: lists.ports.clone(),
                packages: globs(&lists.packages)?,
                programs: lists.programs.clone(),
            });
        }
        let (sidecar_images, sidecar_names): (Vec<String>, Vec<String>) = (
            data.sidecars.clone(),
            data.sidecars
                .iter()
                .filter(|s| !s.contains('/'))
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        );
        Ok(Classifier {
            metadata_keys: data.metadata_keys.clone(),
            roles,
            stop_words: lower(&data.name_stop_words),
            exclude_packages: globs(&data.exclude_packages)?,
            sidecars: ImagePatterns::new(&sidecar_images)?,
            sidecar_names,
        })
    }

    /// Classifies one subject: explicit metadata, then image, then name,
    /// then ports.
    pub fn classify(&self, subject: &Subject<'_>) -> Verdict {
        let sidecar = self.is_sidecar(subject.name, subject.image);
        let verdict = |role: Option<Role>, reason: String, uncertain: bool| Verdict {
            role,
            reason,
            sidecar,
            uncertain,
        };
        let mut uncertain = subject.metadata_unknown;
        // 1. Explicit metadata; where labels disagree, the earlier role
        // of the lists (database, frontend, backend) wins.
        let mut explicit: Option<(usize, String)> = None;
        for (key, value) in &subject.metadata {
            let Some(value) = value else {
                if self.metadata_keys.iter().any(|k| k == key) {
                    uncertain = true;
                }
                continue;
            };
            for (rank, role) in self.roles.iter().enumerate() {
                let pair = role.labels.iter().any(|(k, v)| k == key && v == value);
                let named = self.metadata_keys.iter().any(|k| k == key)
                    && role.values.contains(&value.to_ascii_lowercase());
                if (pair || named) && explicit.as_ref().is_none_or(|(r, _)| rank < *r) {
                    explicit = Some((rank, format!("label {key}={value}")));
                }
            }
        }
        if let Some((rank, reason)) = explicit {
            let role = self.roles[rank].role;
            // CMP 8.2.5 counts databases among backend systems: a
            // `backend` with a database image or port is a database.
            if role == Role::Backend {
                let image = subject
                    .image
                    .filter(|i| self.image_role(i) == Some(Role::Database))
                    .map(|i| format!("image {i}"));
                let port = || {
                    subject
                        .ports
                        .iter()
                        .find(|p| self.port_role(**p) == Some(Role::Database))
                        .map(|p| format!("port {p}"))
                };
                let base = || {
                    subject
                        .built
                        .and_then(|(base, file)| Some((base?, file)))
                        .filter(|(base, _)| self.image_role(base) == Some(Role::Database))
                        .map(|(base, file)| format!("base image {base} of {file}"))
                };
                if let Some(evidence) = image.or_else(base).or_else(port) {
                    // The evidence is the image or port; the label only
                    // says backend, which a database also is.
                    return verdict(
                        Some(Role::Database),
                        format!("{evidence}; {reason} is not what makes it a database"),
                        false,
                    );
                }
            }
            return verdict(Some(role), reason, false);
        }
        // 2. The image.
        if subject.image_unknown {
            uncertain = true;
        }
        if let Some(image) = subject.image {
            if let Some(role) = self.image_role(image) {
                return verdict(Some(role), format!("image {image}"), uncertain);
            }
        }
        // A service built from a Dockerfile runs its final base image.
        match subject.built {
            Some((Some(base), file)) => {
                if let Some(role) = self.image_role(base) {
                    return verdict(
                        Some(role),
                        format!("base image {base} of {file}"),
                        uncertain,
                    );
                }
            }
            Some((None, _)) if subject.image.is_none() => uncertain = true,
            _ => {}
        }
        // 3. The name.
        if let Some(name) = subject.name {
            if let Some(role) = self.name_role(name) {
                return verdict(Some(role), format!("name `{name}`"), uncertain);
            }
        }
        // 4. Ports.
        for port in &subject.ports {
            if let Some(role) = self.port_role(*port) {
                return verdict(Some(role), format!("port {port}"), uncertain);
            }
        }
        verdict(None, String::new(), uncertain)
    }

    /// The role an image name implies, if any: a pattern as written
    /// (the last path segment, or the path for patterns with `/`), else
    /// the segment's words beginning or ending with a plain name's
    /// (`nginx-slim`, `bitnami/redis-cluster`), unless one of them is a
    /// stop word (`postgres-exporter`, `redis-tools`).
    pub fn image_role(&self, image: &str) -> Option<Role> {
        let name = ImageName::parse(image);
        if name.repository.is_empty() {
            return None;
        }
        if let Some(role) = self.roles.iter().find(|r| r.images.matches(&name)) {
            return Some(role.role);
        }
        if words(name.segment())
            .iter()
            .any(|w| self.stop_words.iter().any(|s| s == w))
        {
            return None;
        }
        self.roles
            .iter()
            .find(|r| r.images.matches_affixed(name.segment()))
            .map(|r| r.role)
    }

    /// The role a container or service name implies, if any.
    pub fn name_role(&self, name: &str) -> Option<Role> {
        let words = words(&name.to_ascii_lowercase());
        if words.iter().any(|w| self.stop_words.iter().any(|s| s == w)) {
            return None;
        }
        self.roles
            .iter()
            .find(|r| words.iter().any(|w| r.names.iter().any(|n| n == w)))
            .map(|r| r.role)
    }

    pub fn port_role(&self, port: u16) -> Option<Role> {
        self.roles
            .iter()
            .find(|r| r.ports.contains(&port))
            .map(|r| r.role)
    }

    /// The role an installed package gives an image (servers only).
    pub fn package_role(&self, package: &str) -> Option<Role> {
        let package = package.to_ascii_lowercase();
        if self.exclude_packages.is_match(&package) {
            return None;
        }
        self.roles
            .iter()
            .find(|r| r.packages.is_match(&package))
            .map(|r| r.role)
    }

    /// The role of a program a command starts (`nginx`, `postgres`).
    pub fn program_role(&self, program: &str) -> Option<Role> {
        let base = program.rsplit('/').next().unwrap_or(program);
        self.roles
            .iter()
            .find(|r| r.programs.iter().any(|p| p == base))
            .map(|r| r.role)
    }

    /// Whether a container is a sidecar (a mesh proxy, a log shipper, a
    /// cloud SQL proxy), by its name or image.
    pub fn is_sidecar(&self, name: Option<&str>, image: Option<&str>) -> bool {
        if let Some(name) = name {
            if self
                .sidecar_names
                .iter()
                .any(|s| s == &name.to_ascii_lowercase())
            {
                return true;
            }
        }
        image.is_some_and(|image| self.sidecars.matches(&ImageName::parse(image)))
    }
}

fn builtin_data() -> &'static RoleData {
    static DATA: OnceLock<RoleData> = OnceLock::new();
    DATA.get_or_init(|| {
        let source = crate::source::SourceFile::new("data/roles.yaml", BUILTIN_ROLES);
        let document = crate::parse::yaml::parse(&source)
            .ok()
            .and_then(|d| d.into_iter().next())
            .map(|d| d.value)
            .unwrap_or_default();
        serde_json::from_value(document).expect("data/roles.yaml has the documented shape")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(name: Option<&str>, image: Option<&str>, labels: &[(&str, &str)]) -> Verdict {
        let subject = Subject {
            name,
            image,
            metadata: labels.iter().map(|(k, v)| (*k, Some(*v))).collect(),
            ..Subject::default()
        };
        Classifier::builtin().classify(&subject)
    }

    #[test]
    fn images_parse_without_registry_tag_or_digest() {
        let image = ImageName::parse("registry.example.com:5000/team/Postgres:16.3@sha256:ab");
        assert_eq!(image.repository, "team/postgres");
        assert_eq!(image.tag.as_deref(), Some("16.3"));
        assert_eq!(image.digest.as_deref(), Some("sha256:ab"));
        assert_eq!(
            ImageName::parse("docker.io/library/redis").repository,
            "redis"
        );
        assert_eq!(ImageName::parse("localhost/x:1").repository, "x");
    }

    #[test]
    fn metadata_wins_over_image_over_name_over_port() {
        let role = |v: Verdict| v.role;
        assert_eq!(
            role(classify(Some("db"), Some("nginx"), &[("tier", "database")])),
            Some(Role::Database)
        );
        assert_eq!(
            role(classify(Some("web"), Some("bitnami/postgresql:16"), &[])),
            Some(Role::Database)
        );
        assert_eq!(
            role(classify(Some("admin-portal"), Some("acme/app"), &[])),
            Some(Role::Frontend)
        );
        assert_eq!(
            role(classify(Some("db-migrate"), Some("flyway/flyway"), &[])),
            None
        );
        assert_eq!(
            role(classify(Some("x"), Some("postgres-exporter"), &[])),
            None
        );
        let by_port = Classifier::builtin().classify(&Subject {
            name: Some("store"),
            ports: vec![8080, 6379],
            ..Subject::default()
        });
        assert_eq!(by_port.role, Some(Role::Database));
        assert_eq!(by_port.reason, "port 6379");
    }

    #[test]
    fn images_match_by_affixed_words_but_not_glued_ones() {
        let c = Classifier::builtin();
        assert_eq!(c.image_role("nginx-slim:1.27"), Some(Role::Frontend));
        assert_eq!(
            c.image_role("bitnami/redis-cluster:7"),
            Some(Role::Database)
        );
        assert_eq!(c.image_role("acme/docker-nginx"), Some(Role::Frontend));
        assert_eq!(c.image_role("acme/postgres15"), Some(Role::Database));
        assert_eq!(c.image_role("acme/mysql-8-debian"), Some(Role::Database));
        assert_eq!(c.image_role("mytomcat"), None);
        assert_eq!(c.image_role("nginxproxy"), None);
        // A message broker is not a data store: an ETL job named after
        // the broker it reads is no database (awesome-compose).
        assert_eq!(c.image_role("etl-kafka"), None);
        assert_eq!(c.image_role("bitnami/kafka:3.6"), None);
        // Stop words: tools beside a server's name are not the server.
        assert_eq!(c.image_role("prometheuscommunity/postgres-exporter"), None);
        assert_eq!(c.image_role("acme/redis-client"), None);
        // A pattern as written wins over an affixed one in any role.
        assert_eq!(
            c.image_role("rediscommander/redis-commander"),
            Some(Role::Frontend)
        );
        assert_eq!(c.image_role("mongo-express"), Some(Role::Frontend));
        // `db2` is a listed image, not the word `db` numbered.
        assert_eq!(c.image_role("acme/ledger-db"), None);
        assert_eq!(c.image_role("acme/pgadmin4-custom"), Some(Role::Frontend));
    }

    #[test]
    fn the_common_stores_are_databases() {
        let c = Classifier::builtin();
        for image in [
            "rethinkdb:2.4",
            "cockroachdb/cockroach:v23.1",
            "cassandra:4",
            "scylladb/scylla:5.4",
            "couchdb:3",
            "neo4j:5",
            "clickhouse/clickhouse-server:24",
            "influxdb:2.7",
            "minio/minio",
            "quay.io/coreos/etcd:v3.5",
            "bitnami/etcd",
            "arangodb:3.11",
            "yugabytedb/yugabyte",
        ] {
            assert_eq!(c.image_role(image), Some(Role::Database), "{image}");
        }
    }

    #[test]
    fn numbered_names_match_their_word() {
        let c = Classifier::builtin();
        assert_eq!(c.name_role("web1"), Some(Role::Frontend));
        assert_eq!(c.name_role("api-2"), Some(Role::Backend));
        assert_eq!(c.name_role("db_03"), Some(Role::Database));
        assert_eq!(c.name_role("website"), None);
        assert_eq!(c.name_role("db2-migrate"), None);
    }

    #[test]
    fn a_backend_label_is_never_the_evidence_of_a_database() {
        let v = classify(Some("store"), Some("postgres:16"), &[("tier", "backend")]);
        assert_eq!(v.role, Some(Role::Database));
        assert!(v.reason.starts_with("image postgres:16"), "{}", v.reason);
        assert!(
            v.reason
                .contains("tier=backend is not what makes it a database"),
            "{}",
            v.reason
        );
        let v = classify(Some("api"), Some("acme/api"), &[("tier", "backend")]);
        assert_eq!(v.role, Some(Role::Backend));
    }

    #[test]
    fn a_built_service_takes_its_base_images_role() {
        let c = Classifier::builtin();
        let v = c.classify(&Subject {
            name: Some("site"),
            built: Some((Some("nginx:1.27-alpine"), "site/Dockerfile")),
            ..Subject::default()
        });
        assert_eq!(v.role, Some(Role::Frontend));
        assert_eq!(v.reason, "base image nginx:1.27-alpine of site/Dockerfile");
        // An image that says something wins; an unknown base is
        // uncertain, not silent.
        let v = c.classify(&Subject {
            name: Some("x"),
            image: Some("postgres:16"),
            built: Some((Some("nginx"), "Dockerfile")),
            ..Subject::default()
        });
        assert_eq!(v.role, Some(Role::Database));
        let v = c.classify(&Subject {
            name: Some("x"),
            built: Some((None, "Dockerfile")),
            ..Subject::default()
        });
        assert_eq!(v.role, None);
        assert!(v.uncertain);
    }

    #[test]
    fn sidecars_and_unknown_images() {
        assert!(
            classify(
                Some("istio-proxy"),
                Some("docker.io/istio/proxyv2:1.22"),
                &[]
            )
            .sidecar
        );
        assert!(
            classify(
                Some("proxy"),
                Some("gcr.io/cloud-sql-connectors/cloud-sql-proxy:2"),
                &[]
            )
            .sidecar
        );
        let unknown = Classifier::builtin().classify(&Subject {
            name: Some("x"),
            image_unknown: true,
            ..Subject::default()
        });
        assert_eq!(unknown.role, None);
        assert!(unknown.uncertain);
    }

    #[test]
    fn packages_exclude_clients_and_libraries() {
        let c = Classifier::builtin();
        assert_eq!(c.package_role("postgresql-16"), Some(Role::Database));
        assert_eq!(c.package_role("postgresql16"), Some(Role::Database));
        assert_eq!(c.package_role("postgresql-client-16"), None);
        assert_eq!(c.package_role("libpq-dev"), None);
        assert_eq!(c.package_role("redis-tools"), None);
        assert_eq!(c.package_role("nginx"), Some(Role::Frontend));
        assert_eq!(c.program_role("/usr/sbin/nginx"), Some(Role::Frontend));
    }

    #[test]
    fn the_builtin_lists_have_the_shape_the_configuration_accepts() {
        let source = crate::source::SourceFile::new("data/roles.yaml", BUILTIN_ROLES);
        let data = crate::parse::yaml::parse(&source).unwrap().remove(0).value;
        let schema: serde_json::Value = serde_json::from_str(crate::config::CONFIG_SCHEMA).unwrap();
        let validator = jsonschema::draft202012::new(&schema).unwrap();
        let config = serde_json::json!({ "roles": data });
        let errors: Vec<String> = validator
            .iter_errors(&config)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn additions_extend_the_lists() {
        let more = RoleData {
            metadata_keys: vec!["acme.com/tier".into()],
            frontend: RoleLists {
                images: vec!["acme/portal-*".into()],
                ..RoleLists::default()
            },
            ..RoleData::default()
        };
        let c = Classifier::with_additions(&more).unwrap();
        assert_eq!(c.image_role("acme/portal-v2:1"), Some(Role::Frontend));
        let v = c.classify(&Subject {
            metadata: vec![("acme.com/tier", Some("db"))],
            ..Subject::default()
        });
        assert_eq!(v.role, Some(Role::Database));
    }
}
