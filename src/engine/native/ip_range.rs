//! `wide-ip-range`: a firewall rule written as a first and last IPv4
//! address (the Azure database, SQL and Redis firewall rules) that admits
//! a large part of the internet — not only `0.0.0.0`–`255.255.255.255`, but
//! any range at least as wide as a /`wide_prefix` network. Also the CIDR
//! helpers the other firewall checks share.

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;
use serde_json::Value;

use super::{string_at, Known, NativeResult};
use crate::engine::wording;
use crate::model::{push_pointer, Resource};

/// IPv4 blocks no internet host has (RFC 1918 private networks, shared
/// carrier space, loopback, link-local), as first and last address: a
/// source there is inside some network, not the internet.
const PRIVATE_V4: [(u32, u32); 6] = [
    (0x0A00_0000, 0x0AFF_FFFF), // 10.0.0.0/8
    (0x6440_0000, 0x647F_FFFF), // 100.64.0.0/10
    (0x7F00_0000, 0x7FFF_FFFF), // 127.0.0.0/8
    (0xA9FE_0000, 0xA9FE_FFFF), // 169.254.0.0/16
    (0xAC10_0000, 0xAC1F_FFFF), // 172.16.0.0/12
    (0xC0A8_0000, 0xC0A8_FFFF), // 192.168.0.0/16
];

/// The internet (non-private) addresses from `first` to `last`.
pub(crate) fn public_v4(first: u32, last: u32) -> u64 {
    if last < first {
        return 0;
    }
    let total = u64::from(last) - u64::from(first) + 1;
    let private: u64 = PRIVATE_V4
        .iter()
        .map(|&(a, b)| {
            let (lo, hi) = (a.max(first), b.min(last));
            if lo <= hi {
                u64::from(hi) - u64::from(lo) + 1
            } else {
                0
            }
        })
        .sum();
    total - private
}

/// Whether `cidr` (`0.0.0.0/0`, `2000::/3`) opens at least as much of the
/// internet as a /`wide_prefix` network: for IPv4, as many non-private
/// addresses as a /`wide_prefix` holds; for IPv6, a prefix that short
/// outside the unique-local and link-local blocks. A bare address, or
/// text that is not a CIDR, is not.
pub(crate) fn is_wide_cidr(cidr: &str, wide_prefix: u8) -> bool {
    let Some((address, prefix)) = cidr.trim().split_once('/') else {
        return false;
    };
    let (Ok(address), Ok(prefix)) = (
        address.trim().parse::<IpAddr>(),
        prefix.trim().parse::<u32>(),
    ) else {
        return false;
    };
    match address {
        IpAddr::V4(v4) => {
            if prefix > 32 || wide_prefix > 32 {
                return false;
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            let first = u32::from(v4) & mask;
            let last = first | !mask;
            public_v4(first, last) >= 1u64 << (32 - u32::from(wide_prefix))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            // fc00::/7 unique local, fe80::/10 link local.
            let local = prefix >= 7 && (first & 0xFE00 == 0xFC00)
                || prefix >= 10 && (first & 0xFFC0 == 0xFE80);
            prefix <= 128 && prefix <= u32::from(wide_prefix) && !local
        }
    }
}

/// The parameters of `wide-ip-range`, as a rule file writes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Attributes holding the first address, looked up in order
    /// (`start_ip_address`, `start_ip` for Redis).
    start: Vec<String>,
    /// Attributes holding the last address, likewise.
    end: Vec<String>,
    /// A range holding at least as many addresses as a /`wide_prefix`
    /// network (2^(32 - wide_prefix)) fails.
    wide_prefix: u8,
}

/// A rule whose address range spans at least a /`wide_prefix` network.
#[derive(Debug, Clone)]
pub struct WideRange {
    params: Params,
}

