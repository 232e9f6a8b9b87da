//! The transport conformance suite: every behaviour the runtime relies on, checked against
//! every transport kind (TCP over loopback and in-process), so the kinds stay
//! interchangeable. TCP-only behaviours (socket errors, hostile peers) follow at the end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::core::TaskKey;
use tessera::protocol::frame_codec::MAX_PAYLOAD_COUNT;
use tessera::protocol::{AuthError, Frame, FrameError, Message, Secret};
use tessera::transport::{
    interface_address, Address, Connection, FrameReceiver, FrameSender, Listener, TransportError,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tcp,
    InProc,
}

/// A fresh address to listen on: an ephemeral loopback port or a unique in-process name.
fn listen_address(kind: Kind) -> Address {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    match kind {
        Kind::Tcp => Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        Kind::InProc => Address::InProc(format!(
            "conformance-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )),
    }
}

fn listen(kind: Kind, secret: &Secret) -> Listener {
    Listener::bind(&listen_address(kind), secret.clone()).expect("bind a fresh address")
}

/// A connected pair: (client side, server side).
fn connected_pair(kind: Kind) -> (Connection, Connection) {
    let secret = Secret::generate();
    let listener = listen(kind, &secret);
    let address = listener.local_address();
    let client = thread::spawn(move || Connection::connect(&address, &secret, CONNECT_TIMEOUT));
    let server = listener.accept().expect("accept");
    let client = client.join().expect("client thread").expect("connect");
    (client, server)
}

fn split_pair(kind: Kind) -> ((FrameSender, FrameReceiver), (FrameSender, FrameReceiver)) {
    let (client, server) = connected_pair(kind);
    (client.split(), server.split())
}

fn finished(key: String, nbytes: u64) -> Frame {
    Frame::single(Message::TaskFinished {
        key: TaskKey::new(key),
        nbytes,
        compute_micros: 0,
        thread: 0,
        input_read_micros: 0,
        transfer_micros: 0,
        transfer_bytes: 0,
    })
}

fn connect_and_accept(kind: Kind) {
    let (client, server) = connected_pair(kind);
    assert!(!client.peer().is_empty());
    assert!(!server.peer().is_empty());
    let ((client_tx, mut client_rx), (server_tx, mut server_rx)) = (client.split(), server.split());

    let request = Frame::single(Message::RegisterClient {
        name: "conformance".into(),
    });
    client_tx.send(request.clone()).expect("client send");
    assert_eq!(server_rx.recv().expect("server recv"), Some(request));

    let reply = Frame::single(Message::Welcome { id: 7 });
    server_tx.send(reply.clone()).expect("server send");
    assert_eq!(client_rx.recv().expect("client recv"), Some(reply));
}

fn ten_thousand_frames_arrive_in_order(kind: Kind) {
    let ((tx, _client_rx), (_server_tx, mut rx)) = split_pair(kind);
    let count = 10_000u64;
    let sending = thread::spawn(move || {
        for i in 0..count {
            tx.send(finished(format!("task-{i}"), i)).expect("send");
        }
        tx.close();
    });
    for i in 0..count {
        let frame = rx.recv().expect("recv").expect("a frame before the end");
        assert_eq!(
            frame,
            finished(format!("task-{i}"), i),
            "frame {i} out of order"
        );
    }
    assert_eq!(rx.recv().expect("clean end"), None);
    sending.join().expect("sending thread");
}

/// A payload whose every byte depends on its position, so shifts and gaps are caught.
fn patterned_payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn payloads_arrive_intact(kind: Kind) {
    let ((tx, _client_rx), (_server_tx, mut rx)) = split_pair(kind);
    let sizes = [0usize, 1, 64 << 20];
    let payloads: Vec<Bytes> = sizes.iter().map(|&len| patterned_payload(len)).collect();
    let expected = payloads.clone();
    let sending = thread::spawn(move || {
        for (i, payload) in payloads.into_iter().enumerate() {
            let mut frame = Frame::new();
            let index = frame.push_payload(payload);
            frame.push(Message::Data {
                key: TaskKey::new(format!("chunk-{i}")),
                payload: index,
            });
            tx.send(frame).expect("send");
        }
    });
    for (i, payload) in expected.iter().enumerate() {
        let frame = rx.recv().expect("recv").expect("a frame");
        assert_eq!(frame.messages.len(), 1);
        let Message::Data {
            key,
            payload: index,
        } = &frame.messages[0]
        else {
            panic!("expected Data, got {:?}", frame.messages[0]);
        };
        assert_eq!(key.as_str(), format!("chunk-{i}"));
        let received = frame.payload(*index).expect("payload present");
        assert_eq!(received.len(), payload.len(), "payload {i} length");
        assert!(
            received == payload,
            "payload {i} of {} bytes differs",
            payload.len()
        );
    }
    sending.join().expect("sending thread");
    // All senders are gone now, so the stream ends cleanly.
    assert_eq!(rx.recv().expect("clean end"), None);
}

fn close_flushes_then_ends_the_stream(kind: Kind) {
    let ((tx, _client_rx), (_server_tx, mut rx)) = split_pair(kind);
    let clone = tx.clone();
    for i in 0..3 {
        tx.send(finished(format!("k{i}"), i)).expect("send");
    }
    tx.close();
    assert!(matches!(
        clone.send(finished("late".into(), 0)),
        Err(TransportError::Closed)
    ));
    assert!(matches!(
        tx.send(finished("late".into(), 0)),
        Err(TransportError::Closed)
    ));
    for i in 0..3 {
        assert_eq!(rx.recv().expect("recv"), Some(finished(format!("k{i}"), i)));
    }
    assert_eq!(rx.recv().expect("clean end"), None);
    assert_eq!(rx.recv().expect("still ended"), None);
    // Closing twice is harmless.
    clone.close();
}

fn dropping_every_sender_ends_the_stream(kind: Kind) {
    let ((tx, _client_rx), (_server_tx, mut rx)) = split_pair(kind);
    let clone = tx.clone();
    tx.send(finished("only".into(), 1)).expect("send");
    drop(tx);
    clone
        .send(finished("last".into(), 2))
        .expect("a remaining clone still sends");
    drop(clone);
    assert_eq!(rx.recv().expect("recv"), Some(finished("only".into(), 1)));
    assert_eq!(rx.recv().expect("recv"), Some(finished("last".into(), 2)));
    assert_eq!(rx.recv().expect("clean end"), None);
}

fn sender_clones_work_from_many_threads(kind: Kind) {
    let ((tx, _client_rx), (_server_tx, mut rx)) = split_pair(kind);
    let threads = 4u64;
    let per_thread = 500u64;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per_thread {
                    tx.send(finished(format!("{t}"), i)).expect("send");
                }
            })
        })
        .collect();
    drop(tx);
    let mut next_from = vec![0u64; threads as usize];
    while let Some(frame) = rx.recv().expect("recv") {
        let Message::TaskFinished { key, nbytes, .. } = &frame.messages[0] else {
            panic!("unexpected {:?}", frame.messages[0]);
        };
        let thread_index: usize = key.as_str().parse().expect("thread number");
        assert_eq!(
            *nbytes, next_from[thread_index],
            "thread {thread_index} out of order"
        );
        next_from[thread_index] += 1;
    }
    for worker in workers {
        worker.join().expect("sending thread");
    }
    assert_eq!(next_from, vec![per_thread; threads as usize]);
}

