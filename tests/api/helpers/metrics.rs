//! Reading the app's `/metrics` (Prometheus text).

use super::app::TestApp;

/// The value of the series `line_start` (a metric's name, with its labels
/// if it has any) in the Prometheus text `metrics`.
pub fn series(metrics: &str, line_start: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

impl TestApp {
    /// The value `/metrics` shows for the series `line_start` (see
    /// [`series`]), if it shows one.
    pub async fn metric(&self, line_start: &str) -> Option<f64> {
        let text = self.get("/metrics").await.text().await.expect("metrics");
        series(&text, line_start)
    }
}
