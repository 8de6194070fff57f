//! `hearth serve --demo`: fills a new service with a living demo so every page has
//! something to show — an owner's household with a phone abroad waiting to verify,
//! and a simulated population (households, travellers, an account shared with a
//! friend, resold accounts) run through the engine for the analysts' queue, and
//! phishing reports grouped into campaigns.

use crate::app::App;
use crate::service::accounts::{SignIn, SignUp};
use crate::service::{now, Client, ServiceError, ServiceResult};
use hearth_core::time::DAY;
use hearth_core::DeviceType;
use hearth_events::simulate::{SimOptions, Simulator};

/// The demo owner's sign-in, printed at start.
pub const DEMO_OWNER: &str = "ana@demo.hearth";
pub const DEMO_PASSWORD: &str = "Lisbon-Sunset-2026!";

#[derive(Debug, Default)]
pub struct DemoSummary {
    pub created: bool,
    pub events: usize,
    pub flagged_accounts: usize,
    pub phishing_reports: usize,
}

fn at(ip: &str) -> Client {
    Client {
        ip: ip.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
        user_agent: Some("HearthDemo/1.0".into()),
    }
}

impl App {
    /// Seeds the demo once; later starts find it there and leave it alone.
    pub async fn seed_demo(&self) -> ServiceResult<DemoSummary> {
        if self.store.account_by_email(DEMO_OWNER).await?.is_some() {
            return Ok(DemoSummary::default());
        }
        // Ana's household in Lisbon: a TV, a console and two phones at home.
        let home = at("2.80.10.20");
        self.sign_up(
            SignUp {
                email: DEMO_OWNER.into(),
                password: DEMO_PASSWORD.into(),
                recovery_phone: Some("+351912345678".into()),
                locale: Some("en".into()),
            },
            &home,
        )
        .await?;
        let devices = [
            ("ana-tv", DeviceType::Tv, "Living room TV", &home),
            ("ana-console", DeviceType::Console, "Console", &home),
            ("ana-phone", DeviceType::Mobile, "Ana's phone", &home),
            ("rui-tablet", DeviceType::Tablet, "Rui's tablet", &home),
        ];
        for (id, kind, name, client) in devices {
            self.sign_in(
                SignIn {
                    email: DEMO_OWNER.into(),
                    password: DEMO_PASSWORD.into(),
                    device_id: Some(id.into()),
                    device_type: kind,
                    device_name: Some(name.into()),
                },
                client,
            )
            .await?;
        }
        // A streaming stick in another country: it is asked to verify.
        self.sign_in(
            SignIn {
                email: DEMO_OWNER.into(),
                password: DEMO_PASSWORD.into(),
                device_id: Some("stick-abroad".into()),
                device_type: DeviceType::Tv,
                device_name: Some("Streaming stick".into()),
            },
            &at("89.160.20.112"),
        )
        .await?;

        // The platform's population, simulated over the last ten days.
        let days = 10;
        let today = now();
        let opts = SimOptions {
            accounts: 32,
            days,
            seed: 2026,
            start: hearth_core::Timestamp((today.0 / DAY - i64::from(days)) * DAY),
            ..SimOptions::default()
        };
        let sim = Simulator::new(&opts)
            .map_err(|e| ServiceError::Internal(format!("demo simulator: {e}")))?;
        let mut events = Vec::new();
        let mut total = 0;
        for day in 0..days {
            events.clear();
            sim.day(day, &mut events);
            for ev in events.drain(..) {
                self.access(ev).await?;
                total += 1;
            }
        }
        let flagged = self.store.sharing_queue(1000).await?.len();
        let reports = self.seed_demo_phishing(today).await?;
        Ok(DemoSummary {
            created: true,
            events: total,
            flagged_accounts: flagged,
            phishing_reports: reports,
        })
    }
}
