//! Security notices to the account owner (issue 9): recorded for the in-app list,
//! then sent by e-mail and/or text as the owner chose. Critical notices (password
//! changed or reset, recovery contact changed, everything signed out) can be neither
//! switched off nor quietened; a burst of new devices becomes one digest; other
//! notices are not repeated within a quiet period (`hearth_courier::noise`).

use super::{now, random_hex, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::time::DAY;
use hearth_courier::noise::{self, NoticeDecision, NoticePolicy, SentNotice};
use hearth_courier::templates::{render_notice, DeviceInfo, Locale, Notice, NoticeContext, Place};
use hearth_store::{Account, NewNotification, NotificationPrefs, Session};

/// Account ids without an owner, as [`App::owner_of`] found them.
///
/// Remembering an absence needs no invalidation, on this node or any other: every
/// account Hearth has gets a fresh random id when it is created (`acc_` and 96
/// random bits, [`App::sign_up`] and [`App::ensure_admin`]), so an id that had no
/// account when an event named it never gets one. Platform accounts whose owners
/// never signed up, which is most of the events' accounts, then cost no lookup per
/// notice: under `bench/wrk/access.lua` those lookups were 0.18 database round
/// trips per access event (BENCHMARKS.md, session 11).
///
/// Bounded like the writer's state cache: full at [`Ownerless::CAPACITY`] ids,
/// it starts over.
#[derive(Debug, Default)]
pub struct Ownerless(std::sync::Mutex<std::collections::HashSet<String>>);

impl Ownerless {
    /// About 8 MiB of ids at most.
    pub const CAPACITY: usize = 100_000;

    pub fn contains(&self, account: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(account)
    }

    pub fn insert(&self, account: &str) {
        let mut ids = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() >= Self::CAPACITY {
            ids.clear();
        }
        ids.insert(account.to_owned());
    }
}

/// Notices an owner may switch off (the critical ones are not in this list).
pub fn switchable() -> Vec<&'static str> {
    Notice::ALL
        .iter()
        .filter(|n| !n.is_security_critical())
        .map(|n| n.as_str())
        .collect()
}

fn parse_notice(kind: &str) -> Option<Notice> {
    Notice::ALL.iter().copied().find(|n| n.as_str() == kind)
}

/// What a notice says about a device, from its session.
pub(crate) fn session_device(session: &Session) -> DeviceInfo {
    let place = session
        .location
        .as_deref()
        .map(|l| match l.rsplit_once(", ") {
            Some((city, country)) => Place {
                city: Some(city.to_owned()),
                country: Some(country.to_owned()),
            },
            None => Place {
                city: None,
                country: Some(l.to_owned()),
            },
        });
    DeviceInfo {
        name: session.name.clone(),
        kind: super::codes::parse_device_type(&session.device_type),
        place,
    }
}

impl App {
    /// The owner's choices; by default e-mail on, text off, nothing switched off.
    pub async fn notification_prefs(&self, account: &str) -> ServiceResult<NotificationPrefs> {
        Ok(self
            .store
            .notification_prefs(account)
            .await?
            .unwrap_or(NotificationPrefs {
                account_id: account.to_owned(),
                email: true,
                sms: false,
                off: Vec::new(),
            }))
    }

