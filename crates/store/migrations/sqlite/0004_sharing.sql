-- Accounts the engine classifies as shared or resold: the analysts' queue.
CREATE TABLE sharing_verdicts (
    account TEXT PRIMARY KEY,
    sharing TEXT NOT NULL,
    households INTEGER NOT NULL,
    devices INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    rank REAL NOT NULL,
    first_flagged_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX sharing_rank ON sharing_verdicts(rank);
