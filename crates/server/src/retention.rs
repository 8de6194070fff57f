//! Data retention while serving: every `[retention] interval_secs`, raw IP addresses
//! older than `ip_days` are truncated to their network (see `hearth_store::retention`).
//! Several nodes may run it at once: each step is idempotent.

use crate::app::App;
use hearth_store::RetentionReport;
use std::sync::Arc;

impl App {
    /// One retention pass at the service clock's now.
    pub async fn truncate_old_ips(&self) -> Result<RetentionReport, hearth_store::StoreError> {
        let cutoff = self.config.retention.cutoff(self.clock.now());
        self.store.truncate_ips(cutoff).await
    }
}

/// Runs the retention pass on the configured interval (first one at start).
pub async fn run(app: Arc<App>) {
    let every = std::time::Duration::from_secs(app.config.retention.interval_secs.max(1));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match app.truncate_old_ips().await {
            Ok(r) if r == RetentionReport::default() => {}
            Ok(r) => tracing::info!(
                sessions = r.sessions,
                audit = r.audit,
                counters = r.counters,
                "truncated old IP addresses"
            ),
            Err(e) => tracing::warn!(error = %e, "retention pass failed"),
        }
    }
}
