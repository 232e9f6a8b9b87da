//! The in-process transport: `inproc://name` listeners in a process-wide registry, and
//! connections made of two channels carrying [`Frame`] values directly (no encoding).
//!
//! Only this process can reach an in-process listener, so there is no handshake on the wire;
//! the connecting side still presents its secret and a wrong one is refused exactly as over
//! TCP, so both transports behave alike. This module must not encode frames nor interpret
//! messages.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::protocol::{AuthError, Frame, Secret};

use super::TransportError;

/// First and largest pause between lookups while the listener is not registered yet.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(1);
const LARGEST_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What reaches a listener's accept queue.
enum Incoming {
    Connection(InProcConnection),
    /// A connector presented the wrong secret.
    Refused {
        peer: String,
    },
    /// Sent by a closer so a blocked accept looks at the closed flag.
    Wake,
}

/// One registered listener, as connectors see it.
#[derive(Clone)]
struct RegistryEntry {
    /// Tells apart successive listeners of the same name.
    id: u64,
    incoming: Sender<Incoming>,
    secret: Secret,
}

fn registry() -> MutexGuard<'static, HashMap<String, RegistryEntry>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, RegistryEntry>>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn next_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn inproc_label(name: &str) -> String {
    format!("inproc://{name}")
}

/// A registered `inproc://name` listener; unregistered when dropped.
pub(super) struct InProcListener {
    name: String,
    id: u64,
    incoming: Mutex<Receiver<Incoming>>,
    wake: Sender<Incoming>,
    closed: Arc<AtomicBool>,
}

/// Wakes a blocked [`InProcListener::accept`].
#[derive(Clone)]
pub(super) struct InProcListenerCloser {
    wake: Sender<Incoming>,
    closed: Arc<AtomicBool>,
}

/// One end of an in-process connection, not yet split.
pub(super) struct InProcConnection {
    outgoing: Sender<Frame>,
    incoming: Receiver<Frame>,
    peer: String,
}

/// Sends frames to the peer; clones share one channel end, so `close` closes it for all.
#[derive(Clone)]
pub(super) struct InProcSender {
    outgoing: Arc<RwLock<Option<Sender<Frame>>>>,
}

/// Receives frames from the peer.
pub(super) struct InProcReceiver {
    incoming: Receiver<Frame>,
}

impl InProcListener {
    /// Register `name`; fails if a live listener already holds it.
    pub(super) fn bind(name: &str, secret: Secret) -> Result<InProcListener, TransportError> {
        let mut listeners = registry();
        if listeners.contains_key(name) {
            return Err(TransportError::Bind {
                address: inproc_label(name),
                source: std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("the in-process name {name:?} is already in use"),
                ),
            });
        }
        let (sender, receiver) = mpsc::channel();
        let id = next_id();
        listeners.insert(
            name.to_string(),
            RegistryEntry {
                id,
                incoming: sender.clone(),
                secret,
            },
        );
        Ok(InProcListener {
            name: name.to_string(),
            id,
            incoming: Mutex::new(receiver),
            wake: sender,
            closed: Arc::new(AtomicBool::new(false)),
        })
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn closer(&self) -> InProcListenerCloser {
        InProcListenerCloser {
            wake: self.wake.clone(),
            closed: Arc::clone(&self.closed),
        }
    }

    /// Wait for the next connection.
    pub(super) fn accept(&self) -> Result<InProcConnection, TransportError> {
        let incoming = self.incoming.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.closed.load(Ordering::Acquire) {
                return Err(TransportError::Closed);
            }
            // The listener holds a sender itself, so this only ends by a message.
            match incoming.recv().map_err(|_| TransportError::Closed)? {
                Incoming::Connection(connection) => {
                    if self.closed.load(Ordering::Acquire) {
                        return Err(TransportError::Closed);
                    }
                    return Ok(connection);
                }
                Incoming::Refused { peer } => {
                    return Err(TransportError::Refused {
                        peer,
                        source: AuthError::BadSecret,
                    })
                }
                Incoming::Wake => {}
            }
        }
    }
}

impl Drop for InProcListener {
    fn drop(&mut self) {
        let mut listeners = registry();
        if listeners
            .get(&self.name)
            .is_some_and(|entry| entry.id == self.id)
        {
            listeners.remove(&self.name);
        }
    }
}

impl InProcListenerCloser {
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Fails only when the listener is gone, and then nobody is waiting.
        let _ = self.wake.send(Incoming::Wake);
    }
}

impl InProcConnection {
    /// Connect to the listener registered as `name`, waiting up to `timeout` for it to appear.
    pub(super) fn connect(
        name: &str,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<InProcConnection, TransportError> {
        let deadline = Instant::now() + timeout;
        let mut pause = FIRST_RETRY_PAUSE;
        loop {
            let entry = registry().get(name).cloned();
            if let Some(entry) = entry {
                let client_label = format!("{}#{}", inproc_label(name), next_id());
                if entry.secret != *secret {
                    // The listener logs the refusal like a TCP listener would.
                    let _ = entry
                        .incoming
                        .send(Incoming::Refused { peer: client_label });
                    return Err(TransportError::Handshake {
                        peer: inproc_label(name),
                        source: AuthError::Refused("authentication failed".to_string()),
                    });
                }
                let (to_server, server_inbox) = mpsc::channel();
                let (to_client, client_inbox) = mpsc::channel();
                let server_end = InProcConnection {
                    outgoing: to_client,
                    incoming: server_inbox,
                    peer: client_label,
                };
                if entry
                    .incoming
                    .send(Incoming::Connection(server_end))
                    .is_ok()
                {
                    return Ok(InProcConnection {
                        outgoing: to_server,
                        incoming: client_inbox,
                        peer: inproc_label(name),
                    });
                }
                // The listener went away between lookup and send: like a refused TCP connect.
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(TransportError::Connect {
                    address: inproc_label(name),
                    reason: format!(
                        "no in-process listener named {name:?} appeared within {timeout:?}"
                    ),
                });
            }
            thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(LARGEST_RETRY_PAUSE);
        }
    }

    pub(super) fn peer(&self) -> String {
        self.peer.clone()
    }

    pub(super) fn split(self) -> (InProcSender, InProcReceiver) {
        (
            InProcSender {
                outgoing: Arc::new(RwLock::new(Some(self.outgoing))),
            },
            InProcReceiver {
                incoming: self.incoming,
            },
        )
    }
}

impl InProcSender {
    pub(super) fn send(&self, frame: Frame) -> Result<(), TransportError> {
        let outgoing = self.outgoing.read().unwrap_or_else(PoisonError::into_inner);
        match outgoing.as_ref() {
            Some(channel) => channel.send(frame).map_err(|_| TransportError::Closed),
            None => Err(TransportError::Closed),
        }
    }

    /// Drop the channel end: the peer receives what was sent, then a clean end.
    pub(super) fn close(&self) {
        self.outgoing
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

impl InProcReceiver {
    pub(super) fn recv(&mut self) -> Result<Option<Frame>, TransportError> {
        Ok(self.incoming.recv().ok())
    }
}
