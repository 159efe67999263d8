//! Ingest benchmark: `sailkg_ingest::ingest` (hash + read + cleanse + profile + Parquet +
//! catalogue) side by side with reading the same file with polars alone (the peer the target is
//! set against) and with polars reading it and writing it as Parquet (the same input and output
//! without hashing, cleansing, profiling or cataloguing), each in its own process so peak RSS is
//! its own. Inputs: `flights-100k.parquet` and a generated 1M-row messy CSV. With
//! SAILKG_BENCH_STAGES set, the ingest children print seconds per stage.
//!
//! Run with `cargo bench --workspace --bench ingest`; prints a table and writes
//! `benches/results/ingest.json`. SAILKG_BENCH_RUNS sets the runs per variant (default 3),
//! SAILKG_BENCH_ROWS the generated CSV's rows (default 1000000).

#[path = "support.rs"]
mod support;

use polars::prelude::*;
use serde_json::json;
use std::io::{BufWriter, Cursor, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

// The allocator the sailkg binary uses (both variants run in this binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2], Path::new(&args[3]), Path::new(&args[4]));
        return;
    }
    let runs: usize = std::env::var("SAILKG_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let rows: usize =
        std::env::var("SAILKG_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let shared = support::shared();
    let work = tempfile::tempdir().expect("temp dir");
    let csv = work.path().join("generated.csv");
    generate_csv(&csv, rows);
    let inputs = [shared.join("data/demo/flights-100k.parquet"), csv];
    let mut results = Vec::new();
    println!("# Ingest benchmark, {runs} runs each, medians");
    println!(
        "| input | rows | polars read (rows/s) | polars RSS (MB) | polars read+write (rows/s) | sailkg ingest (rows/s) | ingest RSS (MB) | ratio to read | ratio to read+write |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for input in &inputs {
        let mut polars_runs = Vec::new();
        let mut write_runs = Vec::new();
        let mut ingest_runs = Vec::new();
        for run in 0..runs {
            polars_runs.push(measure("polars", input, &work.path().join(format!("p{run}"))));
            write_runs.push(measure("polars-write", input, &work.path().join(format!("w{run}"))));
            ingest_runs.push(measure("ingest", input, &work.path().join(format!("i{run}"))));
        }
        let (p_rows, p_seconds, p_rss) = support::median(&mut polars_runs);
        let (_, w_seconds, w_rss) = support::median(&mut write_runs);
        let (_, i_seconds, i_rss) = support::median(&mut ingest_runs);
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        println!(
            "| {name} | {p_rows} | {:.0} | {p_rss:.0} | {:.0} | {:.0} | {i_rss:.0} | {:.2} | {:.2} |",
            p_rows as f64 / p_seconds,
            p_rows as f64 / w_seconds,
            p_rows as f64 / i_seconds,
            i_seconds / p_seconds,
            i_seconds / w_seconds,
        );
        results.push(json!({
            "input": name, "rows": p_rows,
            "polars_seconds": p_seconds, "polars_rows_per_s": p_rows as f64 / p_seconds, "polars_peak_rss_mb": p_rss,
            "polars_write_seconds": w_seconds, "polars_write_peak_rss_mb": w_rss,
            "ingest_seconds": i_seconds, "ingest_rows_per_s": p_rows as f64 / i_seconds, "ingest_peak_rss_mb": i_rss,
            "time_ratio": i_seconds / p_seconds,
            "time_ratio_to_read_write": i_seconds / w_seconds,
        }));
    }
    support::write_results("ingest", &json!({ "runs": runs, "results": results }));
}

/// A messy CSV: padded text, null tokens, thousands separators, a category, a float.
fn generate_csv(path: &Path, rows: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(out, "id,name,category,amount,score,note").expect("write");
    let categories = ["alpha", "beta", "gamma", "delta", "rare"];
    for i in 0..rows {
        let amount =
            if i % 97 == 0 { "N/A".to_owned() } else { format!("\"{},{:03}\"", i % 900 + 1, i % 1000) };
        let note = if i % 13 == 0 { "  spaced   out  ".to_owned() } else { format!("note {}", i % 5000) };
        writeln!(
            out,
            "{i}, name {} ,{},{amount},{:.3},{note}",
            i % 10_000,
            categories[i % 5],
            (i % 1000) as f64 / 7.0
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Runs one variant in a child process: (rows, seconds, peak RSS MB).
fn measure(variant: &str, input: &Path, data: &Path) -> (u64, f64, f64) {
    let output = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", variant])
        .arg(input)
        .arg(data)
        .output()
        .expect("child");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    (
        parts[0].parse().expect("rows"),
        parts[1].parse().expect("seconds"),
        parts[2].parse::<f64>().expect("rss") / 1024.0,
    )
}

fn child(variant: &str, input: &Path, data: &Path) {
    // The store opens before the clock starts: opening RocksDB is a fixed cost of the process,
    // not of ingesting rows.
    let store = (variant == "ingest")
        .then(|| sailkg_store::Store::open(data, sailkg_core::LoadConfig::default()).expect("store"));
    let start = Instant::now();
    let rows = if variant.starts_with("polars") {
        let bytes = std::fs::read(input).expect("read");
        let mut frame = if input.extension().is_some_and(|e| e == "parquet") {
            ParquetReader::new(Cursor::new(bytes)).finish().expect("parquet")
        } else {
            CsvReadOptions::default()
                .with_has_header(true)
                .into_reader_with_file_handle(Cursor::new(bytes))
                .finish()
                .expect("csv")
        };
        if variant == "polars-write" {
            std::fs::create_dir_all(data).expect("dir");
            let file = std::fs::File::create(data.join("table.parquet")).expect("create");
            ParquetWriter::new(file)
                .with_compression(ParquetCompression::Snappy)
                .finish(&mut frame)
                .expect("write");
        }
        frame.height() as u64
    } else {
        let store = store.as_ref().expect("store");
        let report =
            sailkg_ingest::ingest(store, input, &sailkg_ingest::IngestOptions::default()).expect("ingest");
        if std::env::var_os("SAILKG_BENCH_STAGES").is_some() {
            eprintln!("{:?}", report.timings);
        }
        report.rows_written
    };
    let seconds = start.elapsed().as_secs_f64();
    let peak = support::peak_rss_kib();
    println!("{rows} {seconds} {peak}");
}
