//! CMP 8.3.4, encryption in transit: `ingress-tls` (an Ingress host not
//! covered by its `tls` section) and `plaintext-database-url` (a
//! connection string that turns TLS off, or a `redis://` URL, in a
//! container's environment, a ConfigMap, a Secret or a compose service's
//! `environment`).

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::topology::{is_workload, pod_containers};
use super::NativeResult;
use crate::model::{push_pointer, Resource};
use crate::parse::compose::SERVICE_TYPE;

#[derive(Debug, Clone, Default)]
pub struct IngressTls;

impl IngressTls {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        "Fails when an Ingress serves a host that no `tls` entry covers (`*.example.com` \
         covers one more label), or has no `tls` section at all for its rules without a \
         host or its default backend."
            .to_string()
    }

    pub fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        if resource.resource_type != "Ingress" {
            return Vec::new();
        }
        let spec = resource.attributes.get("spec");
        let tls: Vec<&Value> = spec
            .and_then(|s| s.get("tls"))
            .and_then(Value::as_array)
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        // A `tls` entry without `hosts` takes the controller's default
        // certificate for every host.
        let catch_all = tls.iter().any(|t| {
            t.get("hosts")
                .and_then(Value::as_array)
                .is_none_or(|h| h.is_empty())
        });
        let covered: Vec<String> = tls
            .iter()
            .filter_map(|t| t.get("hosts").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .collect();
        let mut out = Vec::new();
        let rules = spec
            .and_then(|s| s.get("rules"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            match rule.get("host").and_then(Value::as_str) {
                Some(host) => {
                    if catch_all || covered.iter().any(|c| host_matches(c, host)) {
                        continue;
                    }
                    let detail = if tls.is_empty() {
                        format!("host `{host}` is served over plain HTTP: the Ingress has no `tls` section")
                    } else {
                        format!("host `{host}` is not listed in any `tls[].hosts`")
                    };
                    out.push(NativeResult::Fail {
                        pointer: format!("/spec/rules/{i}/host"),
                        detail,
                    });
                }
                None if tls.is_empty() => out.push(NativeResult::Fail {
                    pointer: format!("/spec/rules/{i}"),
                    detail: "a rule for every host is served over plain HTTP: the Ingress has no `tls` section".into(),
                }),
                None => {}
            }
        }
        let default_backend =
            spec.and_then(|s| s.get("defaultBackend").or_else(|| s.get("backend")));
        if rules.is_empty() && default_backend.is_some() && tls.is_empty() {
            let key = if spec.and_then(|s| s.get("defaultBackend")).is_some() {
                "/spec/defaultBackend"
            } else {
                "/spec/backend"
            };
            out.push(NativeResult::Fail {
                pointer: key.into(),
                detail: "the default backend is served over plain HTTP: the Ingress has no `tls` section".into(),
            });
        }
        out
    }
}

/// `*.example.com` covers `a.example.com`, not `a.b.example.com`.
fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .and_then(|h| h.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        None => pattern == host,
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlaintextDatabaseUrl;

fn disabled_tls() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(?:^|[?&;\s])(?:sslmode|ssl-mode|ssl_mode)\s*=\s*disabled?\b|(?:^|[?&;])(?:ssl|tls|usessl|requiressl)\s*=\s*false\b",
        )
        .expect("valid regex")
    })
}

fn plaintext_scheme() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(redis)://(?:[^@/\s]*@)?(\[[^\]]*\]|[^:/\s?]*)").expect("valid regex")
    })
}

/// Why a value is a plaintext database connection, if it is one.
pub fn plaintext_reason(value: &str) -> Option<String> {
    if let Some(m) = disabled_tls().find(value) {
        let setting = m.as_str().trim_start_matches(['?', '&', ';', ' ']);
        return Some(format!("`{setting}` turns TLS off"));
    }
    for captures in plaintext_scheme().captures_iter(value) {
        let scheme = captures.get(1).map_or("", |m| m.as_str());
        let host = captures.get(2).map_or("", |m| m.as_str());
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        if host == "localhost" || host.starts_with("127.") || host == "::1" {
            continue;
        }
        return Some(format!(
            "a `{scheme}://` URL connects without TLS (`{}s://` would use it)",
            scheme.to_ascii_lowercase()
        ));
    }
    None
}

