//! The one set of helpers every area reads its variables with: a default
//! for each, a value that is set but cannot be used named in the error.

use std::str::FromStr;
use std::time::Duration;

/// A variable that is set but cannot be used.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConfigError {
    /// The error of variable `name`, which is set but `why`.
    pub(crate) fn of(name: &str, why: impl std::fmt::Display) -> Self {
        Self(format!("{name} {why}"))
    }
}

/// Where the variables come from: the environment, or a test's map.
pub(crate) struct Env<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub(crate) fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { get }
    }

    /// `name`'s value, if set.
    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        (self.get)(name)
    }

    /// `name`'s value, or `default`.
    pub(crate) fn text(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    /// `name` parsed, or `default` parsed.
    pub(crate) fn parse<T: FromStr>(&self, name: &str, default: &str) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.text(name, default);
        raw.parse()
            .map_err(|e| ConfigError(format!("{name}={raw:?} is not valid: {e}")))
    }

    /// `name` parsed if set.
    pub(crate) fn parse_optional<T: FromStr>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|e| ConfigError(format!("{name}={raw:?} is not valid: {e}"))),
            None => Ok(None),
        }
    }

    /// A count of at least 1.
    pub(crate) fn positive(&self, name: &str, default: &str) -> Result<usize, ConfigError> {
        match self.parse::<usize>(name, default)? {
            0 => Err(ConfigError::of(name, "must be at least 1")),
            n => Ok(n),
        }
    }

    /// A duration in milliseconds (`name` ends in `_MS`); 0 allowed.
    pub(crate) fn millis(&self, name: &str, default: &str) -> Result<Duration, ConfigError> {
        self.parse::<u64>(name, default).map(Duration::from_millis)
    }

    /// A duration in milliseconds of at least 1.
    pub(crate) fn positive_millis(
        &self,
        name: &str,
        default: &str,
    ) -> Result<Duration, ConfigError> {
        match self.millis(name, default)? {
            d if d.is_zero() => Err(ConfigError::of(name, "must be at least 1")),
            d => Ok(d),
        }
    }

    /// A duration in whole seconds (`name` ends in `_SECS`).
    pub(crate) fn secs(&self, name: &str, default: &str) -> Result<Duration, ConfigError> {
        self.parse::<u64>(name, default).map(Duration::from_secs)
    }
}
