//! A labelled population for evaluating the engine (`hearth simulate`).
//!
//! Classes: single households (TVs and phones), commuters, travellers abroad,
//! households whose provider changes their address every few days, families
//! with a student living away, accounts shared with a friend elsewhere,
//! resold accounts (10-60 buyers in different cities) and account takeovers
//! from another country. Addresses come from a real IP-to-ASN routing table
//! (`data/asn/ipasn_20140513.dat.gz`) when given, each (city, provider) being
//! one routed prefix; places use a built-in list of world cities.
//!
//! Owners' answers are scripted: a minute after a device's first session away
//! from home the simulator writes the owner's `verified` or the device's
//! `verify_later`, as the server would after a `verify` decision.
//!
//! Output: events as JSON Lines in time order (generated day by day, so
//! memory stays small), and one ground-truth line per account ([`Truth`]).
//! The same options and seed give byte-identical output.

use flate2::read::GzDecoder;
use hearth_core::time::{DAY, HOUR, MINUTE};
use hearth_core::{AccessEvent, DeviceType, EventKind, Sharing, Timestamp, VerifyMethod};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub accounts: usize,
    /// Index of the first account (`a-N`), to simulate a population in chunks.
    pub first_account: usize,
    pub days: u32,
    pub seed: u64,
    /// Midnight UTC of the first simulated day.
    pub start: Timestamp,
    /// IP-to-ASN table (pyasn `.dat`, optionally gzipped). Without it,
    /// addresses are synthetic (100.64.0.0/10) and ASNs made up.
    pub asn_table: Option<PathBuf>,
    /// Relative weights of the classes, in the order of [`Class::ALL`].
    pub mix: [f64; 8],
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            accounts: 1000,
            first_account: 0,
            days: 30,
            seed: 1,
            start: Timestamp::from_secs(1_772_323_200), // 2026-03-01T00:00:00Z
            asn_table: None,
            mix: [0.40, 0.12, 0.12, 0.12, 0.06, 0.06, 0.06, 0.06],
        }
    }
}

/// The kind of account, as the simulator made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Single,
    Commuter,
    Traveller,
    DynamicIp,
    Student,
    Friend,
    Resold,
    Takeover,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Single,
        Class::Commuter,
        Class::Traveller,
        Class::DynamicIp,
        Class::Student,
        Class::Friend,
        Class::Resold,
        Class::Takeover,
    ];

    /// The verdict a correct engine gives.
    pub fn expected(self) -> Sharing {
        match self {
            Class::Student | Class::Friend => Sharing::Shared,
            Class::Resold => Sharing::Resold,
            _ => Sharing::Household,
        }
    }

    /// Legitimate single-household classes (the `household` >= 99% target).
    pub fn is_household(self) -> bool {
        matches!(
            self,
            Class::Single | Class::Commuter | Class::Traveller | Class::DynamicIp
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Single => "single",
            Class::Commuter => "commuter",
            Class::Traveller => "traveller",
            Class::DynamicIp => "dynamic_ip",
            Class::Student => "student",
            Class::Friend => "friend",
            Class::Resold => "resold",
            Class::Takeover => "takeover",
        }
    }
}

/// Who a device really is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A TV-class device of the household, at home.
    Household,
    /// A household member's phone, tablet or computer.
    Portable,
    /// A family member's device living elsewhere.
    Student,
    /// Someone outside the household: a friend or a resale buyer.
    Stranger,
    /// An account takeover.
    Attacker,
}

/// Ground truth for one account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub account: String,
    pub class: Class,
    pub sharing: Sharing,
    /// When the resale began (resold accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resale_start: Option<Timestamp>,
    pub devices: BTreeMap<String, Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read the ASN table {path}: {source}")]
    Table {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the ASN table {0} has no usable IPv4 prefixes")]
    EmptyTable(PathBuf),
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
}

/// Counts of what was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    pub accounts: u64,
    pub events: u64,
}

struct City {
    name: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
}

const fn city(name: &'static str, country: &'static str, lat: f64, lon: f64) -> City {
    City {
        name,
        country,
        lat,
        lon,
    }
}

