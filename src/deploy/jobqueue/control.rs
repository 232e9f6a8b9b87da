//! The manager's control channel: an authenticated listener (same secret as the scheduler,
//! advertised as the `jobqueue` service of the scheduler file) that takes
//! [`ClusterRequest`]s and answers [`ClusterReply`]s, and the client side used by
//! `tessera jobqueue status|scale|adapt|down` and by `JobQueueCluster`.
//!
//! A connection that sends [`ClusterRequest::Attach`] owns the cluster: its closing (the owner
//! exited or was killed, the kernel closes its socket) is reported to the manager. This module
//! moves requests and replies; it must not decide anything about jobs.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use crate::deploy::schedfile::{SchedulerFile, SchedulerFileError};
use crate::protocol::{ClusterReply, ClusterRequest, Frame, Message, Secret};
use crate::transport::{
    Address, Connection, FrameReceiver, FrameSender, Listener, ListenerCloser, TransportError,
};

/// The scheduler-file service name of the manager's control address.
pub const CONTROL_SERVICE: &str = "jobqueue";

/// Talking to a manager failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The scheduler file could not be read.
    #[error(transparent)]
    SchedulerFile(#[from] SchedulerFileError),
    /// The scheduler file names no manager.
    #[error(
        "scheduler file {0}: no job-queue manager is registered in it (was the cluster started \
         with `tessera jobqueue <system> up`?)"
    )]
    NoManager(String),
    /// The connection failed.
    #[error("job-queue manager at {address}: {source}")]
    Transport {
        /// Where.
        address: String,
        /// Why.
        source: TransportError,
    },
    /// The manager closed the connection without answering.
    #[error("job-queue manager at {0} closed the connection without answering")]
    Closed(String),
    /// A thread could not be started.
    #[error("cannot start the control thread: {0}")]
    Thread(std::io::Error),
    /// The manager refused the request.
    #[error("job-queue manager: {0}")]
    Refused(String),
}

/// One request waiting for the manager's answer.
pub struct PendingRequest {
    /// What was asked.
    pub request: ClusterRequest,
    /// Where the answer goes.
    pub reply: Sender<ClusterReply>,
}

/// What the control listener tells the manager.
pub enum ControlEvent {
    /// A request to answer.
    Request(PendingRequest),
    /// An owning connection closed.
    OwnerLeft,
}

/// The manager's side: a listener whose requests arrive on [`ControlServer::events`].
pub struct ControlServer {
    address: Address,
    closer: ListenerCloser,
    /// Requests and owner departures, in arrival order.
    pub events: Receiver<ControlEvent>,
}

impl ControlServer {
    /// Listen on `listen` (port 0 picks one) with the cluster secret.
    pub fn bind(listen: &Address, secret: Secret) -> Result<ControlServer, ControlError> {
        let listener =
            Listener::bind(listen, secret).map_err(|source| ControlError::Transport {
                address: listen.to_string(),
                source,
            })?;
        let address = listener.local_address();
        let closer = listener.closer();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("tessera-jobqueue-control".into())
            .spawn(move || accept_loop(listener, tx))
            .map_err(ControlError::Thread)?;
        Ok(ControlServer {
            address,
            closer,
            events: rx,
        })
    }

    /// The bound address.
    pub fn address(&self) -> &Address {
        &self.address
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.closer.close();
    }
}

fn accept_loop(listener: Listener, events: Sender<ControlEvent>) {
    loop {
        let conn = match listener.accept() {
            Ok(c) => c,
            Err(TransportError::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "control connection refused");
                continue;
            }
        };
        let events = events.clone();
        let _ = std::thread::Builder::new()
            .name("tessera-jobqueue-conn".into())
            .spawn(move || serve(conn, events));
    }
}

fn serve(conn: Connection, events: Sender<ControlEvent>) {
    let (sender, mut receiver) = conn.split();
    let mut owner = false;
    while let Ok(Some(frame)) = receiver.recv() {
        for message in frame.messages {
            let Message::ClusterControl(request) = message else {
                continue;
            };
            owner |= request == ClusterRequest::Attach;
            let (tx, rx) = mpsc::channel();
            if events
                .send(ControlEvent::Request(PendingRequest { request, reply: tx }))
                .is_err()
            {
                return;
            }
            let reply = rx
                .recv()
                .unwrap_or_else(|_| ClusterReply::Error("the manager is stopping".into()));
            if sender
                .send(Frame::single(Message::ClusterControlReply(reply)))
                .is_err()
            {
                break;
            }
        }
    }
    sender.close();
    if owner {
        let _ = events.send(ControlEvent::OwnerLeft);
    }
}

/// The client side of the control channel.
pub struct ControlClient {
    address: String,
    sender: FrameSender,
    receiver: FrameReceiver,
}

impl ControlClient {
    /// Connect to the manager at `address`.
    pub fn connect(
        address: &Address,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<ControlClient, ControlError> {
        let conn = Connection::connect(address, secret, timeout).map_err(|source| {
            ControlError::Transport {
                address: address.to_string(),
                source,
            }
        })?;
        let (sender, receiver) = conn.split();
        Ok(ControlClient {
            address: address.to_string(),
            sender,
            receiver,
        })
    }

    /// Connect to the manager named in a scheduler file (waiting up to `timeout` for it).
    pub fn from_scheduler_file(
        path: &Path,
        timeout: Duration,
    ) -> Result<ControlClient, ControlError> {
        let file = SchedulerFile::wait(path, timeout)?;
        let Some(text) = file.services.get(CONTROL_SERVICE) else {
            return Err(ControlError::NoManager(path.display().to_string()));
        };
        let address: Address = text.parse().map_err(|_| {
            ControlError::NoManager(format!("{} (bad address {text:?})", path.display()))
        })?;
        let secret = file.secret()?;
        match ControlClient::connect(&address, &secret, timeout) {
            Ok(c) => Ok(c),
            Err(e) => {
                file.check_alive()?;
                Err(e)
            }
        }
    }

    /// Send a request and wait for the answer; a refusal becomes [`ControlError::Refused`].
    pub fn request(&mut self, request: ClusterRequest) -> Result<ClusterReply, ControlError> {
        let transport = |source| ControlError::Transport {
            address: self.address.clone(),
            source,
        };
        self.sender
            .send(Frame::single(Message::ClusterControl(request)))
            .map_err(transport)?;
        loop {
            let frame = self
                .receiver
                .recv()
                .map_err(|source| ControlError::Transport {
                    address: self.address.clone(),
                    source,
                })?;
            let Some(frame) = frame else {
                return Err(ControlError::Closed(self.address.clone()));
            };
            for message in frame.messages {
                match message {
                    Message::ClusterControlReply(ClusterReply::Error(e)) => {
                        return Err(ControlError::Refused(e))
                    }
                    Message::ClusterControlReply(reply) => return Ok(reply),
                    _ => {}
                }
            }
        }
    }

    /// Close the connection (an owner gives up ownership this way too).
    pub fn close(&self) {
        self.sender.close();
    }
}
