//! `--demo` fills a new service so every page has something to show, once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_server::demo::DEMO_OWNER;
use hearth_server::testkit::TestServer;

#[tokio::test]
async fn the_demo_has_a_household_a_waiting_device_and_an_analysts_queue() {
    let s = TestServer::start(|_| {}).await;
    let first = s.app.seed_demo().await.unwrap();
    assert!(first.created);
    assert!(first.events > 1000, "{first:?}");
    let queue = s.app.store.sharing_queue(100).await.unwrap();
    assert!(queue.iter().any(|r| r.sharing == "resold"), "{queue:?}");
    let owner = s
        .app
        .store
        .account_by_email(DEMO_OWNER)
        .await
        .unwrap()
        .unwrap();
    let devices = s.app.store.list_sessions(&owner.id).await.unwrap();
    assert_eq!(devices.len(), 5);
    let stick = s
        .app
        .device_standing(&owner.id, "stick-abroad")
        .await
        .unwrap();
    assert_eq!(
        stick,
        hearth_core::engine::Standing::Unknown,
        "the stick abroad still has to verify"
    );
    assert!(first.phishing_reports > 0);
    let campaigns = s
        .app
        .store
        .list_campaigns(hearth_core::Timestamp(0), 20, 0)
        .await
        .unwrap();
    assert!(
        campaigns.len() >= 2,
        "reports grouped into campaigns: {}",
        campaigns.len()
    );
    let again = s.app.seed_demo().await.unwrap();
    assert!(!again.created, "seeded once");
    s.stop().await;
}
