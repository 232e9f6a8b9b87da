//! The connection handshake: protocol version check and mutual challenge-response proof of
//! a shared secret (HMAC-SHA256 over fresh nonces). The secret never crosses the wire.
//!
//! The exchange, on a fresh byte stream:
//!
//! 1. server → client: `b"TESSERA\0"`, `u32 LE` version, 32-byte nonce `ns`.
//! 2. client → server: `b"TESSERA\0"`, `u32 LE` version, 32-byte nonce `nc`,
//!    `HMAC(secret, "tessera-client" ‖ ns ‖ nc)`. The client sends this even when the versions
//!    differ, so the server can log the mismatch.
//! 3. server → client: status `0` and `HMAC(secret, "tessera-server" ‖ nc ‖ ns)` (the client
//!    checks it, so a server that does not know the secret is detected), or status `1`,
//!    `u16 LE` length and a UTF-8 reason.
//!
//! This module must not own sockets, set timeouts or interpret frames: it only runs the
//! exchange over a stream the caller provides.

use std::fmt;
use std::io::{self, Read, Write};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::PROTOCOL_VERSION;

/// The first bytes each side sends.
pub const HANDSHAKE_MAGIC: [u8; 8] = *b"TESSERA\0";

const NONCE_LEN: usize = 32;
const MAC_LEN: usize = 32;
const CLIENT_PROOF_LABEL: &[u8] = b"tessera-client";
const SERVER_PROOF_LABEL: &[u8] = b"tessera-server";
const STATUS_ACCEPTED: u8 = 0;
const STATUS_REFUSED: u8 = 1;

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
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes at all, in which case no
    /// secure cluster can be started.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        if let Err(e) = getrandom::fill(&mut bytes) {
            panic!("the operating system random source failed ({e}); cannot create a secret");
        }
        Secret(bytes)
    }

    /// A secret with the given bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Secret(bytes)
    }

    /// Parse from 64 hex digits (either case, surrounding whitespace ignored).
    ///
    /// ```
    /// use tessera::protocol::Secret;
    /// let secret = Secret::generate();
    /// assert_eq!(Secret::from_hex(&secret.to_hex()), Some(secret));
    /// assert_eq!(Secret::from_hex("not hex"), None);
    /// ```
    pub fn from_hex(hex: &str) -> Option<Self> {
        let digits = hex.trim().as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(Secret(bytes))
    }

    /// A secret derived from this one for another use (HMAC-SHA256 of `label`): knowing
    /// it reveals nothing about this secret. The dashboard's access token is one.
    pub fn derive(&self, label: &str) -> Secret {
        let mac = self.keyed_mac(label.as_bytes(), &[], &[]);
        Secret(mac.finalize().into_bytes().into())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(DIGITS[usize::from(byte >> 4)] as char);
            hex.push(DIGITS[usize::from(byte & 0xf)] as char);
        }
        hex
    }

    fn keyed_mac(&self, label: &[u8], first: &[u8], second: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(label);
        mac.update(first);
        mac.update(second);
        mac
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn fresh_nonce() -> Result<[u8; NONCE_LEN], AuthError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| io::Error::other(format!("operating system random source failed: {e}")))?;
    Ok(nonce)
}

fn read_array<const N: usize, S: Read>(stream: &mut S) -> Result<[u8; N], AuthError> {
    let mut array = [0u8; N];
    stream.read_exact(&mut array)?;
    Ok(array)
}

/// Run the accepting side of the handshake.
pub fn server_handshake<S: Read + Write>(stream: &mut S, secret: &Secret) -> Result<(), AuthError> {
    server_handshake_as(stream, secret, PROTOCOL_VERSION)
}

/// Run the connecting side of the handshake.
pub fn client_handshake<S: Read + Write>(stream: &mut S, secret: &Secret) -> Result<(), AuthError> {
    client_handshake_as(stream, secret, PROTOCOL_VERSION)
}

