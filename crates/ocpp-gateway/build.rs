//! Build script: generates the table of vendored OCA JSON schemas (`schemas/v16`, `schemas/v201`)
//! as `include_str!` entries, one per action with its request and response schema, sorted by action
//! name so the crate can binary-search it. See `src/schema.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=schemas");
    let mut code = String::new();
    for (dir, request_suffix, table) in [
        ("v16", "", "V16_SCHEMAS"),
        ("v201", "Request", "V201_SCHEMAS"),
    ] {
        let path = Path::new(&manifest).join("schemas").join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        // action -> (request file, response file)
        let mut actions: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        for entry in
            std::fs::read_dir(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            if let Some(action) = stem.strip_suffix("Response") {
                actions.entry(action.to_owned()).or_default().1 = Some(name.clone());
            } else if let Some(action) = stem.strip_suffix(request_suffix) {
                actions.entry(action.to_owned()).or_default().0 = Some(name.clone());
            }
        }
        writeln!(
            code,
            "pub(crate) static {table}: [SchemaEntry; {}] = [",
            actions.len()
        )
        .unwrap();
        for (action, (req, resp)) in &actions {
            let req = req
                .as_ref()
                .unwrap_or_else(|| panic!("{dir}: no request schema for {action}"));
            let resp = resp
                .as_ref()
                .unwrap_or_else(|| panic!("{dir}: no response schema for {action}"));
            writeln!(
                code,
                "    SchemaEntry::new({action:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/schemas/{dir}/{req}\")), include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/schemas/{dir}/{resp}\"))),"
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    std::fs::write(Path::new(&out_dir).join("schema_table.rs"), code)
        .expect("write schema_table.rs");
}
