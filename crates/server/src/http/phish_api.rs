//! JSON handlers for phishing: the message checker, members' reports and the analysts'
//! campaign views.

use super::error::{rejection, ApiError, ErrorBody};
use super::extract::{Admin, Auth};
use super::AppState;
use crate::service::phishing::{
    parse_forwarded, CampaignDetail, CampaignSummary, Checked, NewReport, ReportSource,
    MAX_TEXT_BYTES,
};
use crate::service::{now, Client};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_phish::{Channel, Message};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type ApiResult<T> = Result<T, ApiError>;

/// Longest sender accepted (an e-mail address is at most 254 bytes, a display name more).
const MAX_SENDER_BYTES: usize = 512;

/// A message to check or report: the `hearth message check` input, plus the guidance language.
#[derive(Deserialize, ToSchema)]
pub struct MessageBody {
    /// The message as received (SMS text, or e-mail subject and body).
    pub text: Option<String>,
    /// Who sent it: a phone number, an alphanumeric SMS sender or an e-mail address.
    pub sender: Option<String>,
    /// `sms` or `email`.
    pub channel: Option<String>,
    /// Language of the guidance: `en`, `fr`, `pt` or `es`; the message's own when absent.
    pub lang: Option<String>,
}

/// The verdict exactly as `hearth message check` prints it, plus what to do.
#[derive(Serialize, ToSchema)]
pub struct CheckResponse {
    /// `phishing`, `suspicious` or `legitimate`.
    pub verdict: &'static str,
    /// Calibrated probability of phishing/spam, 0.0–1.0.
    pub score: f64,
    /// Stable snake_case reason codes, strongest first.
    pub reasons: Vec<&'static str>,
    /// Links found, refanged, hosts normalised.
    pub urls: Vec<String>,
    /// The guidance language.
    pub lang: &'static str,
    /// What to do, one sentence per item.
    pub guidance: Vec<String>,
}

impl From<Checked> for CheckResponse {
    fn from(c: Checked) -> Self {
        CheckResponse {
            verdict: c.verdict.verdict.as_str(),
            score: c.verdict.score,
            reasons: c.verdict.reasons.iter().map(|r| r.as_str()).collect(),
            urls: c.verdict.urls,
            lang: c.lang.as_str(),
            guidance: c.guidance,
        }
    }
}

/// A stored report.
#[derive(Serialize, ToSchema)]
pub struct ReportResponse {
    pub report_id: String,
    /// The campaign the report was grouped into.
    pub campaign_id: String,
    /// True when this report started the campaign.
    pub new_campaign: bool,
    #[serde(flatten)]
    pub check: CheckResponse,
}

#[derive(Deserialize, IntoParams)]
pub struct ReportQuery {
    /// Language of the guidance for a raw e-mail report (`en`, `fr`, `pt`, `es`).
    pub lang: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct CampaignsQuery {
    /// At most this many (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Skip this many (default 0).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub offset: Option<u32>,
}

/// A session when one is presented (and then it must be valid), else anonymous.
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Ok(MaybeAuth(Some(
                Auth::from_request_parts(parts, state).await?,
            )))
        } else {
            Ok(MaybeAuth(None))
        }
    }
}

fn lang_param(lang: Option<String>) -> ApiResult<Option<String>> {
    match lang {
        None => Ok(None),
        Some(l) => {
            let primary = l
                .split(['-', '_'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if ["en", "fr", "pt", "es"].contains(&primary.as_str()) {
                Ok(Some(primary))
            } else {
                Err(ApiError::bad_request("lang", "lang: use en, fr, pt or es"))
            }
        }
    }
}

/// Validates a message body into the checker's input and the guidance language.
fn message(b: MessageBody) -> ApiResult<(Message, Option<String>)> {
    let text = b.text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "text",
            "text: give the message to check",
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        let mut e = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text_too_large",
            format!("text: at most {MAX_TEXT_BYTES} bytes; send only the suspicious message"),
        );
        e.field = Some("text".into());
        return Err(e);
    }
    let sender = b
        .sender
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if sender.as_ref().is_some_and(|s| s.len() > MAX_SENDER_BYTES) {
        return Err(ApiError::bad_request(
            "sender",
            format!("sender: at most {MAX_SENDER_BYTES} bytes"),
        ));
    }
    let channel = match b.channel.as_deref() {
        None => None,
        Some("sms") => Some(Channel::Sms),
        Some("email") => Some(Channel::Email),
        Some(_) => {
            return Err(ApiError::bad_request(
                "channel",
                "channel: use \"sms\" or \"email\"",
            ))
        }
    };
    Ok((
        Message {
            text,
            sender,
            channel,
        },
        lang_param(b.lang)?,
    ))
}

