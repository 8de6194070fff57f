//! Behaviour of the engine, one scenario per test.

use super::*;
use crate::time::{HOUR, MINUTE};
use crate::{DeviceType, Sharing};

const T0: i64 = 1_772_396_100_000; // 2026-03-01T20:15:00Z

struct At {
    ip: &'static str,
    asn: u32,
    city: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
}

const HOME: At = At {
    ip: "203.0.113.7",
    asn: 3243,
    city: "Lisbon",
    country: "PT",
    lat: 38.72,
    lon: -9.14,
};
const HOME_NEW_IP: At = At {
    ip: "203.0.200.9",
    asn: 3243,
    city: "Lisbon",
    country: "PT",
    lat: 38.72,
    lon: -9.14,
};
const NEIGHBOUR: At = At {
    ip: "203.0.150.3",
    asn: 3243,
    city: "Lisbon",
    country: "PT",
    lat: 38.72,
    lon: -9.14,
};
const MOBILE_LISBON: At = At {
    ip: "188.250.1.2",
    asn: 12353,
    city: "Lisbon",
    country: "PT",
    lat: 38.72,
    lon: -9.14,
};
const PORTO: At = At {
    ip: "85.240.3.4",
    asn: 2860,
    city: "Porto",
    country: "PT",
    lat: 41.15,
    lon: -8.61,
};
const PARIS: At = At {
    ip: "90.1.2.3",
    asn: 3215,
    city: "Paris",
    country: "FR",
    lat: 48.85,
    lon: 2.35,
};
const TOKYO: At = At {
    ip: "126.1.2.3",
    asn: 17676,
    city: "Tokyo",
    country: "JP",
    lat: 35.68,
    lon: 139.69,
};

fn ev(min: i64, dev: &str, ty: DeviceType, at: &At, kind: EventKind) -> AccessEvent {
    AccessEvent {
        ts: Timestamp::from_millis(T0 + min * MINUTE),
        account: "a-1".into(),
        device: dev.into(),
        device_type: ty,
        ip: at.ip.parse().unwrap(),
        kind,
        method: None,
        user_agent: None,
        country: Some(at.country.into()),
        city: Some(at.city.into()),
        lat: Some(at.lat),
        lon: Some(at.lon),
        asn: Some(at.asn),
        anonymous: None,
        id: None,
    }
}

struct Account {
    engine: Engine,
    state: AccountState,
}

impl Account {
    fn new() -> Self {
        Self {
            engine: Engine::default(),
            state: AccountState::default(),
        }
    }
    fn run(&mut self, e: AccessEvent) -> Decision {
        let now = e.ts;
        self.engine.decide(&mut self.state, &e, now)
    }
    fn play(&mut self, min: i64, dev: &str, ty: DeviceType, at: &At) -> Decision {
        self.run(ev(min, dev, ty, at, EventKind::Playback))
    }
    fn answer(
        &mut self,
        min: i64,
        dev: &str,
        ty: DeviceType,
        at: &At,
        kind: EventKind,
    ) -> Decision {
        self.run(ev(min, dev, ty, at, kind))
    }
    /// A household in Lisbon: a TV and a phone watching at home.
    fn household() -> Self {
        let mut a = Self::new();
        let d = a.play(0, "tv", DeviceType::Tv, &HOME);
        assert_eq!(d.decision, Outcome::Allow);
        assert!(d.reasons.contains(&Reason::HouseholdLearning));
        let d = a.play(10, "phone", DeviceType::Mobile, &HOME);
        assert_eq!(d.decision, Outcome::Allow);
        assert_eq!(
            d.reasons,
            vec![Reason::PortableDevice, Reason::AtHome, Reason::NewDevice]
        );
        a
    }
    fn verdict(&self, min: i64) -> AccountVerdict {
        let now = Timestamp::from_millis(T0 + min * MINUTE);
        self.engine.verdict(&self.state, &"a-1".into(), now)
    }
}

