//! Security notices to the account owner by e-mail, through the outbox. Critical
//! ones (password changed or reset, recovery contact changed, everything signed
//! out) always go; the others at most once an hour per kind.

use super::{now, random_hex, ServiceResult};
use crate::app::App;
use hearth_core::time::HOUR;
use hearth_courier::templates::{render_notice, DeviceInfo, Locale, Notice, NoticeContext};
use hearth_store::Account;

impl App {
    /// Sends `notice` about `device` to the owner of `account` (if Hearth knows the
    /// account's owner: platform accounts seen only through events have none).
    pub(crate) async fn notify(
        &self,
        account: &str,
        notice: Notice,
        device: Option<DeviceInfo>,
    ) -> ServiceResult<()> {
        let Some(owner) = self.store.account_by_id(account).await? else {
            return Ok(());
        };
        self.notify_owner(&owner, notice, device).await
    }

    pub(crate) async fn notify_owner(
        &self,
        owner: &Account,
        notice: Notice,
        device: Option<DeviceInfo>,
    ) -> ServiceResult<()> {
        let t = now();
        let device = device.unwrap_or(DeviceInfo {
            name: String::new(),
            kind: hearth_core::DeviceType::Other,
            place: None,
        });
        let rendered = render_notice(
            Locale::from_tag(&owner.locale),
            &self.brand,
            &NoticeContext {
                notice,
                at: t,
                device,
                count: 1,
            },
        );
        let dedupe = if notice.is_security_critical() {
            format!("notice:{}:{}:{}", owner.id, notice.as_str(), random_hex(8))
        } else {
            format!("notice:{}:{}:{}", owner.id, notice.as_str(), t.0 / HOUR)
        };
        self.store
            .enqueue(
                &rendered.email(&owner.email, "notification", Some(dedupe)),
                t,
            )
            .await?;
        self.metrics
            .inc("hearth_notices_total", &[("notice", notice.as_str())]);
        Ok(())
    }
}
