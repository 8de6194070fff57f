//! Error answers that every operation of a kind can give, added to the OpenAPI
//! document so that it is true to the code without repeating them on each handler:
//!
//! - a JSON body (`Body<T>`): 400 when it is not JSON or not the right shape, 413 when
//!   it is larger than `limits.body_bytes`, 415 without `Content-Type: application/json`;
//! - query parameters (`Query<T>`): 400 when one does not parse or is out of range;
//! - a security requirement: 401 without a valid token or key;
//! - every operation: 408 when the request takes longer than `limits.request_timeout_secs`;
//! - every `/v1/` operation (they all use the store): 503 with `Retry-After` while the
//!   database does not answer.
//!
//! All of them are `{"error":{"code":…,"message":…}}` ([`super::error::ErrorBody`]).
//! A response an annotation already gives (with its own description) is kept.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::openapi::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::Modify;

pub struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/v1/");
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common(path, op, api);
            }
        }
    }
}

/// Operations that read their body as bytes and take any content type.
const ANY_CONTENT_TYPE: &[&str] = &["/v1/messages/check", "/v1/me/devices/sign-out-all"];

fn add_common(path: &str, op: &mut Operation, api: bool) {
    let has_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    if op.request_body.is_some() {
        add(
            op,
            400,
            "The body is not JSON, lacks a field or has a wrong value (the message names it)",
        );
        add(op, 413, "The body is larger than the configured limit");
        if !ANY_CONTENT_TYPE.contains(&path) {
            add(
                op,
                415,
                "The body is not sent as Content-Type: application/json",
            );
        }
    }
    if has_query {
        add(
            op,
            400,
            "A query parameter does not parse or is out of range (the message names it)",
        );
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add(op, 401, "No valid token or key in Authorization: Bearer");
    }
    add(
        op,
        408,
        "The request took longer than the configured timeout",
    );
    if api {
        add(
            op,
            503,
            "The database does not answer; retry after Retry-After seconds",
        );
    }
}

fn add(op: &mut Operation, status: u16, description: &str) {
    let key = status.to_string();
    if op.responses.responses.contains_key(&key) {
        return;
    }
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if status == 503 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    op.responses
        .responses
        .insert(key, RefOr::T(response.build()));
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_documents_its_transport_errors() {
        let doc = super::super::openapi_doc();
        let json = serde_json::to_value(&doc).unwrap_or_default();
        let paths = json["paths"].as_object().cloned().unwrap_or_default();
        assert!(!paths.is_empty());
        for (path, item) in &paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let responses = &op["responses"];
                assert!(responses.get("408").is_some(), "{method} {path}");
                if op.get("requestBody").is_some() {
                    for s in ["400", "413"] {
                        assert!(responses.get(s).is_some(), "{method} {path} {s}");
                    }
                    let any_type = super::ANY_CONTENT_TYPE.contains(&path.as_str());
                    assert_eq!(responses.get("415").is_some(), !any_type, "{method} {path}");
                }
                if op
                    .get("security")
                    .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()))
                {
                    assert!(responses.get("401").is_some(), "{method} {path}");
                }
                if path.starts_with("/v1/") {
                    assert!(responses.get("503").is_some(), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn page_limits_out_of_range_are_refused_not_clamped() {
        use super::super::api::page_limit;
        assert_eq!(page_limit(None, 100, 1000).ok(), Some(100));
        assert_eq!(page_limit(Some(1000), 100, 1000).ok(), Some(1000));
        for bad in [0, 1001, u32::MAX] {
            let e = page_limit(Some(bad), 100, 1000).err();
            assert_eq!(e.as_ref().map(|e| e.status.as_u16()), Some(400), "{bad}");
            assert_eq!(e.and_then(|e| e.field).as_deref(), Some("limit"));
        }
    }

    #[test]
    fn access_event_enums_in_the_document_are_the_core_ones() {
        use super::super::views::{DeviceTypeDoc, EventKindDoc, VerifyMethodDoc};
        use hearth_core::{DeviceType as D, EventKind as K, VerifyMethod as M};
        let json = |v: &dyn erased::Ser| v.json();
        for d in [
            D::Tv,
            D::Mobile,
            D::Tablet,
            D::Computer,
            D::Console,
            D::Other,
        ] {
            assert!(
                serde_json::from_str::<DeviceTypeDoc>(&json(&d)).is_ok(),
                "{d:?}"
            );
        }
        for k in [
            K::SignIn,
            K::Playback,
            K::Heartbeat,
            K::Verified,
            K::VerifyLater,
            K::TravelStarted,
            K::SignInFailed,
        ] {
            assert!(
                serde_json::from_str::<EventKindDoc>(&json(&k)).is_ok(),
                "{k:?}"
            );
        }
        for m in [M::Email, M::Sms, M::SignInCode] {
            assert!(
                serde_json::from_str::<VerifyMethodDoc>(&json(&m)).is_ok(),
                "{m:?}"
            );
        }
        let doc = serde_json::to_value(super::super::openapi_doc()).unwrap_or_default();
        let kinds = &doc["components"]["schemas"]["EventKindDoc"]["enum"];
        assert_eq!(kinds.as_array().map(Vec::len), Some(7), "{kinds}");
    }

    mod erased {
        pub trait Ser {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap_or_default()
            }
        }
    }
}
