//! One-time codes in use: device verification by e-mail or text (S2, S3), verify
//! later (S4), sign-in codes instead of the password (S5), password reset (S11),
//! travel passes and household moves. Codes are drawn and checked by
//! `hearth_core::codes`, stored as keyed hashes, and delivered through the outbox.

use super::{normalize_email, Client, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::codes::{self, CodeError, CodeRecord, Purpose};
use hearth_core::engine::Standing;
use hearth_core::time::DAY;
use hearth_core::{
    AccessEvent, AccountId, Decision, DeviceId, DeviceType, EventKind, Timestamp, VerifyMethod,
};
use hearth_courier::templates::{render_code, CodeContext, DeviceInfo, Locale, Notice};
use hearth_store::{Account, CodeRow, Session};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Where a code goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeChannel {
    Email,
    Sms,
}

impl CodeChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChannel::Email => "email",
            CodeChannel::Sms => "sms",
        }
    }
}

/// What the requester learns about a sent code: never the code or the full address.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    pub channel: CodeChannel,
    /// The destination, masked (`a•••@example.com`, `+351•••••5678`).
    pub sent_to: String,
    pub expires_in_secs: i64,
}

/// A code the owner reads out to a family member.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SignInCode {
    pub code: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

pub fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    let head: String = phone.chars().take(4).collect();
    let tail: String = phone.chars().skip(n.saturating_sub(4)).collect();
    format!("{head}{}{tail}", "•".repeat(n.saturating_sub(8)))
}

impl App {
    fn code_key(&self) -> &[u8] {
        self.key.expose()
    }

    /// Sends a code for `purpose` bound to `subject` to the owner of `account`, by
    /// e-mail or to the recovery phone, within the per-account and per-destination
    /// send limits.
    pub(crate) async fn send_code(
        &self,
        account: &Account,
        purpose: Purpose,
        subject: &str,
        channel: CodeChannel,
        device: DeviceInfo,
        client: Option<&Client>,
    ) -> ServiceResult<CodeSent> {
        let (to, sent_to) =
            match channel {
                CodeChannel::Email => (account.email.clone(), mask_email(&account.email)),
                CodeChannel::Sms => match &account.recovery_phone {
                    Some(p) => (p.clone(), mask_phone(p)),
                    None => return Err(ServiceError::Invalid {
                        field: "channel",
                        message:
                            "this account has no recovery phone: use e-mail, or add a phone first"
                                .into(),
                    }),
                },
            };
        let t = self.clock.now();
        let acct_key = format!("acct:{}", account.id);
        let dest_key = format!(
            "dest:{}",
            &hex::encode(self.key.mac("destination", &[to.as_bytes()]))[..32]
        );
        // Counted now, before the code exists: a send that then fails still counts,
        // which errs on the side of fewer messages to the owner.
        let limit = self.config.codes.send_limit();
        if let Err(wait) = self
            .counters
            .reserve_send(&[acct_key, dest_key], t, limit)
            .await?
        {
            self.metrics
                .inc("hearth_codes_refused_total", &[("why", "send_limit")]);
            return Err(ServiceError::TooManySends {
                retry_after_secs: u64::try_from(wait.secs()).unwrap_or(1),
            });
        }
        let policy = self.config.codes.policy();
        let (plain, record) = codes::issue(
            &mut rand::rngs::OsRng,
            self.code_key(),
            &policy,
            purpose,
            &AccountId(account.id.clone()),
            subject,
            t,
        );
        let id = format!("code_{}", super::random_hex(12));
        self.store
            .issue_code(&code_row(&id, &record, Some(channel.as_str())))
            .await?;
        let ctx = CodeContext {
            purpose,
            code: plain,
            device,
            expires_minutes: policy.ttl_minutes(),
            pass_days: u32::try_from(self.config.engine.travel_secs / 86_400).unwrap_or(7),
        };
        let rendered = render_code(Locale::from_tag(&account.locale), &self.brand, &ctx);
        let message = match channel {
            CodeChannel::Email => rendered.email(&to, purpose.as_str(), Some(id.clone())),
            CodeChannel::Sms => rendered.sms(&to, purpose.as_str(), Some(id.clone())),
        };
        self.store.enqueue(&message, t).await?;
        self.metrics.inc(
            "hearth_codes_sent_total",
            &[("channel", channel.as_str()), ("purpose", purpose.as_str())],
        );
        self.audit(
            Some(&account.id),
            "code_sent",
            client,
            Some(subject),
            json!({"purpose": purpose.as_str(), "channel": channel.as_str(), "sent_to": sent_to}),
        )
        .await?;
        Ok(CodeSent {
            channel,
            sent_to,
            expires_in_secs: policy.ttl_ms / 1000,
        })
    }

