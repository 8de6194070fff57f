//! Phishing reports and the campaigns they are grouped into. The store does not judge
//! messages: the service fingerprints a report, decides which campaign it joins and
//! hands over the campaign's new state; the store writes report and campaign in one
//! transaction, refusing the write when another report changed the campaign first.

use async_trait::async_trait;
use hearth_core::Timestamp;
use std::collections::BTreeMap;

/// A report to store. Lists are kept as JSON text.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPhishReport {
    pub id: String,
    pub received_at: Timestamp,
    /// The reporting owner's account, when known.
    pub reporter_account: Option<String>,
    /// `api` or `smtp`.
    pub source: String,
    /// `sms` or `email`, when known.
    pub channel: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// Plain text, already bounded by the caller.
    pub text: String,
    pub urls: Vec<String>,
    /// `phishing`, `suspicious` or `legitimate`.
    pub verdict: String,
    pub score: f64,
    pub reasons: Vec<String>,
    /// `en`, `fr`, `pt` or `es`.
    pub language: String,
    /// The report's serialized fingerprint (opaque to the store).
    pub fingerprint: String,
}

/// A stored report.
#[derive(Clone, Debug, PartialEq)]
pub struct PhishReport {
    pub id: String,
    pub campaign_id: String,
    pub received_at: Timestamp,
    pub reporter_account: Option<String>,
    pub source: String,
    pub channel: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    pub urls: Vec<String>,
    pub verdict: String,
    pub score: f64,
    pub reasons: Vec<String>,
    pub language: String,
}

/// A stored campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignRow {
    pub id: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub reports: u64,
    /// Reports received since the `since` of [`PhishStore::list_campaigns`] (0 elsewhere).
    pub recent_reports: u64,
    /// The serialized grouping state (representative fingerprints, domains); opaque.
    pub fingerprint: String,
    /// Registered domains of the campaign's links.
    pub domains: Vec<String>,
    /// The most severe verdict among its reports.
    pub label: String,
    /// Reports per language.
    pub languages: BTreeMap<String, u64>,
    /// Bumped on every write; the optimistic-concurrency token.
    pub version: i64,
}

/// What a new report does to its campaign.
#[derive(Clone, Debug, PartialEq)]
pub enum CampaignWrite {
    /// The report starts a campaign.
    New {
        id: String,
        fingerprint: String,
        domains: Vec<String>,
        label: String,
        languages: BTreeMap<String, u64>,
    },
    /// The report joins a campaign read at `expected_version`; the other fields are
    /// the campaign's state with the report added.
    Join {
        id: String,
        expected_version: i64,
        fingerprint: String,
        domains: Vec<String>,
        label: String,
        languages: BTreeMap<String, u64>,
    },
}

impl CampaignWrite {
    pub fn id(&self) -> &str {
        match self {
            CampaignWrite::New { id, .. } | CampaignWrite::Join { id, .. } => id,
        }
    }
}