const D: i64 = 24 * 60; // minutes in a day

#[test]
fn household_devices_are_allowed_at_home_and_phones_anywhere() {
    let mut a = Account::household();
    let d = a.play(D, "tv", DeviceType::Tv, &HOME);
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.reasons, vec![Reason::HomeDevice, Reason::AtHome]);
    for (min, at) in [
        (D + 60, &MOBILE_LISBON),
        (2 * D, &PORTO),
        (3 * D, &PARIS),
        (3 * D + 600, &TOKYO),
    ] {
        let d = a.play(min, "phone", DeviceType::Mobile, at);
        assert_eq!(d.decision, Outcome::Allow, "{:?}", d);
        assert_eq!(d.reasons[0], Reason::PortableDevice);
    }
    assert_eq!(a.verdict(4 * D).sharing, Sharing::Household);
}

#[test]
fn a_stranger_is_asked_to_verify_with_codes_and_may_defer_twice() {
    let mut a = Account::household();
    let d = a.play(60, "x", DeviceType::Tv, &PORTO);
    assert_eq!(d.decision, Outcome::Verify);
    assert_eq!(d.channels, vec![Channel::Email, Channel::Sms]);
    assert!(d.defer_allowed);
    assert_eq!(
        &d.reasons[..3],
        &[
            Reason::NewDevice,
            Reason::OutsideHousehold,
            Reason::FarFromHome
        ]
    );
    assert!(d.score > 0.5, "{}", d.score);

    let d = a.answer(61, "x", DeviceType::Tv, &PORTO, EventKind::VerifyLater);
    assert_eq!(
        (d.decision, d.reasons.clone()),
        (Outcome::Allow, vec![Reason::Deferred])
    );
    assert_eq!(
        a.play(62, "x", DeviceType::Tv, &PORTO).decision,
        Outcome::Allow
    );
    assert_eq!(
        a.state
            .device_standing(&"x".into(), Timestamp::from_millis(T0 + 62 * MINUTE)),
        Standing::Deferred
    );
    // After the grace period, one more deferral, then none.
    let d = a.play(8 * D, "x", DeviceType::Tv, &PORTO);
    assert_eq!((d.decision, d.defer_allowed), (Outcome::Verify, true));
    a.answer(
        8 * D + 1,
        "x",
        DeviceType::Tv,
        &PORTO,
        EventKind::VerifyLater,
    );
    let d = a.play(16 * D, "x", DeviceType::Tv, &PORTO);
    assert_eq!((d.decision, d.defer_allowed), (Outcome::Verify, false));
    assert!(d.reasons.contains(&Reason::DeferralsExhausted));
    let d = a.answer(
        16 * D + 1,
        "x",
        DeviceType::Tv,
        &PORTO,
        EventKind::VerifyLater,
    );
    assert_eq!(d.decision, Outcome::Verify);
}

#[test]
fn an_owner_verified_device_may_watch_away() {
    let mut a = Account::household();
    assert_eq!(
        a.play(60, "laptop", DeviceType::Computer, &PARIS).decision,
        Outcome::Verify
    );
    let d = a.answer(
        61,
        "laptop",
        DeviceType::Computer,
        &PARIS,
        EventKind::Verified,
    );
    assert_eq!(d.reasons, vec![Reason::OwnerVerified]);
    let d = a.play(62, "laptop", DeviceType::Computer, &PARIS);
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.reasons[0], Reason::VerifiedAway);
    // The verified period ends after 31 days.
    assert_eq!(
        a.play(32 * D, "laptop", DeviceType::Computer, &PARIS)
            .decision,
        Outcome::Verify
    );
}

