//! SHACL validation benchmark: `sailkg_store::shacl::validate` (gathering from the store, then
//! rudof's engine) side by side with pySHACL on the same data and shapes, each run in its own
//! process. The two must find the same number of violations, or the run fails.
//!
//! The data: SAILKG_BENCH_ROWS observations (default 20000) of a subclass of the target class,
//! each with a value, a count, a code, a station (typed) and a label; about one in twenty breaks
//! one of seven constraints (range, datatype, cardinality, pattern, class, `sh:in`).
//! pySHACL runs from the Python given by SAILKG_PYSHACL_PYTHON (default `python3`; install it with
//! `pip install pyshacl`, e.g. in a virtual environment); without it only SAIL-KG runs. Its time is
//! that of `pyshacl.validate` alone, on a graph already parsed; ours is gathering plus validation
//! on a store already loaded.
//!
//! Run with `cargo bench -p sailkg-store --bench shacl`; prints a table and writes
//! `benches/results/shacl.json`. SAILKG_BENCH_RUNS sets the runs per side (default 3).

#[path = "support.rs"]
mod support;

use sailkg_store::shacl;
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const SHAPES: &str = r#"@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/bench#> .
ex:RecordShape a sh:NodeShape ; sh:targetClass ex:Record ;
  sh:property [ sh:path ex:value ; sh:minInclusive 0 ; sh:maxInclusive 100 ] ;
  sh:property [ sh:path ex:count ; sh:datatype xsd:integer ; sh:maxCount 1 ] ;
  sh:property [ sh:path ex:code ; sh:pattern "^[A-Z]{3}[0-9]$" ] ;
  sh:property [ sh:path ex:station ; sh:class ex:Station ; sh:minCount 1 ] ;
  sh:property [ sh:path ex:kind ; sh:in ( "rain" "snow" "hail" ) ] .
"#;

