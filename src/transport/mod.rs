//! Transports: how frames move between processes. One closed enum of kinds (TCP, in-process,
//! MPI), one API: [`Listener`], [`Connection`], [`FrameSender`], [`FrameReceiver`].
//!
//! A connection is authenticated (see [`crate::protocol::auth`]) before it is returned. Each
//! public type wraps a private enum with one variant per kind, so a kind touches only this file
//! and its own module; no generic parameter leaks out. The MPI kind exists with the `mpi`
//! feature (on by default); without it, `mpi://` addresses are refused with a clear error.
//! A data address may list several routes ([`routes`]). This module must not interpret
//! messages.
//!
//! ```
//! use std::time::Duration;
//! use tessera::protocol::{Frame, Message, Secret};
//! use tessera::transport::{Address, Connection, Listener};
//!
//! let secret = Secret::generate();
//! let listener = Listener::bind(&"tcp://127.0.0.1:0".parse().unwrap(), secret.clone()).unwrap();
//! let address = listener.local_address();
//! let client = std::thread::spawn(move || {
//!     let (sender, _receiver) = Connection::connect(&address, &secret, Duration::from_secs(5))
//!         .unwrap()
//!         .split();
//!     sender.send(Frame::single(Message::InfoRequest)).unwrap();
//!     sender.close();
//! });
//! let (_sender, mut receiver) = listener.accept().unwrap().split();
//! assert_eq!(receiver.recv().unwrap(), Some(Frame::single(Message::InfoRequest)));
//! assert_eq!(receiver.recv().unwrap(), None);
//! client.join().unwrap();
//! ```

mod address;
mod endpoint;
mod error;
mod inproc;
mod interface;
#[cfg(feature = "mpi")]
pub(crate) mod mpi;
pub mod publish;
pub mod routes;
mod tcp;
mod tcp_stream;

use std::time::Duration;

use crate::protocol::{Frame, Secret};

pub use address::Address;
pub use endpoint::{
    check_resolves, publishable_host_name, published_ip, resolve_endpoint, Endpoint,
};
pub use error::TransportError;
pub use interface::{interface_address, InterfaceAddress, Interfaces};
pub use routes::{join_routes, parse_routes, preferred_route};
pub use tcp::HANDSHAKE_TIMEOUT;

/// Accepts authenticated connections.
pub struct Listener {
    kind: ListenerKind,
}

enum ListenerKind {
    Tcp(tcp::TcpAcceptor),
    InProc(inproc::InProcListener),
    #[cfg(feature = "mpi")]
    Mpi(mpi::MpiListener),
}

/// Makes a blocked [`Listener::accept`] return [`TransportError::Closed`].
#[derive(Clone)]
pub struct ListenerCloser {
    kind: ListenerCloserKind,
}

#[derive(Clone)]
enum ListenerCloserKind {
    Tcp(tcp::TcpAcceptorCloser),
    InProc(inproc::InProcListenerCloser),
    #[cfg(feature = "mpi")]
    Mpi(mpi::MpiListenerCloser),
}

impl ListenerCloser {
    /// Make the blocked `accept` (if any) and every later one return
    /// [`TransportError::Closed`]. Safe to call more than once and from any thread.
    pub fn close(&self) {
        match &self.kind {
            ListenerCloserKind::Tcp(closer) => closer.close(),
            ListenerCloserKind::InProc(closer) => closer.close(),
            #[cfg(feature = "mpi")]
            ListenerCloserKind::Mpi(closer) => closer.close(),
        }
    }
}

impl Listener {
    /// Listen on `address` (TCP port 0 picks a free port). Connections must prove they know
    /// `secret`.
    pub fn bind(address: &Address, secret: Secret) -> Result<Listener, TransportError> {
        let kind = match address {
            Address::Tcp(socket) => ListenerKind::Tcp(tcp::TcpAcceptor::bind(*socket, secret)?),
            Address::InProc(name) => {
                ListenerKind::InProc(inproc::InProcListener::bind(name, secret)?)
            }
            #[cfg(feature = "mpi")]
            Address::Mpi { world, rank } => {
                ListenerKind::Mpi(mpi::MpiListener::bind(address, *world, *rank, secret)?)
            }
            #[cfg(not(feature = "mpi"))]
            Address::Mpi { .. } => return Err(without_mpi(address)),
        };
        Ok(Listener { kind })
    }

