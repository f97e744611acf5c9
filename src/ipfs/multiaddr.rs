//! The two multiaddr shapes Kotal resources use: a TCP endpoint
//! (`/dns4/my-peer/tcp/5001`, a ClusterPeer's `peerEndpoint`) and a TCP endpoint with a peer
//! ID (`/dns4/other/tcp/9096/p2p/12D3KooW…`, `bootstrapPeers`). Anything else, other
//! transports included, is refused with the segment that is wrong.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ipfs::peer_id::PeerId;

/// Where a multiaddr points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip4(Ipv4Addr),
    Ip6(Ipv6Addr),
    /// `/dns`, `/dns4` or `/dns6`, with the name.
    Dns(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multiaddr {
    pub host: Host,
    pub port: u16,
    /// The `/p2p/` part, as written and decoded.
    pub peer: Option<(String, PeerId)>,
}

/// Whether the address must end in `/p2p/<peer ID>` or must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Endpoint,
    WithPeer,
}

impl Shape {
    pub fn example(self) -> &'static str {
        match self {
            Shape::Endpoint => "/dns4/<host>/tcp/<port>",
            Shape::WithPeer => "/dns4/<host>/tcp/<port>/p2p/<peer ID>",
        }
    }
}

const HOST_PROTOCOLS: [&str; 5] = ["ip4", "ip6", "dns", "dns4", "dns6"];

/// Why a text is not a multiaddr of the expected shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// The longest multiaddr kotalc reads: a DNS name (253), a port and a peer ID fit in it.
pub const MAX_TEXT: usize = 512;

pub fn parse(text: &str, shape: Shape) -> Result<Multiaddr, Error> {
    if text.len() > MAX_TEXT {
        return Err(error(format!(
            "a multiaddr is at most {MAX_TEXT} characters, found {}",
            text.len()
        )));
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(error(format!(
            "a multiaddr starts with '/', as {}",
            shape.example()
        )));
    };
    let mut parts = rest.split('/');
    let protocol = parts.next().unwrap_or_default();
    if !HOST_PROTOCOLS.contains(&protocol) {
        let hint = crate::diagnostic::suggest(protocol, HOST_PROTOCOLS.iter().copied())
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
        return Err(error(format!(
            "{protocol:?} is not a host protocol: expected one of ip4, ip6, dns, dns4, dns6{hint}"
        )));
    }
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| error(format!("/{protocol} needs a host, as {}", shape.example())))?;
    let host = match protocol {
        "ip4" => Host::Ip4(
            name.parse()
                .map_err(|_| error(format!("{name:?} is not an IPv4 address")))?,
        ),
        "ip6" => Host::Ip6(
            name.parse()
                .map_err(|_| error(format!("{name:?} is not an IPv6 address")))?,
        ),
        _ => {
            if let Some(problem) = dns_name(name) {
                return Err(error(format!("{name:?} is not a DNS name: {problem}")));
            }
            Host::Dns(name.to_string())
        }
    };
    match parts.next() {
        Some("tcp") => {}
        Some("") | None => {
            return Err(error(format!(
                "the host needs a port: /tcp/<port> follows it, as {}",
                shape.example()
            )));
        }
        Some(other) => {
            return Err(error(format!(
                "/{other} follows the host, expected /tcp: IPFS Cluster and the kubo RPC API \
                 speak TCP"
            )));
        }
    }
    let port_text = parts.next().unwrap_or_default();
    let port = match port_text.parse::<u32>() {
        Ok(p @ 1..=65535) => p as u16,
        Ok(p) => return Err(error(format!("port {p} is outside 1-65535"))),
        Err(_) => return Err(error(format!("{port_text:?} is not a TCP port"))),
    };
    let peer = match (parts.next(), shape) {
        (None, Shape::Endpoint) => None,
        (None, Shape::WithPeer) => {
            return Err(error(format!(
                "the address must end in /p2p/<peer ID> to say which peer to expect, as {}",
                shape.example()
            )));
        }
        (Some("p2p"), Shape::WithPeer) => {
            let id = parts.next().unwrap_or_default();
            let parsed = PeerId::parse(id)
                .map_err(|e| error(format!("{id:?} after /p2p/ is not a peer ID: {e}")))?;
            Some((id.to_string(), parsed))
        }
        (Some("ipfs"), Shape::WithPeer) => {
            return Err(error(
                "/ipfs/ is the old name of /p2p/; write /p2p/<peer ID>",
            ));
        }
        (Some(other), _) => {
            return Err(error(format!(
                "unexpected /{other} after the port: expected {}",
                shape.example()
            )));
        }
    };
    if let Some(extra) = parts.next() {
        return Err(error(format!(
            "unexpected /{extra} at the end: expected {}",
            shape.example()
        )));
    }
    Ok(Multiaddr { host, port, peer })
}