fn closer_unblocks_accept(kind: Kind) {
    let listener = listen(kind, &Secret::generate());
    let closer = listener.closer();
    let accepting = thread::spawn(move || {
        let first = listener.accept();
        let again = listener.accept();
        (first, again)
    });
    closer.close();
    let (first, again) = accepting.join().expect("accepting thread");
    assert!(
        matches!(first, Err(TransportError::Closed)),
        "{:?}",
        first.err()
    );
    assert!(
        matches!(again, Err(TransportError::Closed)),
        "{:?}",
        again.err()
    );
}

fn wrong_secret_is_refused_and_listener_keeps_working(kind: Kind) {
    let secret = Secret::generate();
    let listener = listen(kind, &secret);
    let address = listener.local_address();
    let intruder_address = address.clone();
    let intruder = thread::spawn(move || {
        Connection::connect(&intruder_address, &Secret::generate(), CONNECT_TIMEOUT)
    });
    let refused = listener.accept();
    match refused {
        Err(TransportError::Refused { peer, source }) => {
            assert!(!peer.is_empty());
            assert!(matches!(source, AuthError::BadSecret), "{source}");
        }
        other => panic!(
            "the listener must refuse a wrong secret, got {:?}",
            other.err()
        ),
    }
    match intruder.join().expect("intruder thread") {
        Err(TransportError::Handshake { peer, source }) => {
            assert_eq!(peer, address.to_string());
            assert!(matches!(source, AuthError::Refused(_)), "{source}");
        }
        Err(other) => panic!("expected a handshake error, got {other}"),
        Ok(_) => panic!("a wrong secret must not connect"),
    }
    let friend = thread::spawn(move || Connection::connect(&address, &secret, CONNECT_TIMEOUT));
    listener.accept().expect("accept after a refusal");
    friend
        .join()
        .expect("friend thread")
        .expect("the right secret connects");
}

