-- The device replica, version 1.
--
-- Automerge documents are the truth for everything the store replicates; the tables marked
-- "query table" are derived from them and written in the same transaction as the document.
-- Tables marked "central replica" hold what central owns and the device only reads.

-- This device's identity and its credentials at central (one row).
CREATE TABLE device (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    store_id    TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    device_name TEXT NOT NULL,
    central_url TEXT NOT NULL,
    token       TEXT NOT NULL,
    sync_key    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Small named values: feed cursors, last sync time.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Automerge documents, stored as a snapshot followed by incremental chunks; a load reads them
-- in `seq` order. `version` increases with every write so a cached copy can tell it is stale.
CREATE TABLE docs (
    doc_id  TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    heads   TEXT NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE doc_chunks (
    doc_id TEXT NOT NULL REFERENCES docs (doc_id),
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;

-- Central replica: the catalogue, searched with FTS5.
CREATE TABLE products (
    rowid        INTEGER PRIMARY KEY,
    gtin14       TEXT NOT NULL UNIQUE,
    printed_code TEXT NOT NULL,
    name         TEXT NOT NULL,
    brand        TEXT,
    image_url    TEXT
);

CREATE VIRTUAL TABLE products_fts USING fts5 (
    name, brand,
    content = 'products', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Central replica: associates with their PIN hashes, verified offline.
CREATE TABLE associates (
    staff_id     TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL,
    pin_hash     TEXT NOT NULL
) WITHOUT ROWID;

-- Local only: wrong-PIN counting for lockout. Never replicated.
CREATE TABLE sign_in_failures (
    staff_id     TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until TEXT
) WITHOUT ROWID;

-- Query table of order documents.
CREATE TABLE orders (
    doc_id            TEXT PRIMARY KEY,
    platform_order_id TEXT NOT NULL UNIQUE,
    order_number      TEXT NOT NULL,
    customer_name     TEXT NOT NULL,
    pickup_code       TEXT NOT NULL,
    fulfilment        TEXT NOT NULL,
    status            TEXT NOT NULL,
    placed_at         TEXT NOT NULL,
    units_ordered     INTEGER NOT NULL,
    units_picked      INTEGER NOT NULL,
    bin               TEXT,
    cancel_reason     TEXT,
    heads             TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX orders_by_status ON orders (status, placed_at);
CREATE INDEX orders_by_number ON orders (order_number);
CREATE INDEX orders_by_pickup_code ON orders (pickup_code);

-- Query table: open demand per product, for "available".
CREATE TABLE order_lines (
    doc_id   TEXT NOT NULL,
    line_id  TEXT NOT NULL,
    gtin14   TEXT NOT NULL,
    ordered  INTEGER NOT NULL,
    picked   INTEGER NOT NULL,
    open     INTEGER NOT NULL,
    PRIMARY KEY (doc_id, line_id)
) WITHOUT ROWID;

CREATE INDEX order_lines_by_gtin ON order_lines (gtin14);

-- Query table of the stock document: on hand per product.
CREATE TABLE stock (
    gtin14  TEXT PRIMARY KEY,
    on_hand INTEGER NOT NULL
) WITHOUT ROWID;

-- Query table of write-back events, derived from the order documents' events and acks.
CREATE TABLE outbox (
    event_id          TEXT PRIMARY KEY,
    doc_id            TEXT NOT NULL,
    platform_order_id TEXT NOT NULL,
    kind              TEXT NOT NULL,
    body              TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'duplicate', 'rejected')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    acked_at          TEXT
) WITHOUT ROWID;

CREATE INDEX outbox_pending ON outbox (state, event_id);

-- Feed items and messages that could not be applied, kept for support instead of stopping the
-- rest.
CREATE TABLE quarantine (
    id       INTEGER PRIMARY KEY,
    source   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    payload  TEXT NOT NULL,
    at       TEXT NOT NULL
);