impl PlaintextDatabaseUrl {
    /// What the check does, in words.
    pub fn describe(&self) -> String {
        "Fails when a connection string turns TLS off (`sslmode=disable`, \
         `ssl=false`, `tls=false`, `useSSL=false` ...) or is a `redis://` URL to a \
         host other than the local one, in a container's `env`, a ConfigMap's `data`, a \
         Secret's `data` (decoded) or `stringData`, or a compose service's \
         `environment`. A compose value naming a connection that needs a variable \
         set nowhere makes the verdict undecided."
            .to_string()
    }

    pub fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        let mut values: Vec<(String, String)> = Vec::new();
        let attrs = &resource.attributes;
        let map_values = |pointer: &str, out: &mut Vec<(String, String)>, decode: bool| {
            if let Some(Value::Object(map)) = attrs.pointer(pointer) {
                for (key, value) in map {
                    let Some(text) = value.as_str() else { continue };
                    let text = if decode {
                        match base64_decode(text) {
                            Some(t) => t,
                            None => continue,
                        }
                    } else {
                        text.to_string()
                    };
                    out.push((push_pointer(pointer, key), text));
                }
            }
        };
        match resource.resource_type.as_str() {
            SERVICE_TYPE => map_values("/environment", &mut values, false),
            "ConfigMap" => map_values("/data", &mut values, false),
            "Secret" => {
                map_values("/stringData", &mut values, false);
                map_values("/data", &mut values, true);
            }
            _ if is_workload(resource) => {
                for container in pod_containers(resource) {
                    let env = format!("{}/env", container.pointer);
                    if let Some(Value::Array(items)) = attrs.pointer(&env) {
                        for (i, item) in items.iter().enumerate() {
                            if let Some(text) = item.get("value").and_then(Value::as_str) {
                                values.push((format!("{env}/{i}/value"), text.to_string()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        let mut out = Vec::new();
        for (pointer, text) in values {
            if let Some(reason) = plaintext_reason(&text) {
                out.push(NativeResult::Fail {
                    pointer,
                    detail: reason,
                });
            }
        }
        // Compose values that need an unset variable may hide a URL.
        if resource.resource_type == SERVICE_TYPE {
            for pointer in resource
                .unknown
                .iter()
                .filter(|p| p.starts_with("/environment/"))
            {
                let name = pointer
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                if ["URL", "URI", "DSN", "CONNECTION", "DATABASE", "REDIS"]
                    .iter()
                    .any(|w| name.contains(w))
                {
                    out.push(NativeResult::Undecided {
                        pointer: pointer.to_string(),
                        detail: "the connection string is not known statically".into(),
                    });
                }
            }
        }
        out
    }
}

/// Standard base64 (Secret `data`), `None` when it is not valid UTF-8
/// text once decoded.
fn base64_decode(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' | b' ' => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        assert!(plaintext_reason("postgres://u:p@db:5432/app?sslmode=disable").is_some());
        assert!(plaintext_reason("host=db dbname=app sslmode=disable").is_some());
        assert!(plaintext_reason("postgres://db/app?sslmode=require").is_none());
        assert!(plaintext_reason("redis://cache:6379/0").is_some());
        assert!(plaintext_reason("redis://:secret@cache:6379").is_some());
        assert!(plaintext_reason("rediss://cache:6380").is_none());
        assert!(plaintext_reason("redis://localhost:6379").is_none());
        assert!(plaintext_reason("jdbc:mysql://db/app?useSSL=false").is_some());
        assert!(plaintext_reason("https://example.com/?tls=true").is_none());
    }

    #[test]
    fn hosts_and_wildcards() {
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(!host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(host_matches("app.example.com", "APP.example.com"));
    }

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode("cmVkaXM6Ly9jYWNoZQ==").as_deref(),
            Some("redis://cache")
        );
    }
}
