//! SAIL-KG SQL: one DataFusion session over
//!
//! - `source.<name>` — the newest version of every catalogued table (cleansed Parquet), and
//!   `source."<name>@<version>"` for every version;
//! - `synthetic.<run>` — the tables of generation runs (`tables/synthetic/{run}.parquet`);
//! - `meta.datasets`, `meta.columns` (with profiles), `meta.graphs`, `meta.runs`,
//!   `meta.classes`, `meta.class_columns` — the catalogue;
//! - `kg.<class>` — class views over the graph, scanned by SPARQL with projections, filters and
//!   limits pushed down (`kg.rs`);
//! - `sparql('SELECT ...')` — a SPARQL query's solutions as a table, to join the graph with tables.
//!
//! The schemas read the data directory when a statement names them, so one long-lived session
//! sees every change. The session is built in one place ([`session`]) so that another engine
//! (Ballista) can take its place; [`pg`] serves it over the PostgreSQL wire protocol.
//! Statements are read-only: DDL, DML and `SET`-like statements are refused.

mod kg;
pub mod pg;
mod schemas;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::datasource::MemTable;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::logical_expr::Expr;
use datafusion::scalar::ScalarValue;
use oxigraph::sparql::QueryResults;
use sailkg_store::{QueryRequest, Store};
use schemas::strings;
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

/// Builds the session over `store`: tables, synthetic tables, catalogue, class views and the
/// `sparql()` function. SPARQL run for a statement (class views, `sparql()`, the catalogue) stops
/// after `sparql_timeout`.
pub fn session(store: &Store, sparql_timeout: Duration) -> Result<SessionContext> {
    let config =
        SessionConfig::new().with_information_schema(true).with_default_catalog_and_schema(CATALOG, "source");
    let ctx = SessionContext::new_with_config(config);
    let catalog = MemoryCatalogProvider::new();
    let kg = Arc::new(kg::KgSchema::new(store.clone(), sparql_timeout));
    catalog.register_schema("source", Arc::new(schemas::SourceSchema::new(store.clone())))?;
    catalog.register_schema("synthetic", Arc::new(schemas::SyntheticSchema::new(store)))?;
    catalog.register_schema(
        "meta",
        Arc::new(schemas::MetaSchema::new(store.clone(), Arc::clone(&kg), sparql_timeout)),
    )?;
    catalog.register_schema("kg", kg)?;
    ctx.register_catalog(CATALOG, Arc::new(catalog));
    ctx.register_udtf("sparql", Arc::new(SparqlFunction { store: store.clone(), timeout: sparql_timeout }));
    Ok(ctx)
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
                column.push(solution.get(variables[i].as_str()).map(sailkg_store::term_text));
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

/// The options every statement runs with: no DDL, no DML, no `SET`.
pub fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

/// Runs one read-only statement and collects its batches, within `timeout` and `max_rows`.
pub async fn run(
    ctx: &SessionContext,
    sql: &str,
    timeout: Duration,
    max_rows: usize,
) -> Result<Vec<RecordBatch>> {
    let work = async {
        let frame = ctx.sql_with_options(sql, read_only()).await?;
        collect_limited(frame, max_rows).await
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| SqlError::Timeout(timeout.as_secs()))?
}

/// Collects a frame's batches, stopping with an error as soon as there are more than `max_rows`.
pub async fn collect_limited(
    frame: datafusion::dataframe::DataFrame,
    max_rows: usize,
) -> Result<Vec<RecordBatch>> {
    use futures::StreamExt;
    let mut stream = frame.execute_stream().await?;
    let mut batches = Vec::new();
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        if rows > max_rows {
            return Err(SqlError::TooManyRows(max_rows));
        }
        batches.push(batch);
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
