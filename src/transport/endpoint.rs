//! Where a process listens and what address it publishes, from `--host`, `--interface` and
//! `--port`. This module must not open connections (a UDP `connect` sends no packet; it only
//! asks the kernel which local address routes to a peer).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};

use super::{interface_address, Address, TransportError};

/// The listening address and the host to advertise to peers.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub listen: Address,
    pub advertise_host: Option<String>,
}

/// Resolve the user's network flags.
///
/// - `--interface ib0`: listen on that interface's address and publish it;
/// - `--host H`: listen on H and publish H (a wildcard host publishes the routable address);
/// - neither: listen on `default_bind` and publish the address that routes towards
///   `route_to` (or the default route).
pub fn resolve_endpoint(
    host: Option<&str>,
    interface: Option<&str>,
    port: u16,
    default_bind: IpAddr,
    route_to: Option<IpAddr>,
) -> Result<Endpoint, TransportError> {
    if let Some(name) = interface {
        let ip = interface_address(name)?;
        return Ok(Endpoint {
            listen: Address::Tcp(SocketAddr::new(ip, port)),
            advertise_host: Some(ip.to_string()),
        });
    }
    let (bind_ip, published) = match host {
        Some(h) => {
            let ip = resolve_host(h)?;
            let publish = if ip.is_unspecified() {
                routable_ip(route_to).to_string()
            } else {
                h.to_string()
            };
            (ip, publish)
        }
        None => {
            let publish = if default_bind.is_unspecified() {
                routable_ip(route_to).to_string()
            } else {
                default_bind.to_string()
            };
            (default_bind, publish)
        }
    };
    Ok(Endpoint {
        listen: Address::Tcp(SocketAddr::new(bind_ip, port)),
        advertise_host: Some(published),
    })
}

fn resolve_host(host: &str) -> Result<IpAddr, TransportError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip())
        .ok_or_else(|| TransportError::BadAddress {
            address: host.to_string(),
            reason: "cannot resolve this host name".into(),
        })
}

/// The local address the kernel would use to reach `peer` (default: a public address, which
/// selects the default route). Falls back to 127.0.0.1.
pub fn routable_ip(peer: Option<IpAddr>) -> IpAddr {
    let target = match peer {
        Some(ip) if !ip.is_unspecified() => SocketAddr::new(ip, 9),
        _ => SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 9),
    };
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    UdpSocket::bind(bind)
        .and_then(|s| s.connect(target).map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_host_is_published() {
        let e = resolve_endpoint(
            Some("127.0.0.1"),
            None,
            0,
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            None,
        )
        .unwrap();
        assert_eq!(e.listen, Address::Tcp("127.0.0.1:0".parse().unwrap()));
        assert_eq!(e.advertise_host.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn route_to_loopback_publishes_loopback() {
        let ip = routable_ip(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(ip.is_loopback());
    }

    #[test]
    fn unresolvable_host_names_the_host() {
        let err = resolve_endpoint(
            Some("no-such-host.invalid"),
            None,
            0,
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
    }
}
