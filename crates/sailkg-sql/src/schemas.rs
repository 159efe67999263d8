//! The schemas over the data directory, read when a statement names them, so one long-lived
//! session sees every new table version, synthetic table and catalogue entry at once:
//!
//! - `source`: `name` is the newest version of a catalogued table, `"name@version"` any version;
//! - `synthetic`: one table per `tables/synthetic/{run}.parquet`;
//! - `meta`: `datasets`, `columns`, `graphs`, `runs`, `classes`, `class_columns`.

use crate::kg::KgSchema;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::DataFusionError;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use sailkg_store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Parquet tables, opened once per file: a version never changes once written.
#[derive(Debug, Default)]
struct ParquetCache(Mutex<HashMap<PathBuf, Arc<dyn TableProvider>>>);

impl ParquetCache {
    async fn open(&self, path: &Path) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        if let Some(table) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(Arc::clone(table));
        }
        // The schema is inferred the way `register_parquet` does it, in a scratch session.
        let scratch = SessionContext::new();
        let state = scratch.state();
        let options = ParquetReadOptions::default()
            .to_listing_options(&scratch.copied_config(), state.default_table_options());
        let url = ListingTableUrl::parse(path.to_string_lossy())?;
        let config = ListingTableConfig::new(url).with_listing_options(options).infer_schema(&state).await?;
        let table: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_owned(), Arc::clone(&table));
        Ok(table)
    }
}

/// The versions of one source on disk, oldest first.
fn versions(tables: &Path, source: &str) -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(tables.join(source))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".parquet").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
}

/// Schema `source`.
#[derive(Debug)]
pub(crate) struct SourceSchema {
    store: Store,
    tables: ParquetCache,
    /// The catalogue's datasets as of a store generation.
    datasets: Mutex<Option<(u64, Arc<Vec<sailkg_ingest::DatasetSummary>>)>>,
}

impl SourceSchema {
    pub fn new(store: Store) -> Self {
        Self { store, tables: ParquetCache::default(), datasets: Mutex::default() }
    }

    /// The catalogued datasets, read again only when the store has changed.
    fn datasets(&self) -> datafusion::error::Result<Arc<Vec<sailkg_ingest::DatasetSummary>>> {
        let generation = self.store.generation();
        if let Some((seen, datasets)) = &*self.datasets.lock().unwrap_or_else(|e| e.into_inner())
            && *seen == generation
        {
            return Ok(Arc::clone(datasets));
        }
        let datasets = Arc::new(sailkg_ingest::list_datasets(&self.store).map_err(external)?);
        *self.datasets.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, Arc::clone(&datasets)));
        Ok(datasets)
    }

    /// The file of `name` or `name@version`, if catalogued and on disk.
    fn resolve(&self, name: &str) -> datafusion::error::Result<Option<PathBuf>> {
        let (source, version) = match name.split_once('@') {
            Some((source, version)) => (source, Some(version)),
            None => (name, None),
        };
        let datasets = self.datasets()?;
        let Some(dataset) = datasets.iter().find(|d| d.name == source) else { return Ok(None) };
        let version = version.unwrap_or(&dataset.latest_version);
        let path = self.store.data_dir().join("tables").join(source).join(format!("{version}.parquet"));
        Ok(path.is_file().then_some(path))
    }
}

#[async_trait::async_trait]
impl SchemaProvider for SourceSchema {
    fn table_names(&self) -> Vec<String> {
        let tables = self.store.data_dir().join("tables");
        let mut names = Vec::new();
        for dataset in self.datasets().unwrap_or_default().iter() {
            for version in versions(&tables, &dataset.name) {
                names.push(format!("{}@{version}", dataset.name));
            }
            names.push(dataset.name.clone());
        }
        names
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        match self.resolve(name)? {
            Some(path) => Ok(Some(self.tables.open(&path).await?)),
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.resolve(name).ok().flatten().is_some()
    }
}

/// Schema `synthetic`: the tables of generation runs.
#[derive(Debug)]
pub(crate) struct SyntheticSchema {
    dir: PathBuf,
    tables: ParquetCache,
}

impl SyntheticSchema {
    pub fn new(store: &Store) -> Self {
        Self { dir: store.data_dir().join("tables").join("synthetic"), tables: ParquetCache::default() }
    }
}

#[async_trait::async_trait]
impl SchemaProvider for SyntheticSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.strip_suffix(".parquet").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        if !self.table_exist(name) {
            return Ok(None);
        }
        Ok(Some(self.tables.open(&self.dir.join(format!("{name}.parquet"))).await?))
    }

    fn table_exist(&self, name: &str) -> bool {
        !name.contains(['/', '\\'])
            && !name.starts_with('.')
            && self.dir.join(format!("{name}.parquet")).is_file()
    }
}

