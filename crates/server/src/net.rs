//! Who the client is: the peer address, or — behind a configured reverse proxy — the
//! address that proxy saw. Every throttle, session, audit entry and engine event that
//! records the requester's address takes it from [`client_ip`].

use serde::de::{Deserialize, Deserializer, Error as _};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack socket.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` hop that is not itself a trusted proxy (hops to its
/// left were written by the client and prove nothing). A proxy that sent no usable
/// hop leaves the peer.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    is_trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded_for
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_hop(s.trim()))
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer)
}

/// A hop is an address, optionally `[v6]` or with a port (`1.2.3.4:5678`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> impl Fn(IpAddr) -> bool {
        let nets: Vec<IpNet> = s.iter().map(|n| n.parse().unwrap()).collect();
        move |ip| nets.iter().any(|n| n.contains(ip))
    }

    #[test]
    fn blocks_contain_what_they_should() {
        let cases = [
            ("10.0.0.0/8", "10.200.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/25", "192.168.1.127", true),
            ("192.168.1.0/25", "192.168.1.128", false),
            ("203.0.113.7", "203.0.113.7", true),
            ("203.0.113.7", "203.0.113.8", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("2001:db8::/32", "2001:db8:1::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("127.0.0.1", "::ffff:127.0.0.1", true),
            ("::1", "127.0.0.1", false),
        ];
        for (net, ip, want) in cases {
            let n: IpNet = net.parse().unwrap();
            assert_eq!(n.contains(ip.parse().unwrap()), want, "{net} ∋ {ip}");
        }
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy.local".parse::<IpNet>().is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer_out: IpAddr = "198.51.100.1".parse().unwrap();
        let peer_proxy: IpAddr = "10.1.1.1".parse().unwrap();
        let xff = ["1.1.1.1, 203.0.113.9"];
        assert_eq!(
            client_ip(peer_out, xff.iter().copied(), &trusted),
            peer_out,
            "spoofed header from a stranger"
        );
        assert_eq!(
            client_ip(peer_proxy, xff.iter().copied(), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "right-most hop"
        );
        let chained = ["203.0.113.9, 10.2.2.2", "10.3.3.3"];
        assert_eq!(
            client_ip(peer_proxy, chained.iter().copied(), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "skips trusted hops, across repeated headers"
        );
        assert_eq!(
            client_ip(peer_proxy, ["garbage"].iter().copied(), &trusted),
            peer_proxy
        );
        assert_eq!(
            client_ip(peer_proxy, ["[2001:db8::5]",].iter().copied(), &trusted),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer_proxy, std::iter::empty(), nets(&[])),
            peer_proxy,
            "no trusted proxies: the peer"
        );
    }
}
