//! SQL benchmark: an aggregate over `flights-100k.parquet` (ingested, so the cleansed table)
//! through the SAIL-KG session and through a bare DataFusion `SessionContext` on the same file,
//! in the same process; medians of SAILKG_BENCH_RUNS (default 20) runs each. Also the time to
//! build the session (catalogue read, tables registered).
//!
//! Run with `cargo bench --workspace --bench sql`; prints a table and writes
//! `benches/results/sql.json`.

#[path = "support.rs"]
mod support;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde_json::json;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const QUERY: &str = "SELECT origin, count(*) AS flights, avg(delay) AS delay, max(distance) AS longest \
                     FROM TABLE GROUP BY origin ORDER BY flights DESC LIMIT 10";

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("SAILKG_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let work = tempfile::tempdir().expect("temp dir");
    let store = sailkg_store::Store::open(work.path(), sailkg_core::LoadConfig::default()).expect("store");
    let report = sailkg_ingest::ingest(
        &store,
        &support::shared().join("data/demo/flights-100k.parquet"),
        &sailkg_ingest::IngestOptions::default(),
    )
    .expect("ingest");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let timeout = Duration::from_secs(60);
    let (ours, bare, build) = runtime.block_on(async {
        let mut build = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let ctx = sailkg_sql::session(&store, timeout).await.expect("session");
            build.push(start.elapsed().as_secs_f64() * 1000.0);
            drop(ctx);
        }
        let session = sailkg_sql::session(&store, timeout).await.expect("session");
        let bare = SessionContext::new();
        bare.register_parquet(
            "flights",
            report.table.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
        let ours_sql = QUERY.replace("TABLE", "source.\"flights-100k\"");
        let bare_sql = QUERY.replace("TABLE", "flights");
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let start = Instant::now();
            let batches = sailkg_sql::run(&session, &ours_sql, timeout, 1000).await.expect("ours");
            ours.push(start.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(batches);
            let start = Instant::now();
            let batches = bare.sql(&bare_sql).await.expect("sql").collect().await.expect("bare");
            theirs.push(start.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(batches);
        }
        (median(ours), median(theirs), median(build))
    });
    println!("# SQL benchmark: GROUP BY over flights-100k, {runs} runs each, medians");
    println!("| measure | SAIL-KG session | bare DataFusion | ratio |\n|---|---:|---:|---:|");
    println!("| aggregate query | {ours:.2} ms | {bare:.2} ms | {:.2} |", ours / bare);
    println!("| session build (catalogue + tables) | {build:.1} ms | | |");
    support::write_results(
        "sql",
        &json!({ "runs": runs, "query_ms": ours, "bare_query_ms": bare, "ratio": ours / bare, "session_build_ms": build }),
    );
}
