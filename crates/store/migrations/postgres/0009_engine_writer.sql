-- Which batch last wrote an account's engine state: a token unique to each commit, so
-- the applied event ids of a batch can be recorded in the same statement list as the
-- states, for exactly the accounts whose write held (see crates/store/src/engine.rs).
ALTER TABLE engine_state ADD COLUMN written_by TEXT;
