//! GeoIP/ASN enrichment from MaxMind `.mmdb` databases (City, ASN, Anonymous-IP).
//!
//! Only fields the event does not already carry are filled in: the platform's
//! own values win. Without databases ([`Enricher::none`]) events pass through
//! unchanged and the engine works from IP prefixes and the optional fields.

use hearth_core::AccessEvent;
use maxminddb::{geoip2, MaxMindDBError, Metadata, Reader};
use std::path::{Path, PathBuf};

/// A database that could not be opened: which one, where, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("GeoIP {role} database {path}: {problem}")]
pub struct GeoError {
    /// `city`, `asn` or `anonymous`: the setting that named the file.
    pub role: &'static str,
    pub path: PathBuf,
    pub problem: String,
}

/// Looks up location, provider and anonymising networks for events.
#[derive(Default)]
pub struct Enricher {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
    anonymous: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("city", &self.city.is_some())
            .field("asn", &self.asn.is_some())
            .field("anonymous", &self.anonymous.is_some())
            .finish()
    }
}

/// The marker before a MaxMind DB's metadata section.
const METADATA_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";

/// Addresses looked up once at open, so a database whose tree or data section is
/// damaged fails at start and not, silently, on every event.
const PROBES: [&str; 6] = [
    "81.2.69.160",
    "89.160.20.112",
    "8.8.8.8",
    "1.1.1.1",
    "2001:480::1",
    "2a02:cf40::1",
];

fn open(role: &'static str, path: Option<&Path>) -> Result<Option<Reader<Vec<u8>>>, GeoError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let fail = |problem: String| GeoError {
        role,
        path: path.to_path_buf(),
        problem,
    };
    let buf = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let len = buf.len();
    let marker = buf
        .windows(METADATA_MARKER.len())
        .rposition(|w| w == METADATA_MARKER)
        .ok_or_else(|| {
            fail(format!(
                "not a MaxMind .mmdb file (no metadata marker in its {len} bytes)"
            ))
        })?;
    // The reader indexes its buffer without bounds checks, so read the metadata alone
    // first (after zero bytes that make a harmless tree of one node) and check that the
    // layout it describes fits the file before handing the file to the reader.
    let mut head = vec![0u8; 8];
    head.extend_from_slice(&buf[marker..]);
    let metadata = std::panic::catch_unwind(|| Reader::from_source(head))
        .map_err(|_| fail("corrupt: its metadata cannot be decoded".into()))?
        .map_err(|e| fail(format!("corrupt metadata: {e}")))?
        .metadata;
    check_layout(&metadata, &buf, marker).map_err(fail)?;
    let reader = Reader::from_source(buf).map_err(|e| fail(format!("corrupt: {e}")))?;
    let probed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| probe(&reader)));
    match probed {
        Ok(Ok(())) => Ok(Some(reader)),
        Ok(Err(problem)) => Err(fail(problem)),
        Err(_) => Err(fail("corrupt: its data section cannot be decoded".into())),
    }
}

/// Looks up [`PROBES`]: an address that is not in the database is fine, a lookup that
/// fails is not.
fn probe(reader: &Reader<Vec<u8>>) -> Result<(), String> {
    for probe in PROBES {
        let Ok(ip) = probe.parse::<std::net::IpAddr>() else {
            continue;
        };
        if ip.is_ipv6() && reader.metadata.ip_version == 4 {
            continue;
        }
        match reader.lookup::<serde::de::IgnoredAny>(ip) {
            Ok(_) | Err(MaxMindDBError::AddressNotFoundError(_)) => {}
            Err(e) => return Err(format!("corrupt: looking up {probe}: {e}")),
        }
    }
    Ok(())
}

