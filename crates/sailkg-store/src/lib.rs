//! The SAIL-KG RDF store: Oxigraph on RocksDB inside the data directory.
//!
//! This crate owns everything that touches the store: the directory layout, streaming bulk load
//! with located parse errors, SPARQL query and update with a timeout that really stops the work,
//! result serialization with a row limit, and consistent backup and restore. It knows nothing of
//! HTTP: the server and the CLI both drive it through the same functions.

mod backup;
pub mod curation;
mod error;
mod load;
mod query;
mod results;
pub mod shacl;
mod watchdog;

pub use backup::{BackupManifest, restore};
pub use error::{Result, StoreError};
pub use load::{LoadInput, LoadProgress, LoadReport, detect_format, maybe_gunzip, open_input};
pub use query::{QueryRequest, ServiceFn, UpdateRequest};
pub use results::{ResultsFormat, write_graph, write_results};
pub use watchdog::Budget;

pub use oxigraph::io::RdfFormat;
pub use oxigraph::model;
pub use oxigraph::sparql::{CancellationToken, QueryResults};

use oxigraph::model::{GraphName, GraphNameRef, NamedNodeRef, NamedOrBlankNodeRef, Term};
use sailkg_core::LoadConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A term as text in a table cell: an IRI as it is, a blank node as `_:id`, a literal's lexical
/// form, a triple term in N-Triples 1.2 syntax.
pub fn term_text(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => n.as_str().to_owned(),
        Term::BlankNode(b) => format!("_:{}", b.as_str()),
        Term::Literal(l) => l.value().to_owned(),
        Term::Triple(t) => format!("<<( {t} )>>"),
    }
}

/// The store of one data directory.
///
/// Cloning is cheap and gives another handle to the same store.
#[derive(Clone)]
pub struct Store {
    inner: oxigraph::store::Store,
    data_dir: PathBuf,
    load: LoadConfig,
    watchdog: watchdog::Watchdog,
    services: query::Services,
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir/store`, and the other folders of the
    /// data directory layout.
    pub fn open(data_dir: &Path, load: LoadConfig) -> Result<Self> {
        for sub in ["store", "tables", "index", "runs"] {
            let dir = data_dir.join(sub);
            std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io { path: dir, source })?;
        }
        let store_dir = data_dir.join("store");
        let inner = oxigraph::store::Store::open(&store_dir)
            .map_err(|e| StoreError::Open { path: store_dir.clone(), message: e.to_string() })?;
        // A bulk load killed before its commit leaves its sorted files behind; they were never
        // ingested, so they hold nothing visible. We hold the RocksDB lock now, so no other
        // process can be writing them.
        remove_abandoned_bulk_files(&store_dir);
        Ok(Self {
            inner,
            data_dir: data_dir.to_owned(),
            load,
            watchdog: watchdog::Watchdog::new(),
            services: query::Services::default(),
            generation: Arc::default(),
        })
    }

    /// Opens an existing store read-only, for example a backup being inspected.
    pub fn open_read_only(data_dir: &Path) -> Result<Self> {
        let store_dir = data_dir.join("store");
        if !store_dir.join("CURRENT").exists() {
            return Err(StoreError::Open {
                path: store_dir,
                message: "no store here; run `sailkg init` or load data first".into(),
            });
        }
        let inner = oxigraph::store::Store::open_read_only(&store_dir)
            .map_err(|e| StoreError::Open { path: store_dir.clone(), message: e.to_string() })?;
        Ok(Self {
            inner,
            data_dir: data_dir.to_owned(),
            load: LoadConfig::default(),
            watchdog: watchdog::Watchdog::new(),
            services: query::Services::default(),
            generation: Arc::default(),
        })
    }

    /// The underlying Oxigraph store, for benchmarks and tests that compare with it.
    pub fn oxigraph(&self) -> &oxigraph::store::Store {
        &self.inner
    }

    /// A number that changes whenever this process changes the store, so that what is derived
    /// from the store (the SQL class views) can be cached until then. Writes through
    /// [`Store::oxigraph`] must call [`Store::mark_changed`] after they commit.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records that the store changed (after the change is committed).
    pub fn mark_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A cancellation budget that expires after `timeout`.
    pub fn budget(&self, timeout: Duration) -> Budget {
        Budget::new(&self.watchdog, timeout)
    }

    /// The number of quads. This scans the store: use it for reports, not on hot paths.
    pub fn len(&self) -> Result<usize> {
        Ok(self.inner.len()?)
    }

    /// Whether the store holds no quad.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.inner.is_empty()?)
    }

    /// Bytes used on disk by the RocksDB files.
    pub fn disk_size(&self) -> u64 {
        dir_size(&self.data_dir.join("store"))
    }

    /// Whether a graph exists: the default graph always does, a named graph once it has been
    /// created or holds a triple.
    pub fn graph_exists(&self, graph: GraphNameRef<'_>) -> Result<bool> {
        Ok(match graph {
            GraphNameRef::DefaultGraph => true,
            GraphNameRef::NamedNode(n) => self.inner.contains_named_graph(n)?,
            GraphNameRef::BlankNode(b) => self.inner.contains_named_graph(b)?,
        })
    }

    /// Empties a graph; a named graph is removed altogether. Atomic.
    pub fn drop_graph(&self, graph: GraphNameRef<'_>) -> Result<()> {
        match graph {
            GraphNameRef::DefaultGraph => self.inner.clear_graph(graph)?,
            GraphNameRef::NamedNode(n) => {
                self.inner.remove_named_graph(NamedOrBlankNodeRef::from(n))?;
            }
            GraphNameRef::BlankNode(b) => {
                self.inner.remove_named_graph(NamedOrBlankNodeRef::from(b))?;
            }
        }
        self.mark_changed();
        Ok(())
    }

    /// The named graphs of the store.
    pub fn named_graphs(&self) -> Result<Vec<GraphName>> {
        self.inner.named_graphs().map(|g| Ok(GraphName::from(g?))).collect::<Result<Vec<_>>>()
    }

    /// Writes every quad of one graph to `writer` in `format`.
    pub fn dump_graph(
        &self,
        graph: GraphNameRef<'_>,
        format: RdfFormat,
        writer: impl std::io::Write,
    ) -> Result<()> {
        self.inner
            .dump_graph_to_writer(graph, format, writer)
            .map_err(|e| StoreError::Serialize(e.to_string()))?;
        Ok(())
    }

    /// Makes sure a named graph exists even when empty.
    pub fn create_graph(&self, graph: NamedNodeRef<'_>) -> Result<()> {
        self.inner.insert_named_graph(graph)?;
        self.mark_changed();
        Ok(())
    }
}

fn remove_abandoned_bulk_files(store_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(store_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("bulk-") && name.ends_with(".sst") {
            tracing::info!(file = %name, "removing the files of an interrupted bulk load");
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %name, error = %e, "cannot remove an abandoned bulk load file");
            }
        }
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests;