fn connecting_to_nothing_times_out_with_a_clear_error(kind: Kind) {
    let address = match kind {
        Kind::Tcp => {
            // A port that was just free: bind, note it, close.
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("local address").port();
            drop(listener);
            Address::Tcp(SocketAddr::from(([127, 0, 0, 1], port)))
        }
        Kind::InProc => listen_address(kind),
    };
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let result = Connection::connect(&address, &Secret::generate(), timeout);
    let waited = started.elapsed();
    match result {
        Err(error @ TransportError::Connect { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&address.to_string()), "{message}");
            assert!(message.contains("300ms"), "{message}");
        }
        Err(other) => panic!("expected a connect error, got {other}"),
        Ok(_) => panic!("nothing listens at {address}"),
    }
    assert!(
        waited >= timeout,
        "gave up after {waited:?}, before the timeout"
    );
}

fn binding_a_taken_address_fails(kind: Kind) {
    let secret = Secret::generate();
    let first = listen(kind, &secret);
    let taken = first.local_address();
    let error = match Listener::bind(&taken, secret.clone()) {
        Err(error) => error,
        Ok(_) => panic!("{taken} is already taken"),
    };
    let message = error.to_string();
    assert!(matches!(error, TransportError::Bind { .. }), "{message}");
    assert!(message.contains("already in use"), "{message}");
    if let Address::Tcp(socket) = &taken {
        assert!(
            message.contains(&format!("port {} is already in use", socket.port())),
            "{message}"
        );
    }
    drop(first);
    if let Address::InProc(_) = &taken {
        Listener::bind(&taken, secret).expect("the name is free again once the listener is gone");
    }
}