#[test]
fn dynamic_ip_changes_keep_the_household_but_a_neighbour_is_a_stranger() {
    let mut a = Account::household();
    let d = a.play(D, "tv", DeviceType::Tv, &HOME_NEW_IP);
    assert_eq!(d.decision, Outcome::Allow);
    assert!(d.reasons.contains(&Reason::AtHome));
    // A new device on the new prefix the TV taught is at home.
    let d = a.play(D + 5, "tablet", DeviceType::Tablet, &HOME_NEW_IP);
    assert_eq!(d.decision, Outcome::Allow);
    // A neighbour on the same provider in the same city, another prefix: verify.
    let d = a.play(D + 6, "n", DeviceType::Tv, &NEIGHBOUR);
    assert_eq!(d.decision, Outcome::Verify);
    assert_eq!(a.verdict(D + 10).sharing, Sharing::Household);
}

#[test]
fn travel_pass_and_home_tv_away() {
    let mut a = Account::household();
    // The home TV taken elsewhere is outside the household.
    let d = a.play(60, "tv", DeviceType::Tv, &PORTO);
    assert_eq!(d.decision, Outcome::Verify);
    assert!(d.reasons.contains(&Reason::KnownDevice));
    // A console given a travel pass is allowed there.
    a.play(61, "console", DeviceType::Console, &HOME);
    let d = a.answer(
        62,
        "console",
        DeviceType::Console,
        &PORTO,
        EventKind::TravelStarted,
    );
    assert_eq!(d.reasons, vec![Reason::Travelling]);
    assert_eq!(
        a.play(63, "console", DeviceType::Console, &PORTO).decision,
        Outcome::Allow
    );
    assert_eq!(
        a.play(8 * D, "console", DeviceType::Console, &PORTO)
            .decision,
        Outcome::Verify
    );
}

#[test]
fn a_move_confirmed_by_code_moves_the_household() {
    let mut a = Account::household();
    assert_eq!(
        a.play(D, "tv", DeviceType::Tv, &PORTO).decision,
        Outcome::Verify
    );
    a.answer(D + 1, "tv", DeviceType::Tv, &PORTO, EventKind::Verified);
    let now = Timestamp::from_millis(T0 + (D + 2) * MINUTE);
    let homes = a.state.households(now);
    assert_eq!(homes.len(), 1);
    assert_eq!(homes[0].city.as_deref(), Some("Porto"));
    assert!(homes[0].confirmed);
    // The phone, seen at the new home, is portable again; a device at the old home is a stranger.
    assert_eq!(
        a.play(D + 3, "phone", DeviceType::Mobile, &PORTO).decision,
        Outcome::Allow
    );
    assert_eq!(a.verdict(D + 4).sharing, Sharing::Household);
    assert_eq!(
        a.play(D + 5, "old-tv", DeviceType::Tv, &HOME).decision,
        Outcome::Verify
    );
}

#[test]
fn takeover_from_an_anonymising_network_far_away_is_denied() {
    let mut a = Account::household();
    let mut e = ev(30, "evil", DeviceType::Computer, &TOKYO, EventKind::SignIn);
    e.anonymous = Some(true);
    let d = a.run(e);
    assert_eq!(d.decision, Outcome::Deny, "{d:?}");
    assert!(d.reasons.contains(&Reason::AnonymousNetwork));
    // Impossible travel of one device: Lisbon, then Tokyo ten minutes later.
    let mut b = Account::household();
    b.play(20, "x", DeviceType::Computer, &PORTO);
    let d = b.play(30, "x", DeviceType::Computer, &TOKYO);
    assert!(d.reasons.contains(&Reason::ImpossibleTravel), "{d:?}");
}

#[test]
fn failed_sign_ins_are_counted_and_decay() {
    let mut a = Account::household();
    for i in 0..5 {
        let d = a.answer(
            20 + i,
            "evil",
            DeviceType::Computer,
            &PARIS,
            EventKind::SignInFailed,
        );
        assert_eq!(d.decision, Outcome::Deny);
    }
    let d = a.play(30, "evil", DeviceType::Computer, &PARIS);
    assert!(d.reasons.contains(&Reason::RecentSignInFailures));
    let d = a.play(
        30 + 2 * HOUR / MINUTE,
        "evil2",
        DeviceType::Computer,
        &PARIS,
    );
    assert!(!d.reasons.contains(&Reason::RecentSignInFailures));
}

