//! Errors on the wire: `{"error":{"code":…,"message":…}}` with the right status.

use crate::service::ServiceError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code.
    pub code: String,
    /// What was wrong and what to do, for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Rules a refused password broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// Seconds to wait before trying again (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub reasons: Option<Vec<String>>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            reasons: None,
            retry_after: None,
        }
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_request", message);
        e.field = Some(field.to_owned());
        e
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let msg = e.to_string();
        match e {
            ServiceError::Invalid { field, message } => {
                let mut a = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("{field}: {message}"),
                );
                a.field = Some(field.to_owned());
                a
            }
            ServiceError::WeakPassword(report) => {
                let reasons: Vec<String> = report
                    .reasons
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect();
                let mut a = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "weak_password",
                    format!("the password was refused: {}", reasons.join(", ")),
                );
                a.field = Some("password".into());
                a.reasons = Some(reasons);
                a
            }
            ServiceError::Code(code) => {
                let mut a = ApiError::new(StatusCode::BAD_REQUEST, code.as_str(), msg);
                a.field = Some("code".into());
                a
            }
            ServiceError::NoCode => {
                let mut a = ApiError::new(StatusCode::BAD_REQUEST, "code_not_found", msg);
                a.field = Some("code".into());
                a
            }
            ServiceError::TooManySends { retry_after_secs } => {
                let mut a = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_codes", msg);
                a.retry_after = Some(retry_after_secs);
                a
            }
            ServiceError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", msg)
            }
            ServiceError::TooManyAttempts {
                block,
                retry_after_secs,
            } => {
                let mut a = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", msg);
                a.reasons = Some(vec![block.as_str().to_owned()]);
                a.retry_after = Some(retry_after_secs);
                a
            }
            ServiceError::Unauthenticated => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", msg)
            }
            ServiceError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", msg),
            ServiceError::PasswordChangeRequired => {
                ApiError::new(StatusCode::FORBIDDEN, "password_change_required", msg)
            }
            ServiceError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", msg),
            ServiceError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                let mut a = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service is temporarily unavailable; retry shortly",
                );
                a.retry_after = Some(1);
                a
            }
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
                reasons: self.reasons,
                retry_after: self.retry_after,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// Turns axum's and middleware's own rejections (bad JSON, wrong content type, too
/// large, timeouts) into our shape.
pub fn rejection(status: StatusCode, text: String) -> Response {
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    // 422 from serde is a malformed body to us: 400 names it better.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    (
        status,
        Json(json!({"error": {"code": code, "message": text}})),
    )
        .into_response()
}
