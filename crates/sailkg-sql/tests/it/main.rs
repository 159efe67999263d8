//! The `.slt` files in `tests/slt` (sqllogictest) run against one session over a data directory
//! holding the demo airports table and the graph of `tests/slt/kg.ttl`.

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use sailkg_store::{LoadInput, Store};
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn slt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt")
}

/// A data directory with `airports` ingested and `kg.ttl` loaded.
fn data() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), sailkg_core::LoadConfig::default()).unwrap();
    let options = sailkg_ingest::IngestOptions::default();
    sailkg_ingest::ingest(&store, &shared().join("data/demo/airports.csv"), &options).unwrap();
    let file = slt_dir().join("kg.ttl");
    let input = LoadInput {
        name: file.display().to_string(),
        reader: Box::new(std::fs::File::open(&file).unwrap()),
        format: sailkg_store::RdfFormat::Turtle,
        base_iri: None,
    };
    let graph = oxigraph::model::NamedNode::new("urn:sailkg:graph:source/storms/1").unwrap();
    store.load_small(vec![input], &graph.into(), false).unwrap();
    (dir, store)
}

struct Db {
    ctx: Arc<SessionContext>,
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = sailkg_sql::SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Self::Error> {
        let frame = self.ctx.sql_with_options(sql, sailkg_sql::read_only()).await?;
        let types: Vec<DefaultColumnType> = frame
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64 => DefaultColumnType::Integer,
                DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
                    DefaultColumnType::FloatingPoint
                }
                _ => DefaultColumnType::Text,
            })
            .collect();
        let batches = tokio::time::timeout(Duration::from_secs(60), frame.collect())
            .await
            .map_err(|_| sailkg_sql::SqlError::Timeout(60))??;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(datafusion::error::DataFusionError::from)?;
            for row in 0..batch.num_rows() {
                rows.push(formatters.iter().map(|f| f.value(row).to_string()).collect());
            }
        }
        if types.is_empty() { Ok(DBOutput::StatementComplete(0)) } else { Ok(DBOutput::Rows { types, rows }) }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "sailkg"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_files() {
    let (_dir, store) = data();
    let ctx = Arc::new(sailkg_sql::session(&store, Duration::from_secs(30)).unwrap());
    let mut files: Vec<PathBuf> = std::fs::read_dir(slt_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let ctx = Arc::clone(&ctx);
        let mut runner = sqllogictest::Runner::new(move || {
            let ctx = Arc::clone(&ctx);
            async move { Ok(Db { ctx }) }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