#[test]
fn verdicts_household_shared_resold() {
    // Shared: a friend in Porto with a TV, verified, watching every day.
    let mut shared = Account::household();
    for day in 1..6 {
        shared.play(day * D, "friend-tv", DeviceType::Tv, &PORTO);
        if day == 1 {
            shared.answer(
                D + 1,
                "friend-tv",
                DeviceType::Tv,
                &PORTO,
                EventKind::Verified,
            );
        }
        shared.play(day * D + 60, "tv", DeviceType::Tv, &HOME);
    }
    let v = shared.verdict(6 * D);
    assert_eq!((v.sharing, v.households), (Sharing::Shared, 2), "{v:?}");

    // Resold: twenty buyers in twenty cities over three days.
    let mut resold = Account::household();
    for i in 0..20i64 {
        let at = At {
            ip: Box::leak(format!("100.{}.{}.9", 64 + i, i).into_boxed_str()),
            asn: 1000 + i as u32,
            city: Box::leak(format!("City{i}").into_boxed_str()),
            country: "BR",
            lat: -20.0 + i as f64,
            lon: -45.0,
        };
        let dev: &str = Box::leak(format!("buyer-{i}").into_boxed_str());
        let d = resold.play(D + i * 180, dev, DeviceType::Tv, &at);
        assert_eq!(d.decision, Outcome::Verify);
    }
    let v = resold.verdict(4 * D);
    assert_eq!(v.sharing, Sharing::Resold, "{v:?}");
    assert!(v.evidence.iter().any(|e| e.starts_with("resold_since=")));
    assert!(resold.state.devices.len() <= resold.engine.config.max_devices);
}

#[test]
fn concurrent_streams_in_many_places_are_reported() {
    let mut a = Account::household();
    a.play(100, "tv", DeviceType::Tv, &HOME);
    a.play(101, "phone", DeviceType::Mobile, &PARIS);
    let d = a.play(102, "s", DeviceType::Tv, &PORTO);
    assert!(d.reasons.contains(&Reason::ConcurrentPlaces), "{d:?}");
}

#[test]
fn a_phone_only_account_gets_a_provisional_household_until_a_tv_shows_up() {
    let mut a = Account::new();
    assert!(a
        .play(0, "p", DeviceType::Mobile, &MOBILE_LISBON)
        .reasons
        .contains(&Reason::HouseholdLearning));
    assert_eq!(
        a.play(5, "x", DeviceType::Computer, &PARIS).decision,
        Outcome::Verify
    );
    // The first TV defines the household and replaces the provisional one.
    assert!(a
        .play(10, "tv", DeviceType::Tv, &HOME)
        .reasons
        .contains(&Reason::HouseholdLearning));
    let homes = a.state.households(Timestamp::from_millis(T0 + 11 * MINUTE));
    assert_eq!(homes.len(), 1);
    assert!(homes[0].tv);
}

#[test]
fn without_geo_or_asn_the_engine_works_from_prefixes() {
    let mut a = Account::new();
    let bare = |min: i64, dev: &str, ty: DeviceType, ip: &str| {
        let mut e = ev(min, dev, ty, &HOME, EventKind::Playback);
        e.ip = ip.parse().unwrap();
        (e.country, e.city, e.lat, e.lon, e.asn) = (None, None, None, None, None);
        e
    };
    assert_eq!(
        a.run(bare(0, "tv", DeviceType::Tv, "198.51.100.4"))
            .decision,
        Outcome::Allow
    );
    assert_eq!(
        a.run(bare(1, "p", DeviceType::Mobile, "198.51.100.77"))
            .decision,
        Outcome::Allow
    );
    assert_eq!(
        a.run(bare(2, "s", DeviceType::Mobile, "192.0.2.1"))
            .decision,
        Outcome::Verify
    );
    assert_eq!(
        a.run(bare(3, "p", DeviceType::Mobile, "192.0.2.1"))
            .decision,
        Outcome::Allow
    );
    let v6 = a.run(bare(4, "s6", DeviceType::Tv, "2001:db8::1"));
    assert_eq!(v6.decision, Outcome::Verify);
}

