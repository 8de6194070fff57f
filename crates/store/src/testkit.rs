//! A fresh, isolated store per test. The backend comes from `HEARTH_TEST_DATABASE_URL`:
//! unset means SQLite in a temporary file; a `postgres://` URL means a new schema in
//! that database, dropped afterwards. CI runs the same suites once per backend.

use crate::{PgStore, SqliteStore, Store, StoreError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Keeps the test database alive; cleans it up when dropped.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    /// The URL another process (a second node, a restarted server) can open.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Schema(PgStore, String),
}

fn unique() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        t % 1_000_000_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The backend the test suites run against in this process.
pub fn backend_url() -> Option<String> {
    std::env::var("HEARTH_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub async fn test_db() -> Result<TestDb, StoreError> {
    let id = unique();
    match backend_url() {
        Some(url) if url.starts_with("postgres") => {
            let schema = format!("hearth_test_{id}");
            let store = PgStore::connect_in_schema(&url, Some(&schema)).await?;
            let sep = if url.contains('?') { '&' } else { '?' };
            // libpq-style options carry the search path to other processes.
            let node_url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            Ok(TestDb {
                store: Arc::new(store.clone()),
                url: node_url,
                cleanup: Cleanup::Schema(store, schema),
            })
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("hearth-test-{id}"));
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let url = format!("sqlite://{}", dir.join("hearth.db").display());
            let store = SqliteStore::connect(&url).await?;
            Ok(TestDb {
                store: Arc::new(store),
                url,
                cleanup: Cleanup::File(dir),
            })
        }
    }
}

impl TestDb {
    /// Drops the PostgreSQL schema (SQLite files go with the temp folder).
    pub async fn cleanup(self) {
        match self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema(store, schema) => {
                let _ = store.drop_schema(&schema).await;
            }
        }
    }
}