const CITIES: &[City] = &[
    city("Lisbon", "PT", 38.72, -9.14),
    city("Porto", "PT", 41.15, -8.61),
    city("Madrid", "ES", 40.42, -3.70),
    city("Barcelona", "ES", 41.39, 2.17),
    city("Paris", "FR", 48.86, 2.35),
    city("Lyon", "FR", 45.76, 4.84),
    city("Berlin", "DE", 52.52, 13.40),
    city("Munich", "DE", 48.14, 11.58),
    city("Hamburg", "DE", 53.55, 9.99),
    city("London", "GB", 51.51, -0.13),
    city("Manchester", "GB", 53.48, -2.24),
    city("Dublin", "IE", 53.35, -6.26),
    city("Amsterdam", "NL", 52.37, 4.90),
    city("Brussels", "BE", 50.85, 4.35),
    city("Milan", "IT", 45.46, 9.19),
    city("Rome", "IT", 41.90, 12.50),
    city("Vienna", "AT", 48.21, 16.37),
    city("Zurich", "CH", 47.38, 8.54),
    city("Warsaw", "PL", 52.23, 21.01),
    city("Prague", "CZ", 50.08, 14.44),
    city("Stockholm", "SE", 59.33, 18.07),
    city("Oslo", "NO", 59.91, 10.75),
    city("Copenhagen", "DK", 55.68, 12.57),
    city("Helsinki", "FI", 60.17, 24.94),
    city("Athens", "GR", 37.98, 23.73),
    city("Istanbul", "TR", 41.01, 28.98),
    city("New York", "US", 40.71, -74.01),
    city("Chicago", "US", 41.88, -87.63),
    city("Los Angeles", "US", 34.05, -118.24),
    city("Houston", "US", 29.76, -95.37),
    city("Seattle", "US", 47.61, -122.33),
    city("Miami", "US", 25.76, -80.19),
    city("Toronto", "CA", 43.65, -79.38),
    city("Montreal", "CA", 45.50, -73.57),
    city("Mexico City", "MX", 19.43, -99.13),
    city("Sao Paulo", "BR", -23.55, -46.63),
    city("Rio de Janeiro", "BR", -22.91, -43.17),
    city("Buenos Aires", "AR", -34.60, -58.38),
    city("Santiago", "CL", -33.45, -70.67),
    city("Bogota", "CO", 4.71, -74.07),
    city("Lima", "PE", -12.05, -77.04),
    city("Tokyo", "JP", 35.68, 139.69),
    city("Osaka", "JP", 34.69, 135.50),
    city("Seoul", "KR", 37.57, 126.98),
    city("Singapore", "SG", 1.35, 103.82),
    city("Sydney", "AU", -33.87, 151.21),
    city("Melbourne", "AU", -37.81, 144.96),
    city("Mumbai", "IN", 19.08, 72.88),
    city("Delhi", "IN", 28.70, 77.10),
    city("Johannesburg", "ZA", -26.20, 28.05),
    city("Cairo", "EG", 30.04, 31.24),
    city("Lagos", "NG", 6.52, 3.38),
    city("Dubai", "AE", 25.20, 55.27),
    city("Bangkok", "TH", 13.76, 100.50),
    city("Jakarta", "ID", -6.21, 106.85),
    city("Manila", "PH", 14.60, 120.98),
];

/// Routed IPv4 prefixes with their ASN.
struct Table {
    prefixes: Vec<(u32, u8, u32)>,
}

