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

impl Outcome {
    /// The wire name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Verify => "verify",
            Outcome::Deny => "deny",
        }
    }
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

impl Reason {
    pub const ALL: [Reason; 23] = [
        Reason::NewDevice,
        Reason::KnownDevice,
        Reason::HomeDevice,
        Reason::PortableDevice,
        Reason::OutsideHousehold,
        Reason::AtHome,
        Reason::FarFromHome,
        Reason::Travelling,
        Reason::VerifiedAway,
        Reason::Deferred,
        Reason::DeferralsExhausted,
        Reason::ImpossibleTravel,
        Reason::ConcurrentPlaces,
        Reason::ManyNewDevices,
        Reason::ManyHouseholds,
        Reason::AnonymousNetwork,
        Reason::RecentSignInFailures,
        Reason::UnfamiliarNetwork,
        Reason::FamiliarNetwork,
        Reason::HouseholdLearning,
        Reason::OwnerVerified,
        Reason::ResoldAccount,
        Reason::SignInFailure,
    ];

    /// The wire name (as serialised), e.g. for metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NewDevice => "new_device",
            Reason::KnownDevice => "known_device",
            Reason::HomeDevice => "home_device",
            Reason::PortableDevice => "portable_device",
            Reason::OutsideHousehold => "outside_household",
            Reason::AtHome => "at_home",
            Reason::FarFromHome => "far_from_home",
            Reason::Travelling => "travelling",
            Reason::VerifiedAway => "verified_away",
            Reason::Deferred => "deferred",
            Reason::DeferralsExhausted => "deferrals_exhausted",
            Reason::ImpossibleTravel => "impossible_travel",
            Reason::ConcurrentPlaces => "concurrent_places",
            Reason::ManyNewDevices => "many_new_devices",
            Reason::ManyHouseholds => "many_households",
            Reason::AnonymousNetwork => "anonymous_network",
            Reason::RecentSignInFailures => "recent_sign_in_failures",
            Reason::UnfamiliarNetwork => "unfamiliar_network",
            Reason::FamiliarNetwork => "familiar_network",
            Reason::HouseholdLearning => "household_learning",
            Reason::OwnerVerified => "owner_verified",
            Reason::ResoldAccount => "resold_account",
            Reason::SignInFailure => "sign_in_failure",
        }
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wire_names_are_the_serialised_names() {
        for r in Reason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str(), "{r:?}");
        }
        let distinct: std::collections::BTreeSet<_> = Reason::ALL.iter().collect();
        assert_eq!(distinct.len(), Reason::ALL.len());
        for o in [Outcome::Allow, Outcome::Verify, Outcome::Deny] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str(), "{o:?}");
        }
    }
}
