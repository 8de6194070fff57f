//! JSON handlers under `/v1/`. Each one reads the request, calls the service and
//! writes the answer; the decisions are made in `service` and `core`.

use super::error::{ApiError, ErrorBody};
use super::extract::{ActiveAuth, Admin, Auth, Body, Platform};
use super::views::*;
use super::AppState;
use crate::service::accounts::{SignIn, SignUp};
use crate::service::Client;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hearth_core::AccessEvent;
use hearth_store::AuditQuery;
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = SignUpBody,
    responses((status = 202, description = "Created, or the address already had an account (same answer)", body = Accepted),
              (status = 400, body = ErrorBody), (status = 422, description = "Password refused, with the rules it broke", body = ErrorBody)))]
pub async fn sign_up(
    State(app): State<AppState>,
    client: Client,
    Body(b): Body<SignUpBody>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    app.sign_up(
        SignUp {
            email: b.email,
            password: b.password,
            recovery_phone: b.recovery_phone,
            locale: b.locale,
        },
        &client,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "accepted",
            next: "sign_in",
        }),
    ))
}

#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = SignInBody,
    responses((status = 201, body = SignedInBody), (status = 401, body = ErrorBody),
              (status = 429, description = "Too many failures: wait Retry-After seconds", body = ErrorBody)))]
pub async fn sign_in(
    State(app): State<AppState>,
    client: Client,
    Body(b): Body<SignInBody>,
) -> ApiResult<(StatusCode, Json<SignedInBody>)> {
    let key = b.device_key;
    let req = SignIn {
        email: b.email,
        password: b.password,
        device_id: b.device_id,
        device_type: b.device_type,
        device_name: b.device_name,
    };
    let s = app.sign_in_device(req, key.as_deref(), &client).await?;
    Ok((StatusCode::CREATED, Json(SignedInBody::from(s))))
}

#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("session" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
pub async fn sign_out_current(State(app): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    app.sign_out_device(&auth.session, &auth.session.id, &auth.client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/me", tag = "account", security(("session" = [])),
    responses((status = 200, body = MeBody), (status = 401, body = ErrorBody)))]
pub async fn me(auth: Auth) -> Json<MeBody> {
    Json(MeBody::from(&auth.account))
}

