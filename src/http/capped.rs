//! JSON written within a byte budget (`RESPONSE_MAX_BYTES`): an answer over
//! it is never built whole, over HTTP or over a WebSocket alike.

use async_graphql::Response;
use serde::Serialize;

use crate::graphql::errors::{codes, error_response};

/// A body that would be longer than allowed.
#[derive(Debug)]
pub struct Overflow;

/// `value` as JSON bytes, or `Overflow` past `max` bytes (writing stops
/// there, so an oversized answer never takes more memory). Straight from
/// async-graphql's values to bytes: no intermediate `serde_json::Value`.
pub fn to_json(value: &(impl Serialize + ?Sized), max: usize) -> Result<Vec<u8>, Overflow> {
    let mut body = Capped {
        bytes: Vec::new(),
        max,
    };
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => Ok(body.bytes),
        Err(err) if err.is_io() => Err(Overflow),
        // Our values always serialize; should one not, say so, once.
        Err(err) => {
            tracing::error!(error = %err, "a GraphQL response did not serialize");
            Ok(br#"{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#.to_vec())
        }
    }
}

/// What replaces a response over `max` bytes: a `QUERY_TOO_COMPLEX` error
/// saying that the operation did run (a mutation took effect).
pub fn too_large(max: usize) -> Response {
    error_response(
        codes::QUERY_TOO_COMPLEX,
        format!(
            "the response is larger than {max} bytes, so it was not sent (the operations did \
             run); ask for fewer fields or smaller pages"
        ),
    )
}

/// A byte buffer that refuses to grow past `max`.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > self.max {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_stops_at_the_budget() {
        let big = vec!["x".repeat(100); 100];
        assert!(to_json(&big, 1_000).is_err());
        let small = to_json(&big[..2], 1_000).expect("fits");
        assert_eq!(small.len(), 2 * 102 + 3);
    }
}