    /// Checks a typed code. The attempt is reserved in the store first, so the
    /// per-code limit holds across nodes and concurrent requests. Returns the channel
    /// the code was sent by.
    pub(crate) async fn check_code(
        &self,
        account: &str,
        purpose: Purpose,
        subject: &str,
        attempt: &str,
    ) -> ServiceResult<Option<String>> {
        let t = self.clock.now();
        let row = self
            .store
            .latest_code(account, purpose.as_str(), subject)
            .await?
            .ok_or(ServiceError::NoCode)?;
        if row.used {
            return Err(self.refuse(CodeError::AlreadyUsed));
        }
        let mut record = code_record(&row, purpose)?;
        if t >= record.expires_at {
            return Err(self.refuse(CodeError::Expired));
        }
        let Some(n) = self.store.reserve_code_attempt(&row.id).await? else {
            return Err(self.refuse(CodeError::TooManyAttempts));
        };
        record.attempts = n.saturating_sub(1);
        match codes::verify(
            &mut record,
            self.code_key(),
            purpose,
            &AccountId(account.to_owned()),
            subject,
            attempt,
            t,
        ) {
            Ok(()) => {
                if !self.store.consume_code(&row.id).await? {
                    return Err(self.refuse(CodeError::AlreadyUsed));
                }
                self.metrics.inc(
                    "hearth_codes_verified_total",
                    &[("purpose", purpose.as_str())],
                );
                Ok(row.channel)
            }
            Err(e) => Err(self.refuse(e)),
        }
    }

    fn refuse(&self, e: CodeError) -> ServiceError {
        self.metrics
            .inc("hearth_codes_refused_total", &[("why", e.as_str())]);
        ServiceError::Code(e)
    }

    async fn session_account(&self, session: &Session) -> ServiceResult<Account> {
        self.store
            .account_by_id(&session.account_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)
    }

    /// A device event with what is known about the session's device.
    pub(crate) fn device_event(
        &self,
        session: &Session,
        client: &Client,
        kind: EventKind,
        method: Option<VerifyMethod>,
    ) -> AccessEvent {
        client_event(
            self.clock.now(),
            &session.account_id,
            &session.device_id,
            parse_device_type(&session.device_type),
            client,
            kind,
            method,
        )
    }

    /// Sends a code bound to the session's device to the account's owner.
    async fn send_device_code(
        &self,
        session: &Session,
        purpose: Purpose,
        channel: CodeChannel,
        client: &Client,
    ) -> ServiceResult<CodeSent> {
        let account = self.session_account(session).await?;
        let device = Self::device_info(session);
        self.send_code(
            &account,
            purpose,
            &session.device_id,
            channel,
            device,
            Some(client),
        )
        .await
    }

    /// Checks a code typed on the session's device, then tells the engine the owner
    /// verified it. Returns the channel the code went by and the engine's decision.
    async fn verify_with_code(
        &self,
        session: &Session,
        purpose: Purpose,
        code: &str,
        client: &Client,
    ) -> ServiceResult<(Option<String>, Decision)> {
        let channel = self
            .check_code(&session.account_id, purpose, &session.device_id, code)
            .await?;
        let method = if channel.as_deref() == Some("sms") {
            VerifyMethod::Sms
        } else {
            VerifyMethod::Email
        };
        let event = self.device_event(session, client, EventKind::Verified, Some(method));
        Ok((channel, self.access(event).await?))
    }

