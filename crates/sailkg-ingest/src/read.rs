//! Readers: bytes of a source file to a table, plus the records that could not be read.

use crate::{IngestError, Result};
use polars::prelude::*;
use std::borrow::Cow;
use std::io::{Cursor, Write};
use std::path::Path;

/// The formats ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Comma (or other single-character) separated values; the separator is detected.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// A JSON array of objects (or one object).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A GeoJSON FeatureCollection: properties plus the geometry as WKT.
    GeoJson,
    /// Apache Parquet.
    Parquet,
    /// An Excel workbook (`.xlsx`, `.xls`, `.ods`): its first sheet, the first row as header.
    Excel,
    /// A PNG, JPEG, GIF or WebP image: one record of metadata.
    Image,
    /// A plain-text or Markdown document: one record (title, text, language, length).
    Text,
}

/// Metadata that also becomes an RDF resource in the catalogue.
#[derive(Debug, Clone)]
pub(crate) enum Resource {
    Image(crate::media::ImageInfo),
    Document(crate::media::DocumentInfo),
}

/// What a reader produced.
pub(crate) struct Read {
    pub frame: DataFrame,
    pub rejects: Vec<Reject>,
    pub rows_read: u64,
    pub resource: Option<Resource>,
}

/// A record that could not be read, kept for a person to look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// 1-based line (CSV) or record (JSON) number in the source.
    pub row: u64,
    /// The field concerned, empty when the whole record is.
    pub field: String,
    /// Why it was rejected.
    pub reason: String,
    /// The raw text.
    pub raw: String,
}

impl SourceFormat {
    /// Parses a `--format` value.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" => Self::Csv,
            "tsv" | "tab" => Self::Tsv,
            "json" => Self::Json,
            "ndjson" | "jsonl" => Self::Ndjson,
            "geojson" => Self::GeoJson,
            "parquet" => Self::Parquet,
            "xlsx" | "excel" | "xls" | "ods" => Self::Excel,
            "image" => Self::Image,
            "text" | "markdown" | "md" => Self::Text,
            _ => return None,
        })
    }

    /// The name used in reports and the catalogue.
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
            Self::GeoJson => "geojson",
            Self::Parquet => "parquet",
            Self::Excel => "xlsx",
            Self::Image => "image",
            Self::Text => "text",
        }
    }

    /// The media type of the original file; an image's comes from its header, already read.
    pub(crate) fn media_type(self, resource: Option<&Resource>) -> &'static str {
        match self {
            Self::Image => match resource {
                Some(Resource::Image(image)) => match image.format {
                    "png" => "image/png",
                    "jpeg" => "image/jpeg",
                    "gif" => "image/gif",
                    _ => "image/webp",
                },
                _ => "application/octet-stream",
            },
            Self::Text => "text/plain",
            Self::Excel => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv",
            Self::Tsv => "text/tab-separated-values",
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
            Self::GeoJson => "application/geo+json",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// Tells the format from the file name, then from the first bytes.
    pub fn detect(path: &Path, bytes: &[u8]) -> Result<Self> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let by_name = match extension.as_str() {
            "csv" => Some(Self::Csv),
            "tsv" | "tab" => Some(Self::Tsv),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            "geojson" => Some(Self::GeoJson),
            "parquet" | "pq" => Some(Self::Parquet),
            "json" => Some(Self::Json),
            "xlsx" | "xlsm" | "xls" | "ods" => Some(Self::Excel),
            _ => None,
        };
        if bytes.starts_with(b"PAR1") {
            return Ok(Self::Parquet);
        }
        if matches!(extension.as_str(), "png" | "jpg" | "jpeg" | "gif" | "webp")
            || crate::media::image(bytes).is_ok()
        {
            return Ok(Self::Image);
        }
        if matches!(extension.as_str(), "txt" | "text" | "md" | "markdown") {
            return Ok(Self::Text);
        }
        match by_name {
            Some(Self::Json) => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
                if head.contains("\"FeatureCollection\"") {
                    Ok(Self::GeoJson)
                } else if head.trim_start().starts_with('{') && looks_like_ndjson(bytes) {
                    Ok(Self::Ndjson)
                } else {
                    Ok(Self::Json)
                }
            }
            Some(format) => Ok(format),
            None => Err(IngestError::UnknownFormat(path.display().to_string())),
        }
    }
}