fn server_handshake_as<S: Read + Write>(
    stream: &mut S,
    secret: &Secret,
    version: u32,
) -> Result<(), AuthError> {
    let server_nonce = fresh_nonce()?;
    let mut hello = Vec::with_capacity(HANDSHAKE_MAGIC.len() + 4 + NONCE_LEN);
    hello.extend_from_slice(&HANDSHAKE_MAGIC);
    hello.extend_from_slice(&version.to_le_bytes());
    hello.extend_from_slice(&server_nonce);
    stream.write_all(&hello)?;
    stream.flush()?;

    if read_array::<8, _>(stream)? != HANDSHAKE_MAGIC {
        return Err(AuthError::NotTessera);
    }
    let client_version = u32::from_le_bytes(read_array(stream)?);
    let client_nonce: [u8; NONCE_LEN] = read_array(stream)?;
    let client_proof: [u8; MAC_LEN] = read_array(stream)?;

    if client_version != version {
        refuse(
            stream,
            &format!(
                "protocol version mismatch: server speaks {version}, client speaks {client_version}"
            ),
        )?;
        return Err(AuthError::VersionMismatch {
            ours: version,
            theirs: client_version,
        });
    }
    let client_proof_ok = secret
        .keyed_mac(CLIENT_PROOF_LABEL, &server_nonce, &client_nonce)
        .verify_slice(&client_proof)
        .is_ok();
    if !client_proof_ok {
        refuse(stream, "authentication failed")?;
        return Err(AuthError::BadSecret);
    }

    let server_proof = secret
        .keyed_mac(SERVER_PROOF_LABEL, &client_nonce, &server_nonce)
        .finalize()
        .into_bytes();
    let mut reply = Vec::with_capacity(1 + MAC_LEN);
    reply.push(STATUS_ACCEPTED);
    reply.extend_from_slice(&server_proof);
    stream.write_all(&reply)?;
    stream.flush()?;
    Ok(())
}

/// Tell the client why it is refused.
fn refuse<S: Write>(stream: &mut S, reason: &str) -> Result<(), AuthError> {
    let reason = &reason.as_bytes()[..reason.len().min(usize::from(u16::MAX))];
    let mut reply = Vec::with_capacity(3 + reason.len());
    reply.push(STATUS_REFUSED);
    reply.extend_from_slice(&(reason.len() as u16).to_le_bytes());
    reply.extend_from_slice(reason);
    stream.write_all(&reply)?;
    stream.flush()?;
    Ok(())
}