    fn device_info(session: &Session) -> DeviceInfo {
        DeviceInfo {
            name: session.name.clone(),
            kind: parse_device_type(&session.device_type),
            place: None,
        }
    }

    /// S2/S3: the device asks for a code to be sent to the owner.
    pub async fn request_device_code(
        &self,
        session: &Session,
        channel: CodeChannel,
        client: &Client,
    ) -> ServiceResult<CodeSent> {
        self.send_device_code(session, Purpose::DeviceVerification, channel, client)
            .await
    }

    /// The code typed on the device verifies it for the configured period.
    pub async fn verify_device_code(
        &self,
        session: &Session,
        code: &str,
        client: &Client,
    ) -> ServiceResult<Decision> {
        let (channel, decision) = self
            .verify_with_code(session, Purpose::DeviceVerification, code, client)
            .await?;
        self.notify(
            &session.account_id,
            Notice::DeviceVerified,
            Some(super::notify::session_device(session)),
        )
        .await?;
        self.audit(
            Some(&session.account_id),
            "device_verified",
            Some(client),
            Some(&session.device_id),
            json!({"method": channel, "device_name": session.name, "days": self.config.engine.verified_away_secs / 86_400}),
        )
        .await?;
        Ok(decision)
    }

    /// S4: keep watching for the grace period, a limited number of times per device;
    /// the engine keeps the count and answers `verify` without deferral once used up.
    pub async fn verify_later(
        &self,
        session: &Session,
        client: &Client,
    ) -> ServiceResult<Decision> {
        let decision = self
            .access(self.device_event(session, client, EventKind::VerifyLater, None))
            .await?;
        let granted = decision.decision == hearth_core::Outcome::Allow;
        if granted {
            self.notify(
                &session.account_id,
                Notice::VerifyLaterUsed,
                Some(super::notify::session_device(session)),
            )
            .await?;
        }
        self.audit(
            Some(&session.account_id),
            if granted {
                "verify_later_granted"
            } else {
                "verify_later_refused"
            },
            Some(client),
            Some(&session.device_id),
            json!({"device_name": session.name}),
        )
        .await?;
        Ok(decision)
    }

    /// S5: the signed-in owner makes a code a family member types with the owner's
    /// e-mail instead of the password. Counted like a sent code.
    pub async fn create_sign_in_code(
        &self,
        session: &Session,
        client: &Client,
    ) -> ServiceResult<SignInCode> {
        let t = self.clock.now();
        let acct_key = format!("acct:{}", session.account_id);
        let limit = self.config.codes.send_limit();
        if let Err(wait) = self.counters.reserve_send(&[acct_key], t, limit).await? {
            return Err(ServiceError::TooManySends {
                retry_after_secs: u64::try_from(wait.secs()).unwrap_or(1),
            });
        }
        let (plain, record) = codes::issue(
            &mut rand::rngs::OsRng,
            self.code_key(),
            &self.config.codes.policy(),
            Purpose::SignInCode,
            &AccountId(session.account_id.clone()),
            &session.account_id,
            t,
        );
        let id = format!("code_{}", super::random_hex(12));
        self.store.issue_code(&code_row(&id, &record, None)).await?;
        self.audit(
            Some(&session.account_id),
            "sign_in_code_created",
            Some(client),
            Some(&session.device_id),
            json!({}),
        )
        .await?;
        Ok(SignInCode {
            code: plain,
            expires_at: record.expires_at,
        })
    }

