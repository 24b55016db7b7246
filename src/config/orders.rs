//! `ORDER_*`: an order's life between create and pay, the payment window,
//! stock holds and the sweep that stores expiries.

use std::time::Duration;

use super::parse::{ConfigError, Env};

/// The longest payment window: a year. A longer one is a typo, and its
/// deadline would still have to fit the database's timestamps.
const MAX_WINDOW_SECS: u64 = 366 * 24 * 3600;

/// Orders' payment window and stock holds, and the expiry sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Orders {
    /// `ORDER_PAYMENT_WINDOW_SECS`: how long a new order stays open for
    /// payment; `None` (set to 0): for ever, and `expiresAt` is null.
    pub payment_window: Option<Duration>,
    /// `ORDER_HOLD_STOCK`: whether a new order takes its units out of free
    /// stock until it is paid, cancelled or expired.
    pub hold_stock: bool,
    /// `ORDER_SWEEP_INTERVAL_MS`: how often this instance looks for orders
    /// whose window has closed, to store them EXPIRED (0: never; another
    /// instance must then sweep, or holds are never given back).
    pub sweep_interval: Duration,
    /// `ORDER_SWEEP_BATCH`: the most orders one sweep transaction expires.
    pub sweep_batch: usize,
}

impl Orders {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let window = env.parse::<u64>("ORDER_PAYMENT_WINDOW_SECS", "1800")?;
        if window > MAX_WINDOW_SECS {
            return Err(ConfigError::of(
                "ORDER_PAYMENT_WINDOW_SECS",
                format!("must be at most {MAX_WINDOW_SECS} (a year), not {window}"),
            ));
        }
        let hold_stock = env.parse("ORDER_HOLD_STOCK", "false")?;
        if hold_stock && window == 0 {
            // A hold without an end would keep units from sale for ever.
            return Err(ConfigError(
                "ORDER_HOLD_STOCK=true needs a payment window (ORDER_PAYMENT_WINDOW_SECS > 0)"
                    .into(),
            ));
        }
        Ok(Self {
            payment_window: (window > 0).then(|| Duration::from_secs(window)),
            hold_stock,
            sweep_interval: env.millis("ORDER_SWEEP_INTERVAL_MS", "1000")?,
            sweep_batch: env.positive("ORDER_SWEEP_BATCH", "500")?,
        })
    }
}