fn looks_like_ndjson(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(65536)]);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    serde_json::from_str::<serde_json::Value>(first).is_ok() && lines.next().is_some()
}

/// Reads a source: the table, the rejected records, the number of records read, and for images
/// and documents their metadata.
pub(crate) fn read(bytes: &[u8], format: SourceFormat, name: &str) -> Result<Read> {
    let file = || Column::new(PlSmallStr::from("file"), [name.rsplit('/').next().unwrap_or(name)]);
    match format {
        SourceFormat::Image => {
            let info = crate::media::image(bytes).map_err(|e| malformed(name, e))?;
            let exif = serde_json::to_string(&info.exif).unwrap_or_default();
            let frame = DataFrame::new(
                1,
                vec![
                    file(),
                    Column::new("format".into(), [info.format]),
                    Column::new("width".into(), [i64::from(info.width)]),
                    Column::new("height".into(), [i64::from(info.height)]),
                    Column::new("colour_type".into(), [info.colour]),
                    Column::new("bit_depth".into(), [info.bit_depth.map(i64::from)]),
                    Column::new("exif".into(), [exif]),
                ],
            )?;
            Ok(Read { frame, rejects: Vec::new(), rows_read: 1, resource: Some(Resource::Image(info)) })
        }
        SourceFormat::Text => {
            let text = decode_text(bytes, name)?;
            let info = crate::media::document(&text);
            let frame = DataFrame::new(
                1,
                vec![
                    file(),
                    Column::new("title".into(), [info.title.as_str()]),
                    Column::new("text".into(), [text.as_ref()]),
                    Column::new("language".into(), [info.language]),
                    Column::new("characters".into(), [info.characters as i64]),
                    Column::new("words".into(), [info.words as i64]),
                ],
            )?;
            Ok(Read { frame, rejects: Vec::new(), rows_read: 1, resource: Some(Resource::Document(info)) })
        }
        other => {
            let (frame, rejects, rows_read) = read_table(bytes, other, name)?;
            Ok(Read { frame, rejects, rows_read, resource: None })
        }
    }
}

fn read_table(bytes: &[u8], format: SourceFormat, name: &str) -> Result<(DataFrame, Vec<Reject>, u64)> {
    match format {
        SourceFormat::Image | SourceFormat::Text => Err(malformed(name, "not a table".into())),
        SourceFormat::Excel => read_excel(bytes, name),
        SourceFormat::Parquet => {
            let frame = ParquetReader::new(Cursor::new(bytes))
                .finish()
                .map_err(|e| malformed(name, format!("not a readable Parquet file: {e}")))?;
            let rows = frame.height() as u64;
            Ok((frame, Vec::new(), rows))
        }
        SourceFormat::Csv | SourceFormat::Tsv => {
            let text = decode_text(bytes, name)?;
            read_delimited(&text, (format == SourceFormat::Tsv).then_some(b'\t'), name)
        }
        SourceFormat::Json => {
            let text = decode_text(bytes, name)?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| malformed(name, format!("line {}, column {}: {e}", e.line(), e.column())))?;
            let records = match value {
                serde_json::Value::Array(items) => items,
                object @ serde_json::Value::Object(_) => vec![object],
                _ => return Err(malformed(name, "expected a JSON array of objects".into())),
            };
            records_to_frame(records, name)
        }
        SourceFormat::Ndjson => {
            let text = decode_text(bytes, name)?;
            let mut records = Vec::new();
            let mut rejects = Vec::new();
            let mut read = 0;
            for (index, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                read += 1;
                match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(value @ serde_json::Value::Object(_)) => records.push(value),
                    Ok(_) => rejects.push(reject(index, "", "not a JSON object", line)),
                    Err(e) => rejects.push(reject(index, "", &format!("invalid JSON: {e}"), line)),
                }
            }
            let (frame, mut more, _) = records_to_frame(records, name)?;
            rejects.append(&mut more);
            Ok((frame, rejects, read))
        }
        SourceFormat::GeoJson => {
            let text = decode_text(bytes, name)?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| malformed(name, format!("line {}, column {}: {e}", e.line(), e.column())))?;
            let features = value.get("features").and_then(|f| f.as_array()).ok_or_else(|| {
                malformed(name, "expected a GeoJSON FeatureCollection with features".into())
            })?;
            let mut records = Vec::with_capacity(features.len());
            let mut rejects = Vec::new();
            for (index, feature) in features.iter().enumerate() {
                let mut record = serde_json::Map::new();
                if let Some(id) = feature.get("id") {
                    record.insert("id".into(), id.clone());
                }
                if let Some(serde_json::Value::Object(properties)) = feature.get("properties") {
                    for (key, value) in properties {
                        record.insert(key.clone(), value.clone());
                    }
                }
                match feature.get("geometry") {
                    None | Some(serde_json::Value::Null) => {
                        record.insert("geometry".into(), serde_json::Value::Null);
                    }
                    Some(geometry) => match wkt(geometry) {
                        Some(text) => {
                            record.insert("geometry".into(), text.into());
                        }
                        None => {
                            rejects.push(Reject {
                                row: index as u64 + 1,
                                field: "geometry".into(),
                                reason: "unsupported or malformed geometry".into(),
                                raw: geometry.to_string(),
                            });
                            continue;
                        }
                    },
                }
                records.push(serde_json::Value::Object(record));
            }
            let read = features.len() as u64;
            let (frame, mut more, _) = records_to_frame(records, name)?;
            rejects.append(&mut more);
            Ok((frame, rejects, read))
        }
    }
}

