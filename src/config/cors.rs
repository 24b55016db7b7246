//! `CORS_*`: which browser origins may call the API.

use std::time::Duration;

use super::AppEnv;
use super::parse::{ConfigError, Env};

/// How the server answers browsers on other origins (CORS). Tokens travel
/// in the `Authorization` header, never in cookies, so no origin is ever
/// allowed credentials: a page on an allowed origin can only send the token
/// its own code holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// `CORS_ALLOWED_ORIGINS`: a comma-separated list of origins, or `*`;
    /// `*` by default in development, none in production.
    pub allowed_origins: AllowedOrigins,
    /// `CORS_MAX_AGE_SECS`: how long a browser may reuse a preflight's answer.
    pub max_age: Duration,
}

/// The origins a browser may call the API from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (`*`).
    Any,
    /// These origins, exactly as browsers send them in `Origin`
    /// (`https://shop.example`, `http://localhost:5173`); none when empty,
    /// and then the server sends no CORS header at all.
    List(Vec<String>),
}

impl Cors {
    pub(super) fn from_env(env: &Env, app_env: AppEnv) -> Result<Self, ConfigError> {
        let allowed_origins = match env.optional("CORS_ALLOWED_ORIGINS") {
            None if app_env == AppEnv::Development => AllowedOrigins::Any,
            None => AllowedOrigins::List(Vec::new()),
            Some(raw) if raw.trim() == "*" => AllowedOrigins::Any,
            Some(raw) => {
                let mut origins: Vec<String> = Vec::new();
                for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    check_origin(origin).map_err(|why| {
                        ConfigError(format!(
                            "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin: {why}"
                        ))
                    })?;
                    if !origins.iter().any(|o| o == origin) {
                        origins.push(origin.to_owned());
                    }
                }
                if origins.is_empty() {
                    return Err(ConfigError(format!(
                        "CORS_ALLOWED_ORIGINS={raw:?} names no origin: list origins separated by \
                         commas (https://shop.example), or * for any"
                    )));
                }
                AllowedOrigins::List(origins)
            }
        };
        Ok(Self {
            allowed_origins,
            max_age: env.secs("CORS_MAX_AGE_SECS", "600")?,
        })
    }
}

/// Whether `origin` is written as browsers send it in `Origin`: a scheme,
/// `://`, a host and an optional port, lowercase, with no path (not even a
/// trailing `/`). One written otherwise would never match any request, so
/// it is refused rather than silently ignored. `null` (sandboxed pages,
/// `file:` URLs) is refused too: any page can claim it.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin == "*" {
        return Err("* stands alone, not in a list");
    }
    let (scheme, authority) = origin
        .split_once("://")
        .ok_or("it needs a scheme, as in https://shop.example")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return Err("the scheme must be lowercase letters, digits, +, - or .");
    }
    if authority.contains('/') {
        return Err("an origin has no path, not even a trailing /");
    }
    if authority.contains(['?', '#', '@']) {
        return Err("an origin has no query, fragment or user name");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or("an IPv6 host needs its closing ]")?;
            match rest {
                "" => (host, None),
                _ => (
                    host,
                    Some(rest.strip_prefix(':').ok_or("a port follows a :")?),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c));
    if !host_ok {
        return Err("the host must be lowercase ASCII letters, digits, - and . (punycode)");
    }
    if let Some(port) = port
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return Err("the port must be a number up to 65535");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    #[test]
    fn cors_allows_any_origin_in_development_and_none_in_production() {
        let c = config(&[]).unwrap();
        assert_eq!(c.cors.allowed_origins, AllowedOrigins::Any);
        assert_eq!(c.cors.max_age, Duration::from_secs(600));
        let secret = "k3y-0f-th3-sh0p-that-is-l0ng-en0ugh";
        let production = config(&[("APP_ENV", "production"), ("JWT_SECRET", secret)]).unwrap();
        assert_eq!(
            production.cors.allowed_origins,
            AllowedOrigins::List(vec![])
        );
        let listed = config(&[
            (
                "CORS_ALLOWED_ORIGINS",
                " https://shop.example, http://localhost:5173,https://shop.example,",
            ),
            ("CORS_MAX_AGE_SECS", "60"),
        ])
        .unwrap();
        assert_eq!(
            listed.cors.allowed_origins,
            AllowedOrigins::List(vec![
                "https://shop.example".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(listed.cors.max_age, Duration::from_secs(60));
        let any = config(&[("CORS_ALLOWED_ORIGINS", "*")]).unwrap();
        assert_eq!(any.cors.allowed_origins, AllowedOrigins::Any);
        for ok in [
            "http://[::1]:8080",
            "capacitor://localhost",
            "http://127.0.0.1",
        ] {
            assert!(check_origin(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn an_origin_written_as_no_browser_sends_it_is_refused_by_name() {
        for bad in [
            "https://shop.example/",
            "https://shop.example/app",
            "shop.example",
            "https://Shop.example",
            "HTTPS://shop.example",
            "https://shop.example:99999",
            "https://shop.example:",
            "https://user@shop.example",
            "https://",
            "null",
            "*, https://shop.example",
            "https://[::1",
            ",",
        ] {
            let err = config(&[("CORS_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert!(err.0.contains("CORS_ALLOWED_ORIGINS"), "{bad}: {}", err.0);
        }
        let err = config(&[("CORS_MAX_AGE_SECS", "ten")]).unwrap_err();
        assert!(err.0.contains("CORS_MAX_AGE_SECS"), "{}", err.0);
    }
}
