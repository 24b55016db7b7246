//! Fresh request ids for requests that arrive without one.

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes random (version 4) UUIDs from a per-thread generator.
///
/// tower-http's `MakeRequestUuid` asks the kernel for randomness (a
/// `getrandom` system call) for every request; a request id only has to be
/// unique among the logs, not unguessable, and a system call per request
/// was a measurable share of the nested read's kernel time
/// (docs/benchmarks.md).
#[derive(Debug, Clone, Copy, Default)]
pub struct FreshRequestId;

impl MakeRequestId for FreshRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_distinct_version_4_uuids() {
        let request = Request::new(());
        let ids: HashSet<String> = (0..10_000)
            .map(|_| {
                let id = FreshRequestId.make_request_id(&request).unwrap();
                let text = id.header_value().to_str().unwrap().to_owned();
                let uuid = uuid::Uuid::parse_str(&text).unwrap();
                assert_eq!(uuid.get_version_num(), 4, "{text}");
                text
            })
            .collect();
        assert_eq!(ids.len(), 10_000);
    }
}
