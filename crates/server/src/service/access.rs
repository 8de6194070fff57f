//! Access events through the risk engine, with the account's state loaded from and
//! written back to the store under optimistic concurrency, so two nodes handling
//! events of one account never lose an update.
//!
//! Population statistics (the likelihood ratio's denominator) are learnt per node
//! from the events it sees, exactly as `hearth replay` learns them over a file: a
//! single node fed the same stream decides exactly as replay does.

use super::{ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::engine::AccountState;
use hearth_core::{AccessEvent, Decision};

const MAX_RETRIES: usize = 16;

impl App {
    /// The engine's state for an account, if it has one.
    pub async fn engine_state(&self, account: &str) -> ServiceResult<Option<AccountState>> {
        match self.store.engine_state(account).await? {
            Some(s) => serde_json::from_str(&s.state)
                .map(Some)
                .map_err(|e| ServiceError::Internal(format!("engine state of {account}: {e}"))),
            None => Ok(None),
        }
    }

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
            let decision = {
                let mut global = self.global.lock().map_err(|_| {
                    ServiceError::Internal("population statistics lock poisoned".into())
                })?;
                self.engine
                    .decide_with(&mut global, &mut state, &event, event.ts)
            };
            let json =
                serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
            if self
                .store
                .put_engine_state(&account, version, &json, super::now())
                .await?
            {
                self.count_decision(&decision);
                return Ok(decision);
            }
            self.metrics.inc("hearth_engine_state_conflicts_total", &[]);
        }
        Err(ServiceError::Unavailable(format!(
            "engine state of {account} is too contended; retry"
        )))
    }

    fn count_decision(&self, decision: &Decision) {
        let code = |v: serde_json::Result<serde_json::Value>| {
            v.ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        self.metrics.inc(
            "hearth_decisions_total",
            &[("decision", &code(serde_json::to_value(decision.decision)))],
        );
        for r in &decision.reasons {
            self.metrics.inc(
                "hearth_decision_reasons_total",
                &[("reason", &code(serde_json::to_value(r)))],
            );
        }
    }
}
