//! Logical sources: records in batches, and the values of a reference over a whole batch (a
//! column, possibly several values per record).

use crate::plan::{Compression, Input, SourceKind, SourceSpec};
use oxigraph::model::NamedNodeRef;
use oxigraph::model::vocab::xsd;
use polars::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Records per batch: the unit of columnar evaluation, and what bounds memory for CSV and
/// Parquet sources.
pub(crate) const BATCH: usize = 65_536;

/// One value of a reference, with the datatype its source gives it (when natural datatypes apply).
#[derive(Debug, Clone)]
pub(crate) struct Value {
    pub text: String,
    pub datatype: Option<NamedNodeRef<'static>>,
}

/// The values of one reference for each record of a batch.
#[derive(Debug, Default)]
pub(crate) struct Column {
    values: Vec<Value>,
    ends: Vec<usize>,
}

impl Column {
    pub fn get(&self, record: usize) -> &[Value] {
        let start = if record == 0 { 0 } else { self.ends[record - 1] };
        &self.values[start..self.ends[record]]
    }

    fn push_record(&mut self, values: impl IntoIterator<Item = Value>) {
        self.values.extend(values);
        self.ends.push(self.values.len());
    }
}

/// A batch of records.
pub(crate) trait Batch: Sync {
    fn len(&self) -> usize;
    /// Records `start..end` as a batch of their own.
    fn slice(&self, start: usize, end: usize) -> Box<dyn Batch + '_>;
    /// The values of `reference` per record; an error names what is wrong with the reference.
    fn column(&self, reference: &str) -> Result<Column, String>;
}

/// Runs `visit` on each batch of the source's records.
pub(crate) fn for_each_batch(
    spec: &SourceSpec,
    catalogue: &dyn Fn(&str) -> Result<PathBuf, String>,
    natural: bool,
    visit: &mut dyn FnMut(&dyn Batch) -> Result<(), crate::MapError>,
) -> Result<(), SourceError> {
    let path = match &spec.input {
        Input::File(path) => path.clone(),
        Input::Catalogue(name) => catalogue(name).map_err(SourceError::Read)?,
    };
    match spec.kind {
        SourceKind::Csv => csv_batches(spec, &path, visit),
        SourceKind::Json => {
            let iterator = spec.iterator.as_deref().unwrap_or("$");
            match crate::json_stream::streamable(iterator) {
                Some(keys) if !spec.utf16 => json_stream_batches(spec, &path, &keys, natural, visit),
                _ => json_whole_batches(spec, &path, iterator, natural, visit),
            }
        }
        SourceKind::Xml => {
            let text = read_text(spec, &path)?;
            let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
            let document = roxmltree::Document::parse_with_options(&text, options)
                .map_err(|e| SourceError::Read(format!("{}: invalid XML: {e}", path.display())))?;
            let iterator = spec.iterator.as_deref().unwrap_or("/");
            let compiled = crate::xpath::Path::parse(iterator, &spec.namespaces)
                .map_err(|e| SourceError::Read(format!("invalid XPath iterator {iterator:?}: {e}")))?;
            let nodes: Vec<roxmltree::Node<'_, '_>> = compiled
                .select(document.root())
                .into_iter()
                .filter_map(|i| match i {
                    crate::xpath::Item::Node(n) => Some(n),
                    crate::xpath::Item::Attribute(_) => None,
                })
                .collect();
            for chunk in nodes.chunks(BATCH) {
                visit(&XmlBatch { nodes: chunk, namespaces: &spec.namespaces, nulls: &spec.nulls })
                    .map_err(SourceError::Map)?;
            }
            Ok(())
        }
        SourceKind::Parquet => parquet_batches(&path, natural, &spec.nulls, visit),
    }
}

