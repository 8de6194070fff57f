-- The write path's journal on SQLite, where one process owns every account's engine
-- state (docs/write-path.md, step 2): each commit appends one row holding its batch's
-- events, and the states are written back later, in bulk. Each state row names the
-- last journal row it holds (journal_seq), so a restart replays, account by account,
-- only the rows written after it. The last row is always kept: its seq is where the
-- next commit goes on from.
CREATE TABLE engine_journal (
    seq INTEGER PRIMARY KEY,
    events TEXT NOT NULL
);
ALTER TABLE engine_state ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;