#[test]
fn state_round_trips_through_json_and_decisions_serialize_as_the_contract() {
    let mut a = Account::household();
    a.play(60, "x", DeviceType::Tv, &PORTO);
    let json = serde_json::to_string(&a.state).unwrap();
    let back: AccountState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a.state);
    let d = a.play(61, "x", DeviceType::Tv, &PORTO);
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["decision"], "verify");
    assert_eq!(v["channels"], serde_json::json!(["email", "sms"]));
    assert_eq!(v["reasons"][1], "outside_household");
    assert_eq!(v["ts"], "2026-03-01T21:16:00Z");
    assert_eq!(
        serde_json::to_value(Standing::Portable).unwrap(),
        "portable"
    );
}

#[test]
fn global_statistics_make_a_familiar_network_less_risky() {
    let engine = Engine::default();
    let mut global = GlobalStats::default();
    let mut state = AccountState::default();
    for i in 0..50 {
        let e = ev(i, "tv", DeviceType::Tv, &HOME, EventKind::Playback);
        engine.decide_with(&mut global, &mut state, &e, e.ts);
    }
    assert!(global.observations() >= 50);
    let e = ev(60, "new", DeviceType::Computer, &TOKYO, EventKind::SignIn);
    let far = engine.decide_with(&mut global, &mut state.clone(), &e, e.ts);
    assert!(far.reasons.contains(&Reason::UnfamiliarNetwork), "{far:?}");
    let e = ev(
        60,
        "new",
        DeviceType::Computer,
        &MOBILE_LISBON,
        EventKind::SignIn,
    );
    let near = engine.decide_with(&mut global, &mut state.clone(), &e, e.ts);
    assert!(near.score < far.score, "{} {}", near.score, far.score);
}

#[test]
fn a_stranger_streaming_far_away_while_the_household_streams_is_reported() {
    let mut a = Account::household();
    a.play(200, "tv", DeviceType::Tv, &HOME);
    let d = a.play(205, "s", DeviceType::Tv, &TOKYO);
    assert_eq!(d.decision, Outcome::Verify);
    assert!(d.reasons.contains(&Reason::ConcurrentPlaces), "{d:?}");
    // Concurrency alone is not attack evidence: verify, never deny.
    assert!(!d.reasons.contains(&Reason::ImpossibleTravel));
}

fn with_id(mut e: AccessEvent, id: &str) -> AccessEvent {
    e.id = Some(id.into());
    e
}

impl Account {
    fn play_id(&mut self, min: i64, dev: &str, ty: DeviceType, at: &At, id: &str) -> Decision {
        self.run(with_id(ev(min, dev, ty, at, EventKind::Playback), id))
    }
}

#[test]
fn an_event_id_applied_before_gets_its_first_decision_and_changes_nothing() {
    let mut a = Account::household();
    let first = a.play_id(60, "x", DeviceType::Tv, &PORTO, "m-1");
    assert_eq!(first.decision, Outcome::Verify);
    // Through JSON, as the server stores it: the decision comes back whole.
    a.state = serde_json::from_str(&serde_json::to_string(&a.state).unwrap()).unwrap();
    let before = a.state.clone();
    // Redelivered: the same answer, and the device's second sighting is not counted.
    let again = a.play_id(60, "x", DeviceType::Tv, &PORTO, "m-1");
    assert_eq!(again, first);
    assert_eq!(a.state, before);
    // The same event under a new id is a new event.
    let d = a.run(with_id(
        ev(61, "x", DeviceType::Tv, &PORTO, EventKind::VerifyLater),
        "m-2",
    ));
    assert_eq!(d.decision, Outcome::Allow);
    assert_ne!(a.state, before);
    // Events without an id are never taken for one another.
    let before = a.state.clone();
    a.play(62, "x", DeviceType::Tv, &PORTO);
    assert_ne!(a.state, before);
}