/// Parses the document whole and runs the iterator over it.
fn json_whole_batches(
    spec: &SourceSpec,
    path: &Path,
    iterator: &str,
    natural: bool,
    visit: &mut dyn FnMut(&dyn Batch) -> Result<(), crate::MapError>,
) -> Result<(), SourceError> {
    let text = read_text(spec, path)?;
    let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid_json(path, &e))?;
    let compiled = serde_json_path::JsonPath::parse(iterator)
        .map_err(|e| SourceError::Read(format!("invalid JSONPath iterator {iterator:?}: {e}")))?;
    let records: Vec<&serde_json::Value> = compiled.query(&document).all();
    for chunk in records.chunks(BATCH) {
        visit(&JsonBatch { records: chunk, natural }).map_err(SourceError::Map)?;
    }
    Ok(())
}

/// Streams the elements of the array the iterator names, a batch at a time.
fn json_stream_batches(
    spec: &SourceSpec,
    path: &Path,
    keys: &[String],
    natural: bool,
    visit: &mut dyn FnMut(&dyn Batch) -> Result<(), crate::MapError>,
) -> Result<(), SourceError> {
    use serde::de::DeserializeSeed;
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, open(spec, path)?);
    // A UTF-8 byte order mark is not JSON.
    if reader
        .fill_buf()
        .map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))?
        .starts_with(&[0xef, 0xbb, 0xbf])
    {
        reader.consume(3);
    }
    let mut pending: Vec<serde_json::Value> = Vec::with_capacity(1024);
    let mut failure: Option<crate::MapError> = None;
    let mut flush = |pending: &mut Vec<serde_json::Value>, failure: &mut Option<crate::MapError>| -> bool {
        let records: Vec<&serde_json::Value> = pending.iter().collect();
        let result = visit(&JsonBatch { records: &records, natural });
        pending.clear();
        match result {
            Ok(()) => true,
            Err(e) => {
                *failure = Some(e);
                false
            }
        }
    };
    let mut element = |value: serde_json::Value| -> Result<(), String> {
        pending.push(value);
        if pending.len() == BATCH && !flush(&mut pending, &mut failure) {
            return Err("stopped".into());
        }
        Ok(())
    };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let walked = crate::json_stream::Walk { keys, element: &mut element }.deserialize(&mut deserializer);
    let ended = walked.and_then(|()| deserializer.end());
    if let Some(error) = failure {
        return Err(SourceError::Map(error));
    }
    ended.map_err(|e| invalid_json(path, &e))?;
    if !pending.is_empty() && !flush(&mut pending, &mut failure) {
        return Err(SourceError::Map(failure.expect("a failed visit leaves its error")));
    }
    Ok(())
}

fn invalid_json(path: &Path, e: &serde_json::Error) -> SourceError {
    SourceError::Read(format!(
        "{}: invalid JSON at line {}, column {}: {e}",
        path.display(),
        e.line(),
        e.column()
    ))
}

/// Why a source could not be read (or the visitor failed).
#[derive(Debug)]
pub(crate) enum SourceError {
    Read(String),
    Map(crate::MapError),
}

fn open(spec: &SourceSpec, path: &Path) -> Result<Box<dyn Read>, SourceError> {
    let fail = |e: &dyn std::fmt::Display| SourceError::Read(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let buffered = std::io::BufReader::new(file);
    Ok(match spec.compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::TarGzip => {
            Box::new(first_in_tar(flate2::read::MultiGzDecoder::new(buffered)).map_err(|e| fail(&e))?)
        }
        Compression::TarXz => {
            let mut tar = Vec::new();
            lzma_rs::xz_decompress(&mut std::io::BufReader::new(buffered), &mut tar).map_err(|e| fail(&e))?;
            Box::new(first_in_tar(std::io::Cursor::new(tar)).map_err(|e| fail(&e))?)
        }
        Compression::Zip => {
            let bytes = std::fs::read(path).map_err(|e| fail(&e))?;
            Box::new(std::io::Cursor::new(first_in_zip(&bytes).map_err(|e| fail(&e))?))
        }
    })
}

