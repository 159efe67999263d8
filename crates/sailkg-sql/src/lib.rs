//! SAIL-KG SQL: one DataFusion session over
//!
//! - `source.<name>` — the newest version of every catalogued table (cleansed Parquet), and
//!   `source."<name>@<version>"` for every version;
//! - `meta.datasets` and `meta.columns` — the catalogue with the column profiles;
//! - `sparql('SELECT ...')` — a SPARQL query's solutions as a table, to join the graph with tables.
//!
//! The session is built in one place ([`session`]) so that another engine (Ballista) can take
//! its place. Statements are read-only: DDL, DML and `SET`-like statements are refused.

use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{CatalogProvider, TableProvider};
use datafusion::catalog::{
    MemoryCatalogProvider, MemorySchemaProvider, TableFunctionArgs, TableFunctionImpl,
};
use datafusion::datasource::MemTable;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::logical_expr::Expr;
use datafusion::prelude::ParquetReadOptions;
use datafusion::scalar::ScalarValue;
use oxigraph::model::Term;
use oxigraph::sparql::QueryResults;
use sailkg_store::{QueryRequest, Store};
use std::sync::Arc;
use std::time::Duration;

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// DataFusion refused or failed the statement (parse errors carry their position).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// The catalogue could not be read.
    #[error(transparent)]
    Ingest(#[from] sailkg_ingest::IngestError),
    /// The statement ran past its time.
    #[error("the statement ran past {0} s")]
    Timeout(u64),
    /// The runtime could not start.
    #[error("{0}")]
    Runtime(String),
    /// The result has more rows than allowed.
    #[error("the result has more than {0} rows; add a LIMIT")]
    TooManyRows(usize),
}

impl SqlError {
    /// Whether the user can fix it.
    pub fn is_user_error(&self) -> bool {
        match self {
            SqlError::Ingest(e) => e.is_user_error(),
            SqlError::Runtime(_) => false,
            _ => true,
        }
    }
}

/// Result with [`SqlError`].
pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// The catalog all schemas live in.
pub const CATALOG: &str = "sailkg";

/// Builds the session over `store`: tables, catalogue and the `sparql()` function.
pub async fn session(store: &Store, sparql_timeout: Duration) -> Result<SessionContext> {
    let config =
        SessionConfig::new().with_information_schema(true).with_default_catalog_and_schema(CATALOG, "source");
    let ctx = SessionContext::new_with_config(config);
    let catalog = MemoryCatalogProvider::new();
    for schema in ["source", "meta"] {
        catalog.register_schema(schema, Arc::new(MemorySchemaProvider::new()))?;
    }
    ctx.register_catalog(CATALOG, Arc::new(catalog));
    let datasets = sailkg_ingest::list_datasets(store)?;
    let tables = store.data_dir().join("tables");
    let mut column_rows: Vec<(String, String, sailkg_ingest::ColumnProfile)> = Vec::new();
    for dataset in &datasets {
        let dir = tables.join(&dataset.name);
        let mut versions: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.strip_suffix(".parquet").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        versions.sort();
        for version in &versions {
            let path = dir.join(format!("{version}.parquet"));
            let path = path.to_string_lossy().into_owned();
            let name =
                datafusion::common::TableReference::partial("source", format!("{}@{version}", dataset.name));
            ctx.register_parquet(name, &path, ParquetReadOptions::default()).await?;
            if *version == dataset.latest_version {
                let latest = datafusion::common::TableReference::partial("source", dataset.name.as_str());
                ctx.register_parquet(latest, &path, ParquetReadOptions::default()).await?;
            }
        }
        if let Some((_, columns)) = sailkg_ingest::show_dataset(store, &dataset.name)? {
            column_rows.extend(
                columns.into_iter().map(|c| (dataset.name.clone(), dataset.latest_version.clone(), c)),
            );
        }
    }
    ctx.register_table(
        datafusion::common::TableReference::partial("meta", "datasets"),
        datasets_table(&datasets)?,
    )?;
    ctx.register_table(
        datafusion::common::TableReference::partial("meta", "columns"),
        columns_table(&column_rows)?,
    )?;
    ctx.register_udtf("sparql", Arc::new(SparqlFunction { store: store.clone(), timeout: sparql_timeout }));
    Ok(ctx)
}

fn strings(values: impl IntoIterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<StringArray>())
}

fn datasets_table(datasets: &[sailkg_ingest::DatasetSummary]) -> Result<Arc<dyn TableProvider>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("latest_version", DataType::Utf8, false),
        Field::new("versions", DataType::UInt64, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("issued", DataType::Utf8, false),
        Field::new("format", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            strings(datasets.iter().map(|d| Some(d.name.clone()))),
            strings(datasets.iter().map(|d| Some(d.latest_version.clone()))),
            Arc::new(datasets.iter().map(|d| d.versions).collect::<UInt64Array>()),
            Arc::new(datasets.iter().map(|d| d.rows).collect::<UInt64Array>()),
            strings(datasets.iter().map(|d| Some(d.issued.clone()))),
            strings(datasets.iter().map(|d| Some(d.format.clone()))),
        ],
    )
    .map_err(datafusion::error::DataFusionError::from)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

