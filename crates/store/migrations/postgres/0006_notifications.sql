-- Security notices to the owner: the in-app list and the history noise control reads.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    device_name TEXT,
    device_type TEXT,
    place TEXT,
    count BIGINT NOT NULL DEFAULT 1,
    -- 0: folded into a digest or quietened; kept so bursts can be counted.
    delivered BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_account ON notifications(account_id, id);

CREATE TABLE notification_prefs (
    account_id TEXT PRIMARY KEY,
    email BIGINT NOT NULL,
    sms BIGINT NOT NULL,
    -- Notice kinds switched off, comma-separated.
    off TEXT NOT NULL
);
