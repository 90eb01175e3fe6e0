//! The fake's state and the behaviour of each endpoint, without HTTP: a request (method, path
//! after `/v1`, the form parameters flattened as Stripe's form encoding spells them, the
//! `Stripe-Account` header) goes in; a status, a JSON body and the events it caused come out.
//!
//! Objects carry every field async-stripe requires to deserialize them (and a few more that
//! Stripe always sends), so the production client parses what the fake returns.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

/// A request as the endpoints see it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    /// The path after `/v1`, e.g. `/transfers/tr_1`.
    pub path: String,
    /// Form body (POST) or query (GET), keys as sent (`metadata[x]`, `expand[0]`).
    pub params: BTreeMap<String, String>,
    /// `Stripe-Account`: the connected account the request acts on.
    pub account: Option<String>,
}

/// What an endpoint answered.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
}

impl ApiResponse {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }
}

/// Stripe's error JSON: `{"error": {"type", "code", "message", "param"}}`.
pub fn error(status: u16, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> ApiResponse {
    let mut e = Map::new();
    e.insert("type".into(), json!(kind));
    if let Some(c) = code {
        e.insert("code".into(), json!(c));
        e.insert("doc_url".into(), json!(format!("https://stripe.com/docs/error-codes/{}", c.replace('_', "-"))));
    }
    e.insert("message".into(), json!(message));
    if let Some(p) = param {
        e.insert("param".into(), json!(p));
    }
    ApiResponse { status, body: json!({ "error": Value::Object(e) }) }
}

fn invalid(message: &str, param: Option<&str>) -> ApiResponse {
    error(400, "invalid_request_error", Some("parameter_invalid"), message, param)
}

fn missing(param: &str) -> ApiResponse {
    error(400, "invalid_request_error", Some("parameter_missing"), &format!("Missing required param: {param}."), Some(param))
}

fn no_such(kind: &str, id: &str, param: &str) -> ApiResponse {
    error(404, "invalid_request_error", Some("resource_missing"), &format!("No such {kind}: '{id}'"), Some(param))
}

/// An event the fake emits (and will POST, signed, to the webhook URL).
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub kind: String,
    /// The JSON payload exactly as sent.
    pub payload: String,
}