    /// Saves the owner's choices; critical or unknown notices cannot be switched off.
    pub async fn set_notification_prefs(&self, prefs: NotificationPrefs) -> ServiceResult<()> {
        let allowed = switchable();
        if let Some(bad) = prefs.off.iter().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ServiceError::Invalid {
                field: "off",
                message: match parse_notice(bad) {
                    Some(_) => format!("{bad} is a security notice and cannot be switched off"),
                    None => format!("unknown notice {bad:?}; one of {}", allowed.join(", ")),
                },
            });
        }
        Ok(self.store.set_notification_prefs(&prefs).await?)
    }

    /// Tells the owner of `account`, if Hearth knows one (platform accounts seen only
    /// through events have none).
    pub(crate) async fn notify(
        &self,
        account: &str,
        notice: Notice,
        device: Option<DeviceInfo>,
    ) -> ServiceResult<()> {
        match self.owner_of(account).await? {
            Some(owner) => self.notify_owner(&owner, notice, device).await,
            None => Ok(()),
        }
    }

    /// The owner of an account the events named, if Hearth has one. An id found
    /// without one is remembered ([`Ownerless`]) and not looked up again.
    pub async fn owner_of(&self, account: &str) -> ServiceResult<Option<Account>> {
        if self.ownerless.contains(account) {
            return Ok(None);
        }
        let owner = self.store.account_by_id(account).await?;
        if owner.is_none() {
            self.ownerless.insert(account);
        }
        Ok(owner)
    }

    pub(crate) async fn notify_owner(
        &self,
        owner: &Account,
        notice: Notice,
        device: Option<DeviceInfo>,
    ) -> ServiceResult<()> {
        self.notify_owner_of(owner, notice, device, 1, None).await
    }

    /// Many wrong passwords were tried on the owner's account since `since`: the
    /// moment sign-in by password is paused, the owner hears of it (once per quiet
    /// period), with how many attempts failed.
    pub(crate) async fn notify_sign_in_attack(
        &self,
        owner: &Account,
        failures: u32,
        since: hearth_core::Timestamp,
    ) -> ServiceResult<()> {
        self.notify_owner_of(owner, Notice::SignInAttack, None, failures, Some(since))
            .await
    }

    /// `count` and `since` say how many and since when, for notices about several
    /// events (a digest works them out itself).
    async fn notify_owner_of(
        &self,
        owner: &Account,
        notice: Notice,
        device: Option<DeviceInfo>,
        count: u32,
        since: Option<hearth_core::Timestamp>,
    ) -> ServiceResult<()> {
        let prefs = self.notification_prefs(&owner.id).await?;
        if !notice.is_security_critical() && prefs.off.iter().any(|k| k == notice.as_str()) {
            return Ok(());
        }
        let t = now();
        let history = self
            .store
            .notifications(&owner.id, t.plus(-DAY), false, 1000)
            .await?;
        let sent: Vec<SentNotice> = history
            .iter()
            .filter(|n| n.delivered)
            .filter_map(|n| parse_notice(&n.kind).map(|notice| SentNotice { notice, at: n.at }))
            .collect();
        let is_new_device =
            |k: &str| k == Notice::NewDeviceHome.as_str() || k == Notice::NewDeviceAway.as_str();
        let mut sign_ins: Vec<_> = history
            .iter()
            .filter(|n| is_new_device(&n.kind))
            .map(|n| n.at)
            .collect();
        sign_ins.push(t);
        let device = device.unwrap_or(DeviceInfo {
            name: String::new(),
            kind: hearth_core::DeviceType::Other,
            place: None,
        });
        let decision = noise::decide(notice, &sent, &sign_ins, t, &NoticePolicy::default());
        let record = |kind: Notice, count: u32, delivered: bool| NewNotification {
            account_id: owner.id.clone(),
            kind: kind.as_str().to_owned(),
            at: t,
            device_name: (!device.name.is_empty()).then(|| device.name.clone()),
            device_type: Some(device.kind.as_str().to_owned()),
            place: device.place.as_ref().map(|p| {
                [p.city.as_deref(), p.country.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            count,
            delivered,
        };
        match decision {
            NoticeDecision::Send(n) => {
                self.store.add_notification(&record(n, count, true)).await?;
                self.deliver_notice(owner, &prefs, n, &device, count, since.unwrap_or(t))
                    .await
            }
            NoticeDecision::Digest { count, since } => {
                self.store
                    .add_notification(&record(notice, 1, false))
                    .await?;
                self.store
                    .add_notification(&record(Notice::NewDevicesDigest, count, true))
                    .await?;
                self.deliver_notice(
                    owner,
                    &prefs,
                    Notice::NewDevicesDigest,
                    &device,
                    count,
                    since,
                )
                .await
            }
            NoticeDecision::Suppress => {
                // New-device sign-ins are kept to count the next burst; other quietened
                // notices leave no row (a resold account's players would add one per
                // event and push the last sent notice out of the history read above).
                if is_new_device(notice.as_str()) {
                    self.store
                        .add_notification(&record(notice, 1, false))
                        .await?;
                }
                self.metrics.inc(
                    "hearth_notices_quietened_total",
                    &[("notice", notice.as_str())],
                );
                Ok(())
            }
        }
    }

    async fn deliver_notice(
        &self,
        owner: &Account,
        prefs: &NotificationPrefs,
        notice: Notice,
        device: &DeviceInfo,
        count: u32,
        at: hearth_core::Timestamp,
    ) -> ServiceResult<()> {
        let t = now();
        let ctx = NoticeContext {
            notice,
            at,
            device: device.clone(),
            count,
        };
        let rendered = render_notice(Locale::from_tag(&owner.locale), &self.brand, &ctx);
        // A critical notice always reaches the owner's address, whatever the channels.
        let email = prefs.email || (notice.is_security_critical() && !prefs.sms);
        let sms = prefs
            .sms
            .then_some(owner.recovery_phone.as_deref())
            .flatten();
        let key = |channel: &str| {
            Some(format!(
                "notice:{}:{}:{channel}:{}",
                owner.id,
                notice.as_str(),
                random_hex(8)
            ))
        };
        if email {
            self.store
                .enqueue(
                    &rendered.email(&owner.email, "notification", key("email")),
                    t,
                )
                .await?;
        }
        if let Some(phone) = sms {
            self.store
                .enqueue(&rendered.sms(phone, "notification", key("sms")), t)
                .await?;
        }
        self.metrics
            .inc("hearth_notices_total", &[("notice", notice.as_str())]);
        Ok(())
    }
}
