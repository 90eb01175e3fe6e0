//! `stripe-fake`: the fake Stripe API as a process, for manual runs of the hub against it.
//!
//! ```text
//! stripe-fake [--listen 127.0.0.1:12111] [--secret-key sk_test_...] [--webhook-url URL] [--webhook-secret whsec_...]
//! ```
//! Each option may also come from `STRIPE_FAKE_LISTEN`, `STRIPE_FAKE_SECRET_KEY`,
//! `STRIPE_FAKE_WEBHOOK_URL`, `STRIPE_FAKE_WEBHOOK_SECRET`. Point the hub at it with
//! `HUB__STRIPE__API_BASE=http://127.0.0.1:12111/` and the same keys.

use stripe_fake::{FakeConfig, FakeStripe};

fn main() {
    let mut config = FakeConfig { listen: "127.0.0.1:12111".into(), ..Default::default() };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(v) = env("STRIPE_FAKE_LISTEN") {
        config.listen = v;
    }
    if let Some(v) = env("STRIPE_FAKE_SECRET_KEY") {
        config.secret_key = v;
    }
    config.webhook_url = env("STRIPE_FAKE_WEBHOOK_URL");
    if let Some(v) = env("STRIPE_FAKE_WEBHOOK_SECRET") {
        config.webhook_secret = v;
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--listen" => config.listen = value(),
            "--secret-key" => config.secret_key = value(),
            "--webhook-url" => config.webhook_url = Some(value()),
            "--webhook-secret" => config.webhook_secret = value(),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let fake = match FakeStripe::start(config.clone()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("stripe-fake: cannot listen on {}: {e}", config.listen);
            std::process::exit(1);
        }
    };
    // The keys are test values chosen by whoever starts the fake; print the URL only.
    println!("{{\"url\": \"{}\", \"webhook_url\": {:?}}}", fake.url(), config.webhook_url);
    loop {
        std::thread::park();
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("stripe-fake: {problem}");
    }
    eprintln!("usage: stripe-fake [--listen ADDR] [--secret-key KEY] [--webhook-url URL] [--webhook-secret SECRET]");
    std::process::exit(if problem.is_empty() { 0 } else { 2 });
}