fn json_body(body: &[u8]) -> ApiResult<MessageBody> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("the body is not a message: {e}"),
        )
    })
}

#[utoipa::path(post, path = "/v1/messages/check", tag = "phishing", request_body = MessageBody,
    responses((status = 200, description = "The verdict, why, the links found and what to do", body = CheckResponse),
              (status = 400, description = "A field is missing or wrong; `field` names it", body = ErrorBody),
              (status = 413, description = "Text or body too large", body = ErrorBody)))]
pub async fn check(
    State(app): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CheckResponse>, Response> {
    let body = body.map_err(|e| rejection(e.status(), e.body_text()))?;
    let (msg, lang) = json_body(&body)
        .and_then(message)
        .map_err(IntoResponse::into_response)?;
    Ok(Json(app.check_message(&msg, lang.as_deref()).into()))
}

#[utoipa::path(post, path = "/v1/reports/phishing", tag = "phishing",
    request_body(description = "The message as JSON, or the raw forwarded e-mail",
        content((MessageBody = "application/json"), (String = "message/rfc822"))),
    params(ReportQuery),
    security((), ("session" = [])),
    responses((status = 201, description = "Stored and grouped into a campaign", body = ReportResponse),
              (status = 400, body = ErrorBody), (status = 401, description = "A session token was sent but is not valid", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, description = "Neither JSON nor message/rfc822", body = ErrorBody),
              (status = 429, description = "Too many reports from this address or account: wait Retry-After seconds", body = ErrorBody)))]
pub async fn report(
    State(app): State<AppState>,
    MaybeAuth(auth): MaybeAuth,
    client: Client,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ReportResponse>), Response> {
    let body = body.map_err(|e| rejection(e.status(), e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut new = if content_type == "message/rfc822" {
        let parsed = parse_forwarded(&body, app.config.limits.body_bytes)
            .map_err(|e| ApiError::from(e).into_response())?;
        let mut r = NewReport::from_email(&parsed, ReportSource::Api);
        r.lang = lang_param(q.lang).map_err(IntoResponse::into_response)?;
        r
    } else if content_type == "application/json" || content_type.ends_with("+json") {
        let (message, lang) = json_body(&body)
            .and_then(message)
            .map_err(IntoResponse::into_response)?;
        NewReport {
            message,
            subject: None,
            reporter_account: None,
            source: ReportSource::Api,
            lang,
            client: None,
        }
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the message as application/json or the forwarded e-mail as message/rfc822",
        )
        .into_response());
    };
    if let Some(a) = &auth {
        new.reporter_account = Some(a.account.id.clone());
        if new.lang.is_none() {
            new.lang = Some(a.account.locale.clone());
        }
    }
    let source = match &auth {
        Some(a) => format!("account:{}", a.account.id),
        None => format!("ip:{}", client.ip),
    };
    new.client = Some(client);
    let at = now();
    if let Some(retry) = app
        .report_budget(&source, at)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
    {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_reports",
            format!(
                "too many reports from here; try again in {retry} s, or forward the message to {}",
                app.config.phishing_report_address
            ),
        );
        e.retry_after = Some(retry);
        return Err(e.into_response());
    }
    let r = app
        .report_phishing(new, at)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok((
        StatusCode::CREATED,
        Json(ReportResponse {
            report_id: r.report_id,
            campaign_id: r.campaign_id,
            new_campaign: r.new_campaign,
            check: r.checked.into(),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/admin/campaigns", tag = "admin", security(("session" = [])),
    params(CampaignsQuery),
    responses((status = 200, description = "Campaigns ranked by reports in the last 14 days, then all reports, then recency", body = [CampaignSummary]),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn campaigns(
    State(app): State<AppState>,
    _admin: Admin,
    Query(q): Query<CampaignsQuery>,
) -> ApiResult<Json<Vec<CampaignSummary>>> {
    let limit = super::api::page_limit(q.limit, 50, 200)?;
    Ok(Json(
        app.campaigns(limit, q.offset.unwrap_or(0), now()).await?,
    ))
}

#[utoipa::path(get, path = "/v1/admin/campaigns/{id}", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign with up to 20 sample reports, newest first; texts are plain text", body = CampaignDetail),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn campaign(
    State(app): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<CampaignDetail>> {
    Ok(Json(app.campaign(&id, now()).await?))
}