/// The search tree and the 16 zero bytes after it must fit before the metadata: a
/// file cut short or overwritten in the middle fails here.
fn check_layout(m: &Metadata, buf: &[u8], metadata_at: usize) -> Result<(), String> {
    if !matches!(m.record_size, 24 | 28 | 32) || !matches!(m.ip_version, 4 | 6) {
        return Err(format!(
            "corrupt: record size {} and IP version {} are not MaxMind DB values",
            m.record_size, m.ip_version
        ));
    }
    let tree = (m.node_count as usize).saturating_mul(m.record_size as usize) / 4;
    let separator = buf.get(tree..tree.saturating_add(16));
    if tree.saturating_add(16) > metadata_at || separator.is_none() {
        return Err(format!(
            "corrupt or truncated: its search tree needs {tree} bytes but the data before the metadata is {metadata_at} bytes"
        ));
    }
    if separator.is_some_and(|s| s.iter().any(|b| *b != 0)) {
        return Err("corrupt: the data section separator after the search tree is not zero".into());
    }
    Ok(())
}

impl Enricher {
    /// Opens the databases that are given. A City or Country database works
    /// for `city`; GeoLite2-ASN or GeoIP2-ISP for `asn`; GeoIP2-Anonymous-IP
    /// for `anonymous`.
    pub fn open(
        city: Option<&Path>,
        asn: Option<&Path>,
        anonymous: Option<&Path>,
    ) -> Result<Self, GeoError> {
        Ok(Self {
            city: open("city", city)?,
            asn: open("asn", asn)?,
            anonymous: open("anonymous", anonymous)?,
        })
    }

    /// No databases: events pass through unchanged.
    pub fn none() -> Self {
        Self::default()
    }

    /// True when no database is configured.
    pub fn is_empty(&self) -> bool {
        self.city.is_none() && self.asn.is_none() && self.anonymous.is_none()
    }

