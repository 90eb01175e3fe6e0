//! `ocpi-hub cdr price`: the real binary prices the spec's CDR example with the tariff embedded
//! in it, and must arrive at the totals the example itself states.

use serde_json::Value;
use std::process::Command;

fn spec_example(name: &str) -> Value {
    let dir = std::env::var_os("OCPI_SPECS_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"))
        .join("ocpi-2.2.1/examples");
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

fn num(v: &Value) -> f64 {
    // Test-side comparison only; the hub computes in decimals.
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn prices_the_spec_cdr_example_to_its_own_totals() {
    let cdr = spec_example("cdr_example.json");
    let dir = std::env::temp_dir().join(format!("cdr-price-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tariff_path = dir.join("tariff.json");
    let cdr_path = dir.join("cdr.json");
    std::fs::write(&tariff_path, cdr["tariffs"][0].to_string()).unwrap();
    std::fs::write(&cdr_path, cdr.to_string()).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_ocpi-hub"))
        .args(["cdr", "price", "--tariff"])
        .arg(&tariff_path)
        .arg("--cdr")
        .arg(&cdr_path)
        .args(["--time-zone", "Europe/Brussels"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let totals: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    for field in ["total_cost", "total_energy_cost", "total_time_cost", "total_parking_cost", "total_fixed_cost"] {
        assert!(totals[field]["excl_vat"].is_number() || totals[field]["excl_vat"].is_string(), "{field}: {totals}");
        assert!(totals[field].get("incl_vat").is_some(), "{field} has incl_vat: {totals}");
    }
    assert_eq!(num(&totals["total_cost"]["excl_vat"]), num(&cdr["total_cost"]["excl_vat"]), "{totals}");
    assert_eq!(num(&totals["total_cost"]["incl_vat"]), num(&cdr["total_cost"]["incl_vat"]), "{totals}");

    // A bad file is a clear error, not a panic.
    std::fs::write(&cdr_path, "{not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ocpi-hub"))
        .args(["cdr", "price", "--tariff"])
        .arg(&tariff_path)
        .arg("--cdr")
        .arg(&cdr_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let _ = std::fs::remove_dir_all(&dir);
}
