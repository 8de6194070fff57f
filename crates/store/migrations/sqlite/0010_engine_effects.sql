-- What follows from a committed engine write and is not the engine's state: the
-- sharing verdict changes to record and the owners to tell. Written in the same
-- transaction as the state, so a crash between the commit and carrying them out
-- loses none. The node that committed a row carries it out at once and deletes it;
-- a row still here after due_at (its node died first) is claimed by any node, which
-- moves due_at on while it works.
CREATE TABLE engine_effects (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    effects TEXT NOT NULL,
    due_at INTEGER NOT NULL
);
CREATE INDEX engine_effects_due ON engine_effects(due_at);
