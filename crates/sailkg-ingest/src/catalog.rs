//! The catalogue: each source version as DCAT 3 + PROV-O in the catalogue graph, with its column
//! profiles in the SAIL vocabulary. One transaction per version, so it appears whole or not at all.

use crate::profile::ColumnProfile;
use crate::read::Resource;
use crate::{IngestError, Result};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::*;
use oxigraph::sparql::{QueryResults, Variable};
use sailkg_core::terms::{date_time, file_iri};
use sailkg_core::vocab::{GRAPH_CATALOG, SAIL, dataset_iri, version_iri};
use sailkg_store::{QueryRequest, Store};
use std::path::Path;
use std::time::{Duration, SystemTime};

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const PROV: &str = "http://www.w3.org/ns/prov#";
const SPDX: &str = "http://spdx.org/rdf/terms#";

/// Everything the catalogue records about a new version.
pub(crate) struct Entry<'a> {
    pub source: &'a str,
    pub version: &'a str,
    pub content_sha256: &'a str,
    pub original: &'a Path,
    pub media_type: &'static str,
    pub resource: Option<&'a Resource>,
    pub table: &'a Path,
    pub table_bytes: u64,
    pub rows: u64,
    pub rejected: u64,
    pub duplicate_rows: u64,
    pub columns: &'a [ColumnProfile],
    pub rules_hash: &'a str,
    pub started: SystemTime,
    pub ended: SystemTime,
}

fn n(iri: impl Into<String>) -> NamedNode {
    NamedNode::new_unchecked(iri)
}

fn term(ns: &str, local: &str) -> NamedNode {
    n(format!("{ns}{local}"))
}

fn integer(value: u64) -> Literal {
    Literal::new_typed_literal(value.to_string(), xsd::INTEGER)
}

fn double(value: f64) -> Literal {
    Literal::new_typed_literal(value.to_string(), xsd::DOUBLE)
}

/// Whether a version is already catalogued.
pub(crate) fn version_exists(store: &Store, source: &str, version: &str) -> Result<bool> {
    let graph = n(GRAPH_CATALOG);
    let subject = n(version_iri(source, version));
    Ok(store
        .oxigraph()
        .quads_for_pattern(Some(subject.as_ref().into()), Some(rdf::TYPE), None, Some(graph.as_ref().into()))
        .next()
        .transpose()
        .map_err(sailkg_store::StoreError::from)?
        .is_some())
}

