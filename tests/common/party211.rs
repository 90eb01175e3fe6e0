//! A small OCPI 2.1.1 platform for tests: [`Party211`], a CPO or an eMSP.
//!
//! What makes it 2.1.1:
//! * `GET /ocpi/versions` lists only 2.1.1 (or "2.1", see [`Party211::announce_as`]);
//! * `GET /ocpi/2.1.1` lists its endpoints without interface roles: `credentials` and every
//!   module at `{base}/ocpi/2.1.1/{module}`;
//! * tokens travel raw: `Authorization: Token <token>` both ways (a Base64 token is refused);
//! * its credentials object is `{token, url, business_details, party_id, country_code}`;
//! * it sends no routing headers.
//!
//! Like [`super::Party`] it records every request, answers pushes with `1000`, serves the
//! lists set with [`Party211::set_list`] (paginated, `GET /ocpi/2.1.1/{module}` and
//! `GET /ocpi/2.1.1/{module}/{id}[/...]`), and takes custom answers ([`Party211::respond`]).

use super::*;

struct State211 {
    base_url: String,
    country_code: String,
    party_id: String,
    role: String,
    token_a: String,
    token_b: String,
    announce_as: Mutex<String>,
    lists: Mutex<BTreeMap<String, Vec<Value>>>,
    responders: Mutex<Vec<Responder>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    seq: AtomicU64,
    /// The hub's token C and its 2.1.1 endpoints (identifier → URL), once registered.
    link: Mutex<Option<(String, BTreeMap<String, String>)>>,
}

/// The token of `Authorization: Token <raw>`.
pub fn raw_token(rec: &Recorded) -> Option<String> {
    let (scheme, rest) = rec.header("authorization")?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("token").then(|| rest.trim().to_string())
}

impl State211 {
    fn credentials(&self) -> Value {
        json!({
            "token": self.token_b,
            "url": format!("{}/ocpi/versions", self.base_url),
            "business_details": {"name": format!("{} {} 2.1.1 test party", self.country_code, self.party_id)},
            "party_id": self.party_id,
            "country_code": self.country_code,
        })
    }

    fn dispatch(&self, rec: &Recorded) -> Reply {
        let path = rec.path.trim_end_matches('/');
        let token = raw_token(rec);
        // Token A is the one this party gives out for registration: the hub uses it for the
        // versions and, when the hub registers itself (`party register`), for the credentials.
        let registration = path == "/ocpi/versions" || path == "/ocpi/2.1.1" || path == "/ocpi/2.1.1/credentials";
        let ok = token.as_deref() == Some(self.token_b.as_str())
            || (registration && token.as_deref() == Some(self.token_a.as_str()));
        if !ok {
            return Reply::ocpi(401, 2000, "Invalid or missing token");
        }
        let custom = lock(&self.responders).iter().rev().find_map(|f| f(rec));
        if let Some(reply) = custom {
            return reply;
        }
        let v211 = format!("{}/ocpi/2.1.1", self.base_url);
        match path {
            "/ocpi/versions" => Reply::ok(json!([{"version": lock(&self.announce_as).clone(), "url": v211}])),
            "/ocpi/2.1.1" => {
                let mut endpoints = vec![json!({"identifier": "credentials", "url": format!("{v211}/credentials")})];
                for m in ["locations", "sessions", "cdrs", "tariffs", "tokens", "commands"] {
                    endpoints.push(json!({"identifier": m, "url": format!("{v211}/{m}")}));
                }
                Reply::ok(json!({"version": "2.1.1", "endpoints": endpoints}))
            }
            "/ocpi/2.1.1/credentials" if rec.method == "GET" => Reply::ok(self.credentials()),
            // The hub registers itself: keep its token C (its endpoints are read afterwards,
            // see `Party211::learn_hub_endpoints`) and answer with this party's credentials.
            "/ocpi/2.1.1/credentials" if rec.method == "POST" => match rec.body["token"].as_str() {
                Some(token) => {
                    *lock(&self.link) = Some((token.to_string(), BTreeMap::new()));
                    Reply::ok(self.credentials())
                }
                None => Reply::ocpi(400, 2001, "token: required"),
            },
            p if p.starts_with("/ocpi/2.1.1/") && rec.method == "GET" => {
                let rest = &p["/ocpi/2.1.1/".len()..];
                let mut segs = rest.split('/').filter(|s| !s.is_empty());
                let module = segs.next().unwrap_or_default().to_string();
                let tail: Vec<&str> = segs.collect();
                let items = lock(&self.lists).get(&module).cloned().unwrap_or_default();
                if tail.is_empty() {
                    return page(&self.base_url, rec, items);
                }
                // Locations and connectors by `id`, EVSEs by `uid`, tokens by `uid`.
                let is = |v: &Value, key: &str, seg: &str| v.get(key).and_then(Value::as_str) == Some(seg);
                let mut found = items.into_iter().find(|v| is(v, "id", tail[0]) || is(v, "uid", tail[0]));
                for (depth, seg) in tail[1..].iter().enumerate() {
                    let (list, key) = if depth == 0 { ("evses", "uid") } else { ("connectors", "id") };
                    found = found.and_then(|v| v.get(list)?.as_array()?.iter().find(|c| is(c, key, seg)).cloned());
                }
                match found {
                    Some(o) => Reply::ok(o),
                    None => Reply::ocpi(404, 2003, "Unknown object"),
                }
            }
            p if p.starts_with("/ocpi/2.1.1/") => Reply::ack(),
            _ => Reply::ocpi(404, 2000, "Unknown path"),
        }
    }
}