/// Why `name` is not a DNS name (labels of letters, digits and '-', at most 253 characters).
fn dns_name(name: &str) -> Option<&'static str> {
    if name.len() > 253 {
        return Some("longer than 253 characters");
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("each dot-separated label is 1-63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Some("labels hold only letters, digits and '-'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("labels start and end with a letter or digit");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq";

    fn err(text: &str, shape: Shape) -> String {
        parse(text, shape).unwrap_err().to_string()
    }

    #[test]
    fn endpoints() {
        let a = parse("/dns4/bare-peer/tcp/5001", Shape::Endpoint).unwrap();
        assert_eq!(a.host, Host::Dns("bare-peer".into()));
        assert_eq!(a.port, 5001);
        assert_eq!(a.peer, None);
        let a = parse("/ip4/10.0.0.1/tcp/1", Shape::Endpoint).unwrap();
        assert_eq!(a.host, Host::Ip4(Ipv4Addr::new(10, 0, 0, 1)));
        let a = parse("/ip6/::1/tcp/65535", Shape::Endpoint).unwrap();
        assert_eq!(a.host, Host::Ip6(Ipv6Addr::LOCALHOST));
        assert!(parse("/dns/peer.ipfs.svc.cluster.local/tcp/5001", Shape::Endpoint).is_ok());
        assert!(parse("/dns6/peer/tcp/5001", Shape::Endpoint).is_ok());
    }

    #[test]
    fn with_peer() {
        let text = format!("/dns4/cluster-0/tcp/9096/p2p/{ID}");
        let a = parse(&text, Shape::WithPeer).unwrap();
        let (written, id) = a.peer.unwrap();
        assert_eq!(written, ID);
        assert_eq!(id.to_base58(), ID);
    }

    #[test]
    fn refusals_name_the_wrong_segment() {
        use Shape::*;
        assert!(err("dns4/peer/tcp/5001", Endpoint).contains("starts with '/'"));
        assert!(err("/dsn4/peer/tcp/5001", Endpoint).contains("did you mean \"dns4\""));
        assert!(err("/ip4/10.0.0.300/tcp/5001", Endpoint).contains("not an IPv4 address"));
        assert!(err("/ip6/fe80::zz/tcp/5001", Endpoint).contains("not an IPv6 address"));
        assert!(err("/dns4/my_peer/tcp/5001", Endpoint).contains("not a DNS name"));
        assert!(err("/dns4/-peer/tcp/5001", Endpoint).contains("not a DNS name"));
        assert!(err("/dns4/peer", Endpoint).contains("needs a port"));
        assert!(err("/dns4/peer/udp/5001", Endpoint).contains("/udp follows the host"));
        assert!(err("/dns4/peer/tcp/0", Endpoint).contains("outside 1-65535"));
        assert!(err("/dns4/peer/tcp/65536", Endpoint).contains("outside 1-65535"));
        assert!(err("/dns4/peer/tcp/http", Endpoint).contains("not a TCP port"));
        assert!(err("/dns4/peer/tcp/5001/http", Endpoint).contains("unexpected /http"));
        assert!(err(&format!("/dns4/p/tcp/1/p2p/{ID}"), Endpoint).contains("unexpected /p2p"));
        assert!(err("/dns4/peer/tcp/9096", WithPeer).contains("must end in /p2p/"));
        assert!(err(&format!("/dns4/p/tcp/1/ipfs/{ID}"), WithPeer).contains("old name"));
        assert!(err("/dns4/p/tcp/1/p2p/12D3KooW0", WithPeer).contains("not a base58"));
        assert!(err(&format!("/dns4/p/tcp/1/p2p/{ID}/x"), WithPeer).contains("unexpected /x"));
    }
}