#[test]
fn only_the_latest_applied_ids_are_kept() {
    let mut a = Account::household();
    let keep = a.engine.config.applied_ids as i64;
    let first = a.play_id(20, "tv", DeviceType::Tv, &HOME, "m-0");
    for i in 1..keep {
        a.play_id(20 + i, "tv", DeviceType::Tv, &HOME, &format!("m-{i}"));
    }
    assert_eq!(a.state.applied.len(), keep as usize);
    let e = with_id(
        ev(20, "tv", DeviceType::Tv, &HOME, EventKind::Playback),
        "m-0",
    );
    assert_eq!(a.engine.applied(&a.state, &e), Some(first));
    // One more id pushes the oldest out: it would be applied afresh.
    a.play_id(20 + keep, "tv", DeviceType::Tv, &HOME, "m-new");
    assert_eq!(a.state.applied.len(), keep as usize);
    assert_eq!(a.engine.applied(&a.state, &e), None);
    let e1 = with_id(
        ev(21, "tv", DeviceType::Tv, &HOME, EventKind::Playback),
        "m-1",
    );
    assert!(a.engine.applied(&a.state, &e1).is_some());

    // Kept nowhere when configured off.
    let mut b = Account::new();
    b.engine.config.applied_ids = 0;
    b.run(with_id(
        ev(0, "tv", DeviceType::Tv, &HOME, EventKind::Playback),
        "m-0",
    ));
    assert!(b.state.applied.is_empty());
}

#[test]
fn applied_ids_are_told_apart_and_long_ones_kept_short() {
    // Ids that differ in a few trailing characters (a stream name and a sequence
    // number, as `hearth consume` makes them) are each their own event.
    let mut a = Account::household();
    a.engine.config.applied_ids = 3000;
    let stream = "HEARTH_TEST_10681_468206953685_EVENTS";
    for n in 1..3000 {
        let e = with_id(
            ev(20, "tv", DeviceType::Tv, &HOME, EventKind::Heartbeat),
            &format!("{stream}:{n}"),
        );
        assert_eq!(a.engine.applied(&a.state, &e), None, "{n}");
        a.run(e);
    }
    // An id longer than 64 bytes is kept as its digest, and still recognised.
    let long = "x".repeat(10_000);
    let e = with_id(
        ev(21, "tv", DeviceType::Tv, &HOME, EventKind::Playback),
        &long,
    );
    let first = a.run(e.clone());
    let kept = serde_json::to_value(&a.state.applied).unwrap();
    let last = kept["e"].as_array().unwrap().last().unwrap();
    assert_eq!(last[0].as_str().unwrap().len(), 65, "{last}");
    assert_eq!(a.engine.applied(&a.state, &e), Some(first));
    let other = with_id(e.clone(), &format!("{long}y"));
    assert_eq!(a.engine.applied(&a.state, &other), None);
}

#[test]
fn applied_ids_share_their_decisions_and_forget_unused_ones() {
    let mut a = Account::household();
    let keep = a.engine.config.applied_ids as i64;
    let stranger = a.play_id(60, "x", DeviceType::Tv, &PORTO, "s-0");
    assert_eq!(stranger.decision, Outcome::Verify);
    for i in 0..keep {
        a.play_id(61 + i, "tv", DeviceType::Tv, &HOME, &format!("h-{i}"));
    }
    // One body for all the home playbacks, once the stranger's has been forgotten.
    let kept = serde_json::to_value(&a.state.applied).unwrap();
    assert_eq!(kept["e"].as_array().unwrap().len(), keep as usize);
    assert_eq!(kept["b"].as_array().unwrap().len(), 1, "{kept}");
    // A new body is added and answered from; the shared one still answers.
    let again = a.play_id(200, "x", DeviceType::Tv, &PORTO, "s-1");
    let e = with_id(
        ev(200, "x", DeviceType::Tv, &PORTO, EventKind::Playback),
        "s-1",
    );
    assert_eq!(a.engine.applied(&a.state, &e), Some(again));
    let h = with_id(
        ev(60 + keep, "tv", DeviceType::Tv, &HOME, EventKind::Playback),
        &format!("h-{}", keep - 1),
    );
    let d = a.engine.applied(&a.state, &h).unwrap();
    assert_eq!((d.device.as_str(), d.decision), ("tv", Outcome::Allow));
    assert_eq!(d.ts, h.ts);
}