fn reject(index: usize, field: &str, reason: &str, raw: &str) -> Reject {
    Reject { row: index as u64 + 1, field: field.into(), reason: reason.into(), raw: raw.into() }
}

fn malformed(name: &str, message: String) -> IngestError {
    IngestError::Malformed { name: name.to_owned(), message }
}

/// Decodes text: UTF-8 (BOM stripped, borrowed), UTF-16 with a BOM, or Latin-1 when the bytes
/// are not UTF-8. Binary content (NUL bytes in UTF-8 text) is refused.
fn decode_text<'a>(bytes: &'a [u8], name: &str) -> Result<Cow<'a, str>> {
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return decode_utf8(rest, name).map(Cow::Borrowed);
    }
    for (bom, little) in [([0xffu8, 0xfe], true), ([0xfe, 0xff], false)] {
        if let Some(rest) = bytes.strip_prefix(&bom) {
            let units = rest.chunks_exact(2).map(|p| {
                if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) }
            });
            return char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map(Cow::Owned)
                .map_err(|e| malformed(name, format!("invalid UTF-16: {e}")));
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => decode_utf8(bytes, name).map(Cow::Borrowed),
        Err(_) if memchr::memchr(0, bytes).is_some() => {
            Err(malformed(name, "binary content (NUL bytes), not a text file".into()))
        }
        // Not UTF-8 and no NUL: read as Latin-1, where every byte is a character.
        Err(_) => Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())),
    }
}

fn decode_utf8<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| malformed(name, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    if memchr::memchr(0, bytes).is_some() {
        return Err(malformed(name, "binary content (NUL bytes), not a text file".into()));
    }
    Ok(text)
}

/// A record of delimited text: its first line, its byte range and its number of fields.
struct Record {
    line: u64,
    start: usize,
    end: usize,
    fields: usize,
    blank: bool,
}

