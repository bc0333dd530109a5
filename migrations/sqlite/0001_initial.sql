-- Rekindle's schema on SQLite. migrations/postgres holds the same schema for PostgreSQL;
-- change both together. Ids are UUIDs as text; times are Unix milliseconds.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'free',
    -- 'none' (Free), 'active' (paid and current) or 'lapsed' (paid, not renewed).
    subscription_status TEXT NOT NULL DEFAULT 'none',
    -- When a paid subscription lapsed: Free's retention counts from here.
    subscription_lapsed_at BIGINT,
    -- Bytes of every stored object the user owns, reserved before an upload is accepted.
    storage_used_bytes BIGINT NOT NULL DEFAULT 0,
    -- The last job-event sequence number handed out for this user (see job_events.seq).
    event_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- A session per log-in; deleting the row logs that browser out even if its JWT has not expired.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE photos (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'original' (uploaded) or 'restored' (a job's result).
    kind TEXT NOT NULL,
    -- The user's own file name: metadata only, never part of a storage key.
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    -- Bytes of the image plus its thumbnail: what the photo counts against the quota.
    size_bytes BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    thumbnail_key TEXT NOT NULL,
    source_photo_id TEXT REFERENCES photos (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX photos_user ON photos (user_id, created_at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    photo_id TEXT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    -- The provider's own id, known once it accepted the job.
    provider_job_id TEXT,
    status TEXT NOT NULL,
    progress BIGINT NOT NULL DEFAULT 0,
    stage TEXT,
    error TEXT,
    -- RestoreOptions as JSON.
    options TEXT NOT NULL,
    -- SHA-256 of the secret in this job's webhook URL; the secret itself is never stored.
    webhook_token_hash TEXT NOT NULL,
    -- Where the provider left the result, while we copy it into our storage.
    output_url TEXT,
    result_photo_id TEXT REFERENCES photos (id) ON DELETE SET NULL,
    -- When the reconciler should next ask the provider, if no webhook came by then.
    next_check_at BIGINT,
    check_attempts BIGINT NOT NULL DEFAULT 0,
    -- Calls made to the provider for this job (submit, status, cancel) and webhooks received.
    provider_calls BIGINT NOT NULL DEFAULT 0,
    webhooks_received BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_photo ON jobs (photo_id, created_at);
CREATE INDEX jobs_due ON jobs (next_check_at);

-- Every change of a job, per user in gap-free order: the live stream replays from here.
CREATE TABLE job_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    job_id TEXT NOT NULL,
    -- The JobView after the change, as JSON: exactly what clients receive.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, seq)
);