/// Stripe's currencies whose API amounts have no decimals.
pub const ZERO_DECIMAL: &[&str] = &["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];
/// Stripe's three-decimal currencies: amounts must end in 0.
pub const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// Stripe's amount rules the fake enforces (see `clearing::payments::minor` for the same rules
/// on the hub's side): three-decimal amounts end in 0; ISK amounts are whole krónur (×100);
/// HUF/TWD payouts are whole units (×100).
fn check_amount(amount: i64, currency: &str, payout: bool) -> Result<(), ApiResponse> {
    if amount <= 0 {
        return Err(invalid("This value must be greater than or equal to 1.", Some("amount")));
    }
    if THREE_DECIMAL.contains(&currency) && amount % 10 != 0 {
        return Err(error(400, "invalid_request_error", Some("invalid_charge_amount_no_decimal_compatible"),
            &format!("Invalid amount. Amounts in {} must have 0 as their last digit.", currency.to_uppercase()), Some("amount")));
    }
    let whole_units = currency == "isk" || (payout && matches!(currency, "huf" | "twd"));
    if whole_units && amount % 100 != 0 {
        return Err(error(400, "invalid_request_error", Some("invalid_charge_amount_no_decimal_compatible"),
            &format!("Invalid amount. Currency {} amounts must be evenly divisible by 100.", currency.to_uppercase()), Some("amount")));
    }
    Ok(())
}

/// Everything the fake knows.
#[derive(Debug, Default)]
pub struct State {
    pub base_url: String,
    seq: u64,
    now: i64,
    pub accounts: BTreeMap<String, Value>,
    /// Transfers in creation order.
    pub transfers: Vec<Value>,
    /// Payouts by id, with the account they were made on (`None`: the platform).
    pub payouts: BTreeMap<String, (Option<String>, Value)>,
    pub payment_intents: BTreeMap<String, Value>,
    /// Connected accounts' available balance per currency (credited by transfers).
    pub balances: HashMap<(String, String), i64>,
    /// Every event emitted, in order.
    pub events: Vec<Event>,
}

impl State {
    pub fn new(base_url: String) -> Self {
        Self { base_url, ..Default::default() }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}_fake{:08}", self.seq)
    }

    fn now(&mut self) -> i64 {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        // Strictly increasing, so list order and `created` agree.
        self.now = t.max(self.now);
        self.now
    }

    fn emit(&mut self, kind: &str, object: &Value, account: Option<&str>, idempotency_key: Option<&str>) {
        let id = self.id("evt");
        let created = self.now();
        let mut ev = json!({
            "id": id, "object": "event", "api_version": "2026-09-30.endive", "created": created,
            "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
            "request": {"id": Value::Null, "idempotency_key": idempotency_key}, "type": kind,
        });
        if let Some(a) = account {
            ev["account"] = json!(a);
        }
        self.events.push(Event { id, kind: kind.to_string(), payload: ev.to_string() });
    }

    /// Completes a connected account's onboarding (what the partner does behind the account
    /// link): details submitted, charges and payouts enabled; emits `account.updated`.
    pub fn complete_onboarding(&mut self, account: &str) -> Option<Value> {
        let acct = self.accounts.get_mut(account)?;
        acct["details_submitted"] = json!(true);
        acct["charges_enabled"] = json!(true);
        acct["payouts_enabled"] = json!(true);
        acct["capabilities"] = json!({"transfers": "active"});
        let acct = acct.clone();
        self.emit("account.updated", &acct, Some(account), None);
        Some(acct)
    }

    /// Runs one API request. `idempotency_key` only goes into the events' `request` field.
    pub fn handle(&mut self, req: &ApiRequest, idempotency_key: Option<&str>) -> ApiResponse {
        if let Some(a) = &req.account
            && !self.accounts.contains_key(a)
        {
            return error(403, "invalid_request_error", Some("account_invalid"),
                &format!("The provided key does not have access to account '{a}' (or that account does not exist)."), None);
        }
        let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        let r = match (req.method.as_str(), segs.as_slice()) {
            ("POST", ["accounts"]) => self.create_account(req),
            ("GET", ["accounts", id]) => self.accounts.get(*id).cloned().map(ApiResponse::ok).ok_or_else(|| no_such("account", id, "account")),
            ("POST", ["account_links"]) => self.create_account_link(req),
            ("POST", ["transfers"]) => self.create_transfer(req, idempotency_key),
            ("GET", ["transfers"]) => self.list_transfers(req),
            ("GET", ["transfers", id]) => {
                self.transfers.iter().find(|t| t["id"] == *id).cloned().map(ApiResponse::ok).ok_or_else(|| no_such("transfer", id, "id"))
            }
            ("POST", ["payouts"]) => self.create_payout(req, idempotency_key),
            ("GET", ["payouts", id]) => match self.payouts.get(*id) {
                Some((acct, p)) if *acct == req.account => Ok(ApiResponse::ok(p.clone())),
                _ => Err(no_such("payout", id, "id")),
            },
            ("GET", ["balance"]) => self.balance(req),
            ("POST", ["payment_intents"]) => self.create_payment_intent(req, idempotency_key),
            ("GET", ["payment_intents", id]) => {
                self.payment_intents.get(*id).cloned().map(ApiResponse::ok).ok_or_else(|| no_such("payment_intent", id, "intent"))
            }
            ("POST", ["payment_intents", id, action]) => self.payment_intent_action(id, action, req, idempotency_key),
            _ => Err(error(404, "invalid_request_error", None, &format!("Unrecognized request URL ({} /v1{}).", req.method, req.path), None)),
        };
        match r {
            Ok(x) | Err(x) => x,
        }
    }
}

type Outcome = Result<ApiResponse, ApiResponse>;

fn metadata(p: &BTreeMap<String, String>) -> Value {
    let mut m = Map::new();
    for (k, v) in p {
        if let Some(inner) = k.strip_prefix("metadata[").and_then(|r| r.strip_suffix(']')) {
            m.insert(inner.to_string(), json!(v));
        }
    }
    Value::Object(m)
}

fn amount_param(p: &BTreeMap<String, String>, name: &str) -> Result<i64, ApiResponse> {
    let s = p.get(name).ok_or_else(|| missing(name))?;
    s.parse::<i64>().map_err(|_| invalid(&format!("Invalid integer: {s}"), Some(name)))
}

