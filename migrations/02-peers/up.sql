-- The device replica, version 2: the store's other devices as sync peers.
--
-- Peer sync (`src/peer/`) runs the Automerge sync protocol per document over one session per
-- connection. What a session learns that is worth keeping across reconnects is kept here; every
-- new session starts from it and forgets everything in flight.

-- Devices of this store this device has met, for showing who was seen and when each last
-- synced. Local only: never replicated.
CREATE TABLE peers (
    peer_id        TEXT PRIMARY KEY,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    last_synced_at TEXT,
    last_outcome   TEXT
) WITHOUT ROWID;

-- Per peer and document: the Automerge sync state as `sync::State::encode` writes it, which is
-- the heads both devices are known to share, so a reconnect sends only what is missing. Written
-- in the transaction that applied the changes it describes. Local only.
CREATE TABLE peer_doc_state (
    peer_id TEXT NOT NULL,
    doc_id  TEXT NOT NULL,
    state   BLOB NOT NULL,
    PRIMARY KEY (peer_id, doc_id)
) WITHOUT ROWID;