    /// Fills in `country`, `city`, `lat`, `lon`, `asn` and `anonymous` when
    /// the event lacks them and a database knows the address.
    pub fn enrich(&self, ev: &mut AccessEvent) {
        if let Some(r) = &self.city {
            let wants = ev.country.is_none() || ev.city.is_none() || ev.lat.is_none();
            if wants {
                if let Ok(c) = r.lookup::<geoip2::City>(ev.ip) {
                    if ev.country.is_none() {
                        ev.country = c
                            .country
                            .as_ref()
                            .and_then(|c| c.iso_code)
                            .map(str::to_owned);
                    }
                    if ev.city.is_none() {
                        ev.city = c
                            .city
                            .as_ref()
                            .and_then(|c| c.names.as_ref())
                            .and_then(|n| n.get("en"))
                            .map(|s| (*s).to_owned());
                    }
                    if ev.lat.is_none() && ev.lon.is_none() {
                        if let Some(l) = &c.location {
                            ev.lat = l.latitude;
                            ev.lon = l.longitude;
                        }
                    }
                }
            }
        }
        if let (Some(r), None) = (&self.asn, ev.asn) {
            if let Ok(a) = r.lookup::<geoip2::Asn>(ev.ip) {
                ev.asn = a.autonomous_system_number;
            }
        }
        if let (Some(r), None) = (&self.anonymous, ev.anonymous) {
            ev.anonymous = Some(match r.lookup::<geoip2::AnonymousIp>(ev.ip) {
                Ok(a) => [
                    a.is_anonymous,
                    a.is_anonymous_vpn,
                    a.is_hosting_provider,
                    a.is_public_proxy,
                    a.is_residential_proxy,
                    a.is_tor_exit_node,
                ]
                .into_iter()
                .any(|f| f == Some(true)),
                Err(_) => false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::{DeviceType, EventKind, Timestamp};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/geoip")
            .join(name)
    }

    fn event(ip: &str) -> AccessEvent {
        AccessEvent {
            ts: Timestamp::from_secs(1_772_396_100),
            account: "a".into(),
            device: "d".into(),
            device_type: DeviceType::Tv,
            ip: ip.parse().unwrap(),
            kind: EventKind::Playback,
            method: None,
            user_agent: None,
            country: None,
            city: None,
            lat: None,
            lon: None,
            asn: None,
            anonymous: None,
            id: None,
        }
    }

    fn enricher() -> Enricher {
        Enricher::open(
            Some(&data("GeoIP2-City-Test.mmdb")),
            Some(&data("GeoLite2-ASN-Test.mmdb")),
            Some(&data("GeoIP2-Anonymous-IP-Test.mmdb")),
        )
        .unwrap()
    }

    // Expected answers from MaxMind's source data for these test databases.
    #[test]
    fn fills_city_country_location_from_the_city_database() {
        let mut e = event("81.2.69.142");
        enricher().enrich(&mut e);
        assert_eq!(e.country.as_deref(), Some("GB"));
        assert_eq!(e.city.as_deref(), Some("London"));
        assert_eq!((e.lat, e.lon), (Some(51.5142), Some(-0.0931)));
        assert_eq!(e.anonymous, Some(true)); // 81.2.69.0/24 is every kind of anonymous there.

        let mut v6 = event("2001:218::1");
        enricher().enrich(&mut v6);
        assert_eq!(v6.country.as_deref(), Some("JP"));
        assert_eq!(v6.city, None);
    }

    #[test]
    fn fills_asn_and_anonymous_flags() {
        let mut e = event("1.128.0.1");
        enricher().enrich(&mut e);
        assert_eq!(e.asn, Some(1221));
        let mut vpn = event("1.2.0.1");
        enricher().enrich(&mut vpn);
        assert_eq!(vpn.anonymous, Some(true));
        let mut clean = event("8.8.8.8");
        enricher().enrich(&mut clean);
        assert_eq!(
            (clean.anonymous, clean.country.as_ref()),
            (Some(false), None)
        );
    }

    #[test]
    fn the_platforms_own_fields_win_and_none_changes_nothing() {
        let mut e = event("81.2.69.142");
        e.country = Some("PT".into());
        e.asn = Some(3243);
        enricher().enrich(&mut e);
        assert_eq!((e.country.as_deref(), e.asn), (Some("PT"), Some(3243)));
        let mut same = event("81.2.69.142");
        Enricher::none().enrich(&mut same);
        assert_eq!(same, event("81.2.69.142"));
        assert!(Enricher::none().is_empty());
    }

    #[test]
    fn a_missing_database_is_a_clear_error() {
        let err = Enricher::open(Some(Path::new("/nonexistent.mmdb")), None, None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent.mmdb"), "{err}");
        assert!(err.to_string().contains("cannot read it"), "{err}");
    }

    /// A damaged copy of the City test database, written next to the test's others.
    fn damaged(name: &str, damage: impl Fn(&mut Vec<u8>)) -> PathBuf {
        let mut bytes = std::fs::read(data("GeoIP2-City-Test.mmdb")).unwrap();
        damage(&mut bytes);
        let dir = std::env::temp_dir().join(format!("hearth-geo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn marker(b: &[u8]) -> usize {
        b.windows(METADATA_MARKER.len())
            .rposition(|w| w == METADATA_MARKER)
            .unwrap()
    }

    #[test]
    fn a_corrupt_or_truncated_database_is_refused_at_open_naming_the_problem() {
        let len = std::fs::read(data("GeoIP2-City-Test.mmdb")).unwrap().len();
        let cases: Vec<(PathBuf, &str)> = vec![
            (
                damaged("text.mmdb", |b| *b = b"not a database\n".to_vec()),
                "not a MaxMind .mmdb file",
            ),
            (
                damaged("head.mmdb", |b| b.truncate(3000)),
                "not a MaxMind .mmdb file",
            ),
            // The metadata survives but the tree in front of it was cut short.
            (
                damaged("tail.mmdb", |b| {
                    b.drain(..marker(b) - 100);
                }),
                "truncated",
            ),
            (
                damaged("middle.mmdb", |b| {
                    b.drain(..len / 2);
                }),
                "corrupt",
            ),
            // The tree's end overwritten: the separator is no longer zero.
            (
                damaged("zeroes.mmdb", |b| {
                    let m = marker(b);
                    for x in &mut b[..m] {
                        *x = 0xff;
                    }
                }),
                "corrupt",
            ),
        ];
        for (path, problem) in cases {
            let err = Enricher::open(Some(&path), None, None).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("GeoIP city database "), "{text}");
            assert!(text.contains(path.to_str().unwrap()), "{text}");
            assert!(text.contains(problem), "{path:?}: {text}");
            assert!(!text.contains('\n'), "one line: {text}");
        }
        // The intact file still opens.
        assert!(Enricher::open(Some(&data("GeoIP2-City-Test.mmdb")), None, None).is_ok());
    }
}
