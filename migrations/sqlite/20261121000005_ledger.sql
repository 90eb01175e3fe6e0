-- Clearing (issue 5): hub fee contracts, CDR settlements, the double-entry ledger, settlement
-- periods and statements (SQLite).
--
-- Money and energy are stored as integers in units of 0.0001 (columns `*_e4`): exact, the four
-- decimals of OCPI, and summed by SQL identically on both back ends (sqlx binds rust_decimal only
-- on PostgreSQL). Times are microseconds since the Unix epoch (UTC).

-- The hub fee of a party's contract, per currency: fixed + percent of each CDR's total excl. VAT.
CREATE TABLE fee_contracts (
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    fixed_e4 INTEGER NOT NULL,
    percent_e4 INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (country_code, party_id, currency)
);

-- One row per CDR copy the clearing has looked at: settled (it has a ledger entry) or held.
-- The unique key makes settling a CDR idempotent.
CREATE TABLE cdr_settlements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    cdr_id TEXT NOT NULL,
    object_seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    hold_reason TEXT,
    emsp_country_code TEXT NOT NULL,
    emsp_party_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    credit INTEGER NOT NULL DEFAULT 0,
    credit_reference_id TEXT,
    kwh_e4 INTEGER NOT NULL,
    net_e4 INTEGER NOT NULL,
    vat_e4 INTEGER NOT NULL,
    gross_e4 INTEGER NOT NULL,
    rated_e4 INTEGER,
    cpo_fee_e4 INTEGER NOT NULL DEFAULT 0,
    emsp_fee_e4 INTEGER NOT NULL DEFAULT 0,
    effective_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (country_code, party_id, cdr_id)
);
CREATE INDEX cdr_settlements_status ON cdr_settlements(status, effective_at);

-- Journal entries: append-only. `reference` is unique (what the entry is for, e.g.
-- `cdr/NL/ABC/123`), so an entry is posted once; payouts will derive idempotency keys from `id`.
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    settlement_id INTEGER REFERENCES cdr_settlements(id),
    reverses_entry_id INTEGER REFERENCES ledger_entries(id),
    effective_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ledger_entries_settlement ON ledger_entries(settlement_id);
CREATE INDEX ledger_entries_effective ON ledger_entries(effective_at);

-- Lines of an entry: debit positive, credit negative; the lines of an entry sum to zero per
-- currency (checked by the code that posts them, inside the transaction).
CREATE TABLE ledger_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id INTEGER NOT NULL REFERENCES ledger_entries(id),
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL
);
CREATE INDEX ledger_lines_entry ON ledger_lines(entry_id);
CREATE INDEX ledger_lines_account ON ledger_lines(account, currency);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_lines_no_update BEFORE UPDATE ON ledger_lines
BEGIN SELECT RAISE(ABORT, 'ledger lines are append-only'); END;
CREATE TRIGGER ledger_lines_no_delete BEFORE DELETE ON ledger_lines
BEGIN SELECT RAISE(ABORT, 'ledger lines are append-only'); END;

-- A closed settlement period [period_from, period_to).
CREATE TABLE settlement_periods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period_from INTEGER NOT NULL,
    period_to INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    UNIQUE (period_from, period_to)
);

-- One statement per period, party and currency. `*_balance_e4`: what the party owes the hub
-- (negative: what the hub owes the party).
CREATE TABLE statements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id INTEGER NOT NULL REFERENCES settlement_periods(id),
    country_code TEXT NOT NULL,
    party_id TEXT NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    opening_balance_e4 INTEGER NOT NULL,
    cdr_count INTEGER NOT NULL,
    kwh_e4 INTEGER NOT NULL,
    net_e4 INTEGER NOT NULL,
    vat_e4 INTEGER NOT NULL,
    gross_e4 INTEGER NOT NULL,
    fees_e4 INTEGER NOT NULL,
    credit_count INTEGER NOT NULL,
    credits_e4 INTEGER NOT NULL,
    held_count INTEGER NOT NULL,
    held_e4 INTEGER NOT NULL,
    movement_e4 INTEGER NOT NULL,
    closing_balance_e4 INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (period_id, country_code, party_id, currency)
);
CREATE INDEX statements_account ON statements(account, currency, period_id);

-- Which statement each ledger line on a party's account is in: each line in exactly one.
CREATE TABLE statement_items (
    line_id INTEGER PRIMARY KEY REFERENCES ledger_lines(id),
    statement_id INTEGER NOT NULL REFERENCES statements(id)
);
CREATE INDEX statement_items_statement ON statement_items(statement_id);