/// Writes the catalogue entry of a new version in one transaction.
pub(crate) fn commit(store: &Store, entry: &Entry<'_>) -> Result<()> {
    let graph = GraphName::from(n(GRAPH_CATALOG));
    let sail = |local: &str| term(SAIL, local);
    let dataset = n(dataset_iri(entry.source));
    let version = n(version_iri(entry.source, entry.version));
    let distribution = n(format!("{}/parquet", version.as_str()));
    let run = n(format!("urn:sailkg:run:ingest/{}/{}", entry.source, entry.version));
    let original = file_iri(entry.original);
    let mut quads = Vec::new();
    let mut add = |s: &NamedOrBlankNode, p: NamedNode, o: Term| {
        quads.push(Quad::new(s.clone(), p, o, graph.clone()));
    };
    let d: NamedOrBlankNode = dataset.clone().into();
    add(&d, rdf::TYPE.into_owned(), term(DCAT, "Dataset").into());
    add(&d, term(DCT, "title"), Literal::new_simple_literal(entry.source).into());
    add(&d, term(DCT, "identifier"), Literal::new_simple_literal(entry.source).into());
    add(&d, term(DCAT, "hasVersion"), version.clone().into());
    add(&d, sail("latestVersion"), version.clone().into());
    let v: NamedOrBlankNode = version.clone().into();
    add(&v, rdf::TYPE.into_owned(), term(DCAT, "Dataset").into());
    add(&v, rdf::TYPE.into_owned(), sail("SourceVersion").into());
    add(&v, term(DCT, "isVersionOf"), dataset.clone().into());
    add(&v, term(DCAT, "version"), Literal::new_simple_literal(entry.version).into());
    add(
        &v,
        term(DCT, "title"),
        Literal::new_simple_literal(format!("{} {}", entry.source, entry.version)).into(),
    );
    add(&v, term(DCT, "issued"), date_time(entry.ended).into());
    add(&v, term(DCT, "format"), Literal::new_simple_literal(entry.media_type).into());
    add(&v, sail("rowCount"), integer(entry.rows).into());
    add(&v, sail("rejectCount"), integer(entry.rejected).into());
    add(&v, sail("duplicateRowCount"), integer(entry.duplicate_rows).into());
    add(&v, sail("contentSha256"), Literal::new_simple_literal(entry.content_sha256).into());
    add(&v, term(PROV, "wasDerivedFrom"), original.clone().into());
    add(&v, term(PROV, "wasGeneratedBy"), run.clone().into());
    add(&v, term(DCAT, "distribution"), distribution.clone().into());
    let dist: NamedOrBlankNode = distribution.clone().into();
    add(&dist, rdf::TYPE.into_owned(), term(DCAT, "Distribution").into());
    add(&dist, term(DCAT, "mediaType"), Literal::new_simple_literal("application/vnd.apache.parquet").into());
    add(&dist, term(DCAT, "byteSize"), integer(entry.table_bytes).into());
    add(&dist, term(DCAT, "downloadURL"), file_iri(entry.table).into());
    let checksum = BlankNode::default();
    add(&dist, term(SPDX, "checksum"), checksum.clone().into());
    let c: NamedOrBlankNode = checksum.into();
    add(&c, term(SPDX, "algorithm"), term(SPDX, "checksumAlgorithm_sha256").into());
    add(&c, term(SPDX, "checksumValue"), Literal::new_simple_literal(sha256_file(entry.table)?).into());
    if let Some(resource) = entry.resource {
        const SCHEMA: &str = "http://schema.org/";
        let content: NamedOrBlankNode = n(format!("{}/content", version.as_str())).into();
        add(&v, term(SCHEMA, "mainEntity"), Term::from(content.clone()));
        add(&content, term(SCHEMA, "encodingFormat"), Literal::new_simple_literal(entry.media_type).into());
        add(&content, sail("contentSha256"), Literal::new_simple_literal(entry.content_sha256).into());
        match resource {
            Resource::Image(image) => {
                add(&content, rdf::TYPE.into_owned(), term(SCHEMA, "ImageObject").into());
                add(&content, term(SCHEMA, "width"), integer(u64::from(image.width)).into());
                add(&content, term(SCHEMA, "height"), integer(u64::from(image.height)).into());
                add(&content, sail("colourType"), Literal::new_simple_literal(image.colour).into());
                for (field, value) in &image.exif {
                    let node: NamedOrBlankNode = BlankNode::default().into();
                    add(&content, sail("exifField"), Term::from(node.clone()));
                    add(&node, sail("name"), Literal::new_simple_literal(field).into());
                    add(&node, sail("value"), Literal::new_simple_literal(value).into());
                }
            }
            Resource::Document(document) => {
                add(&content, rdf::TYPE.into_owned(), term(SCHEMA, "TextDigitalDocument").into());
                add(&content, term(SCHEMA, "name"), Literal::new_simple_literal(&document.title).into());
                // The beginning of the text, so that search finds documents by their content.
                add(&content, term(SCHEMA, "text"), Literal::new_simple_literal(&document.excerpt).into());
                add(
                    &content,
                    term(SCHEMA, "inLanguage"),
                    Literal::new_simple_literal(document.language).into(),
                );
                add(&content, sail("characterCount"), integer(document.characters).into());
                add(&content, term(SCHEMA, "wordCount"), integer(document.words).into());
            }
        }
    }
    let r: NamedOrBlankNode = run.clone().into();
    add(&r, rdf::TYPE.into_owned(), term(PROV, "Activity").into());
    add(&r, rdf::TYPE.into_owned(), sail("IngestRun").into());
    add(&r, term(PROV, "startedAtTime"), date_time(entry.started).into());
    add(&r, term(PROV, "endedAtTime"), date_time(entry.ended).into());
    add(&r, term(PROV, "used"), original.into());
    add(&r, sail("rulesHash"), Literal::new_simple_literal(entry.rules_hash).into());
    add(
        &r,
        term(PROV, "wasAssociatedWith"),
        n(format!("urn:sailkg:software:sailkg/{}", env!("CARGO_PKG_VERSION"))).into(),
    );
    for (index, column) in entry.columns.iter().enumerate() {
        let node: NamedOrBlankNode = n(format!("{}/column/{index}", version.as_str())).into();
        add(&v, sail("column"), node.clone().into());
        add(&node, rdf::TYPE.into_owned(), sail("Column").into());
        add(&node, sail("columnName"), Literal::new_simple_literal(&column.name).into());
        add(&node, sail("position"), integer(index as u64).into());
        add(&node, sail("datatype"), Literal::new_simple_literal(&column.datatype).into());
        add(&node, sail("nullShare"), double(column.null_share).into());
        add(&node, sail("distinctCount"), integer(column.distinct).into());
        if let Some(min) = &column.min {
            add(&node, sail("minValue"), Literal::new_simple_literal(min).into());
        }
        if let Some(max) = &column.max {
            add(&node, sail("maxValue"), Literal::new_simple_literal(max).into());
        }
        if let Some([q1, median, q3]) = column.quartiles {
            add(&node, sail("firstQuartile"), double(q1).into());
            add(&node, sail("median"), double(median).into());
            add(&node, sail("thirdQuartile"), double(q3).into());
        }
        if let Some([lo, mean, hi]) = column.text_length {
            add(&node, sail("minLength"), double(lo).into());
            add(&node, sail("meanLength"), double(mean).into());
            add(&node, sail("maxLength"), double(hi).into());
        }
        if let Some(unit) = &column.unit {
            add(&node, sail("unit"), Literal::new_simple_literal(unit).into());
        }
        if let Some(layout) = &column.date_format {
            add(&node, sail("dateFormat"), Literal::new_simple_literal(layout).into());
        }
        if let Some(series) = &column.time_series {
            add(&node, sail("frequencySeconds"), double(series.frequency_seconds).into());
            add(&node, sail("gapCount"), integer(series.gaps).into());
            add(&node, sail("duplicateTimestampCount"), integer(series.duplicates).into());
        }
        for (rank, top) in column.top.iter().enumerate() {
            let value: NamedOrBlankNode = n(format!("{}/column/{index}/top/{rank}", version.as_str())).into();
            add(&node, sail("frequentValue"), value.clone().into());
            add(&value, sail("value"), Literal::new_simple_literal(&top.value).into());
            add(&value, sail("count"), integer(top.count).into());
        }
    }
    let mut transaction = store.oxigraph().start_transaction().map_err(sailkg_store::StoreError::from)?;
    // The dataset keeps one latest version.
    let old: Vec<Quad> = transaction
        .quads_for_pattern(
            Some(dataset.as_ref().into()),
            Some(sail("latestVersion").as_ref()),
            None,
            Some(graph.as_ref()),
        )
        .collect::<Result<_, _>>()
        .map_err(sailkg_store::StoreError::from)?;
    for quad in &old {
        transaction.remove(quad);
    }
    transaction.extend(quads.iter());
    transaction.commit().map_err(sailkg_store::StoreError::from)?;
    store.mark_changed();
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io { path: path.into(), source })?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// One catalogued source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatasetSummary {
    /// The source name.
    pub name: String,
    /// Its latest version.
    pub latest_version: String,
    /// How many versions are catalogued.
    pub versions: u64,
    /// Rows of the latest version.
    pub rows: u64,
    /// When the latest version was issued.
    pub issued: String,
    /// The media type of the original.
    pub format: String,
}

