//! IP network functions for IPv4 and IPv6, following Terraform's
//! go-cidr arithmetic. Addresses are held as `u128` with their width.
//! Like Terraform, IPv4 octets may carry leading zeros (read as decimal).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("cidrhost", Exactly(2), cidrhost),
    Function::new("cidrnetmask", Exactly(1), cidrnetmask),
    Function::new("cidrsubnet", Exactly(3), cidrsubnet),
    Function::new("cidrsubnets", AtLeast(1), cidrsubnets),
];

/// A network: its first address, address width (32 or 128) and prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: u128,
    bits: u32,
    prefix: u32,
}

impl Network {
    fn parse(text: &str) -> Result<Network, String> {
        let invalid = || format!("invalid CIDR expression: invalid CIDR address: {text}");
        let (addr, prefix) = text.split_once('/').ok_or_else(invalid)?;
        let (addr, bits) = match parse_ipv4(addr) {
            Some(v4) => (u128::from(u32::from(v4)), 32),
            None => (
                u128::from(addr.parse::<Ipv6Addr>().map_err(|_| invalid())?),
                128,
            ),
        };
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return Err(invalid());
        }
        let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
        if prefix > bits {
            return Err(invalid());
        }
        let mut network = Network { addr, bits, prefix };
        network.addr &= network.mask(prefix);
        Ok(network)
    }

    fn full(&self) -> u128 {
        u128::MAX >> (128 - self.bits)
    }

    /// The mask of a `len`-bit prefix within this address width.
    fn mask(&self, len: u32) -> u128 {
        let full = self.full();
        full & !full.checked_shr(len).unwrap_or(0)
    }

    fn with(&self, addr: u128, prefix: u32) -> Network {
        Network {
            addr: addr & self.full(),
            bits: self.bits,
            prefix,
        }
    }

    fn last(&self) -> u128 {
        self.addr | (!self.mask(self.prefix) & self.full())
    }

    fn contains(&self, addr: u128) -> bool {
        addr & self.mask(self.prefix) == self.addr
    }

    fn protocol(&self) -> &'static str {
        if self.bits == 32 {
            "IPv4"
        } else {
            "IPv6"
        }
    }

    fn address_text(&self, addr: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(u32::try_from(addr).unwrap_or(0)).to_string()
        } else {
            Ipv6Addr::from(addr).to_string()
        }
    }

    fn text(&self) -> String {
        format!("{}/{}", self.address_text(self.addr), self.prefix)
    }
}

/// Dotted decimal, each octet up to three digits (leading zeros allowed).
fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

fn network(args: &Args<'_>, i: usize) -> Result<Network, FunctionError> {
    Network::parse(&args.string(i)?).map_err(|m| args.invalid(i, m))
}

/// `cidrhost(prefix, hostnum)`: a negative number counts back from the
/// last address.
fn cidrhost(args: &Args<'_>) -> Result<Value, FunctionError> {
    let network = network(args, 0)?;
    let number = args.int(1)?;
    let host_bits = network.bits - network.prefix;
    let max = u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
    let magnitude = u128::from(number.unsigned_abs());
    let offset = if number < 0 {
        (magnitude <= max.saturating_add(1)).then(|| max - (magnitude - 1))
    } else {
        (magnitude <= max).then_some(magnitude)
    };
    let offset = offset.ok_or_else(|| {
        args.fail(format!(
            "prefix of {} does not accommodate a host numbered {number}",
            network.prefix
        ))
    })?;
    Ok(Value::from(network.address_text(network.addr | offset)))
}

fn cidrnetmask(args: &Args<'_>) -> Result<Value, FunctionError> {
    let network = network(args, 0)?;
    if network.bits != 32 {
        return Err(args.fail(format!(
            "IPv6 addresses cannot have a netmask: {}",
            args.string(0)?
        )));
    }
    Ok(Value::from(
        network.address_text(network.mask(network.prefix)),
    ))
}

/// `cidrsubnet(prefix, newbits, netnum)`.
fn cidrsubnet(args: &Args<'_>) -> Result<Value, FunctionError> {
    let network = network(args, 0)?;
    let newbits = args.int(1)?;
    let number = args.int(2)?;
    let new_prefix = u32::try_from(newbits)
        .ok()
        .and_then(|n| n.checked_add(network.prefix))
        .filter(|&p| p <= network.bits)
        .ok_or_else(|| {
            args.fail(format!(
                "insufficient address space to extend prefix of {} by {newbits}",
                network.prefix
            ))
        })?;
    let extension = new_prefix - network.prefix;
    let max = u128::MAX.checked_shr(128 - extension).unwrap_or(0);
    let number_u = u128::try_from(number)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| {
            args.fail(format!(
                "prefix extension of {newbits} does not accommodate a subnet numbered {number}"
            ))
        })?;
    let addr = network.addr | number_u.checked_shl(network.bits - new_prefix).unwrap_or(0);
    Ok(Value::from(network.with(addr, new_prefix).text()))
}

