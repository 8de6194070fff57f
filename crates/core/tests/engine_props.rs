//! Properties of the engine under arbitrary and adversarial input.

use hearth_core::engine::{AccountState, Engine, EngineConfig, GlobalStats};
use hearth_core::{AccessEvent, DeviceType, EventKind, Timestamp};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn device_type() -> impl Strategy<Value = DeviceType> {
    prop_oneof![
        Just(DeviceType::Tv),
        Just(DeviceType::Mobile),
        Just(DeviceType::Tablet),
        Just(DeviceType::Computer),
        Just(DeviceType::Console),
        Just(DeviceType::Other),
    ]
}

fn kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        4 => Just(EventKind::Playback),
        2 => Just(EventKind::SignIn),
        2 => Just(EventKind::Heartbeat),
        1 => Just(EventKind::Verified),
        1 => Just(EventKind::VerifyLater),
        1 => Just(EventKind::TravelStarted),
        1 => Just(EventKind::SignInFailed),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        // A small pool so that devices and networks repeat.
        (0u8..4, 0u8..4).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(10, a, b, 1))),
        any::<u32>().prop_map(|x| IpAddr::V4(Ipv4Addr::from(x))),
        any::<u128>().prop_map(|x| IpAddr::V6(Ipv6Addr::from(x))),
    ]
}

fn float() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        (-90.0f64..90.0).prop_map(Some),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
        Just(Some(1e300)),
    ]
}

prop_compose! {
    fn event()(
        ts in prop_oneof![0i64..(90 * 86_400_000), any::<i64>()],
        account in 0u8..3,
        device in prop_oneof![(0u16..6).prop_map(|d| d.to_string()), ".{0,80}"],
        device_type in device_type(),
        ip in ip(),
        kind in kind(),
        city in proptest::option::of(prop_oneof![Just("Lisbon".to_string()), ".{0,40}"]),
        country in proptest::option::of("[A-Z]{0,3}"),
        lat in float(),
        lon in float(),
        asn in proptest::option::of(prop_oneof![0u32..5, any::<u32>()]),
        ua in proptest::option::of(".{0,60}"),
        anonymous in proptest::option::of(any::<bool>()),
    ) -> AccessEvent {
        AccessEvent {
            ts: Timestamp::from_millis(ts),
            account: format!("a-{account}").into(),
            device: device.into(),
            device_type,
            ip,
            kind,
            method: None,
            user_agent: ua,
            country,
            city,
            lat,
            lon,
            asn,
            anonymous,
            id: None,
        }
    }
}

#[allow(clippy::unwrap_used)]
fn replay(engine: &Engine, events: &[AccessEvent]) -> (Vec<String>, Vec<AccountState>) {
    let mut global = GlobalStats::default();
    let mut states: Vec<AccountState> = vec![AccountState::default(); 3];
    let mut out = Vec::new();
    for e in events {
        let i: usize = e.account.as_str()[2..].parse().unwrap();
        let d = engine.decide_with(&mut global, &mut states[i], e, e.ts);
        assert!(
            !d.reasons.is_empty(),
            "every decision carries its reasons: {d:?}"
        );
        assert!((0.0..=1.0).contains(&d.score));
        out.push(serde_json::to_string(&d).unwrap());
    }
    (out, states)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn replay_is_deterministic_and_never_panics(mut events in proptest::collection::vec(event(), 0..120)) {
        events.sort_by_key(|e| e.ts);
        let engine = Engine::default();
        let first = replay(&engine, &events);
        let second = replay(&engine, &events);
        prop_assert_eq!(&first.0, &second.0);
        prop_assert_eq!(&first.1, &second.1);
        for s in &first.1 {
            let json = serde_json::to_string(s).unwrap();
            let back: AccountState = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, s);
        }
    }

    #[test]
    fn unsorted_and_extreme_times_do_not_panic(events in proptest::collection::vec(event(), 0..60)) {
        let engine = Engine::default();
        let mut state = AccountState::default();
        for e in &events {
            // `now` unrelated to the event's own time, as a server clock may be.
            engine.decide(&mut state, e, Timestamp::from_millis(e.ts.millis().wrapping_mul(7)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// A hostile account: every event a new device on a new network in a new city.
    #[test]
    fn state_stays_under_its_cap_with_adversarial_input(seed in any::<u32>(), kinds in proptest::collection::vec(kind(), 400)) {
        let engine = Engine::new(EngineConfig::default());
        let c = &engine.config;
        let mut state = AccountState::default();
        let mut max_json = 0;
        for (i, k) in kinds.iter().enumerate() {
            let i = i as u32;
            let x = seed.wrapping_add(i.wrapping_mul(2_654_435_761));
            let e = AccessEvent {
                ts: Timestamp::from_millis(i64::from(i) * 30_000),
                account: "a".into(),
                device: format!("{x:x}{}", "d".repeat(200)).into(),
                device_type: if i.is_multiple_of(2) { DeviceType::Tv } else { DeviceType::Mobile },
                ip: IpAddr::V4(Ipv4Addr::from(x)),
                kind: *k,
                method: None,
                user_agent: Some(format!("Agent/{x} ({x}; x) Browser{x}/1")),
                country: Some(format!("{}{}", (b'A' + (x % 26) as u8) as char, (b'A' + (x / 26 % 26) as u8) as char)),
                city: Some(format!("city-{x}-{}", "y".repeat(100))),
                lat: Some(f64::from(x % 180) - 90.0),
                lon: Some(f64::from(x % 360) - 180.0),
                asn: Some(x),
                anonymous: Some(i.is_multiple_of(3)),
                id: None,
            };
            engine.decide(&mut state, &e, e.ts);
            max_json = max_json.max(serde_json::to_vec(&state).unwrap().len());
        }
        prop_assert!(state.device_count() <= c.max_devices);
        // Caps times the largest record size: a hard ceiling on the persisted document.
        prop_assert!(max_json <= 16 * 1024, "state grew to {} bytes", max_json);
        prop_assert!(state.approx_heap_size() <= 16 * 1024, "{}", state.approx_heap_size());
    }
}
