//! The access event: one JSON object per line, the contract in PRODUCT.md.

use crate::{AccountId, DeviceId, Timestamp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    Tv,
    Mobile,
    Tablet,
    Computer,
    Console,
    Other,
}

impl DeviceType {
    /// TV-class devices define the household: they watch from the home connection.
    pub fn is_tv_class(self) -> bool {
        matches!(self, DeviceType::Tv | DeviceType::Console)
    }

    /// Devices a member carries: they may watch anywhere once seen at home.
    pub fn is_portable(self) -> bool {
        matches!(
            self,
            DeviceType::Mobile | DeviceType::Tablet | DeviceType::Computer
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Tv => "tv",
            DeviceType::Mobile => "mobile",
            DeviceType::Tablet => "tablet",
            DeviceType::Computer => "computer",
            DeviceType::Console => "console",
            DeviceType::Other => "other",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    SignIn,
    Playback,
    Heartbeat,
    /// The owner verified this device (with `method`).
    Verified,
    /// The device chose to verify later.
    VerifyLater,
    /// A household member's portable device started a travel pass.
    TravelStarted,
    /// A failed sign-in attempt (wrong password or code) for this account.
    SignInFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMethod {
    Email,
    Sms,
    SignInCode,
}

/// One access event. Unknown fields are ignored when reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessEvent {
    pub ts: Timestamp,
    pub account: AccountId,
    pub device: DeviceId,
    pub device_type: DeviceType,
    pub ip: IpAddr,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<VerifyMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Anonymising network (VPN, Tor exit, hosting/proxy), from the MaxMind
    /// Anonymous-IP database when configured, or from the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,
    /// The platform's id for this event, unique per account, so a redelivered event
    /// can be recognised. Not an input to the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}
