//! Access events through the risk engine, with the account's state loaded from and
//! written back to the store under optimistic concurrency, so two nodes handling
//! events of one account never lose an update.

use super::{now, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::engine::AccountState;
use hearth_core::{AccessEvent, Decision};

const MAX_RETRIES: usize = 16;

impl App {
    pub async fn access(&self, event: AccessEvent) -> ServiceResult<Decision> {
        let account = event.account.as_str().to_owned();
        for _ in 0..MAX_RETRIES {
            let stored = self.store.engine_state(&account).await?;
            let (version, mut state) = match stored {
                Some(s) => (
                    s.version,
                    serde_json::from_str::<AccountState>(&s.state).map_err(|e| {
                        ServiceError::Internal(format!("engine state of {account}: {e}"))
                    })?,
                ),
                None => (0, AccountState::default()),
            };
            let decision = self.engine.decide(&mut state, &event, event.ts);
            let json =
                serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
            if self
                .store
                .put_engine_state(&account, version, &json, now())
                .await?
            {
                let outcome = serde_json::to_value(decision.decision).ok();
                let outcome = outcome
                    .as_ref()
                    .and_then(|v| v.as_str())
                    .unwrap_or("unknown");
                self.metrics
                    .inc("hearth_decisions_total", &[("decision", outcome)]);
                for r in &decision.reasons {
                    let code = serde_json::to_value(r).ok();
                    let code = code
                        .as_ref()
                        .and_then(|v| v.as_str())
                        .unwrap_or("unknown")
                        .to_owned();
                    self.metrics
                        .inc("hearth_decision_reasons_total", &[("reason", &code)]);
                }
                return Ok(decision);
            }
            self.metrics.inc("hearth_engine_state_conflicts_total", &[]);
        }
        Err(ServiceError::Unavailable(format!(
            "engine state of {account} is too contended; retry"
        )))
    }
}
