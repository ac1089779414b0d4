//! Where HTTP tools may send requests: public addresses only, unless the operator allows more
//! (`http_tools_allowed_hosts`). Private, loopback, link-local, unspecified, CGNAT, unique-local,
//! multicast and other special-purpose ranges are refused, for IPv4 and IPv6 (IPv4-mapped,
//! -compatible, NAT64 and 6to4 addresses are judged by the IPv4 address inside).
//!
//! Names are checked where they are resolved: [`GuardedResolver`] is the HTTP client's DNS
//! resolver, so the addresses it checks are exactly the ones the client connects to — a name
//! that resolves to a public address when checked and a private one when used (DNS rebinding)
//! cannot slip between the two. IP literals never reach a resolver; the tool checks them with
//! [`HttpToolPolicy::check_ip`] before sending.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The operator's allow list: host names, IP addresses and CIDR ranges that HTTP tools may
/// reach even though they are not public.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpToolPolicy {
    names: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

/// A request refused because of where it would go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub host: String,
    pub address: IpAddr,
    pub range: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host == self.address.to_string() {
            write!(f, "refused: {} is a {} address", self.address, self.range)?;
        } else {
            write!(f, "refused: {} resolves to {}, a {} address", self.host, self.address, self.range)?;
        }
        f.write_str(
            " and HTTP tools may only reach public addresses (an operator can allow it with http_tools_allowed_hosts)",
        )
    }
}

impl std::error::Error for Refused {}

impl HttpToolPolicy {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// A comma-separated list of hosts, IPs and CIDRs, e.g. `127.0.0.1, 10.0.0.0/8, api.internal`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut policy = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Some((ip, prefix)) = entry.split_once('/') {
                let ip: IpAddr = ip.parse().map_err(|_| format!("`{entry}` is not a CIDR range such as 10.0.0.0/8"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("`{entry}`: the prefix length must be 0 to {max}"))?;
                policy.nets.push((ip, prefix));
            } else if let Ok(ip) = entry.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                policy.nets.push((ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else if entry.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
                policy.names.push(normalise(entry));
            } else {
                return Err(format!("`{entry}` is not a host name, an IP address or a CIDR range"));
            }
        }
        Ok(policy)
    }

    /// Whether the operator listed this host name (then whatever it resolves to is allowed).
    pub fn allows_name(&self, host: &str) -> bool {
        let host = normalise(host);
        self.names.contains(&host)
    }

    /// Ok for a public address or one the operator allowed.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        let Some(range) = special_purpose_range(ip) else { return Ok(()) };
        let canonical = canonical(ip);
        if self.nets.iter().any(|(net, prefix)| contains(*net, *prefix, ip) || contains(*net, *prefix, canonical)) {
            return Ok(());
        }
        Err(Refused { host: host.to_string(), address: ip, range })
    }

    /// Checks every address `host` resolved to; one refused address refuses the host.
    pub fn check_addresses(&self, host: &str, addresses: &[SocketAddr]) -> Result<(), Refused> {
        if self.allows_name(host) {
            return Ok(());
        }
        addresses.iter().try_for_each(|a| self.check_ip(host, a.ip()))
    }
}

fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// An IPv6 address that embeds an IPv4 one, as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (not :: and ::1)
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, _, _] if u32::from(low) > 1 => Some(low),
        // NAT64 well-known prefix 64:ff9b::/96
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 6to4 2002:a.b.c.d::/48
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

fn contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// The special-purpose range an address is in, or `None` for a public address.
pub fn special_purpose_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => ipv4_range(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => ipv4_range(v4),
            None => ipv6_range(v6),
        },
    }
}

fn ipv4_range(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: [([u8; 4], u8, &str); 15] = [
        ([0, 0, 0, 0], 8, "unspecified (this-network)"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (CGNAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "6to4 relay"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved (or broadcast)"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| contains(IpAddr::V4(Ipv4Addr::from(*net)), *prefix, IpAddr::V4(ip)))
        .map(|(_, _, name)| *name)
}

fn ipv6_range(ip: Ipv6Addr) -> Option<&'static str> {
    const RANGES: [(u128, u8, &str); 8] = [
        (0, 128, "unspecified"),
        (1, 128, "loopback"),
        (0x0100_0000_0000_0000_0000_0000_0000_0000, 64, "discard-only"),
        (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32, "documentation"),
        (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7, "unique-local"),
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
        (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10, "site-local"),
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| contains(IpAddr::V6(Ipv6Addr::from(*net)), *prefix, IpAddr::V6(ip)))
        .map(|(_, _, name)| *name)
}

/// The HTTP tools client's DNS resolver: resolves with the system resolver, then refuses the
/// name unless every address passes the policy.
pub struct GuardedResolver {
    policy: Arc<HttpToolPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<HttpToolPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            policy.check_addresses(&host, &addresses)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn special_purpose_addresses_are_refused_by_default() {
        let policy = HttpToolPolicy::public_only();
        for refused in [
            "127.0.0.1",
            "127.8.8.8",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
            "ff02::1",
        ] {
            assert!(policy.check_ip("h", ip(refused)).is_err(), "{refused} should be refused");
        }
        for public in ["8.8.8.8", "1.1.1.1", "100.63.255.255", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(policy.check_ip("h", ip(public)).is_ok(), "{public} should be allowed");
        }
        let refused = policy.check_ip("localhost", ip("127.0.0.1")).unwrap_err();
        assert!(refused.to_string().contains("localhost resolves to 127.0.0.1, a loopback address"), "{refused}");
    }

    #[test]
    fn the_operator_can_allow_hosts_ips_and_ranges() {
        let policy = HttpToolPolicy::parse(" 127.0.0.1, 10.0.0.0/8 ,api.internal., [::1]").unwrap();
        assert!(policy.check_ip("h", ip("127.0.0.1")).is_ok());
        assert!(policy.check_ip("h", ip("::ffff:127.0.0.1")).is_ok(), "the mapped form of an allowed address");
        assert!(policy.check_ip("h", ip("127.0.0.2")).is_err());
        assert!(policy.check_ip("h", ip("10.200.0.1")).is_ok());
        assert!(policy.check_ip("h", ip("::1")).is_ok());
        assert!(policy.check_ip("h", ip("192.168.0.1")).is_err());
        assert!(policy.allows_name("API.internal"));
        let local = [SocketAddr::new(ip("192.168.0.9"), 0)];
        assert!(policy.check_addresses("api.internal", &local).is_ok());
        assert!(policy.check_addresses("other.internal", &local).is_err());
        for bad in ["10.0.0.0/33", "not a host", "1.2.3.4/x"] {
            assert!(HttpToolPolicy::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(HttpToolPolicy::parse(" , ").unwrap(), HttpToolPolicy::public_only());
    }
}
