//! Sign-up, sign-in with brute-force protection, password changes, the recovery
//! phone and the owner's reports ("this wasn't me", "I entered my details on a fake
//! site").

use super::{normalize_email, random_hex, valid_e164, Client, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::password::{HashCheck, PasswordReport};
use hearth_core::{Decision, DeviceType, EventKind, Timestamp, VerifyMethod};
use hearth_courier::templates::Notice;
use hearth_store::{Account, NewAccount, NewAudit, NewSession, Role, Session};
use serde::Serialize;
use serde_json::json;
use tokio::sync::SemaphorePermit;

/// A turn to hash: a slot, and while access events queue up, the busy-time slot.
type HashTurn<'a> = (SemaphorePermit<'a>, Option<SemaphorePermit<'a>>);

pub struct SignUp {
    pub email: String,
    pub password: String,
    pub recovery_phone: Option<String>,
    pub locale: Option<String>,
}

pub struct SignIn {
    pub email: String,
    pub password: String,
    pub device_id: Option<String>,
    pub device_type: DeviceType,
    pub device_name: Option<String>,
}

pub struct SignedIn {
    pub token: String,
    /// A secret for the device to keep and present at its next sign-in: it proves the
    /// device signed in before, so the account-wide failure lock does not hold it back.
    pub device_key: String,
    pub session: Session,
    pub must_change_password: bool,
    pub decision: Decision,
}

/// One piece of advice after a phishing mishap, with a stable code.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Guidance {
    pub code: &'static str,
    pub text: String,
}

pub const LOCALES: [&str; 4] = ["en", "fr", "pt", "es"];

impl App {
    pub(crate) async fn audit(
        &self,
        account: Option<&str>,
        kind: &str,
        client: Option<&Client>,
        device: Option<&str>,
        detail: serde_json::Value,
    ) -> ServiceResult<()> {
        self.store
            .append_audit(&self.audit_record(account, kind, client, device, detail))
            .await?;
        Ok(())
    }

    /// An audit record stamped now, for [`App::audit`] or to be written with the
    /// change it records.
    pub(crate) fn audit_record(
        &self,
        account: Option<&str>,
        kind: &str,
        client: Option<&Client>,
        device: Option<&str>,
        detail: serde_json::Value,
    ) -> NewAudit {
        NewAudit {
            account_id: account.map(str::to_owned),
            at: self.clock.now(),
            kind: kind.to_owned(),
            ip: client.map(|c| c.ip.to_string()),
            device_id: device.map(str::to_owned),
            detail: detail.to_string(),
        }
    }

    /// Checks a candidate password against the policy and the optional breach list.
    pub fn check_password(&self, candidate: &str, email: Option<&str>) -> PasswordReport {
        let breached = match &self.breached {
            Some(list) => match list.count(candidate) {
                Ok(n) => n > 0,
                Err(e) => {
                    // The corpus is an extra screen: a read error must not block sign-ups.
                    tracing::warn!(error = %e, "breached-password lookup failed");
                    false
                }
            },
            None => false,
        };
        self.policy.check(candidate, email, breached)
    }