    /// Password reset, first step: always the same answer, and the work happens after
    /// answering, so neither the reply nor its timing says whether the address exists.
    pub fn request_password_reset(
        self: &std::sync::Arc<Self>,
        email: &str,
        channel: CodeChannel,
        client: Client,
    ) {
        let app = self.clone();
        let email = normalize_email(email).unwrap_or_default();
        tokio::spawn(async move {
            let result = async {
                if let Some(account) = app.store.account_by_email(&email).await? {
                    let device = DeviceInfo {
                        name: String::new(),
                        kind: DeviceType::Other,
                        place: None,
                    };
                    app.send_code(
                        &account,
                        Purpose::PasswordReset,
                        &account.id.clone(),
                        channel,
                        device,
                        Some(&client),
                    )
                    .await?;
                }
                Ok::<(), ServiceError>(())
            }
            .await;
            if let Err(e) = result {
                tracing::info!(error = %e, "password reset code not sent");
            }
        });
    }

    /// Password reset, second step: the code, a new password; every device signed out.
    pub async fn complete_password_reset(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
        client: &Client,
    ) -> ServiceResult<u64> {
        let email = normalize_email(email).ok_or(ServiceError::NoCode)?;
        // The new password is judged before the address is looked up, so a weak one
        // is refused alike for unknown and known addresses.
        let report = self.check_password(new_password, Some(&email));
        if !report.accepted {
            return Err(ServiceError::WeakPassword(report));
        }
        // Every wrong code gets one answer (`code_not_found`), whether the address has
        // an account, a live code, an expired or a used-up one: whoever asked for a
        // reset cannot tell who has an account. Attempts still count against the code.
        let account = self
            .store
            .account_by_email(&email)
            .await?
            .ok_or(ServiceError::NoCode)?;
        self.check_code(&account.id, Purpose::PasswordReset, &account.id, code)
            .await
            .map_err(|e| match e {
                ServiceError::Code(_) => ServiceError::NoCode,
                other => other,
            })?;
        let hash = self.hash_new_password(new_password).await?;
        let t = self.clock.now();
        self.store
            .set_password(&account.id, &hash, t, false)
            .await?;
        let n = self
            .store
            .revoke_all_sessions(&account.id, None, "password_reset", t)
            .await?;
        self.counters
            .clear_counter(&self.email_counter_key(&email))
            .await?;
        self.notify_owner(&account, Notice::PasswordReset, None)
            .await?;
        self.audit(
            Some(&account.id),
            "password_reset",
            Some(client),
            None,
            json!({"devices_signed_out": n}),
        )
        .await?;
        Ok(n)
    }

    /// Travel pass, first step: only a portable device of the household may ask, and
    /// only a limited number of times in 30 days.
    pub async fn request_travel_code(
        &self,
        session: &Session,
        channel: CodeChannel,
        client: &Client,
    ) -> ServiceResult<CodeSent> {
        self.check_travel_allowed(session).await?;
        self.send_device_code(session, Purpose::TravelPass, channel, client)
            .await
    }

    pub async fn start_travel(
        &self,
        session: &Session,
        code: &str,
        client: &Client,
    ) -> ServiceResult<Decision> {
        self.check_travel_allowed(session).await?;
        self.check_code(
            &session.account_id,
            Purpose::TravelPass,
            &session.device_id,
            code,
        )
        .await?;
        let decision = self
            .access(self.device_event(session, client, EventKind::TravelStarted, None))
            .await?;
        self.audit(
            Some(&session.account_id),
            "travel_pass_started",
            Some(client),
            Some(&session.device_id),
            json!({"days": self.config.engine.travel_secs / 86_400, "device_name": session.name}),
        )
        .await?;
        Ok(decision)
    }

    async fn check_travel_allowed(&self, session: &Session) -> ServiceResult<()> {
        if !parse_device_type(&session.device_type).is_portable() {
            return Err(ServiceError::Forbidden(
                "travel passes are for phones, tablets and computers",
            ));
        }
        let standing = self
            .device_standing(&session.account_id, &session.device_id)
            .await?;
        if !matches!(
            standing,
            Standing::Portable | Standing::Home | Standing::Travelling
        ) {
            return Err(ServiceError::Forbidden(
                "only a device seen at home recently can take a travel pass",
            ));
        }
        let since = self.clock.now().plus(-30 * DAY);
        let used = self
            .store
            .search_audit(&hearth_store::AuditQuery {
                account_id: Some(session.account_id.clone()),
                kind: Some("travel_pass_started".into()),
                since: Some(since),
                limit: 100,
                ..Default::default()
            })
            .await?
            .len();
        if used >= self.config.travel.max_passes_per_month as usize {
            return Err(ServiceError::Forbidden("no travel passes left this month"));
        }
        Ok(())
    }