    /// The address peers connect to (with the real port). A TCP listener bound to every
    /// interface reports the unspecified address; choosing the host to advertise is the
    /// caller's business.
    pub fn local_address(&self) -> Address {
        match &self.kind {
            ListenerKind::Tcp(acceptor) => Address::Tcp(acceptor.local_address()),
            ListenerKind::InProc(listener) => Address::InProc(listener.name().to_string()),
            #[cfg(feature = "mpi")]
            ListenerKind::Mpi(listener) => listener.local_address(),
        }
    }

    /// Wait for the next connection and authenticate it.
    ///
    /// A peer that fails the handshake gives [`TransportError::Refused`]; the listener stays
    /// usable, so log it and call `accept` again. After [`ListenerCloser::close`] this returns
    /// [`TransportError::Closed`].
    pub fn accept(&self) -> Result<Connection, TransportError> {
        let kind = match &self.kind {
            ListenerKind::Tcp(acceptor) => ConnectionKind::Tcp(acceptor.accept()?),
            ListenerKind::InProc(listener) => ConnectionKind::InProc(listener.accept()?),
            #[cfg(feature = "mpi")]
            ListenerKind::Mpi(listener) => ConnectionKind::Mpi(listener.accept()?),
        };
        Ok(Connection { kind })
    }

    /// Wait for the next connection without authenticating it yet: call
    /// [`Incoming::authenticate`] (typically on the connection's own thread) so one slow or
    /// silent peer never holds up the others. In-process connections are checked here.
    pub fn accept_incoming(&self) -> Result<Incoming, TransportError> {
        let kind = match &self.kind {
            ListenerKind::Tcp(acceptor) => IncomingKind::Tcp(acceptor.accept_unauthenticated()?),
            ListenerKind::InProc(listener) => IncomingKind::Ready(Connection {
                kind: ConnectionKind::InProc(listener.accept()?),
            }),
            // The progress thread checked the connector's proof before handing it over.
            #[cfg(feature = "mpi")]
            ListenerKind::Mpi(listener) => IncomingKind::Ready(Connection {
                kind: ConnectionKind::Mpi(listener.accept()?),
            }),
        };
        Ok(Incoming { kind })
    }

    /// A handle that unblocks `accept` from another thread.
    pub fn closer(&self) -> ListenerCloser {
        let kind = match &self.kind {
            ListenerKind::Tcp(acceptor) => ListenerCloserKind::Tcp(acceptor.closer()),
            ListenerKind::InProc(listener) => ListenerCloserKind::InProc(listener.closer()),
            #[cfg(feature = "mpi")]
            ListenerKind::Mpi(listener) => ListenerCloserKind::Mpi(listener.closer()),
        };
        ListenerCloser { kind }
    }
}

/// An accepted connection that still has to prove it knows the secret.
pub struct Incoming {
    kind: IncomingKind,
}

enum IncomingKind {
    Tcp(tcp::TcpIncoming),
    Ready(Connection),
}

impl Incoming {
    /// The remote end, for logs.
    pub fn peer(&self) -> String {
        match &self.kind {
            IncomingKind::Tcp(incoming) => incoming.peer(),
            IncomingKind::Ready(connection) => connection.peer(),
        }
    }

    /// Run the handshake; a peer that fails it gives [`TransportError::Refused`].
    pub fn authenticate(self) -> Result<Connection, TransportError> {
        match self.kind {
            IncomingKind::Tcp(incoming) => Ok(Connection {
                kind: ConnectionKind::Tcp(incoming.authenticate()?),
            }),
            IncomingKind::Ready(connection) => Ok(connection),
        }
    }
}

