//! Streaming bulk load of RDF files and uploads.
//!
//! Every load goes through Oxigraph's bulk loader in its atomic mode: parsed quads are sorted
//! into files on disk batch by batch (so memory stays bounded whatever the input size) and all of
//! them are ingested by RocksDB in one step at the end. A parse error, a dropped upload or a killed
//! process before that step leaves the store exactly as it was.

use crate::{Result, Store, StoreError};
use flate2::read::MultiGzDecoder;
use oxigraph::io::{RdfFormat, RdfParseError, RdfParser};
use oxigraph::model::{GraphName, Quad};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One input of a bulk load.
pub struct LoadInput {
    /// The name used in errors: a file path or "upload".
    pub name: String,
    /// The RDF syntax.
    pub format: RdfFormat,
    /// The (already decompressed) bytes.
    pub reader: Box<dyn Read + Send>,
    /// The base IRI against which relative IRIs resolve.
    pub base_iri: Option<String>,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadReport {
    /// Statements parsed and loaded (duplicates included).
    pub triples: u64,
    /// Input bytes read, after decompression.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Statements per second.
    pub triples_per_second: f64,
}

/// Progress of a running load, readable from another thread.
#[derive(Debug, Default)]
pub struct LoadProgress {
    /// Statements parsed so far.
    pub triples: AtomicU64,
    /// Raw input bytes consumed so far (compressed bytes for compressed files).
    pub bytes: AtomicU64,
}

/// The RDF format of a file name, looking through a `.gz` suffix.
pub fn detect_format(name: &str) -> Option<RdfFormat> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let extension = Path::new(stem).extension()?.to_str()?;
    match extension {
        "owl" => Some(RdfFormat::RdfXml),
        "json" => Some(RdfFormat::JsonLd { profile: oxigraph::io::JsonLdProfileSet::empty() }),
        _ => RdfFormat::from_extension(extension),
    }
}

/// Opens a file for loading: decompresses gzip (told by its magic bytes, not its name) and
/// counts the raw bytes read into `progress`.
pub fn open_input(
    path: &Path,
    format: Option<RdfFormat>,
    progress: Option<Arc<LoadProgress>>,
) -> Result<LoadInput> {
    let name = path.display().to_string();
    let format = match format {
        Some(f) => f,
        None => detect_format(&name).ok_or_else(|| StoreError::UnknownFormat(name.clone()))?,
    };
    let file = File::open(path).map_err(|source| StoreError::Io { path: path.into(), source })?;
    let counted = CountingReader { inner: file, progress };
    let reader =
        maybe_gunzip(Box::new(counted)).map_err(|source| StoreError::Io { path: path.into(), source })?;
    let base_iri = std::path::absolute(path)
        .ok()
        .map(|p| format!("file://{}", p.display()))
        .filter(|iri| oxigraph::model::NamedNode::new(iri).is_ok());
    Ok(LoadInput { name, format, reader, base_iri })
}

/// Wraps `reader` in a gzip decoder if its first bytes are the gzip magic number.
pub fn maybe_gunzip(reader: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(buffered))))
    } else {
        Ok(Box::new(buffered))
    }
}

