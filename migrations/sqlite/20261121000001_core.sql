-- Core tables of the hub (SQLite). Times are microseconds since the Unix epoch (UTC).

CREATE TABLE platforms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    status TEXT NOT NULL,
    ocpi_version TEXT,
    versions_url TEXT,
    client_token TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE party_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    role TEXT NOT NULL,
    business_details TEXT,
    last_updated INTEGER NOT NULL,
    UNIQUE (country_code, party_id, role)
);
CREATE INDEX party_roles_platform ON party_roles(platform_id);

CREATE TABLE endpoints (
    platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    role TEXT NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (platform_id, identifier, role)
);

CREATE TABLE server_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    lookup TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX server_tokens_lookup ON server_tokens(lookup);

CREATE TABLE objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    module TEXT NOT NULL,
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    last_updated INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (module, country_code, party_id, object_id)
);
CREATE INDEX objects_list ON objects(module, last_updated, seq);
CREATE INDEX objects_by_id ON objects(module, object_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    object_key TEXT NOT NULL,
    module TEXT NOT NULL,
    interface_role TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    absolute_url INTEGER NOT NULL DEFAULT 0,
    headers TEXT NOT NULL,
    body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_object ON outbox(target_platform_id, object_key, id);

CREATE TABLE callbacks (
    id TEXT PRIMARY KEY,
    requester_platform_id INTEGER NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    requester_country_code TEXT NOT NULL,
    requester_party_id TEXT NOT NULL,
    receiver_country_code TEXT NOT NULL,
    receiver_party_id TEXT NOT NULL,
    module TEXT NOT NULL,
    response_url TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
