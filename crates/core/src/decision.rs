//! What the engine answers: one decision per event, one verdict per account.

use crate::{AccountId, DeviceId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Verify,
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// Stable reason codes. They cross the wire as snake_case strings; add, never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NewDevice,
    KnownDevice,
    HomeDevice,
    PortableDevice,
    OutsideHousehold,
    AtHome,
    FarFromHome,
    Travelling,
    VerifiedAway,
    Deferred,
    DeferralsExhausted,
    ImpossibleTravel,
    ConcurrentPlaces,
    ManyNewDevices,
    ManyHouseholds,
    AnonymousNetwork,
    RecentSignInFailures,
    UnfamiliarNetwork,
    FamiliarNetwork,
    HouseholdLearning,
    OwnerVerified,
    ResoldAccount,
    /// The event is a failed sign-in attempt.
    SignInFailure,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub account: AccountId,
    pub device: DeviceId,
    pub ts: Timestamp,
    pub decision: Outcome,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub defer_allowed: bool,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    Household,
    Shared,
    Resold,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountVerdict {
    pub account: AccountId,
    pub sharing: Sharing,
    pub households: u32,
    pub devices: u32,
    pub evidence: Vec<String>,
}
