//! The connection handshake: protocol version check and mutual challenge-response proof of
//! a shared secret (HMAC-SHA256 over fresh nonces). The secret never crosses the wire.
//!
//! (Contract; implemented by the protocol work.)

use std::fmt;
use std::io::{Read, Write};

/// The cluster secret every connection must prove it knows. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("handshake I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer is not a Tessera endpoint (bad handshake magic)")]
    NotTessera,
    #[error("protocol version mismatch: we speak {ours}, peer speaks {theirs}")]
    VersionMismatch { ours: u32, theirs: u32 },
    #[error("authentication failed: the peer does not know the cluster secret")]
    BadSecret,
    #[error("refused by peer: {0}")]
    Refused(String),
}

impl Secret {
    /// A fresh random secret from the operating system.
    pub fn generate() -> Self {
        todo!()
    }
    /// Parse from 64 hex digits.
    pub fn from_hex(_hex: &str) -> Option<Self> {
        todo!()
    }
    /// 64 hex digits.
    pub fn to_hex(&self) -> String {
        todo!()
    }
}

/// Run the accepting side of the handshake.
pub fn server_handshake<S: Read + Write>(
    _stream: &mut S,
    _secret: &Secret,
) -> Result<(), AuthError> {
    todo!()
}

/// Run the connecting side of the handshake.
pub fn client_handshake<S: Read + Write>(
    _stream: &mut S,
    _secret: &Secret,
) -> Result<(), AuthError> {
    todo!()
}
