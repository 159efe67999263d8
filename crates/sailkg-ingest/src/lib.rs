//! SAIL-KG ingest: read a source file, cleanse it by rules, profile it, write a versioned Parquet
//! table and describe it in the catalogue (DCAT + PROV) — all or nothing.
//!
//! Tabular work uses polars. Nothing here knows HTTP; polars calls are synchronous, so async
//! callers run them on a blocking pool.

mod catalog;
mod cleanse;
mod dates;
mod error;
mod media;
mod profile;
mod quality;
mod read;

pub use catalog::{DatasetSummary, list_datasets, show_dataset};
pub use cleanse::{Case, CleanseReport, OutlierMethod, Rules};
pub use dates::TimeSeriesProfile;
pub use error::{IngestError, Result};
pub use profile::{ColumnProfile, TopValue};
pub use quality::{Cluster, OUTLIER_COLUMN};
pub use read::{Reject, SourceFormat};

use sailkg_store::Store;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How to ingest one file.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// The source name; defaults to the file name without extension.
    pub name: Option<String>,
    /// The format; detected from the name and content when `None`.
    pub format: Option<SourceFormat>,
    /// Cleansing rules; the defaults when not given.
    pub rules: Rules,
}

/// What one ingest did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestReport {
    /// The source name.
    pub source: String,
    /// The version: 16 hex digits of a SHA-256 over the file's content hash, the format and the
    /// rules, so re-ingesting the same file the same way is a no-op.
    pub version: String,
    /// Whether this version was already catalogued, so nothing was done.
    pub unchanged: bool,
    /// The detected format.
    pub format: String,
    /// Records read (good and rejected).
    pub rows_read: u64,
    /// Rows written to the table.
    pub rows_written: u64,
    /// Rows sent to the reject file.
    pub rows_rejected: u64,
    /// Cells changed per cleansing rule.
    pub changed: Vec<(String, u64)>,
    /// The Parquet table.
    pub table: PathBuf,
    /// The reject file, when there are rejects.
    pub rejects: Option<PathBuf>,
    /// Rows equal to an earlier row (removed only when the rules say so).
    pub duplicate_rows: u64,
    /// Near-duplicate values found per text column, for review.
    pub clusters: Vec<Cluster>,
    /// Columns rewritten as ISO-8601, with the layout they were in.
    pub date_formats: Vec<(String, String)>,
    /// The column profiles.
    pub columns: Vec<ColumnProfile>,
    /// Seconds spent in each stage (load, hash and read, cleanse, quality and profile, write, catalogue).
    pub timings: Vec<(&'static str, f64)>,
}

