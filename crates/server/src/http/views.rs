//! Wire shapes of the JSON API, with their OpenAPI schemas.

use crate::service::accounts::Guidance;
use hearth_core::{DeviceType, Timestamp};
use hearth_store::{Account, AuditEntry, Session};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    pub email: String,
    pub password: String,
    /// E.164, e.g. `+351912345678`.
    pub recovery_phone: Option<String>,
    /// `en`, `fr`, `pt` or `es`.
    pub locale: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`: the same answer whether or not the address was registered.
    pub status: &'static str,
    pub next: &'static str,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub email: String,
    pub password: String,
    /// The platform's id for this device; one is made up when absent.
    pub device_id: Option<String>,
    #[schema(value_type = String, example = "tv")]
    #[serde(default = "other_device")]
    pub device_type: DeviceType,
    pub device_name: Option<String>,
    /// The `device_key` this device got at an earlier sign-in, if any.
    pub device_key: Option<String>,
}

fn other_device() -> DeviceType {
    DeviceType::Other
}

#[derive(Serialize, ToSchema)]
pub struct SignedInBody {
    /// Bearer token for this device. Shown once; Hearth keeps only a keyed hash.
    pub token: String,
    pub session_id: String,
    pub device_id: String,
    /// Keep it and send it at the next sign-in: it marks this device as known, so
    /// someone else's failed guesses do not lock it out.
    pub device_key: String,
    pub must_change_password: bool,
    pub decision: DecisionDoc,
}

impl From<crate::service::accounts::SignedIn> for SignedInBody {
    fn from(s: crate::service::accounts::SignedIn) -> Self {
        SignedInBody {
            token: s.token,
            session_id: s.session.id,
            device_key: s.device_key,
            device_id: s.session.device_id,
            must_change_password: s.must_change_password,
            decision: DecisionDoc::from_decision(&s.decision),
        }
    }
}

/// The engine's decision for an access event (see PRODUCT.md).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DecisionDoc {
    pub account: String,
    pub device: String,
    #[schema(value_type = String, format = DateTime)]
    pub ts: Timestamp,
    /// `allow`, `verify` or `deny`.
    pub decision: String,
    /// `email` and/or `sms`.
    pub channels: Vec<String>,
    pub defer_allowed: bool,
    pub score: f64,
    /// Stable snake_case reason codes.
    pub reasons: Vec<String>,
}

impl DecisionDoc {
    pub fn from_decision(d: &hearth_core::Decision) -> Self {
        // Round-trip through the contract's own serialization so names never drift.
        let v = serde_json::to_value(d).unwrap_or_default();
        serde_json::from_value(v).unwrap_or(DecisionDoc {
            account: d.account.0.clone(),
            device: d.device.0.clone(),
            ts: d.ts,
            decision: "allow".into(),
            channels: Vec::new(),
            defer_allowed: false,
            score: d.score,
            reasons: Vec::new(),
        })
    }
}

/// `hearth_core::DeviceType` as the document shows it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DeviceTypeDoc {
    Tv,
    Mobile,
    Tablet,
    Computer,
    Console,
    Other,
}

/// `hearth_core::EventKind` as the document shows it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum EventKindDoc {
    SignIn,
    Playback,
    Heartbeat,
    Verified,
    VerifyLater,
    TravelStarted,
    SignInFailed,
}

/// `hearth_core::VerifyMethod` as the document shows it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum VerifyMethodDoc {
    Email,
    Sms,
    SignInCode,
}

/// An access event (see PRODUCT.md); unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AccessEventDoc {
    #[schema(format = DateTime)]
    pub ts: String,
    pub account: String,
    pub device: String,
    pub device_type: DeviceTypeDoc,
    pub ip: String,
    pub kind: EventKindDoc,
    /// With `verified`: how the owner verified the device.
    pub method: Option<VerifyMethodDoc>,
    pub user_agent: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub asn: Option<u32>,
    /// Anonymising network (VPN, Tor, hosting), when the platform knows it.
    pub anonymous: Option<bool>,
    /// The platform's id for this event, unique per account: an event whose id is
    /// among the account's latest `[engine] applied_ids` (16) is answered with the decision it was given
    /// and not applied again.
    pub id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeBody {
    pub id: String,
    pub email: String,
    pub recovery_phone: Option<String>,
    pub locale: String,
    pub role: String,
    pub must_change_password: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub password_changed_at: Timestamp,
}

impl From<&Account> for MeBody {
    fn from(a: &Account) -> Self {
        MeBody {
            id: a.id.clone(),
            email: a.email.clone(),
            recovery_phone: a.recovery_phone.clone(),
            locale: a.locale.clone(),
            role: a.role.as_str().to_owned(),
            must_change_password: a.must_change_password,
            created_at: a.created_at,
            password_changed_at: a.password_changed_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeviceBody {
    /// The session id: use it to rename or sign out this device.
    pub id: String,
    pub device_id: String,
    pub device_type: String,
    pub name: String,
    pub ip: String,
    pub user_agent: Option<String>,
    pub location: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
    /// This is the device making the request.
    pub current: bool,
    /// Where it stands with the household: `home`, `portable`, `travelling`,
    /// `verified`, `deferred` or `unknown`.
    pub standing: String,
}

impl DeviceBody {
    pub fn new(s: &Session, current: &str) -> Self {
        DeviceBody {
            id: s.id.clone(),
            device_id: s.device_id.clone(),
            device_type: s.device_type.clone(),
            name: s.name.clone(),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            location: s.location.clone(),
            first_seen: s.created_at,
            last_seen: s.last_seen_at,
            current: s.id == current,
            standing: "unknown".into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    pub name: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SignOutAllBody {
    /// Keep the device making the request signed in.
    pub keep_current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CountBody {
    pub signed_out: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeBody {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBody {
    /// E.164, e.g. `+351912345678`.
    pub phone: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordCheckBody {
    pub password: String,
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordReportBody {
    pub accepted: bool,
    /// Stable codes of the rules broken.
    pub reasons: Vec<String>,
    /// zxcvbn score 0–4.
    pub strength: u8,
}

#[derive(Serialize, ToSchema)]
pub struct CompromisedBody {
    pub devices_signed_out: u64,
    pub must_change_password: bool,
    pub guidance: Vec<Guidance>,
}

#[derive(Serialize, ToSchema)]
pub struct NotMeBody {
    pub signed_out: DeviceBody,
    pub reported: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AuditBody {
    pub id: i64,
    pub account_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub kind: String,
    pub ip: Option<String>,
    pub device_id: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditBody {
    fn from(e: AuditEntry) -> Self {
        AuditBody {
            id: e.id,
            account_id: e.account_id,
            at: e.at,
            kind: e.kind,
            ip: e.ip,
            device_id: e.device_id,
            detail: e.detail,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FlaggedBody {
    pub id: String,
    pub email: String,
    pub reason: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub flagged_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct HealthBody {
    pub status: &'static str,
    pub backend: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct SharingBody {
    pub account: String,
    /// `shared` or `resold`.
    pub sharing: String,
    pub households: u32,
    pub devices: u32,
    /// The engine's evidence, as stable `key=value` strings.
    pub evidence: Vec<String>,
    pub rank: f64,
    #[schema(value_type = String, format = DateTime)]
    pub first_flagged_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<hearth_store::SharingRow> for SharingBody {
    fn from(r: hearth_store::SharingRow) -> Self {
        let evidence = r
            .evidence
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        SharingBody {
            account: r.account,
            sharing: r.sharing,
            households: r.households,
            devices: r.devices,
            evidence,
            rank: r.rank,
            first_flagged_at: r.first_flagged_at,
            updated_at: r.updated_at,
        }
    }
}

/// One household connection the engine has learnt.
#[derive(Serialize, ToSchema)]
pub struct HouseholdBody {
    pub asn: Option<u32>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub lat: Option<f32>,
    pub lon: Option<f32>,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
    /// Learnt from TVs (false: provisional, from phones only).
    pub tv: bool,
    /// Confirmed by the owner with a code.
    pub confirmed: bool,
}

impl From<hearth_core::engine::HouseholdNetwork> for HouseholdBody {
    fn from(h: hearth_core::engine::HouseholdNetwork) -> Self {
        HouseholdBody {
            asn: h.asn,
            country: h.country,
            city: h.city,
            lat: h.lat,
            lon: h.lon,
            first_seen: h.first_seen,
            last_seen: h.last_seen,
            tv: h.tv,
            confirmed: h.confirmed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountReviewBody {
    pub account: String,
    /// The engine's verdict now: `household`, `shared` or `resold`.
    pub sharing: String,
    pub households: u32,
    pub devices: u32,
    pub evidence: Vec<String>,
    pub household_networks: Vec<HouseholdBody>,
    /// The account's latest security events, newest first.
    pub timeline: Vec<AuditBody>,
}
