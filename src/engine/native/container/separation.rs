//! CMP 8.2.5: frontend functionality runs in separate containers from
//! backend systems (databases, app servers).
//!
//! - `co-located-tiers`: one pod template or ECS task holds a frontend
//!   container and a backend or database container; one compose service
//!   or one image (a Dockerfile's final stage) runs a web server and a
//!   database server.
//! - `shared-network-tiers`: a frontend compose service and a database
//!   service share a network.
//!
//! Findings point at the second role's container (or package, or
//! service) and name the first.

use std::collections::BTreeMap;

use serde_json::Value;

use super::topology::{
    self, classified_pod, compose_projects, is_workload, resolved_attachment, service_subject,
    Attachment, Container,
};
use super::NativeResult;
use crate::model::Resource;
use crate::parse::compose::SERVICE_TYPE;
use crate::parse::dockerfile::STAGE_TYPE;
use crate::roles::{Classifier, Role, Verdict};

/// Whether two roles may not share a container group: frontend with
/// backend or database.
fn conflict(a: Role, b: Role) -> bool {
    matches!(
        (a, b),
        (Role::Frontend, Role::Backend | Role::Database)
            | (Role::Backend | Role::Database, Role::Frontend)
    )
}

#[derive(Debug, Clone, Default)]
pub struct CoLocatedTiers {}

