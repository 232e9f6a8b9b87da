//! What can go wrong when listening, connecting, authenticating and moving frames.
//!
//! Every message names the address, peer or interface at fault. This module must not decide
//! what a caller does about an error (retrying, logging) — that is the caller's business.

use crate::protocol::{AuthError, FrameError};

/// A transport failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("invalid address {address:?}: {reason}")]
    BadAddress { address: String, reason: String },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot accept connections on {address}: {source}")]
    Accept {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("connection from {peer} refused: {source}")]
    Refused { peer: String, source: AuthError },
    #[error("handshake with {peer} failed: {source}")]
    Handshake { peer: String, source: AuthError },
    #[error(
        "--interface {name}: no such network interface on this host (interfaces here: {available})"
    )]
    UnknownInterface { name: String, available: String },
    #[error("cannot list this host's network interfaces: {0}")]
    ListInterfaces(std::io::Error),
    /// No address can be published without the user's help (usage error, exit 2).
    #[error(
        "cannot choose the address to publish: {reason}; name the network with --interface NAME \
         or the address with --advertise-host HOST"
    )]
    NoPublishableAddress { reason: String },
    /// A host name given on the command line does not resolve (usage error, exit 2).
    #[error("{flag} {host}: cannot resolve this host name to an address")]
    UnresolvableHost { flag: &'static str, host: String },
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl TransportError {
    /// The user's flags are at fault (an unknown interface, a name that does not resolve, no
    /// address that peers could reach): the command line must change, not the network.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            TransportError::UnknownInterface { .. }
                | TransportError::NoPublishableAddress { .. }
                | TransportError::UnresolvableHost { .. }
        )
    }
}