/// Ingests one file into the data directory of `store`.
pub fn ingest(store: &Store, path: &Path, options: &IngestOptions) -> Result<IngestReport> {
    let started = SystemTime::now();
    let mut clock = Stages::default();
    let bytes = read_whole(path, || ())?;
    clock.lap("load");
    let source = match &options.name {
        Some(name) => check_name(name)?,
        None => default_name(path),
    };
    let format = match options.format {
        Some(format) => format,
        None => SourceFormat::detect(path, &bytes)?,
    };
    // The content is hashed on a thread of its own while the table is parsed; an unchanged
    // version is recognised before any cleansing.
    let name = path.display().to_string();
    let (digest, read) = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hex(&Sha256::digest(&bytes)));
        let read = read::read(&bytes, format, &name);
        (hasher.join().unwrap_or_default(), read)
    });
    clock.lap("hash and read");
    // The same bytes read as another format or cleansed by other rules make another table, so the
    // version names all three.
    let rules_hash = options.rules.hash();
    let version =
        hex(&Sha256::digest(format!("{digest} {} {rules_hash}", format.name()).as_bytes()))[..16].to_owned();
    let table = store.data_dir().join("tables").join(&source).join(format!("{version}.parquet"));
    if catalog::version_exists(store, &source, &version)? {
        let columns = catalog::column_profiles(store, &source, &version)?;
        return Ok(IngestReport {
            source,
            version,
            unchanged: true,
            format: format.name().into(),
            rows_read: 0,
            rows_written: 0,
            rows_rejected: 0,
            changed: Vec::new(),
            table,
            rejects: None,
            duplicate_rows: 0,
            clusters: Vec::new(),
            date_formats: Vec::new(),
            columns,
            timings: clock.laps,
        });
    }
    let read::Read { mut frame, mut rejects, rows_read, resource } = read?;
    let mut cleanse = cleanse::apply(&mut frame, &options.rules)?;
    clock.lap("cleanse");
    let (mut quality, mut columns) = quality::apply(&mut frame, &options.rules)?;
    rejects.append(&mut quality.removed);
    cleanse.changed.append(&mut quality.changed);
    for (column, unit) in &cleanse.units {
        if let Some(profile) = columns.iter_mut().find(|c| &c.name == column) {
            profile.unit = Some(unit.clone());
        }
    }
    for (column, layout) in &cleanse.date_formats {
        if let Some(profile) = columns.iter_mut().find(|c| &c.name == column) {
            profile.date_format = Some(layout.clone());
            let stamps: Vec<i64> = frame
                .column(column)?
                .str()?
                .iter()
                .flatten()
                .filter_map(|v| dates::parse(dates::LAYOUTS[0], v).map(|s| s.seconds()))
                .collect();
            profile.time_series = dates::time_series(stamps);
        }
    }
    clock.lap("quality and profile");
    let dir = table.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir).map_err(|source| IngestError::Io { path: dir.clone(), source })?;
    // Files are written under temporary names and renamed; the version becomes visible only
    // when its catalogue entry is committed, after both files are complete.
    let table_bytes = write_parquet(&mut frame, &table)?;
    let rejects_path = if rejects.is_empty() {
        None
    } else {
        let path = dir.join(format!("{version}.rejects.csv"));
        read::write_rejects(&rejects, &path)?;
        Some(path)
    };
    clock.lap("write");
    let entry = catalog::Entry {
        source: &source,
        version: &version,
        content_sha256: &digest,
        original: path,
        media_type: format.media_type(resource.as_ref()),
        resource: resource.as_ref(),
        table: &table,
        table_bytes,
        rows: frame.height() as u64,
        rejected: rejects.len() as u64,
        duplicate_rows: quality.duplicate_rows,
        columns: &columns,
        rules_hash: &rules_hash,
        started,
        ended: SystemTime::now(),
    };
    if let Err(e) = catalog::commit(store, &entry) {
        let _ = std::fs::remove_file(&table);
        if let Some(path) = &rejects_path {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    clock.lap("catalogue");
    Ok(IngestReport {
        source,
        version,
        unchanged: false,
        format: format.name().into(),
        rows_read,
        rows_written: frame.height() as u64,
        rows_rejected: rejects.len() as u64,
        changed: cleanse.changed,
        table,
        rejects: rejects_path,
        duplicate_rows: quality.duplicate_rows,
        clusters: quality.clusters,
        date_formats: cleanse.date_formats,
        columns,
        timings: clock.laps,
    })
}

/// Wall-clock seconds per ingest stage.
struct Stages {
    last: std::time::Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Default for Stages {
    fn default() -> Self {
        Self { last: std::time::Instant::now(), laps: Vec::new() }
    }
}

impl Stages {
    fn lap(&mut self, stage: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((stage, now.duration_since(self.last).as_secs_f64()));
        self.last = now;
    }
}

/// Reads a whole file and checks that it did not change meanwhile (its size and modification
/// time before and after); `between` runs after the read, before the second look (tests use it
/// to change the file).
fn read_whole(path: &Path, between: impl FnOnce()) -> Result<Vec<u8>> {
    let io = |source| IngestError::Io { path: path.into(), source };
    let stamp = |m: std::fs::Metadata| (m.len(), m.modified().ok());
    let before = std::fs::metadata(path).map(stamp).map_err(io)?;
    let bytes = std::fs::read(path).map_err(io)?;
    between();
    let after = std::fs::metadata(path).map(stamp).map_err(io)?;
    if before != after || after.0 != bytes.len() as u64 {
        return Err(IngestError::Changed(path.into()));
    }
    Ok(bytes)
}

fn write_parquet(frame: &mut polars::prelude::DataFrame, target: &Path) -> Result<u64> {
    use polars::prelude::{ParquetCompression, ParquetWriter};
    let temporary = target.with_extension("parquet.partial");
    let file = std::fs::File::create(&temporary)
        .map_err(|source| IngestError::Io { path: temporary.clone(), source })?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Snappy)
        .finish(frame)
        .map_err(|e| IngestError::Table(format!("cannot write {}: {e}", target.display())))?;
    std::fs::rename(&temporary, target).map_err(|source| IngestError::Io { path: target.into(), source })?;
    Ok(std::fs::metadata(target).map(|m| m.len()).unwrap_or(0))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A source name from a file name: letters, digits, `-` and `_`.
fn default_name(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("source");
    let stem = stem.split('.').next().unwrap_or(stem);
    let name: String =
        stem.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if name.is_empty() { "source".into() } else { name }
}

fn check_name(name: &str) -> Result<String> {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        Ok(name.to_owned())
    } else {
        Err(IngestError::InvalidName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests;
