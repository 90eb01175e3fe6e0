-- Micro-CPO transactions (postgres): what the hub knows of each OCPP transaction of a hosted
-- charger, from which it produces the OCPI Session and the priced CDR.

CREATE TABLE ocpp_transactions (
    -- Also the OCPP 1.6 transactionId the hub hands to the charger.
    id BIGSERIAL PRIMARY KEY,
    charger_id TEXT NOT NULL,
    -- The transaction id as the charger knows it (1.6: the id above as text; 2.0.1: the
    -- charger's own transactionId).
    transaction_id TEXT NOT NULL,
    -- The OCPI Session id, also the CDR id.
    session_id TEXT NOT NULL UNIQUE,
    -- The hosted CPO and where the transaction runs.
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    evse_uid TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    -- OCPP connector (1.6) / EVSE (2.0.1) number.
    evse_number BIGINT NOT NULL,
    id_tag TEXT,
    -- The eMSP of the token (NULL: unknown, nobody to deliver the session to).
    emsp_country_code TEXT,
    emsp_party_id TEXT,
    -- OCPI CdrToken (JSON).
    cdr_token TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    authorization_reference TEXT,
    -- Micros since the epoch.
    started_at BIGINT NOT NULL,
    stopped_at BIGINT,
    -- Meter readings in Wh, exact decimals as text.
    meter_start_wh TEXT NOT NULL,
    meter_stop_wh TEXT,
    -- Highest 2.0.1 TransactionEvent seqNo applied.
    last_seq_no BIGINT,
    -- ACTIVE or COMPLETED (OCPI SessionStatus).
    status TEXT NOT NULL,
    stop_reason TEXT,
    -- OCPP 2.0.1 NotifyEVChargingNeeds chargingNeeds (JSON), for smart charging.
    charging_needs TEXT,
    -- Set once the CDR is made.
    cdr_id TEXT,
    -- Whether the hub saw the start (0: made up from a stop it could not match).
    seen_start BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (charger_id, transaction_id)
);
CREATE INDEX ocpp_transactions_active ON ocpp_transactions(charger_id, evse_number, status);

-- Meter samples and charging-state changes of a transaction, in the charger's time.
CREATE TABLE ocpp_meter_samples (
    id BIGSERIAL PRIMARY KEY,
    transaction_row BIGINT NOT NULL REFERENCES ocpp_transactions(id),
    ts BIGINT NOT NULL,
    -- Energy.Active.Import.Register in Wh (exact decimal text), if the sample has it.
    energy_wh TEXT,
    -- Power.Active.Import in kW and Current.Import in A, if present.
    power_kw TEXT,
    current_a TEXT,
    -- 1 charging, 0 connected but not charging, NULL unknown.
    charging BIGINT
);
CREATE INDEX ocpp_meter_samples_tx ON ocpp_meter_samples(transaction_row, ts);

-- Tokens the hub learnt through real-time authorization (AuthorizationInfo from the eMSP),
-- so that the following StartTransaction knows the eMSP and the authorization reference.
CREATE TABLE ocpp_id_tags (
    id_tag TEXT PRIMARY KEY,
    emsp_country_code TEXT NOT NULL,
    emsp_party_id TEXT NOT NULL,
    -- OCPI CdrToken (JSON).
    cdr_token TEXT NOT NULL,
    authorization_reference TEXT,
    allowed TEXT NOT NULL,
    -- AUTH_REQUEST (real-time authorization) or COMMAND (a START_SESSION/RESERVE_NOW token).
    source TEXT NOT NULL DEFAULT 'AUTH_REQUEST',
    updated_at BIGINT NOT NULL
);

-- OCPI reservations made on hosted chargers (RESERVE_NOW), so CANCEL_RESERVATION, which names
-- only the reservation, finds its charger; ocpp_id is the integer id the charger knows.
CREATE TABLE ocpp_reservations (
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    charger_id TEXT NOT NULL,
    ocpp_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (country_code, party_id, reservation_id)
);