impl Table {
    fn load(path: Option<&Path>) -> Result<Self, SimError> {
        let Some(path) = path else {
            return Ok(Self::synthetic());
        };
        let err = |source| SimError::Table {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(err)?;
        let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::new(GzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut prefixes = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(err)?;
            // Keep a deterministic sample of provider-sized blocks (/12../20).
            if i % 16 != 0 || line.starts_with(';') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(net), Some(asn)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some((addr, len)) = net.split_once('/') else {
                continue;
            };
            let (Ok(addr), Ok(len), Ok(asn)) = (
                addr.parse::<Ipv4Addr>(),
                len.parse::<u8>(),
                asn.parse::<u32>(),
            ) else {
                continue;
            };
            if (12..=20).contains(&len) && asn != 0 {
                prefixes.push((u32::from(addr), len, asn));
            }
        }
        if prefixes.is_empty() {
            return Err(SimError::EmptyTable(path.to_path_buf()));
        }
        Ok(Self { prefixes })
    }

    fn synthetic() -> Self {
        // 100.64.0.0/10 cut into /20 blocks, with made-up private-use ASNs.
        let prefixes = (0..1024u32)
            .map(|i| (0x6440_0000 + (i << 12), 20, 4_200_000_000 + i))
            .collect();
        Self { prefixes }
    }

    fn pick(&self, rng: &mut StdRng) -> Network {
        let (base, len, asn) = self.prefixes[rng.gen_range(0..self.prefixes.len())];
        Network { base, len, asn }
    }
}

/// One provider's block in one city.
#[derive(Clone, Copy, Debug)]
struct Network {
    base: u32,
    len: u8,
    asn: u32,
}

impl Network {
    /// The `n`-th /24 of the block (wrapping), host `host`.
    fn address(&self, n: u32, host: u8) -> IpAddr {
        let subnets = 1u32 << (24 - u32::from(self.len.min(24)));
        let net = self.base.wrapping_add((n % subnets) << 8);
        IpAddr::V4(Ipv4Addr::from(net | u32::from(host.max(1))))
    }
}

/// Where an event happens.
#[derive(Clone, Copy, Debug)]
struct Spot {
    city: usize,
    net: Network,
    subnet: u32,
    host: u8,
}

#[derive(Clone, Debug)]
struct Device {
    id: String,
    kind: DeviceType,
    role: Role,
    ua: &'static str,
}

const UA_TV: &str = "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 SamsungBrowser/5.0 TV Safari/537.36";
const UA_CONSOLE: &str = "Mozilla/5.0 (PlayStation; PlayStation 5/6.50) AppleWebKit/605.1.15";
const UA_ANDROID: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36";
const UA_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile/15E148 Safari/604.1";
const UA_IPAD: &str =
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Safari/604.1";
const UA_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36";
const UA_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15";

fn new_device(
    rng: &mut StdRng,
    account: &str,
    n: &mut u32,
    kind: DeviceType,
    role: Role,
) -> Device {
    *n += 1;
    let ua = match kind {
        DeviceType::Tv => UA_TV,
        DeviceType::Console => UA_CONSOLE,
        DeviceType::Mobile => {
            if rng.gen_bool(0.5) {
                UA_ANDROID
            } else {
                UA_IPHONE
            }
        }
        DeviceType::Tablet => UA_IPAD,
        _ => {
            if rng.gen_bool(0.6) {
                UA_WINDOWS
            } else {
                UA_MAC
            }
        }
    };
    Device {
        id: format!("{account}-d{n}"),
        kind,
        role,
        ua,
    }
}

fn portable_kind(rng: &mut StdRng) -> DeviceType {
    match rng.gen_range(0..10) {
        0..=5 => DeviceType::Mobile,
        6..=7 => DeviceType::Tablet,
        _ => DeviceType::Computer,
    }
}

/// A group of devices in one place: a home, a student flat, a buyer.
#[derive(Clone, Debug)]
struct Group {
    devices: Vec<Device>,
    home: Spot,
    /// A mobile network in the same city for portable devices out and about.
    mobile: Spot,
    /// First day the group is active, and first minute on that day.
    from: i64,
    /// The owner verifies this group's devices when asked (else they defer).
    owner_verifies: bool,
    /// Daily probability of watching.
    activity: f64,
}

/// Everything decided up front about one account.
struct Plan {
    account: String,
    class: Class,
    household: Group,
    others: Vec<Group>,
    /// Commuter: office spot for one portable device on weekdays.
    office: Option<Spot>,
    /// Traveller: (first day, last day, destination spot).
    trip: Option<(i64, i64, Spot)>,
    /// Dynamic IP: the home /24 changes every this many days.
    ip_period: Option<i64>,
    /// A new household phone bought mid-way: (day, device, first used away).
    new_phone: Option<(i64, Device, bool)>,
    resale_start: Option<Timestamp>,
    /// Takeover: (day, attacker device, spot, failures first, anonymous).
    attack: Option<(i64, Device, Spot, u8, bool)>,
    /// A member's phone that often watches through a VPN exit abroad.
    vpn: Option<Spot>,
    /// A second provider at home (a TV on another connection at the same address).
    second_net: Option<Spot>,
}

fn spot(rng: &mut StdRng, table: &Table, city: usize) -> Spot {
    Spot {
        city,
        net: table.pick(rng),
        subnet: rng.gen(),
        host: rng.gen(),
    }
}

fn other_city(rng: &mut StdRng, not: usize) -> usize {
    loop {
        let c = rng.gen_range(0..CITIES.len());
        if c != not {
            return c;
        }
    }
}

fn pick_class(rng: &mut StdRng, mix: &[f64; 8]) -> Class {
    let total: f64 = mix.iter().map(|w| w.max(0.0)).sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in mix.iter().enumerate() {
        x -= w.max(0.0);
        if x < 0.0 {
            return Class::ALL[i];
        }
    }
    Class::Single
}

fn plan(opts: &SimOptions, table: &Table, index: usize) -> Plan {
    let mut rng =
        StdRng::seed_from_u64(opts.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let account = format!("a-{index}");
    let class = pick_class(&mut rng, &opts.mix);
    let days = i64::from(opts.days.max(1));
    let home_city = rng.gen_range(0..CITIES.len());
    let mut n = 0;
    let mut devices = vec![new_device(
        &mut rng,
        &account,
        &mut n,
        DeviceType::Tv,
        Role::Household,
    )];
    if rng.gen_bool(0.3) {
        let kind = if rng.gen_bool(0.5) {
            DeviceType::Tv
        } else {
            DeviceType::Console
        };
        devices.push(new_device(
            &mut rng,
            &account,
            &mut n,
            kind,
            Role::Household,
        ));
    }
    for _ in 0..rng.gen_range(1..=4) {
        let kind = portable_kind(&mut rng);
        devices.push(new_device(&mut rng, &account, &mut n, kind, Role::Portable));
    }
    let household = Group {
        devices,
        home: spot(&mut rng, table, home_city),
        mobile: spot(&mut rng, table, home_city),
        from: 0,
        owner_verifies: true,
        activity: 0.85,
    };
    let mut p = Plan {
        account: account.clone(),
        class,
        household,
        others: Vec::new(),
        office: None,
        trip: None,
        ip_period: None,
        new_phone: None,
        resale_start: None,
        attack: None,
        vpn: None,
        second_net: None,
    };
    if rng.gen_bool(0.05) {
        let c = other_city(&mut rng, home_city);
        p.vpn = Some(spot(&mut rng, table, c));
    }
    if rng.gen_bool(0.05) {
        p.second_net = Some(spot(&mut rng, table, home_city));
    }
    if rng.gen_bool(0.1) && days > 4 {
        let kind = portable_kind(&mut rng);
        let d = new_device(&mut rng, &account, &mut n, kind, Role::Portable);
        p.new_phone = Some((rng.gen_range(2..days - 1), d, rng.gen_bool(0.2)));
    }
    match class {
        Class::Single => {}
        Class::Commuter => {
            let c = if rng.gen_bool(0.5) {
                home_city
            } else {
                other_city(&mut rng, home_city)
            };
            p.office = Some(spot(&mut rng, table, c));
        }
        Class::Traveller => {
            let start = rng.gen_range(1..(days / 2).max(2));
            let len = rng.gen_range(3..=10);
            let dest = other_city(&mut rng, home_city);
            p.trip = Some((
                start,
                (start + len).min(days - 1),
                spot(&mut rng, table, dest),
            ));
        }
        Class::DynamicIp => p.ip_period = Some(rng.gen_range(2..=5)),
        Class::Student => {
            let c = other_city(&mut rng, home_city);
            let mut devs = vec![new_device(
                &mut rng,
                &account,
                &mut n,
                DeviceType::Computer,
                Role::Student,
            )];
            devs.push(new_device(
                &mut rng,
                &account,
                &mut n,
                DeviceType::Mobile,
                Role::Student,
            ));
            p.others.push(Group {
                devices: devs,
                home: spot(&mut rng, table, c),
                mobile: spot(&mut rng, table, c),
                from: rng.gen_range(1..4),
                owner_verifies: true,
                activity: 0.7,
            });
        }
        Class::Friend => {
            let c = other_city(&mut rng, home_city);
            let mut devs = vec![new_device(
                &mut rng,
                &account,
                &mut n,
                DeviceType::Tv,
                Role::Stranger,
            )];
            devs.push(new_device(
                &mut rng,
                &account,
                &mut n,
                DeviceType::Mobile,
                Role::Stranger,
            ));
            p.others.push(Group {
                devices: devs,
                home: spot(&mut rng, table, c),
                mobile: spot(&mut rng, table, c),
                from: rng.gen_range(1..4),
                owner_verifies: true,
                activity: 0.7,
            });
        }
        Class::Resold => {
            let start_day = rng.gen_range(2..(days / 3).max(3));
            p.resale_start = Some(Timestamp::from_millis(
                opts.start.millis() + start_day * DAY + 6 * HOUR,
            ));
            for _ in 0..rng.gen_range(10..=60) {
                let c = other_city(&mut rng, home_city);
                let mut devs = Vec::new();
                for _ in 0..rng.gen_range(1..=2) {
                    let kind = if rng.gen_bool(0.5) {
                        DeviceType::Tv
                    } else {
                        portable_kind(&mut rng)
                    };
                    devs.push(new_device(&mut rng, &account, &mut n, kind, Role::Stranger));
                }
                p.others.push(Group {
                    devices: devs,
                    home: spot(&mut rng, table, c),
                    mobile: spot(&mut rng, table, c),
                    // Buyers join within two days of the sale.
                    from: start_day + rng.gen_range(0..=2),
                    owner_verifies: rng.gen_bool(0.3),
                    activity: 0.8,
                });
            }
        }
        Class::Takeover => {
            let day = rng.gen_range(1..days.max(2));
            let c = loop {
                let c = other_city(&mut rng, home_city);
                if CITIES[c].country != CITIES[home_city].country {
                    break c;
                }
            };
            let d = new_device(
                &mut rng,
                &account,
                &mut n,
                DeviceType::Computer,
                Role::Attacker,
            );
            let s = spot(&mut rng, table, c);
            p.attack = Some((day, d, s, rng.gen_range(0..=3), rng.gen_bool(0.3)));
        }
    }
    p
}

/// A planned population: every account decided up front, events generated day by day.
pub struct Simulator {
    opts: SimOptions,
    plans: Vec<Plan>,
}

impl Simulator {
    /// Plans accounts `first_account .. first_account + accounts` (reads the ASN table).
    pub fn new(opts: &SimOptions) -> Result<Self, SimError> {
        let table = Table::load(opts.asn_table.as_deref())?;
        let plans = (opts.first_account..opts.first_account + opts.accounts)
            .map(|i| plan(opts, &table, i))
            .collect();
        Ok(Self {
            opts: opts.clone(),
            plans,
        })
    }

    /// Ground truth, one per account, in account order.
    pub fn truths(&self) -> impl Iterator<Item = Truth> + '_ {
        self.plans.iter().map(|p| {
            let mut devices = BTreeMap::new();
            for g in std::iter::once(&p.household).chain(&p.others) {
                for d in &g.devices {
                    devices.insert(d.id.clone(), d.role);
                }
            }
            if let Some((_, d, _)) = &p.new_phone {
                devices.insert(d.id.clone(), d.role);
            }
            if let Some((_, d, ..)) = &p.attack {
                devices.insert(d.id.clone(), d.role);
            }
            Truth {
                account: p.account.clone(),
                class: p.class,
                sharing: p.class.expected(),
                resale_start: p.resale_start,
                devices,
            }
        })
    }

    /// Appends the events of simulated day `day` (0-based) to `out`, in time order.
    pub fn day(&self, day: u32, out: &mut Vec<AccessEvent>) {
        let from = out.len();
        let day = i64::from(day);
        for (i, p) in self.plans.iter().enumerate() {
            let index = (self.opts.first_account + i) as u64;
            let mut rng = StdRng::seed_from_u64(
                self.opts
                    .seed
                    .wrapping_mul(31)
                    .wrapping_add(index << 20)
                    .wrapping_add(day as u64),
            );
            simulate_day(&self.opts, p, day, &mut rng, out);
        }
        // Stable sort: events of one account keep their generated order on ties.
        out[from..].sort_by_key(|e| e.ts);
    }
}

/// Writes the ground truth to `truth_out` (then drops it, so a pipe sees its
/// end) and the events of every day to `events_out`.
pub fn run<E: Write, T: Write>(
    opts: &SimOptions,
    events_out: E,
    truth_out: T,
) -> Result<SimStats, SimError> {
    let sim = Simulator::new(opts)?;
    let mut truth = BufWriter::new(truth_out);
    for t in sim.truths() {
        serde_json::to_writer(&mut truth, &t).map_err(std::io::Error::from)?;
        truth.write_all(b"\n")?;
    }
    truth.flush()?;
    drop(truth);

    let mut out = BufWriter::with_capacity(1 << 16, events_out);
    let mut stats = SimStats {
        accounts: sim.plans.len() as u64,
        events: 0,
    };
    let mut day_events: Vec<AccessEvent> = Vec::new();
    for day in 0..opts.days {
        day_events.clear();
        sim.day(day, &mut day_events);
        for e in &day_events {
            serde_json::to_writer(&mut out, e).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        stats.events += day_events.len() as u64;
    }
    out.flush()?;
    Ok(stats)
}

struct Ctx<'a> {
    opts: &'a SimOptions,
    account: &'a str,
    day: i64,
}

impl Ctx<'_> {
    fn ts(&self, minute: i64) -> Timestamp {
        Timestamp::from_millis(self.opts.start.millis() + self.day * DAY + minute * MINUTE)
    }

