//! A small stateful fake of the Stripe HTTP API, for tests and manual runs (the `stripe-fake`
//! binary): the hub's production Stripe client (async-stripe) is pointed at it with
//! `ClientBuilder::url(..)`.
//!
//! What it models, on a real socket:
//! - `Authorization: Bearer <secret key>` (401 otherwise), `Stripe-Account` for requests made on a
//!   connected account, form-encoded bodies as Stripe takes them, Stripe's error JSON
//!   (`{"error": {"type", "code", "message", "param"}}`) and status codes.
//! - Endpoints ([`state`]): accounts (create, retrieve), account links (create; opening the
//!   link's URL completes the onboarding), transfers (create, retrieve, list), payouts (create,
//!   also on a connected account against the balance transfers gave it; retrieve), balance,
//!   payment intents (create with `capture_method=manual`, confirm, capture with
//!   `amount_to_capture`, cancel, retrieve).
//! - `Idempotency-Key` on POST, scoped per account as Stripe does: the same key with the same
//!   parameters replays the stored response with `Idempotent-Replayed: true`; with other
//!   parameters (or another endpoint) it is refused with 400 `idempotency_error`.
//! - Events (`transfer.created`, `payout.paid`, `payment_intent.amount_capturable_updated`,
//!   `payment_intent.succeeded`, `payment_intent.canceled`, `payment_intent.payment_failed`,
//!   `account.updated`) POSTed in order to the webhook URL with a
//!   `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{payload}")>` header;
//!   [`FakeStripe::replay_events`] sends every past event again.
//! - Failure injection ([`FakeStripe::inject`]): the next N matching requests fail with a 500
//!   before anything is done ([`Failure::Before500`]), or are carried out and then answered
//!   with a cut, unreadable body ([`Failure::DropAfterWork`]: "the hub crashed or lost the
//!   line after Stripe did it").
//!
//! What it does not model: see `docs/stripe.md` (no platform balance, no real card network, no
//! asynchronous payout failures, a subset of parameters checked).

pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use serde_json::Value;

pub use state::{ApiRequest, ApiResponse, Event, State};

/// How the fake is set up.
#[derive(Clone)]
pub struct FakeConfig {
    /// The secret key clients must send as `Authorization: Bearer ...`.
    pub secret_key: String,
    /// Where events are POSTed; `None`: events are only recorded.
    pub webhook_url: Option<String>,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: String,
    /// Address to listen on; port 0 picks a free one.
    pub listen: String,
}

impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("secret_key", &"<redacted>")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"<redacted>")
            .field("listen", &self.listen)
            .finish()
    }
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            secret_key: "sk_test_fake_0123456789".into(),
            webhook_url: None,
            webhook_secret: "whsec_fake_0123456789".into(),
            listen: "127.0.0.1:0".into(),
        }
    }
}

/// A failure to inject into the next matching requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answer 500 `api_error` without doing anything (nothing stored for the idempotency key).
    Before500,
    /// Do the work (and store the result for the idempotency key), then answer with half of
    /// the JSON body: the client never learns the result, as if the line dropped mid-answer.
    DropAfterWork,
}

#[derive(Debug)]
struct Injection {
    failure: Failure,
    path_prefix: Option<String>,
    remaining: u32,
}

/// A stored idempotent result.
#[derive(Debug, Clone)]
struct Stored {
    method: String,
    path: String,
    params: BTreeMap<String, String>,
    response: ApiResponse,
}

/// One webhook delivery attempt: the event and the HTTP status the endpoint answered (`None`:
/// no answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub status: Option<u16>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    idempotency: HashMap<(String, String), Stored>,
    injections: Vec<Injection>,
    deliveries: Vec<Delivery>,
    webhook_url: Option<String>,
    requests: u64,
}

