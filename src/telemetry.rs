//! Logging with `tracing`: human-readable in development, JSON in production.
//! `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

use crate::config::AppEnv;

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(env: AppEnv) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match env {
        AppEnv::Production => builder.json().try_init(),
        AppEnv::Development => builder.compact().try_init(),
    };
}
