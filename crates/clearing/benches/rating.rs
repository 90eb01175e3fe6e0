//! How many CDRs the engine rates per second, on a mix of the spec's example tariffs: every
//! tariff example on every generated session of the differential test (441 pairs; the one
//! session a tariff refuses is left out), cut into charging periods as a CPO would.
//!
//! - `price_cdr`: from parsed models, as the hub rates a stored CDR (reads the tariff each
//!   time);
//! - `compiled_rate`: the tariff read once, the usage built once (the OCPP gateway's case);
//! - `price_files`: from JSON text, parsing included (the CLI's case).
//!
//! Criterion reports the throughput in elements (CDRs) per second.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use clearing::rating::{CompiledTariff, Usage, price_cdr, price_files};
use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let tz = AMSTERDAM;
    let mut cases = Vec::new();
    for name in tariff_example_names() {
        let tariff_json = tariff_example_json(&name);
        let tariff = example_tariff(&name);
        let rules = CutRules::of(&tariff);
        for scenario in scenarios() {
            let cdr = generated_cdr(&scenario, tz, &rules);
            let parsed = cdr.cdr();
            if price_cdr(&tariff, &parsed, tz).is_ok() {
                cases.push((tariff_json.clone(), cdr.json(), tariff.clone(), parsed));
            }
        }
    }
    let compiled: Vec<(CompiledTariff, Usage)> = cases
        .iter()
        .map(|(_, _, t, cdr)| {
            (
                CompiledTariff::new(t).unwrap(),
                Usage::from_cdr(cdr).unwrap(),
            )
        })
        .collect();
    let periods: usize = cases.iter().map(|c| c.3.charging_periods.len()).sum();
    eprintln!(
        "{} CDRs, {} charging periods ({:.1} per CDR)",
        cases.len(),
        periods,
        periods as f64 / cases.len() as f64
    );

    let mut g = c.benchmark_group("rating");
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("price_cdr", |b| {
        b.iter(|| {
            for (_, _, tariff, cdr) in &cases {
                black_box(price_cdr(tariff, cdr, tz).unwrap());
            }
        })
    });
    g.bench_function("compiled_rate", |b| {
        b.iter(|| {
            for (tariff, usage) in &compiled {
                black_box(tariff.rate(usage, tz).unwrap());
            }
        })
    });
    g.bench_function("price_files", |b| {
        b.iter(|| {
            for (tariff_json, cdr_json, _, _) in &cases {
                black_box(
                    price_files(
                        tariff_json.as_bytes(),
                        cdr_json.as_bytes(),
                        Some("Europe/Amsterdam"),
                    )
                    .unwrap(),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
