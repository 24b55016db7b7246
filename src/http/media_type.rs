//! Content negotiation for GraphQL over HTTP: which media type an answer
//! takes, from the request's `Accept` header.

use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, HeaderValue};

/// The media type of the GraphQL over HTTP spec, which lets statuses tell
/// request errors apart.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// The legacy media type, which every GraphQL client reads.
pub const JSON: &str = "application/json";

/// The media type of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors are 400.
    GraphQLResponse,
    /// `application/json`: every GraphQL result is 200.
    Json,
}

impl MediaType {
    /// The media type the request's `Accept` prefers among the two we
    /// produce: the one with the higher `q`; on a tie, the one listed first,
    /// except that an explicit `application/graphql-response+json` beats a
    /// wildcard. Wildcards (`*/*`, `application/*`) only ever stand for
    /// `application/json`: a client that does not name the new type may not
    /// know its status rules. No `Accept`, or one that allows neither type,
    /// gets `application/json` too (HTTP lets a server disregard `Accept`
    /// rather than answer 406, and every GraphQL client reads JSON).
    pub fn negotiate(headers: &HeaderMap) -> Self {
        let mut graphql_response: Option<AcceptMatch> = None;
        let mut json: Option<AcceptMatch> = None;
        let ranges = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','));
        for (position, range) in ranges.enumerate() {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let Some(quality) = quality(parts) else {
                continue;
            };
            let (slot, specificity) = match essence.as_str() {
                GRAPHQL_RESPONSE_JSON => (&mut graphql_response, 2),
                JSON => (&mut json, 2),
                "application/*" => (&mut json, 1),
                "*/*" => (&mut json, 0),
                _ => continue,
            };
            // RFC 9110: the most specific range that matches decides.
            if slot.is_none_or(|m| specificity > m.specificity) {
                *slot = Some(AcceptMatch {
                    quality,
                    position,
                    specificity,
                });
            }
        }
        match (graphql_response.filter(|m| m.quality > 0), json) {
            (Some(g), Some(j)) if j.quality > 0 => {
                let preferred = g.quality > j.quality
                    || (g.quality == j.quality && (g.position < j.position || j.specificity < 2));
                if preferred {
                    Self::GraphQLResponse
                } else {
                    Self::Json
                }
            }
            (Some(_), _) => Self::GraphQLResponse,
            (None, _) => Self::Json,
        }
    }

    /// The `Content-Type` of an answer (always UTF-8, as JSON is).
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// The media range of `Accept` that matched one of our media types.
#[derive(Clone, Copy)]
struct AcceptMatch {
    /// `q` in thousandths (0 to 1000; 0 is "not acceptable").
    quality: u16,
    /// Its place in `Accept`, for ties.
    position: usize,
    /// 2 for the exact type, 1 for `application/*`, 0 for `*/*`.
    specificity: u8,
}

/// The `q` of a media range's parameters in thousandths, 1000 if absent;
/// `None` for a malformed one, which drops the range.
fn quality<'a>(parameters: impl Iterator<Item = &'a str>) -> Option<u16> {
    for parameter in parameters {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            let q: f32 = value.trim().parse().ok()?;
            return (0.0..=1.0)
                .contains(&q)
                .then(|| (q * 1000.0).round() as u16);
        }
    }
    Some(1000)
}
