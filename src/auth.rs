//! Bearer-token authentication: HS256 JWTs signed with `JWT_SECRET`.
//!
//! A token must carry `sub` (the user's stable name) and `exp`; `nbf` is
//! honoured when present; `role: "admin"` unlocks the catalog mutations.
//! Anything else (another algorithm, `alg: none`, a bad signature, an expired
//! or not-yet-valid token, garbage) is rejected as `UNAUTHENTICATED`.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The longest `sub` we accept (it is stored as the user's subject).
const MAX_SUBJECT_LEN: usize = 255;

/// The claims the server reads and writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's stable identifier.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// `"admin"` for administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Who is calling, once their token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    /// Whether the token carries `role: "admin"`.
    pub is_admin: bool,
}

/// Why a request's credentials were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The Authorization header is not `Bearer <token>`.
    MalformedHeader,
    /// The token failed verification.
    InvalidToken(String),
}

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

/// Verifies and issues tokens with one secret.
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Authenticator {
    /// An authenticator for HS256 tokens signed with `secret`.
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// The caller named by an `Authorization` header value, if any. An
    /// empty or blank value is no caller, as no header is: clients and
    /// playgrounds clear a header by emptying it.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Option<Principal>, AuthError> {
        let Some(header) = header.filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        self.bearer(header).map(|(principal, _)| Some(principal))
    }

    /// Verifies one token.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_until(token).map(|(principal, _)| principal)
    }

    /// Verifies one token, and says when it expires (its `exp`, seconds
    /// since the epoch): a WebSocket lives no longer than its token.
    pub fn verify_until(&self, token: &str) -> Result<(Principal, u64), AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let subject = data.claims.sub;
        if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
            return Err(AuthError::InvalidToken("sub must be 1 to 255 bytes".into()));
        }
        if !crate::domain::is_storable(&subject) {
            return Err(AuthError::InvalidToken(
                "sub must not hold a NUL character".into(),
            ));
        }
        let principal = Principal {
            subject,
            is_admin: data.claims.role.as_deref() == Some("admin"),
        };
        Ok((principal, data.claims.exp))
    }

    /// The caller named by a bearer header value (`Bearer <token>`), with
    /// its token's expiry.
    pub fn bearer(&self, header: &str) -> Result<(Principal, u64), AuthError> {
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::MalformedHeader)?;
        self.verify_until(token)
    }

    /// Signs a token for `subject`, valid for `ttl_secs`.
    pub fn issue(&self, subject: &str, admin: bool, ttl_secs: u64) -> Result<String, AuthError> {
        let now = now_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            exp: now + ttl_secs,
            iat: Some(now),
            role: admin.then(|| "admin".to_owned()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn forge(header: &str, claims: &str, signature: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims),
            signature
        )
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_role() {
        let auth = Authenticator::new("secret");
        let admin = auth.issue("alice", true, 60).unwrap();
        assert_eq!(
            auth.verify(&admin).unwrap(),
            Principal {
                subject: "alice".into(),
                is_admin: true
            }
        );
        let user = auth.issue("bob", false, 60).unwrap();
        assert!(!auth.verify(&user).unwrap().is_admin);
    }

    #[test]
    fn bad_tokens_are_refused() {
        let auth = Authenticator::new("secret");
        let other = Authenticator::new("another secret")
            .issue("alice", true, 60)
            .unwrap();
        assert!(auth.verify(&other).is_err(), "wrong key");
        assert!(auth.verify("garbage").is_err());
        let none = forge(
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"sub":"a","exp":99999999999}"#,
            "",
        );
        assert!(auth.verify(&none).is_err(), "alg none");
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &Claims {
                sub: "a".into(),
                exp: 99_999_999_999,
                iat: None,
                role: None,
            },
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(auth.verify(&hs512).is_err(), "another algorithm");
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: "a".into(),
                exp: 1_000,
                iat: None,
                role: None,
            },
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(auth.verify(&expired).is_err(), "expired");
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "a"}),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(auth.verify(&no_exp).is_err(), "missing exp");
        let not_yet = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "a", "exp": 99_999_999_999u64, "nbf": 99_999_999_000u64}),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(auth.verify(&not_yet).is_err(), "not yet valid");
    }

    #[test]
    fn headers_must_be_bearer_tokens() {
        let auth = Authenticator::new("secret");
        assert_eq!(auth.authenticate(None), Ok(None));
        assert_eq!(auth.authenticate(Some("")), Ok(None), "emptied");
        assert_eq!(auth.authenticate(Some(" \t ")), Ok(None), "blank");
        assert_eq!(
            auth.authenticate(Some("Basic abc")),
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(
            auth.authenticate(Some("Bearer ")),
            Err(AuthError::MalformedHeader)
        );
        let token = auth.issue("carol", false, 60).unwrap();
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {token}")))
                .unwrap()
                .unwrap()
                .subject,
            "carol"
        );
    }
}
