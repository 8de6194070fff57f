//! GeoIP/ASN enrichment from MaxMind `.mmdb` databases (City, ASN, Anonymous-IP).
//!
//! Only fields the event does not already carry are filled in: the platform's
//! own values win. Without databases ([`Enricher::none`]) events pass through
//! unchanged and the engine works from IP prefixes and the optional fields.

use hearth_core::AccessEvent;
use maxminddb::{geoip2, MaxMindDBError, Reader};
use std::path::{Path, PathBuf};

/// A database that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the GeoIP database {path}: {source} (expected a MaxMind .mmdb file)")]
pub struct GeoError {
    pub path: PathBuf,
    #[source]
    pub source: MaxMindDBError,
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

fn open(path: Option<&Path>) -> Result<Option<Reader<Vec<u8>>>, GeoError> {
    path.map(|p| {
        Reader::open_readfile(p).map_err(|source| GeoError {
            path: p.to_path_buf(),
            source,
        })
    })
    .transpose()
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
            city: open(city)?,
            asn: open(asn)?,
            anonymous: open(anonymous)?,
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
    }
}