impl WideRange {
    pub fn new(params: &Value) -> Result<WideRange, String> {
        let params: Params = serde_json::from_value(params.clone())
            .map_err(|e| format!("invalid params for `wide-ip-range`: {e}"))?;
        if params.start.is_empty() || params.end.is_empty() {
            return Err("`start` and `end` each name at least one attribute".into());
        }
        if params.wide_prefix > 32 {
            return Err("`wide_prefix` is an IPv4 prefix length, 0 to 32".into());
        }
        Ok(WideRange { params })
    }

    /// The number of addresses from which a range fails.
    fn threshold(&self) -> u64 {
        1u64 << (32 - u32::from(self.params.wide_prefix))
    }

    /// What the check does with its params, in words.
    pub fn describe(&self) -> String {
        let start = wording::or_list(&wording::code(&self.params.start));
        let end = wording::or_list(&wording::code(&self.params.end));
        format!(
            "Reads the first address of the rule's range from {start} and the last from \
             {end}, and fails when the range holds {} internet addresses or more (as many \
             as a /{} network; private, shared, loopback and link-local blocks do not \
             count): `0.0.0.0`–`255.255.255.255`, but also ranges such as \
             `1.0.0.0`–`255.255.255.254` that open most of the internet. An address not \
             known statically, or that is not an IPv4 address, makes the verdict undecided.",
            thousands(self.threshold()),
            self.params.wide_prefix
        )
    }

    pub fn run(&self, resource: &Resource) -> Vec<NativeResult> {
        let (start_pointer, start) = match self.address(resource, &self.params.start) {
            Some(found) => found,
            None => return Vec::new(),
        };
        let (end_pointer, end) = match self.address(resource, &self.params.end) {
            Some(found) => found,
            None => return Vec::new(),
        };
        let (start, end) = match (start, end) {
            (Known::Yes(start), Known::Yes(end)) => (start, end),
            (Known::Unknown, _) => return vec![unknown(start_pointer)],
            (_, Known::Unknown) => return vec![unknown(end_pointer)],
        };
        let (Ok(first), Ok(last)) = (
            start.trim().parse::<Ipv4Addr>(),
            end.trim().parse::<Ipv4Addr>(),
        ) else {
            let bad = if start.trim().parse::<Ipv4Addr>().is_err() {
                (start_pointer, start)
            } else {
                (end_pointer, end)
            };
            return vec![NativeResult::Undecided {
                pointer: bad.0,
                detail: format!("{:?} is not an IPv4 address", bad.1),
            }];
        };
        let (first_n, last_n) = (u64::from(u32::from(first)), u64::from(u32::from(last)));
        if last_n < first_n {
            return Vec::new();
        }
        let count = last_n - first_n + 1;
        if public_v4(u32::from(first), u32::from(last)) < self.threshold() {
            return Vec::new();
        }
        // Parts per thousand of the IPv4 space, said as a percentage.
        let share = count * 1000 / (1u64 << 32);
        let share = if count == 1u64 << 32 {
            "all of IPv4".to_string()
        } else {
            format!("{}.{}% of IPv4", share / 10, share % 10)
        };
        vec![NativeResult::Fail {
            pointer: start_pointer,
            detail: format!(
                "{first}–{last} admits {} addresses ({share})",
                thousands(count)
            ),
        }]
    }

    /// The first of `keys` the resource sets: its pointer and its value.
    fn address(&self, resource: &Resource, keys: &[String]) -> Option<(String, Known<String>)> {
        for key in keys {
            let pointer = push_pointer("", key);
            match string_at(resource, &pointer) {
                Known::Yes(Some(text)) => return Some((pointer, Known::Yes(text))),
                Known::Yes(None) => continue,
                Known::Unknown => return Some((pointer, Known::Unknown)),
            }
        }
        None
    }
}

fn unknown(pointer: String) -> NativeResult {
    NativeResult::Undecided {
        pointer,
        detail: "the range's bounds are not known statically".into(),
    }
}

