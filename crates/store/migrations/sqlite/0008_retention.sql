-- Data retention: raw IP addresses are kept a configurable number of days, then
-- truncated (IPv4 to /24, IPv6 to /48). The audit log stays append-only except for
-- that: an update may rewrite the address (`ip`, and the address inside `detail`),
-- nothing else.
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN NEW.id IS NOT OLD.id OR NEW.account_id IS NOT OLD.account_id OR NEW.at IS NOT OLD.at
  OR NEW.kind IS NOT OLD.kind OR NEW.device_id IS NOT OLD.device_id
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE INDEX audit_at ON audit(at);
CREATE INDEX sessions_seen ON sessions(last_seen_at);

-- How far each retention job has got: rows older than `done_before` are done.
CREATE TABLE retention_marks (
    name TEXT PRIMARY KEY,
    done_before INTEGER NOT NULL
);