/// `cidrsubnets(prefix, newbits...)`: consecutive subnets, each aligned
/// to its own size, as go-cidr's `NextSubnet` allocates them.
fn cidrsubnets(args: &Args<'_>) -> Result<Value, FunctionError> {
    let network = network(args, 0)?;
    if args.len() == 1 {
        return Ok(Value::List(vec![]));
    }
    let first = args.int(1)?;
    let first_prefix = u32::try_from(first.clamp(0, 128)).unwrap_or(0) + network.prefix;
    let previous = network.addr.wrapping_sub(1) & network.full();
    let mut current = network.with(
        previous & network.mask(first_prefix.min(network.bits)),
        first_prefix.min(network.bits),
    );
    let mut out = Vec::new();
    for i in 1..args.len() {
        let length = args.int(i)?;
        if length < 1 {
            return Err(args.invalid(i, "must extend prefix by at least one bit"));
        }
        if length > 32 {
            return Err(args.invalid(i, "may not extend prefix by more than 32 bits"));
        }
        let prefix = u32::try_from(length).unwrap_or(0) + network.prefix;
        if prefix > network.bits {
            return Err(args.invalid(
                i,
                format!(
                    "would extend prefix to {prefix} bits, which is too long for an {} address",
                    network.protocol()
                ),
            ));
        }
        // NextSubnet: the subnet of the new size holding the current
        // one's last address, then the one after it.
        let containing = current.last() & network.mask(prefix);
        let after = (containing | (!network.mask(prefix) & network.full())).wrapping_add(1)
            & network.full();
        let next = network.with(after & network.mask(prefix), prefix);
        if after == 0 || !network.contains(next.addr) {
            return Err(args.invalid(
                i,
                format!(
                    "not enough remaining address space for a subnet with a prefix of {prefix} bits after {}",
                    current.text()
                ),
            ));
        }
        current = next;
        out.push(Value::from(current.text()));
    }
    Ok(Value::List(out))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    use serde_json::json;
    vec![
        ok(
            "cidrhost",
            vec![s("10.12.112.0/20"), n(16.0)],
            s("10.12.112.16"),
        ),
        ok(
            "cidrhost",
            vec![s("10.12.112.0/20"), n(268.0)],
            s("10.12.113.12"),
        ),
        ok(
            "cidrhost",
            vec![s("10.12.112.0/20"), n(-1.0)],
            s("10.12.127.255"),
        ),
        ok(
            "cidrhost",
            vec![s("fd00:fd12:3456:7890:00a2::/72"), n(34.0)],
            s("fd00:fd12:3456:7890::22"),
        ),
        ok(
            "cidrhost",
            vec![s("192.168.1.0/32"), n(0.0)],
            s("192.168.1.0"),
        ),
        ok("cidrhost", vec![s("010.001.0.0/16"), n(1.0)], s("10.1.0.1")),
        err(
            "cidrhost",
            vec![s("10.0.0.0/30"), n(4.0)],
            "does not accommodate a host numbered 4",
        ),
        err(
            "cidrhost",
            vec![s("10.0.0.0/30"), n(-5.0)],
            "does not accommodate",
        ),
        err(
            "cidrhost",
            vec![s("10.0.0.256/8"), n(1.0)],
            "invalid CIDR expression",
        ),
        err(
            "cidrhost",
            vec![s("10.0.0.0"), n(1.0)],
            "invalid CIDR expression",
        ),
        ok("cidrnetmask", vec![s("172.16.0.0/12")], s("255.240.0.0")),
        ok("cidrnetmask", vec![s("10.0.0.0/0")], s("0.0.0.0")),
        err(
            "cidrnetmask",
            vec![s("fd00::/64")],
            "IPv6 addresses cannot have a netmask",
        ),
        ok(
            "cidrsubnet",
            vec![s("172.16.0.0/12"), n(4.0), n(2.0)],
            s("172.18.0.0/16"),
        ),
        ok(
            "cidrsubnet",
            vec![s("10.1.2.0/24"), n(4.0), n(15.0)],
            s("10.1.2.240/28"),
        ),
        ok(
            "cidrsubnet",
            vec![s("10.1.2.3/16"), n(8.0), n(2.0)],
            s("10.1.2.0/24"),
        ),
        ok(
            "cidrsubnet",
            vec![s("fd00:fd12:3456:7890::/56"), n(16.0), n(162.0)],
            s("fd00:fd12:3456:7800:a200::/72"),
        ),
        err(
            "cidrsubnet",
            vec![s("10.0.0.0/30"), n(4.0), n(0.0)],
            "insufficient address space",
        ),
        err(
            "cidrsubnet",
            vec![s("10.0.0.0/24"), n(2.0), n(4.0)],
            "does not accommodate a subnet numbered 4",
        ),
        ok(
            "cidrsubnets",
            vec![s("10.1.0.0/16"), n(4.0), n(4.0), n(8.0), n(4.0)],
            j(json!([
                "10.1.0.0/20",
                "10.1.16.0/20",
                "10.1.32.0/24",
                "10.1.48.0/20"
            ])),
        ),
        ok(
            "cidrsubnets",
            vec![
                s("fd00:fd12:3456:7890::/56"),
                n(16.0),
                n(16.0),
                n(16.0),
                n(32.0),
            ],
            j(json!([
                "fd00:fd12:3456:7800::/72",
                "fd00:fd12:3456:7800:100::/72",
                "fd00:fd12:3456:7800:200::/72",
                "fd00:fd12:3456:7800:300::/88"
            ])),
        ),
        ok("cidrsubnets", vec![s("10.0.0.0/8")], j(json!([]))),
        // go-cidr's allocator starts from the subnet before the network and
        // reads a wrap past the top as exhaustion, so Terraform cannot
        // allocate inside a network that starts at address zero.
        err(
            "cidrsubnets",
            vec![s("0.0.0.0/0"), n(1.0), n(1.0)],
            "not enough remaining address space",
        ),
        err(
            "cidrsubnets",
            vec![s("10.0.0.0/30"), n(1.0), n(1.0), n(1.0)],
            "not enough remaining address space",
        ),
        err(
            "cidrsubnets",
            vec![s("10.0.0.0/30"), n(0.0)],
            "at least one bit",
        ),
        err(
            "cidrsubnets",
            vec![s("10.0.0.0/30"), n(3.0)],
            "too long for an IPv4 address",
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn table() {
        super::super::testing::run(super::cases());
    }
}