    fn event(&self, minute: i64, d: &Device, at: &Spot, kind: EventKind) -> AccessEvent {
        let c = &CITIES[at.city];
        AccessEvent {
            ts: self.ts(minute),
            account: self.account.into(),
            device: d.id.as_str().into(),
            device_type: d.kind,
            ip: at.net.address(at.subnet, at.host),
            kind,
            method: (kind == EventKind::Verified).then_some(VerifyMethod::Email),
            user_agent: Some(d.ua.to_owned()),
            country: Some(c.country.to_owned()),
            city: Some(c.name.to_owned()),
            lat: Some(c.lat),
            lon: Some(c.lon),
            asn: Some(at.net.asn),
            anonymous: None,
            id: None,
        }
    }

    /// A viewing session: playback then a heartbeat every 20 minutes.
    fn session(
        &self,
        rng: &mut StdRng,
        start: i64,
        d: &Device,
        at: &Spot,
        out: &mut Vec<AccessEvent>,
    ) {
        let from = out.len();
        if rng.gen_bool(0.2) {
            out.push(self.event(start, d, at, EventKind::SignIn));
        }
        out.push(self.event(start, d, at, EventKind::Playback));
        let beats = rng.gen_range(0..=4);
        for b in 1..=beats {
            out.push(self.event(start + 20 * b, d, at, EventKind::Heartbeat));
        }
        // Geolocation is coarse and sometimes wrong: 3% of sessions come
        // without a city and up to ~25 km off.
        if rng.gen_bool(0.03) {
            let (dlat, dlon) = (rng.gen_range(-0.2..0.2), rng.gen_range(-0.2..0.2));
            for e in out[from..].iter_mut() {
                e.city = None;
                e.lat = e.lat.map(|v| v + dlat);
                e.lon = e.lon.map(|v| v + dlon);
            }
        }
    }
}

