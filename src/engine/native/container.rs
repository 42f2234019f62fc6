//! The native checks over container manifests (Kubernetes, compose,
//! Dockerfiles, and ECS task definitions in Terraform): separation of
//! frontend and backend (CMP 8.2.5), databases on private networks and
//! encryption in transit (CMP 8.3.4). Those that classify containers
//! carry the role classifier the configuration built.

mod exposure;
mod separation;
pub mod topology;
mod transit;

use serde_json::Value;

use super::NativeResult;
use crate::model::Resource;
use crate::roles::Classifier;

pub use exposure::{
    DatabaseHostNetwork, DatabaseNetworkInternal, DatabaseNetworkPolicy, ExposedDatabaseService,
    PublishedDatabasePort,
};
pub use separation::{CoLocatedTiers, SharedNetworkTiers};
pub use transit::{IngressTls, PlaintextDatabaseUrl};

/// How the checks that classify containers say where roles come from.
pub(crate) const ROLES: &str = "Roles come from the role classifier (`data/roles.yaml` \
     and the configuration's `roles`); sidecars never count.";

/// One container check, by the name rule files give it.
#[derive(Clone)]
pub enum Check {
    /// `co-located-tiers`: frontend and backend or database containers
    /// in one pod, task, service or image.
    CoLocatedTiers(CoLocatedTiers),
    /// `shared-network-tiers`: a frontend and a database compose service
    /// on one network.
    SharedNetworkTiers(SharedNetworkTiers),
    /// `exposed-database-service`: a Service exposing database pods
    /// outside the cluster.
    ExposedDatabaseService(ExposedDatabaseService),
    /// `database-network-policy`: database pods without an isolating
    /// NetworkPolicy, or a policy admitting everything.
    DatabaseNetworkPolicy(DatabaseNetworkPolicy),
    /// `database-host-network`: database pods on the node's network.
    DatabaseHostNetwork(DatabaseHostNetwork),
    /// `published-database-port`: a compose database service published
    /// on every host interface.
    PublishedDatabasePort(PublishedDatabasePort),
    /// `database-network-internal`: a compose database service on no
    /// internal network.
    DatabaseNetworkInternal(DatabaseNetworkInternal),
    /// `ingress-tls`: an Ingress host served without TLS.
    IngressTls(IngressTls),
    /// `plaintext-database-url`: a database connection without TLS.
    PlaintextDatabaseUrl(PlaintextDatabaseUrl),
}

/// The names of the checks in this module.
pub const NAMES: &[&str] = &[
    "co-located-tiers",
    "shared-network-tiers",
    "exposed-database-service",
    "database-network-policy",
    "database-host-network",
    "published-database-port",
    "database-network-internal",
    "ingress-tls",
    "plaintext-database-url",
];

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Check {
    /// The name rule files give the check.
    pub fn name(&self) -> &'static str {
        match self {
            Check::CoLocatedTiers(_) => "co-located-tiers",
            Check::SharedNetworkTiers(_) => "shared-network-tiers",
            Check::ExposedDatabaseService(_) => "exposed-database-service",
            Check::DatabaseNetworkPolicy(_) => "database-network-policy",
            Check::DatabaseHostNetwork(_) => "database-host-network",
            Check::PublishedDatabasePort(_) => "published-database-port",
            Check::DatabaseNetworkInternal(_) => "database-network-internal",
            Check::IngressTls(_) => "ingress-tls",
            Check::PlaintextDatabaseUrl(_) => "plaintext-database-url",
        }
    }

    /// What the check does, in words.
    pub fn describe(&self) -> String {
        match self {
            Check::CoLocatedTiers(c) => c.describe(),
            Check::SharedNetworkTiers(c) => c.describe(),
            Check::ExposedDatabaseService(c) => c.describe(),
            Check::DatabaseNetworkPolicy(c) => c.describe(),
            Check::DatabaseHostNetwork(c) => c.describe(),
            Check::PublishedDatabasePort(c) => c.describe(),
            Check::DatabaseNetworkInternal(c) => c.describe(),
            Check::IngressTls(c) => c.describe(),
            Check::PlaintextDatabaseUrl(c) => c.describe(),
        }
    }

    /// The check named `name` with its `params`.
    pub fn new(name: &str, params: &Value) -> Result<Check, String> {
        let invalid = |e: serde_json::Error| format!("invalid params for `{name}`: {e}");
        if name == "exposed-database-service" {
            let params = serde_json::from_value(params.clone()).map_err(invalid)?;
            return Ok(Check::ExposedDatabaseService(ExposedDatabaseService::new(
                params,
            )));
        }
        match params {
            Value::Null => {}
            Value::Object(map) if map.is_empty() => {}
            _ => return Err(format!("`{name}` takes no params")),
        }
        Ok(match name {
            "co-located-tiers" => Check::CoLocatedTiers(CoLocatedTiers::default()),
            "shared-network-tiers" => Check::SharedNetworkTiers(SharedNetworkTiers::default()),
            "database-network-policy" => {
                Check::DatabaseNetworkPolicy(DatabaseNetworkPolicy::default())
            }
            "database-host-network" => Check::DatabaseHostNetwork(DatabaseHostNetwork::default()),
            "published-database-port" => {
                Check::PublishedDatabasePort(PublishedDatabasePort::default())
            }
            "database-network-internal" => {
                Check::DatabaseNetworkInternal(DatabaseNetworkInternal::default())
            }
            "ingress-tls" => Check::IngressTls(IngressTls),
            "plaintext-database-url" => Check::PlaintextDatabaseUrl(PlaintextDatabaseUrl),
            _ => return Err(format!("unknown native check `{name}`")),
        })
    }

    pub fn is_global(&self) -> bool {
        matches!(
            self,
            Check::SharedNetworkTiers(_)
                | Check::ExposedDatabaseService(_)
                | Check::DatabaseNetworkPolicy(_)
                | Check::DatabaseNetworkInternal(_)
        )
    }

    pub fn run(&self, resource: &Resource, classifier: &Classifier) -> Vec<NativeResult> {
        match self {
            Check::CoLocatedTiers(c) => c.run(resource, classifier),
            Check::DatabaseHostNetwork(c) => c.run(resource, classifier),
            Check::PublishedDatabasePort(c) => c.run(resource, classifier),
            Check::IngressTls(c) => c.run(resource),
            Check::PlaintextDatabaseUrl(c) => c.run(resource),
            Check::SharedNetworkTiers(_)
            | Check::ExposedDatabaseService(_)
            | Check::DatabaseNetworkPolicy(_)
            | Check::DatabaseNetworkInternal(_) => Vec::new(),
        }
    }

    pub fn run_global(
        &self,
        resources: &[Resource],
        paths: &[String],
        classifier: &Classifier,
    ) -> Vec<(usize, NativeResult)> {
        match self {
            Check::SharedNetworkTiers(c) => c.run_global(resources, paths, classifier),
            Check::ExposedDatabaseService(c) => c.run_global(resources, paths, classifier),
            Check::DatabaseNetworkPolicy(c) => c.run_global(resources, classifier),
            Check::DatabaseNetworkInternal(c) => c.run_global(resources, paths, classifier),
            _ => Vec::new(),
        }
    }
}
