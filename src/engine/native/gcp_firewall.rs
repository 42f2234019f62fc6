//! `firewall-open-to-ports`: a Google Compute Engine firewall rule
//! (`google_compute_firewall`) that admits the internet on a database
//! port. GCP firewall rules are ingress unless `direction = "EGRESS"`, and
//! an ingress rule with no `source_ranges`, `source_tags` or
//! `source_service_accounts` admits every source, as if it said
//! `0.0.0.0/0`.

use serde::Deserialize;
use serde_json::Value;

use super::ip_range::is_wide_cidr;
use super::{string_at, value_at, Known, NativeResult};
use crate::engine::wording;
use crate::model::{push_pointer, Resource};

/// The Terraform type this check reads.
const FIREWALL: &str = "google_compute_firewall";

/// Ingress from the internet to one of `ports`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallOpen {
    ports: Vec<u16>,
    /// A source range at least as wide as a /`wide_prefix` network counts
    /// as the internet.
    wide_prefix: u8,
}

impl FirewallOpen {
    pub fn new(params: &Value) -> Result<FirewallOpen, String> {
        serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `firewall-open-to-ports`: {e}"))
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        format!(
            "Fails when a `{FIREWALL}` that is ingress (`direction` left out or \
             `INGRESS`) and not `disabled` admits the internet — a `source_ranges` entry \
             at least as wide as a /{} network (`0.0.0.0/0`, `::/0`), or no \
             `source_ranges`, `source_tags` or `source_service_accounts` at all, which GCP \
             reads as `0.0.0.0/0` — and an `allow` block opens TCP port {} (a `ports` \
             entry or range includes it, or `ports` is left out) or every protocol \
             (`all`). A direction, source, protocol or port not known statically makes \
             the verdict undecided.",
            self.wide_prefix,
            wording::or_list(&ports)
        )
    }

    pub fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        if resource.resource_type != FIREWALL {
            return Vec::new();
        }
        let mut unknown = false;
        match string_at(resource, "/direction") {
            Known::Yes(Some(direction)) if direction.eq_ignore_ascii_case("EGRESS") => {
                return Vec::new()
            }
            Known::Unknown => unknown = true,
            Known::Yes(_) => {}
        }
        match value_at(resource, "/disabled") {
            Known::Yes(Some(Value::Bool(true))) => return Vec::new(),
            Known::Unknown => unknown = true,
            Known::Yes(_) => {}
        }
        let (pointer, source) = match self.world_source(resource) {
            Known::Yes(Some(found)) => found,
            Known::Yes(None) => return Vec::new(),
            Known::Unknown => {
                unknown = true;
                (
                    "/source_ranges".to_string(),
                    "a range not known statically".to_string(),
                )
            }
        };
        let detail = match self.ports_opened(resource) {
            Known::Yes(Some(ports)) => format!("{ports} open to {source}"),
            Known::Yes(None) => return Vec::new(),
            Known::Unknown => {
                unknown = true;
                format!("ports that may include a database port open to {source}")
            }
        };
        vec![if unknown {
            NativeResult::Undecided { pointer, detail }
        } else {
            NativeResult::Fail { pointer, detail }
        }]
    }

    /// Where the rule admits the internet: the pointer to blame and how to
    /// say the source.
    fn world_source(&self, resource: &Resource) -> Known<Option<(String, String)>> {
        let ranges = match value_at(resource, "/source_ranges") {
            Known::Yes(v) => v,
            Known::Unknown => return Known::Unknown,
        };
        match ranges {
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut unknown = false;
                for (i, item) in items.iter().enumerate() {
                    let pointer = push_pointer("/source_ranges", &i.to_string());
                    if resource.is_unknown(&pointer) {
                        unknown = true;
                        continue;
                    }
                    if let Value::String(cidr) = item {
                        if is_wide_cidr(cidr, self.wide_prefix) {
                            return Known::Yes(Some((pointer, cidr.trim().to_string())));
                        }
                    }
                }
                if unknown {
                    Known::Unknown
                } else {
                    Known::Yes(None)
                }
            }
            _ => {
                // No source ranges: only tags or service accounts restrict
                // the source; with neither, GCP admits 0.0.0.0/0.
                for key in ["/source_tags", "/source_service_accounts"] {
                    match value_at(resource, key) {
                        Known::Unknown => return Known::Unknown,
                        Known::Yes(Some(Value::Array(items))) if items.is_empty() => {}
                        Known::Yes(Some(_)) => return Known::Yes(None),
                        Known::Yes(None) => {}
                    }
                }
                Known::Yes(Some((
                    String::new(),
                    "every source (no source_ranges, source_tags or source_service_accounts: \
                     0.0.0.0/0)"
                        .to_string(),
                )))
            }
        }
    }

    /// The listed ports the `allow` blocks open, said in words (`None`:
    /// none of them).
    fn ports_opened(&self, resource: &Resource) -> Known<Option<String>> {
        let blocks = match value_at(resource, "/allow") {
            Known::Yes(Some(Value::Array(blocks))) => blocks.len(),
            Known::Yes(_) => return Known::Yes(None),
            Known::Unknown => return Known::Unknown,
        };
        let mut open: Vec<u16> = Vec::new();
        let mut unknown = false;
        for i in 0..blocks {
            let base = format!("/allow/{i}");
            let protocol = match string_at(resource, &push_pointer(&base, "protocol")) {
                Known::Yes(p) => p.unwrap_or_default().to_ascii_lowercase(),
                Known::Unknown => {
                    unknown = true;
                    continue;
                }
            };
            match protocol.as_str() {
                "all" => return Known::Yes(Some("every protocol and port".into())),
                "tcp" | "6" => {}
                _ => continue,
            }
            match self.block_ports(resource, &base) {
                Known::Yes(ports) => open.extend(ports),
                Known::Unknown => unknown = true,
            }
        }
        open.sort_unstable();
        open.dedup();
        match open.as_slice() {
            [] if unknown => Known::Unknown,
            [] => Known::Yes(None),
            [one] => Known::Yes(Some(format!("tcp port {one}"))),
            many => {
                let many: Vec<String> = many.iter().map(u16::to_string).collect();
                Known::Yes(Some(format!("tcp ports {}", many.join(", "))))
            }
        }
    }

    /// The listed ports one TCP `allow` block opens: all of them when it
    /// has no `ports`.
    fn block_ports(&self, resource: &Resource, base: &str) -> Known<Vec<u16>> {
        let pointer = push_pointer(base, "ports");
        let entries = match value_at(resource, &pointer) {
            Known::Yes(Some(Value::Array(entries))) if !entries.is_empty() => entries,
            Known::Yes(_) => return Known::Yes(self.ports.clone()),
            Known::Unknown => return Known::Unknown,
        };
        let mut open = Vec::new();
        let mut unknown = false;
        for (i, entry) in entries.iter().enumerate() {
            if resource.is_unknown(&push_pointer(&pointer, &i.to_string())) {
                unknown = true;
                continue;
            }
            let text = match entry {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            let Some((from, to)) = port_range(&text) else {
                continue;
            };
            open.extend(self.ports.iter().filter(|p| (from..=to).contains(*p)));
        }
        if open.is_empty() && unknown {
            Known::Unknown
        } else {
            Known::Yes(open)
        }
    }
}

