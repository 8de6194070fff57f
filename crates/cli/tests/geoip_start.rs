//! GeoIP databases at start: a configured file that is missing, not a MaxMind database
//! or damaged stops `hearth serve` before it listens, with one line naming the setting,
//! the file and the problem; with no database configured the service starts and the
//! engine works from IP prefixes (places stay empty).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::*;

fn city_test_db() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/geoip/GeoIP2-City-Test.mmdb")
}

#[test]
fn a_missing_or_corrupt_geoip_database_stops_the_start_with_one_clear_line() {
    let dir = temp_dir("geoip");
    let good = std::fs::read(city_test_db()).unwrap();
    let text = dir.join("text.mmdb");
    std::fs::write(&text, "this is not a database\n").unwrap();
    // The metadata at the end survives; the search tree in front of it does not.
    let marker = good
        .windows(14)
        .rposition(|w| w == b"\xab\xcd\xefMaxMind.com")
        .unwrap();
    let cut = dir.join("cut.mmdb");
    std::fs::write(&cut, &good[marker - 100..]).unwrap();
    let cases = [
        (
            "HEARTH_GEOIP__CITY",
            dir.join("missing.mmdb"),
            "GeoIP city database",
            "cannot read it",
        ),
        (
            "HEARTH_GEOIP__ASN",
            text,
            "GeoIP asn database",
            "not a MaxMind .mmdb file",
        ),
        (
            "HEARTH_GEOIP__ANONYMOUS",
            cut,
            "GeoIP anonymous database",
            "truncated",
        ),
    ];
    for (var, file, what, problem) in cases {
        let mut setup = Setup::new(dir.join("data"), closed(), "http://127.0.0.1:9");
        setup
            .extra_env
            .push((var.into(), file.display().to_string()));
        let out = command(&setup).output().unwrap();
        assert!(!out.status.success(), "{var}: refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("listening"),
            "{var}: never listens: {stdout}"
        );
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}: one line: {stderr}");
        let line = lines[0];
        assert!(line.starts_with("hearth: "), "{line}");
        assert!(line.contains(what), "{line}");
        assert!(line.contains(file.to_str().unwrap()), "{line}");
        assert!(line.contains(problem), "{line}");
        eprintln!("{var}: {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn closed() -> u16 {
    hearth_loopback::closed_port()
}

#[tokio::test]
async fn without_geoip_the_service_starts_and_decides_from_addresses_alone() {
    let dir = temp_dir("no-geoip");
    let setup = Setup::new(dir.join("data"), closed(), "http://127.0.0.1:9");
    let node = start(&setup);
    let c = client();
    let key = api_key(&dir.join("data"));
    let ts = hearth_core::Timestamp::from_secs(1_772_396_100).to_string();
    let home = json!({"ts": ts, "account": "g-1", "device": "tv-1", "device_type": "tv", "ip": HOME, "kind": "playback"});
    let (st, d) = send(c.post(node.url("/v1/access")).bearer_auth(&key).json(&home))
        .await
        .unwrap();
    assert_eq!(st, 200, "{d}");
    assert!(d["decision"].is_string(), "{d}");
    // Devices get no place: only a GeoIP database would name London for this address.
    assert_eq!(
        sign_up(&c, &node, "g@geo.test", None).await,
        Some(reqwest::StatusCode::ACCEPTED)
    );
    let (st, token) = sign_in(&c, &node, "g@geo.test", "tv-1", "tv", HOME)
        .await
        .unwrap();
    assert_eq!(st, 201);
    let (st, v) = send(
        c.get(node.url("/v1/me/devices"))
            .bearer_auth(token.unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(st, 200, "{v}");
    assert_eq!(v[0]["ip"], HOME, "{v}");
    assert!(v[0]["location"].is_null(), "{v}");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}
