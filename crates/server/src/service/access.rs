//! Access events through the risk engine. The state is loaded, decided on and
//! written back by the write path ([`super::writer`]) under optimistic concurrency,
//! many accounts per transaction, so two nodes handling events of one account
//! never lose an update; the side effects (the analysts' queue, notices) are
//! committed with the state and carried out after it ([`super::effects`]).
//!
//! The engine reads its frozen population statistics (`Engine::decide`), exactly as
//! `hearth replay` does by default, so the API and replay decide alike on the same
//! stream whatever the node and whatever the order other accounts' events arrive in.

use super::writer::Writer;
use super::{ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::engine::AccountState;
use hearth_core::{AccessEvent, AccountVerdict, Decision, Sharing};
use hearth_courier::templates::Notice;
use hearth_store::SharingRow;

pub fn sharing_str(s: Sharing) -> &'static str {
    match s {
        Sharing::Household => "household",
        Sharing::Shared => "shared",
        Sharing::Resold => "resold",
    }
}

impl App {
    /// The write path, started on first use.
    pub fn writer(&self) -> &Writer {
        self.writer.get_or_init(|| {
            Writer::spawn(
                self.store.clone(),
                self.engine.clone(),
                &self.config.access,
                self.metrics.clone(),
                self.ownerless.clone(),
            )
        })
    }

    /// Starts the write path and waits until it can take events: on SQLite the
    /// writer owns the engine state and has replayed its journal. An error says why
    /// it cannot (another process owns this database, say).
    pub async fn start_writer(&self) -> ServiceResult<()> {
        self.writer().ready().await
    }

    /// Writes back every engine state the writer holds dirty, at shutdown: the
    /// journal would replay them at the next start anyway, but this keeps the table
    /// current for a backup or a reader of the database.
    pub async fn flush_writer(&self) {
        if let Some(writer) = self.writer.get() {
            match writer.flush().await {
                Ok(()) => tracing::info!("engine states written back"),
                Err(e) => {
                    tracing::warn!(error = %e, "writing engine states back failed; the journal keeps them")
                }
            }
        }
    }

    /// The engine's state for an account, if it has one: the writer's where it owns
    /// the states (they reach the table later), the stored one otherwise.
    pub async fn engine_state(&self, account: &str) -> ServiceResult<Option<AccountState>> {
        let writer = self.writer();
        if writer.owns_states() {
            return writer.state(account).await;
        }
        match self.store.engine_state(account).await? {
            Some(s) => serde_json::from_str(&s.state)
                .map(Some)
                .map_err(|e| ServiceError::Internal(format!("engine state of {account}: {e}"))),
            None => Ok(None),
        }
    }

    /// "City, CC" for an address, when a GeoIP database knows it.
    pub fn locate(&self, event: &AccessEvent) -> Option<String> {
        let mut ev = event.clone();
        self.enricher.enrich(&mut ev);
        match (ev.city, ev.country) {
            (Some(city), Some(cc)) => Some(format!("{city}, {cc}")),
            (None, Some(cc)) => Some(cc),
            (Some(city), None) => Some(city),
            (None, None) => None,
        }
    }

    /// One event through the engine, committed by the write path before it is
    /// answered. An event whose id was already applied to its account gets the
    /// decision it was given then, and changes and counts nothing.
    pub async fn access(&self, mut event: AccessEvent) -> ServiceResult<Decision> {
        self.enricher.enrich(&mut event);
        // The account alone outlives the event (for its effects, one event in many).
        let account = event.account.clone();
        let applied = self.writer().submit(event).await?;
        if !applied.fresh {
            return Ok(applied.decision);
        }
        for _ in 0..applied.conflicts {
            self.metrics.inc("hearth_engine_state_conflicts_total", &[]);
        }
        self.count_decision(&applied.decision);
        if let Some((id, effects)) = &applied.effects {
            // Committed with the state: should this fail, the row stays and a sweep
            // carries it out later, while the caller has its decision now.
            match self.carry_out(account.as_str(), effects).await {
                Ok(()) => self.effects_done(id.clone()).await,
                Err(e) => tracing::warn!(account = %account.as_str(), error = %e,
                    "carrying out an event's effects failed; a sweep retries them"),
            }
        }
        Ok(applied.decision)
    }

    /// Keeps the analysts' queue in step with the engine's verdict, and tells the
    /// owner and the analysts when an account starts to look shared or resold.
    pub(crate) async fn record_sharing(
        &self,
        before: &AccountVerdict,
        after: &AccountVerdict,
        at: hearth_core::Timestamp,
    ) -> ServiceResult<()> {
        let same = before.sharing == after.sharing
            && before.households == after.households
            && before.devices == after.devices;
        if same {
            return Ok(());
        }
        let account = after.account.as_str();
        if after.sharing == Sharing::Household {
            if before.sharing != Sharing::Household {
                self.store.clear_sharing(account).await?;
            }
            return Ok(());
        }
        let base = if after.sharing == Sharing::Resold {
            1000.0
        } else {
            100.0
        };
        let rank = base + f64::from(after.devices) + 10.0 * f64::from(after.households);
        let now = super::now();
        self.store
            .put_sharing(&SharingRow {
                account: account.to_owned(),
                sharing: sharing_str(after.sharing).to_owned(),
                households: after.households,
                devices: after.devices,
                evidence: serde_json::json!(after.evidence),
                rank,
                first_flagged_at: now,
                updated_at: now,
            })
            .await?;
        if before.sharing != after.sharing {
            let kind = sharing_str(after.sharing);
            self.metrics
                .inc("hearth_accounts_classified_total", &[("sharing", kind)]);
            self.audit(
                Some(account),
                &format!("account_classified_{kind}"),
                None,
                None,
                serde_json::json!({"evidence": after.evidence, "at": at}),
            )
            .await?;
            let owner = self.owner_of(account).await?;
            let notice = if after.sharing == Sharing::Resold {
                if owner.is_some() {
                    self.store.flag_account(account, "resold", now).await?;
                }
                Notice::ClassifiedResold
            } else {
                Notice::ClassifiedShared
            };
            if let Some(owner) = owner {
                self.notify_owner(&owner, notice, None).await?;
            }
        }
        Ok(())
    }

    fn count_decision(&self, decision: &Decision) {
        self.metrics.inc(
            "hearth_decisions_total",
            &[("decision", decision.decision.as_str())],
        );
        for r in &decision.reasons {
            self.metrics
                .inc("hearth_decision_reasons_total", &[("reason", r.as_str())]);
        }
    }
}
