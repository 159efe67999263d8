//! LUBM macro benchmark: SAIL-KG side by side with Oxigraph in the same run.
//!
//! 1. Bulk load of LUBM(10): Oxigraph's own bulk loader called directly, `sailkg load`, and
//!    `POST /store` on `sailkg serve` — throughput and peak RSS, each in its own process.
//! 2. Peak RSS of the server during a ~1 GB streamed upload.
//! 3. The 14 LUBM queries: in-process Oxigraph vs SAIL-KG over HTTP (JSON results), median
//!    latency and their ratio.
//! 4. 16 concurrent clients sending mixed LUBM queries: throughput, p50/p99 latency, errors.
//!
//! Prints a table and writes `benches/results/lubm.json`. Run with
//! `cargo bench -p sailkg-cli --bench lubm`. Environment: SAILKG_BENCH_RUNS (load runs, default 3),
//! SAILKG_BENCH_SECS (concurrency duration, default 30), SAILKG_BENCH_BIG_MB (size of the big
//! upload, default 1024; 0 skips it), SAILKG_BENCH_DATASET (lubm1 or lubm10, default lubm10).

use oxigraph::io::RdfFormat;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use serde_json::json;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-admin-token-0123456789";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child-oxigraph-load") {
        child_oxigraph_load(Path::new(&args[2]), Path::new(&args[3]));
        return;
    }
    let runs: usize = env_or("SAILKG_BENCH_RUNS", 3);
    let secs: u64 = env_or("SAILKG_BENCH_SECS", 30);
    let big_mb: u64 = env_or("SAILKG_BENCH_BIG_MB", 1024);
    let dataset = std::env::var("SAILKG_BENCH_DATASET").unwrap_or_else(|_| "lubm10".into());
    let shared = match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let lubm = shared.join("bench/lubm");
    let work = tempfile::tempdir().expect("temp dir");
    let nt = work.path().join(format!("{dataset}.nt"));
    {
        let mut input = flate2::read::GzDecoder::new(
            std::fs::File::open(lubm.join(format!("{dataset}.nt.gz"))).expect("dataset"),
        );
        let mut output = std::fs::File::create(&nt).expect("create");
        std::io::copy(&mut input, &mut output).expect("decompress");
    }
    let nt_bytes = std::fs::metadata(&nt).map(|m| m.len()).unwrap_or(0);
    println!(
        "# LUBM benchmark on {dataset} ({:.0} MB of N-Triples), {runs} runs each, medians",
        nt_bytes as f64 / 1e6
    );

    // 1. Bulk load.
    let mut oxigraph_runs = Vec::new();
    let mut cli_runs = Vec::new();
    let mut http_runs = Vec::new();
    let mut last_cli_dir = None;
    for run in 0..runs {
        let dir = work.path().join(format!("oxigraph-{run}"));
        oxigraph_runs.push(oxigraph_load(&nt, &dir));
        std::fs::remove_dir_all(&dir).ok();

        let dir = work.path().join(format!("cli-{run}"));
        cli_runs.push(cli_load(&nt, &dir));
        if let Some(previous) = last_cli_dir.replace(dir) {
            std::fs::remove_dir_all(previous).ok();
        }

        let dir = work.path().join(format!("http-{run}"));
        http_runs.push(http_load(&nt, &dir));
        std::fs::remove_dir_all(&dir).ok();
    }
    let load = |runs: &[LoadRun]| {
        let mut tps: Vec<f64> = runs.iter().map(|r| r.triples as f64 / r.seconds).collect();
        let mut rss: Vec<f64> = runs.iter().map(|r| r.peak_rss_mb).collect();
        (median(&mut tps), median(&mut rss), runs[0].triples)
    };
    let (ox_tps, ox_rss, triples) = load(&oxigraph_runs);
    let (cli_tps, cli_rss, _) = load(&cli_runs);
    let (http_tps, http_rss, _) = load(&http_runs);
    println!("\n## Bulk load of {triples} triples");
    println!("| path | triples/s | ratio to Oxigraph | peak RSS (MB) |");
    println!("|---|---:|---:|---:|");
    println!("| Oxigraph bulk loader (direct) | {ox_tps:.0} | 1.00 | {ox_rss:.0} |");
    println!("| sailkg load | {cli_tps:.0} | {:.2} | {cli_rss:.0} |", cli_tps / ox_tps);
    println!("| POST /store (sailkg serve) | {http_tps:.0} | {:.2} | {http_rss:.0} |", http_tps / ox_tps);

    // 2. A big streamed upload.
    let big = (big_mb > 0).then(|| big_upload(&work.path().join("big"), big_mb));
    if let Some(big) = &big {
        println!(
            "\n## Streamed upload of {:.0} MB ({} triples): {:.0} triples/s, server peak RSS {:.0} MB (sampled peaks: anonymous {:.0} MB, mapped files {:.0} MB)",
            big.bytes as f64 / 1e6,
            big.triples,
            big.triples as f64 / big.seconds,
            big.peak_rss_mb,
            big.peak_anon_mb,
            big.peak_file_mb
        );
    }

    // 3. Query latency, in-process Oxigraph vs HTTP.
    let data_dir = last_cli_dir.expect("a loaded store");
    let queries: Vec<(String, String)> = (1..=14)
        .map(|i| {
            let name = format!("q{i}");
            let text = std::fs::read_to_string(lubm.join(format!("queries/{name}.rq"))).expect("query");
            (name, text)
        })
        .collect();
    let mut in_process = Vec::new();
    {
        let store = oxigraph::store::Store::open(data_dir.join("store")).expect("open");
        for (_, text) in &queries {
            in_process.push(time_query(|| {
                let results =
                    SparqlEvaluator::new().parse_query(text).unwrap().on_store(&store).execute().unwrap();
                serialize_json(results)
            }));
        }
    }
    let server = Server::start(&data_dir);
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(600))).build().into();
    let mut over_http = Vec::new();
    for (_, text) in &queries {
        over_http.push(time_query(|| {
            let mut response = agent
                .post(&format!("{}/sparql", server.url))
                .header("Content-Type", "application/sparql-query")
                .header("Accept", "application/sparql-results+json")
                .send(text.as_str())
                .expect("query");
            response.body_mut().with_config().limit(1 << 32).read_to_vec().expect("body").len()
        }));
    }
    println!("\n## LUBM queries, median latency (ms)");
    println!("| query | JSON bytes | in-process Oxigraph | SAIL-KG over HTTP | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let mut query_rows = Vec::new();
    for (i, (name, _)) in queries.iter().enumerate() {
        let (a, b) = (in_process[i].0, over_http[i].0);
        println!("| {name} | {} | {:.2} | {:.2} | {:.2} |", in_process[i].1, a * 1e3, b * 1e3, b / a);
        query_rows.push(json!({"query": name, "bytes_json": in_process[i].1, "in_process_ms": a * 1e3, "http_ms": b * 1e3, "ratio": b / a}));
    }

    // 4. Concurrency.
    let concurrency = concurrent(&server.url, &queries, 16, Duration::from_secs(secs));
    println!(
        "\n## 16 concurrent clients, {secs} s of mixed LUBM queries\n{} requests, {:.1} req/s, p50 {:.1} ms, p99 {:.1} ms, errors {}",
        concurrency.requests,
        concurrency.throughput,
        concurrency.p50_ms,
        concurrency.p99_ms,
        concurrency.errors
    );
    drop(server);

    let report = json!({
        "dataset": dataset,
        "triples": triples,
        "runs": runs,
        "machine": format!("{} cores", std::thread::available_parallelism().map_or(0, |n| n.get())),
        "load": {
            "oxigraph_direct": {"triples_per_s": ox_tps, "peak_rss_mb": ox_rss},
            "sailkg_load": {"triples_per_s": cli_tps, "peak_rss_mb": cli_rss, "ratio": cli_tps / ox_tps},
            "post_store": {"triples_per_s": http_tps, "peak_rss_mb": http_rss, "ratio": http_tps / ox_tps},
        },
        "big_upload": big.as_ref().map(|b| json!({"bytes": b.bytes, "triples": b.triples, "seconds": b.seconds, "triples_per_s": b.triples as f64 / b.seconds, "server_peak_rss_mb": b.peak_rss_mb, "server_peak_anon_mb": b.peak_anon_mb, "server_peak_file_mb": b.peak_file_mb})),
        "queries": query_rows,
        "concurrency": {"clients": 16, "seconds": secs, "requests": concurrency.requests, "throughput_rps": concurrency.throughput, "p50_ms": concurrency.p50_ms, "p99_ms": concurrency.p99_ms, "errors": concurrency.errors},
    });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/results/lubm.json");
    std::fs::create_dir_all(out.parent().expect("parent")).ok();
    std::fs::write(&out, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("\nwrote {}", out.display());
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

struct LoadRun {
    triples: u64,
    seconds: f64,
    peak_rss_mb: f64,
}

/// Runs in a child process so its peak RSS is its own.
fn child_oxigraph_load(file: &Path, dir: &Path) {
    let store = oxigraph::store::Store::open(dir).expect("open");
    let start = Instant::now();
    let mut loader = store.bulk_loader();
    loader
        .load_from_reader(RdfFormat::NTriples, BufReader::new(std::fs::File::open(file).expect("file")))
        .expect("load");
    loader.commit().expect("commit");
    let seconds = start.elapsed().as_secs_f64();
    let triples = store.len().expect("len");
    println!("{triples} {seconds} {}", peak_rss_kb(std::process::id()));
}

fn oxigraph_load(file: &Path, dir: &Path) -> LoadRun {
    let output = Command::new(std::env::current_exe().expect("exe"))
        .arg("--child-oxigraph-load")
        .arg(file)
        .arg(dir)
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&output.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    LoadRun {
        triples: parts[0].parse().expect("triples"),
        seconds: parts[1].parse().expect("seconds"),
        peak_rss_mb: parts[2].parse::<f64>().expect("rss") / 1024.0,
    }
}

fn sailkg(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sailkg"));
    command.arg("--data").arg(data).env("SAILKG_LOG", "error").env("SAILKG_ADMIN_TOKEN", TOKEN);
    command
}

fn cli_load(file: &Path, dir: &Path) -> LoadRun {
    let output = sailkg(dir).args(["load", "--quiet", "--no-index"]).arg(file).output().expect("sailkg load");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // "loaded N triples from 1 file in S s (T triples/s), peak memory M MB"
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |w: &str| words.iter().position(|x| *x == w).map(|i| words[i + 1]).expect("field");
    let before = |w: &str| words.iter().position(|x| *x == w).map(|i| words[i - 1]).expect("field");
    LoadRun {
        triples: after("loaded").parse().expect("triples"),
        seconds: before("s").parse().expect("seconds"),
        peak_rss_mb: after("memory").parse().expect("memory"),
    }
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = sailkg(data)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("SAILKG_QUERY_TIMEOUT_SECS", "600")
            .env("SAILKG_WORKERS", "16")
            .stdout(Stdio::null())
            .spawn()
            .expect("serve");
        let url = format!("http://127.0.0.1:{port}");
        while ureq::get(&format!("{url}/health")).call().is_err() {
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url }
    }

    fn peak_rss_mb(&self) -> f64 {
        peak_rss_kb(self.child.id()) as f64 / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn upload(server: &Server, body: impl Read + Send + 'static) -> f64 {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(3600))).build().into();
    let start = Instant::now();
    let response = agent
        .post(&format!("{}/store?default", server.url))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/n-triples")
        .send(ureq::SendBody::from_owned_reader(body))
        .expect("upload");
    assert!(response.status().is_success(), "upload failed: {}", response.status());
    start.elapsed().as_secs_f64()
}

fn http_load(file: &Path, dir: &Path) -> LoadRun {
    let server = Server::start(dir);
    let seconds = upload(&server, std::fs::File::open(file).expect("file"));
    let peak_rss_mb = server.peak_rss_mb();
    let triples = count_triples(&server);
    LoadRun { triples, seconds, peak_rss_mb }
}

fn count_triples(server: &Server) -> u64 {
    let mut response = ureq::get(&format!("{}/sparql", server.url))
        .query("query", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
        .header("Accept", "text/csv")
        .call()
        .expect("count");
    let text = response.body_mut().read_to_string().expect("body");
    text.lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or(0)
}

struct BigUpload {
    bytes: u64,
    triples: u64,
    seconds: f64,
    peak_rss_mb: f64,
    peak_anon_mb: f64,
    peak_file_mb: f64,
}

/// Generates N-Triples on the fly, so neither side holds the upload.
struct Generator {
    next: u64,
    limit_bytes: u64,
    produced: u64,
    buffer: Vec<u8>,
    position: usize,
    counter: Arc<Mutex<(u64, u64)>>,
}

impl Read for Generator {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.position == self.buffer.len() {
            if self.produced >= self.limit_bytes {
                return Ok(0);
            }
            self.buffer.clear();
            self.position = 0;
            for _ in 0..1000 {
                let i = self.next;
                self.next += 1;
                let line = format!(
                    "<http://bench.example/entity/{i}> <http://bench.example/property/{}> \"value {i} of a generated literal, padded to look like real text\"@en .\n",
                    i % 50
                );
                self.buffer.extend_from_slice(line.as_bytes());
            }
            self.produced += self.buffer.len() as u64;
            if let Ok(mut c) = self.counter.lock() {
                *c = (self.produced, self.next);
            }
        }
        let n = out.len().min(self.buffer.len() - self.position);
        out[..n].copy_from_slice(&self.buffer[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// Samples a process's resident memory by kind until stopped: (peak anonymous, peak file-backed)
/// in MB. File-backed pages are mapped store files the kernel can drop at any time.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(f64, f64)> {
    std::thread::spawn(move || {
        let (mut anon, mut file) = (0u64, 0u64);
        while !stop.load(Ordering::Relaxed) {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let field = |name: &str| {
                    status
                        .lines()
                        .find(|l| l.starts_with(name))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                anon = anon.max(field("RssAnon:"));
                file = file.max(field("RssFile:"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (anon as f64 / 1024.0, file as f64 / 1024.0)
    })
}

fn big_upload(dir: &Path, megabytes: u64) -> BigUpload {
    let server = Server::start(dir);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(server.child.id(), Arc::clone(&stop));
    let counter = Arc::new(Mutex::new((0, 0)));
    let generator = Generator {
        next: 0,
        limit_bytes: megabytes << 20,
        produced: 0,
        buffer: Vec::new(),
        position: 0,
        counter: Arc::clone(&counter),
    };
    let seconds = upload(&server, generator);
    let peak_rss_mb = server.peak_rss_mb();
    stop.store(true, Ordering::Relaxed);
    let (peak_anon_mb, peak_file_mb) = sampler.join().expect("sampler");
    let (bytes, triples) = *counter.lock().expect("counter");
    drop(server);
    std::fs::remove_dir_all(dir).ok();
    BigUpload { bytes, triples, seconds, peak_rss_mb, peak_anon_mb, peak_file_mb }
}

fn serialize_json(results: QueryResults<'static>) -> usize {
    let mut out = Vec::new();
    match results {
        QueryResults::Solutions(solutions) => {
            let mut serializer = QueryResultsSerializer::from_format(QueryResultsFormat::Json)
                .serialize_solutions_to_writer(&mut out, solutions.variables().to_vec())
                .unwrap();
            for solution in solutions {
                serializer.serialize(&solution.unwrap()).unwrap();
            }
            serializer.finish().unwrap();
        }
        QueryResults::Boolean(b) => {
            QueryResultsSerializer::from_format(QueryResultsFormat::Json)
                .serialize_boolean_to_writer(&mut out, b)
                .unwrap();
        }
        QueryResults::Graph(_) => unreachable!("LUBM queries are SELECT queries"),
    }
    out.len()
}

/// Median seconds over runs after one warm-up: at least 5 runs, more for fast queries, up to
/// about 3 s of measuring.
fn time_query(mut run: impl FnMut() -> usize) -> (f64, usize) {
    let size = run();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < Duration::from_secs(3) && times.len() < 200) {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64());
    }
    (median(&mut times), size)
}

struct Concurrency {
    requests: usize,
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

fn concurrent(url: &str, queries: &[(String, String)], clients: usize, duration: Duration) -> Concurrency {
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let stop = Arc::clone(&stop);
            let latencies = Arc::clone(&latencies);
            let errors = Arc::clone(&errors);
            let queries = queries.to_vec();
            let url = url.to_owned();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(600)))
                    .build()
                    .into();
                let mut i = client;
                let mut local = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (_, text) = &queries[i % queries.len()];
                    i += 1;
                    let t = Instant::now();
                    let ok = agent
                        .post(&format!("{url}/sparql"))
                        .header("Content-Type", "application/sparql-query")
                        .header("Accept", "application/sparql-results+json")
                        .send(text.as_str())
                        .ok()
                        .filter(|r| r.status().is_success())
                        .and_then(|mut r| r.body_mut().with_config().limit(1 << 32).read_to_vec().ok())
                        .is_some();
                    if ok {
                        local.push(t.elapsed().as_secs_f64());
                    } else if let Ok(mut e) = errors.lock() {
                        *e += 1;
                    }
                }
                latencies.lock().expect("latencies").extend(local);
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = latencies.lock().expect("latencies").clone();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| {
        latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0) * 1e3
    };
    let errors = *errors.lock().expect("errors");
    Concurrency {
        requests: latencies.len() + errors,
        throughput: latencies.len() as f64 / elapsed,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        errors,
    }
}