struct Shared {
    secret_key: String,
    webhook_secret: String,
    inner: Mutex<Inner>,
    queue: tokio::sync::mpsc::UnboundedSender<Event>,
    in_flight: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (each change is one statement).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(&self, events: Vec<Event>) {
        for e in events {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            if self.queue.send(e).is_err() {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// The `Stripe-Signature` header value for `payload` signed with `secret` at `t` (Unix seconds).
pub fn signature_header(secret: &str, payload: &str, t: i64) -> String {
    let mut mac = hmac::Hmac::<sha2_011::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A running fake. Stopped when dropped.
pub struct FakeStripe {
    url: String,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeStripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeStripe").field("url", &self.url).finish_non_exhaustive()
    }
}

impl FakeStripe {
    /// Starts the fake on its own thread (with its own actix system), so it serves whatever
    /// runtime the caller uses.
    pub fn start(config: FakeConfig) -> std::io::Result<FakeStripe> {
        // reqwest (webhook deliveries) is built without a default crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = std::net::TcpListener::bind(&config.listen)?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}/");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            secret_key: config.secret_key.clone(),
            webhook_secret: config.webhook_secret.clone(),
            inner: Mutex::new(Inner {
                state: State::new(url.clone()),
                idempotency: HashMap::new(),
                injections: Vec::new(),
                deliveries: Vec::new(),
                webhook_url: config.webhook_url.clone(),
                requests: 0,
            }),
            queue: tx,
            in_flight: AtomicUsize::new(0),
        });
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new().name(format!("stripe-fake-{}", addr.port())).spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                actix_web::rt::spawn(deliver(for_thread.clone(), rx));
                let data = web::Data::from(for_thread);
                let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(api)))
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .listen(listener);
                match server {
                    Ok(s) => {
                        let s = s.run();
                        let _ = started_tx.send(Ok(s.handle()));
                        let _ = s.await;
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            });
        })?;
        let server = started_rx.recv().map_err(|_| std::io::Error::other("stripe-fake thread ended before starting"))??;
        Ok(FakeStripe { url, shared, server, thread: Some(thread) })
    }

    /// Base URL for `ClientBuilder::url` (ends with `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// Where events go from now on (`None`: nowhere).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.lock().webhook_url = url;
    }

    /// The next `count` requests whose path (e.g. `/v1/transfers`) starts with `path_prefix`
    /// (any request: `None`) fail as `failure` says.
    pub fn inject(&self, failure: Failure, path_prefix: Option<&str>, count: u32) {
        self.shared.lock().injections.push(Injection { failure, path_prefix: path_prefix.map(str::to_string), remaining: count });
    }

    /// Reads the state (for assertions).
    pub fn with_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.shared.lock().state)
    }

    /// Every transfer, oldest first.
    pub fn transfers(&self) -> Vec<Value> {
        self.with_state(|s| s.transfers.clone())
    }

    /// Every event emitted so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.with_state(|s| s.events.clone())
    }

    /// Requests served (all endpoints, failures included).
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }

    /// Completes a connected account's onboarding, as a partner finishing the account link
    /// does (emits `account.updated`). `false` if there is no such account.
    pub fn complete_onboarding(&self, account: &str) -> bool {
        let events = {
            let mut inner = self.shared.lock();
            let before = inner.state.events.len();
            if inner.state.complete_onboarding(account).is_none() {
                return false;
            }
            inner.state.events[before..].to_vec()
        };
        self.shared.enqueue(events);
        true
    }

    /// Sends every past event again, in the original order (Stripe retries and replays).
    pub fn replay_events(&self) {
        let events = self.events();
        self.shared.enqueue(events);
    }

    /// Waits until every queued event has been delivered (or failed to be).
    pub async fn flush(&self) {
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        // Stopping the server ends the thread's `block_on`. Awaited on a thread of its own: drop
        // may run inside the caller's runtime, where blocking on a future is not allowed.
        let handle = self.server.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(handle.stop(false));
            }
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Delivers events one at a time, in order, to the webhook URL of the moment.
async fn deliver(shared: Arc<Shared>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>) {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().ok();
    while let Some(event) = rx.recv().await {
        let url = shared.lock().webhook_url.clone();
        if let (Some(url), Some(client)) = (url, &client) {
            let header = signature_header(&shared.webhook_secret, &event.payload, unix_now());
            let status = client
                .post(&url)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("Stripe-Signature", header)
                .body(event.payload.clone())
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            shared.lock().deliveries.push(Delivery { event_id: event.id.clone(), event_type: event.kind.clone(), status });
        }
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn parse_params(s: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(s).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn respond(r: &ApiResponse, request_id: &str, key: Option<&str>, replayed: bool) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::build(actix_web::http::StatusCode::from_u16(r.status).unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR));
    b.insert_header(("Request-Id", request_id.to_string()));
    b.insert_header(("Stripe-Version", "2026-09-30.endive"));
    if let Some(k) = key {
        b.insert_header(("Idempotency-Key", k.to_string()));
    }
    if replayed {
        b.insert_header(("Idempotent-Replayed", "true"));
    }
    b
}

async fn api(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_string();
    let method = req.method().as_str().to_string();
    // The partner opening an account link: the onboarding is done.
    if method == "GET"
        && let Some(acct) = path.strip_prefix("/connect/onboarding/")
    {
        let acct = acct.to_string();
        let (ok, events) = {
            let mut inner = shared.lock();
            let before = inner.state.events.len();
            let ok = inner.state.complete_onboarding(&acct).is_some();
            let events = inner.state.events[before..].to_vec();
            (ok, events)
        };
        shared.enqueue(events);
        return if ok { HttpResponse::Ok().body(format!("onboarding of {acct} complete")) } else { HttpResponse::NotFound().finish() };
    }
    let request_id = {
        let mut inner = shared.lock();
        inner.requests += 1;
        format!("req_fake{:08}", inner.requests)
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(rest) = path.strip_prefix("/v1") else {
        let r = state::error(404, "invalid_request_error", None, &format!("Unrecognized request URL ({method} {path})."), None);
        return respond(&r, &request_id, None, false).json(r.body);
    };
    match header("authorization").as_deref().and_then(|a| a.strip_prefix("Bearer ")) {
        Some(k) if k == shared.secret_key => {}
        Some(k) => {
            let tail: String = k.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            let r = state::error(401, "invalid_request_error", None, &format!("Invalid API Key provided: sk_****{tail}"), None);
            return respond(&r, &request_id, None, false).json(r.body);
        }
        None => {
            let r = state::error(401, "invalid_request_error", None,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.", None);
            return respond(&r, &request_id, None, false).json(r.body);
        }
    }
    let params = if method == "GET" { parse_params(req.query_string().as_bytes()) } else { parse_params(&body) };
    let api_req = ApiRequest { method: method.clone(), path: rest.to_string(), params, account: header("stripe-account") };
    let key = if method == "POST" { header("idempotency-key") } else { None };

    let (response, replayed, failure, events) = {
        let mut inner = shared.lock();
        let failure = inner
            .injections
            .iter_mut()
            .find(|i| i.remaining > 0 && i.path_prefix.as_deref().is_none_or(|p| path.starts_with(p)))
            .map(|i| {
                i.remaining -= 1;
                i.failure
            });
        inner.injections.retain(|i| i.remaining > 0);
        if failure == Some(Failure::Before500) {
            let r = state::error(500, "api_error", None, "An unknown error occurred (injected by stripe-fake).", None);
            drop(inner);
            return respond(&r, &request_id, key.as_deref(), false).json(r.body);
        }
        let scope = (api_req.account.clone().unwrap_or_default(), key.clone().unwrap_or_default());
        match key.as_ref().and_then(|_| inner.idempotency.get(&scope)) {
            Some(s) if s.method == api_req.method && s.path == api_req.path && s.params == api_req.params => {
                (s.response.clone(), true, failure, Vec::new())
            }
            Some(_) => {
                let k = key.as_deref().unwrap_or_default();
                let r = state::error(400, "idempotency_error", None, &format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                     Try using a key other than '{k}' if you meant to execute a different request."), None);
                (r, false, failure, Vec::new())
            }
            None => {
                let before = inner.state.events.len();
                let r = inner.state.handle(&api_req, key.as_deref());
                let events = inner.state.events[before..].to_vec();
                if key.is_some() {
                    inner.idempotency.insert(scope, Stored {
                        method: api_req.method.clone(),
                        path: api_req.path.clone(),
                        params: api_req.params.clone(),
                        response: r.clone(),
                    });
                }
                (r, false, failure, events)
            }
        }
    };
    shared.enqueue(events);
    let mut b = respond(&response, &request_id, key.as_deref(), replayed);
    if failure == Some(Failure::DropAfterWork) {
        // The answer is lost: the first half of the JSON only. (A body stream that errors does
        // not make actix drop the connection reliably; a cut body is as unreadable to the client.)
        let text = response.body.to_string();
        let cut = text[..text.len() / 2].to_string();
        return b.insert_header(("Content-Type", "application/json")).body(cut);
    }
    b.json(response.body)
}