/// Schema `meta`: the catalogue, the graphs, the runs and the class views, computed when read.
#[derive(Debug)]
pub(crate) struct MetaSchema {
    store: Store,
    kg: Arc<KgSchema>,
    timeout: Duration,
}

const META_TABLES: [&str; 6] = ["datasets", "columns", "graphs", "runs", "classes", "class_columns"];

impl MetaSchema {
    pub fn new(store: Store, kg: Arc<KgSchema>, timeout: Duration) -> Self {
        Self { store, kg, timeout }
    }

    fn build(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = match name {
            "datasets" => {
                let datasets = sailkg_ingest::list_datasets(&self.store).map_err(external)?;
                (
                    vec![
                        Field::new("name", DataType::Utf8, false),
                        Field::new("latest_version", DataType::Utf8, false),
                        Field::new("versions", DataType::UInt64, false),
                        Field::new("rows", DataType::UInt64, false),
                        Field::new("issued", DataType::Utf8, false),
                        Field::new("format", DataType::Utf8, false),
                    ],
                    vec![
                        strings(datasets.iter().map(|d| Some(d.name.clone()))),
                        strings(datasets.iter().map(|d| Some(d.latest_version.clone()))),
                        Arc::new(datasets.iter().map(|d| d.versions).collect::<UInt64Array>()),
                        Arc::new(datasets.iter().map(|d| d.rows).collect::<UInt64Array>()),
                        strings(datasets.iter().map(|d| Some(d.issued.clone()))),
                        strings(datasets.iter().map(|d| Some(d.format.clone()))),
                    ],
                )
            }
            "columns" => {
                let mut rows = Vec::new();
                for dataset in sailkg_ingest::list_datasets(&self.store).map_err(external)? {
                    if let Some((_, columns)) =
                        sailkg_ingest::show_dataset(&self.store, &dataset.name).map_err(external)?
                    {
                        rows.extend(
                            columns
                                .into_iter()
                                .map(|c| (dataset.name.clone(), dataset.latest_version.clone(), c)),
                        );
                    }
                }
                (
                    vec![
                        Field::new("source", DataType::Utf8, false),
                        Field::new("version", DataType::Utf8, false),
                        Field::new("name", DataType::Utf8, false),
                        Field::new("datatype", DataType::Utf8, false),
                        Field::new("null_share", DataType::Float64, false),
                        Field::new("distinct_count", DataType::UInt64, false),
                        Field::new("min", DataType::Utf8, true),
                        Field::new("max", DataType::Utf8, true),
                    ],
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
            }
            "graphs" => {
                let rows = self.select(
                    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
                )?;
                let kind = |iri: &str| {
                    let rest = iri.strip_prefix("urn:sailkg:graph:").unwrap_or("");
                    let kind = rest.split('/').next().unwrap_or("");
                    Some(if kind.is_empty() { "other".to_owned() } else { kind.to_owned() })
                };
                (
                    vec![
                        Field::new("graph", DataType::Utf8, false),
                        Field::new("kind", DataType::Utf8, false),
                        Field::new("synthetic", DataType::Boolean, false),
                        Field::new("triples", DataType::UInt64, false),
                    ],
                    vec![
                        strings(rows.iter().map(|r| r[0].clone())),
                        strings(rows.iter().map(|r| kind(r[0].as_deref().unwrap_or("")))),
                        Arc::new(
                            rows.iter()
                                .map(|r| {
                                    Some(sailkg_core::vocab::is_synthetic_graph(
                                        r[0].as_deref().unwrap_or(""),
                                    ))
                                })
                                .collect::<BooleanArray>(),
                        ),
                        numbers(rows.iter().map(|r| &r[1])),
                    ],
                )
            }
            "runs" => {
                let rows = self.select(&format!(
                    "PREFIX prov: <http://www.w3.org/ns/prov#> \
                     SELECT ?run (SAMPLE(?t) AS ?type) ?start ?end (SAMPLE(?gen) AS ?generated) \
                       (SAMPLE(?used) AS ?input) WHERE {{ GRAPH <{}> {{ \
                       ?run a prov:Activity ; prov:startedAtTime ?start ; prov:endedAtTime ?end . \
                       OPTIONAL {{ ?run a ?t FILTER(?t != prov:Activity) }} \
                       OPTIONAL {{ {{ ?run prov:generated ?gen }} UNION {{ ?gen prov:wasGeneratedBy ?run }} }} \
                       OPTIONAL {{ ?run prov:used ?used }} }} }} \
                     GROUP BY ?run ?start ?end ORDER BY ?start ?run",
                    sailkg_core::vocab::GRAPH_CATALOG
                ))?;
                let kind = |r: &Vec<Option<String>>| {
                    Some(match r[1].as_deref() {
                        Some(t) if t.ends_with("MappingRun") => "mapping".to_owned(),
                        Some(t) if t.ends_with("LinkRun") => "linking".to_owned(),
                        Some(t) if t.ends_with("IngestRun") => "ingest".to_owned(),
                        Some(t) if t.ends_with("GenerationRun") => "generation".to_owned(),
                        Some(t) if t.ends_with("PipelineRun") => "pipeline".to_owned(),
                        Some(t) => t.rsplit(['#', '/']).next().unwrap_or(t).to_owned(),
                        None => "activity".to_owned(),
                    })
                };
                (
                    vec![
                        Field::new("run", DataType::Utf8, false),
                        Field::new("kind", DataType::Utf8, false),
                        Field::new("started", DataType::Utf8, false),
                        Field::new("ended", DataType::Utf8, false),
                        Field::new("generated", DataType::Utf8, true),
                        Field::new("used", DataType::Utf8, true),
                    ],
                    vec![
                        strings(rows.iter().map(|r| r[0].clone())),
                        strings(rows.iter().map(kind)),
                        strings(rows.iter().map(|r| r[2].clone())),
                        strings(rows.iter().map(|r| r[3].clone())),
                        strings(rows.iter().map(|r| r[4].clone())),
                        strings(rows.iter().map(|r| r[5].clone())),
                    ],
                )
            }
            "classes" => {
                let classes = self.kg.classes()?;
                (
                    vec![
                        Field::new("view", DataType::Utf8, false),
                        Field::new("class", DataType::Utf8, false),
                        Field::new("instances", DataType::UInt64, false),
                    ],
                    vec![
                        strings(classes.iter().map(|c| Some(c.name.clone()))),
                        strings(classes.iter().map(|c| Some(c.iri.clone()))),
                        Arc::new(classes.iter().map(|c| c.instances).collect::<UInt64Array>()),
                    ],
                )
            }
            "class_columns" => {
                let mut rows = Vec::new();
                for class in self.kg.classes()?.iter() {
                    if let Some(view) = self.kg.view(&class.name)? {
                        for column in &view.columns {
                            rows.push((class.name.clone(), column.clone()));
                        }
                    }
                }
                (
                    vec![
                        Field::new("view", DataType::Utf8, false),
                        Field::new("column", DataType::Utf8, false),
                        Field::new("property", DataType::Utf8, false),
                        Field::new("datatype", DataType::Utf8, false),
                        Field::new("multi_valued", DataType::Boolean, false),
                    ],
                    vec![
                        strings(rows.iter().map(|r| Some(r.0.clone()))),
                        strings(rows.iter().map(|r| Some(r.1.name.clone()))),
                        strings(rows.iter().map(|r| Some(r.1.property.clone()))),
                        strings(rows.iter().map(|r| Some(r.1.type_name()))),
                        Arc::new(rows.iter().map(|r| Some(r.1.multi)).collect::<BooleanArray>()),
                    ],
                )
            }
            _ => return Ok(None),
        };
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        Ok(Some(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?)))
    }

    fn select(&self, query: &str) -> datafusion::error::Result<Vec<Vec<Option<String>>>> {
        self.store.select_strings(query, self.timeout).map_err(external)
    }
}

#[async_trait::async_trait]
impl SchemaProvider for MetaSchema {
    fn table_names(&self) -> Vec<String> {
        META_TABLES.iter().map(|t| (*t).to_owned()).collect()
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        if !META_TABLES.contains(&name) {
            return Ok(None);
        }
        // Catalogue queries (and class discovery for class_columns) block: run them aside.
        let this = Self { store: self.store.clone(), kg: Arc::clone(&self.kg), timeout: self.timeout };
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || this.build(&name)).await.map_err(external)?
    }

    fn table_exist(&self, name: &str) -> bool {
        META_TABLES.contains(&name)
    }
}

pub(crate) fn strings(values: impl IntoIterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<StringArray>())
}

fn numbers<'a>(values: impl IntoIterator<Item = &'a Option<String>>) -> ArrayRef {
    Arc::new(
        values
            .into_iter()
            .map(|v| v.as_deref().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
            .collect::<UInt64Array>(),
    )
}