const SUMMARY_QUERY: &str = r#"
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX sail: <urn:sailkg:vocab#>
SELECT ?name ?version ?rows ?issued ?format (COUNT(?any) AS ?versions) WHERE {
  GRAPH <urn:sailkg:graph:catalog> {
    ?dataset a dcat:Dataset ; dct:identifier ?name ; sail:latestVersion ?latest ; dcat:hasVersion ?any .
    ?latest dcat:version ?version ; sail:rowCount ?rows ; dct:issued ?issued ; dct:format ?format .
  }
  FILTER_PLACEHOLDER
} GROUP BY ?name ?version ?rows ?issued ?format ORDER BY ?name"#;

/// Every catalogued source.
pub fn list_datasets(store: &Store) -> Result<Vec<DatasetSummary>> {
    summaries(store, None)
}

fn summaries(store: &Store, name: Option<&str>) -> Result<Vec<DatasetSummary>> {
    let filter = match name {
        Some(name) => format!("FILTER(?name = {})", Literal::new_simple_literal(name)),
        None => String::new(),
    };
    let query = SUMMARY_QUERY.replace("FILTER_PLACEHOLDER", &filter);
    let budget = store.budget(Duration::from_secs(60));
    let QueryResults::Solutions(solutions) =
        store.query(&QueryRequest { query: &query, ..Default::default() }, &budget)?
    else {
        return Ok(Vec::new());
    };
    let text = |solution: &oxigraph::sparql::QuerySolution, var: &str| -> String {
        match solution.get(Variable::new_unchecked(var)) {
            Some(Term::Literal(l)) => l.value().to_owned(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    };
    let mut out = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(sailkg_store::StoreError::Query)?;
        out.push(DatasetSummary {
            name: text(&solution, "name"),
            latest_version: text(&solution, "version"),
            versions: text(&solution, "versions").parse().unwrap_or(0),
            rows: text(&solution, "rows").parse().unwrap_or(0),
            issued: text(&solution, "issued"),
            format: text(&solution, "format"),
        });
    }
    Ok(out)
}

/// One source with the column profiles of its latest version, or `None` if unknown.
pub fn show_dataset(store: &Store, name: &str) -> Result<Option<(DatasetSummary, Vec<ColumnProfile>)>> {
    let Some(summary) = summaries(store, Some(name))?.into_iter().next() else { return Ok(None) };
    let columns = column_profiles(store, name, &summary.latest_version)?;
    Ok(Some((summary, columns)))
}

/// The column profiles of a version, read back from the catalogue.
pub(crate) fn column_profiles(store: &Store, source: &str, version: &str) -> Result<Vec<ColumnProfile>> {
    let query = format!(
        r#"PREFIX sail: <urn:sailkg:vocab#>
SELECT ?name ?type ?nulls ?distinct ?min ?max WHERE {{
  GRAPH <urn:sailkg:graph:catalog> {{
    <{}> sail:column ?c . ?c sail:position ?pos ; sail:columnName ?name ; sail:datatype ?type ;
      sail:nullShare ?nulls ; sail:distinctCount ?distinct .
    OPTIONAL {{ ?c sail:minValue ?min }} OPTIONAL {{ ?c sail:maxValue ?max }}
  }}
}} ORDER BY ?pos"#,
        version_iri(source, version)
    );
    let budget = store.budget(Duration::from_secs(60));
    let QueryResults::Solutions(solutions) =
        store.query(&QueryRequest { query: &query, ..Default::default() }, &budget)?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(sailkg_store::StoreError::Query)?;
        let text = |var: &str| match solution.get(Variable::new_unchecked(var)) {
            Some(Term::Literal(l)) => Some(l.value().to_owned()),
            _ => None,
        };
        out.push(ColumnProfile {
            name: text("name").unwrap_or_default(),
            datatype: text("type").unwrap_or_default(),
            null_share: text("nulls").and_then(|v| v.parse().ok()).unwrap_or(0.0),
            distinct: text("distinct").and_then(|v| v.parse().ok()).unwrap_or(0),
            min: text("min"),
            max: text("max"),
            ..ColumnProfile::default()
        });
    }
    Ok(out)
}