fn simulate_day(
    opts: &SimOptions,
    p: &Plan,
    day: i64,
    rng: &mut StdRng,
    out: &mut Vec<AccessEvent>,
) {
    let cx = Ctx {
        opts,
        account: &p.account,
        day,
    };
    let mut home = p.household.home;
    if let Some(period) = p.ip_period {
        home.subnet = home.subnet.wrapping_add((day / period) as u32);
    }
    let travelling = p.trip.filter(|(a, b, _)| (*a..=*b).contains(&day));
    let weekday = day.rem_euclid(7) < 5;

    // The household: TVs in the evening, members' devices at home and out.
    for (k, d) in p.household.devices.iter().enumerate() {
        if d.role == Role::Household {
            // Day 0: the main TV opens the account at home before anything else.
            if (day == 0 && k == 0) || rng.gen_bool(p.household.activity) {
                let start = if day == 0 && k == 0 {
                    18 * 60
                } else {
                    rng.gen_range(18 * 60..22 * 60)
                };
                let at = match p.second_net {
                    Some(second) if day > 0 && rng.gen_bool(0.2) => second,
                    _ => home,
                };
                cx.session(rng, start, d, &at, out);
            }
            continue;
        }
        let last_device = k == p.household.devices.len() - 1;
        if last_device && p.trip.is_some_and(|(_, end, _)| day == end + 1) {
            continue; // the flight home
        }
        let traveller_device = last_device && travelling.is_some();
        if let (true, Some((first, _, dest))) = (traveller_device, travelling) {
            // Abroad: a session or two a day on the hotel network, after the flight.
            let start = if day == first {
                20 * 60
            } else {
                rng.gen_range(8 * 60..22 * 60)
            };
            if day == first && rng.gen_bool(0.3) {
                out.push(cx.event(start - 5, d, &dest, EventKind::TravelStarted));
            }
            cx.session(rng, start, d, &dest, out);
            continue;
        }
        if day == 0 {
            cx.session(rng, 19 * 60 + 10 * k as i64, d, &home, out);
            continue;
        }
        if let (Some(office), true) = (p.office, weekday && k == p.household.devices.len() - 1) {
            if rng.gen_bool(0.7) {
                {
                    let start = rng.gen_range(12 * 60..13 * 60);
                    cx.session(rng, start, d, &office, out);
                }
            }
        }
        if rng.gen_bool(0.35) {
            {
                let start = rng.gen_range(17 * 60..23 * 60);
                cx.session(rng, start, d, &home, out);
            }
        }
        if rng.gen_bool(0.3) {
            let start = rng.gen_range(7 * 60..17 * 60);
            match p.vpn {
                // A member's phone through a VPN exit abroad: anonymous and far away.
                Some(vpn) if d.kind == DeviceType::Mobile && rng.gen_bool(0.25) => {
                    let from = out.len();
                    cx.session(rng, start, d, &vpn, out);
                    for e in out[from..].iter_mut() {
                        e.anonymous = Some(true);
                    }
                }
                _ => cx.session(rng, start, d, &p.household.mobile, out),
            }
        }
    }

    if let Some((from, d, away)) = &p.new_phone {
        if day >= *from {
            let first = day == *from;
            let at = if first && *away {
                p.household.mobile
            } else {
                home
            };
            let start = rng.gen_range(8 * 60..20 * 60);
            if first || rng.gen_bool(0.4) {
                cx.session(rng, start, d, &at, out);
                if first && *away {
                    out.push(cx.event(start + 1, d, &at, EventKind::Verified));
                }
            }
        }
    }

    // Other groups: students, friends, buyers.
    for g in &p.others {
        if day < g.from {
            continue;
        }
        let first_day = day == g.from;
        for (k, d) in g.devices.iter().enumerate() {
            if !first_day && !rng.gen_bool(g.activity) {
                continue;
            }
            let start = if first_day {
                rng.gen_range(9 * 60..21 * 60) + 5 * k as i64
            } else {
                rng.gen_range(8 * 60..23 * 60)
            };
            let at = if d.kind.is_portable() && !first_day && rng.gen_bool(0.3) {
                g.mobile
            } else {
                g.home
            };
            cx.session(rng, start, d, &at, out);
            if first_day {
                let answer = if g.owner_verifies {
                    EventKind::Verified
                } else {
                    EventKind::VerifyLater
                };
                out.push(cx.event(start + 1, d, &at, answer));
            }
        }
    }

    if let Some((when, d, at, failures, anonymous)) = &p.attack {
        if day >= *when && day < when + 3 {
            let start = rng.gen_range(0..20 * 60);
            let mark = |mut e: AccessEvent| {
                e.anonymous = Some(*anonymous);
                e
            };
            for f in 0..i64::from(*failures) {
                out.push(mark(cx.event(start + f, d, at, EventKind::SignInFailed)));
            }
            out.push(mark(cx.event(start + 5, d, at, EventKind::SignIn)));
            out.push(mark(cx.event(start + 6, d, at, EventKind::Playback)));
            if day == *when && rng.gen_bool(0.5) {
                out.push(mark(cx.event(start + 7, d, at, EventKind::VerifyLater)));
            }
        }
    }
}

/// Reads ground truth written by [`run`]. Malformed lines are skipped and counted.
pub fn read_truth<R: BufRead>(input: R) -> Result<(Vec<Truth>, u64), std::io::Error> {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(t) => out.push(t),
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}
