//! Where a process listens and what address it publishes, from `--host`, `--interface` and
//! `--port`. This module must not open connections (a UDP `connect` sends no packet; it only
//! asks the kernel which local address routes to a peer).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};

use super::interface::Interfaces;
use super::publish::{choose_published, Reason};
use super::{Address, TransportError};

/// The listening address and the host to advertise to peers.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub listen: Address,
    pub advertise_host: Option<String>,
}

/// Resolve the user's network flags.
///
/// - `--interface ib0`: listen on that interface's address and publish it;
/// - `--host H`: listen on H and publish H (a wildcard host publishes the chosen address);
/// - neither: listen on `default_bind` and publish the address chosen by
///   [`super::publish`] (the route towards `route_to`, else the default route, else the single
///   non-loopback address), never loopback unless `route_to` is itself loopback;
/// - `--advertise-host A` (with any of the above): publish A, which must resolve.
pub fn resolve_endpoint(
    host: Option<&str>,
    interface: Option<&str>,
    advertise: Option<&str>,
    port: u16,
    default_bind: IpAddr,
    route_to: Option<IpAddr>,
) -> Result<Endpoint, TransportError> {
    let bind_ip = match (interface, host) {
        (Some(name), _) => Interfaces::of_this_host()?.address_of(name)?,
        (None, Some(h)) => resolve_host("--host", h)?,
        (None, None) => default_bind,
    };
    let published = match (advertise, host) {
        (Some(a), _) => {
            resolve_host("--advertise-host", a)?;
            a.to_string()
        }
        _ if !bind_ip.is_unspecified() => match (interface, host) {
            (None, Some(h)) => h.to_string(),
            _ => bind_ip.to_string(),
        },
        _ => published_ip(route_to)?.to_string(),
    };
    Ok(Endpoint {
        listen: Address::Tcp(SocketAddr::new(bind_ip, port)),
        advertise_host: Some(published),
    })
}

/// The address this host publishes to peers reached through `route_to` (or through the
/// default route), chosen by [`choose_published`] over this host's interfaces.
pub fn published_ip(route_to: Option<IpAddr>) -> Result<IpAddr, TransportError> {
    let peers_local = route_to.is_some_and(|ip| ip.is_loopback());
    let (ip, reason) = choose_published(
        None,
        &Interfaces::of_this_host()?,
        route_from(route_to),
        peers_local,
    )?;
    if reason == Reason::OnlyLoopback {
        tracing::warn!("this host has no address but loopback; only local peers can connect");
    }
    tracing::debug!(%ip, ?reason, "chose the address to publish");
    Ok(ip)
}

/// A host name to publish for this host: `name` itself when it resolves to an address other
/// hosts can reach, else the address [`published_ip`] chooses (Debian maps the host name to
/// 127.0.1.1, which other hosts must never be given).
pub fn publishable_host_name(name: &str) -> Result<String, TransportError> {
    match resolve_host("the host name", name) {
        Ok(ip) if !ip.is_loopback() && !ip.is_unspecified() => Ok(name.to_string()),
        _ => published_ip(None).map(|ip| ip.to_string()),
    }
}

/// Refuse a host name given with `flag` that does not resolve (a usage error naming both).
pub fn check_resolves(flag: &'static str, host: &str) -> Result<(), TransportError> {
    resolve_host(flag, host).map(|_| ())
}

fn resolve_host(flag: &'static str, host: &str) -> Result<IpAddr, TransportError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip())
        .ok_or_else(|| TransportError::UnresolvableHost {
            flag,
            host: host.to_string(),
        })
}

/// The local address the kernel would use to reach `peer` (default: a public address, which
/// selects the default route); `None` when there is no route.
fn route_from(peer: Option<IpAddr>) -> Option<IpAddr> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_host_is_published() {
        let e = resolve_endpoint(
            Some("127.0.0.1"),
            None,
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
        let ip = published_ip(Some(IpAddr::V4(Ipv4Addr::LOCALHOST))).unwrap();
        assert!(ip.is_loopback());
    }

    #[test]
    fn advertise_host_is_published_and_must_resolve() {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let e = resolve_endpoint(None, None, Some("localhost"), 7, any, None).unwrap();
        assert_eq!(e.advertise_host.as_deref(), Some("localhost"));
        assert_eq!(e.listen, Address::Tcp("0.0.0.0:7".parse().unwrap()));
        let error =
            resolve_endpoint(None, None, Some("no-such-host.invalid"), 7, any, None).unwrap_err();
        assert!(error.is_usage());
        assert_eq!(
            error.to_string(),
            "--advertise-host no-such-host.invalid: cannot resolve this host name to an address"
        );
    }

    #[test]
    fn a_host_name_for_loopback_is_never_published() {
        let only_loopback = Interfaces::of_this_host()
            .unwrap()
            .addresses
            .iter()
            .all(|a| !a.up || a.ip.is_loopback());
        let published = publishable_host_name("localhost").unwrap();
        assert_ne!(published, "localhost");
        let ip: IpAddr = published.parse().unwrap();
        assert_eq!(ip.is_loopback(), only_loopback, "{ip}");
    }

    #[test]
    fn unresolvable_host_names_the_host() {
        let err = resolve_endpoint(
            Some("no-such-host.invalid"),
            None,
            None,
            0,
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
    }
}
