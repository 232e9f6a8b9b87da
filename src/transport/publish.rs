//! Which IP address a process publishes for others to connect to (scheduler file, MPI
//! announcement, a worker's data address): a pure choice over the interfaces and the route the
//! kernel reported. A published address is never loopback unless every peer is local.
//!
//! The order, documented in docs/cli.md ("Networks"):
//! 1. the interface named with `--interface` (unknown: a usage error listing the interfaces);
//! 2. the address the kernel routes from towards the peers (a worker: towards the scheduler),
//!    or towards the default route — unless it is loopback while the peers are not local;
//! 3. the single non-loopback address of an up interface (IPv4 preferred);
//! 4. loopback, only when this host has no other address at all (nothing else could reach it);
//! 5. otherwise refuse, naming `--interface` and `--advertise-host`.
//!
//! This module must not look at the operating system: callers pass [`Interfaces`] and the route.

use std::net::{IpAddr, Ipv4Addr};

use super::interface::{InterfaceAddress, Interfaces};
use super::TransportError;

/// Why an address was chosen (logged, and shown in tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `--interface NAME`.
    Interface(String),
    /// The kernel's route towards the peers or the default route.
    Route,
    /// The only non-loopback address of an up interface (on the interface named).
    OnlyAddress(String),
    /// This host has no address but loopback: every peer is local.
    OnlyLoopback,
}

/// The address to publish, and why.
///
/// `routed` is the local address the kernel would use towards the peers (or towards the
/// default route), `None` when there is no such route. `peers_local` is true when the peers
/// are known to be on this host (the route leads to a loopback peer).
pub fn choose_published(
    interface: Option<&str>,
    interfaces: &Interfaces,
    routed: Option<IpAddr>,
    peers_local: bool,
) -> Result<(IpAddr, Reason), TransportError> {
    if let Some(name) = interface {
        return Ok((interfaces.address_of(name)?, Reason::Interface(name.into())));
    }
    match routed {
        Some(ip) if !ip.is_unspecified() && (!ip.is_loopback() || peers_local) => {
            return Ok((ip, Reason::Route));
        }
        _ => {}
    }
    let candidates = candidates(interfaces);
    match candidates.as_slice() {
        [only] => Ok((only.ip, Reason::OnlyAddress(only.name.clone()))),
        [] => Ok((IpAddr::V4(Ipv4Addr::LOCALHOST), Reason::OnlyLoopback)),
        several => {
            let listed = several
                .iter()
                .map(|a| format!("{} {}", a.name, a.ip))
                .collect::<Vec<_>>()
                .join(", ");
            let route = if peers_local {
                "no route"
            } else {
                "no route towards the peers (no default route)"
            };
            Err(TransportError::NoPublishableAddress {
                reason: format!("{route} and several interfaces have addresses ({listed})"),
            })
        }
    }
}

/// Non-loopback, non-link-local addresses of up interfaces; only the IPv4 ones when there
/// are any.
fn candidates(interfaces: &Interfaces) -> Vec<&InterfaceAddress> {
    let usable: Vec<&InterfaceAddress> = interfaces
        .addresses
        .iter()
        .filter(|a| a.up && !a.ip.is_loopback() && !a.ip.is_unspecified() && !link_local(a.ip))
        .collect();
    if usable.iter().any(|a| a.ip.is_ipv4()) {
        usable.into_iter().filter(|a| a.ip.is_ipv4()).collect()
    } else {
        usable
    }
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(list: &[(&str, &str, bool)]) -> Interfaces {
        let addresses: Vec<InterfaceAddress> = list
            .iter()
            .map(|(name, ip, up)| InterfaceAddress {
                name: name.to_string(),
                ip: ip.parse().unwrap(),
                up: *up,
            })
            .collect();
        Interfaces {
            names: addresses.iter().map(|a| a.name.clone()).collect(),
            addresses,
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A compute node: fabric ib0, management eth0 (with IPv6 link-local addresses).
    fn node() -> Interfaces {
        host(&[
            ("lo", "127.0.0.1", true),
            ("lo", "::1", true),
            ("ib0", "10.1.0.2", true),
            ("eth0", "10.2.0.2", true),
            ("eth0", "fe80::1", true),
        ])
    }

    #[test]
    fn the_interface_named_wins() {
        let (chosen, why) =
            choose_published(Some("ib0"), &node(), Some(ip("10.2.0.2")), false).unwrap();
        assert_eq!(
            (chosen, why),
            (ip("10.1.0.2"), Reason::Interface("ib0".into()))
        );
        let (lo, _) = choose_published(Some("lo"), &node(), None, false).unwrap();
        assert_eq!(lo, ip("127.0.0.1"), "the user named loopback: their choice");
    }

    #[test]
    fn an_unknown_interface_is_a_usage_error_listing_the_interfaces() {
        let error = choose_published(Some("ib9"), &node(), None, false).unwrap_err();
        assert!(error.is_usage());
        assert_eq!(
            error.to_string(),
            "--interface ib9: no such network interface on this host (interfaces here: eth0, \
             ib0, lo)"
        );
    }

    #[test]
    fn the_route_comes_next() {
        let chosen = choose_published(None, &node(), Some(ip("10.2.0.2")), false).unwrap();
        assert_eq!(chosen, (ip("10.2.0.2"), Reason::Route));
    }

    #[test]
    fn a_loopback_route_counts_only_for_local_peers() {
        let local = choose_published(None, &node(), Some(ip("127.0.0.1")), true).unwrap();
        assert_eq!(local, (ip("127.0.0.1"), Reason::Route));
        let error = choose_published(None, &node(), Some(ip("127.0.0.1")), false).unwrap_err();
        assert!(error.is_usage());
    }

    #[test]
    fn without_a_route_a_single_address_is_taken() {
        let fabric_only = host(&[
            ("lo", "127.0.0.1", true),
            ("ib0", "10.1.0.3", true),
            ("ib0", "fe80::3", true),
            ("eth0", "10.2.0.3", false),
        ]);
        let chosen = choose_published(None, &fabric_only, None, false).unwrap();
        assert_eq!(chosen, (ip("10.1.0.3"), Reason::OnlyAddress("ib0".into())));
        let v6_only = host(&[("lo", "::1", true), ("ib0", "fd00::7", true)]);
        let chosen = choose_published(None, &v6_only, None, false).unwrap();
        assert_eq!(chosen.0, ip("fd00::7"));
    }

    #[test]
    fn without_a_route_several_addresses_are_refused_naming_the_flags() {
        let error = choose_published(None, &node(), None, false).unwrap_err();
        assert!(error.is_usage());
        assert_eq!(
            error.to_string(),
            "cannot choose the address to publish: no route towards the peers (no default \
             route) and several interfaces have addresses (ib0 10.1.0.2, eth0 10.2.0.2); name \
             the network with --interface NAME or the address with --advertise-host HOST"
        );
    }

    #[test]
    fn loopback_only_when_nothing_else_exists() {
        let alone = host(&[("lo", "127.0.0.1", true), ("eth0", "10.2.0.9", false)]);
        let chosen = choose_published(None, &alone, None, false).unwrap();
        assert_eq!(chosen, (ip("127.0.0.1"), Reason::OnlyLoopback));
    }
}
