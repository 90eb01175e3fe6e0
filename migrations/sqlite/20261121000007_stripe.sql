-- Stripe Connect payments (issue 5, `clearing::payments`): connected accounts, payouts and
-- collections of statements, processed webhook events, drivers' ad-hoc payments (SQLite).
--
-- Amounts: `*_e4` in units of 0.0001 as in the ledger, `*_minor` in Stripe's minor units of the
-- currency (`clearing::payments::minor`). Times are microseconds since the Unix epoch (UTC).

-- A party's Stripe side: its connected account (payouts to a CPO), and the customer and
-- payment method the hub charges (collections from an eMSP). Flags from `account.updated`.
CREATE TABLE payment_accounts (
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    stripe_account_id TEXT UNIQUE,
    customer_id TEXT,
    payment_method_id TEXT,
    details_submitted INTEGER NOT NULL DEFAULT 0,
    charges_enabled INTEGER NOT NULL DEFAULT 0,
    payouts_enabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (country_code, party_id)
);

-- Money moved for a statement: a payout to the party (`kind` = payout: a transfer to its
-- connected account, then a payout there) or a collection from it (a PaymentIntent). Written
-- in the same transaction as its ledger entry; `idempotency_key` is derived from that entry's
-- id, so a retried Stripe call after any crash is the same call. One per statement and kind.
CREATE TABLE stripe_movements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    ledger_entry_id INTEGER NOT NULL REFERENCES ledger_entries(id),
    idempotency_key TEXT NOT NULL UNIQUE,
    stripe_account_id TEXT,
    status TEXT NOT NULL,
    transfer_id TEXT,
    payout_id TEXT,
    payment_intent_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    reversal_entry_id INTEGER REFERENCES ledger_entries(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (statement_id, kind)
);
CREATE INDEX stripe_movements_status ON stripe_movements(status);

-- Webhook events processed: an event id is acted on once.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    effect TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

-- A driver's ad-hoc payment for a session: a PaymentIntent authorized (manual capture) at the
-- start, captured for the CDR's amount at the end; its ledger entry is posted at capture.
CREATE TABLE adhoc_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    authorized_minor INTEGER NOT NULL,
    captured_minor INTEGER,
    payment_method TEXT NOT NULL,
    payment_intent_id TEXT,
    status TEXT NOT NULL,
    ledger_entry_id INTEGER REFERENCES ledger_entries(id),
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (country_code, party_id, session_id)
);
