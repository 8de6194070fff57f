-- Accounts the engine classifies as shared or resold: the analysts' queue.
CREATE TABLE sharing_verdicts (
    account TEXT PRIMARY KEY,
    sharing TEXT NOT NULL,
    households BIGINT NOT NULL,
    devices BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    rank DOUBLE PRECISION NOT NULL,
    first_flagged_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sharing_rank ON sharing_verdicts(rank);
