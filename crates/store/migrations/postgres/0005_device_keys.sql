-- A secret the device keeps from its sign-in: presenting it again proves the device
-- signed in before, which exempts it from the account-wide failure lock.
ALTER TABLE sessions ADD COLUMN device_key_hash BYTEA;
CREATE INDEX sessions_device_key ON sessions(account_id, device_key_hash);
