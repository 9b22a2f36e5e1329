-- Enrollment: one-time codes that let a device join a store, and each store's sync key, which
-- devices of the store use to authenticate and encrypt their links to each other.

ALTER TABLE stores ADD COLUMN sync_key TEXT;

-- A code is stored only as its BLAKE2b-256 hash. `used_at`/`used_by` are set once, by the
-- enrollment that consumes it.
CREATE TABLE enrollment_codes (
    code_hash  TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores (store_id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    TEXT
) WITHOUT ROWID;
