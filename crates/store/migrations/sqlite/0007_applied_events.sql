-- Event ids already applied to an account's engine state, with the decision given,
-- written in the same transaction as the state: a redelivered event is answered
-- again from here and never applied twice. Pruned after a configurable number of days.
CREATE TABLE applied_events (
    account TEXT NOT NULL,
    event_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (account, event_id)
);
CREATE INDEX applied_events_at ON applied_events(applied_at);
