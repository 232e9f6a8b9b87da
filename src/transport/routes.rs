//! Data addresses with several routes. A worker reachable over TCP and over MPI publishes
//! `tcp://10.0.0.5:40123,mpi://5f0c3a9e12ab44d0/3`: the scheduler and clients treat the whole
//! string as the worker's identity, and only a process about to connect picks a route — the
//! MPI one when it is a rank of the same MPI world with the MPI transport running, otherwise the
//! first other route (TCP works from anywhere: another job, a login node).
//!
//! This module must not open connections.

use super::{Address, TransportError};

/// Separates the routes of one data address.
pub const ROUTE_SEPARATOR: char = ',';

/// One data address listing every route, in the order given.
///
/// ```
/// use tessera::transport::{join_routes, parse_routes, Address};
/// let routes = vec![
///     "tcp://10.0.0.5:4000".parse::<Address>().unwrap(),
///     Address::Mpi { world: 0xab, rank: 3 },
/// ];
/// let text = join_routes(&routes);
/// assert_eq!(text, "tcp://10.0.0.5:4000,mpi://00000000000000ab/3");
/// assert_eq!(parse_routes(&text).unwrap(), routes);
/// ```
pub fn join_routes(routes: &[Address]) -> String {
    routes
        .iter()
        .map(Address::to_string)
        .collect::<Vec<_>>()
        .join(&ROUTE_SEPARATOR.to_string())
}

/// Every route of a data address (one or more, comma-separated).
pub fn parse_routes(text: &str) -> Result<Vec<Address>, TransportError> {
    text.split(ROUTE_SEPARATOR)
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Address>, _>>()
        .and_then(|routes| {
            if routes.is_empty() {
                Err(TransportError::BadAddress {
                    address: text.to_string(),
                    reason: "the address is empty".into(),
                })
            } else {
                Ok(routes)
            }
        })
}

/// The route this process should use to reach the data address `text`.
pub fn preferred_route(text: &str) -> Result<Address, TransportError> {
    let routes = parse_routes(text)?;
    choose_route(&routes, super::local_mpi_world())
        .cloned()
        .ok_or_else(|| TransportError::Connect {
            address: text.to_string(),
            reason: "its only routes are MPI ranks of another MPI world; this process cannot \
                     reach them (publish a TCP route too)"
                .into(),
        })
}

/// The MPI route of `local_world` if there is one, else the first route that is not MPI.
fn choose_route(routes: &[Address], local_world: Option<u64>) -> Option<&Address> {
    let same_world = routes
        .iter()
        .find(|r| matches!(r, Address::Mpi { world, .. } if Some(*world) == local_world));
    same_world.or_else(|| routes.iter().find(|r| !matches!(r, Address::Mpi { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Vec<Address> {
        parse_routes(text).expect(text)
    }

    #[test]
    fn a_single_address_is_one_route() {
        assert_eq!(
            routes("tcp://127.0.0.1:5"),
            vec!["tcp://127.0.0.1:5".parse::<Address>().unwrap()]
        );
    }

    #[test]
    fn same_world_prefers_mpi_other_worlds_take_tcp() {
        let both = routes("tcp://127.0.0.1:5,mpi://00000000000000aa/2");
        assert_eq!(
            choose_route(&both, Some(0xaa)),
            Some(&Address::Mpi {
                world: 0xaa,
                rank: 2
            })
        );
        assert_eq!(choose_route(&both, Some(0xbb)), Some(&both[0]));
        assert_eq!(choose_route(&both, None), Some(&both[0]));
        let mpi_only = routes("mpi://00000000000000aa/2");
        assert_eq!(choose_route(&mpi_only, None), None);
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        for text in ["", " , "] {
            let error = parse_routes(text).expect_err(text);
            assert!(error.to_string().contains("empty"), "{error}");
        }
        let error = parse_routes("tcp://127.0.0.1:5,bogus://x").expect_err("bogus scheme");
        assert!(error.to_string().contains("bogus://x"), "{error}");
    }
}