fn client_handshake_as<S: Read + Write>(
    stream: &mut S,
    secret: &Secret,
    version: u32,
) -> Result<(), AuthError> {
    if read_array::<8, _>(stream)? != HANDSHAKE_MAGIC {
        return Err(AuthError::NotTessera);
    }
    let server_version = u32::from_le_bytes(read_array(stream)?);
    let server_nonce: [u8; NONCE_LEN] = read_array(stream)?;

    let client_nonce = fresh_nonce()?;
    let client_proof = secret
        .keyed_mac(CLIENT_PROOF_LABEL, &server_nonce, &client_nonce)
        .finalize()
        .into_bytes();
    let mut hello = Vec::with_capacity(HANDSHAKE_MAGIC.len() + 4 + NONCE_LEN + MAC_LEN);
    hello.extend_from_slice(&HANDSHAKE_MAGIC);
    hello.extend_from_slice(&version.to_le_bytes());
    hello.extend_from_slice(&client_nonce);
    hello.extend_from_slice(&client_proof);
    stream.write_all(&hello)?;
    stream.flush()?;

    if server_version != version {
        // The server answers with its refusal; the mismatch is the error that matters here.
        return Err(AuthError::VersionMismatch {
            ours: version,
            theirs: server_version,
        });
    }

    let [status] = read_array::<1, _>(stream)?;
    match status {
        STATUS_ACCEPTED => {
            let server_proof: [u8; MAC_LEN] = read_array(stream)?;
            secret
                .keyed_mac(SERVER_PROOF_LABEL, &client_nonce, &server_nonce)
                .verify_slice(&server_proof)
                .map_err(|_| AuthError::BadSecret)
        }
        STATUS_REFUSED => {
            let len = u16::from_le_bytes(read_array(stream)?);
            let mut reason = vec![0u8; usize::from(len)];
            stream.read_exact(&mut reason)?;
            Err(AuthError::Refused(
                String::from_utf8_lossy(&reason).into_owned(),
            ))
        }
        _ => Err(AuthError::NotTessera),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;
    use std::thread;

    use super::*;

    /// Run `server` and `client` on the two ends of a connected stream pair.
    fn run_pair<A, B>(server: A, client: B) -> (Result<(), AuthError>, Result<(), AuthError>)
    where
        A: FnOnce(&mut UnixStream) -> Result<(), AuthError> + Send + 'static,
        B: FnOnce(&mut UnixStream) -> Result<(), AuthError>,
    {
        let (mut server_end, mut client_end) = UnixStream::pair().expect("socket pair");
        let server_thread = thread::spawn(move || {
            let result = server(&mut server_end);
            drop(server_end);
            result
        });
        let client_result = client(&mut client_end);
        drop(client_end);
        let server_result = server_thread.join().expect("server thread");
        (server_result, client_result)
    }

    #[test]
    fn hex_round_trip_and_rejects_bad_text() {
        let secret = Secret::generate();
        let hex = secret.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(Secret::from_hex(&hex), Some(secret.clone()));
        assert_eq!(Secret::from_hex(&hex.to_uppercase()), Some(secret));
        assert_eq!(Secret::from_hex(&hex[..63]), None);
        assert_eq!(Secret::from_hex(&format!("{}g", &hex[..63])), None);
        assert_ne!(Secret::generate(), Secret::generate());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = Secret::from_bytes([0xab; 32]);
        let shown = format!("{secret:?}");
        assert!(!shown.contains("ab"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn matching_secrets_authenticate_both_ways() {
        let secret = Secret::generate();
        let server_secret = secret.clone();
        let (server, client) = run_pair(
            move |s| server_handshake(s, &server_secret),
            |s| client_handshake(s, &secret),
        );
        server.expect("server side");
        client.expect("client side");
    }

    #[test]
    fn wrong_secret_is_refused_on_both_sides() {
        let (server, client) = run_pair(
            |s| server_handshake(s, &Secret::generate()),
            |s| client_handshake(s, &Secret::generate()),
        );
        assert!(matches!(server, Err(AuthError::BadSecret)), "{server:?}");
        match client {
            Err(AuthError::Refused(reason)) => assert_eq!(reason, "authentication failed"),
            other => panic!("client should be refused, got {other:?}"),
        }
    }

    #[test]
    fn a_server_without_the_secret_is_detected() {
        // A fake server that accepts anything and answers with a made-up proof.
        let fake_server = |s: &mut UnixStream| -> Result<(), AuthError> {
            let mut hello = HANDSHAKE_MAGIC.to_vec();
            hello.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
            hello.extend_from_slice(&[7u8; NONCE_LEN]);
            s.write_all(&hello)?;
            let _client_hello: [u8; 8 + 4 + NONCE_LEN + MAC_LEN] = read_array(s)?;
            let mut reply = vec![STATUS_ACCEPTED];
            reply.extend_from_slice(&[9u8; MAC_LEN]);
            s.write_all(&reply)?;
            Ok(())
        };
        let (server, client) = run_pair(fake_server, |s| client_handshake(s, &Secret::generate()));
        server.expect("fake server ran");
        assert!(matches!(client, Err(AuthError::BadSecret)), "{client:?}");
    }

    #[test]
    fn version_mismatch_is_reported_on_both_sides() {
        let secret = Secret::generate();
        let server_secret = secret.clone();
        let newer = PROTOCOL_VERSION + 1;
        let (server, client) = run_pair(
            move |s| server_handshake(s, &server_secret),
            move |s| {
                let result = client_handshake_as(s, &secret, newer);
                // The server's refusal names both versions.
                let [status] = read_array::<1, _>(s)?;
                assert_eq!(status, STATUS_REFUSED);
                let len = u16::from_le_bytes(read_array(s)?);
                let mut reason = vec![0u8; usize::from(len)];
                s.read_exact(&mut reason)?;
                let reason = String::from_utf8_lossy(&reason).into_owned();
                assert_eq!(
                    reason,
                    format!(
                        "protocol version mismatch: server speaks {PROTOCOL_VERSION}, \
                         client speaks {newer}"
                    )
                );
                result
            },
        );
        match server {
            Err(AuthError::VersionMismatch { ours, theirs }) => {
                assert_eq!((ours, theirs), (PROTOCOL_VERSION, newer));
            }
            other => panic!("server should see the mismatch, got {other:?}"),
        }
        match client {
            Err(AuthError::VersionMismatch { ours, theirs }) => {
                assert_eq!((ours, theirs), (newer, PROTOCOL_VERSION));
            }
            other => panic!("client should see the mismatch, got {other:?}"),
        }
    }

    #[test]
    fn a_garbage_peer_is_not_tessera() {
        let garbage_server = |s: &mut UnixStream| -> Result<(), AuthError> {
            s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")?;
            Ok(())
        };
        let (_, client) = run_pair(garbage_server, |s| client_handshake(s, &Secret::generate()));
        assert!(matches!(client, Err(AuthError::NotTessera)), "{client:?}");

        let secret = Secret::generate();
        let (server, _) = run_pair(
            move |s| server_handshake(s, &secret),
            |s| -> Result<(), AuthError> {
                let _server_hello: [u8; 8 + 4 + NONCE_LEN] = read_array(s)?;
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")?;
                Ok(())
            },
        );
        assert!(matches!(server, Err(AuthError::NotTessera)), "{server:?}");
    }

    #[test]
    fn a_peer_that_hangs_up_is_an_io_error() {
        let secret = Secret::generate();
        let (server, _) = run_pair(move |s| server_handshake(s, &secret), |_| Ok(()));
        assert!(matches!(server, Err(AuthError::Io(_))), "{server:?}");
    }
}
