//! `hearth migrate`: applies what is pending and says so, is idempotent, fails with a
//! clear message when the database cannot be reached, and `--retention` truncates
//! old IP addresses. SQLite always; PostgreSQL too when `HEARTH_TEST_DATABASE_URL`
//! names one (a fresh schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::Timestamp;
use hearth_store::{NewAccount, NewSession, Role, Store};
use std::process::Command;

fn hearth(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        // The test runner's own variables are not configuration.
        .env_remove("HEARTH_TEST_DATABASE_URL")
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.success(),
    )
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("hearth-migrate-{tag}-{}-{t}", std::process::id()))
}

fn applies_then_is_up_to_date(args: &[&str], kind: &str) {
    let (out, err, ok) = hearth(args);
    assert!(ok, "{err}");
    assert!(out.contains("applied 0001 init"), "{out}");
    assert!(
        out.contains(&format!("The {kind} database is now at version")),
        "{out}"
    );
    let (out, err, ok) = hearth(args);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!("The {kind} database is up to date (version ")),
        "{out}"
    );
    assert!(!out.contains("applied"), "{out}");
}

#[test]
fn migrate_applies_pending_migrations_once_on_sqlite() {
    let dir = temp_dir("sqlite");
    applies_then_is_up_to_date(&["migrate", "--data-dir", dir.to_str().unwrap()], "SQLite");
    assert!(dir.join("hearth.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn migrate_applies_pending_migrations_once_on_postgres() {
    let Some(base) = hearth_store::testkit::backend_url().filter(|u| u.starts_with("postgres"))
    else {
        return; // the PostgreSQL pass of CI sets HEARTH_TEST_DATABASE_URL
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("hearth_test_migrate_{}", std::process::id());
    let admin = rt
        .block_on(hearth_store::PgStore::connect_unmigrated(
            &base,
            Some(&schema),
        ))
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    applies_then_is_up_to_date(&["migrate", "--database-url", &url], "PostgreSQL");
    rt.block_on(admin.drop_schema(&schema)).unwrap();
}

#[test]
fn an_unreachable_database_fails_with_a_clear_message() {
    // Nothing listens on port 1.
    let (out, err, ok) = hearth(&[
        "migrate",
        "--database-url",
        "postgres://postgres@127.0.0.1:1/test",
    ]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with("hearth: cannot migrate the PostgreSQL database:"),
        "{err}"
    );
}

#[test]
fn migrate_with_retention_truncates_old_addresses() {
    let dir = temp_dir("retention");
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hearth.db").display());
    let now = hearth_server::service::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = hearth_store::open(&url).await.unwrap();
        store
            .create_account(&NewAccount {
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
        for (id, ip, days) in [("old", "203.0.113.7", 31), ("new", "198.51.100.4", 1)] {
            store
                .create_session(&NewSession {
                    id: id.into(),
                    account_id: "a1".into(),
                    token_hash: id.as_bytes().to_vec(),
                    device_id: id.into(),
                    device_type: "tv".into(),
                    name: id.into(),
                    ip: ip.into(),
                    user_agent: None,
                    location: None,
                    device_key_hash: None,
                    audit: None,
                    now: now.plus(-days * 86_400_000),
                })
                .await
                .unwrap();
        }
    });
    let (out, err, ok) = hearth(&["migrate", "--retention", "--database-url", &url]);
    assert!(ok, "{err}");
    assert!(out.contains("up to date"), "{out}");
    assert!(
        out.contains("older than 30 days truncated in 1 sessions"),
        "{out}"
    );
    rt.block_on(async {
        let store: std::sync::Arc<dyn Store> = hearth_store::open(&url).await.unwrap();
        let ip = |id: &'static str| {
            let store = store.clone();
            async move { store.session("a1", id).await.unwrap().unwrap().ip }
        };
        assert_eq!(ip("old").await, "203.0.113.0");
        assert_eq!(ip("new").await, "198.51.100.4");
    });
    let _ = std::fs::remove_dir_all(dir);
}