#[test]
fn devices_whose_names_collide_in_the_quick_hash_are_two_devices() {
    // Two names hash64 cannot tell apart (it has many among "device-{n}").
    let mut seen = std::collections::HashMap::new();
    let (a_name, b_name) = (0..1_000_000)
        .find_map(|n| {
            let name = format!("device-{n}");
            seen.insert(signals::hash64(&name), name.clone())
                .map(|other| (other, name))
        })
        .expect("a collision");
    let mut a = Account::household();
    let first = a.play(60, &a_name, DeviceType::Tv, &HOME);
    assert!(first.reasons.contains(&Reason::NewDevice), "{first:?}");
    let second = a.play(61, &b_name, DeviceType::Tv, &HOME);
    assert!(
        second.reasons.contains(&Reason::NewDevice),
        "{b_name} taken for {a_name}: {second:?}"
    );
    assert_eq!(a.state.device_count(), 4);
}

#[test]
fn devices_recorded_under_the_old_hash_are_moved_to_their_key_when_seen() {
    let mut a = Account::household();
    a.play(20, "tv", DeviceType::Tv, &HOME);
    let keyed = a.state.clone();
    // As a state written before devices had keys of their own: "tv" first, "phone".
    let names = ["tv", "phone"];
    for (d, name) in a.state.devices.iter_mut().zip(names) {
        let old = signals::hash64(name);
        for s in a.state.streams.iter_mut().filter(|s| s.device == d.id) {
            s.device = old;
        }
        d.id = old;
    }
    let now = Timestamp::from_millis(T0 + 21 * MINUTE);
    assert_eq!(
        a.state.device_standing(&"phone".into(), now),
        Standing::Portable
    );
    // Seen again: the same decision as with keyed records, and the record moves.
    let mut b = Account {
        engine: Engine::default(),
        state: keyed,
    };
    let want = b.play(21, "tv", DeviceType::Tv, &HOME);
    let got = a.play(21, "tv", DeviceType::Tv, &HOME);
    assert_eq!(got, want);
    assert!(!got.reasons.contains(&Reason::NewDevice));
    assert_eq!(a.state.devices[0].id, signals::device_key("tv"));
    assert!(a
        .state
        .streams
        .iter()
        .all(|s| s.device != signals::hash64("tv")));
    assert_eq!(
        a.state.devices[1].id,
        signals::hash64("phone"),
        "not seen yet"
    );
    assert_eq!(a.state.device_count(), 2);
}

#[test]
fn a_damaged_applied_entry_is_dropped_not_trusted() {
    let mut a = Account::household();
    // An entry pointing past the decisions, as a damaged row might hold.
    let mut doc = serde_json::to_value(&a.state).unwrap();
    doc["a"] = serde_json::json!({"e": [["m-1", 5]], "b": []});
    a.state = serde_json::from_value(doc).unwrap();
    let e = with_id(
        ev(30, "tv", DeviceType::Tv, &HOME, EventKind::Playback),
        "m-1",
    );
    assert_eq!(a.engine.applied(&a.state, &e), None);
    let d = a.run(e.clone());
    assert_eq!(a.engine.applied(&a.state, &e), Some(d));
    assert_eq!(a.state.applied.len(), 1);
}
