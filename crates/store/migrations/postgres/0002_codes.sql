-- One-time codes, stored only as keyed hashes, and the send history that limits them.
CREATE TABLE codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    hash BYTEA NOT NULL,
    channel TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    voided BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX codes_live ON codes(account_id, purpose, subject, created_at);

CREATE TABLE code_sends (
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX code_sends_key ON code_sends(key, at);