fn currency_param(p: &BTreeMap<String, String>) -> Result<String, ApiResponse> {
    let c = p.get("currency").ok_or_else(|| missing("currency"))?;
    if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(invalid(&format!("Invalid currency: {c}. Stripe currently supports these currencies: ... (lowercase ISO codes)"), Some("currency")));
    }
    Ok(c.clone())
}

fn flag(p: &BTreeMap<String, String>, name: &str) -> bool {
    p.get(name).is_some_and(|v| v == "true")
}

impl State {
    fn create_account(&mut self, req: &ApiRequest) -> Outcome {
        let p = &req.params;
        let kind = p.get("type").cloned().unwrap_or_else(|| "standard".into());
        if !matches!(kind.as_str(), "express" | "standard" | "custom") {
            return Err(invalid("Invalid type: must be one of custom, express, or standard", Some("type")));
        }
        let id = self.id("acct");
        let created = self.now();
        let acct = json!({
            "id": id, "object": "account", "type": kind, "country": p.get("country").cloned().unwrap_or_else(|| "NL".into()),
            "email": p.get("email"), "business_type": p.get("business_type"), "created": created,
            "charges_enabled": false, "payouts_enabled": false, "details_submitted": false,
            "default_currency": p.get("default_currency").cloned().unwrap_or_else(|| "eur".into()),
            "metadata": metadata(p), "capabilities": {"transfers": "inactive"},
        });
        self.accounts.insert(id, acct.clone());
        Ok(ApiResponse::ok(acct))
    }

    fn create_account_link(&mut self, req: &ApiRequest) -> Outcome {
        let p = &req.params;
        let account = p.get("account").ok_or_else(|| missing("account"))?;
        if !self.accounts.contains_key(account) {
            return Err(no_such("account", account, "account"));
        }
        let kind = p.get("type").ok_or_else(|| missing("type"))?;
        if !matches!(kind.as_str(), "account_onboarding" | "account_update") {
            return Err(invalid("Invalid type: must be one of account_onboarding or account_update", Some("type")));
        }
        for needed in ["refresh_url", "return_url"] {
            if !p.contains_key(needed) {
                return Err(missing(needed));
            }
        }
        let created = self.now();
        let token = self.id("link");
        Ok(ApiResponse::ok(json!({
            "object": "account_link", "created": created, "expires_at": created + 300,
            "url": format!("{}connect/onboarding/{account}?link={token}", self.base_url),
        })))
    }

    fn create_transfer(&mut self, req: &ApiRequest, key: Option<&str>) -> Outcome {
        let p = &req.params;
        let amount = amount_param(p, "amount")?;
        let currency = currency_param(p)?;
        let dest = p.get("destination").ok_or_else(|| missing("destination"))?.clone();
        check_amount(amount, &currency, false)?;
        let Some(acct) = self.accounts.get(&dest) else { return Err(no_such("destination", &dest, "destination")) };
        if acct["capabilities"]["transfers"] != "active" {
            return Err(error(400, "invalid_request_error", Some("insufficient_capabilities_for_transfer"),
                "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments",
                Some("destination")));
        }
        let id = self.id("tr");
        let created = self.now();
        let payment = self.id("py");
        let t = json!({
            "id": id, "object": "transfer", "amount": amount, "amount_reversed": 0, "balance_transaction": self.id("txn"),
            "created": created, "currency": currency, "description": p.get("description"), "destination": dest,
            "destination_payment": payment, "livemode": false, "metadata": metadata(p),
            "reversals": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/transfers/{id}/reversals")},
            "reversed": false, "source_transaction": Value::Null, "source_type": "card", "transfer_group": p.get("transfer_group"),
        });
        *self.balances.entry((dest, currency)).or_default() += amount;
        self.transfers.push(t.clone());
        self.emit("transfer.created", &t, None, key);
        Ok(ApiResponse::ok(t))
    }

    fn list_transfers(&mut self, req: &ApiRequest) -> Outcome {
        let p = &req.params;
        let limit = p.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(10).clamp(1, 100);
        // Newest first, as Stripe lists.
        let mut all: Vec<&Value> = self
            .transfers
            .iter()
            .rev()
            .filter(|t| p.get("destination").is_none_or(|d| t["destination"] == *d))
            .filter(|t| p.get("transfer_group").is_none_or(|g| t["transfer_group"] == *g))
            .collect();
        if let Some(after) = p.get("starting_after") {
            match all.iter().position(|t| t["id"] == *after) {
                Some(i) => all.drain(..=i).for_each(drop),
                None => return Err(no_such("transfer", after, "starting_after")),
            }
        }
        let has_more = all.len() > limit;
        let data: Vec<Value> = all.into_iter().take(limit).cloned().collect();
        Ok(ApiResponse::ok(json!({"object": "list", "data": data, "has_more": has_more, "url": "/v1/transfers"})))
    }

