//! What follows from an access event besides the engine's state: the analysts' queue
//! kept in step with the account's verdict, the account flagged and its owner told
//! when it starts to look shared or resold, and the owner told when a device is asked
//! to verify while watching.
//!
//! The write path commits these effects in the same transaction as the state they
//! follow from (a row of `engine_effects`), so none is lost when the process dies
//! between the commit and carrying them out. The request that committed them carries
//! them out at once; the row is then deleted, a few at a time, by [`run`]. A row its
//! node did not delete within [`hearth_store::EFFECTS_GRACE_MS`] (the node died, or
//! the store refused it meanwhile) is claimed by the first node to sweep: at least
//! once, so a node that dies after carrying effects out but before deleting their row
//! has them carried out a second time.

use super::writer::Transition;
use super::ServiceResult;
use crate::app::App;
use hearth_core::{AccessEvent, Decision, DeviceType, EventKind, Outcome, Timestamp};
use hearth_courier::templates::{DeviceInfo, Notice, Place};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// One account's effects from one committed batch, in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effects {
    /// The account's verdict changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    /// Devices asked to verify while watching.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verifications: Vec<Verification>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty() && self.verifications.is_empty()
    }
}

/// A device asked to verify by an event other than a sign-in (sign-ins tell of new
/// devices themselves): the owner hears of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub device: String,
    pub device_type: DeviceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Verification {
    pub fn of(event: &AccessEvent, decision: &Decision) -> Option<Self> {
        (decision.decision == Outcome::Verify && event.kind != EventKind::SignIn).then(|| Self {
            device: event.device.as_str().to_owned(),
            device_type: event.device_type,
            city: event.city.clone(),
            country: event.country.clone(),
        })
    }

    fn device(&self) -> DeviceInfo {
        let place = (self.city.is_some() || self.country.is_some()).then(|| Place {
            city: self.city.clone(),
            country: self.country.clone(),
        });
        DeviceInfo {
            name: self.device.clone(),
            kind: self.device_type,
            place,
        }
    }
}

/// Effects carried out but whose rows are not deleted yet: past this many, the
/// request that adds one deletes them itself rather than waiting for [`run`].
const DONE_FLUSH_AT: usize = 512;
/// How often [`run`] deletes the rows of effects carried out.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// How often [`run`] looks for effects left behind by a node.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Effects claimed per sweep query.
const SWEEP_BATCH: u32 = 100;

impl App {
    /// Carries out the effects of one committed row; its id is deleted later.
    pub(crate) async fn carry_out(&self, account: &str, effects: &Effects) -> ServiceResult<()> {
        for t in &effects.transitions {
            self.record_sharing(&t.before, &t.after, t.at).await?;
        }
        for v in &effects.verifications {
            self.notify(account, Notice::VerificationRequested, Some(v.device()))
                .await?;
        }
        Ok(())
    }

    /// Notes a row of effects as carried out.
    pub(crate) async fn effects_done(&self, id: String) {
        let full = {
            let mut done = self.effects_done.lock().unwrap_or_else(|p| p.into_inner());
            done.push(id);
            done.len() >= DONE_FLUSH_AT
        };
        if full {
            self.flush_effects().await;
        }
    }

    /// Deletes the rows of the effects carried out so far. Rows the store refuses to
    /// delete now are kept for the next flush.
    pub async fn flush_effects(&self) {
        let ids = std::mem::take(&mut *self.effects_done.lock().unwrap_or_else(|p| p.into_inner()));
        if ids.is_empty() {
            return;
        }
        if let Err(e) = self.store.forget_effects(&ids).await {
            tracing::warn!(error = %e, rows = ids.len(), "deleting carried-out effects failed; retrying later");
            self.effects_done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(ids);
        }
    }

    /// Carries out every effect whose node left it past its grace period by `now`;
    /// returns how many rows. A row that cannot be carried out now (the store refused,
    /// say) is due again after another grace period.
    pub async fn sweep_effects(&self, now: Timestamp) -> ServiceResult<usize> {
        let mut n = 0;
        loop {
            let rows = self.store.claim_effects(now, SWEEP_BATCH).await?;
            if rows.is_empty() {
                return Ok(n);
            }
            let mut done = Vec::with_capacity(rows.len());
            for row in &rows {
                let effects: Effects = match serde_json::from_str(&row.body) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(id = %row.id, account = %row.account, error = %e,
                            "effects that cannot be read are kept for an operator");
                        continue;
                    }
                };
                match self.carry_out(&row.account, &effects).await {
                    Ok(()) => done.push(row.id.clone()),
                    Err(e) => tracing::warn!(id = %row.id, account = %row.account, error = %e,
                        "carrying out left-behind effects failed; they are due again later"),
                }
            }
            n += done.len();
            self.store.forget_effects(&done).await?;
            self.metrics
                .add("hearth_engine_effects_swept_total", &[], done.len() as u64);
            if rows.len() < SWEEP_BATCH as usize {
                return Ok(n);
            }
        }
    }
}

/// Deletes carried-out effects every [`FLUSH_EVERY`] and sweeps up left-behind ones
/// every [`SWEEP_EVERY`] (at once on start: a node restarted after a crash picks up
/// what its grace period has released), until aborted. Whoever aborts it should call
/// [`App::flush_effects`] once more.
pub async fn run(app: Arc<App>) {
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = flush.tick() => app.flush_effects().await,
            _ = sweep.tick() => match app.sweep_effects(super::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "carried out effects a node had left behind"),
                Err(e) => tracing::warn!(error = %e, "sweeping left-behind effects failed"),
            },
        }
    }
}
