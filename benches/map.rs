//! Mapping benchmark: `sailkg-map` side by side with Morph-KGC on the same RML mapping and data,
//! writing N-Triples, each run in its own process (peak RSS is its own).
//!
//! Inputs: `flights-100k.parquet` (6 triples per row), a generated 1M-row CSV (5 per row) and a
//! generated JSON document of 500k nested records in one array (4 per record; SAIL-KG streams
//! the array).
//! Morph-KGC runs from the Python given by SAILKG_MORPH_PYTHON (default `python3`; install it
//! with `pip install morph-kgc`, e.g. in a virtual environment); without it only SAIL-KG runs.
//!
//! Run with `cargo bench --workspace --bench map`; prints a table and writes
//! `benches/results/map.json`. SAILKG_BENCH_RUNS sets the runs per variant (default 3),
//! SAILKG_BENCH_ROWS the generated CSV's rows (default 1000000).

#[path = "support.rs"]
mod support;

use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

// The allocator the sailkg binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CSV_MAPPING: &str = r#"@prefix rr: <http://www.w3.org/ns/r2rml#> .
@prefix rml: <http://semweb.mmlab.be/ns/rml#> .
@prefix ql: <http://semweb.mmlab.be/ns/ql#> .
@prefix ex: <http://example.com/> .
<#Items> rml:logicalSource [ rml:source "INPUT" ; rml:referenceFormulation ql:CSV ] ;
  rr:subjectMap [ rr:template "http://example.com/item/{id}" ; rr:class ex:Item ] ;
  rr:predicateObjectMap [ rr:predicate ex:name ; rr:objectMap [ rml:reference "name" ] ] ,
    [ rr:predicate ex:category ; rr:objectMap [ rr:template "http://example.com/category/{category}" ] ] ,
    [ rr:predicate ex:amount ; rr:objectMap [ rml:reference "amount" ; rr:datatype <http://www.w3.org/2001/XMLSchema#integer> ] ] ,
    [ rr:predicate ex:score ; rr:objectMap [ rml:reference "score" ; rr:datatype <http://www.w3.org/2001/XMLSchema#decimal> ] ] .
"#;

const JSON_MAPPING: &str = r#"@prefix rr: <http://www.w3.org/ns/r2rml#> .
@prefix rml: <http://semweb.mmlab.be/ns/rml#> .
@prefix ql: <http://semweb.mmlab.be/ns/ql#> .
@prefix ex: <http://example.com/> .
<#Readings> rml:logicalSource [ rml:source "INPUT" ; rml:referenceFormulation ql:JSONPath ; rml:iterator "$.readings[*]" ] ;
  rr:subjectMap [ rr:template "http://example.com/reading/{id}" ; rr:class ex:Reading ] ;
  rr:predicateObjectMap [ rr:predicate ex:sensor ; rr:objectMap [ rr:template "http://example.com/sensor/{sensor.name}" ] ] ,
    [ rr:predicate ex:value ; rr:objectMap [ rml:reference "value" ] ] ,
    [ rr:predicate ex:unit ; rr:objectMap [ rml:reference "sensor.unit" ] ] .
"#;

const FLIGHTS_MAPPING: &str = r#"@prefix rr: <http://www.w3.org/ns/r2rml#> .
@prefix rml: <http://semweb.mmlab.be/ns/rml#> .
@prefix ql: <http://semweb.mmlab.be/ns/ql#> .
@prefix ex: <http://example.com/> .
<#Flights> rml:logicalSource [ rml:source "INPUT" ; rml:referenceFormulation ql:CSV ] ;
  rr:subjectMap [ rr:template "http://example.com/flight/{date}/{origin}/{destination}" ; rr:class ex:Flight ] ;
  rr:predicateObjectMap [ rr:predicate ex:origin ; rr:objectMap [ rr:template "http://example.com/airport/{origin}" ] ] ,
    [ rr:predicate ex:destination ; rr:objectMap [ rr:template "http://example.com/airport/{destination}" ] ] ,
    [ rr:predicate ex:delay ; rr:objectMap [ rml:reference "delay" ; rr:datatype <http://www.w3.org/2001/XMLSchema#integer> ] ] ,
    [ rr:predicate ex:distance ; rr:objectMap [ rml:reference "distance" ; rr:datatype <http://www.w3.org/2001/XMLSchema#integer> ] ] ,
    [ rr:predicate ex:date ; rr:objectMap [ rml:reference "date" ] ] .
"#;

fn main() {
    if let Some((a, b)) = support::child_args() {
        child(&a, &b);
        return;
    }
    let runs: usize = std::env::var("SAILKG_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let rows: usize =
        std::env::var("SAILKG_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let python = std::env::var("SAILKG_MORPH_PYTHON").unwrap_or_else(|_| "python3".into());
    let morph =
        Command::new(&python).args(["-c", "import morph_kgc"]).output().is_ok_and(|o| o.status.success());
    let shared = support::shared();
    let work = tempfile::tempdir().expect("temp dir");
    let csv = work.path().join("generated.csv");
    generate_csv(&csv, rows);
    let json = work.path().join("generated.json");
    generate_json(&json, rows / 2);
    let flights = work.path().join("flights-100k.parquet");
    std::fs::copy(shared.join("data/demo/flights-100k.parquet"), &flights).expect("copy flights");
    let cases = [
        ("flights-100k.parquet", &flights, FLIGHTS_MAPPING),
        ("generated.csv", &csv, CSV_MAPPING),
        ("generated.json", &json, JSON_MAPPING),
    ];
    println!("# Mapping benchmark, {runs} runs each, medians; N-Triples output");
    if !morph {
        println!("(Morph-KGC not found with {python}: set SAILKG_MORPH_PYTHON)");
    }
    println!(
        "| input | triples | sailkg (triples/s) | sailkg RSS (MB) | Morph-KGC (triples/s) | Morph-KGC RSS (MB) | speed ratio | memory ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut results = Vec::new();
    for (name, input, mapping) in cases {
        let mapping_path = work.path().join(format!("{name}.ttl"));
        std::fs::write(&mapping_path, mapping.replace("INPUT", &input.display().to_string()))
            .expect("mapping");
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for run in 0..runs {
            // Each run starts with the previous runs' output flushed to disk and removed, so
            // neither engine pays for the other's write-back.
            let out = work.path().join(format!("sailkg-{run}.nt"));
            settle();
            ours.push(measure_sailkg(&mapping_path, &out));
            std::fs::remove_file(&out).ok();
            if morph {
                let out = work.path().join(format!("morph-{run}.nt"));
                settle();
                theirs.push(measure_morph(&python, &mapping_path, &out, work.path()));
                std::fs::remove_file(&out).ok();
            }
        }
        let (triples, seconds, rss) = support::median(&mut ours);
        let line = if morph {
            let (their_triples, their_seconds, their_rss) = support::median(&mut theirs);
            assert_eq!(triples, their_triples, "{name}: both must produce the same triples");
            results.push(json!({
                "input": name, "triples": triples,
                "sailkg_seconds": seconds, "sailkg_triples_per_s": triples as f64 / seconds, "sailkg_peak_rss_mb": rss,
                "morph_seconds": their_seconds, "morph_triples_per_s": triples as f64 / their_seconds, "morph_peak_rss_mb": their_rss,
                "speed_ratio": their_seconds / seconds, "memory_ratio": their_rss / rss,
            }));
            format!(
                "| {name} | {triples} | {:.0} | {rss:.0} | {:.0} | {their_rss:.0} | {:.1} | {:.1} |",
                triples as f64 / seconds,
                triples as f64 / their_seconds,
                their_seconds / seconds,
                their_rss / rss
            )
        } else {
            results.push(json!({
                "input": name, "triples": triples,
                "sailkg_seconds": seconds, "sailkg_triples_per_s": triples as f64 / seconds, "sailkg_peak_rss_mb": rss,
            }));
            format!("| {name} | {triples} | {:.0} | {rss:.0} | - | - | - | - |", triples as f64 / seconds)
        };
        println!("{line}");
    }
    support::write_results("map", &json!({ "runs": runs, "results": results }));
}

/// `{"readings": [{"id": .., "value": .., "sensor": {"name": .., "unit": ..}}, ...]}`: nested
/// records in one large array.
fn generate_json(path: &Path, records: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create"));
    write!(out, "{{\"readings\": [").expect("write");
    for i in 0..records {
        if i > 0 {
            write!(out, ",").expect("write");
        }
        write!(
            out,
            "{{\"id\": {i}, \"value\": {:.2}, \"sensor\": {{\"name\": \"s{}\", \"unit\": \"{}\"}}}}",
            (i % 1000) as f64 / 3.0,
            i % 500,
            ["C", "hPa", "%"][i % 3]
        )
        .expect("write");
    }
    writeln!(out, "]}}").expect("write");
    out.flush().expect("flush");
}

/// Flushes dirty pages to disk.
fn settle() {
    let _ = Command::new("sync").status();
}

fn generate_csv(path: &Path, rows: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(out, "id,name,category,amount,score").expect("write");
    let categories = ["alpha", "beta", "gamma", "delta", "rare"];
    for i in 0..rows {
        writeln!(
            out,
            "{i},name {},{},{},{:.3}",
            i % 10_000,
            categories[i % 5],
            i % 900,
            (i % 1000) as f64 / 7.0
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Distinct triples (lines) of an N-Triples file: Morph-KGC removes duplicate triples, SAIL-KG
/// streams them out (the store merges them), so the outputs are compared as sets.
fn lines(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("output");
    let distinct: std::collections::HashSet<&[u8]> =
        bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    distinct.len() as u64
}

/// (triples, seconds, peak RSS MB) of the engine in a child process.
fn measure_sailkg(mapping: &Path, out: &Path) -> (u64, f64, f64) {
    let output = Command::new(std::env::current_exe().expect("exe"))
        .arg("--child")
        .arg(mapping)
        .arg(out)
        .output()
        .expect("child");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    (lines(out), parts[0].parse().expect("seconds"), parts[1].parse::<f64>().expect("rss") / 1024.0)
}

/// The same for Morph-KGC, timed and measured by `/usr/bin/time` around its command line.
fn measure_morph(python: &str, mapping: &Path, out: &Path, dir: &Path) -> (u64, f64, f64) {
    let config = dir.join("morph.ini");
    std::fs::write(
        &config,
        format!(
            "[CONFIGURATION]\noutput_file = {}\noutput_format = N-TRIPLES\n[DataSource1]\nmappings = {}\n",
            out.display(),
            mapping.display()
        ),
    )
    .expect("config");
    let output = Command::new("/usr/bin/time")
        .args(["-f", "TIME %e %M", python, "-m", "morph_kgc"])
        .arg(&config)
        .output()
        .expect("morph");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let line = stderr.lines().rev().find(|l| l.starts_with("TIME ")).expect("time output");
    let parts: Vec<&str> = line.split_whitespace().collect();
    (lines(out), parts[1].parse().expect("seconds"), parts[2].parse::<f64>().expect("rss") / 1024.0)
}

fn child(mapping: &Path, out: &Path) {
    let start = Instant::now();
    let mapping =
        sailkg_map::Mapping::from_file(mapping, &sailkg_map::MapOptions::default()).expect("mapping");
    sailkg_map::map_to_file(&mapping, out, &|name| Err(format!("no table {name}"))).expect("run");
    let seconds = start.elapsed().as_secs_f64();
    let peak = support::peak_rss_kib();
    println!("{seconds} {peak}");
}
