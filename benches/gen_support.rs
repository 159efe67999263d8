//! What the generation benchmarks share: tables from CSV files and the rows of one class.
#![allow(dead_code)]

use sailkg_gen::Table;

/// A CSV file as a generator table, its schema inferred from every row.
pub fn read_csv(path: &str) -> Table {
    use arrow_csv::reader::{Format, ReaderBuilder};
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (schema, _) = Format::default().with_header(true).infer_schema(&file, None).expect("schema");
    let file = std::fs::File::open(path).expect("reopen");
    let reader =
        ReaderBuilder::new(std::sync::Arc::new(schema)).with_header(true).build(file).expect("reader");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("rows");
    Table::from_batches(&batches).expect("table")
}

/// The rows of one class of `target`.
pub fn class_rows(table: &Table, target: &str, class: &str) -> Table {
    let p = table.position(target).expect("target");
    let rows: Vec<usize> =
        (0..table.rows()).filter(|&r| table.columns[p].text(r).as_deref() == Some(class)).collect();
    table.select(&rows)
}

/// Runs `benches/peers/generation_peers.py` with `peers` and returns its manifest.
pub fn run_peers(out: &std::path::Path, epochs: &str, peers: &str) -> serde_json::Value {
    let python = std::env::var("SAILKG_PEERS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/peers/generation_peers.py");
    eprintln!("running the peers ({python} {} … {peers}) ...", script.display());
    let status = std::process::Command::new(&python)
        .arg(&script)
        .arg(crate::support::shared())
        .arg(out)
        .arg(epochs)
        .arg(peers)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the peers' script");
    if !status.success() {
        eprintln!(
            "the peers failed: this benchmark needs `pip install sdv imbalanced-learn` (SAILKG_PEERS_PYTHON)"
        );
        std::process::exit(1);
    }
    serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).expect("manifest"))
        .expect("json")
}
