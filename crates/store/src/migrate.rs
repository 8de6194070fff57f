//! Schema migrations, one list per backend, applied in order at start.

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "codes",
        sql: include_str!("../migrations/sqlite/0002_codes.sql"),
    },
    Migration {
        version: 3,
        name: "phishing",
        sql: include_str!("../migrations/sqlite/0003_phishing.sql"),
    },
    Migration {
        version: 4,
        name: "sharing",
        sql: include_str!("../migrations/sqlite/0004_sharing.sql"),
    },
    Migration {
        version: 5,
        name: "device_keys",
        sql: include_str!("../migrations/sqlite/0005_device_keys.sql"),
    },
    Migration {
        version: 6,
        name: "notifications",
        sql: include_str!("../migrations/sqlite/0006_notifications.sql"),
    },
    Migration {
        version: 7,
        name: "applied_events",
        sql: include_str!("../migrations/sqlite/0007_applied_events.sql"),
    },
    Migration {
        version: 8,
        name: "retention",
        sql: include_str!("../migrations/sqlite/0008_retention.sql"),
    },
    Migration {
        version: 9,
        name: "engine_writer",
        sql: include_str!("../migrations/sqlite/0009_engine_writer.sql"),
    },
    Migration {
        version: 10,
        name: "engine_effects",
        sql: include_str!("../migrations/sqlite/0010_engine_effects.sql"),
    },
    Migration {
        version: 11,
        name: "applied_ids_by_id",
        sql: include_str!("../migrations/sqlite/0011_applied_ids_by_id.sql"),
    },
    Migration {
        version: 12,
        name: "engine_journal",
        sql: include_str!("../migrations/sqlite/0012_engine_journal.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "codes",
        sql: include_str!("../migrations/postgres/0002_codes.sql"),
    },
    Migration {
        version: 3,
        name: "phishing",
        sql: include_str!("../migrations/postgres/0003_phishing.sql"),
    },
    Migration {
        version: 4,
        name: "sharing",
        sql: include_str!("../migrations/postgres/0004_sharing.sql"),
    },
    Migration {
        version: 5,
        name: "device_keys",
        sql: include_str!("../migrations/postgres/0005_device_keys.sql"),
    },
    Migration {
        version: 6,
        name: "notifications",
        sql: include_str!("../migrations/postgres/0006_notifications.sql"),
    },
    Migration {
        version: 7,
        name: "applied_events",
        sql: include_str!("../migrations/postgres/0007_applied_events.sql"),
    },
    Migration {
        version: 8,
        name: "retention",
        sql: include_str!("../migrations/postgres/0008_retention.sql"),
    },
    Migration {
        version: 9,
        name: "engine_writer",
        sql: include_str!("../migrations/postgres/0009_engine_writer.sql"),
    },
    Migration {
        version: 10,
        name: "engine_effects",
        sql: include_str!("../migrations/postgres/0010_engine_effects.sql"),
    },
    Migration {
        version: 11,
        name: "applied_ids_by_id",
        sql: include_str!("../migrations/postgres/0011_applied_ids_by_id.sql"),
    },
    Migration {
        version: 12,
        name: "engine_state_fillfactor",
        sql: include_str!("../migrations/postgres/0012_engine_state_fillfactor.sql"),
    },
];

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

macro_rules! run_migrations {
    ($pool:expr, $list:expr, $lock:expr) => {{
        use crate::sql::db_err;
        let mut tx = $pool.begin().await.map_err(db_err)?;
        if let Some(lock) = $lock {
            sqlx::query(lock).execute(&mut *tx).await.map_err(db_err)?;
        }
        sqlx::query(crate::migrate::CREATE_TABLE)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut applied: Vec<(i64, &'static str)> = Vec::new();
        for m in $list {
            if done.contains(&m.version) {
                continue;
            }
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(|e| {
                crate::StoreError::Database(format!(
                    "migration {} ({}) failed: {e}",
                    m.version, m.name
                ))
            })?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            applied.push((m.version, m.name));
        }
        tx.commit().await.map_err(db_err)?;
        Ok::<Vec<(i64, &'static str)>, crate::StoreError>(applied)
    }};
}

pub(crate) use run_migrations;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::SQLITE;
    use sqlx::sqlite::SqlitePoolOptions;

    /// A database written before applied ids were keyed by the id first keeps every
    /// id, still refuses one applied twice, and still takes one id on two accounts.
    #[tokio::test]
    async fn rekeying_applied_ids_keeps_them_on_sqlite() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let (old, new): (Vec<_>, Vec<_>) = SQLITE.iter().partition(|m| m.version < 11);
        assert!(!new.is_empty(), "the re-keying migration is listed");
        sqlx::query(super::CREATE_TABLE)
            .execute(&pool)
            .await
            .unwrap();
        for m in &old {
            sqlx::raw_sql(m.sql).execute(&pool).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES ($1, $2, 0)")
                .bind(m.version)
                .bind(m.name)
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO applied_events VALUES ('a', 'e1', '{\"d\":1}', 5), ('b', 'e1', '{\"d\":2}', 6)",
        )
        .execute(&pool)
        .await
        .unwrap();

        let applied = async { run_migrations!(pool, SQLITE, None::<&str>) }
            .await
            .unwrap();
        assert_eq!(
            applied.iter().map(|a| a.0).collect::<Vec<_>>(),
            new.iter().map(|m| m.version).collect::<Vec<_>>()
        );
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT account, event_id, decision, applied_at FROM applied_events ORDER BY account",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("a".into(), "e1".into(), "{\"d\":1}".into(), 5),
                ("b".into(), "e1".into(), "{\"d\":2}".into(), 6)
            ]
        );
        let twice = sqlx::raw_sql("INSERT INTO applied_events VALUES ('a', 'e1', '{}', 7)")
            .execute(&pool)
            .await;
        assert!(twice.is_err(), "{twice:?}");
        sqlx::raw_sql("INSERT INTO applied_events VALUES ('c', 'e1', '{}', 7)")
            .execute(&pool)
            .await
            .unwrap();
        // Pruning by age still has its index.
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as("EXPLAIN QUERY PLAN DELETE FROM applied_events WHERE applied_at < 6")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(
            plan.iter().any(|p| p.3.contains("applied_events_at")),
            "{plan:?}"
        );
    }
}