    /// Waits for a turn to hash: one of `[hashing] max_concurrent` slots, and while
    /// access events wait for their commit, the single busy-time slot as well, once
    /// the last busy-time hash has rested ([`App::rest_after_busy_hash`]). Sign-ins
    /// then take part of one core rather than all of them, and the decisions
    /// playback waits for keep the rest.
    async fn hash_turn(&self) -> ServiceResult<HashTurn<'_>> {
        self.hash_turn_at(self.writer.get().map_or(0, |w| w.in_flight()))
            .await
    }

    /// [`App::hash_turn`] with `backlog` access events waiting for their commit.
    async fn hash_turn_at(&self, backlog: usize) -> ServiceResult<HashTurn<'_>> {
        let closed = |e: tokio::sync::AcquireError| ServiceError::Internal(e.to_string());
        let slot = self.hash_slots.acquire().await.map_err(closed)?;
        let threshold = self.config.hashing.busy_backlog;
        let busy = threshold > 0 && backlog >= threshold;
        let busy_slot = if busy {
            let permit = self.busy_hash_slot.acquire().await.map_err(closed)?;
            let rest = *self
                .busy_rest_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(until) = rest.filter(|t| *t > tokio::time::Instant::now()) {
                tokio::time::sleep_until(until).await;
            }
            Some(permit)
        } else {
            None
        };
        Ok((slot, busy_slot))
    }

    /// After a busy-time hash that took `spent` of its thread's CPU, the next one
    /// waits long enough for hashes to use `[hashing] busy_share` of one core.
    pub(crate) fn rest_after_busy_hash(&self, spent: std::time::Duration) {
        let share = self.config.hashing.busy_share;
        let rest = spent.mul_f64((1.0 / share - 1.0).max(0.0));
        *self
            .busy_rest_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(tokio::time::Instant::now() + rest);
    }

    /// Runs `f` (a hash) on the hashing threads once it is its turn, and times both:
    /// `hearth_password_hash_wait_seconds` for the turn, `hearth_password_hash_seconds`
    /// for the hash. The hashing threads yield to everything else, so the second grows
    /// when other work keeps the cores busy.
    async fn hash_with<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let asked = std::time::Instant::now();
        let turn = self.hash_turn().await?;
        let began = std::time::Instant::now();
        self.metrics.observe(
            "hearth_password_hash_wait_seconds",
            &[],
            (began - asked).as_secs_f64(),
        );
        let (out, cpu) = self
            .hash_threads
            .run(move || {
                let t0 = crate::hashing::thread_cpu_time();
                let out = f();
                let cpu = crate::hashing::thread_cpu_time()
                    .zip(t0)
                    .map(|(t1, t0)| t1 - t0);
                (out, cpu)
            })
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let wall = began.elapsed();
        self.metrics
            .observe("hearth_password_hash_seconds", &[], wall.as_secs_f64());
        if turn.1.is_some() {
            self.rest_after_busy_hash(cpu.unwrap_or(wall));
        }
        drop(turn);
        Ok(out)
    }

    pub(crate) async fn hash_new_password(&self, password: &str) -> ServiceResult<String> {
        let hasher = self.hasher.clone();
        let pw = password.to_owned();
        self.hash_with(move || hasher.hash(&pw, &mut rand::rngs::OsRng))
            .await?
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    async fn verify_password(&self, password: &str, stored: &str) -> ServiceResult<HashCheck> {
        let hasher = self.hasher.clone();
        let (pw, stored) = (password.to_owned(), stored.to_owned());
        self.hash_with(move || hasher.verify(&pw, &stored)).await
    }

    fn require_strong(&self, password: &str, email: &str) -> ServiceResult<()> {
        let report = self.check_password(password, Some(email));
        if report.accepted {
            Ok(())
        } else {
            Err(ServiceError::WeakPassword(report))
        }
    }

    /// Creates an account. The answer is the same whether or not the address was
    /// already registered, so sign-up cannot be used to learn who is a member.
    pub async fn sign_up(&self, req: SignUp, client: &Client) -> ServiceResult<()> {
        let email = normalize_email(&req.email).ok_or(ServiceError::Invalid {
            field: "email",
            message: "not an e-mail address".into(),
        })?;
        let phone = match req
            .recovery_phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) if valid_e164(p) => Some(p.to_owned()),
            Some(_) => {
                return Err(ServiceError::Invalid {
                    field: "recovery_phone",
                    message: "use the international E.164 form, e.g. +351912345678".into(),
                })
            }
            None => None,
        };
        let locale = req.locale.unwrap_or_else(|| "en".into());
        if !LOCALES.contains(&locale.as_str()) {
            return Err(ServiceError::Invalid {
                field: "locale",
                message: format!("one of {}", LOCALES.join(", ")),
            });
        }
        self.require_strong(&req.password, &email)?;
        let hash = self.hash_new_password(&req.password).await?;
        let created = self
            .store
            .create_account(&NewAccount {
                id: format!("acc_{}", random_hex(12)),
                email,
                password_hash: hash,
                recovery_phone: phone,
                locale,
                role: Role::Member,
                created_at: self.clock.now(),
            })
            .await;
        match created {
            Ok(account) => {
                self.metrics.inc("hearth_sign_ups_total", &[]);
                self.audit(
                    Some(&account.id),
                    "account_created",
                    Some(client),
                    None,
                    json!({}),
                )
                .await
            }
            Err(hearth_store::StoreError::Conflict(_)) => {
                let existing = self
                    .store
                    .account_by_email(&normalize_email(&req.email).unwrap_or_default())
                    .await?;
                let id = existing.map(|a| a.id);
                self.audit(
                    id.as_deref(),
                    "sign_up_with_existing_email",
                    Some(client),
                    None,
                    json!({}),
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the first administrator when there is none; returns its password once.
    pub async fn ensure_admin(&self, email: &str) -> ServiceResult<Option<String>> {
        if self.store.account_by_email(email).await?.is_some() {
            return Ok(None);
        }
        let password = format!("Hh-{}-{}!", random_hex(6), random_hex(6).to_uppercase());
        let hash = self.hash_new_password(&password).await?;
        self.store
            .create_account(&NewAccount {
                id: format!("acc_{}", random_hex(12)),
                email: email.to_owned(),
                password_hash: hash,
                recovery_phone: None,
                locale: "en".into(),
                role: Role::Admin,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(Some(password))
    }

    /// The failure counter of an e-mail address, keyed so the store holds no addresses.
    pub(crate) fn email_counter_key(&self, email: &str) -> String {
        format!(
            "acct:{}",
            &hex::encode(self.key.mac("counter", &[email.as_bytes()]))[..32]
        )
    }

    /// Refuses an attempt while the account, the source address or a stuffing run is
    /// being throttled. Counters are kept per e-mail address, so unknown and known
    /// addresses behave alike.
    async fn throttle_guard(
        &self,
        account: Option<&Account>,
        email: &str,
        device_key: Option<&str>,
        client: &Client,
    ) -> ServiceResult<()> {
        let t = self.clock.now();
        let ip = client.ip.to_string();
        let known_device = match (account, device_key) {
            (Some(a), Some(k)) => {
                self.store
                    .device_key_known(&a.id, &self.key.mac("device-key", &[k.as_bytes()]))
                    .await?
            }
            _ => false,
        };
        let keys = [
            self.email_counter_key(email),
            format!("ip:{ip}"),
            format!("distinct:{ip}"),
        ];
        let Ok([by_email, by_ip, distinct]) =
            <[_; 3]>::try_from(self.counters.counters(&keys).await?)
        else {
            return Err(ServiceError::Internal(
                "counters: wrong number of rows".into(),
            ));
        };
        let verdict = self
            .config
            .throttle
            .check(by_email, by_ip, distinct, known_device, t);
        if let Err((block, until)) = verdict {
            self.metrics
                .inc("hearth_sign_ins_total", &[("result", block.as_str())]);
            self.metrics.inc(
                "hearth_sign_in_failures_total",
                &[("reason", block.as_str())],
            );
            let retry_after_secs = u64::try_from(until.since(t).max(1_000) / 1_000).unwrap_or(1);
            return Err(ServiceError::TooManyAttempts {
                block,
                retry_after_secs,
            });
        }
        Ok(())
    }

    /// Signs a device in. Unknown addresses and wrong passwords get the same error
    /// and cost the same hash; repeated failures slow down and then pause the
    /// account, throttle the source address, and spot one address trying many
    /// accounts.
    pub async fn sign_in(&self, req: SignIn, client: &Client) -> ServiceResult<SignedIn> {
        self.sign_in_device(req, None, client).await
    }

    /// [`App::sign_in`] for a device that presents the device key of an earlier sign-in.
    pub async fn sign_in_device(
        &self,
        req: SignIn,
        device_key: Option<&str>,
        client: &Client,
    ) -> ServiceResult<SignedIn> {
        let t = self.clock.now();
        let email = normalize_email(&req.email).unwrap_or_else(|| req.email.trim().to_lowercase());
        let acct_key = self.email_counter_key(&email);
        let account = self.store.account_by_email(&email).await?;
        self.throttle_guard(account.as_ref(), &email, device_key, client)
            .await?;

        let stored = account
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let check = self.verify_password(&req.password, &stored).await?;
        let account = match (account, check) {
            (Some(a), HashCheck::Match | HashCheck::MatchNeedsRehash) => {
                if check == HashCheck::MatchNeedsRehash {
                    let fresh = self.hash_new_password(&req.password).await?;
                    self.store.rehash_password(&a.id, &fresh).await?;
                }
                a
            }
            (account, _) => {
                self.record_failure(account.as_ref(), &acct_key, client, t, "password")
                    .await?;
                return Err(ServiceError::InvalidCredentials);
            }
        };
        self.open_session(
            account,
            req.device_id,
            req.device_type,
            req.device_name,
            None,
            client,
        )
        .await
    }

    /// S5: a family member's device signs in with the owner's e-mail and a one-time
    /// sign-in code the owner created; the password never leaves the owner. The device
    /// counts as verified by the owner.
    pub async fn sign_in_with_code(&self, req: SignIn, client: &Client) -> ServiceResult<SignedIn> {
        self.sign_in_device_with_code(req, None, client).await
    }

    /// [`App::sign_in_with_code`] with the device key of an earlier sign-in.
    pub async fn sign_in_device_with_code(
        &self,
        req: SignIn,
        device_key: Option<&str>,
        client: &Client,
    ) -> ServiceResult<SignedIn> {
        let t = self.clock.now();
        let email = normalize_email(&req.email).unwrap_or_else(|| req.email.trim().to_lowercase());
        let acct_key = self.email_counter_key(&email);
        let account = self.store.account_by_email(&email).await?;
        self.throttle_guard(account.as_ref(), &email, device_key, client)
            .await?;
        let checked = match &account {
            Some(a) => {
                self.check_code(
                    &a.id,
                    hearth_core::codes::Purpose::SignInCode,
                    &a.id,
                    &req.password,
                )
                .await
            }
            None => Err(ServiceError::NoCode),
        };
        let account = match (account, checked) {
            (Some(a), Ok(_)) => a,
            (account, Err(e)) => {
                self.record_failure(account.as_ref(), &acct_key, client, t, "code")
                    .await?;
                return Err(match e {
                    ServiceError::Code(_) | ServiceError::NoCode => {
                        ServiceError::InvalidCredentials
                    }
                    other => other,
                });
            }
            (None, Ok(_)) => return Err(ServiceError::InvalidCredentials),
        };
        self.open_session(
            account,
            req.device_id,
            req.device_type,
            req.device_name,
            Some(VerifyMethod::SignInCode),
            client,
        )
        .await
    }

    /// Clears the failure counts, creates the device session (a new id and token at
    /// every sign-in), and runs the engine on the sign-in.
    async fn open_session(
        &self,
        account: Account,
        device_id: Option<String>,
        device_type: DeviceType,
        device_name: Option<String>,
        verified_by: Option<VerifyMethod>,
        client: &Client,
    ) -> ServiceResult<SignedIn> {
        let t = self.clock.now();
        let acct_key = self.email_counter_key(&account.email);
        let ip = client.ip.to_string();
        let pair = format!("pair:{ip}:{acct_key}");
        self.counters.clear_counters(&[acct_key, pair]).await?;
        let token = format!("hs_{}", random_hex(32));
        let device_key = format!("hk_{}", random_hex(16));
        let device_id = device_id
            .filter(|d| !d.trim().is_empty() && d.len() <= 128)
            .unwrap_or_else(|| format!("d-{}", random_hex(8)));
        let name = device_name
            .map(|n| {
                n.chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect::<String>()
            })
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| default_device_name(device_type, client.user_agent.as_deref()));
        let first_time = !self.store.device_known(&account.id, &device_id).await?;
        let sign_in = super::codes::client_event(
            t,
            &account.id,
            &device_id,
            device_type,
            client,
            EventKind::SignIn,
            None,
        );
        let location = self.locate(&sign_in);
        let session_id = format!("ses_{}", random_hex(12));
        let how = if verified_by.is_some() {
            "sign_in_code"
        } else {
            "password"
        };
        let audit = self.audit_record(
            Some(&account.id),
            "sign_in_succeeded",
            Some(client),
            Some(&device_id),
            json!({"session": session_id, "with": how}),
        );
        let session = self
            .store
            .create_session(&NewSession {
                id: session_id,
                account_id: account.id.clone(),
                token_hash: self.key.mac("session", &[token.as_bytes()]).to_vec(),
                device_key_hash: Some(
                    self.key
                        .mac("device-key", &[device_key.as_bytes()])
                        .to_vec(),
                ),
                device_id: device_id.clone(),
                device_type: device_type.as_str().to_owned(),
                name,
                ip,
                user_agent: client.user_agent.clone(),
                location,
                now: t,
                audit: Some(audit),
            })
            .await?;
        self.metrics
            .inc("hearth_sign_ins_total", &[("result", "succeeded")]);
        let mut decision = self.access(sign_in).await?;
        if let Some(method) = verified_by {
            decision = self
                .access(self.device_event(&session, client, EventKind::Verified, Some(method)))
                .await?;
        }
        if first_time {
            // A device the account has never had: calm at home, a warning away from it
            // (a burst of them is folded into one digest).
            let notice = if decision.reasons.contains(&hearth_core::Reason::AtHome) {
                Notice::NewDeviceHome
            } else {
                Notice::NewDeviceAway
            };
            self.notify_owner(
                &account,
                notice,
                Some(super::notify::session_device(&session)),
            )
            .await?;
        }
        Ok(SignedIn {
            token,
            device_key,
            session,
            must_change_password: account.must_change_password,
            decision,
        })
    }

    async fn record_failure(
        &self,
        account: Option<&Account>,
        acct_key: &str,
        client: &Client,
        t: Timestamp,
        method: &str,
    ) -> ServiceResult<()> {
        let reason = match account {
            Some(_) => format!("wrong_{method}"),
            None => "unknown_account".to_owned(),
        };
        self.metrics
            .inc("hearth_sign_in_failures_total", &[("reason", &reason)]);
        let window = self.config.throttle.window_ms;
        let ip = client.ip.to_string();
        let failures = self.counters.bump_counter(acct_key, t, window).await?;
        // The failure that pauses password sign-in tells the owner, once per window.
        if let Some(owner) = account {
            if failures.count == self.config.throttle.free_failures.max(1) {
                self.notify_sign_in_attack(owner, failures.count, failures.first_at)
                    .await?;
            }
        }
        self.counters
            .bump_counter(&format!("ip:{ip}"), t, window)
            .await?;
        let pair = self
            .counters
            .bump_counter(&format!("pair:{ip}:{acct_key}"), t, window)
            .await?;
        if pair.count == 1 {
            let distinct = self
                .counters
                .bump_counter(&format!("distinct:{ip}"), t, window)
                .await?;
            if distinct.count == self.config.throttle.stuffing_accounts {
                self.metrics
                    .inc("hearth_credential_stuffing_detected_total", &[]);
                self.audit(
                    None,
                    "credential_stuffing_detected",
                    Some(client),
                    None,
                    json!({"accounts": distinct.count}),
                )
                .await?;
            }
        }
        self.metrics
            .inc("hearth_sign_ins_total", &[("result", "failed")]);
        self.audit(
            account.map(|a| a.id.as_str()),
            "sign_in_failed",
            Some(client),
            None,
            json!({"failures": failures.count, "locked": self.config.throttle.delay_after(failures.count) > 0}),
        )
        .await
    }

    /// Changes the password and signs out every other device.
    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new_password: &str,
        client: &Client,
    ) -> ServiceResult<u64> {
        let account = self
            .store
            .account_by_id(&session.account_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if !matches!(
            self.verify_password(current, &account.password_hash)
                .await?,
            HashCheck::Match | HashCheck::MatchNeedsRehash
        ) {
            self.metrics.inc(
                "hearth_password_changes_total",
                &[("result", "wrong_current")],
            );
            return Err(ServiceError::Invalid {
                field: "current_password",
                message: "the current password is wrong".into(),
            });
        }
        if current == new_password {
            return Err(ServiceError::Invalid {
                field: "new_password",
                message: "choose a password you have not used here".into(),
            });
        }
        self.require_strong(new_password, &account.email)?;
        let hash = self.hash_new_password(new_password).await?;
        let t = self.clock.now();
        self.store
            .set_password(&account.id, &hash, t, false)
            .await?;
        let signed_out = self
            .store
            .revoke_all_sessions(&account.id, Some(&session.id), "password_changed", t)
            .await?;
        self.metrics
            .inc("hearth_password_changes_total", &[("result", "changed")]);
        self.notify_owner(&account, Notice::PasswordChanged, None)
            .await?;
        self.audit(
            Some(&account.id),
            "password_changed",
            Some(client),
            Some(&session.device_id),
            json!({"other_devices_signed_out": signed_out}),
        )
        .await?;
        Ok(signed_out)
    }

    pub async fn set_recovery_phone(
        &self,
        session: &Session,
        phone: Option<&str>,
        client: &Client,
    ) -> ServiceResult<()> {
        let phone = phone.map(str::trim).filter(|p| !p.is_empty());
        if let Some(p) = phone {
            if !valid_e164(p) {
                return Err(ServiceError::Invalid {
                    field: "phone",
                    message: "use the international E.164 form, e.g. +351912345678".into(),
                });
            }
        }
        self.store
            .set_recovery_phone(&session.account_id, phone)
            .await?;
        let kind = if phone.is_some() {
            "recovery_phone_set"
        } else {
            "recovery_phone_removed"
        };
        self.notify(&session.account_id, Notice::RecoveryContactChanged, None)
            .await?;
        self.audit(
            Some(&session.account_id),
            kind,
            Some(client),
            Some(&session.device_id),
            json!({}),
        )
        .await
    }

    /// "This wasn't me" on one device: sign it out, record it, flag the account.
    pub async fn report_not_me(
        &self,
        session: &Session,
        device_session: &str,
        client: &Client,
    ) -> ServiceResult<Session> {
        let target = self
            .store
            .session(&session.account_id, device_session)
            .await?
            .ok_or(ServiceError::NotFound("device"))?;
        let t = self.clock.now();
        self.store
            .revoke_session(&session.account_id, device_session, "reported_not_me", t)
            .await?;
        self.store
            .flag_account(&session.account_id, "this_wasnt_me", t)
            .await?;
        self.metrics
            .inc("hearth_reports_total", &[("kind", "this_wasnt_me")]);
        self.audit(
            Some(&session.account_id),
            "report_this_wasnt_me",
            Some(client),
            Some(&target.device_id),
            json!({"session": target.id, "device_name": target.name, "ip": target.ip}),
        )
        .await?;
        Ok(target)
    }

    /// "I entered my details on a fake site": sign out everywhere, force a new
    /// password at next sign-in, flag the account, and say what else to do.
    pub async fn report_compromised(
        &self,
        session: &Session,
        client: &Client,
    ) -> ServiceResult<(u64, Vec<Guidance>)> {
        let t = self.clock.now();
        let signed_out = self
            .store
            .revoke_all_sessions(&session.account_id, None, "reported_compromised", t)
            .await?;
        self.store
            .set_must_change_password(&session.account_id, true)
            .await?;
        self.store
            .flag_account(&session.account_id, "entered_details_on_fake_site", t)
            .await?;
        self.metrics.inc(
            "hearth_reports_total",
            &[("kind", "entered_details_on_fake_site")],
        );
        self.notify(&session.account_id, Notice::AllDevicesSignedOut, None)
            .await?;
        self.audit(
            Some(&session.account_id),
            "report_entered_details_on_fake_site",
            Some(client),
            Some(&session.device_id),
            json!({"devices_signed_out": signed_out}),
        )
        .await?;
        Ok((
            signed_out,
            compromise_guidance(&self.config.phishing_report_address),
        ))
    }
}

pub fn compromise_guidance(report_address: &str) -> Vec<Guidance> {
    vec![
        Guidance {
            code: "change_password_here",
            text: "Sign in again and choose a new password: every device has been signed out and a new password is required.".into(),
        },
        Guidance {
            code: "change_reused_passwords",
            text: "If you used the same password anywhere else, change it there too.".into(),
        },
        Guidance {
            code: "contact_bank",
            text: "If you typed card or bank details into that site, call your bank now with the number on your card.".into(),
        },
        Guidance {
            code: "forward_the_message",
            text: format!("Forward the message that led you there to {report_address}, then delete it."),
        },
        Guidance {
            code: "we_never_ask",
            text: "We never ask for your password, card number or bank details in a message.".into(),
        },
    ]
}

fn default_device_name(kind: DeviceType, user_agent: Option<&str>) -> String {
    let base = match kind {
        DeviceType::Tv => "TV",
        DeviceType::Mobile => "Phone",
        DeviceType::Tablet => "Tablet",
        DeviceType::Computer => "Computer",
        DeviceType::Console => "Console",
        DeviceType::Other => "Device",
    };
    match user_agent.and_then(|ua| ua.split(['/', ' ', ';']).find(|s| s.len() > 2)) {
        Some(product) => format!("{base} ({})", product.chars().take(24).collect::<String>()),
        None => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::testkit::TestServer;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Whether a future finishes at its first poll.
    fn ready_now<F: Future>(f: F) -> bool {
        let mut f = pin!(f);
        matches!(
            f.as_mut().poll(&mut Context::from_waker(Waker::noop())),
            Poll::Ready(_)
        )
    }

    #[tokio::test]
    async fn hashes_go_one_at_a_time_while_access_events_queue() {
        let s = TestServer::start(|c| {
            c.hashing.max_concurrent = 2;
            c.hashing.busy_backlog = 4;
        })
        .await;
        let app = &s.app;
        // Quiet: both slots at once.
        let first = app.hash_turn_at(3).await.unwrap();
        assert!(
            ready_now(app.hash_turn_at(3)),
            "a second hash waited while quiet"
        );
        drop(first);
        // Busy: a second hash waits for the first.
        let first = app.hash_turn_at(4).await.unwrap();
        assert!(
            !ready_now(app.hash_turn_at(4)),
            "two hashes at once while busy"
        );
        drop(first);
        // A hash started while quiet holds only its slot: a busy one may run beside it.
        let quiet = app.hash_turn_at(0).await.unwrap();
        assert!(
            ready_now(app.hash_turn_at(4)),
            "a quiet hash held a busy one back"
        );
        drop(quiet);
        s.stop().await;
    }

    /// A busy-time hash that took 100 ms of CPU at a share of a quarter makes the
    /// next busy-time hash wait 300 ms; a quiet-time hash does not wait.
    #[tokio::test]
    async fn busy_hashes_rest_for_the_rest_of_their_share() {
        let s = TestServer::start(|c| {
            c.hashing.max_concurrent = 2;
            c.hashing.busy_backlog = 4;
            c.hashing.busy_share = 0.25;
        })
        .await;
        let app = &s.app;
        assert!(ready_now(app.hash_turn_at(4)), "nothing to rest from yet");
        app.rest_after_busy_hash(std::time::Duration::from_millis(100));
        let began = std::time::Instant::now();
        assert!(!ready_now(app.hash_turn_at(4)), "a busy hash did not rest");
        assert!(ready_now(app.hash_turn_at(0)), "a quiet hash rested");
        let turn = app.hash_turn_at(4).await.unwrap();
        let waited = began.elapsed();
        assert!(
            waited >= std::time::Duration::from_millis(300),
            "{waited:?}"
        );
        drop(turn);
        assert!(ready_now(app.hash_turn_at(4)), "rested twice");
        s.stop().await;
    }

    /// Sign-ins leave tokio's blocking threads at the process's priority: the name
    /// lookups behind mail and SMS delivery run there, and a lowered one would wait
    /// behind every busy core.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_leaves_the_blocking_threads_at_full_priority() {
        // SAFETY: both take plain integers and touch no memory; pid 0 is the caller.
        let class = || unsafe {
            (
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
            )
        };
        let before = tokio::task::spawn_blocking(class).await.unwrap();
        let s = TestServer::start(|_| {}).await;
        for _ in 0..3 {
            let check = s
                .app
                .verify_password("Correct-Horse-7-Battery", &s.app.dummy_hash)
                .await
                .unwrap();
            assert_eq!(check, hearth_core::password::HashCheck::Mismatch);
            s.app
                .hash_new_password("Correct-Horse-7-Battery")
                .await
                .unwrap();
        }
        for _ in 0..4 {
            assert_eq!(tokio::task::spawn_blocking(class).await.unwrap(), before);
        }
        s.stop().await;
    }

    #[tokio::test]
    async fn busy_backlog_zero_never_holds_hashes_back() {
        let s = TestServer::start(|c| {
            c.hashing.max_concurrent = 2;
            c.hashing.busy_backlog = 0;
        })
        .await;
        let first = s.app.hash_turn_at(1000).await.unwrap();
        assert!(ready_now(s.app.hash_turn_at(1000)));
        drop(first);
        s.stop().await;
    }
}