/// `"5432"` or `"5000-6000"` as an inclusive range.
fn port_range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((from, to)) => Some((from.trim().parse().ok()?, to.trim().parse().ok()?)),
        None => {
            let port = text.parse().ok()?;
            Some((port, port))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::hcl::lower_file;
    use crate::source::SourceFile;

    fn run(text: &str) -> Vec<NativeResult> {
        let source = SourceFile::new("main.tf", text);
        let resource = lower_file(0, &source).unwrap().resources.remove(0);
        FirewallOpen::new(&serde_json::json!({"ports": [3306, 5432, 6379], "wide_prefix": 8}))
            .unwrap()
            .run(&resource)
    }

    #[test]
    fn ranges_of_ports_open_to_the_world() {
        let results = run(r#"resource "google_compute_firewall" "db" {
  network       = "default"
  source_ranges = ["10.0.0.0/8", "0.0.0.0/0"]
  allow {
    protocol = "tcp"
    ports    = ["22", "5000-6000"]
  }
  allow {
    protocol = "udp"
    ports    = ["3306"]
  }
}"#);
        assert_eq!(
            results,
            [NativeResult::Fail {
                pointer: "/source_ranges/1".into(),
                detail: "tcp port 5432 open to 0.0.0.0/0".into()
            }]
        );
    }

    #[test]
    fn no_source_at_all_means_everyone() {
        let results = run(r#"resource "google_compute_firewall" "all" {
  network = "default"
  allow {
    protocol = "all"
  }
}"#);
        assert!(
            matches!(&results[..], [NativeResult::Fail { pointer, detail }]
                if pointer.is_empty() && detail.starts_with("every protocol and port open to every source")),
            "{results:?}"
        );
        // A TCP rule without ports opens all of them.
        assert!(matches!(
            &run(r#"resource "google_compute_firewall" "tcp" {
  source_ranges = ["::/0"]
  allow { protocol = "tcp" }
}"#)[..],
            [NativeResult::Fail { detail, .. }] if detail == "tcp ports 3306, 5432, 6379 open to ::/0"
        ));
    }

    #[test]
    fn tags_egress_disabled_and_narrow_sources_pass() {
        for text in [
            r#"resource "google_compute_firewall" "tagged" {
  source_tags = ["app"]
  allow {
    protocol = "tcp"
    ports    = ["5432"]
  }
}"#,
            r#"resource "google_compute_firewall" "out" {
  direction          = "EGRESS"
  destination_ranges = ["0.0.0.0/0"]
  allow { protocol = "all" }
}"#,
            r#"resource "google_compute_firewall" "off" {
  disabled      = true
  source_ranges = ["0.0.0.0/0"]
  allow { protocol = "all" }
}"#,
            r#"resource "google_compute_firewall" "office" {
  source_ranges = ["203.0.113.0/24"]
  allow {
    protocol = "tcp"
    ports    = ["5432"]
  }
}"#,
            r#"resource "google_compute_firewall" "web" {
  source_ranges = ["0.0.0.0/0"]
  allow {
    protocol = "tcp"
    ports    = ["80", "443"]
  }
  deny { protocol = "all" }
}"#,
        ] {
            assert_eq!(run(text), [], "{text}");
        }
    }

    #[test]
    fn unknowns_are_undecided() {
        let results = run(r#"resource "google_compute_firewall" "var" {
  source_ranges = var.ranges
  allow {
    protocol = "tcp"
    ports    = ["5432"]
  }
}"#);
        assert!(
            matches!(&results[..], [NativeResult::Undecided { pointer, .. }] if pointer == "/source_ranges"),
            "{results:?}"
        );
        let results = run(r#"resource "google_compute_firewall" "ports" {
  source_ranges = ["0.0.0.0/0"]
  allow {
    protocol = "tcp"
    ports    = var.ports
  }
}"#);
        assert!(
            matches!(&results[..], [NativeResult::Undecided { .. }]),
            "{results:?}"
        );
    }

    #[test]
    fn port_ranges_parse() {
        assert_eq!(port_range("5432"), Some((5432, 5432)));
        assert_eq!(port_range("1-65535"), Some((1, 65535)));
        assert_eq!(port_range("x"), None);
    }
}
