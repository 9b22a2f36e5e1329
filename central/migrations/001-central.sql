-- storehand-central schema 1: stores, devices, associates, catalogue, stock, orders and their
-- feed, events written back by stores, and customer notifications.

CREATE TABLE stores (
    store_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- A device's bearer token is stored only as its BLAKE2b-256 hash (hex).
CREATE TABLE devices (
    device_id     TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores (store_id),
    device_name   TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    registered_at TEXT NOT NULL
);

CREATE TABLE associates (
    store_id     TEXT NOT NULL REFERENCES stores (store_id),
    staff_id     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('associate', 'lead', 'manager')),
    pin_hash     TEXT NOT NULL,
    PRIMARY KEY (store_id, staff_id)
) WITHOUT ROWID;

-- The catalogue feed: `seq` is the cursor. A product whose content changes moves to a new,
-- higher seq, so a device reading after its cursor sees the change.
CREATE TABLE products (
    seq          INTEGER PRIMARY KEY,
    gtin14       TEXT NOT NULL UNIQUE CHECK (length(gtin14) = 14),
    printed_code TEXT NOT NULL,
    name         TEXT NOT NULL,
    brand        TEXT,
    image_url    TEXT
);

-- Each store's stock as last counted; a new count gets a new epoch.
CREATE TABLE stock_epochs (
    store_id TEXT PRIMARY KEY REFERENCES stores (store_id),
    epoch    TEXT NOT NULL,
    taken_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE stock (
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    gtin14   TEXT NOT NULL,
    on_hand  INTEGER NOT NULL,
    PRIMARY KEY (store_id, gtin14)
) WITHOUT ROWID;

-- Orders as the platform created them (`spec` is the contract's OrderSpec as JSON), and
-- whether the platform cancelled them.
CREATE TABLE orders (
    platform_order_id TEXT PRIMARY KEY,
    store_id          TEXT NOT NULL REFERENCES stores (store_id),
    order_number      TEXT NOT NULL,
    spec              TEXT NOT NULL,
    cancel_id         TEXT UNIQUE,
    cancelled_at      TEXT,
    UNIQUE (store_id, order_number)
) WITHOUT ROWID;

-- Every store's order feed; `body` is the contract's FeedBody as JSON. AUTOINCREMENT: a seq is
-- never reused, so a device's cursor never skips an entry.
CREATE TABLE feed (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id          TEXT NOT NULL REFERENCES stores (store_id),
    platform_order_id TEXT NOT NULL REFERENCES orders (platform_order_id),
    body              TEXT NOT NULL,
    appended_at       TEXT NOT NULL
);
CREATE INDEX feed_by_store ON feed (store_id, seq);

-- Events written back by stores, in arrival order. `event_id` is the idempotency key; each
-- order holds at most one event of each (one-shot) kind. `event` is the StoreEvent as JSON.
CREATE TABLE events (
    arrival           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          TEXT NOT NULL UNIQUE,
    store_id          TEXT NOT NULL REFERENCES stores (store_id),
    platform_order_id TEXT NOT NULL REFERENCES orders (platform_order_id),
    kind              TEXT NOT NULL,
    event             TEXT NOT NULL,
    via_device_id     TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    UNIQUE (platform_order_id, kind)
);

-- The customer was told the order is ready: one row an order.
CREATE TABLE notifications (
    platform_order_id TEXT PRIMARY KEY REFERENCES orders (platform_order_id),
    event_id          TEXT NOT NULL REFERENCES events (event_id),
    channel           TEXT NOT NULL,
    notified_at       TEXT NOT NULL
) WITHOUT ROWID;
