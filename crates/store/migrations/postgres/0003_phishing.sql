-- Phishing reports from members and the campaigns they are grouped into.
-- Lists (domains, urls, reasons) and the language counts are JSON text; the
-- fingerprint columns hold the grouping state serialized by the service.
CREATE TABLE phishing_campaigns (
    id TEXT PRIMARY KEY,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    report_count BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    domains TEXT NOT NULL,
    label TEXT NOT NULL,
    languages TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX phishing_campaigns_last_seen ON phishing_campaigns(last_seen);

CREATE TABLE phishing_reports (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES phishing_campaigns(id),
    received_at BIGINT NOT NULL,
    reporter_account TEXT,
    source TEXT NOT NULL,
    channel TEXT,
    sender TEXT,
    subject TEXT,
    text TEXT NOT NULL,
    urls TEXT NOT NULL,
    verdict TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    reasons TEXT NOT NULL,
    language TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE INDEX phishing_reports_campaign ON phishing_reports(campaign_id, received_at);
CREATE INDEX phishing_reports_reporter ON phishing_reports(reporter_account);
