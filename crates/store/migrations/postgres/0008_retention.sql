-- Data retention: raw IP addresses are kept a configurable number of days, then
-- truncated (IPv4 to /24, IPv6 to /48). The audit log stays append-only except for
-- that: an update may rewrite the address (`ip`, and the address inside `detail`),
-- nothing else; deletions are still refused.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id
        AND NEW.account_id IS NOT DISTINCT FROM OLD.account_id AND NEW.at = OLD.at
        AND NEW.kind = OLD.kind AND NEW.device_id IS NOT DISTINCT FROM OLD.device_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit log is append-only';
END $$;

CREATE INDEX audit_at ON audit(at);
CREATE INDEX sessions_seen ON sessions(last_seen_at);

-- How far each retention job has got: rows older than `done_before` are done.
CREATE TABLE retention_marks (
    name TEXT PRIMARY KEY,
    done_before BIGINT NOT NULL
);
