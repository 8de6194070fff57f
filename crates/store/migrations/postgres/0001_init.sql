-- Times are milliseconds since the Unix epoch; flags are 0/1 integers (same as SQLite).
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    recovery_phone TEXT,
    locale TEXT NOT NULL DEFAULT 'en',
    role TEXT NOT NULL DEFAULT 'member',
    must_change_password BIGINT NOT NULL DEFAULT 0,
    flagged_reason TEXT,
    flagged_at BIGINT,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    token_hash BYTEA NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    device_type TEXT NOT NULL,
    name TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT,
    location TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_account ON sessions(account_id, revoked_at);
CREATE INDEX sessions_idle ON sessions(last_seen_at) WHERE revoked_at IS NULL;

CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    count BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    ip TEXT,
    device_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_account ON audit(account_id, id);
CREATE INDEX audit_kind ON audit(kind, id);

-- The log is append-only: the database refuses edits and deletions.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TABLE engine_state (
    account TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    body_text TEXT NOT NULL,
    body_html TEXT,
    purpose TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
