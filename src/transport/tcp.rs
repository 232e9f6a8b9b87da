//! TCP listening, accepting and connecting, each connection authenticated by the handshake
//! before it is handed out.
//!
//! Handshakes run under a timeout so a silent peer cannot stall `accept` or `connect`; the
//! timeouts are cleared afterwards. Every socket has `TCP_NODELAY`. This module must not
//! move frames (that is [`super::tcp_stream`]) nor interpret messages.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::protocol::auth::{client_handshake, server_handshake};
use crate::protocol::{AuthError, Secret};

use super::tcp_stream::{self, TcpReceiver, TcpSender};
use super::TransportError;

/// How long either side waits for the other's handshake bytes.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// First and largest pause between connection attempts while the listener is not up yet.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(10);
const LARGEST_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// How long a closer waits for its wake-up connection.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A bound TCP socket that accepts authenticated connections.
pub(super) struct TcpAcceptor {
    listener: TcpListener,
    local: SocketAddr,
    secret: Secret,
    closed: Arc<AtomicBool>,
}

/// Wakes a blocked [`TcpAcceptor::accept`] by setting the closed flag and connecting to it.
#[derive(Clone)]
pub(super) struct TcpAcceptorCloser {
    closed: Arc<AtomicBool>,
    wake_address: SocketAddr,
}

/// An authenticated TCP connection, not yet split.
pub(super) struct TcpConnection {
    stream: TcpStream,
    peer: SocketAddr,
}

fn tcp_label(address: SocketAddr) -> String {
    format!("tcp://{address}")
}

impl TcpAcceptor {
    /// Listen on `address`; port 0 picks a free port.
    pub(super) fn bind(address: SocketAddr, secret: Secret) -> Result<TcpAcceptor, TransportError> {
        let bind_error = |source| TransportError::Bind {
            address: tcp_label(address),
            source,
        };
        let listener =
            TcpListener::bind(address).map_err(|e| bind_error(explain_bind(e, address)))?;
        let local = listener.local_addr().map_err(bind_error)?;
        Ok(TcpAcceptor {
            listener,
            local,
            secret,
            closed: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The bound address, with the real port.
    pub(super) fn local_address(&self) -> SocketAddr {
        self.local
    }

    pub(super) fn closer(&self) -> TcpAcceptorCloser {
        TcpAcceptorCloser {
            closed: Arc::clone(&self.closed),
            wake_address: reachable_address(self.local),
        }
    }

    /// Wait for the next connection and run the server handshake on it.
    pub(super) fn accept(&self) -> Result<TcpConnection, TransportError> {
        self.accept_unauthenticated()?.authenticate()
    }

    /// Wait for the next connection; the handshake is left to [`TcpIncoming::authenticate`],
    /// so the caller can run it on another thread and a slow peer never stalls `accept`.
    pub(super) fn accept_unauthenticated(&self) -> Result<TcpIncoming, TransportError> {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return Err(TransportError::Closed);
            }
            let (stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if is_transient_accept_error(&e) => continue,
                Err(source) => {
                    return Err(TransportError::Accept {
                        address: tcp_label(self.local),
                        source,
                    })
                }
            };
            if self.closed.load(Ordering::Acquire) {
                return Err(TransportError::Closed);
            }
            return Ok(TcpIncoming {
                stream,
                peer,
                secret: self.secret.clone(),
            });
        }
    }
}

/// An accepted TCP connection whose handshake has not run yet.
pub(super) struct TcpIncoming {
    stream: TcpStream,
    peer: SocketAddr,
    secret: Secret,
}

impl TcpIncoming {
    /// The remote end.
    pub(super) fn peer(&self) -> String {
        tcp_label(self.peer)
    }

    /// Run the server handshake (under [`HANDSHAKE_TIMEOUT`]).
    pub(super) fn authenticate(mut self) -> Result<TcpConnection, TransportError> {
        let peer = self.peer;
        let refused = |source| TransportError::Refused {
            peer: tcp_label(peer),
            source,
        };
        let secret = self.secret;
        with_handshake_timeouts(&mut self.stream, |s| server_handshake(s, &secret))
            .map_err(refused)?;
        Ok(TcpConnection {
            stream: self.stream,
            peer,
        })
    }
}

impl TcpAcceptorCloser {
    /// Make the blocked and every later `accept` return [`TransportError::Closed`].
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // The wake-up connection only has to reach the kernel's accept queue; whether it
        // succeeds does not matter (the listener may be gone already).
        let _ = TcpStream::connect_timeout(&self.wake_address, WAKE_TIMEOUT);
    }
}

impl TcpConnection {
    /// Connect to `address`, retrying while nothing listens there yet, and authenticate.
    pub(super) fn connect(
        address: SocketAddr,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<TcpConnection, TransportError> {
        let mut stream = connect_with_retries(address, timeout)?;
        let handshake_failed = |source| TransportError::Handshake {
            peer: tcp_label(address),
            source,
        };
        with_handshake_timeouts(&mut stream, |s| client_handshake(s, secret))
            .map_err(handshake_failed)?;
        Ok(TcpConnection {
            stream,
            peer: address,
        })
    }

    /// `tcp://ip:port` of the remote end.
    pub(super) fn peer(&self) -> String {
        tcp_label(self.peer)
    }

    pub(super) fn split(self) -> (TcpSender, TcpReceiver) {
        let peer = self.peer();
        tcp_stream::split(self.stream, peer)
    }
}

fn connect_with_retries(
    address: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, TransportError> {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_RETRY_PAUSE;
    loop {
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let last_error = match TcpStream::connect_timeout(&address, remaining) {
            Ok(stream) => return Ok(stream),
            Err(e) if is_retryable_connect_error(&e) => e,
            Err(e) => {
                return Err(TransportError::Connect {
                    address: tcp_label(address),
                    reason: e.to_string(),
                })
            }
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(TransportError::Connect {
                address: tcp_label(address),
                reason: format!(
                    "no Tessera listener accepted within {timeout:?} (last error: {last_error})"
                ),
            });
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(LARGEST_RETRY_PAUSE);
    }
}

fn is_retryable_connect_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::TimedOut
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::Interrupted
    )
}

fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Run `handshake` with read/write timeouts on `socket`, then clear them and set `TCP_NODELAY`.
fn with_handshake_timeouts(
    stream: &mut TcpStream,
    handshake: impl FnOnce(&mut TcpStream) -> Result<(), AuthError>,
) -> Result<(), AuthError> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
    handshake(stream).map_err(explain_timeout)?;
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    Ok(())
}

/// A socket timeout surfaces as `WouldBlock`/`TimedOut`; say what actually happened.
fn explain_timeout(error: AuthError) -> AuthError {
    match error {
        AuthError::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            AuthError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer sent no handshake within {HANDSHAKE_TIMEOUT:?}"),
            ))
        }
        other => other,
    }
}

/// Replace the OS wording of common bind failures with one that names the port.
fn explain_bind(error: io::Error, address: SocketAddr) -> io::Error {
    let port = address.port();
    match error.kind() {
        io::ErrorKind::AddrInUse => io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("port {port} is already in use"),
        ),
        io::ErrorKind::AddrNotAvailable => io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("{} is not an address of this machine", address.ip()),
        ),
        io::ErrorKind::PermissionDenied => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("no permission to listen on port {port} (ports below 1024 need privileges)"),
        ),
        _ => error,
    }
}

/// An address this process can connect to for a listener bound at `local` (the loopback
/// address when bound to every interface).
fn reachable_address(local: SocketAddr) -> SocketAddr {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local.port())
}