#[utoipa::path(get, path = "/v1/me/devices", tag = "devices", security(("session" = [])),
    responses((status = 200, body = [DeviceBody]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn devices(
    State(app): State<AppState>,
    ActiveAuth(auth): ActiveAuth,
) -> ApiResult<Json<Vec<DeviceBody>>> {
    let list = app.list_devices(&auth.account.id).await?;
    let state = app.engine_state(&auth.account.id).await?;
    let now = crate::service::now();
    Ok(Json(
        list.iter()
            .map(|s| {
                let mut d = DeviceBody::new(s, &auth.session.id);
                if let Some(st) = &state {
                    let standing =
                        st.device_standing(&hearth_core::DeviceId(s.device_id.clone()), now);
                    d.standing = serde_json::to_value(standing)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or(d.standing);
                }
                d
            })
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/v1/me/devices/{id}", tag = "devices", security(("session" = [])), request_body = RenameBody,
    params(("id" = String, Path, description = "Session id from the device list")),
    responses((status = 204, description = "Renamed"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn rename_device(
    State(app): State<AppState>,
    ActiveAuth(auth): ActiveAuth,
    Path(id): Path<String>,
    Body(b): Body<RenameBody>,
) -> ApiResult<StatusCode> {
    app.rename_device(&auth.session, &id, &b.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/me/devices/{id}", tag = "devices", security(("session" = [])),
    params(("id" = String, Path, description = "Session id from the device list")),
    responses((status = 204, description = "Signed out"), (status = 404, body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn sign_out_device(
    State(app): State<AppState>,
    ActiveAuth(auth): ActiveAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.sign_out_device(&auth.session, &id, &auth.client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/me/devices/sign-out-all", tag = "devices", security(("session" = [])), request_body = Option<SignOutAllBody>,
    responses((status = 200, body = CountBody), (status = 401, body = ErrorBody)))]
pub async fn sign_out_all(
    State(app): State<AppState>,
    auth: Auth,
    body: axum::body::Bytes,
) -> ApiResult<Json<CountBody>> {
    // The body is optional: no body means sign out every device, this one too.
    let opts: SignOutAllBody = if body.iter().all(u8::is_ascii_whitespace) {
        SignOutAllBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("body", e.to_string()))?
    };
    let keep = opts.keep_current;
    let n = app.sign_out_all(&auth.session, keep, &auth.client).await?;
    Ok(Json(CountBody { signed_out: n }))
}

#[utoipa::path(post, path = "/v1/me/devices/{id}/not-me", tag = "reports", security(("session" = [])),
    params(("id" = String, Path, description = "Session id of the device that was not the owner")),
    responses((status = 200, body = NotMeBody), (status = 404, body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn not_me(
    State(app): State<AppState>,
    ActiveAuth(auth): ActiveAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<NotMeBody>> {
    let s = app.report_not_me(&auth.session, &id, &auth.client).await?;
    Ok(Json(NotMeBody {
        signed_out: DeviceBody::new(&s, &auth.session.id),
        reported: true,
    }))
}

#[utoipa::path(post, path = "/v1/me/compromised", tag = "reports", security(("session" = [])),
    responses((status = 200, description = "Every device signed out; a new password is required", body = CompromisedBody)))]
pub async fn compromised(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<CompromisedBody>> {
    let (n, guidance) = app.report_compromised(&auth.session, &auth.client).await?;
    Ok(Json(CompromisedBody {
        devices_signed_out: n,
        must_change_password: true,
        guidance,
    }))
}

#[utoipa::path(post, path = "/v1/me/password", tag = "account", security(("session" = [])), request_body = PasswordChangeBody,
    responses((status = 200, description = "Changed; every other device signed out", body = CountBody),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(app): State<AppState>,
    auth: Auth,
    Body(b): Body<PasswordChangeBody>,
) -> ApiResult<Json<CountBody>> {
    let n = app
        .change_password(
            &auth.session,
            &b.current_password,
            &b.new_password,
            &auth.client,
        )
        .await?;
    Ok(Json(CountBody { signed_out: n }))
}

#[utoipa::path(put, path = "/v1/me/recovery-phone", tag = "account", security(("session" = [])), request_body = PhoneBody,
    responses((status = 204, description = "Set"), (status = 400, body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn set_phone(
    State(app): State<AppState>,
    ActiveAuth(auth): ActiveAuth,
    Body(b): Body<PhoneBody>,
) -> ApiResult<StatusCode> {
    app.set_recovery_phone(&auth.session, Some(&b.phone), &auth.client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/me/recovery-phone", tag = "account", security(("session" = [])),
    responses((status = 204, description = "Removed"), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn remove_phone(
    State(app): State<AppState>,
    ActiveAuth(auth): ActiveAuth,
) -> ApiResult<StatusCode> {
    app.set_recovery_phone(&auth.session, None, &auth.client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LimitQuery {
    /// At most this many entries (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A page size from the query: `default` when absent, else within `1..=max`; out of
/// range is a 400 naming `limit` (never a silent clamp, never a huge query).
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> ApiResult<u32> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "limit",
            format!("limit: {n} is out of range; use 1 to {max}"),
        )),
    }
}

#[utoipa::path(get, path = "/v1/me/audit", tag = "account", security(("session" = [])), params(LimitQuery),
    responses((status = 200, body = [AuditBody])))]
pub async fn my_audit(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Vec<AuditBody>>> {
    let list = app
        .store
        .audit_for_account(&auth.account.id, page_limit(q.limit, 100, 1000)?)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(Json(list.into_iter().map(AuditBody::from).collect()))
}

#[utoipa::path(post, path = "/v1/passwords/check", tag = "accounts", request_body = PasswordCheckBody,
    responses((status = 200, body = PasswordReportBody)))]
pub async fn check_password(
    State(app): State<AppState>,
    Body(b): Body<PasswordCheckBody>,
) -> ApiResult<Json<PasswordReportBody>> {
    if b.password.len() > 1024 {
        return Err(ApiError::bad_request("password", "at most 1024 bytes"));
    }
    let r = app.check_password(&b.password, b.email.as_deref());
    Ok(Json(PasswordReportBody {
        accepted: r.accepted,
        reasons: r.reasons.iter().map(|x| x.as_str().to_owned()).collect(),
        strength: r.strength,
    }))
}

/// One access event → one decision, answered once the state it changed is committed.
/// An event whose `id` was already applied to its account gets its first decision back.
#[utoipa::path(post, path = "/v1/access", tag = "engine", security(("api_key" = [])), request_body = AccessEventDoc,
    responses((status = 200, body = DecisionDoc), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, description = "the access queue is full or the store is unavailable; retry after Retry-After seconds", body = ErrorBody)))]
pub async fn access(
    State(app): State<AppState>,
    _p: Platform,
    Body(ev): Body<AccessEvent>,
) -> ApiResult<Json<hearth_core::Decision>> {
    Ok(Json(app.access(ev).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditSearch {
    pub account: Option<String>,
    pub kind: Option<String>,
    pub ip: Option<String>,
    /// Entries older than this id (for paging).
    pub before: Option<i64>,
    /// At most this many entries (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/admin/audit", tag = "analysts", security(("session" = [])), params(AuditSearch),
    responses((status = 200, body = [AuditBody]), (status = 403, body = ErrorBody)))]
pub async fn admin_audit(
    State(app): State<AppState>,
    _a: Admin,
    Query(q): Query<AuditSearch>,
) -> ApiResult<Json<Vec<AuditBody>>> {
    let query = AuditQuery {
        account_id: q.account,
        kind: q.kind,
        ip: q.ip,
        since: None,
        before_id: q.before,
        limit: page_limit(q.limit, 100, 1000)?,
    };
    let list = app
        .store
        .search_audit(&query)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(Json(list.into_iter().map(AuditBody::from).collect()))
}

#[utoipa::path(get, path = "/v1/admin/flagged", tag = "analysts", security(("session" = [])), params(LimitQuery),
    responses((status = 200, body = [FlaggedBody]), (status = 403, body = ErrorBody)))]
pub async fn admin_flagged(
    State(app): State<AppState>,
    _a: Admin,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Vec<FlaggedBody>>> {
    let list = app
        .store
        .flagged_accounts(page_limit(q.limit, 100, 1000)?)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(Json(
        list.into_iter()
            .map(|a| FlaggedBody {
                id: a.id,
                email: a.email,
                reason: a.flagged_reason,
                flagged_at: a.flagged_at,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/admin/accounts", tag = "analysts", security(("session" = [])), params(LimitQuery),
    responses((status = 200, description = "Accounts ranked by sharing and resale evidence, worst first", body = [SharingBody]),
              (status = 403, body = ErrorBody)))]
pub async fn admin_accounts(
    State(app): State<AppState>,
    _a: Admin,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Vec<SharingBody>>> {
    let rows = app
        .store
        .sharing_queue(page_limit(q.limit, 100, 1000)?)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(Json(rows.into_iter().map(SharingBody::from).collect()))
}

#[utoipa::path(get, path = "/v1/admin/accounts/{account}", tag = "analysts", security(("session" = [])),
    params(("account" = String, Path, description = "The platform's account id")),
    responses((status = 200, body = AccountReviewBody), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn admin_account(
    State(app): State<AppState>,
    _a: Admin,
    Path(account): Path<String>,
) -> ApiResult<Json<AccountReviewBody>> {
    let state = app
        .engine_state(&account)
        .await?
        .ok_or(crate::service::ServiceError::NotFound("account"))?;
    let now = crate::service::now();
    let verdict = app
        .engine
        .verdict(&state, &hearth_core::AccountId(account.clone()), now);
    let timeline = app
        .store
        .audit_for_account(&account, 50)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(Json(AccountReviewBody {
        sharing: crate::service::access::sharing_str(verdict.sharing).to_owned(),
        households: verdict.households,
        devices: verdict.devices,
        evidence: verdict.evidence,
        household_networks: state
            .households(now)
            .into_iter()
            .map(HouseholdBody::from)
            .collect(),
        timeline: timeline.into_iter().map(AuditBody::from).collect(),
        account,
    }))
}