const PYSHACL: &str = r#"
import sys, time
import rdflib, pyshacl
data = rdflib.Graph().parse(sys.argv[1], format="nt")
shapes = rdflib.Graph().parse(sys.argv[2], format="turtle")
start = time.perf_counter()
conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=False)
seconds = time.perf_counter() - start
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
results = len(list(report.subjects(rdflib.RDF.type, SH.ValidationResult)))
import resource
print(seconds, results, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"#;

fn main() {
    if let Some((a, b)) = support::child_args() {
        child(&a, &b);
        return;
    }
    let rows: usize = std::env::var("SAILKG_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let runs: usize = std::env::var("SAILKG_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data.nt");
    let shapes = work.path().join("shapes.ttl");
    let triples = write_data(&data, rows);
    std::fs::write(&shapes, SHAPES).expect("shapes");

    let python = std::env::var("SAILKG_PYSHACL_PYTHON").unwrap_or_else(|_| "python3".into());
    let peer =
        Command::new(&python).args(["-c", "import pyshacl"]).output().is_ok_and(|o| o.status.success());
    if !peer {
        println!("(pySHACL not found with {python}: set SAILKG_PYSHACL_PYTHON)");
    }
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..runs {
        ours.push(measure(
            Command::new(std::env::current_exe().expect("exe")).arg("--child").arg(&data).arg(&shapes),
        ));
        if peer {
            theirs.push(measure(Command::new(&python).args(["-c", PYSHACL]).arg(&data).arg(&shapes)));
        }
    }
    let median = |runs: &[(f64, u64, f64)]| {
        let seconds = support::median_of(runs.iter().map(|r| r.0).collect());
        let rss = support::median_of(runs.iter().map(|r| r.2).collect());
        (seconds, runs[0].1, rss)
    };
    let (seconds, found, rss) = median(&ours);
    let mut table = String::new();
    writeln!(table, "| measure | SAIL-KG (rudof shacl) | pySHACL (same run) | ratio |").unwrap();
    writeln!(table, "|---|---:|---:|---:|").unwrap();
    let mut result = json!({
        "rows": rows, "triples": triples, "runs": runs,
        "sailkg_seconds": seconds, "sailkg_violations": found, "sailkg_peak_rss_mb": rss,
        "sailkg_focus_nodes_per_s": rows as f64 / seconds,
    });
    if peer {
        let (their_seconds, their_found, their_rss) = median(&theirs);
        assert_eq!(found, their_found, "the two engines disagree on the number of violations");
        writeln!(
            table,
            "| validate {rows} focus nodes ({triples} triples, {found} violations) | {seconds:.3} s, {rss:.0} MB | {their_seconds:.3} s, {their_rss:.0} MB | {:.1}× faster |",
            their_seconds / seconds
        )
        .unwrap();
        result["pyshacl_seconds"] = json!(their_seconds);
        result["pyshacl_violations"] = json!(their_found);
        result["pyshacl_peak_rss_mb"] = json!(their_rss);
        result["speedup"] = json!(their_seconds / seconds);
    } else {
        writeln!(table, "| validate {rows} focus nodes ({triples} triples, {found} violations) | {seconds:.3} s, {rss:.0} MB | | |").unwrap();
    }
    print!("{table}");
    support::write_results("shacl", &result);
}

/// (seconds, violations, peak RSS MB) printed by a child process as `seconds violations rss_kib`.
fn measure(command: &mut Command) -> (f64, u64, f64) {
    let output = command.output().expect("child");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    (
        parts[0].parse().expect("seconds"),
        parts[1].parse().expect("violations"),
        parts[2].parse::<f64>().expect("rss") / 1024.0,
    )
}

/// Loads the data into a fresh store (not timed), then validates it.
fn child(data: &Path, shapes: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sailkg_store::Store::open(dir.path(), sailkg_core::LoadConfig::default()).expect("store");
    let graph = sailkg_store::model::GraphName::NamedNode(sailkg_store::model::NamedNode::new_unchecked(
        "urn:sailkg:graph:source/bench/1",
    ));
    let input = sailkg_store::open_input(data, None, None).expect("data");
    store.bulk_load(vec![input], &graph, None).expect("load");
    let shapes = shacl::read_shapes(shapes).expect("shapes");
    let hierarchy: Vec<_> = store
        .oxigraph()
        .quads_for_pattern(None, Some(sailkg_store::model::vocab::rdfs::SUB_CLASS_OF), None, None)
        .map(|q| q.expect("quad").into())
        .collect();
    let start = Instant::now();
    let report =
        shacl::validate(&store, &shapes, &hierarchy, None, &shacl::Limits::default()).expect("validate");
    let seconds = start.elapsed().as_secs_f64();
    assert!(!report.truncated);
    println!("{seconds} {} {}", report.findings.len(), support::peak_rss_kib());
}

/// Writes `rows` observations as N-Triples; returns the number of triples.
fn write_data(path: &Path, rows: usize) -> usize {
    let ex = |local: &str| format!("<http://example.org/bench#{local}>");
    let rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>";
    let mut out = String::new();
    let mut triples = 0;
    let mut line = |s: String, p: String, o: String| {
        out.push_str(&format!("{s} {p} {o} .\n"));
        triples += 1;
    };
    line(ex("Observation"), "<http://www.w3.org/2000/01/rdf-schema#subClassOf>".into(), ex("Record"));
    for s in 0..50 {
        line(ex(&format!("st{s}")), rdf_type.into(), if s == 49 { ex("Buoy") } else { ex("Station") });
    }
    let integer = |v: i64| format!("\"{v}\"^^<http://www.w3.org/2001/XMLSchema#integer>");
    let decimal = |v: f64| format!("\"{v:.2}\"^^<http://www.w3.org/2001/XMLSchema#decimal>");
    for i in 0..rows {
        let s = ex(&format!("o{i}"));
        // One in twenty breaks one constraint, in turn.
        let broken = if i % 20 == 7 { Some((i / 20) % 7) } else { None };
        line(s.clone(), rdf_type.into(), ex("Observation"));
        let value = if broken == Some(0) { 140.0 + (i % 9) as f64 } else { (i % 97) as f64 + 0.5 };
        line(s.clone(), ex("value"), decimal(value));
        if broken == Some(1) {
            line(s.clone(), ex("count"), format!("\"{}\"", i % 13));
        } else {
            line(s.clone(), ex("count"), integer((i % 13) as i64));
        }
        if broken == Some(2) {
            line(s.clone(), ex("count"), integer(99));
        }
        let code = if broken == Some(3) { format!("\"x{}\"", i % 10) } else { format!("\"ABC{}\"", i % 10) };
        line(s.clone(), ex("code"), code);
        match broken {
            Some(4) => line(s.clone(), ex("station"), ex("st49")),
            Some(5) => {}
            _ => line(s.clone(), ex("station"), ex(&format!("st{}", i % 49))),
        }
        let kind = if broken == Some(6) { "fog" } else { ["rain", "snow", "hail"][i % 3] };
        line(s.clone(), ex("kind"), format!("\"{kind}\""));
        line(s, "<http://www.w3.org/2000/01/rdf-schema#label>".into(), format!("\"observation {i}\""));
    }
    std::fs::write(path, out).expect("data");
    triples
}
