//! Generation benchmark: a Gaussian copula on a 10-column table (6 numeric, 4 categorical,
//! 100,000 rows, one category with 20 rows): fit time, unconditional sampling rate on one core
//! and on all cores, and conditional sampling of the rarest category; medians of
//! SAILKG_BENCH_RUNS (default 5) runs.
//!
//! Run with `cargo bench --workspace --bench gen`; prints a table and writes
//! `benches/results/gen.json`.

#[path = "support.rs"]
mod support;

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use sailkg_gen::{Column, Condition, Constraints, FitOptions, Method, NumberKind, Table};
use serde_json::json;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn table(rows: usize) -> Table {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut columns = Vec::new();
    let base: Vec<f64> = (0..rows).map(|_| normal.sample(&mut rng)).collect();
    for c in 0..6 {
        let values = base
            .iter()
            .map(|b| {
                let noise: f64 = normal.sample(&mut rng);
                Some(if c % 2 == 0 { b * 10.0 + noise } else { (b + noise).exp() })
            })
            .collect();
        columns.push(Column::numbers(&format!("x{c}"), NumberKind::Float, values));
    }
    for c in 0..4 {
        let labels: Vec<Option<String>> = (0..rows)
            .map(|i| {
                if c == 0 && i % (rows / 20) == 0 {
                    Some("rare".to_owned())
                } else {
                    let k = ((base[i] + rng.random::<f64>()) * 3.0).clamp(-6.0, 6.0) as i64;
                    Some(format!("k{k}"))
                }
            })
            .collect();
        columns.push(Column::labels(&format!("c{c}"), &labels));
    }
    Table::new(columns).unwrap()
}

fn main() {
    let runs: usize = std::env::var("SAILKG_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let rows = 100_000;
    let n = 1_000_000;
    let table = table(rows);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (mut fit, mut single, mut all, mut rare) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let condition = Condition::parse("c0 = 'rare'").unwrap();
    for run in 0..runs {
        let start = Instant::now();
        let model =
            sailkg_gen::fit(Method::Copula, &table, &Constraints::default(), &FitOptions::default()).unwrap();
        fit.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let sample = one.install(|| model.sample(n, &Condition::default(), run as u64).unwrap());
        single.push(n as f64 / start.elapsed().as_secs_f64());
        std::hint::black_box(sample);
        let start = Instant::now();
        let sample = model.sample(n, &Condition::default(), run as u64).unwrap();
        all.push(n as f64 / start.elapsed().as_secs_f64());
        std::hint::black_box(sample);
        let start = Instant::now();
        let sample = one.install(|| model.sample(100_000, &condition, run as u64).unwrap());
        rare.push(100_000.0 / start.elapsed().as_secs_f64());
        assert_eq!(sample.table.rows(), 100_000);
    }
    let (fit, single, all, rare) = (
        support::median_of(fit),
        support::median_of(single),
        support::median_of(all),
        support::median_of(rare),
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("# Gaussian copula, {rows} rows x 10 columns (6 numeric, 4 categorical), {runs} runs, medians");
    println!("| measure | value |\n|---|---:|");
    println!("| fit | {:.3} s |", fit);
    println!("| sample 1 M rows, 1 core | {:.2} M rows/s |", single / 1e6);
    println!("| sample 1 M rows, {cores} cores | {:.2} M rows/s |", all / 1e6);
    println!("| sample the rarest category (20 of {rows} rows), 1 core | {:.2} M rows/s |", rare / 1e6);
    support::write_results(
        "gen",
        &json!({
            "runs": runs, "rows": rows, "columns": 10, "fit_seconds": fit,
            "rows_per_second_one_core": single, "rows_per_second_all_cores": all, "cores": cores,
            "rare_rows_per_second_one_core": rare,
        }),
    );
}
