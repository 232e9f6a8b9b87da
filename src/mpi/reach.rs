//! Can every rank reach the scheduler's address? At start-up each rank sends the scheduler
//! rank its host name and loopback scope (`deploy::host::loopback_scope`); when the address
//! the scheduler would announce is loopback and some ranks live elsewhere, the run fails at
//! once naming those hosts, instead of the remote ranks timing out a minute later.
//!
//! This module must not run collectives: `world` gathers, this decides (a pure function).

use std::collections::BTreeMap;

/// Where one rank runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RankHost {
    pub host: String,
    pub loopback_scope: String,
}

impl RankHost {
    /// This process.
    pub fn here() -> RankHost {
        RankHost {
            host: crate::deploy::hostname(),
            loopback_scope: crate::deploy::host::loopback_scope(),
        }
    }

    /// A fixed-size record for the gather (`host\nscope`, NUL-padded, cut to `N` bytes).
    pub fn to_record<const N: usize>(&self) -> [u8; N] {
        let mut record = [0u8; N];
        let text = format!("{}\n{}", self.host, self.loopback_scope);
        let len = text.len().min(N);
        record[..len].copy_from_slice(&text.as_bytes()[..len]);
        record
    }

    pub fn from_record(record: &[u8]) -> RankHost {
        let len = record.iter().position(|b| *b == 0).unwrap_or(record.len());
        let text = String::from_utf8_lossy(&record[..len]);
        let (host, scope) = text.split_once('\n').unwrap_or((&text, ""));
        RankHost {
            host: host.to_string(),
            loopback_scope: scope.to_string(),
        }
    }
}

/// Why `address` (announced by rank `root`) cannot serve every rank, or `None` when it can:
/// it is not loopback, or every rank shares the root's loopback.
pub(super) fn unreachable_from(address: &str, root: usize, ranks: &[RankHost]) -> Option<String> {
    if !is_loopback(address) {
        return None;
    }
    let here = ranks.get(root)?;
    let mut elsewhere: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (rank, host) in ranks.iter().enumerate() {
        if host.loopback_scope != here.loopback_scope {
            let name = if host.host == here.host {
                format!("{} (another network namespace)", host.host)
            } else {
                host.host.clone()
            };
            elsewhere.entry(name).or_default().push(rank);
        }
    }
    if elsewhere.is_empty() {
        return None;
    }
    let listed = elsewhere
        .iter()
        .map(|(host, ranks)| format!("{host}: {}", rank_list(ranks)))
        .collect::<Vec<_>>()
        .join("; ");
    Some(format!(
        "the scheduler on host {} would announce the loopback address {address}, which ranks on \
         other hosts cannot reach ({listed}); start with --interface NAME (for example the \
         fabric's ib0) or --advertise-host HOST",
        here.host
    ))
}

/// `ranks 1, 2, 5` or `rank 3`.
fn rank_list(ranks: &[usize]) -> String {
    let numbers = ranks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if ranks.len() == 1 {
        format!("rank {numbers}")
    } else {
        format!("ranks {numbers}")
    }
}

/// A `tcp://` address whose host is a loopback IP or `localhost`.
fn is_loopback(address: &str) -> bool {
    let Some(rest) = address.strip_prefix("tcp://") else {
        return false;
    };
    let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(host: &str, scope: &str) -> RankHost {
        RankHost {
            host: host.into(),
            loopback_scope: scope.into(),
        }
    }

    #[test]
    fn records_round_trip_and_are_cut_to_size() {
        let host = at("node1", "b00t/net:[4026531840]");
        assert_eq!(RankHost::from_record(&host.to_record::<256>()), host);
        let cut = RankHost::from_record(&at("n", "0123456789").to_record::<6>());
        assert_eq!(cut, at("n", "0123"));
    }

    #[test]
    fn loopback_with_remote_ranks_names_the_hosts() {
        let ranks = [
            at("login", "a"),
            at("node1", "b"),
            at("node1", "b"),
            at("node2", "c"),
            at("login", "a"),
        ];
        assert_eq!(
            unreachable_from("tcp://127.0.0.1:4000", 0, &ranks).unwrap(),
            "the scheduler on host login would announce the loopback address \
             tcp://127.0.0.1:4000, which ranks on other hosts cannot reach (node1: ranks 1, 2; \
             node2: rank 3); start with --interface NAME (for example the fabric's ib0) or \
             --advertise-host HOST"
        );
        assert!(unreachable_from("tcp://10.1.0.1:4000", 0, &ranks).is_none());
        assert!(unreachable_from("tcp://[::1]:4000", 0, &ranks).is_some());
        assert!(unreachable_from("tcp://localhost:4000", 0, &ranks).is_some());
    }

    #[test]
    fn loopback_is_fine_when_every_rank_shares_it() {
        let ranks = [at("vm", "a"), at("vm", "a"), at("vm", "a")];
        assert!(unreachable_from("tcp://127.0.0.1:4000", 1, &ranks).is_none());
    }

    #[test]
    fn the_same_host_name_in_another_namespace_is_said_so() {
        let ranks = [at("vm", "a"), at("vm", "b")];
        let text = unreachable_from("tcp://127.0.0.1:1", 0, &ranks).unwrap();
        assert!(
            text.contains("(vm (another network namespace): rank 1)"),
            "{text}"
        );
    }
}