fn columns_table(rows: &[(String, String, sailkg_ingest::ColumnProfile)]) -> Result<Arc<dyn TableProvider>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("version", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("datatype", DataType::Utf8, false),
        Field::new("null_share", DataType::Float64, false),
        Field::new("distinct_count", DataType::UInt64, false),
        Field::new("min", DataType::Utf8, true),
        Field::new("max", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            strings(rows.iter().map(|r| Some(r.0.clone()))),
            strings(rows.iter().map(|r| Some(r.1.clone()))),
            strings(rows.iter().map(|r| Some(r.2.name.clone()))),
            strings(rows.iter().map(|r| Some(r.2.datatype.clone()))),
            Arc::new(rows.iter().map(|r| r.2.null_share).collect::<Float64Array>()),
            Arc::new(rows.iter().map(|r| r.2.distinct).collect::<UInt64Array>()),
            strings(rows.iter().map(|r| r.2.min.clone())),
            strings(rows.iter().map(|r| r.2.max.clone())),
        ],
    )
    .map_err(datafusion::error::DataFusionError::from)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

/// `sparql('SELECT ...')`: the solutions as a table of text columns, one per variable (IRIs as
/// IRIs, literals by their lexical form).
struct SparqlFunction {
    store: Store,
    timeout: Duration,
}

impl std::fmt::Debug for SparqlFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sparql()")
    }
}

impl TableFunctionImpl for SparqlFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        let query = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(query)) | ScalarValue::LargeUtf8(Some(query)), _)] => {
                query.clone()
            }
            _ => return datafusion::common::plan_err!("sparql() takes one string: a SPARQL SELECT query"),
        };
        let budget = self.store.budget(self.timeout);
        let request = QueryRequest { query: &query, union_default_graph: true, ..Default::default() };
        let results = self
            .store
            .query(&request, &budget)
            .map_err(|e| datafusion::error::DataFusionError::Plan(format!("sparql(): {e}")))?;
        let QueryResults::Solutions(solutions) = results else {
            return datafusion::common::plan_err!("sparql() needs a SELECT query");
        };
        let variables: Vec<String> = solutions.variables().iter().map(|v| v.as_str().to_owned()).collect();
        let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); variables.len()];
        for solution in solutions {
            let solution = solution
                .map_err(|e| datafusion::error::DataFusionError::Execution(format!("sparql(): {e}")))?;
            for (i, column) in columns.iter_mut().enumerate() {
                column.push(solution.get(variables[i].as_str()).map(|t| match t {
                    Term::NamedNode(n) => n.as_str().to_owned(),
                    Term::BlankNode(b) => format!("_:{}", b.as_str()),
                    Term::Literal(l) => l.value().to_owned(),
                }));
            }
        }
        let schema = Arc::new(Schema::new(
            variables.iter().map(|v| Field::new(v, DataType::Utf8, true)).collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = columns.into_iter().map(strings).collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// Runs one read-only statement and collects its batches, within `timeout` and `max_rows`.
pub async fn run(
    ctx: &SessionContext,
    sql: &str,
    timeout: Duration,
    max_rows: usize,
) -> Result<Vec<RecordBatch>> {
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let work = async {
        let frame = ctx.sql_with_options(sql, options).await?;
        let batches = frame.collect().await?;
        Ok::<_, SqlError>(batches)
    };
    let batches =
        tokio::time::timeout(timeout, work).await.map_err(|_| SqlError::Timeout(timeout.as_secs()))??;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows > max_rows {
        return Err(SqlError::TooManyRows(max_rows));
    }
    Ok(batches)
}

/// Batches as CSV (with a header).
pub fn to_csv(batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
        for batch in batches {
            writer.write(batch).map_err(datafusion::error::DataFusionError::from)?;
        }
    }
    Ok(out)
}

/// Batches as a JSON array of row objects.
pub fn to_json(batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    writer.write_batches(&refs).map_err(datafusion::error::DataFusionError::from)?;
    writer.finish().map_err(datafusion::error::DataFusionError::from)?;
    let mut out = writer.into_inner();
    if out.is_empty() {
        out.extend_from_slice(b"[]");
    }
    Ok(out)
}

/// Batches as an Arrow IPC stream.
pub fn to_arrow_ipc(batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let Some(first) = batches.first() else { return Ok(Vec::new()) };
    let mut writer = datafusion::arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &first.schema())
        .map_err(datafusion::error::DataFusionError::from)?;
    for batch in batches {
        writer.write(batch).map_err(datafusion::error::DataFusionError::from)?;
    }
    writer.finish().map_err(datafusion::error::DataFusionError::from)?;
    Ok(writer.into_inner().map_err(datafusion::error::DataFusionError::from)?)
}

/// Batches as a text table.
pub fn to_table(batches: &[RecordBatch]) -> Result<String> {
    Ok(datafusion::arrow::util::pretty::pretty_format_batches(batches)
        .map_err(datafusion::error::DataFusionError::from)?
        .to_string())
}

#[cfg(test)]
mod tests;