/// Splits delimited text into records, honouring double quotes (which may span lines), and
/// hands each record (blank ones marked) to `visit`. Records without quotes, the common case, are counted
/// with vectorised byte searches; quoted ones byte by byte.
fn records(text: &str, separator: u8, mut visit: impl FnMut(Record)) {
    let bytes = text.as_bytes();
    let (mut start, mut line) = (0usize, 1u64);
    while start < bytes.len() {
        let start_line = line;
        let newline = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let mut end = newline;
        let fields = if memchr::memchr(b'"', &bytes[start..newline]).is_none() {
            line += 1;
            bytecount(&bytes[start..newline], separator) + 1
        } else {
            // Walk quoted text, which may hold separators and newlines.
            let (mut fields, mut quoted, mut i) = (1, false, start);
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => quoted = !quoted,
                    b if b == separator && !quoted => fields += 1,
                    b'\n' => {
                        line += 1;
                        if !quoted {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if i == bytes.len() {
                line += 1;
            }
            end = i;
            fields
        };
        let stop = if end > start && bytes[end - 1] == b'\r' { end - 1 } else { end };
        let blank = text[start..stop].trim().is_empty();
        visit(Record { line: start_line, start, end: stop, fields, blank });
        start = end + 1;
    }
}

fn bytecount(bytes: &[u8], needle: u8) -> usize {
    // A plain filter-count, which the compiler vectorises.
    bytes.iter().filter(|&&b| b == needle).count()
}

/// Picks the separator that splits the first lines most consistently.
fn detect_separator(text: &str) -> u8 {
    let end = text.match_indices('\n').nth(49).map_or(text.len(), |(i, _)| i);
    let sample = &text[..end];
    let mut best = (b',', 0usize);
    for candidate in [b',', b'\t', b';', b'|'] {
        let mut counts = Vec::new();
        records(sample, candidate, |r| {
            if !r.blank {
                counts.push(r.fields)
            }
        });
        let Some(&first) = counts.first() else { continue };
        if first < 2 {
            continue;
        }
        let consistent = counts.iter().filter(|&&n| n == first).count();
        let score = consistent * first;
        if score > best.1 {
            best = (candidate, score);
        }
    }
    best.0
}

fn read_delimited(text: &str, separator: Option<u8>, name: &str) -> Result<(DataFrame, Vec<Reject>, u64)> {
    let separator = separator.unwrap_or_else(|| detect_separator(text));
    let mut header: Option<Record> = None;
    // Records the parser must not see: blank lines after the header and ragged rows.
    let mut skipped: Vec<Record> = Vec::new();
    let mut read = 0u64;
    records(text, separator, |record| match &header {
        _ if record.blank => {
            if header.is_some() {
                skipped.push(record)
            }
        }
        None => header = Some(record),
        Some(h) => {
            read += 1;
            if record.fields != h.fields {
                skipped.push(record);
            }
        }
    });
    let Some(header) = header else {
        return Err(malformed(name, "the file is empty".into()));
    };
    let width = header.fields;
    let rejects: Vec<Reject> = skipped
        .iter()
        .filter(|r| !r.blank)
        .map(|r| Reject {
            row: r.line,
            field: String::new(),
            reason: format!("{} fields where the header has {width}", r.fields),
            raw: text[r.start..r.end].to_owned(),
        })
        .collect();
    // The parser gets the text as it is unless rows were rejected, then a copy without them.
    let table: Cow<'_, [u8]> = if skipped.is_empty() {
        Cow::Borrowed(&text.as_bytes()[header.start..])
    } else {
        let mut clean = Vec::with_capacity(text.len());
        let mut from = header.start;
        for record in &skipped {
            clean.extend_from_slice(&text.as_bytes()[from..record.start]);
            from = (record.end + 1).min(text.len());
            if text.as_bytes().get(record.end) == Some(&b'\r') {
                from = (record.end + 2).min(text.len());
            }
        }
        clean.extend_from_slice(&text.as_bytes()[from..]);
        Cow::Owned(clean)
    };
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(10_000))
        .with_parse_options(CsvParseOptions::default().with_separator(separator).with_quote_char(Some(b'"')))
        .into_reader_with_file_handle(Cursor::new(table.as_ref()))
        .finish()
        .map_err(|e| malformed(name, format!("cannot parse: {e}")))?;
    Ok((frame, rejects, read))
}

