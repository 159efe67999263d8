//! Search benchmark: the sync rate of the index for 1M entity labels (English and Korean) read
//! from the store, and query latency on that index (p50, p99 of single queries, including
//! facet counts and highlights).
//!
//! Run with `cargo bench --workspace --bench search`; prints a table and writes
//! `benches/results/search.json`. SAILKG_BENCH_ENTITIES sets the entities (default 1000000),
//! SAILKG_BENCH_QUERIES the queries (default 2000).

#[path = "support.rs"]
mod support;

use serde_json::json;
use std::io::Write;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORDS: [&str; 24] = [
    "river",
    "harbor",
    "mountain",
    "valley",
    "station",
    "airport",
    "museum",
    "bridge",
    "tower",
    "garden",
    "forest",
    "lake",
    "market",
    "temple",
    "castle",
    "island",
    "강",
    "항구",
    "산",
    "계곡",
    "역",
    "공항",
    "박물관",
    "다리",
];

fn main() {
    let entities: usize =
        std::env::var("SAILKG_BENCH_ENTITIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let queries: usize =
        std::env::var("SAILKG_BENCH_QUERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("entities.nt");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        for i in 0..entities {
            let (a, b, c) = (WORDS[i % 24], WORDS[(i / 24) % 24], WORDS[(i / 576) % 24]);
            writeln!(
                out,
                "<http://e/{i}> <http://www.w3.org/2000/01/rdf-schema#label> \"{a} {b} {c} {i}\" ."
            )
            .expect("write");
            writeln!(
                out,
                "<http://e/{i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/C{}> .",
                i % 7
            )
            .expect("write");
            if i % 10 == 0 {
                writeln!(
                    out,
                    "<http://e/{i}> <http://www.w3.org/2000/01/rdf-schema#comment> \"near the {b} of {c}\" ."
                )
                .expect("write");
            }
        }
        out.flush().expect("flush");
    }
    let store = sailkg_store::Store::open(&work.path().join("data"), sailkg_core::LoadConfig::default())
        .expect("store");
    let input = sailkg_store::open_input(&file, None, None).expect("input");
    let graph = oxigraph::model::GraphName::NamedNode(oxigraph::model::NamedNode::new_unchecked(
        "urn:sailkg:graph:source/places/1",
    ));
    store.bulk_load(vec![input], &graph, None).expect("load");
    let index = sailkg_search::SearchIndex::open(&work.path().join("index")).expect("index");
    let start = Instant::now();
    let report = index.rebuild(&store).expect("rebuild");
    let sync_seconds = start.elapsed().as_secs_f64();
    let rss = support::peak_rss_kib() as f64 / 1024.0;
    let mut latencies = Vec::with_capacity(queries);
    let mut state = 12345u64;
    for q in 0..queries {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let a = WORDS[(state >> 33) as usize % 24];
        let b = WORDS[(state >> 40) as usize % 24];
        let text = match q % 4 {
            0 => a.to_owned(),
            1 => format!("{a} {b}"),
            2 => format!("\"{a} {b}\""),
            _ => format!("{}x", &a[..a.len().min(a.len())]),
        };
        let query = sailkg_search::SearchQuery { text, size: 10, ..Default::default() };
        let start = Instant::now();
        let results = index.search(&query).expect("search");
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(results);
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let docs_per_s = report.documents as f64 / sync_seconds;
    println!("# Search benchmark: {entities} entities, {queries} queries");
    println!("| measure | value |\n|---|---:|");
    println!(
        "| index sync (store → index) | {docs_per_s:.0} docs/s ({} docs in {sync_seconds:.1} s) |",
        report.documents
    );
    println!("| peak RSS | {rss:.0} MB |");
    println!("| query latency p50 | {:.2} ms |", percentile(0.5));
    println!("| query latency p99 | {:.2} ms |", percentile(0.99));
    support::write_results(
        "search",
        &json!({
            "entities": entities, "documents": report.documents, "sync_seconds": sync_seconds,
            "sync_docs_per_s": docs_per_s, "peak_rss_mb": rss, "queries": queries,
            "latency_ms_p50": percentile(0.5), "latency_ms_p99": percentile(0.99),
        }),
    );
}
