//! Request extractors: the client's address, the JSON body with our error shape,
//! the owner's session, and the platform's API key.

use super::error::{rejection, ApiError};
use super::AppState;
use crate::service::{Client, ServiceError};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_store::{Account, Session};
use std::net::{IpAddr, SocketAddr};

/// `Json<T>` whose rejections speak our error format.
pub struct Body<T>(pub T);

/// Whether the request says plainly `Content-Type: application/json` (any parameters
/// after `;`), the type every client of the API sends. Other types go to axum's
/// `Json` whole, which accepts `application/*+json` too and words the rejection.
fn plain_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

impl<T, S> FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    /// Parsed by `serde_json` alone first: axum's `Json` tracks the path of every
    /// field it reads so that a rejection can name where the body went wrong, a
    /// cost each good body paid for nothing. A body that fails is parsed again
    /// the same way as before, so the answer to bad input is unchanged.
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let rejected = |e: JsonRejection| rejection(e.status(), e.body_text());
        if !plain_json(&req) {
            return axum::Json::<T>::from_request(req, state)
                .await
                .map(|axum::Json(v)| Body(v))
                .map_err(rejected);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| rejection(e.status(), e.body_text()))?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(Body(v)),
            Err(_) => axum::Json::<T>::from_bytes(&bytes)
                .map(|axum::Json(v)| Body(v))
                .map_err(rejected),
        }
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let ip = client_ip(peer, parts, &state.config);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        Ok(Client { ip, user_agent })
    }
}

/// The client's address for throttles, sessions, audit and the engine: see
/// [`crate::net::client_ip`]. Every handler gets it through [`Client`].
pub fn client_ip(peer: IpAddr, parts: &Parts, config: &crate::config::Config) -> IpAddr {
    crate::net::client_ip(
        peer,
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        |ip| config.is_trusted_proxy(ip),
    )
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A signed-in owner or device (`Authorization: Bearer hs_…`).
pub struct Auth {
    pub session: Session,
    pub account: Account,
    pub client: Client,
}

/// Like [`Auth`], but refused while the account must change its password.
pub struct ActiveAuth(pub Auth);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = Client::from_request_parts(parts, state).await?;
        let token = bearer(parts)
            .ok_or_else(|| ApiError::from(ServiceError::Unauthenticated).into_response())?;
        let (session, account) = state
            .authenticate(token, &client)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        Ok(Auth {
            session,
            account,
            client,
        })
    }
}

impl FromRequestParts<AppState> for ActiveAuth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if auth.account.must_change_password {
            return Err(ApiError::from(ServiceError::PasswordChangeRequired).into_response());
        }
        Ok(ActiveAuth(auth))
    }
}

/// An administrator (analyst) session.
pub struct Admin(pub Auth);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ActiveAuth(auth) = ActiveAuth::from_request_parts(parts, state).await?;
        if auth.account.role != hearth_store::Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs an analyst account",
            )
            .into_response());
        }
        Ok(Admin(auth))
    }
}

/// The platform's back end, with a configured API key.
pub struct Platform;

impl FromRequestParts<AppState> for Platform {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts) {
            Some(k) if state.api_keys.accepts(k) => Ok(Platform),
            Some(_) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "the API key is not one of the configured keys",
            )
            .into_response()),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "send the platform API key as Authorization: Bearer <key>",
            )
            .into_response()),
        }
    }
}