/// The bytes of a file, decompressed by its extension (`.gz`, `.zip`, `.tar.gz`, `.tar.xz`).
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let compression = if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Compression::TarGzip
    } else if name.ends_with(".tar.xz") {
        Compression::TarXz
    } else if name.ends_with(".gz") {
        Compression::Gzip
    } else if name.ends_with(".zip") {
        Compression::Zip
    } else {
        Compression::None
    };
    let spec = SourceSpec {
        input: Input::File(path.to_path_buf()),
        kind: SourceKind::Csv,
        iterator: None,
        namespaces: Vec::new(),
        nulls: Vec::new(),
        utf16: false,
        compression,
    };
    let mut bytes = Vec::new();
    let mut reader = open(&spec, path).map_err(|e| match e {
        SourceError::Read(message) => message,
        SourceError::Map(error) => error.to_string(),
    })?;
    reader.read_to_end(&mut bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes)
}

/// The first file of a tar archive.
fn first_in_tar(input: impl Read) -> Result<std::io::Cursor<Vec<u8>>, String> {
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        if entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            return Ok(std::io::Cursor::new(bytes));
        }
    }
    Err("the archive holds no file".into())
}

/// The first file of a zip archive (stored or deflated), found through the central directory.
fn first_in_zip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at =
        |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let bad = || "not a readable zip archive".to_owned();
    let end = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(i) == Some(0x0605_4b50))
        .ok_or_else(bad)?;
    let directory = u32_at(end + 16).ok_or_else(bad)?;
    if u32_at(directory) != Some(0x0201_4b50) {
        return Err(bad());
    }
    let method = u16_at(directory + 10).ok_or_else(bad)?;
    let compressed = u32_at(directory + 20).ok_or_else(bad)?;
    let local = u32_at(directory + 42).ok_or_else(bad)?;
    if u32_at(local) != Some(0x0403_4b50) {
        return Err(bad());
    }
    let start = local + 30 + u16_at(local + 26).ok_or_else(bad)? + u16_at(local + 28).ok_or_else(bad)?;
    let data = bytes.get(start..start + compressed).ok_or_else(bad)?;
    match method {
        0 => Ok(data.to_vec()),
        8 => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(data).read_to_end(&mut out).map_err(|e| e.to_string())?;
            Ok(out)
        }
        other => Err(format!("zip compression method {other} is not supported (stored and deflate are)")),
    }
}

fn read_text(spec: &SourceSpec, path: &Path) -> Result<String, SourceError> {
    let mut bytes = Vec::new();
    open(spec, path)?
        .read_to_end(&mut bytes)
        .map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))?;
    decode(spec, &bytes).map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))
}

fn decode(spec: &SourceSpec, bytes: &[u8]) -> Result<String, String> {
    let utf16 = spec.utf16 || bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    if utf16 {
        let (little, body) = match bytes {
            [0xff, 0xfe, rest @ ..] => (true, rest),
            [0xfe, 0xff, rest @ ..] => (false, rest),
            rest => (true, rest),
        };
        let units = body.chunks_exact(2).map(|p| {
            if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) }
        });
        return char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| format!("invalid UTF-16: {e}"));
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    String::from_utf8(bytes.to_vec())
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))
}

fn csv_batches(
    spec: &SourceSpec,
    path: &Path,
    visit: &mut dyn FnMut(&dyn Batch) -> Result<(), crate::MapError>,
) -> Result<(), SourceError> {
    let input: Box<dyn Read> = if spec.utf16 {
        Box::new(std::io::Cursor::new(read_text(spec, path)?.into_bytes()))
    } else {
        open(spec, path)?
    };
    let delimiter = if path.extension().is_some_and(|e| e == "tsv") { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(input);
    let mut headers: Vec<String> = reader
        .headers()
        .map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))?
        .iter()
        .map(str::to_owned)
        .collect();
    if let Some(first) = headers.first_mut() {
        *first = first.trim_start_matches('\u{feff}').to_owned();
    }
    let mut records = Vec::with_capacity(BATCH.min(4096));
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))?;
        if more {
            records.push(record.clone());
        }
        if records.len() == BATCH || (!more && !records.is_empty()) {
            visit(&CsvBatch { headers: &headers, records: &records, nulls: &spec.nulls })
                .map_err(SourceError::Map)?;
            records.clear();
        }
        if !more {
            return Ok(());
        }
    }
}

struct CsvBatch<'a> {
    headers: &'a [String],
    records: &'a [csv::StringRecord],
    nulls: &'a [String],
}