macro_rules! conformance_suite {
    ($($test:ident),* $(,)?) => {
        mod tcp {
            $(#[test] fn $test() { super::$test(super::Kind::Tcp) })*
        }
        mod inproc {
            $(#[test] fn $test() { super::$test(super::Kind::InProc) })*
        }
    };
}

conformance_suite!(
    connect_and_accept,
    ten_thousand_frames_arrive_in_order,
    payloads_arrive_intact,
    close_flushes_then_ends_the_stream,
    dropping_every_sender_ends_the_stream,
    sender_clones_work_from_many_threads,
    closer_unblocks_accept,
    wrong_secret_is_refused_and_listener_keeps_working,
    connecting_to_nothing_times_out_with_a_clear_error,
    binding_a_taken_address_fails,
);

// The handles can move between threads (checked at compile time).
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    const fn movable<T: Send>() {}
    shareable::<Listener>();
    shareable::<tessera::transport::ListenerCloser>();
    shareable::<FrameSender>();
    movable::<Connection>();
    movable::<FrameReceiver>();
};

// ---- TCP only

#[test]
fn tcp_listener_reports_its_real_port() {
    let listener = listen(Kind::Tcp, &Secret::generate());
    match listener.local_address() {
        Address::Tcp(socket) => {
            assert_ne!(socket.port(), 0);
            assert!(socket.ip().is_loopback());
        }
        other => panic!("expected a TCP address, got {other}"),
    }
}

#[test]
fn tcp_garbage_client_is_refused_and_accept_continues() {
    let secret = Secret::generate();
    let listener = listen(Kind::Tcp, &secret);
    let Address::Tcp(socket) = listener.local_address() else {
        panic!("expected a TCP address");
    };
    let garbage = thread::spawn(move || {
        let mut stream = TcpStream::connect(socket).expect("raw connect");
        let mut hello = [0u8; 44];
        stream.read_exact(&mut hello).expect("server hello");
        assert_eq!(&hello[..8], b"TESSERA\0");
        // One write, so it is all sent before the listener reads and hangs up.
        let mut garbage = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
        garbage.resize(128, 0);
        stream.write_all(&garbage).expect("write garbage");
        stream
    });
    match listener.accept() {
        Err(TransportError::Refused { source, .. }) => {
            assert!(matches!(source, AuthError::NotTessera), "{source}");
        }
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    drop(garbage.join().expect("garbage thread"));
    let address = listener.local_address();
    let friend = thread::spawn(move || Connection::connect(&address, &secret, CONNECT_TIMEOUT));
    listener.accept().expect("accept after garbage");
    friend.join().expect("friend thread").expect("connect");
}

#[test]
fn tcp_connect_to_a_non_tessera_server_is_a_handshake_error() {
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let socket = server.local_addr().expect("local address");
    let serving = thread::spawn(move || {
        let (mut stream, _) = server.accept().expect("accept");
        stream
            .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")
            .expect("write banner");
    });
    match Connection::connect(&Address::Tcp(socket), &Secret::generate(), CONNECT_TIMEOUT) {
        Err(TransportError::Handshake { source, .. }) => {
            assert!(matches!(source, AuthError::NotTessera), "{source}");
        }
        Err(other) => panic!("expected a handshake error, got {other}"),
        Ok(_) => panic!("an SSH server is not a Tessera listener"),
    }
    serving.join().expect("serving thread");
}

#[test]
fn tcp_connect_waits_for_a_listener_that_starts_late() {
    // Reserve a port, release it, and start the real listener on it after the client began.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let address = Address::Tcp(SocketAddr::from(([127, 0, 0, 1], port)));
    let secret = Secret::generate();
    let (client_address, client_secret) = (address.clone(), secret.clone());
    let client = thread::spawn(move || {
        Connection::connect(&client_address, &client_secret, CONNECT_TIMEOUT)
    });
    thread::sleep(Duration::from_millis(100));
    let listener = Listener::bind(&address, secret).expect("bind the late listener");
    listener.accept().expect("accept");
    client
        .join()
        .expect("client thread")
        .expect("the client retried until the listener came");
}

#[test]
fn tcp_refuses_to_send_a_frame_over_the_limits() {
    let ((tx, _client_rx), (_server_tx, mut rx)) = split_pair(Kind::Tcp);
    let mut too_many = Frame::new();
    too_many.payloads = vec![Bytes::new(); MAX_PAYLOAD_COUNT as usize + 1];
    match tx.send(too_many) {
        Err(TransportError::Frame(FrameError::TooLarge(reason))) => {
            assert!(reason.contains(&MAX_PAYLOAD_COUNT.to_string()), "{reason}");
        }
        other => panic!("expected a too-large error, got {other:?}"),
    }
    // The connection is still usable.
    tx.send(finished("after".into(), 1))
        .expect("send after a refused frame");
    assert_eq!(rx.recv().expect("recv"), Some(finished("after".into(), 1)));
}

#[test]
fn unknown_interface_lists_the_available_ones() {
    let error = interface_address("no-such-interface0").expect_err("no such interface");
    let message = error.to_string();
    assert!(
        matches!(error, TransportError::UnknownInterface { .. }),
        "{message}"
    );
    assert!(message.contains("no-such-interface0"), "{message}");
    if cfg!(target_os = "linux") {
        assert!(message.contains("lo"), "{message}");
        assert!(interface_address("lo")
            .expect("loopback interface")
            .is_loopback());
    }
}