/// `4294967296` as `4,294,967,296`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::hcl::lower_file;
    use crate::source::SourceFile;

    fn run(text: &str) -> Vec<NativeResult> {
        let source = SourceFile::new("main.tf", text);
        let resource = lower_file(0, &source).unwrap().resources.remove(0);
        let check = WideRange::new(&serde_json::json!({
            "start": ["start_ip_address", "start_ip"],
            "end": ["end_ip_address", "end_ip"],
            "wide_prefix": 8
        }))
        .unwrap();
        check.run(&resource)
    }

    #[test]
    fn wide_cidrs_by_family() {
        assert!(is_wide_cidr("0.0.0.0/0", 8));
        assert!(is_wide_cidr(" 11.0.0.0/8 ", 8));
        assert!(!is_wide_cidr("11.0.0.0/9", 8));
        // Private space is not the internet, however wide.
        assert!(!is_wide_cidr("10.0.0.0/8", 8));
        assert!(is_wide_cidr("0.0.0.0/1", 8));
        assert!(!is_wide_cidr("fc00::/7", 8));
        assert!(is_wide_cidr("::/0", 8));
        assert!(!is_wide_cidr("2001:db8::/32", 8));
        assert!(!is_wide_cidr("0.0.0.0", 8));
        assert!(!is_wide_cidr("0.0.0.0/33", 40));
        assert!(!is_wide_cidr("any", 8));
    }

    #[test]
    fn the_whole_internet_and_most_of_it_fail() {
        let all = run(r#"resource "azurerm_postgresql_firewall_rule" "all" {
  start_ip_address = "0.0.0.0"
  end_ip_address   = "255.255.255.255"
}"#);
        assert_eq!(
            all,
            [NativeResult::Fail {
                pointer: "/start_ip_address".into(),
                detail: "0.0.0.0–255.255.255.255 admits 4,294,967,296 addresses (all of IPv4)"
                    .into()
            }]
        );
        let most = run(r#"resource "azurerm_redis_firewall_rule" "most" {
  start_ip = "1.0.0.0"
  end_ip   = "223.255.255.255"
}"#);
        assert!(
            matches!(&most[..], [NativeResult::Fail { pointer, detail }]
                if pointer == "/start_ip" && detail.contains("(87.1% of IPv4)")),
            "{most:?}"
        );
    }

    #[test]
    fn narrow_reversed_unknown_and_malformed_ranges() {
        assert!(run(r#"resource "azurerm_mssql_firewall_rule" "office" {
  start_ip_address = "203.0.113.0"
  end_ip_address   = "203.0.113.255"
}"#)
        .is_empty());
        // A private range, however wide, is not the internet.
        assert!(run(r#"resource "azurerm_mssql_firewall_rule" "vnet" {
  start_ip_address = "10.0.0.0"
  end_ip_address   = "10.255.255.255"
}"#)
        .is_empty());
        // Azure services only: one address, a rule of its own.
        assert!(run(r#"resource "azurerm_mssql_firewall_rule" "azure" {
  start_ip_address = "0.0.0.0"
  end_ip_address   = "0.0.0.0"
}"#)
        .is_empty());
        assert!(run(r#"resource "azurerm_mssql_firewall_rule" "reversed" {
  start_ip_address = "255.255.255.255"
  end_ip_address   = "0.0.0.0"
}"#)
        .is_empty());
        assert!(matches!(
            &run(r#"resource "azurerm_mssql_firewall_rule" "var" {
  start_ip_address = var.start
  end_ip_address   = "255.255.255.255"
}"#)[..],
            [NativeResult::Undecided { pointer, .. }] if pointer == "/start_ip_address"
        ));
        assert!(matches!(
            &run(r#"resource "azurerm_mssql_firewall_rule" "typo" {
  start_ip_address = "0.0.0.0"
  end_ip_address   = "255.255.255.256"
}"#)[..],
            [NativeResult::Undecided { pointer, .. }] if pointer == "/end_ip_address"
        ));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(16_777_216), "16,777,216");
    }
}
