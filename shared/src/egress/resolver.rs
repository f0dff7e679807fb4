//! Where an outbound request (a webhook, an identity provider's discovery, keys or token
//! endpoint) may connect: its name is resolved once per request, every address that is not
//! globally routable is dropped, and the send dials exactly the addresses that remain, so a
//! name that rebinds between check and connect reaches nothing new.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// Turns a host and port into addresses: the system's resolver, or a test's.
pub trait Resolve: Send + Sync + std::fmt::Debug {
    /// Every address `host` names, with `port`.
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>>;
}

/// The operating system's resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// A resolver for tests and a fuzzer's local server: `localhost` and addresses written out
/// only; every other name does not resolve, so no lookup leaves the machine.
#[derive(Debug, Default)]
pub struct LoopbackOnly;

impl Resolve for LoopbackOnly {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        let answer = match host.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![SocketAddr::new(ip, port)]),
            Err(_) if host.eq_ignore_ascii_case("localhost") => {
                Ok(vec![SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)])
            }
            Err(_) => Err(io::Error::new(io::ErrorKind::NotFound, "only loopback names resolve here")),
        };
        Box::pin(std::future::ready(answer))
    }
}

/// A shared resolver.
pub type SharedResolver = Arc<dyn Resolve>;

/// Why a name gave nothing to connect to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// The name does not resolve.
    #[error("the host name did not resolve")]
    Unresolved,
    /// Every address it names is private, loopback, link-local or otherwise not global.
    #[error("the host name points only at addresses that are not public")]
    NotGlobal,
}

/// The addresses of `host` a send may dial: the global ones, or, when `allow_loopback`, also
/// loopback ones. Never an address the caller did not get from this check.
pub async fn checked(
    resolver: &dyn Resolve,
    host: &str,
    port: u16,
    allow_loopback: bool,
) -> Result<Vec<SocketAddr>, Refusal> {
    let addrs = resolver.resolve(host, port).await.map_err(|_| Refusal::Unresolved)?;
    if addrs.is_empty() {
        return Err(Refusal::Unresolved);
    }
    let kept: Vec<SocketAddr> =
        addrs.into_iter().filter(|a| is_global(a.ip()) || (allow_loopback && a.ip().is_loopback())).collect();
    if kept.is_empty() { Err(Refusal::NotGlobal) } else { Ok(kept) }
}

/// Whether an address is reachable on the public internet: not private, loopback,
/// link-local (169.254.169.254 among them), shared (CGNAT), multicast, documentation,
/// benchmarking or reserved, and, for IPv6 forms that carry an IPv4 address (mapped,
/// compatible, NAT64, 6to4), not such an IPv4 address inside.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                  // "this network"
        || a == 10                            // private
        || a == 127                           // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)             // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)     // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)     // documentation
        || (a == 192 && b == 88 && c == 99)   // 6to4 relay anycast
        || (a == 192 && b == 168)             // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)  // documentation
        || (a == 203 && b == 0 && c == 113)   // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_global_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (seg[0] & 0xfe00) == 0xfc00          // unique local
        || (seg[0] & 0xffc0) == 0xfe80          // link-local
        || (seg[0] & 0xffc0) == 0xfec0          // site-local (deprecated)
        || (seg[0] & 0xff00) == 0xff00          // multicast
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] < 0x0200) // IETF protocol assignments (Teredo among them)
        || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]) // discard-only
        || (seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2] == 0x0001) // local-use NAT64
        || (seg[0] & 0xe000) != 0x2000) // outside global unicast 2000::/3
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let tail = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
    match seg {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(tail),
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_global_addresses_pass() {
        for global in ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::808:808"] {
            assert!(is_global(global.parse().unwrap()), "{global} is global");
        }
        for local in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:a00:1::",
            "2002:7f00:1::",
            "2001::1",
            "100::1",
        ] {
            assert!(!is_global(local.parse().unwrap()), "{local} is not global");
        }
    }

    #[derive(Debug)]
    struct Fixed(Vec<&'static str>);

    impl Resolve for Fixed {
        fn resolve<'a>(
            &'a self,
            _host: &'a str,
            port: u16,
        ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
            let addrs = self.0.iter().map(|a| SocketAddr::new(a.parse().unwrap(), port)).collect();
            Box::pin(async move { Ok(addrs) })
        }
    }

    #[tokio::test]
    async fn a_name_keeps_only_its_global_addresses() {
        let mixed = Fixed(vec!["10.0.0.1", "93.184.216.34", "::1"]);
        let kept = checked(&mixed, "hooks.example.com", 443, false).await.unwrap();
        assert_eq!(kept, vec!["93.184.216.34:443".parse().unwrap()]);
        let private = Fixed(vec!["10.0.0.1", "169.254.169.254", "::ffff:192.168.0.1"]);
        assert_eq!(checked(&private, "hooks.example.com", 443, false).await, Err(Refusal::NotGlobal));
        assert_eq!(checked(&Fixed(vec![]), "nowhere.example.com", 443, false).await, Err(Refusal::Unresolved));
        let loopback = Fixed(vec!["127.0.0.1"]);
        assert_eq!(checked(&loopback, "localhost", 9000, false).await, Err(Refusal::NotGlobal));
        assert!(checked(&loopback, "localhost", 9000, true).await.is_ok(), "a local deployment's receiver");
    }
}
