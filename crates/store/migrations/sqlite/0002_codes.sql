-- One-time codes, stored only as keyed hashes, and the send history that limits them.
CREATE TABLE codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    hash BLOB NOT NULL,
    channel TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    voided INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX codes_live ON codes(account_id, purpose, subject, created_at);

CREATE TABLE code_sends (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX code_sends_key ON code_sends(key, at);