    fn create_payout(&mut self, req: &ApiRequest, key: Option<&str>) -> Outcome {
        let p = &req.params;
        let amount = amount_param(p, "amount")?;
        let currency = currency_param(p)?;
        check_amount(amount, &currency, true)?;
        if let Some(acct) = &req.account {
            if self.accounts.get(acct).is_some_and(|a| a["payouts_enabled"] != true) {
                return Err(error(400, "invalid_request_error", Some("payouts_not_allowed"), "Payouts are not enabled for this account.", None));
            }
            let bal = self.balances.entry((acct.clone(), currency.clone())).or_default();
            if *bal < amount {
                return Err(error(400, "invalid_request_error", Some("balance_insufficient"),
                    "You have insufficient funds in your Stripe account for this transfer. Your card balance is too low.", None));
            }
            *bal -= amount;
        }
        let id = self.id("po");
        let created = self.now();
        let mut po = json!({
            "id": id, "object": "payout", "amount": amount, "arrival_date": created + 86_400, "automatic": false,
            "balance_transaction": self.id("txn"), "created": created, "currency": currency, "description": p.get("description"),
            "destination": Value::Null, "livemode": false, "metadata": metadata(p), "method": p.get("method").cloned().unwrap_or_else(|| "standard".into()),
            "reconciliation_status": "not_applicable", "source_type": p.get("source_type").cloned().unwrap_or_else(|| "card".into()),
            "statement_descriptor": p.get("statement_descriptor"), "status": "pending", "type": "bank_account",
        });
        let response = po.clone();
        // The bank accepts it at once in the fake: `payout.paid` follows the creation.
        po["status"] = json!("paid");
        self.payouts.insert(id, (req.account.clone(), po.clone()));
        self.emit("payout.paid", &po, req.account.as_deref(), key);
        Ok(ApiResponse::ok(response))
    }

    fn balance(&mut self, req: &ApiRequest) -> Outcome {
        let acct = req.account.clone().unwrap_or_default();
        let available: Vec<Value> = self
            .balances
            .iter()
            .filter(|((a, _), _)| *a == acct)
            .map(|((_, c), amount)| json!({"amount": amount, "currency": c, "source_types": {"card": amount}}))
            .collect();
        Ok(ApiResponse::ok(json!({"object": "balance", "available": available, "pending": [], "livemode": false})))
    }

    fn create_payment_intent(&mut self, req: &ApiRequest, key: Option<&str>) -> Outcome {
        let p = &req.params;
        let amount = amount_param(p, "amount")?;
        let currency = currency_param(p)?;
        check_amount(amount, &currency, false)?;
        let capture = p.get("capture_method").cloned().unwrap_or_else(|| "automatic".into());
        if !matches!(capture.as_str(), "automatic" | "automatic_async" | "manual") {
            return Err(invalid("Invalid capture_method: must be one of automatic, automatic_async, or manual", Some("capture_method")));
        }
        let id = self.id("pi");
        let created = self.now();
        let pi = json!({
            "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0, "amount_received": 0,
            "capture_method": capture, "confirmation_method": "automatic", "created": created, "currency": currency,
            "customer": p.get("customer"), "description": p.get("description"), "livemode": false, "metadata": metadata(p),
            "payment_method": p.get("payment_method"), "payment_method_types": ["card"],
            "status": if p.contains_key("payment_method") { "requires_confirmation" } else { "requires_payment_method" },
            "client_secret": format!("{id}_secret_fake"), "last_payment_error": Value::Null,
        });
        self.payment_intents.insert(id.clone(), pi);
        if flag(p, "confirm") {
            return self.confirm(&id, p, key);
        }
        Ok(ApiResponse::ok(self.payment_intents[&id].clone()))
    }