/// A page of `items` by `offset`/`limit` (at most 50), with `X-Total-Count`, `X-Limit`, `Link`.
fn page(base_url: &str, rec: &Recorded, items: Vec<Value>) -> Reply {
    let total = items.len();
    let offset = rec.query_param("offset").and_then(|s| s.parse().ok()).unwrap_or(0usize).min(total);
    let limit = rec.query_param("limit").and_then(|s| s.parse().ok()).filter(|l: &usize| *l > 0).unwrap_or(50).min(50);
    let end = (offset + limit).min(total);
    let mut reply = Reply::ok(Value::Array(items[offset..end].to_vec()))
        .with_header("X-Total-Count", &total.to_string())
        .with_header("X-Limit", &limit.to_string());
    if end < total {
        reply = reply.with_header("Link", &format!("<{base_url}{}?offset={end}&limit={limit}>; rel=\"next\"", rec.path));
    }
    reply
}

async fn handle211(req: HttpRequest, body: web::Bytes, state: web::Data<State211>) -> HttpResponse {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in req.headers() {
        headers.insert(name.as_str().to_ascii_lowercase(), String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let mut rec = Recorded {
        seq: state.seq.fetch_add(1, Ordering::SeqCst),
        method: req.method().as_str().to_ascii_uppercase(),
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        headers,
        body: parse_body(&body),
        status: None,
        received_at: Instant::now(),
    };
    let reply = state.dispatch(&rec);
    rec.status = Some(reply.status);
    lock(&state.recorded).push(rec);
    reply.into_response()
}

/// A 2.1.1 CPO or eMSP on `127.0.0.1:{port}` (see the module documentation).
pub struct Party211 {
    state: Arc<State211>,
    server: Option<ServerThread>,
    client: reqwest::Client,
}

impl Party211 {
    /// A party `country_code`/`party_id` with `role` `CPO` or `EMSP`. Started at once.
    pub fn new(country_code: &str, party_id: &str, role: &str) -> Party211 {
        init();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let state = Arc::new(State211 {
            base_url: format!("http://127.0.0.1:{port}"),
            country_code: country_code.to_string(),
            party_id: party_id.to_string(),
            role: role.to_ascii_uppercase(),
            token_a: format!("p211-a-{}", Uuid::new_v4().simple()),
            token_b: format!("p211-b-{}", Uuid::new_v4().simple()),
            announce_as: Mutex::new("2.1.1".into()),
            lists: Mutex::new(BTreeMap::new()),
            responders: Mutex::new(Vec::new()),
            recorded: Arc::new(Mutex::new(Vec::new())),
            seq: AtomicU64::new(0),
            link: Mutex::new(None),
        });
        let server_state = state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("party211-{port}"))
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let data = web::Data::from(server_state);
                    let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(handle211)))
                        .workers(1)
                        .disable_signals()
                        .shutdown_timeout(1)
                        .listen(listener)
                        .expect("listen")
                        .run();
                    let _ = tx.send(server.handle());
                    let _ = server.await;
                });
            })
            .expect("spawn party211 thread");
        let handle = rx.recv().expect("party211 server started");
        Party211 { state, server: Some(ServerThread { handle, thread }), client: http_client() }
    }

    pub fn id(&self) -> (String, String) {
        (self.state.country_code.clone(), self.state.party_id.clone())
    }

    pub fn role(&self) -> String {
        self.state.role.clone()
    }

    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    pub fn versions_url(&self) -> String {
        format!("{}/ocpi/versions", self.state.base_url)
    }

    pub fn token_b(&self) -> String {
        self.state.token_b.clone()
    }

    /// The version text its versions list announces (default `2.1.1`; some parties say `2.1`).
    pub fn announce_as(&self, version: &str) {
        *lock(&self.state.announce_as) = version.to_string();
    }

    /// The objects served by `GET /ocpi/2.1.1/{module}` (2.1.1 objects).
    pub fn set_list(&self, module: &str, items: Vec<Value>) {
        lock(&self.state.lists).insert(module.to_string(), items);
    }

    /// Answers requests with `method` (`*` for any) whose path starts with `path_prefix`
    /// (absolute, or relative to `/ocpi/2.1.1/`). Later responders take precedence.
    pub fn respond(&self, method: &str, path_prefix: &str, reply: Reply) {
        let method = method.to_string();
        let prefix = prefix_211(path_prefix);
        lock(&self.state.responders).push(Arc::new(move |r: &Recorded| {
            ((method == "*" || r.method.eq_ignore_ascii_case(&method)) && r.path.starts_with(&prefix)).then(|| reply.clone())
        }));
    }

    pub fn received(&self) -> Vec<Recorded> {
        lock(&self.state.recorded).clone()
    }

    pub fn dump_received(&self) -> String {
        self.received().iter().map(|r| format!("  {}", r.summary())).collect::<Vec<_>>().join("\n")
    }

    /// The first received request `method` `path_prefix` (see [`Party211::respond`]) that
    /// satisfies `pred`; polls every 50 ms, panics after `timeout` listing what was received.
    pub async fn wait_for(&self, method: &str, path_prefix: &str, pred: impl Fn(&Recorded) -> bool, timeout: Duration) -> Recorded {
        let prefix = prefix_211(path_prefix);
        let deadline = Instant::now() + timeout;
        loop {
            let hit = self
                .received()
                .into_iter()
                .find(|r| (method == "*" || r.method.eq_ignore_ascii_case(method)) && r.path.starts_with(&prefix) && pred(r));
            if let Some(r) = hit {
                return r;
            }
            if Instant::now() >= deadline {
                panic!(
                    "2.1.1 party {:?}: timed out after {timeout:?} waiting for {method} {prefix}; received:\n{}",
                    self.id(),
                    self.dump_received()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Party-initiated 2.1.1 registration with the invite `token_a`: GET versions (raw token),
    /// pick 2.1.1 (or "2.1"), GET its details, POST this party's 2.1.1 credentials. Returns the
    /// hub's answer `(HTTP status, body)`; on success stores token C and the endpoints.
    pub async fn try_register(&self, hub: &Hub, token_a: &str) -> (u16, Value) {
        let (status, _, versions) = self.raw("GET", &hub.versions_url(), token_a, None).await;
        assert_eq!(status, 200, "versions with a raw token: {versions}");
        let url = versions["data"]
            .as_array()
            .and_then(|l| l.iter().find(|v| v["version"] == "2.1.1" || v["version"] == "2.1"))
            .and_then(|v| v["url"].as_str())
            .unwrap_or_else(|| panic!("the hub offers no 2.1.1: {versions}"))
            .to_string();
        let (status, _, details) = self.raw("GET", &url, token_a, None).await;
        assert_eq!(status, 200, "{details}");
        let endpoints: BTreeMap<String, String> = details["data"]["endpoints"]
            .as_array()
            .unwrap_or_else(|| panic!("no endpoints: {details}"))
            .iter()
            .map(|e| {
                assert!(e.get("role").is_none(), "2.1.1 endpoints have no role: {e}");
                (e["identifier"].as_str().unwrap().to_string(), e["url"].as_str().unwrap().to_string())
            })
            .collect();
        let creds_url = endpoints.get("credentials").unwrap_or_else(|| panic!("no credentials endpoint: {details}")).clone();
        let (status, _, body) = self.raw("POST", &creds_url, token_a, Some(self.state.credentials())).await;
        if status == 200 && body["status_code"] == 1000 {
            let token_c = body["data"]["token"].as_str().expect("token C").to_string();
            *lock(&self.state.link) = Some((token_c, endpoints));
        }
        (status, body)
    }

    /// [`Party211::try_register`], panicking unless the hub answered 1000 with 2.1.1 credentials.
    pub async fn register(&self, hub: &Hub, token_a: &str) -> Value {
        let (status, body) = self.try_register(hub, token_a).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "2.1.1 registration of {:?}: {body}", self.id());
        let data = body["data"].clone();
        for field in ["token", "url", "business_details", "party_id", "country_code"] {
            assert!(data.get(field).is_some(), "2.1.1 credentials need {field}: {data}");
        }
        assert!(data.get("roles").is_none(), "2.1.1 credentials have no roles: {data}");
        data
    }

    /// This party's registration token (token A), for `ocpi-hub party register --token`.
    pub fn token_a(&self) -> String {
        self.state.token_a.clone()
    }

    /// After the hub registered itself with this party: reads the hub's 2.1.1 endpoints with
    /// the token C the hub gave, as a 2.1.1 party does after a credentials POST.
    pub async fn learn_hub_endpoints(&self, hub: &Hub) {
        let token = self.token_c();
        let (status, _, versions) = self.raw("GET", &hub.versions_url(), &token, None).await;
        assert_eq!(status, 200, "versions with the hub's token C: {versions}");
        let url = versions["data"]
            .as_array()
            .and_then(|l| l.iter().find(|v| v["version"] == "2.1.1"))
            .and_then(|v| v["url"].as_str())
            .unwrap_or_else(|| panic!("the hub offers no 2.1.1: {versions}"))
            .to_string();
        let (status, _, details) = self.raw("GET", &url, &token, None).await;
        assert_eq!(status, 200, "{details}");
        let endpoints: BTreeMap<String, String> = details["data"]["endpoints"]
            .as_array()
            .unwrap_or_else(|| panic!("no endpoints: {details}"))
            .iter()
            .map(|e| (e["identifier"].as_str().unwrap().to_string(), e["url"].as_str().unwrap().to_string()))
            .collect();
        *lock(&self.state.link) = Some((token, endpoints));
    }

    /// Credentials PUT (update) with token C; on success the hub's new token C replaces it.
    pub async fn update_credentials(&self) -> (u16, Value) {
        let url = self.hub_endpoint("credentials");
        let (status, _, body) = self.call_url("PUT", &url, Some(self.state.credentials())).await;
        if status == 200
            && body["status_code"] == 1000
            && let (Some(link), Some(token)) = (lock(&self.state.link).as_mut(), body["data"]["token"].as_str())
        {
            link.0 = token.to_string();
        }
        (status, body)
    }

    /// The hub's token C, once registered.
    pub fn token_c(&self) -> String {
        lock(&self.state.link).as_ref().map(|l| l.0.clone()).expect("registered")
    }

    /// The hub's 2.1.1 URL of `module`, once registered.
    pub fn hub_endpoint(&self, module: &str) -> String {
        lock(&self.state.link)
            .as_ref()
            .and_then(|l| l.1.get(module).cloned())
            .unwrap_or_else(|| panic!("the hub lists no 2.1.1 {module} endpoint"))
    }

    /// Calls the hub's 2.1.1 `module` endpoint + `suffix` (`/NL/CPO/LOC1`, `?offset=0`, ...)
    /// with token C (raw) and no routing headers.
    pub async fn call(&self, method: &str, module: &str, suffix: &str, body: Option<Value>) -> (u16, HeaderMap, Value) {
        let url = join_url(&self.hub_endpoint(module), suffix);
        self.call_url(method, &url, body).await
    }

    /// Calls any URL with token C (raw).
    pub async fn call_url(&self, method: &str, url: &str, body: Option<Value>) -> (u16, HeaderMap, Value) {
        let token = self.token_c();
        self.raw(method, url, &token, body).await
    }

    /// One request with `Authorization: Token <token>` (raw), no routing headers.
    pub async fn raw(&self, method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, HeaderMap, Value) {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method.clone(), url).header("Authorization", format!("Token {token}"));
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        (status, headers, parse_body(&bytes))
    }
}

fn prefix_211(prefix: &str) -> String {
    if prefix.starts_with('/') { prefix.to_string() } else { format!("/ocpi/2.1.1/{prefix}") }
}

impl Drop for Party211 {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            drop(server.handle.stop(false));
            let _ = server.thread.join();
        }
    }
}