/// The first sheet of a workbook; the first row names the columns. Error cells become missing
/// values and reject entries.
fn read_excel(bytes: &[u8], name: &str) -> Result<(DataFrame, Vec<Reject>, u64)> {
    use calamine::{Data, Reader};
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| malformed(name, format!("not a readable workbook: {e}")))?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| malformed(name, "the workbook has no sheet".into()))?;
    let range =
        workbook.worksheet_range(&sheet).map_err(|e| malformed(name, format!("sheet {sheet:?}: {e}")))?;
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Err(malformed(name, format!("sheet {sheet:?} is empty")));
    };
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, cell)| match cell {
            Data::Empty => format!("column_{}", i + 1),
            other => other.to_string(),
        })
        .collect();
    let mut records = Vec::new();
    let mut rejects = Vec::new();
    for (index, row) in rows.enumerate() {
        let mut record = serde_json::Map::new();
        for (column, cell) in names.iter().zip(row) {
            let value = match cell {
                Data::Int(i) => serde_json::Value::from(*i),
                Data::Float(f) => serde_json::Number::from_f64(*f)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                Data::String(text) => serde_json::Value::from(text.as_str()),
                Data::Bool(b) => serde_json::Value::from(*b),
                Data::DateTime(time) => serde_json::Value::from(excel_date(time.as_f64())),
                Data::DateTimeIso(text) | Data::DurationIso(text) => serde_json::Value::from(text.as_str()),
                Data::Error(error) => {
                    // Row numbers are the sheet's: the header is row 1.
                    rejects.push(Reject {
                        row: index as u64 + 2,
                        field: column.clone(),
                        reason: format!("cell error {error}; the value is left missing"),
                        raw: error.to_string(),
                    });
                    serde_json::Value::Null
                }
                Data::Empty => serde_json::Value::Null,
            };
            record.insert(column.clone(), value);
        }
        records.push(serde_json::Value::Object(record));
    }
    let (frame, _, read) = records_to_frame(records, name)?;
    // Cell errors do not remove their row: they are reported, and the cell is missing.
    Ok((frame, rejects, read))
}

/// An Excel serial date (days since 1899-12-30) as ISO-8601.
fn excel_date(serial: f64) -> String {
    let seconds = ((serial - 25_569.0) * 86_400.0).round() as i64;
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = sailkg_core::terms::civil_from_days(days);
    if rest == 0 {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
    }
}

/// Builds a table from JSON objects: nested objects become dotted column names, arrays stay
/// lists, and a field whose values mix types is kept as text.
fn records_to_frame(records: Vec<serde_json::Value>, name: &str) -> Result<(DataFrame, Vec<Reject>, u64)> {
    let read = records.len() as u64;
    let mut flat = Vec::with_capacity(records.len());
    let mut columns: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let mut row = serde_json::Map::new();
        flatten("", record, &mut row);
        for key in row.keys() {
            if seen.insert(key.clone()) {
                columns.push(key.clone());
            }
        }
        flat.push(row);
    }
    let mut series = Vec::with_capacity(columns.len());
    for column in &columns {
        let values: Vec<Option<&serde_json::Value>> =
            flat.iter().map(|row| row.get(column).filter(|v| !v.is_null())).collect();
        series.push(json_column(column, &values));
    }
    let frame = if series.is_empty() {
        DataFrame::empty()
    } else {
        DataFrame::new(flat.len(), series).map_err(|e| malformed(name, e.to_string()))?
    };
    Ok((frame, Vec::new(), read))
}

fn flatten(prefix: &str, value: serde_json::Value, out: &mut serde_json::Map<String, serde_json::Value>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() || prefix.is_empty() => {
            for (key, value) in map {
                let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
                flatten(&name, value, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other);
        }
    }
}