    /// Confirms a PaymentIntent with its payment method. Stripe's test payment methods decide:
    /// `pm_card_chargeDeclined` / `pm_card_visa_chargeDeclined` are declined, others succeed.
    fn confirm(&mut self, id: &str, p: &BTreeMap<String, String>, key: Option<&str>) -> Outcome {
        let mut pi = self.payment_intents[id].clone();
        if let Some(pm) = p.get("payment_method") {
            pi["payment_method"] = json!(pm);
        }
        if !matches!(pi["status"].as_str(), Some("requires_confirmation" | "requires_payment_method")) {
            return Err(error(400, "invalid_request_error", Some("payment_intent_unexpected_state"),
                &format!("This PaymentIntent's status is {}; it cannot be confirmed.", pi["status"].as_str().unwrap_or("")), None));
        }
        let Some(pm) = pi["payment_method"].as_str().map(str::to_string) else {
            return Err(error(400, "invalid_request_error", Some("payment_intent_unexpected_state"),
                "You cannot confirm this PaymentIntent because it's missing a payment method.", None));
        };
        if pm.contains("chargeDeclined") {
            let err = json!({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."});
            pi["status"] = json!("requires_payment_method");
            pi["last_payment_error"] = err.clone();
            self.payment_intents.insert(id.to_string(), pi.clone());
            self.emit("payment_intent.payment_failed", &pi, None, key);
            let mut e = err;
            e["payment_intent"] = pi;
            return Err(ApiResponse { status: 402, body: json!({"error": e}) });
        }
        let amount = pi["amount"].clone();
        if pi["capture_method"] == "manual" {
            pi["status"] = json!("requires_capture");
            pi["amount_capturable"] = amount;
            self.payment_intents.insert(id.to_string(), pi.clone());
            self.emit("payment_intent.amount_capturable_updated", &pi, None, key);
        } else {
            pi["status"] = json!("succeeded");
            pi["amount_received"] = amount;
            self.payment_intents.insert(id.to_string(), pi.clone());
            self.emit("payment_intent.succeeded", &pi, None, key);
        }
        Ok(ApiResponse::ok(pi))
    }

    fn payment_intent_action(&mut self, id: &str, action: &str, req: &ApiRequest, key: Option<&str>) -> Outcome {
        let Some(mut pi) = self.payment_intents.get(id).cloned() else { return Err(no_such("payment_intent", id, "intent")) };
        let status = pi["status"].as_str().unwrap_or("").to_string();
        match action {
            "confirm" => self.confirm(id, &req.params, key),
            "capture" => {
                if status != "requires_capture" {
                    return Err(error(400, "invalid_request_error", Some("payment_intent_unexpected_state"),
                        &format!("This PaymentIntent could not be captured because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture."), None));
                }
                let capturable = pi["amount_capturable"].as_i64().unwrap_or(0);
                let amount = match req.params.get("amount_to_capture") {
                    Some(_) => amount_param(&req.params, "amount_to_capture")?,
                    None => capturable,
                };
                let currency = pi["currency"].as_str().unwrap_or("").to_string();
                check_amount(amount, &currency, false).map_err(|_| invalid("Invalid amount_to_capture.", Some("amount_to_capture")))?;
                if amount > capturable {
                    return Err(error(400, "invalid_request_error", Some("amount_too_large"),
                        &format!("The amount_to_capture ({amount}) is greater than the amount capturable ({capturable})."), Some("amount_to_capture")));
                }
                pi["status"] = json!("succeeded");
                pi["amount_received"] = json!(amount);
                pi["amount_capturable"] = json!(0);
                self.payment_intents.insert(id.to_string(), pi.clone());
                self.emit("payment_intent.succeeded", &pi, None, key);
                Ok(ApiResponse::ok(pi))
            }
            "cancel" => {
                if matches!(status.as_str(), "succeeded" | "canceled") {
                    return Err(error(400, "invalid_request_error", Some("payment_intent_unexpected_state"),
                        &format!("You cannot cancel this PaymentIntent because it has a status of {status}."), None));
                }
                pi["status"] = json!("canceled");
                pi["amount_capturable"] = json!(0);
                pi["cancellation_reason"] = req.params.get("cancellation_reason").map(|r| json!(r)).unwrap_or(Value::Null);
                self.payment_intents.insert(id.to_string(), pi.clone());
                self.emit("payment_intent.canceled", &pi, None, key);
                Ok(ApiResponse::ok(pi))
            }
            _ => Err(error(404, "invalid_request_error", None, &format!("Unrecognized request URL (POST /v1/payment_intents/{id}/{action})."), None)),
        }
    }
}
