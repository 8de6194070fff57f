//! The HTTP layer: routes, middleware and the OpenAPI document generated from the
//! handlers' annotations.

pub mod api;
pub mod codes_api;
mod doc_errors;
pub mod error;
pub mod extract;
pub mod notify_api;
pub mod ops;
pub mod phish_api;
pub mod request_id;
pub mod serve;
pub mod views;

use crate::app::App;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use doc_errors::CommonErrors;
use error::ApiError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub type AppState = Arc<App>;

#[derive(OpenApi)]
#[openapi(
    info(title = "Hearth", description = "Account protection for subscription streaming services: households, verification, devices, passwords, phishing."),
    paths(
        ops::healthz, ops::readyz, ops::metrics, ops::openapi,
        api::sign_up, api::sign_in, api::sign_out_current, api::me, api::devices, api::rename_device,
        api::sign_out_device, api::sign_out_all, api::not_me, api::compromised, api::change_password,
        api::set_phone, api::remove_phone, api::my_audit, api::check_password, api::access,
        api::admin_audit, api::admin_flagged,
        notify_api::list, notify_api::mark_read, notify_api::settings, notify_api::set_settings, api::admin_accounts, api::admin_account,
        codes_api::device_code, codes_api::device_verify, codes_api::device_later,
        codes_api::create_sign_in_code, codes_api::sign_in_with_code, codes_api::password_reset,
        codes_api::password_reset_complete, codes_api::travel_code, codes_api::travel_start,
        codes_api::household_code, codes_api::household_confirm,
        phish_api::check, phish_api::report, phish_api::campaigns, phish_api::campaign,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, crate::service::accounts::Guidance, crate::service::codes::CodeChannel)),
    modifiers(&Security, &CommonErrors),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |desc: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(desc.to_owned()))
                    .build(),
            )
        };
        components.add_security_scheme(
            "session",
            bearer("A device session token from POST /v1/sessions"),
        );
        components.add_security_scheme(
            "api_key",
            bearer("The platform's API key from the configuration"),
        );
    }
}

pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

pub fn router(app: AppState) -> Router {
    let body_limit = app.config.limits.body_bytes;
    let timeout = Duration::from_secs(app.config.limits.request_timeout_secs);
    // The API's routes carry their whole path and are merged, not nested under /v1:
    // a nested router is a second routing per request (the prefix stripped into a new
    // URI, a second path match, its own boxed layers), which every access event paid
    // for and /healthz did not (BENCHMARKS.md, session 19).
    let v1 = Router::new()
        .route("/v1/accounts", post(api::sign_up))
        .route("/v1/sessions", post(api::sign_in))
        .route("/v1/sessions/current", delete(api::sign_out_current))
        .route("/v1/me", get(api::me))
        .route("/v1/me/devices", get(api::devices))
        .route("/v1/me/devices/sign-out-all", post(api::sign_out_all))
        .route(
            "/v1/me/devices/{id}",
            patch(api::rename_device).delete(api::sign_out_device),
        )
        .route("/v1/me/devices/{id}/not-me", post(api::not_me))
        .route("/v1/me/compromised", post(api::compromised))
        .route("/v1/me/password", post(api::change_password))
        .route(
            "/v1/me/recovery-phone",
            put(api::set_phone).delete(api::remove_phone),
        )
        .route("/v1/me/audit", get(api::my_audit))
        .route("/v1/passwords/check", post(api::check_password))
        .route("/v1/access", post(api::access))
        .route("/v1/admin/audit", get(api::admin_audit))
        .route("/v1/admin/flagged", get(api::admin_flagged))
        .route("/v1/admin/accounts", get(api::admin_accounts))
        .route("/v1/me/notifications", get(notify_api::list))
        .route("/v1/me/notifications/read", post(notify_api::mark_read))
        .route(
            "/v1/me/notification-settings",
            get(notify_api::settings).put(notify_api::set_settings),
        )
        .route("/v1/admin/accounts/{account}", get(api::admin_account))
        .route("/v1/sessions/code", post(codes_api::sign_in_with_code))
        .route("/v1/me/sign-in-codes", post(codes_api::create_sign_in_code))
        .route("/v1/password-reset", post(codes_api::password_reset))
        .route(
            "/v1/password-reset/complete",
            post(codes_api::password_reset_complete),
        )
        .route("/v1/device/verification/code", post(codes_api::device_code))
        .route("/v1/device/verification", post(codes_api::device_verify))
        .route(
            "/v1/device/verification/later",
            post(codes_api::device_later),
        )
        .route("/v1/device/travel-pass/code", post(codes_api::travel_code))
        .route("/v1/device/travel-pass", post(codes_api::travel_start))
        .route("/v1/device/household/code", post(codes_api::household_code))
        .route("/v1/device/household", post(codes_api::household_confirm))
        .route("/v1/messages/check", post(phish_api::check))
        .route("/v1/reports/phishing", post(phish_api::report))
        .route("/v1/admin/campaigns", get(phish_api::campaigns))
        .route("/v1/admin/campaigns/{id}", get(phish_api::campaign))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .merge(v1)
        .merge(crate::web::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .layer(middleware::from_fn(request_id::layer))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /openapi.json",
    )
}

/// Every error leaves as JSON, including those made by middleware (body too large,
/// timeouts) that answer in plain text.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut out = error::rejection(status, message);
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// Request latency by method, route template (never the raw path) and status class,
/// for `/metrics`.
async fn observe(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let class = format!("{}xx", resp.status().as_u16() / 100);
    app.metrics.observe(
        "hearth_http_request_seconds",
        &[("method", &method), ("route", &route), ("status", &class)],
        start.elapsed().as_secs_f64(),
    );
    app.metrics.inc(
        "hearth_http_responses_total",
        &[("route", &route), ("status", &status)],
    );
    resp
}
