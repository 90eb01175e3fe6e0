-- Micro-CPO (PostgreSQL): parties hosted by the hub itself and their OCPP chargers.

-- A hosted platform is a CPO party run by the hub (no OCPI connection: no client token, no
-- endpoints); it is CONNECTED for Hub Client Info as long as it exists.
ALTER TABLE platforms ADD COLUMN hosted BIGINT NOT NULL DEFAULT 0;

CREATE TABLE chargers (
    charger_id TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    -- JSON list of EVSE uids: element n-1 is OCPP connector n (1.6) / EVSE n (2.0.1).
    evse_uids TEXT NOT NULL,
    -- The last BootNotification payload (JSON) and when it came (micros).
    boot_info TEXT,
    booted_at BIGINT,
    connected BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX chargers_party ON chargers(country_code, party_id);
