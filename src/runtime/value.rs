//! Typed values over result bytes: how clients turn futures' bytes into Rust values.
//!
//! A result is opaque bytes to the scheduler and workers; this trait gives them a type at the
//! client edge. Encodings are fixed little-endian layouts, never serde, so a chunk of numbers
//! is moved as raw bytes. This module must not know about the network.

use bytes::Bytes;

/// Bytes could not be read as the requested type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {expected} from {len} bytes")]
pub struct DecodeError {
    pub expected: &'static str,
    pub len: usize,
}

/// A type that results can be decoded into and arguments/scattered data encoded from.
///
/// ```
/// use tessera::runtime::Value;
/// let b = 41i64.encode();
/// assert_eq!(i64::decode(&b).unwrap(), 41);
/// ```
pub trait Value: Sized + Send + 'static {
    /// The value as bytes.
    fn encode(&self) -> Bytes;
    /// The value from bytes.
    fn decode(bytes: &Bytes) -> Result<Self, DecodeError>;
}

impl Value for Bytes {
    fn encode(&self) -> Bytes {
        self.clone()
    }
    fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        Ok(bytes.clone())
    }
}

impl Value for Vec<u8> {
    fn encode(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
    fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
}

impl Value for String {
    fn encode(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
    fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError {
            expected: "UTF-8 string",
            len: bytes.len(),
        })
    }
}

macro_rules! fixed_le {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn encode(&self) -> Bytes {
                Bytes::copy_from_slice(&self.to_le_bytes())
            }
            fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
                let arr: [u8; std::mem::size_of::<$t>()] =
                    bytes.as_ref().try_into().map_err(|_| DecodeError {
                        expected: stringify!($t),
                        len: bytes.len(),
                    })?;
                Ok(<$t>::from_le_bytes(arr))
            }
        }

        impl Value for Vec<$t> {
            fn encode(&self) -> Bytes {
                let mut out = Vec::with_capacity(self.len() * std::mem::size_of::<$t>());
                for v in self {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                Bytes::from(out)
            }
            fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
                const N: usize = std::mem::size_of::<$t>();
                if bytes.len() % N != 0 {
                    return Err(DecodeError { expected: concat!("Vec<", stringify!($t), ">"), len: bytes.len() });
                }
                Ok(bytes
                    .chunks_exact(N)
                    .map(|c| {
                        let mut a = [0u8; N];
                        a.copy_from_slice(c);
                        <$t>::from_le_bytes(a)
                    })
                    .collect())
            }
        }
    )*};
}

fixed_le!(i64, u64, f64, i32, u32, f32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(f64::decode(&2.5f64.encode()).unwrap(), 2.5);
        assert_eq!(
            Vec::<u32>::decode(&vec![1u32, 2, 3].encode()).unwrap(),
            vec![1, 2, 3]
        );
        assert_eq!(String::decode(&"hé".to_string().encode()).unwrap(), "hé");
    }

    #[test]
    fn wrong_length_is_an_error() {
        let err = i64::decode(&Bytes::from_static(b"abc")).unwrap_err();
        assert_eq!(err.to_string(), "cannot decode i64 from 3 bytes");
        assert!(Vec::<f64>::decode(&Bytes::from_static(b"123456789")).is_err());
    }
}