/// An authenticated, bidirectional frame stream.
pub struct Connection {
    kind: ConnectionKind,
}

enum ConnectionKind {
    Tcp(tcp::TcpConnection),
    InProc(inproc::InProcConnection),
    #[cfg(feature = "mpi")]
    Mpi(mpi::MpiConnection),
}

impl Connection {
    /// Connect and authenticate, retrying refused connections until `timeout` (the listener
    /// may still be starting).
    pub fn connect(
        address: &Address,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<Connection, TransportError> {
        let kind = match address {
            Address::Tcp(socket) => {
                ConnectionKind::Tcp(tcp::TcpConnection::connect(*socket, secret, timeout)?)
            }
            Address::InProc(name) => {
                ConnectionKind::InProc(inproc::InProcConnection::connect(name, secret, timeout)?)
            }
            #[cfg(feature = "mpi")]
            Address::Mpi { world, rank } => ConnectionKind::Mpi(mpi::MpiConnection::connect(
                address, *world, *rank, secret, timeout,
            )?),
            #[cfg(not(feature = "mpi"))]
            Address::Mpi { .. } => return Err(without_mpi(address)),
        };
        Ok(Connection { kind })
    }

    /// The remote end, for logs and errors.
    pub fn peer(&self) -> String {
        match &self.kind {
            ConnectionKind::Tcp(connection) => connection.peer(),
            ConnectionKind::InProc(connection) => connection.peer(),
            #[cfg(feature = "mpi")]
            ConnectionKind::Mpi(connection) => connection.peer(),
        }
    }

    /// Split into a cloneable sending half and a receiving half.
    pub fn split(self) -> (FrameSender, FrameReceiver) {
        match self.kind {
            ConnectionKind::Tcp(connection) => {
                let (sender, receiver) = connection.split();
                (
                    FrameSender {
                        kind: SenderKind::Tcp(sender),
                    },
                    FrameReceiver {
                        kind: ReceiverKind::Tcp(receiver),
                    },
                )
            }
            ConnectionKind::InProc(connection) => {
                let (sender, receiver) = connection.split();
                (
                    FrameSender {
                        kind: SenderKind::InProc(sender),
                    },
                    FrameReceiver {
                        kind: ReceiverKind::InProc(receiver),
                    },
                )
            }
            #[cfg(feature = "mpi")]
            ConnectionKind::Mpi(connection) => {
                let (sender, receiver) = connection.split();
                (
                    FrameSender {
                        kind: SenderKind::Mpi(sender),
                    },
                    FrameReceiver {
                        kind: ReceiverKind::Mpi(receiver),
                    },
                )
            }
        }
    }
}

/// Queues frames for sending; cheap to clone, usable from any thread.
///
/// When every clone is dropped the connection's sending side closes, and the peer's
/// [`FrameReceiver::recv`] returns `Ok(None)` after the frames already sent.
#[derive(Clone)]
pub struct FrameSender {
    kind: SenderKind,
}

#[derive(Clone)]
enum SenderKind {
    Tcp(tcp_stream::TcpSender),
    InProc(inproc::InProcSender),
    #[cfg(feature = "mpi")]
    Mpi(mpi::MpiSender),
}

impl FrameSender {
    /// Queue a frame; never blocks on the network. After [`FrameSender::close`] or a failed
    /// write this returns [`TransportError::Closed`]. Over TCP a frame beyond the codec limits
    /// ([`crate::protocol::frame_codec::MAX_CONTROL_LEN`] bytes of messages,
    /// [`crate::protocol::frame_codec::MAX_PAYLOAD_COUNT`] payloads) is refused with
    /// [`crate::protocol::FrameError::TooLarge`]; in-process frames are not encoded and have
    /// no such limit.
    pub fn send(&self, frame: Frame) -> Result<(), TransportError> {
        match &self.kind {
            SenderKind::Tcp(sender) => sender.send(frame),
            SenderKind::InProc(sender) => sender.send(frame),
            #[cfg(feature = "mpi")]
            SenderKind::Mpi(sender) => sender.send(frame),
        }
    }

