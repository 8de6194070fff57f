//! The owner's devices: who holds a session, renaming, signing out one or all, and
//! signing out devices left unused.

use super::{now, Client, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::time::DAY;
use hearth_store::{Account, Session};
use serde_json::json;

/// Sessions seen less than this long ago are not touched again, to spare writes.
const TOUCH_EVERY_MS: i64 = 60_000;

impl App {
    /// Resolves a bearer token to its live session and account.
    pub async fn authenticate(
        &self,
        token: &str,
        client: &Client,
    ) -> ServiceResult<(Session, Account)> {
        if !token.starts_with("hs_") || token.len() != 67 {
            return Err(ServiceError::Unauthenticated);
        }
        let hash = self.key.mac("session", &[token.as_bytes()]);
        let session = self
            .store
            .session_by_token(&hash)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let t = now();
        let idle_ms = i64::from(self.config.sessions.idle_timeout_days) * DAY;
        if t.since(session.last_seen_at) > idle_ms {
            self.store
                .revoke_session(&session.account_id, &session.id, "inactive", t)
                .await?;
            return Err(ServiceError::Unauthenticated);
        }
        if t.since(session.last_seen_at) > TOUCH_EVERY_MS {
            self.store
                .touch_session(&session.id, &client.ip.to_string(), t)
                .await?;
        }
        let account = self
            .store
            .account_by_id(&session.account_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok((session, account))
    }

    pub async fn list_devices(&self, account: &str) -> ServiceResult<Vec<Session>> {
        Ok(self.store.list_sessions(account).await?)
    }

    pub async fn rename_device(
        &self,
        session: &Session,
        id: &str,
        name: &str,
    ) -> ServiceResult<()> {
        let name: String = name.chars().filter(|c| !c.is_control()).collect();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ServiceError::Invalid {
                field: "name",
                message: "1 to 64 characters".into(),
            });
        }
        if !self
            .store
            .rename_session(&session.account_id, id, name)
            .await?
        {
            return Err(ServiceError::NotFound("device"));
        }
        Ok(())
    }

    pub async fn sign_out_device(
        &self,
        session: &Session,
        id: &str,
        client: &Client,
    ) -> ServiceResult<()> {
        if !self
            .store
            .revoke_session(&session.account_id, id, "signed_out_by_owner", now())
            .await?
        {
            return Err(ServiceError::NotFound("device"));
        }
        self.metrics
            .inc("hearth_devices_signed_out_total", &[("how", "one")]);
        self.audit(
            Some(&session.account_id),
            "device_signed_out",
            Some(client),
            Some(&session.device_id),
            json!({"session": id}),
        )
        .await
    }

    /// Signs out every device, this one too unless `keep_current`.
    pub async fn sign_out_all(
        &self,
        session: &Session,
        keep_current: bool,
        client: &Client,
    ) -> ServiceResult<u64> {
        let except = keep_current.then_some(session.id.as_str());
        let n = self
            .store
            .revoke_all_sessions(&session.account_id, except, "signed_out_everywhere", now())
            .await?;
        self.metrics
            .add("hearth_devices_signed_out_total", &[("how", "all")], n);
        self.notify(
            &session.account_id,
            hearth_courier::templates::Notice::AllDevicesSignedOut,
            None,
        )
        .await?;
        self.audit(
            Some(&session.account_id),
            "all_devices_signed_out",
            Some(client),
            Some(&session.device_id),
            json!({"devices": n, "kept_current": keep_current}),
        )
        .await?;
        Ok(n)
    }

    /// Signs out devices unused for the configured number of days; returns how many.
    pub async fn sweep_idle_sessions(&self) -> ServiceResult<usize> {
        let t = now();
        let cutoff = t.plus(-(i64::from(self.config.sessions.idle_timeout_days) * DAY));
        let gone = self.store.revoke_idle_sessions(cutoff, t).await?;
        for (account, session) in &gone {
            self.audit(
                Some(account),
                "device_signed_out_inactive",
                None,
                None,
                json!({"session": session}),
            )
            .await?;
        }
        self.metrics.add(
            "hearth_devices_signed_out_total",
            &[("how", "inactive")],
            gone.len() as u64,
        );
        Ok(gone.len())
    }
}
