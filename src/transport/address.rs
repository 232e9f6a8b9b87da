//! Transport addresses as people and scheduler files write them: `tcp://host:port`, a bare
//! `host:port` (TCP), `tcp://[::1]:9`, `inproc://name`, and `mpi://<world>/<rank>` (a rank of
//! one MPI world; `<world>` is the 16-hex-digit id the world's ranks agreed on at start).
//!
//! Parsing resolves host names (first result of the system resolver). This module must not
//! open connections.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use super::TransportError;

/// Where a listener can be reached: `tcp://host:port`, `inproc://name` or
/// `mpi://<world>/<rank>`.
///
/// ```
/// use tessera::transport::Address;
/// let tcp: Address = "tcp://127.0.0.1:8786".parse().unwrap();
/// assert_eq!(tcp.to_string(), "tcp://127.0.0.1:8786");
/// let bare: Address = "127.0.0.1:8786".parse().unwrap();
/// assert_eq!(bare, tcp);
/// let local: Address = "inproc://scheduler".parse().unwrap();
/// assert_eq!(local, Address::InProc("scheduler".into()));
/// let rank: Address = "mpi://00000000000000ff/3".parse().unwrap();
/// assert_eq!(rank, Address::Mpi { world: 255, rank: 3 });
/// assert!("udp://1.2.3.4:5".parse::<Address>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    Tcp(SocketAddr),
    InProc(String),
    /// Rank `rank` of the MPI world whose id is `world` (reachable only from that world's
    /// ranks, over MPI point-to-point messages).
    Mpi {
        world: u64,
        rank: u32,
    },
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "tcp://{a}"),
            Address::InProc(n) => write!(f, "inproc://{n}"),
            Address::Mpi { world, rank } => write!(f, "mpi://{world:016x}/{rank}"),
        }
    }
}

const TCP_SCHEME: &str = "tcp://";
const INPROC_SCHEME: &str = "inproc://";
const MPI_SCHEME: &str = "mpi://";

impl FromStr for Address {
    type Err = TransportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| TransportError::BadAddress {
            address: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        if let Some(name) = trimmed.strip_prefix(INPROC_SCHEME) {
            if name.is_empty() {
                return Err(bad(
                    "an inproc address needs a name, as in inproc://scheduler",
                ));
            }
            return Ok(Address::InProc(name.to_string()));
        }
        if let Some(rest) = trimmed.strip_prefix(MPI_SCHEME) {
            return parse_mpi(rest).map_err(|reason| bad(&reason));
        }
        let host_port = match trimmed.strip_prefix(TCP_SCHEME) {
            Some(rest) => rest,
            None => {
                if let Some((scheme, _)) = trimmed.split_once("://") {
                    return Err(bad(&format!(
                        "unknown scheme {scheme:?}; expected tcp://, inproc:// or mpi://"
                    )));
                }
                trimmed
            }
        };
        parse_socket_address(host_port)
            .map(Address::Tcp)
            .map_err(|reason| bad(&reason))
    }
}

/// `<world hex>/<rank>` of an `mpi://` address.
fn parse_mpi(rest: &str) -> Result<Address, String> {
    let (world, rank) = rest.split_once('/').ok_or_else(|| {
        "expected mpi://<world id>/<rank>, as in mpi://5f0c3a9e12ab44d0/3".to_string()
    })?;
    let world = u64::from_str_radix(world, 16)
        .map_err(|_| format!("world id {world:?} is not a hexadecimal number"))?;
    let rank = rank
        .parse::<u32>()
        .map_err(|_| format!("rank {rank:?} is not a whole number"))?;
    Ok(Address::Mpi { world, rank })
}

/// `host:port` or `[v6]:port` to a socket address, resolving host names.
fn parse_socket_address(host_port: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = host_port.parse::<SocketAddr>() {
        return Ok(address);
    }
    let (host, port) = host_port
        .rsplit_once(':')
        .ok_or_else(|| "expected host:port, as in tcp://node01:8786".to_string())?;
    if host.is_empty() {
        return Err("the host is missing before the port".to_string());
    }
    port.parse::<u16>()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    let mut resolved = host_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host {host:?}: {e}"))?;
    resolved
        .next()
        .ok_or_else(|| format!("host {host:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::*;

    fn tcp(ip: IpAddr, port: u16) -> Address {
        Address::Tcp(SocketAddr::new(ip, port))
    }

    #[test]
    fn accepts_every_written_form() {
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(
            "tcp://10.0.0.7:8786".parse::<Address>().ok(),
            Some(tcp(v4, 8786))
        );
        assert_eq!("10.0.0.7:8786".parse::<Address>().ok(), Some(tcp(v4, 8786)));
        assert_eq!(
            "tcp://[::1]:9".parse::<Address>().ok(),
            Some(tcp(IpAddr::V6(Ipv6Addr::LOCALHOST), 9))
        );
        assert_eq!(
            " inproc://sched-1 ".parse::<Address>().ok(),
            Some(Address::InProc("sched-1".into()))
        );
    }

    #[test]
    fn resolves_host_names() {
        let address: Address = "tcp://localhost:4000".parse().expect("localhost resolves");
        match address {
            Address::Tcp(socket) => {
                assert!(socket.ip().is_loopback(), "{socket}");
                assert_eq!(socket.port(), 4000);
            }
            other => panic!("expected TCP, got {other}"),
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "tcp://10.1.2.3:5",
            "tcp://[::1]:9",
            "inproc://a-b",
            "mpi://5f0c3a9e12ab44d0/17",
        ] {
            let address: Address = text.parse().expect(text);
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn errors_name_the_bad_string() {
        for text in [
            "udp://1.2.3.4:5",
            "tcp://1.2.3.4",
            "tcp://1.2.3.4:99999",
            "tcp://:80",
            "inproc://",
            "tcp://no-such-host.invalid:80",
            "mpi://3",
            "mpi://zz/3",
            "mpi://00ff/-1",
        ] {
            let error = text.parse::<Address>().expect_err(text);
            let message = error.to_string();
            assert!(message.contains(text), "{message}");
        }
    }
}
