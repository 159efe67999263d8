//! Training speed of the neural generators on the CPU backend against CUDA, on one table: a
//! small stand-alone binary to copy to a GPU machine (no registry, no data directory needed).
//!
//! Build: `cargo build --release -p sailkg-neural --features cuda --example neural_device`
//! (add `-C strip=symbols`, e.g. `RUSTFLAGS="-C strip=symbols"`, for a small binary).
//! Run: `neural_device TABLE.csv [EPOCHS] [BATCH]`: trains TVAE, CTGAN and diffusion for
//! EPOCHS (default 20) on the CPU, then on CUDA when built with it, and prints seconds per epoch,
//! the speed-up and one JSON line per model.

use sailkg_gen::{Condition, Constraints, Synthesizer, Table};
use sailkg_neural::{Device, Kind, Options};
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn read(path: &str) -> Result<Table, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let (schema, _) = arrow_csv::reader::Format::default()
        .with_header(true)
        .infer_schema(std::io::BufReader::new(&file), Some(10_000))
        .map_err(|e| format!("{path}: {e}"))?;
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let reader = arrow_csv::ReaderBuilder::new(Arc::new(schema))
        .with_header(true)
        .build(file)
        .map_err(|e| format!("{path}: {e}"))?;
    let batches: Vec<_> = reader.collect::<Result<_, _>>().map_err(|e| format!("{path}: {e}"))?;
    Table::from_batches(&batches).map_err(|e| format!("{path}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: neural_device TABLE.csv [EPOCHS] [BATCH]");
        std::process::exit(2);
    };
    let epochs = args.get(2).and_then(|e| e.parse().ok()).unwrap_or(20);
    let batch_size = args.get(3).and_then(|b| b.parse().ok()).unwrap_or(500);
    let table = match read(path) {
        Ok(table) => table,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("{} rows × {} columns, {epochs} epochs, batch {batch_size}", table.rows(), table.columns.len());
    println!("{:<10} {:>12} {:>12} {:>9}", "model", "cpu s/epoch", "cuda s/epoch", "speed-up");
    for kind in [Kind::Tvae, Kind::Ctgan, Kind::Diffusion] {
        let time = |device: Device| {
            let options = Options { epochs, batch_size, patience: 0, seed: 1, device, ..Options::default() };
            sailkg_neural::fit(kind, &table, &Constraints::default(), &options, &mut |_| {}).map(|model| {
                let rows = model.sample(1000, &Condition::default(), 1).map(|s| s.table.rows()).unwrap_or(0);
                (model.report.seconds_per_epoch, rows)
            })
        };
        let cpu = time(Device::Cpu);
        let cuda = time(Device::Cuda);
        let cell = |r: &Result<(f64, usize), sailkg_gen::GenError>| match r {
            Ok((s, _)) => format!("{s:.4}"),
            Err(_) => "-".into(),
        };
        let speedup = match (&cpu, &cuda) {
            (Ok((c, _)), Ok((g, _))) => format!("{:.1}x", c / g),
            _ => "-".into(),
        };
        println!("{:<10} {:>12} {:>12} {:>9}", kind.name(), cell(&cpu), cell(&cuda), speedup);
        let json = serde_json::json!({
            "model": kind.name(), "rows": table.rows(), "epochs": epochs, "batch_size": batch_size,
            "cpu_seconds_per_epoch": cpu.as_ref().ok().map(|r| r.0),
            "cuda_seconds_per_epoch": cuda.as_ref().ok().map(|r| r.0),
            "cuda_error": cuda.as_ref().err().map(|e| e.to_string()),
        });
        eprintln!("{json}");
    }
}
