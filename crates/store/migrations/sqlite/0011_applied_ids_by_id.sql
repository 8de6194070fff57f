-- Applied event ids keyed by the id first. Producers' ids mostly grow with time
-- (stream sequences, ULIDs, UUIDv7, counters), so each batch's new keys land beside
-- each other at the index's right edge, a page or two per batch, where keyed by the
-- account first each event's key went to a page of its own. Lookups bind both
-- columns, so they use the key either way; pruning uses applied_events_at.
CREATE TABLE applied_events_by_id (
    account TEXT NOT NULL,
    event_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, account)
);
INSERT INTO applied_events_by_id SELECT account, event_id, decision, applied_at FROM applied_events;
DROP TABLE applied_events;
ALTER TABLE applied_events_by_id RENAME TO applied_events;
CREATE INDEX applied_events_at ON applied_events(applied_at);