#[async_trait]
pub trait PhishStore: Send + Sync {
    /// Campaigns seen since `since`, most recently seen first: the candidates a new
    /// report is compared with.
    async fn recent_campaigns(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> crate::Result<Vec<CampaignRow>>;
    /// Stores the report and creates or updates its campaign (count, last seen,
    /// languages, state) in one transaction. Returns false, writing nothing, when the
    /// campaign to join changed since it was read (or a new id is already taken).
    async fn record_phish_report(
        &self,
        report: &NewPhishReport,
        campaign: &CampaignWrite,
    ) -> crate::Result<bool>;
    /// Campaigns ranked by reports since `since`, then by all reports, then by recency.
    async fn list_campaigns(
        &self,
        since: Timestamp,
        limit: u32,
        offset: u32,
    ) -> crate::Result<Vec<CampaignRow>>;
    async fn campaign(&self, id: &str) -> crate::Result<Option<CampaignRow>>;
    /// `(campaign, day, reports)` for the given campaigns since `since`, where `day`
    /// counts whole days since the epoch (UTC).
    async fn campaign_daily_counts(
        &self,
        ids: &[String],
        since: Timestamp,
    ) -> crate::Result<Vec<(String, i64, u64)>>;
    /// A campaign's newest reports first.
    async fn campaign_reports(&self, id: &str, limit: u32) -> crate::Result<Vec<PhishReport>>;
    async fn phish_report(&self, id: &str) -> crate::Result<Option<PhishReport>>;
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> crate::Result<String> {
    serde_json::to_string(v).map_err(|e| crate::StoreError::Database(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(col: &str, s: &str) -> crate::Result<T> {
    serde_json::from_str(s).map_err(|e| crate::StoreError::Corrupt(format!("{col}: {e}")))
}

macro_rules! impl_phish_store {
    ($store:ty, $db:ty) => {
        mod phish_store_impl {
            use crate::phish::{
                from_json, to_json, CampaignRow, CampaignWrite, NewPhishReport, PhishReport,
                PhishStore,
            };
            use crate::sql::db_err;
            use crate::StoreError;
            use hearth_core::Timestamp;
            use sqlx::Row;

            type DbRow = <$db as sqlx::Database>::Row;

            const CAMPAIGN_COLS: &str = "id, first_seen, last_seen, report_count, fingerprint, domains, label, languages, version";
            const REPORT_COLS: &str = "id, campaign_id, received_at, reporter_account, source, channel, sender, subject, text, urls, verdict, score, reasons, language";

            fn get<'r, T>(row: &'r DbRow, col: &str) -> crate::Result<T>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(col).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
            }

            fn count(n: i64) -> u64 {
                u64::try_from(n).unwrap_or(0)
            }

            fn campaign(row: &DbRow, with_recent: bool) -> crate::Result<CampaignRow> {
                Ok(CampaignRow {
                    id: get(row, "id")?,
                    first_seen: Timestamp(get(row, "first_seen")?),
                    last_seen: Timestamp(get(row, "last_seen")?),
                    reports: count(get(row, "report_count")?),
                    recent_reports: if with_recent { count(get(row, "recent")?) } else { 0 },
                    fingerprint: get(row, "fingerprint")?,
                    domains: from_json("domains", &get::<String>(row, "domains")?)?,
                    label: get(row, "label")?,
                    languages: from_json("languages", &get::<String>(row, "languages")?)?,
                    version: get(row, "version")?,
                })
            }

            fn report(row: &DbRow) -> crate::Result<PhishReport> {
                Ok(PhishReport {
                    id: get(row, "id")?,
                    campaign_id: get(row, "campaign_id")?,
                    received_at: Timestamp(get(row, "received_at")?),
                    reporter_account: get(row, "reporter_account")?,
                    source: get(row, "source")?,
                    channel: get(row, "channel")?,
                    sender: get(row, "sender")?,
                    subject: get(row, "subject")?,
                    text: get(row, "text")?,
                    urls: from_json("urls", &get::<String>(row, "urls")?)?,
                    verdict: get(row, "verdict")?,
                    score: get(row, "score")?,
                    reasons: from_json("reasons", &get::<String>(row, "reasons")?)?,
                    language: get(row, "language")?,
                })
            }

            #[async_trait::async_trait]
            impl PhishStore for $store {
                async fn recent_campaigns(&self, since: Timestamp, limit: u32) -> crate::Result<Vec<CampaignRow>> {
                    let sql = format!(
                        "SELECT {CAMPAIGN_COLS} FROM phishing_campaigns WHERE last_seen >= $1 \
                         ORDER BY last_seen DESC, id LIMIT $2"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(since.0)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(|r| campaign(r, false)).collect()
                }

                async fn record_phish_report(&self, r: &NewPhishReport, c: &CampaignWrite) -> crate::Result<bool> {
                    let mut tx = self.pool.begin().await.map_err(db_err)?;
                    match c {
                        CampaignWrite::New { id, fingerprint, domains, label, languages } => {
                            let inserted = sqlx::query(
                                "INSERT INTO phishing_campaigns (id, first_seen, last_seen, report_count, fingerprint, domains, label, languages, version) \
                                 VALUES ($1, $2, $2, 1, $3, $4, $5, $6, 1)",
                            )
                            .bind(id)
                            .bind(r.received_at.0)
                            .bind(fingerprint)
                            .bind(to_json(domains)?)
                            .bind(label)
                            .bind(to_json(languages)?)
                            .execute(&mut *tx)
                            .await;
                            match inserted {
                                Ok(_) => {}
                                Err(e) => {
                                    return match db_err(e) {
                                        StoreError::Conflict(_) => Ok(false),
                                        other => Err(other),
                                    };
                                }
                            }
                        }
                        CampaignWrite::Join { id, expected_version, fingerprint, domains, label, languages } => {
                            // Writes first (no read): SQLite cannot upgrade a read transaction
                            // that another writer overtook, and the version check covers it.
                            let updated = sqlx::query(
                                "UPDATE phishing_campaigns SET \
                                 first_seen = CASE WHEN first_seen < $3 THEN first_seen ELSE $3 END, \
                                 last_seen = CASE WHEN last_seen > $3 THEN last_seen ELSE $3 END, \
                                 report_count = report_count + 1, fingerprint = $4, domains = $5, label = $6, \
                                 languages = $7, version = version + 1 \
                                 WHERE id = $1 AND version = $2",
                            )
                            .bind(id)
                            .bind(expected_version)
                            .bind(r.received_at.0)
                            .bind(fingerprint)
                            .bind(to_json(domains)?)
                            .bind(label)
                            .bind(to_json(languages)?)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                            if updated.rows_affected() != 1 {
                                return Ok(false);
                            }
                        }
                    }
                    sqlx::query(
                        "INSERT INTO phishing_reports (id, campaign_id, received_at, reporter_account, source, channel, sender, subject, \
                         text, urls, verdict, score, reasons, language, fingerprint) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    )
                    .bind(&r.id)
                    .bind(c.id())
                    .bind(r.received_at.0)
                    .bind(&r.reporter_account)
                    .bind(&r.source)
                    .bind(&r.channel)
                    .bind(&r.sender)
                    .bind(&r.subject)
                    .bind(&r.text)
                    .bind(to_json(&r.urls)?)
                    .bind(&r.verdict)
                    .bind(r.score)
                    .bind(to_json(&r.reasons)?)
                    .bind(&r.language)
                    .bind(&r.fingerprint)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(true)
                }

                async fn list_campaigns(&self, since: Timestamp, limit: u32, offset: u32) -> crate::Result<Vec<CampaignRow>> {
                    let sql = format!(
                        "SELECT {CAMPAIGN_COLS}, (SELECT COUNT(*) FROM phishing_reports r \
                         WHERE r.campaign_id = phishing_campaigns.id AND r.received_at >= $1) AS recent \
                         FROM phishing_campaigns ORDER BY recent DESC, report_count DESC, last_seen DESC, id \
                         LIMIT $2 OFFSET $3"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(since.0)
                        .bind(i64::from(limit))
                        .bind(i64::from(offset))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(|r| campaign(r, true)).collect()
                }

                async fn campaign(&self, id: &str) -> crate::Result<Option<CampaignRow>> {
                    let sql = format!("SELECT {CAMPAIGN_COLS} FROM phishing_campaigns WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(|r| campaign(r, false)).transpose()
                }

                async fn campaign_daily_counts(&self, ids: &[String], since: Timestamp) -> crate::Result<Vec<(String, i64, u64)>> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    // One placeholder per id; both dialects take `$N`.
                    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
                    let sql = format!(
                        "SELECT campaign_id, received_at / 86400000 AS day_n, COUNT(*) AS n FROM phishing_reports \
                         WHERE received_at >= $1 AND campaign_id IN ({}) GROUP BY campaign_id, day_n ORDER BY campaign_id, day_n",
                        list.join(", ")
                    );
                    let mut q = sqlx::query(&sql).bind(since.0);
                    for id in ids {
                        q = q.bind(id);
                    }
                    let rows = q.fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.iter()
                        .map(|r| Ok((get::<String>(r, "campaign_id")?, get::<i64>(r, "day_n")?, count(get(r, "n")?))))
                        .collect()
                }

                async fn campaign_reports(&self, id: &str, limit: u32) -> crate::Result<Vec<PhishReport>> {
                    let sql = format!(
                        "SELECT {REPORT_COLS} FROM phishing_reports WHERE campaign_id = $1 \
                         ORDER BY received_at DESC, id LIMIT $2"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(id)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(report).collect()
                }

                async fn phish_report(&self, id: &str) -> crate::Result<Option<PhishReport>> {
                    let sql = format!("SELECT {REPORT_COLS} FROM phishing_reports WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(report).transpose()
                }
            }
        }
    };
}

pub(crate) use impl_phish_store;