    /// Flush what is queued, then close the sending side for every clone. Returns once the
    /// queued frames are handed to the operating system (TCP) or the peer's queue (in-process).
    pub fn close(&self) {
        match &self.kind {
            SenderKind::Tcp(sender) => sender.close(),
            SenderKind::InProc(sender) => sender.close(),
            #[cfg(feature = "mpi")]
            SenderKind::Mpi(sender) => sender.close(),
        }
    }
}

/// Receives frames in order.
pub struct FrameReceiver {
    kind: ReceiverKind,
}

enum ReceiverKind {
    Tcp(tcp_stream::TcpReceiver),
    InProc(inproc::InProcReceiver),
    #[cfg(feature = "mpi")]
    Mpi(mpi::MpiReceiver),
}

impl FrameReceiver {
    /// Next frame; `Ok(None)` when the peer closed the connection cleanly. After an error the
    /// stream cannot be trusted any more and every later call returns
    /// [`TransportError::Closed`].
    pub fn recv(&mut self) -> Result<Option<Frame>, TransportError> {
        match &mut self.kind {
            ReceiverKind::Tcp(receiver) => receiver.recv(),
            ReceiverKind::InProc(receiver) => receiver.recv(),
            #[cfg(feature = "mpi")]
            ReceiverKind::Mpi(receiver) => receiver.recv(),
        }
    }
}

impl FrameReceiver {
    /// Make a TCP `recv` fail with [`TransportError::Frame`] (a timed-out read) when no byte
    /// arrives for `timeout`; `None` waits forever. The stream is unusable after such a
    /// failure. In-process and MPI receivers ignore it (their peer cannot hang apart from
    /// this process, or MPI has its own failure handling).
    pub fn set_idle_timeout(&self, timeout: Option<Duration>) -> Result<(), TransportError> {
        match &self.kind {
            ReceiverKind::Tcp(receiver) => receiver
                .set_idle_timeout(timeout)
                .map_err(|e| TransportError::Frame(crate::protocol::FrameError::Io(e))),
            _ => Ok(()),
        }
    }

    /// A handle that ends a `recv` blocked in another thread (TCP: shuts the socket down);
    /// `None` for in-process and MPI receivers.
    pub fn aborter(&self) -> Option<ReceiveAborter> {
        match &self.kind {
            ReceiverKind::Tcp(receiver) => {
                receiver.aborter().map(|stream| ReceiveAborter { stream })
            }
            _ => None,
        }
    }
}

/// Ends a blocked [`FrameReceiver::recv`] from another thread.
pub struct ReceiveAborter {
    stream: std::net::TcpStream,
}

impl ReceiveAborter {
    /// Shut the connection down both ways; the blocked `recv` returns an error.
    pub fn abort(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// The MPI world this process belongs to while its MPI transport runs (`None` otherwise, and
/// always without the `mpi` feature). Data addresses of that world are reached over MPI.
pub fn local_mpi_world() -> Option<u64> {
    #[cfg(feature = "mpi")]
    {
        mpi::local_world()
    }
    #[cfg(not(feature = "mpi"))]
    {
        None
    }
}

#[cfg(not(feature = "mpi"))]
fn without_mpi(address: &Address) -> TransportError {
    TransportError::BadAddress {
        address: address.to_string(),
        reason: "this tessera was built without the `mpi` feature".into(),
    }
}

/// Payload bytes (chunk data) this process has received over the MPI transport so far; 0
/// without the `mpi` feature. Lets tests and benchmarks check which transport carried data.
pub fn mpi_payload_bytes_received() -> u64 {
    #[cfg(feature = "mpi")]
    {
        mpi::endpoint::PAYLOAD_BYTES_RECEIVED.load(std::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(feature = "mpi"))]
    {
        0
    }
}
