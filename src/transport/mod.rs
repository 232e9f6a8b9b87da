//! Transports: how frames move between processes. One closed enum of kinds (TCP, in-process;
//! MPI next), one API: [`Listener`], [`Connection`], [`FrameSender`], [`FrameReceiver`].
//!
//! (Contract; implemented by the transport work.) A connection is authenticated (see
//! [`crate::protocol::auth`]) before it is returned. This module must not interpret messages.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::protocol::{AuthError, Frame, FrameError, Secret};

/// Where a listener can be reached: `tcp://host:port` or `inproc://name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    Tcp(SocketAddr),
    InProc(String),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "tcp://{a}"),
            Address::InProc(n) => write!(f, "inproc://{n}"),
        }
    }
}

impl FromStr for Address {
    type Err = TransportError;
    fn from_str(_s: &str) -> Result<Self, Self::Err> {
        todo!()
    }
}

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

/// Accepts authenticated connections.
pub struct Listener {
    _private: (),
}

/// Makes a blocked [`Listener::accept`] return [`TransportError::Closed`].
#[derive(Clone)]
pub struct ListenerCloser {
    _private: (),
}

impl ListenerCloser {
    pub fn close(&self) {
        todo!()
    }
}

impl Listener {
    /// Listen on `address` (TCP port 0 picks a free port).
    pub fn bind(_address: &Address, _secret: Secret) -> Result<Listener, TransportError> {
        todo!()
    }
    /// The address peers connect to (with the real port).
    pub fn local_address(&self) -> Address {
        todo!()
    }
    /// Wait for the next connection and authenticate it.
    pub fn accept(&self) -> Result<Connection, TransportError> {
        todo!()
    }
    pub fn closer(&self) -> ListenerCloser {
        todo!()
    }
}

/// An authenticated, bidirectional frame stream.
pub struct Connection {
    _private: (),
}

impl Connection {
    /// Connect and authenticate, retrying refused connections until `timeout`.
    pub fn connect(
        _address: &Address,
        _secret: &Secret,
        _timeout: Duration,
    ) -> Result<Connection, TransportError> {
        todo!()
    }
    /// The remote end, for logs and errors.
    pub fn peer(&self) -> String {
        todo!()
    }
    /// Split into a cloneable sending half and a receiving half.
    pub fn split(self) -> (FrameSender, FrameReceiver) {
        todo!()
    }
}

/// Queues frames for sending; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct FrameSender {
    _private: (),
}

impl FrameSender {
    /// Queue a frame; never blocks on the network.
    pub fn send(&self, _frame: Frame) -> Result<(), TransportError> {
        todo!()
    }
    /// Flush what is queued, then close the connection.
    pub fn close(&self) {
        todo!()
    }
}

/// Receives frames in order.
pub struct FrameReceiver {
    _private: (),
}

impl FrameReceiver {
    /// Next frame; `Ok(None)` when the peer closed the connection cleanly.
    pub fn recv(&mut self) -> Result<Option<Frame>, TransportError> {
        todo!()
    }
}

/// The IP address of network interface `name` (`ib0`, `eth0`, ...), IPv4 preferred.
pub fn interface_address(_name: &str) -> Result<std::net::IpAddr, TransportError> {
    todo!()
}
