//! Raw IP addresses older than the retention period are truncated (IPv4 /24, IPv6
//! /48) in sessions, the audit log and counter keys; recent ones are kept. Runs on
//! SQLite and, with `HEARTH_TEST_DATABASE_URL`, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::Timestamp;
use hearth_store::retention::{truncate_ip, RetentionConfig};
use hearth_store::testkit::test_db;
use hearth_store::*;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_780_000_000_000;

fn session(id: &str, ip: &str, at: i64) -> NewSession {
    NewSession {
        id: id.into(),
        account_id: "a1".into(),
        token_hash: id.as_bytes().to_vec(),
        device_id: format!("dev-{id}"),
        device_type: "tv".into(),
        name: format!("TV {id}"),
        ip: ip.into(),
        user_agent: None,
        location: None,
        device_key_hash: None,
        audit: None,
        now: Timestamp(at),
    }
}

fn audit(ip: &str, at: i64) -> NewAudit {
    NewAudit {
        account_id: Some("a1".into()),
        at: Timestamp(at),
        kind: "sign_in_failed".into(),
        ip: Some(ip.into()),
        device_id: None,
        detail: format!(r#"{{"ip":"{ip}","n":1}}"#),
    }
}

#[test]
fn addresses_truncate_to_their_network() {
    for (raw, want) in [
        ("203.0.113.7", Some("203.0.113.0")),
        ("203.0.113.0", Some("203.0.113.0")),
        ("2001:db8:1234:5678::9", Some("2001:db8:1234::")),
        ("::1", Some("::")),
        ("not an address", None),
    ] {
        assert_eq!(truncate_ip(raw).as_deref(), want, "{raw}");
    }
}

#[tokio::test]
async fn old_addresses_are_truncated_and_recent_ones_kept() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.create_account(&NewAccount {
        id: "a1".into(),
        email: "owner@example.com".into(),
        password_hash: "$argon2id$stub".into(),
        recovery_phone: None,
        locale: "en".into(),
        role: Role::Member,
        created_at: Timestamp(1_000),
    })
    .await
    .unwrap();
    let old = NOW - 40 * DAY;
    let recent = NOW - 2 * DAY;
    s.create_session(&session("s-old", "203.0.113.7", old))
        .await
        .unwrap();
    s.create_session(&session("s-old6", "2001:db8:1234:5678::9", old))
        .await
        .unwrap();
    s.create_session(&session("s-new", "198.51.100.4", recent))
        .await
        .unwrap();
    // Seen again recently from a new address: that address is recent, and kept.
    s.create_session(&session("s-back", "192.0.2.1", old))
        .await
        .unwrap();
    s.touch_session("s-back", "192.0.2.77", Timestamp(recent))
        .await
        .unwrap();
    s.append_audit(&audit("203.0.113.7", old)).await.unwrap();
    s.append_audit(&audit("198.51.100.4", recent))
        .await
        .unwrap();
    s.bump_counter("ip:203.0.113.7", Timestamp(old), DAY)
        .await
        .unwrap();
    s.bump_counter("ip:198.51.100.4", Timestamp(recent), 30 * DAY)
        .await
        .unwrap();

    let cfg = RetentionConfig::default();
    assert_eq!(cfg.ip_days, 30);
    let report = s.truncate_ips(cfg.cutoff(Timestamp(NOW))).await.unwrap();
    assert_eq!((report.sessions, report.audit, report.counters), (2, 1, 1));

    let ip_of = |id: &'static str| async move { s.session("a1", id).await.unwrap().unwrap().ip };
    assert_eq!(ip_of("s-old").await, "203.0.113.0");
    assert_eq!(ip_of("s-old6").await, "2001:db8:1234::");
    assert_eq!(ip_of("s-new").await, "198.51.100.4");
    assert_eq!(ip_of("s-back").await, "192.0.2.77");
    let entries = s.audit_for_account("a1", 10).await.unwrap();
    let old_entry = entries.iter().find(|e| e.at.0 == old).unwrap();
    assert_eq!(old_entry.ip.as_deref(), Some("203.0.113.0"));
    assert_eq!(old_entry.detail["ip"], "203.0.113.0");
    assert_eq!(
        old_entry.detail["n"], 1,
        "the rest of the entry is untouched"
    );
    let new_entry = entries.iter().find(|e| e.at.0 == recent).unwrap();
    assert_eq!(new_entry.ip.as_deref(), Some("198.51.100.4"));
    assert_eq!(new_entry.detail["ip"], "198.51.100.4");
    assert_eq!(s.counter("ip:203.0.113.7").await.unwrap().count, 0);
    assert_eq!(s.counter("ip:198.51.100.4").await.unwrap().count, 1);
    // The audit log can still be searched by the truncated address.
    let by_net = s
        .search_audit(&AuditQuery {
            ip: Some("203.0.113.0".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_net.len(), 1);

    // A second run has nothing left to do; once the recent rows age, they go too.
    let again = s.truncate_ips(cfg.cutoff(Timestamp(NOW))).await.unwrap();
    assert_eq!(again, RetentionReport::default());
    let later = s
        .truncate_ips(cfg.cutoff(Timestamp(NOW + 40 * DAY)))
        .await
        .unwrap();
    assert_eq!((later.sessions, later.audit), (2, 1));
    assert_eq!(ip_of("s-new").await, "198.51.100.0");
    assert_eq!(ip_of("s-back").await, "192.0.2.0");
    db.cleanup().await;
}

#[tokio::test]
async fn the_audit_log_still_refuses_other_edits() {
    let db = test_db().await.unwrap();
    db.store
        .append_audit(&audit("203.0.113.7", NOW))
        .await
        .unwrap();
    let refused = |sql: &'static str| {
        let url = db.url.clone();
        let backend = db.store.backend();
        async move {
            if backend == "sqlite" {
                let st = SqliteStore::connect(&url).await.unwrap();
                sqlx::query(sql).execute(st.pool()).await.is_err()
            } else {
                let st = PgStore::connect(&url).await.unwrap();
                sqlx::query(sql).execute(st.pool()).await.is_err()
            }
        }
    };
    assert!(refused("UPDATE audit SET kind = 'nothing_happened'").await);
    assert!(refused("UPDATE audit SET at = 0").await);
    assert!(refused("DELETE FROM audit").await);
    assert!(!refused("UPDATE audit SET ip = '203.0.113.0'").await);
    db.cleanup().await;
}
