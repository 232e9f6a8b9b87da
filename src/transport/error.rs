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
    #[error("unknown network interface {name:?}; available: {available}")]
    UnknownInterface { name: String, available: String },
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Frame(#[from] FrameError),
}