struct CountingReader<R> {
    inner: R,
    progress: Option<Arc<LoadProgress>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(progress) = &self.progress {
            progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl Store {
    /// Loads every input into `graph` (the default graph of quad formats included; quads in named
    /// graphs keep their graph), all or nothing.
    ///
    /// Memory stays bounded by `load.max_memory_mb` whatever the input size.
    pub fn bulk_load(
        &self,
        inputs: Vec<LoadInput>,
        graph: &GraphName,
        progress: Option<Arc<LoadProgress>>,
    ) -> Result<LoadReport> {
        self.bulk_load_with(inputs, graph, progress, |_| Ok(()))
    }

    /// Like [`Store::bulk_load`], and runs `before_commit` on the store right before the loaded
    /// data becomes visible, for example to clear the graph that a PUT replaces.
    pub fn bulk_load_with(
        &self,
        inputs: Vec<LoadInput>,
        graph: &GraphName,
        progress: Option<Arc<LoadProgress>>,
        before_commit: impl FnOnce(&Store) -> Result<()>,
    ) -> Result<LoadReport> {
        let start = Instant::now();
        let threads = match self.load.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let mut loader = self
            .inner
            .bulk_loader()
            .with_num_threads(threads)
            .with_max_memory_size_in_megabytes(self.load.max_memory_mb);
        let progress = progress.unwrap_or_default();
        let mut bytes = 0;
        for input in inputs {
            let counter = Arc::clone(&progress);
            let parser = parser_for(&input, graph)?;
            let name = input.name;
            let mut reader = ByteCount { inner: input.reader, count: 0 };
            let quads = parser.for_reader(&mut reader).map(|quad: Result<Quad, RdfParseError>| {
                counter.triples.fetch_add(1, Ordering::Relaxed);
                quad.map_err(|e| located(&name, e))
            });
            loader.load_ok_quads::<StoreError, StoreError>(quads)?;
            bytes += reader.count;
        }
        before_commit(self)?;
        loader.commit()?;
        self.mark_changed();
        let seconds = start.elapsed().as_secs_f64();
        let triples = progress.triples.load(Ordering::Relaxed);
        Ok(LoadReport {
            triples,
            bytes,
            seconds,
            triples_per_second: if seconds > 0.0 { triples as f64 / seconds } else { 0.0 },
        })
    }

    /// Loads small inputs in one transaction: used for uploads too small to be worth the bulk
    /// loader's sorted files. `replace` empties the graph first, in the same transaction.
    pub fn load_small(&self, inputs: Vec<LoadInput>, graph: &GraphName, replace: bool) -> Result<LoadReport> {
        let start = Instant::now();
        let mut quads = Vec::new();
        let mut bytes = 0;
        for input in inputs {
            let parser = parser_for(&input, graph)?;
            let mut reader = ByteCount { inner: input.reader, count: 0 };
            for quad in parser.for_reader(&mut reader) {
                quads.push(quad.map_err(|e| located(&input.name, e))?);
            }
            bytes += reader.count;
        }
        let mut transaction = self.inner.start_transaction()?;
        if replace {
            transaction.clear_graph(graph.as_ref())?;
        }
        if let GraphName::NamedNode(name) = graph {
            transaction.insert_named_graph(name.as_ref());
        }
        transaction.extend(quads.iter());
        transaction.commit()?;
        self.mark_changed();
        let seconds = start.elapsed().as_secs_f64().max(1e-9);
        Ok(LoadReport {
            triples: quads.len() as u64,
            bytes,
            seconds,
            triples_per_second: quads.len() as f64 / seconds,
        })
    }
}

/// The parser of one input: fresh blank nodes, the target graph as default graph, its base IRI.
fn parser_for(input: &LoadInput, graph: &GraphName) -> Result<RdfParser> {
    let parser = RdfParser::from_format(input.format).rename_blank_nodes().with_default_graph(graph.clone());
    match &input.base_iri {
        Some(base) => parser
            .with_base_iri(base)
            .map_err(|e| StoreError::InvalidIri { iri: base.clone(), message: e.to_string() }),
        None => Ok(parser),
    }
}

struct ByteCount<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for ByteCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Turns a parser error into one that names the input, line and column (1-based).
pub(crate) fn located(name: &str, error: RdfParseError) -> StoreError {
    match error {
        RdfParseError::Syntax(e) => {
            let (line, column) = e.location().map_or((0, 0), |l| (l.start.line + 1, l.start.column + 1));
            StoreError::Parse { source_name: name.to_owned(), line, column, message: e.to_string() }
        }
        RdfParseError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::Parse { source_name: name.to_owned(), line: 0, column: 0, message: e.to_string() }
        }
        RdfParseError::Io(source) => StoreError::Io { path: name.into(), source },
    }
}
