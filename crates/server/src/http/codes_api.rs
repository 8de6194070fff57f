//! JSON handlers for one-time codes: device verification, verify later, sign-in
//! codes, password reset, travel passes and household moves.

use super::error::{ApiError, ErrorBody};
use super::extract::{ActiveAuth, Auth, Body};
use super::views::{DecisionDoc, SignedInBody};
use super::AppState;
use crate::service::accounts::SignIn;
use crate::service::codes::{CodeChannel, CodeSent, SignInCode};
use crate::service::Client;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// `email` (to the owner's address) or `sms` (to the recovery phone).
    pub channel: CodeChannel,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    pub email: String,
    #[serde(default = "email_channel")]
    pub channel: CodeChannel,
}

fn email_channel() -> CodeChannel {
    CodeChannel::Email
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetCompleteBody {
    pub email: String,
    pub code: String,
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeSignInBody {
    /// The account owner's e-mail.
    pub email: String,
    /// The sign-in code the owner created.
    pub code: String,
    pub device_id: Option<String>,
    #[schema(value_type = String, example = "tv")]
    pub device_type: Option<hearth_core::DeviceType>,
    pub device_name: Option<String>,
    /// The `device_key` this device got at an earlier sign-in, if any.
    pub device_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ResetAccepted {
    /// Always `accepted`, whether or not the address has an account.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct ResetDone {
    pub devices_signed_out: u64,
}

fn decision(d: &hearth_core::Decision) -> Json<DecisionDoc> {
    Json(DecisionDoc::from_decision(d))
}

#[utoipa::path(post, path = "/v1/device/verification/code", tag = "verification", security(("session" = [])), request_body = ChannelBody,
    responses((status = 202, description = "A code was sent to the account owner", body = CodeSent),
              (status = 400, description = "No recovery phone for SMS", body = ErrorBody),
              (status = 429, description = "Send limit reached: Retry-After", body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn device_code(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
    Body(b): Body<ChannelBody>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            app.request_device_code(&a.session, b.channel, &a.client)
                .await?,
        ),
    ))
}

#[utoipa::path(post, path = "/v1/device/verification", tag = "verification", security(("session" = [])), request_body = CodeBody,
    responses((status = 200, description = "Verified: the decision that follows", body = DecisionDoc),
              (status = 400, description = "code_mismatch (with tries left), code_expired, code_too_many_attempts, code_already_used", body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn device_verify(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
    Body(b): Body<CodeBody>,
) -> ApiResult<Json<DecisionDoc>> {
    Ok(decision(
        &app.verify_device_code(&a.session, &b.code, &a.client)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/device/verification/later", tag = "verification", security(("session" = [])),
    responses((status = 200, description = "`allow` with `deferred` while the grace lasts; `verify` once the deferrals are used up", body = DecisionDoc), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn device_later(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
) -> ApiResult<Json<DecisionDoc>> {
    Ok(decision(&app.verify_later(&a.session, &a.client).await?))
}

#[utoipa::path(post, path = "/v1/me/sign-in-codes", tag = "verification", security(("session" = [])),
    responses((status = 201, description = "A code to read out to a family member; it is not sent anywhere", body = SignInCode),
              (status = 429, body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn create_sign_in_code(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
) -> ApiResult<(StatusCode, Json<SignInCode>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_sign_in_code(&a.session, &a.client).await?),
    ))
}

#[utoipa::path(post, path = "/v1/sessions/code", tag = "sessions", request_body = CodeSignInBody,
    responses((status = 201, body = SignedInBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in_with_code(
    State(app): State<AppState>,
    client: Client,
    Body(b): Body<CodeSignInBody>,
) -> ApiResult<(StatusCode, Json<SignedInBody>)> {
    let key = b.device_key;
    let req = SignIn {
        email: b.email,
        password: b.code,
        device_id: b.device_id,
        device_type: b.device_type.unwrap_or(hearth_core::DeviceType::Other),
        device_name: b.device_name,
    };
    let s = app
        .sign_in_device_with_code(req, key.as_deref(), &client)
        .await?;
    Ok((StatusCode::CREATED, Json(SignedInBody::from(s))))
}

#[utoipa::path(post, path = "/v1/password-reset", tag = "accounts", request_body = ResetRequestBody,
    responses((status = 202, description = "The same answer whether or not the address has an account", body = ResetAccepted)))]
pub async fn password_reset(
    State(app): State<AppState>,
    client: Client,
    Body(b): Body<ResetRequestBody>,
) -> (StatusCode, Json<ResetAccepted>) {
    app.request_password_reset(&b.email, b.channel, client);
    (
        StatusCode::ACCEPTED,
        Json(ResetAccepted { status: "accepted" }),
    )
}

#[utoipa::path(post, path = "/v1/password-reset/complete", tag = "accounts", request_body = ResetCompleteBody,
    responses((status = 200, description = "New password set; every device signed out", body = ResetDone),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn password_reset_complete(
    State(app): State<AppState>,
    client: Client,
    Body(b): Body<ResetCompleteBody>,
) -> ApiResult<Json<ResetDone>> {
    let n = app
        .complete_password_reset(&b.email, &b.code, &b.new_password, &client)
        .await?;
    Ok(Json(ResetDone {
        devices_signed_out: n,
    }))
}

#[utoipa::path(post, path = "/v1/device/travel-pass/code", tag = "verification", security(("session" = [])), request_body = ChannelBody,
    responses((status = 202, body = CodeSent), (status = 403, description = "Not a portable household device, or no passes left this month", body = ErrorBody),
              (status = 429, description = "Send limit reached: Retry-After", body = ErrorBody)))]
pub async fn travel_code(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
    Body(b): Body<ChannelBody>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            app.request_travel_code(&a.session, b.channel, &a.client)
                .await?,
        ),
    ))
}

#[utoipa::path(post, path = "/v1/device/travel-pass", tag = "verification", security(("session" = [])), request_body = CodeBody,
    responses((status = 200, description = "Travelling: watch away from home for the pass's days", body = DecisionDoc), (status = 400, body = ErrorBody), (status = 403, description = "The account must change its password first", body = ErrorBody)))]
pub async fn travel_start(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
    Body(b): Body<CodeBody>,
) -> ApiResult<Json<DecisionDoc>> {
    Ok(decision(
        &app.start_travel(&a.session, &b.code, &a.client).await?,
    ))
}

#[utoipa::path(post, path = "/v1/device/household/code", tag = "verification", security(("session" = [])), request_body = ChannelBody,
    responses((status = 202, body = CodeSent), (status = 403, description = "Only from a TV or console", body = ErrorBody),
              (status = 429, description = "Send limit reached: Retry-After", body = ErrorBody)))]
pub async fn household_code(
    State(app): State<AppState>,
    ActiveAuth(a): ActiveAuth,
    Body(b): Body<ChannelBody>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            app.request_household_code(&a.session, b.channel, &a.client)
                .await?,
        ),
    ))
}

#[utoipa::path(post, path = "/v1/device/household", tag = "verification", security(("session" = [])), request_body = CodeBody,
    responses((status = 200, description = "The household moved to this connection", body = DecisionDoc), (status = 400, body = ErrorBody)))]
pub async fn household_confirm(
    State(app): State<AppState>,
    auth: Auth,
    Body(b): Body<CodeBody>,
) -> ApiResult<Json<DecisionDoc>> {
    Ok(decision(
        &app.confirm_household(&auth.session, &b.code, &auth.client)
            .await?,
    ))
}