/// One column from JSON values: integers, floats, booleans, text, or lists of text.
fn json_column(name: &str, values: &[Option<&serde_json::Value>]) -> Column {
    use serde_json::Value;
    let present = || values.iter().flatten();
    let name = PlSmallStr::from(name);
    if present().all(|v| v.is_i64()) {
        return Column::new(name, values.iter().map(|v| v.and_then(Value::as_i64)).collect::<Vec<_>>());
    }
    if present().all(|v| v.is_number()) {
        return Column::new(name, values.iter().map(|v| v.and_then(Value::as_f64)).collect::<Vec<_>>());
    }
    if present().all(|v| v.is_boolean()) {
        return Column::new(name, values.iter().map(|v| v.and_then(Value::as_bool)).collect::<Vec<_>>());
    }
    if present().all(|v| v.is_array()) {
        let lists: Vec<Option<Series>> = values
            .iter()
            .map(|v| {
                v.and_then(Value::as_array).map(|items| {
                    let texts: Vec<String> = items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect();
                    Series::new(PlSmallStr::EMPTY, texts)
                })
            })
            .collect();
        let mut list: ListChunked = lists.into_iter().collect();
        list.rename(name);
        return list.into_column();
    }
    // Text, or mixed types: every value as text, so nothing is lost.
    Column::new(
        name,
        values
            .iter()
            .map(|v| v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect::<Vec<_>>(),
    )
}

/// Well-known text of a GeoJSON geometry.
fn wkt(geometry: &serde_json::Value) -> Option<String> {
    let kind = geometry.get("type")?.as_str()?;
    if kind == "GeometryCollection" {
        let parts: Option<Vec<String>> = geometry.get("geometries")?.as_array()?.iter().map(wkt).collect();
        return Some(format!("GEOMETRYCOLLECTION ({})", parts?.join(", ")));
    }
    let coordinates = geometry.get("coordinates")?;
    fn point(value: &serde_json::Value) -> Option<String> {
        let numbers: Option<Vec<f64>> = value.as_array()?.iter().map(serde_json::Value::as_f64).collect();
        let numbers = numbers?;
        (numbers.len() >= 2).then(|| numbers.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "))
    }
    fn points(value: &serde_json::Value) -> Option<String> {
        let list: Option<Vec<String>> = value.as_array()?.iter().map(point).collect();
        Some(format!("({})", list?.join(", ")))
    }
    fn rings(value: &serde_json::Value) -> Option<String> {
        let list: Option<Vec<String>> = value.as_array()?.iter().map(points).collect();
        Some(format!("({})", list?.join(", ")))
    }
    let zm = |value: &serde_json::Value| -> &'static str {
        let first = match kind {
            "Point" => Some(value),
            "LineString" | "MultiPoint" => value.get(0),
            "Polygon" | "MultiLineString" => value.get(0).and_then(|v| v.get(0)),
            _ => value.get(0).and_then(|v| v.get(0)).and_then(|v| v.get(0)),
        };
        if first.and_then(|p| p.as_array()).is_some_and(|p| p.len() == 3) { " Z" } else { "" }
    };
    let z = zm(coordinates);
    Some(match kind {
        "Point" => format!("POINT{z} ({})", point(coordinates)?),
        "LineString" => format!("LINESTRING{z} {}", points(coordinates)?),
        "Polygon" => format!("POLYGON{z} {}", rings(coordinates)?),
        "MultiPoint" => format!("MULTIPOINT{z} {}", points(coordinates)?),
        "MultiLineString" => format!("MULTILINESTRING{z} {}", rings(coordinates)?),
        "MultiPolygon" => {
            let list: Option<Vec<String>> = coordinates.as_array()?.iter().map(rings).collect();
            format!("MULTIPOLYGON{z} ({})", list?.join(", "))
        }
        _ => return None,
    })
}

/// Writes rejects as CSV: row, field, reason, raw.
pub(crate) fn write_rejects(rejects: &[Reject], path: &Path) -> Result<()> {
    let temporary = path.with_extension("csv.partial");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&temporary)
            .map_err(|source| IngestError::Io { path: temporary.clone(), source })?,
    );
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut write = || -> std::io::Result<()> {
        writeln!(out, "row,field,reason,raw")?;
        for r in rejects {
            writeln!(out, "{},{},{},{}", r.row, quote(&r.field), quote(&r.reason), quote(&r.raw))?;
        }
        out.flush()
    };
    write().map_err(|source| IngestError::Io { path: path.into(), source })?;
    drop(out);
    std::fs::rename(&temporary, path).map_err(|source| IngestError::Io { path: path.into(), source })
}
