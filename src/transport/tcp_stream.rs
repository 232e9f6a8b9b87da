//! Frames over an authenticated TCP socket: one writer thread per connection that drains a
//! queue into a buffered socket, and a buffered reader.
//!
//! Senders only queue (never block on the network); the writer batches whatever is queued
//! into a 64 KiB buffer and flushes when the queue runs empty, so many small frames cost few
//! system calls, while payloads larger than the buffer go straight to the socket. This module
//! must not authenticate (the socket arrives authenticated) nor interpret messages.

use std::io::{self, BufReader, BufWriter, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::frame_codec::{encode_frame_head, read_frame, write_encoded_frame};
use crate::protocol::{Frame, FrameError};

use super::TransportError;

/// Size of the write buffer and of the read buffer.
const SOCKET_BUFFER_BYTES: usize = 64 * 1024;

enum WriterCommand {
    /// A frame, its head already encoded by the sending thread.
    Send { head: Vec<u8>, payloads: Vec<Bytes> },
    /// Flush, shut down the write half, then drop the acknowledgement sender.
    Close(Sender<()>),
}

struct SenderShared {
    queue: Sender<WriterCommand>,
    /// Set by `close` and by the writer when the socket fails.
    closed: Arc<AtomicBool>,
}

/// Queues frames for the connection's writer thread.
#[derive(Clone)]
pub(super) struct TcpSender {
    shared: Arc<SenderShared>,
}

/// Reads frames off the connection.
pub(super) struct TcpReceiver {
    /// The buffered read half, or why there is none.
    reader: Result<BufReader<TcpStream>, String>,
    /// Set after a read error: the byte stream has lost its frame boundaries, so every later
    /// `recv` reports [`TransportError::Closed`] instead of decoding garbage.
    failed: bool,
}

/// Start the writer thread for `stream` and return both halves.
pub(super) fn split(stream: TcpStream, peer: String) -> (TcpSender, TcpReceiver) {
    let (queue, commands) = mpsc::channel();
    let closed = Arc::new(AtomicBool::new(false));
    let reader = stream
        .try_clone()
        .map(|read_half| BufReader::with_capacity(SOCKET_BUFFER_BYTES, read_half))
        .map_err(|e| {
            tracing::warn!(%peer, error = %e, "cannot duplicate the socket for reading");
            format!("cannot duplicate the socket of {peer} for reading: {e}")
        });
    let writer_closed = Arc::clone(&closed);
    let writer_peer = peer.clone();
    let spawned = thread::Builder::new()
        .name(format!("tessera-writer {peer}"))
        .spawn(move || run_writer(stream, commands, writer_closed, writer_peer));
    if let Err(e) = spawned {
        tracing::warn!(%peer, error = %e, "cannot start the writer thread; sends will fail");
        closed.store(true, Ordering::Release);
    }
    let sender = TcpSender {
        shared: Arc::new(SenderShared { queue, closed }),
    };
    (
        sender,
        TcpReceiver {
            reader,
            failed: false,
        },
    )
}

impl TcpSender {
    /// Encode the frame's head here (so encoding errors reach the caller and encoding work is
    /// spread over the sending threads) and queue it for the writer.
    pub(super) fn send(&self, frame: Frame) -> Result<(), TransportError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        let head = encode_frame_head(&frame)?;
        self.shared
            .queue
            .send(WriterCommand::Send {
                head,
                payloads: frame.payloads,
            })
            .map_err(|_| TransportError::Closed)
    }

    /// Flush what is queued, shut down the write half, and wait until the writer is done.
    pub(super) fn close(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (done, finished) = mpsc::channel();
        if self.shared.queue.send(WriterCommand::Close(done)).is_ok() {
            // Returns when the writer drops `done`: after the flush and shutdown, or on failure.
            let _ = finished.recv();
        }
    }
}

impl TcpReceiver {
    /// Fail a `recv` that waits longer than `timeout` for the next bytes (`None`: wait).
    pub(super) fn set_idle_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match &self.reader {
            Ok(reader) => reader.get_ref().set_read_timeout(timeout),
            Err(_) => Ok(()),
        }
    }

    /// A handle that shuts the socket down, ending a `recv` blocked in another thread.
    pub(super) fn aborter(&self) -> Option<TcpStream> {
        self.reader.as_ref().ok()?.get_ref().try_clone().ok()
    }

    pub(super) fn recv(&mut self) -> Result<Option<Frame>, TransportError> {
        if self.failed {
            return Err(TransportError::Closed);
        }
        let received = match &mut self.reader {
            Ok(reader) => read_frame(reader),
            Err(reason) => Err(FrameError::Io(io::Error::other(reason.clone()))),
        };
        if received.is_err() {
            self.failed = true;
        }
        Ok(received?)
    }
}

fn run_writer(
    stream: TcpStream,
    commands: Receiver<WriterCommand>,
    closed: Arc<AtomicBool>,
    peer: String,
) {
    let mut out = BufWriter::with_capacity(SOCKET_BUFFER_BYTES, &stream);
    let outcome = drain_commands(&mut out, &commands);
    let flushed = out.flush();
    drop(out);
    match (outcome, flushed) {
        (Ok(close_acknowledgement), Ok(())) => {
            let _ = stream.shutdown(Shutdown::Write);
            drop(close_acknowledgement);
        }
        (Err(e), _) | (Ok(_), Err(e)) => {
            tracing::debug!(%peer, error = %e, "writing to connection failed; closing it");
            closed.store(true, Ordering::Release);
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Write queued frames until a close command (returned, so the closer is released only after
/// the shutdown) or until every sender is gone.
fn drain_commands<W: Write>(
    out: &mut W,
    commands: &Receiver<WriterCommand>,
) -> io::Result<Option<Sender<()>>> {
    while let Ok(mut command) = commands.recv() {
        loop {
            match command {
                WriterCommand::Send { head, payloads } => {
                    write_encoded_frame(out, &head, &payloads)?
                }
                WriterCommand::Close(done) => return Ok(Some(done)),
            }
            command = match commands.try_recv() {
                Ok(next) => next,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(None),
            };
        }
        out.flush()?;
    }
    Ok(None)
}
