//! SQL benchmark: an aggregate over `flights-100k.parquet` (ingested, so the cleansed table)
//! through the SAIL-KG session and through a bare DataFusion `SessionContext` on the same file,
//! in the same process; medians of SAILKG_BENCH_RUNS (default 20) runs each. Also the time to
//! build the session.
//!
//! Class views: SAILKG_BENCH_INSTANCES (default 100000) instances of one class with five
//! properties, queried through `kg.flight` and through the equivalent SPARQL query (solutions
//! materialized) — a grouped aggregate over all instances, a selective filter and a lookup by
//! IRI — plus the one-off column discovery of the view.
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

/// (name, SQL over the class view, the same question in SPARQL)
const VIEW_QUERIES: [(&str, &str, &str); 3] = [
    (
        "aggregate over all instances",
        "SELECT carrier, count(*) AS n, avg(delay) AS delay FROM kg.flight GROUP BY carrier",
        "PREFIX e: <http://e/> SELECT ?carrier (COUNT(*) AS ?n) (AVG(?delay) AS ?d) \
         WHERE { ?s a e:Flight ; e:carrier ?carrier ; e:delay ?delay } GROUP BY ?carrier",
    ),
    (
        "selective filter",
        "SELECT iri, delay FROM kg.flight WHERE carrier = 'AA' AND delay > 100",
        "PREFIX e: <http://e/> SELECT ?s ?delay \
         WHERE { ?s a e:Flight ; e:carrier ?c ; e:delay ?delay FILTER(STR(?c) = \"AA\" && ?delay > 100) }",
    ),
    (
        "lookup by IRI",
        "SELECT * FROM kg.flight WHERE iri = 'http://e/flight/4242'",
        "SELECT ?p ?o WHERE { <http://e/flight/4242> ?p ?o }",
    ),
];

/// N-Triples of `n` flights: carrier, origin, delay, distance, date.
fn flights_graph(n: usize) -> Vec<u8> {
    use std::fmt::Write;
    let carriers = ["AA", "DL", "UA", "WN", "B6", "AS", "NK", "F9", "HA", "G4"];
    let origins = ["ATL", "ORD", "DFW", "DEN", "LAX", "JFK", "SFO", "SEA", "LAS", "MCO"];
    let mut out = String::with_capacity(n * 420);
    for i in 0..n {
        let s = format!("<http://e/flight/{i}>");
        let delay = (i * 7919 % 241) as i64 - 40;
        let _ = writeln!(out, "{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/Flight> .");
        let _ = writeln!(out, "{s} <http://e/carrier> \"{}\" .", carriers[i * 31 % 10]);
        let _ = writeln!(out, "{s} <http://e/origin> \"{}\" .", origins[i * 17 % 10]);
        let _ =
            writeln!(out, "{s} <http://e/delay> \"{delay}\"^^<http://www.w3.org/2001/XMLSchema#integer> .");
        let _ = writeln!(
            out,
            "{s} <http://e/distance> \"{}\"^^<http://www.w3.org/2001/XMLSchema#integer> .",
            100 + i * 13 % 2500
        );
        let _ = writeln!(
            out,
            "{s} <http://e/date> \"2024-{:02}-{:02}\"^^<http://www.w3.org/2001/XMLSchema#date> .",
            1 + i % 12,
            1 + i % 28
        );
    }
    out.into_bytes()
}

fn sparql_rows(store: &sailkg_store::Store, query: &str) -> usize {
    let budget = store.budget(Duration::from_secs(300));
    let request = sailkg_store::QueryRequest { query, union_default_graph: true, ..Default::default() };
    match store.query(&request, &budget).expect("sparql") {
        sailkg_store::QueryResults::Solutions(solutions) => {
            let mut rows = 0;
            for solution in solutions {
                std::hint::black_box(solution.expect("solution"));
                rows += 1;
            }
            rows
        }
        _ => unreachable!("a SELECT query"),
    }
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
            let ctx = sailkg_sql::session(&store, timeout).expect("session");
            build.push(start.elapsed().as_secs_f64() * 1000.0);
            drop(ctx);
        }
        let session = sailkg_sql::session(&store, timeout).expect("session");
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
    // Class views against SPARQL.
    let instances: usize =
        std::env::var("SAILKG_BENCH_INSTANCES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let input = sailkg_store::LoadInput {
        name: "flights.nt".into(),
        format: sailkg_store::RdfFormat::NTriples,
        reader: Box::new(std::io::Cursor::new(flights_graph(instances))),
        base_iri: None,
    };
    let graph = sailkg_store::model::NamedNode::new("urn:sailkg:graph:source/flights-rdf/1").expect("iri");
    store.bulk_load(vec![input], &graph.into(), None).expect("load");
    let (discovery, views) = runtime.block_on(async {
        let session = sailkg_sql::session(&store, timeout).expect("session");
        let start = Instant::now();
        sailkg_sql::run(&session, "SELECT iri FROM kg.flight LIMIT 1", timeout, 10).await.expect("discovery");
        let discovery = start.elapsed().as_secs_f64() * 1000.0;
        let mut views = Vec::new();
        for (name, sql, sparql) in VIEW_QUERIES {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            let (mut sql_rows, mut sparql_count) = (0, 0);
            for _ in 0..runs.min(10) {
                let start = Instant::now();
                let batches = sailkg_sql::run(&session, sql, timeout, usize::MAX).await.expect("view query");
                ours.push(start.elapsed().as_secs_f64() * 1000.0);
                sql_rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
                let start = Instant::now();
                sparql_count = sparql_rows(&store, sparql);
                theirs.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            views.push((name, median(ours), median(theirs), sql_rows, sparql_count));
        }
        (discovery, views)
    });

    println!("# SQL benchmark: GROUP BY over flights-100k, {runs} runs each, medians");
    println!("| measure | SAIL-KG session | bare DataFusion | ratio |\n|---|---:|---:|---:|");
    println!("| aggregate query | {ours:.2} ms | {bare:.2} ms | {:.2} |", ours / bare);
    println!("| session build (catalogue + tables) | {build:.1} ms | | |");
    println!(
        "\n# Class view kg.flight ({instances} instances, 5 properties) vs the same SPARQL query, medians"
    );
    println!("| query | class view | SPARQL | ratio | rows (SQL / SPARQL) |\n|---|---:|---:|---:|---:|");
    for (name, ours, theirs, sql_rows, sparql_count) in &views {
        println!(
            "| {name} | {ours:.1} ms | {theirs:.1} ms | {:.2} | {sql_rows} / {sparql_count} |",
            ours / theirs
        );
    }
    println!("| column discovery (first use, then cached) | {discovery:.1} ms | | | |");
    support::write_results(
        "sql",
        &json!({
            "runs": runs, "query_ms": ours, "bare_query_ms": bare, "ratio": ours / bare, "session_build_ms": build,
            "class_view": {
                "instances": instances,
                "discovery_ms": discovery,
                "queries": views.iter().map(|(name, ours, theirs, sql_rows, sparql_count)| json!({
                    "query": name, "view_ms": ours, "sparql_ms": theirs, "ratio": ours / theirs,
                    "sql_rows": sql_rows, "sparql_rows": sparql_count,
                })).collect::<Vec<_>>(),
            },
        }),
    );
}
