//! Transport micro-benchmarks: round-trip latency of a tiny frame and throughput of a 64 MiB
//! payload, over TCP loopback and in-process. Quick run:
//! `cargo bench --bench transport -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tessera::core::TaskKey;
use tessera::protocol::{Frame, Message, Secret};
use tessera::transport::{Address, Connection, FrameReceiver, FrameSender, Listener};

/// Connect to a fresh listener at `address` whose accepted side answers every frame with a
/// tiny acknowledgement.
fn echo_peer(address: &str) -> (FrameSender, FrameReceiver) {
    let secret = Secret::generate();
    let address: Address = address.parse().expect("benchmark address");
    let listener = Listener::bind(&address, secret.clone()).expect("bind");
    let address = listener.local_address();
    thread::spawn(move || {
        let (tx, mut rx) = listener.accept().expect("accept").split();
        while let Ok(Some(frame)) = rx.recv() {
            let nbytes = frame.payloads.iter().map(|p| p.len() as u64).sum();
            let ack = Frame::single(Message::PutDataAck {
                key: TaskKey::new("ack"),
                nbytes,
            });
            if tx.send(ack).is_err() {
                break;
            }
        }
    });
    Connection::connect(&address, &secret, Duration::from_secs(10))
        .expect("connect")
        .split()
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip_tiny_frame");
    for (name, address) in [
        ("tcp", "tcp://127.0.0.1:0"),
        ("inproc", "inproc://bench-rt"),
    ] {
        let (tx, mut rx) = echo_peer(address);
        let ping = Frame::single(Message::Heartbeat(Default::default()));
        group.bench_function(name, |b| {
            b.iter(|| {
                tx.send(ping.clone()).expect("send");
                black_box(rx.recv().expect("recv").expect("ack"));
            })
        });
    }
    group.finish();
}

fn large_payload(c: &mut Criterion) {
    const LEN: usize = 64 << 20;
    let payload = Bytes::from((0..LEN).map(|i| i as u8).collect::<Vec<u8>>());
    let mut group = c.benchmark_group("payload_64mib");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(10);
    for (name, address) in [
        ("tcp", "tcp://127.0.0.1:0"),
        ("inproc", "inproc://bench-big"),
    ] {
        let (tx, mut rx) = echo_peer(address);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut frame = Frame::new();
                let index = frame.push_payload(payload.clone());
                frame.push(Message::PutData {
                    key: TaskKey::new("big"),
                    payload: index,
                });
                tx.send(frame).expect("send");
                black_box(rx.recv().expect("recv").expect("ack"));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, round_trip, large_payload);
criterion_main!(benches);