    /// Household move, first step, from a TV-class device at the new home.
    pub async fn request_household_code(
        &self,
        session: &Session,
        channel: CodeChannel,
        client: &Client,
    ) -> ServiceResult<CodeSent> {
        if !parse_device_type(&session.device_type).is_tv_class() {
            return Err(ServiceError::Forbidden(
                "move the household from a TV or console at the new home",
            ));
        }
        self.send_device_code(session, Purpose::HouseholdUpdate, channel, client)
            .await
    }

    /// The code confirms the move: the TV's connection becomes the household's.
    pub async fn confirm_household(
        &self,
        session: &Session,
        code: &str,
        client: &Client,
    ) -> ServiceResult<Decision> {
        let (channel, decision) = self
            .verify_with_code(session, Purpose::HouseholdUpdate, code, client)
            .await?;
        self.audit(
            Some(&session.account_id),
            "household_moved",
            Some(client),
            Some(&session.device_id),
            json!({"ip": client.ip.to_string(), "method": channel}),
        )
        .await?;
        Ok(decision)
    }

    /// The device's standing in the engine's state for the account.
    pub async fn device_standing(&self, account: &str, device: &str) -> ServiceResult<Standing> {
        Ok(match self.engine_state(account).await? {
            Some(state) => state.device_standing(&DeviceId(device.to_owned()), self.clock.now()),
            None => Standing::Unknown,
        })
    }
}

/// An access event for a device talking to Hearth directly, at `ts`.
pub(crate) fn client_event(
    ts: Timestamp,
    account: &str,
    device: &str,
    device_type: DeviceType,
    client: &Client,
    kind: EventKind,
    method: Option<VerifyMethod>,
) -> AccessEvent {
    AccessEvent {
        ts,
        account: AccountId(account.to_owned()),
        device: DeviceId(device.to_owned()),
        device_type,
        ip: client.ip,
        kind,
        method,
        user_agent: client.user_agent.clone(),
        country: None,
        city: None,
        lat: None,
        lon: None,
        asn: None,
        anonymous: None,
        id: None,
    }
}

pub fn parse_device_type(s: &str) -> DeviceType {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(DeviceType::Other)
}

fn code_row(id: &str, r: &CodeRecord, channel: Option<&str>) -> CodeRow {
    CodeRow {
        id: id.to_owned(),
        account_id: r.account.0.clone(),
        purpose: r.purpose.as_str().to_owned(),
        subject: r.subject.clone(),
        hash: r.hash.to_vec(),
        channel: channel.map(str::to_owned),
        created_at: r.created_at,
        expires_at: r.expires_at,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        used: r.used,
    }
}

fn code_record(row: &CodeRow, purpose: Purpose) -> ServiceResult<CodeRecord> {
    let hash: [u8; 32] = row
        .hash
        .as_slice()
        .try_into()
        .map_err(|_| ServiceError::Internal(format!("code {} hash size", row.id)))?;
    Ok(CodeRecord {
        purpose: Purpose::parse(&row.purpose).unwrap_or(purpose),
        account: AccountId(row.account_id.clone()),
        subject: row.subject.clone(),
        hash,
        created_at: row.created_at,
        expires_at: row.expires_at,
        attempts: row.attempts,
        max_attempts: row.max_attempts,
        used: row.used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(mask_email("ana@example.com"), "a•••@example.com");
        assert_eq!(mask_phone("+351912345678"), "+351•••••5678");
    }
}
