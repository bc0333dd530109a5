-- Objects whose bytes must be removed from storage. A row is written in the same transaction
-- that deletes the photo rows (or before an upload stores its bytes), and removed only after
-- the bytes are gone, so a crash at any point leaves work for the next sweep instead of
-- orphaned objects or rows pointing at missing bytes.
CREATE TABLE object_cleanup (
    storage_key TEXT PRIMARY KEY,
    -- Not before this time: an upload in progress holds its entry until it commits.
    due_at BIGINT NOT NULL
);
CREATE INDEX object_cleanup_due ON object_cleanup (due_at);

-- Fixed-window counters for log-in attempts, per account and per client address, shared by
-- every instance.
CREATE TABLE login_attempts (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
