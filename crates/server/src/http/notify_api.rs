//! The owner's security notices: the in-app list and the switches.

use super::error::{ApiError, ErrorBody};
use super::extract::{Auth, Body};
use super::AppState;
use crate::service::notify::switchable;
use crate::service::ServiceError;
use axum::extract::State;
use axum::Json;
use hearth_core::Timestamp;
use hearth_store::NotificationPrefs;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize, ToSchema)]
pub struct NotificationBody {
    pub id: i64,
    /// The notice's stable code: `new_device_home`, `new_device_away`,
    /// `new_devices_digest`, `password_changed`, `classified_resold`, …
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub device_name: Option<String>,
    pub device_type: Option<String>,
    pub place: Option<String>,
    /// For a digest: how many devices.
    pub count: u32,
    pub read: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Notices by e-mail to the account's address.
    pub email: bool,
    /// Notices by text to the recovery phone.
    pub sms: bool,
    /// Notice kinds switched off (security notices cannot be).
    pub off: Vec<String>,
}

/// The settings and the kinds that may be switched off. Its fields are spelled out
/// rather than flattened from [`SettingsBody`], whose schema forbids other fields.
#[derive(Serialize, ToSchema)]
pub struct SettingsView {
    /// Notices by e-mail to the account's address.
    pub email: bool,
    /// Notices by text to the recovery phone.
    pub sms: bool,
    /// Notice kinds switched off (security notices cannot be).
    pub off: Vec<String>,
    /// The kinds that may be switched off.
    pub switchable: Vec<String>,
}

impl From<SettingsBody> for SettingsView {
    fn from(s: SettingsBody) -> Self {
        SettingsView {
            email: s.email,
            sms: s.sms,
            off: s.off,
            switchable: switchable().into_iter().map(str::to_owned).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReadBody {
    /// One notice; absent marks them all read.
    pub id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadDone {
    pub marked: u64,
}

#[utoipa::path(get, path = "/v1/me/notifications", tag = "notifications", security(("session" = [])),
    responses((status = 200, description = "Security notices of the last 90 days, newest first", body = [NotificationBody])))]
pub async fn list(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<NotificationBody>>> {
    let since = crate::service::now().plus(-90 * hearth_core::time::DAY);
    let rows = app
        .store
        .notifications(&auth.account.id, since, true, 200)
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(
        rows.into_iter()
            .map(|n| NotificationBody {
                id: n.id,
                kind: n.kind,
                at: n.at,
                device_name: n.device_name,
                device_type: n.device_type,
                place: n.place,
                count: n.count,
                read: n.read_at.is_some(),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/v1/me/notifications/read", tag = "notifications", security(("session" = [])), request_body = ReadBody,
    responses((status = 200, body = ReadDone)))]
pub async fn mark_read(
    State(app): State<AppState>,
    auth: Auth,
    Body(b): Body<ReadBody>,
) -> ApiResult<Json<ReadDone>> {
    let n = app
        .store
        .mark_notifications_read(&auth.account.id, b.id, crate::service::now())
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(ReadDone { marked: n }))
}

#[utoipa::path(get, path = "/v1/me/notification-settings", tag = "notifications", security(("session" = [])),
    responses((status = 200, body = SettingsView)))]
pub async fn settings(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<SettingsView>> {
    let p = app.notification_prefs(&auth.account.id).await?;
    Ok(Json(SettingsView::from(SettingsBody {
        email: p.email,
        sms: p.sms,
        off: p.off,
    })))
}

#[utoipa::path(put, path = "/v1/me/notification-settings", tag = "notifications", security(("session" = [])), request_body = SettingsBody,
    responses((status = 200, body = SettingsView), (status = 400, description = "A security notice or an unknown kind in `off`", body = ErrorBody)))]
pub async fn set_settings(
    State(app): State<AppState>,
    auth: Auth,
    Body(b): Body<SettingsBody>,
) -> ApiResult<Json<SettingsView>> {
    if b.sms && auth.account.recovery_phone.is_none() {
        return Err(ApiError::bad_request(
            "sms",
            "add a recovery phone before choosing texts",
        ));
    }
    app.set_notification_prefs(NotificationPrefs {
        account_id: auth.account.id.clone(),
        email: b.email,
        sms: b.sms,
        off: b.off.clone(),
    })
    .await?;
    Ok(Json(SettingsView::from(b)))
}