impl CoLocatedTiers {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        format!(
            "Fails when one pod template (of any workload kind) or one ECS task \
             definition holds a frontend container and a backend or database container, \
             or when one compose service or one image (a Dockerfile's final stage) installs \
             or starts both a web server and a database server. {}",
            super::ROLES
        )
    }

    pub fn run(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        match resource.resource_type.as_str() {
            "aws_ecs_task_definition" => self.ecs(resource, classifier),
            SERVICE_TYPE => self.compose_service(resource, classifier),
            STAGE_TYPE => self.image(resource, classifier),
            _ if is_workload(resource) => {
                let classified = classified_pod(resource, classifier);
                containers_conflict(&classified, "container")
            }
            _ => Vec::new(),
        }
    }

    /// `container_definitions`: a JSON string (or, evaluated, a list).
    fn ecs(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        let pointer = "/container_definitions";
        if resource.is_unknown(pointer) {
            return vec![NativeResult::Undecided {
                pointer: pointer.into(),
                detail: "the container definitions are not known statically".into(),
            }];
        }
        let definitions = match resource.attributes.get("container_definitions") {
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(value) => value,
                Err(_) => return Vec::new(),
            },
            Some(other) => other.clone(),
            None => return Vec::new(),
        };
        let Some(items) = definitions.as_array() else {
            return Vec::new();
        };
        let classified: Vec<(Container, Verdict)> = items
            .iter()
            .map(|item| {
                let container = Container {
                    pointer: pointer.to_string(),
                    name: item.get("name").and_then(Value::as_str).map(str::to_string),
                    image: item
                        .get("image")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    image_unknown: false,
                    ports: item
                        .get("portMappings")
                        .and_then(Value::as_array)
                        .map(|m| {
                            m.iter()
                                .filter_map(|p| {
                                    p.get("containerPort").and_then(topology::port_number)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let labels: Vec<(String, String)> = item
                    .get("dockerLabels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                let verdict = classifier.classify(&container.subject(&labels));
                (container, verdict)
            })
            .collect();
        containers_conflict(&classified, "container")
    }

    /// A compose service whose image or command starts a web server and
    /// a database server.
    fn compose_service(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        let mut evidence: Vec<(Role, String, String)> = Vec::new();
        let subject = service_subject(resource);
        let image_role = subject.image.and_then(|image| {
            let role = classifier.image_role(image)?;
            evidence.push((role, "/image".into(), format!("image {image}")));
            Some(role)
        });
        // What it builds runs its Dockerfile's final base image.
        if let (None, Some((Some(base), file))) = (image_role, subject.built) {
            if let Some(role) = classifier.image_role(base) {
                evidence.push((
                    role,
                    "/build".into(),
                    format!("base image {base} of {file}"),
                ));
            }
        }
        for key in ["entrypoint", "command"] {
            let pointer = format!("/{key}");
            for program in programs(resource.attributes.get(key)) {
                if let Some(role) = classifier.program_role(&program) {
                    evidence.push((role, pointer.clone(), format!("`{program}` in its {key}")));
                }
            }
        }
        web_and_database(&evidence, "the service")
    }

    /// An image (a Dockerfile's final stage) that installs or starts a
    /// web server and a database server.
    fn image(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        let attrs = &resource.attributes;
        if attrs.get("final") != Some(&Value::Bool(true)) {
            return Vec::new();
        }
        let mut evidence: Vec<(Role, String, String)> = Vec::new();
        if let Some(image) = attrs.get("base_image").and_then(Value::as_str) {
            if let Some(role) = classifier.image_role(image) {
                evidence.push((role, "/base_image".into(), format!("base image {image}")));
            }
        }
        let mut unknown_package = None;
        if let Some(Value::Array(packages)) = attrs.get("packages") {
            for (i, package) in packages.iter().enumerate() {
                let pointer = format!("/packages/{i}");
                match package.get("name").and_then(Value::as_str) {
                    Some(name) => {
                        if let Some(role) = classifier.package_role(name) {
                            evidence.push((role, pointer, format!("package `{name}`")));
                        }
                    }
                    None => {
                        unknown_package.get_or_insert(pointer);
                    }
                }
            }
        }
        if let Some(Value::Array(ports)) = attrs.get("expose") {
            for (i, port) in ports.iter().enumerate() {
                let Some(text) = port.get("port").and_then(Value::as_str) else {
                    continue;
                };
                for number in crate::parse::compose::port_range(text) {
                    if classifier.port_role(number) == Some(Role::Database) {
                        evidence.push((
                            Role::Database,
                            format!("/expose/{i}"),
                            format!("EXPOSE {number}"),
                        ));
                    }
                }
            }
        }
        for key in ["entrypoint", "cmd"] {
            for program in programs(attrs.get(key)) {
                if let Some(role) = classifier.program_role(&program) {
                    evidence.push((
                        role,
                        format!("/{key}"),
                        format!("`{program}` in its {}", key.to_ascii_uppercase()),
                    ));
                }
            }
        }
        // Later lines come later in the report's reasoning.
        evidence.sort_by_key(|(_, pointer, _)| resource.locate(pointer).start);
        let results = web_and_database(&evidence, "the image");
        if results.is_empty() {
            if let Some(pointer) = unknown_package {
                let roles: Vec<Role> = evidence.iter().map(|(r, _, _)| *r).collect();
                if roles.contains(&Role::Frontend) || roles.contains(&Role::Database) {
                    return vec![NativeResult::Undecided {
                        pointer,
                        detail: "a package name is not known statically".into(),
                    }];
                }
            }
        }
        results
    }
}

/// A finding at the first database evidence after a web server (or the
/// first web server after a database), naming the first.
fn web_and_database(evidence: &[(Role, String, String)], what: &str) -> Vec<NativeResult> {
    let Some((first_role, _, first_reason)) = evidence
        .iter()
        .find(|(r, _, _)| matches!(r, Role::Frontend | Role::Database))
    else {
        return Vec::new();
    };
    let wanted = match first_role {
        Role::Frontend => Role::Database,
        _ => Role::Frontend,
    };
    let Some((role, pointer, reason)) = evidence.iter().find(|(r, _, _)| *r == wanted) else {
        return Vec::new();
    };
    let (web, db) = match role {
        Role::Database => (first_reason, reason),
        _ => (reason, first_reason),
    };
    vec![NativeResult::Fail {
        pointer: pointer.clone(),
        detail: format!("{what} runs a database server ({db}) and a web server ({web})"),
    }]
}

/// The programs a command starts: the first word of each shell command,
/// past wrappers (`exec`, `gosu user`, `tini --`), `sh -c` and entrypoint
/// scripts (`docker-entrypoint.sh postgres` starts `postgres`).
fn programs(command: Option<&Value>) -> Vec<String> {
    let text = match command {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => return Vec::new(),
    };
    let text = text.replace(['"', '\''], " ");
    let mut out = Vec::new();
    for command in text.split(['&', '|', ';', '\n']) {
        let mut words = command.split_whitespace().peekable();
        while let Some(word) = words.next() {
            let base = word.rsplit('/').next().unwrap_or(word);
            match base {
                "exec" | "sudo" | "env" | "nohup" | "tini" | "dumb-init" | "--" => continue,
                "gosu" | "su-exec" | "chpst" => {
                    words.next();
                    continue;
                }
                "sh" | "bash" | "ash" | "dash" | "zsh" => {
                    if words.peek().is_some_and(|w| w.starts_with('-')) {
                        words.next();
                    }
                    continue;
                }
                _ if word.contains('=') || word.starts_with('-') => continue,
                _ if base.ends_with(".sh") => continue,
                _ => {
                    out.push(base.to_string());
                    break;
                }
            }
        }
    }
    out
}

/// Every container whose role conflicts with an earlier container's,
/// reported at itself and naming the earlier one.
fn containers_conflict(classified: &[(Container, Verdict)], what: &str) -> Vec<NativeResult> {
    let mut results = Vec::new();
    for (i, (container, verdict)) in classified.iter().enumerate() {
        let earlier = &classified[..i];
        let Some(role) = verdict.counted() else {
            // A container of unknown role beside a frontend or a backend
            // may be the other half.
            if verdict.uncertain && !verdict.sidecar {
                if let Some((other, v)) = earlier.iter().find(|(_, v)| v.counted().is_some()) {
                    results.push(NativeResult::Undecided {
                        pointer: container.pointer.clone(),
                        detail: format!(
                            "the role of {what} {} is not known; {what} {} is {}",
                            container.describe(),
                            other.describe(),
                            v.counted().map_or("", Role::as_str)
                        ),
                    });
                }
            }
            continue;
        };
        let Some((other, other_verdict)) = earlier
            .iter()
            .find(|(_, v)| v.counted().is_some_and(|r| conflict(r, role)))
        else {
            continue;
        };
        let other_role = other_verdict.counted().map_or("", Role::as_str);
        let name = |c: &Container| c.name.clone().unwrap_or_else(|| "?".into());
        let detail = format!(
            "{what} `{}` is {role} ({}), beside {other_role} {what} `{}` ({})",
            name(container),
            verdict.reason,
            name(other),
            other_verdict.reason
        );
        if verdict.uncertain || other_verdict.uncertain {
            results.push(NativeResult::Undecided {
                pointer: container.pointer.clone(),
                detail,
            });
        } else {
            results.push(NativeResult::Fail {
                pointer: container.pointer.clone(),
                detail,
            });
        }
    }
    results
}

/// What one service shares: whether for certain, with whom, which
/// network, and how the service is described.
type Shared = (bool, Vec<String>, String, String);

/// A frontend compose service and a database service on one network.
#[derive(Debug, Clone, Default)]
pub struct SharedNetworkTiers {}

impl SharedNetworkTiers {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        format!(
            "Fails when a frontend compose service and a database service of one project \
             (the compose files of one folder) are attached to the same network, the \
             implicit `default` network included. A role or network not known statically \
             makes the verdict undecided. {}",
            super::ROLES
        )
    }

    pub fn run_global(
        &self,
        resources: &[Resource],
        paths: &[String],
        classifier: &Classifier,
    ) -> Vec<(usize, NativeResult)> {
        let mut out = Vec::new();
        for project in compose_projects(resources, paths) {
            struct Info<'r> {
                name: &'r str,
                instances: &'r [usize],
                primary: &'r Resource,
                verdict: Verdict,
                attachment: Attachment,
            }
            let infos: Vec<Info<'_>> = project
                .services
                .iter()
                .map(|(name, instances)| {
                    let primary = project.primary(resources, instances);
                    Info {
                        name,
                        instances,
                        primary,
                        verdict: classifier.classify(&service_subject(primary)),
                        attachment: resolved_attachment(&project, resources, primary),
                    }
                })
                .collect();
            // (reported service, pointer) -> (decided, counterparts, network).
            let mut found: BTreeMap<(usize, String), Shared> = BTreeMap::new();
            for (b, later) in infos.iter().enumerate() {
                for earlier in &infos[..b] {
                    let pair = (earlier.verdict.counted(), later.verdict.counted());
                    let decided_pair = matches!(
                        pair,
                        (Some(Role::Frontend), Some(Role::Database))
                            | (Some(Role::Database), Some(Role::Frontend))
                    );
                    let maybe_pair = !decided_pair
                        && match pair {
                            (Some(Role::Frontend | Role::Database), None) => {
                                later.verdict.uncertain && !later.verdict.sidecar
                            }
                            (None, Some(Role::Frontend | Role::Database)) => {
                                earlier.verdict.uncertain && !earlier.verdict.sidecar
                            }
                            _ => false,
                        };
                    if !decided_pair && !maybe_pair {
                        continue;
                    }
                    let Some((network, pointer, networks_known)) =
                        shared(&earlier.attachment, &later.attachment, later.primary)
                    else {
                        continue;
                    };
                    let decided = decided_pair
                        && networks_known
                        && !earlier.verdict.uncertain
                        && !later.verdict.uncertain;
                    let role = |v: &Verdict| v.counted().map_or("unclassified", Role::as_str);
                    let entry = found.entry((b, pointer)).or_insert_with(|| {
                        (
                            decided,
                            Vec::new(),
                            network.clone(),
                            format!(
                                "{} service `{}` ({})",
                                role(&later.verdict),
                                later.name,
                                if later.verdict.reason.is_empty() {
                                    "role not known"
                                } else {
                                    &later.verdict.reason
                                }
                            ),
                        )
                    });
                    entry.0 &= decided;
                    // Each side with its evidence: the reader sees why
                    // either is what it is called.
                    entry.1.push(if earlier.verdict.reason.is_empty() {
                        format!("{} service `{}`", role(&earlier.verdict), earlier.name)
                    } else {
                        format!(
                            "{} service `{}` ({})",
                            role(&earlier.verdict),
                            earlier.name,
                            earlier.verdict.reason
                        )
                    });
                }
            }
            for ((b, pointer), (decided, counterparts, network, this)) in found {
                let more = match counterparts.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                let detail = format!(
                    "{this} shares network `{network}` with {}{more}",
                    counterparts[0]
                );
                for &instance in infos[b].instances {
                    let result = if decided {
                        NativeResult::Fail {
                            pointer: pointer.clone(),
                            detail: detail.clone(),
                        }
                    } else {
                        NativeResult::Undecided {
                            pointer: pointer.clone(),
                            detail: detail.clone(),
                        }
                    };
                    out.push((instance, result));
                }
            }
        }
        out
    }
}

/// The first network two services share, with the pointer in the later
/// service that attaches it, and whether both attachments are known.
fn shared(a: &Attachment, b: &Attachment, later: &Resource) -> Option<(String, String, bool)> {
    let _ = later;
    match (a, b) {
        (Attachment::Unknown, Attachment::Networks(nets)) => {
            let (name, pointer) = nets.first()?;
            Some((name.clone(), pointer.clone().unwrap_or_default(), false))
        }
        (Attachment::Networks(_) | Attachment::Host, Attachment::Unknown) => {
            Some(("?".into(), "/network_mode".into(), false))
        }
        (Attachment::Host, Attachment::Host) => Some(("host".into(), "/network_mode".into(), true)),
        (Attachment::Networks(x), Attachment::Networks(y)) => y
            .iter()
            .find(|(name, _)| x.iter().any(|(n, _)| n == name))
            .map(|(name, pointer)| (name.clone(), pointer.clone().unwrap_or_default(), true)),
        _ => None,
    }
}
