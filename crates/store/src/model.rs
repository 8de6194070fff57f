//! Rows as the rest of Hearth sees them.

use hearth_core::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::Member
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    pub id: String,
    /// Lower-cased.
    pub email: String,
    pub password_hash: String,
    pub recovery_phone: Option<String>,
    pub locale: String,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub email: String,
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub recovery_phone: Option<String>,
    pub locale: String,
    pub role: Role,
    pub must_change_password: bool,
    pub flagged_reason: Option<String>,
    pub flagged_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub password_changed_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    pub id: String,
    pub account_id: String,
    pub token_hash: Vec<u8>,
    pub device_id: String,
    pub device_type: String,
    pub name: String,
    pub ip: String,
    pub user_agent: Option<String>,
    pub location: Option<String>,
    /// Keyed hash of the device key handed to the device at this sign-in.
    pub device_key_hash: Option<Vec<u8>>,
    pub now: Timestamp,
    /// The audit record of the sign-in, written in the same transaction as the
    /// session: neither exists without the other, and it costs one commit.
    pub audit: Option<NewAudit>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    pub device_id: String,
    pub device_type: String,
    pub name: String,
    pub ip: String,
    pub user_agent: Option<String>,
    pub location: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAudit {
    pub account_id: Option<String>,
    pub at: Timestamp,
    /// Stable snake_case code: `sign_in_succeeded`, `password_changed`, …
    pub kind: String,
    pub ip: Option<String>,
    pub device_id: Option<String>,
    /// JSON object with details; never secrets.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub account_id: Option<String>,
    pub at: Timestamp,
    pub kind: String,
    pub ip: Option<String>,
    pub device_id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub account_id: Option<String>,
    pub kind: Option<String>,
    pub ip: Option<String>,
    pub since: Option<Timestamp>,
    /// Entries with an id below this one (paging backwards).
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedState {
    pub version: i64,
    pub state: String,
}

/// An account in the analysts' sharing queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharingRow {
    pub account: String,
    /// `shared` or `resold`.
    pub sharing: String,
    pub households: u32,
    pub devices: u32,
    /// JSON array of evidence strings.
    pub evidence: serde_json::Value,
    /// Higher is worse; the queue is sorted by it.
    pub rank: f64,
    pub first_flagged_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A security notice about to be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotification {
    pub account_id: String,
    /// The notice's stable code (`new_device_away`, `password_changed`, …).
    pub kind: String,
    pub at: Timestamp,
    pub device_name: Option<String>,
    pub device_type: Option<String>,
    pub place: Option<String>,
    pub count: u32,
    pub delivered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: i64,
    pub account_id: String,
    pub kind: String,
    pub at: Timestamp,
    pub device_name: Option<String>,
    pub device_type: Option<String>,
    pub place: Option<String>,
    pub count: u32,
    pub delivered: bool,
    pub read_at: Option<Timestamp>,
}

/// How an owner wants to be told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPrefs {
    pub account_id: String,
    pub email: bool,
    pub sms: bool,
    /// Notice kinds switched off.
    pub off: Vec<String>,
}