impl Batch for CsvBatch<'_> {
    fn len(&self) -> usize {
        self.records.len()
    }

    fn slice(&self, start: usize, end: usize) -> Box<dyn Batch + '_> {
        Box::new(CsvBatch { headers: self.headers, records: &self.records[start..end], nulls: self.nulls })
    }

    fn column(&self, reference: &str) -> Result<Column, String> {
        let index = self
            .headers
            .iter()
            .position(|h| h == reference)
            .ok_or_else(|| format!("no column {reference:?} (columns: {})", self.headers.join(", ")))?;
        let mut column = Column {
            values: Vec::with_capacity(self.records.len()),
            ends: Vec::with_capacity(self.records.len()),
        };
        for record in self.records {
            let value = record.get(index).filter(|v| !self.nulls.iter().any(|n| n == v));
            column.push_record(value.map(|v| Value { text: v.to_owned(), datatype: None }));
        }
        Ok(column)
    }
}

struct JsonBatch<'a> {
    records: &'a [&'a serde_json::Value],
    natural: bool,
}

/// A reference as a JSONPath: `$...` as is; a plain name (legacy mappings) as a member of the
/// record.
fn json_path(reference: &str) -> Result<serde_json_path::JsonPath, String> {
    let text = if reference.starts_with('$') {
        reference.to_owned()
    } else if reference.chars().all(|c| c.is_alphanumeric() || c == '_' || c == ' ' || c == '-') {
        format!("$['{}']", reference.replace('\'', "\\'"))
    } else if reference.starts_with('[') {
        format!("${reference}")
    } else {
        format!("$.{reference}")
    };
    serde_json_path::JsonPath::parse(&text).map_err(|e| format!("invalid JSONPath {reference:?}: {e}"))
}

impl Batch for JsonBatch<'_> {
    fn len(&self) -> usize {
        self.records.len()
    }

    fn slice(&self, start: usize, end: usize) -> Box<dyn Batch + '_> {
        Box::new(JsonBatch { records: &self.records[start..end], natural: self.natural })
    }

    fn column(&self, reference: &str) -> Result<Column, String> {
        let path = json_path(reference)?;
        let mut column = Column::default();
        let mut matched = false;
        for record in self.records {
            let mut values = Vec::new();
            for node in path.query(record).all() {
                matched = true;
                let value = match node {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => Value { text: s.clone(), datatype: None },
                    serde_json::Value::Bool(b) => {
                        Value { text: b.to_string(), datatype: self.natural.then_some(xsd::BOOLEAN) }
                    }
                    serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
                        Value { text: n.to_string(), datatype: self.natural.then_some(xsd::INTEGER) }
                    }
                    serde_json::Value::Number(n) => {
                        let text = match (self.natural, n.as_f64()) {
                            (true, Some(f)) => canonical_double(f),
                            _ => n.to_string(),
                        };
                        Value { text, datatype: self.natural.then_some(xsd::DOUBLE) }
                    }
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        return Err(format!(
                            "reference {reference:?} selects an array or object, not a value"
                        ));
                    }
                };
                values.push(value);
            }
            column.push_record(values);
        }
        if !matched && !self.records.is_empty() {
            return Err(no_match(reference, self.records.len()));
        }
        Ok(column)
    }
}

/// A reference that selects nothing in any record of a batch is almost surely misspelt: JSON
/// and XML have no header to check it against, so this is where it is caught.
fn no_match(reference: &str, records: usize) -> String {
    format!("reference {reference:?} selects nothing in any of {records} records")
}

/// The canonical lexical form of an `xsd:double` (`1.5E0`).
pub(crate) fn canonical_double(value: f64) -> String {
    if value == 0.0 {
        return "0.0E0".into();
    }
    let text = format!("{value:E}");
    match text.split_once('E') {
        Some((mantissa, exponent)) if !mantissa.contains('.') => format!("{mantissa}.0E{exponent}"),
        _ => text,
    }
}

struct XmlBatch<'a, 'd, 'input> {
    nodes: &'a [roxmltree::Node<'d, 'input>],
    namespaces: &'a [(String, String)],
    nulls: &'a [String],
}

