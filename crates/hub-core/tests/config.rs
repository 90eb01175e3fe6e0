//! Configuration layering: built-in defaults, then a TOML file, then `HUB__SECTION__KEY`
//! environment variables. One test function, because the environment is process-wide.

use hub_core::config::HubConfig;

#[test]
fn defaults_then_file_then_environment() {
    // SAFETY: this test binary has a single test; nothing else reads the environment meanwhile.
    unsafe {
        for (k, _) in std::env::vars() {
            if k.starts_with("HUB__") {
                std::env::remove_var(k);
            }
        }
    }
    let d = HubConfig::load(None).expect("defaults load");
    assert_eq!(d.database.url, "sqlite://./data/hub.db");
    assert_eq!(d.http.listen, "127.0.0.1:8080");
    assert_eq!(d.public_url(), "http://127.0.0.1:8080");
    assert_eq!(d.ocpp.listen, "127.0.0.1:8180");
    assert_eq!((d.identity.country_code.as_str(), d.identity.party_id.as_str()), ("NL", "HUB"));

    let dir = std::env::temp_dir().join(format!("hub-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hub.toml");
    std::fs::write(
        &file,
        "[http]\nlisten = \"0.0.0.0:9000\"\npublic_url = \"https://hub.example.com/\"\n[identity]\ncountry_code = \"de\"\nparty_id = \"abc\"\n",
    )
    .unwrap();
    let f = HubConfig::load(Some(&file)).expect("file loads");
    assert_eq!(f.http.listen, "0.0.0.0:9000");
    assert_eq!(f.public_url(), "https://hub.example.com", "no trailing slash");
    assert_eq!((f.identity.country_code.as_str(), f.identity.party_id.as_str()), ("DE", "ABC"), "upper-cased");
    assert_eq!(f.database.url, "sqlite://./data/hub.db", "unset keys keep their defaults");

    unsafe {
        std::env::set_var("HUB__HTTP__LISTEN", "127.0.0.1:7000");
        std::env::set_var("HUB__DATABASE__URL", "postgres://u@h/db");
        std::env::set_var("HUB__DELIVERY__POLL_MS", "42");
    }
    let e = HubConfig::load(Some(&file)).expect("env loads");
    assert_eq!(e.http.listen, "127.0.0.1:7000", "environment overrides the file");
    assert_eq!(e.database.url, "postgres://u@h/db");
    assert_eq!(e.delivery.poll_ms, 42);
    assert_eq!(e.public_url(), "https://hub.example.com");

    unsafe { std::env::set_var("HUB__IDENTITY__PARTY_ID", "TOOLONG") };
    assert!(HubConfig::load(Some(&file)).is_err(), "a party id must have 3 characters");
    let _ = std::fs::remove_dir_all(&dir);
}
