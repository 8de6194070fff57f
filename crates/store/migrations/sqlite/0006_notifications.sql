-- Security notices to the owner: the in-app list and the history noise control reads.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    device_name TEXT,
    device_type TEXT,
    place TEXT,
    count INTEGER NOT NULL DEFAULT 1,
    -- 0: folded into a digest or quietened; kept so bursts can be counted.
    delivered INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_account ON notifications(account_id, id);

CREATE TABLE notification_prefs (
    account_id TEXT PRIMARY KEY,
    email INTEGER NOT NULL,
    sms INTEGER NOT NULL,
    -- Notice kinds switched off, comma-separated.
    off TEXT NOT NULL
);