impl Batch for XmlBatch<'_, '_, '_> {
    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn slice(&self, start: usize, end: usize) -> Box<dyn Batch + '_> {
        Box::new(XmlBatch { nodes: &self.nodes[start..end], namespaces: self.namespaces, nulls: self.nulls })
    }

    fn column(&self, reference: &str) -> Result<Column, String> {
        let path = crate::xpath::Path::parse(reference, self.namespaces)
            .map_err(|e| format!("invalid XPath {reference:?}: {e}"))?;
        let mut column = Column::default();
        let mut matched = false;
        for node in self.nodes {
            let items = path.select(*node);
            matched |= !items.is_empty();
            column.push_record(items.iter().filter_map(|item| {
                let text = item.string();
                (!self.nulls.contains(&text)).then_some(Value { text, datatype: None })
            }));
        }
        if !matched && !self.nodes.is_empty() {
            return Err(no_match(reference, self.nodes.len()));
        }
        Ok(column)
    }
}

fn parquet_batches(
    path: &Path,
    natural: bool,
    nulls: &[String],
    visit: &mut dyn FnMut(&dyn Batch) -> Result<(), crate::MapError>,
) -> Result<(), SourceError> {
    let read_error = |e: PolarsError| SourceError::Read(format!("{}: {e}", path.display()));
    let file =
        std::fs::File::open(path).map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))?;
    let mut reader = ParquetReader::new(file);
    let rows = reader.num_rows().map_err(read_error)?;
    let mut offset = 0;
    while offset < rows {
        let file =
            std::fs::File::open(path).map_err(|e| SourceError::Read(format!("{}: {e}", path.display())))?;
        let frame =
            ParquetReader::new(file).with_slice(Some((offset, BATCH))).finish().map_err(read_error)?;
        offset += BATCH;
        visit(&FrameBatch { frame, natural, nulls }).map_err(SourceError::Map)?;
    }
    Ok(())
}

struct FrameBatch<'a> {
    frame: DataFrame,
    natural: bool,
    nulls: &'a [String],
}

impl Batch for FrameBatch<'_> {
    fn len(&self) -> usize {
        self.frame.height()
    }

    fn slice(&self, start: usize, end: usize) -> Box<dyn Batch + '_> {
        Box::new(FrameBatch {
            frame: self.frame.slice(start as i64, end - start),
            natural: self.natural,
            nulls: self.nulls,
        })
    }

    fn column(&self, reference: &str) -> Result<Column, String> {
        let source = self.frame.column(reference).map_err(|_| {
            let names: Vec<String> = self.frame.get_column_names().iter().map(|n| n.to_string()).collect();
            format!("no column {reference:?} (columns: {})", names.join(", "))
        })?;
        let datatype = if self.natural {
            match source.dtype() {
                DataType::Boolean => Some(xsd::BOOLEAN),
                d if d.is_integer() => Some(xsd::INTEGER),
                d if d.is_float() => Some(xsd::DOUBLE),
                DataType::Date => Some(xsd::DATE),
                DataType::Datetime(_, _) => Some(xsd::DATE_TIME),
                _ => None,
            }
        } else {
            None
        };
        let strings = match source.dtype() {
            DataType::Datetime(_, _) => source
                .as_materialized_series()
                .datetime()
                .map_err(|e| e.to_string())?
                .to_string("%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|e| e.to_string())?
                .into_series(),
            _ => source.cast(&DataType::String).map_err(|e| e.to_string())?.as_materialized_series().clone(),
        };
        let strings = strings.str().map_err(|e| e.to_string())?;
        let mut column =
            Column { values: Vec::with_capacity(strings.len()), ends: Vec::with_capacity(strings.len()) };
        for value in strings.iter() {
            let value = value.filter(|v| !self.nulls.iter().any(|n| n == v));
            column.push_record(value.map(|v| Value {
                text: match datatype {
                    Some(d) if d == xsd::DOUBLE => {
                        v.parse::<f64>().map(canonical_double).unwrap_or_else(|_| v.to_owned())
                    }
                    _ => v.to_owned(),
                },
                datatype,
            }));
        }
        Ok(column)
    }
}
