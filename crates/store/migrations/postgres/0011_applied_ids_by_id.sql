-- Applied event ids keyed by the id first. Producers' ids mostly grow with time
-- (stream sequences, ULIDs, UUIDv7, counters), so each batch's new keys land beside
-- each other at the index's right edge, a page or two per batch, where keyed by the
-- account first each event's key went to a page of its own. Lookups bind both
-- columns, so they use the key either way; pruning uses applied_events_at.
ALTER TABLE applied_events DROP CONSTRAINT applied_events_pkey;
ALTER TABLE applied_events ADD PRIMARY KEY (event_id, account);
