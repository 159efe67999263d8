//! Where a mapping's quads go: an RDF file (written under a temporary name, renamed when
//! complete) or the store (through the bulk loader, with the run's provenance, all at once).

use crate::error::{Location, Result};
use crate::{Mapping, RunReport};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{GraphName, Literal, NamedNode, Quad, QuadRef};
use sailkg_core::terms::{date_time, file_iri};
use sailkg_core::vocab::{GRAPH_CATALOG, SAIL};
use sailkg_store::{LoadInput, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const PROV: &str = "http://www.w3.org/ns/prov#";

/// Finds the Parquet file of a catalogued table.
pub type Catalogue<'a> = &'a dyn Fn(&str) -> std::result::Result<PathBuf, String>;

/// The RDF syntax of an output file, from its extension (N-Quads when unknown).
pub fn format_for(path: &Path) -> RdfFormat {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(RdfFormat::from_extension)
        .filter(|f| {
            matches!(f, RdfFormat::NTriples | RdfFormat::NQuads | RdfFormat::Turtle | RdfFormat::TriG)
        })
        .unwrap_or(RdfFormat::NQuads)
}

/// Runs the mapping into `writer` as `format`. Formats without graphs refuse quads in named
/// graphs.
pub fn map_to_writer(
    mapping: &Mapping,
    writer: impl Write + Send,
    format: RdfFormat,
    catalogue: Catalogue<'_>,
) -> Result<RunReport> {
    let at = Location::file(mapping.file());
    if matches!(format, RdfFormat::NTriples | RdfFormat::NQuads) {
        return map_to_lines(mapping, writer, format == RdfFormat::NQuads, catalogue);
    }
    let mut serializer = RdfSerializer::from_format(format).for_writer(writer);
    let report = mapping.run(catalogue, &mut |quad: QuadRef<'_>| {
        if !format.supports_datasets() && !quad.graph_name.is_default_graph() {
            return Err(crate::no_named_graphs(quad.graph_name));
        }
        serializer.serialize_quad(quad)
    })?;
    serializer.finish().map_err(|e| at.error(format!("cannot write the output: {e}")))?.flush().ok();
    Ok(report)
}

/// N-Triples or N-Quads through the engine's own line writer, in buffered chunks.
fn map_to_lines(
    mapping: &Mapping,
    writer: impl Write + Send,
    graphs: bool,
    catalogue: Catalogue<'_>,
) -> Result<RunReport> {
    let at = Location::file(mapping.file());
    // A writer thread overlaps writing with the evaluation of the next batch.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
    std::thread::scope(|scope| {
        let writing = scope.spawn(move || -> std::io::Result<()> {
            let mut writer = writer;
            for chunk in receiver {
                writer.write_all(&chunk)?;
            }
            writer.flush()
        });
        let report = mapping.run_lines(catalogue, graphs, &mut |bytes| {
            sender.send(bytes).map_err(|_| std::io::Error::other("the output writer stopped"))
        });
        drop(sender);
        let written =
            writing.join().unwrap_or_else(|_| Err(std::io::Error::other("the output writer panicked")));
        match (report, written) {
            (Ok(report), Ok(())) => Ok(report),
            // A failed write stops the run with a closed channel: report the write's error.
            (_, Err(e)) => Err(at.error(format!("cannot write the output: {e}"))),
            (Err(e), Ok(())) => Err(e),
        }
    })
}

/// Runs the mapping into a file, all or nothing: a failed run leaves no file behind.
///
/// A path that exists and is not a regular file (`/dev/stdout`, a named pipe) is written in
/// place: renaming onto it would replace the device.
pub fn map_to_file(mapping: &Mapping, path: &Path, catalogue: Catalogue<'_>) -> Result<RunReport> {
    let at = Location::file(mapping.file());
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| at.error(format!("cannot open {}: {e}", path.display())))?;
        return map_to_writer(mapping, file, format_for(path), catalogue);
    }
    let temporary = path.with_file_name(format!(
        ".{}.partial",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let file = std::fs::File::create(&temporary)
        .map_err(|e| at.error(format!("cannot create {}: {e}", temporary.display())))?;
    let result =
        map_to_writer(mapping, std::io::BufWriter::with_capacity(1 << 20, file), format_for(path), catalogue);
    match result {
        Ok(report) => {
            std::fs::rename(&temporary, path)
                .map_err(|e| at.error(format!("cannot write {}: {e}", path.display())))?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

/// What [`map_into_store`] did.
#[derive(Debug, Clone)]
pub struct StoreReport {
    /// The run.
    pub run: RunReport,
    /// The graph the mapping's default-graph triples went to.
    pub graph: NamedNode,
    /// The provenance activity in the catalogue.
    pub activity: NamedNode,
}

/// Runs the mapping into `graph` of the store, replacing what an earlier run put there; triples
/// the mapping puts in named graphs keep them. The run is first written to a file under
/// `runs/`, so a mapping error leaves the store untouched; the load is one bulk commit with the
/// run's provenance (`prov:Activity` using the mapping, generating the graph, derived from
/// `derived_from`) in the catalogue graph.
pub fn map_into_store(
    mapping: &Mapping,
    store: &Store,
    graph: &NamedNode,
    derived_from: &[NamedNode],
    catalogue: Catalogue<'_>,
) -> Result<StoreReport> {
    let at = Location::file(mapping.file());
    let started = SystemTime::now();
    let runs = store.data_dir().join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| at.error(format!("cannot create {}: {e}", runs.display())))?;
    let stamp = started.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let spool = runs.join(format!("map-{stamp}.nq"));
    let run = map_to_file(mapping, &spool, catalogue)?;
    let activity = NamedNode::new_unchecked(format!("urn:sailkg:run:map/{stamp}"));
    let provenance = provenance(mapping, graph, &activity, derived_from, &run, started);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().append(true).open(&spool)?;
        let mut serializer = RdfSerializer::from_format(RdfFormat::NQuads).for_writer(&mut file);
        for quad in &provenance {
            serializer.serialize_quad(quad)?;
        }
        serializer.finish()?;
        std::io::Result::Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&spool);
        return Err(at.error(format!("cannot write {}: {e}", spool.display())));
    }
    let input =
        std::fs::File::open(&spool).map_err(|e| at.error(format!("cannot read {}: {e}", spool.display())));
    let loaded = input.and_then(|file| {
        let input = LoadInput {
            name: spool.display().to_string(),
            format: RdfFormat::NQuads,
            reader: Box::new(std::io::BufReader::new(file)),
            base_iri: None,
        };
        store
            .bulk_load_with(vec![input], &GraphName::NamedNode(graph.clone()), None, |store| {
                store.drop_graph(graph.as_ref().into())
            })
            .map_err(|e| at.error(format!("cannot load into the store: {e}")))
    });
    let _ = std::fs::remove_file(&spool);
    loaded?;
    Ok(StoreReport { run, graph: graph.clone(), activity })
}

fn provenance(
    mapping: &Mapping,
    graph: &NamedNode,
    activity: &NamedNode,
    derived_from: &[NamedNode],
    run: &RunReport,
    started: SystemTime,
) -> Vec<Quad> {
    let catalog = GraphName::NamedNode(NamedNode::new_unchecked(GRAPH_CATALOG));
    let prov = |local: &str| NamedNode::new_unchecked(format!("{PROV}{local}"));
    let sail = |local: &str| NamedNode::new_unchecked(format!("{SAIL}{local}"));
    let mut quads = vec![
        Quad::new(activity.clone(), rdf::TYPE, prov("Activity"), catalog.clone()),
        Quad::new(activity.clone(), rdf::TYPE, sail("MappingRun"), catalog.clone()),
        Quad::new(activity.clone(), prov("startedAtTime"), date_time(started), catalog.clone()),
        Quad::new(activity.clone(), prov("endedAtTime"), date_time(SystemTime::now()), catalog.clone()),
        Quad::new(activity.clone(), prov("used"), file_iri(Path::new(mapping.file())), catalog.clone()),
        Quad::new(activity.clone(), prov("generated"), graph.clone(), catalog.clone()),
        Quad::new(
            activity.clone(),
            sail("quadCount"),
            Literal::new_typed_literal(run.quads.to_string(), xsd::INTEGER),
            catalog.clone(),
        ),
        Quad::new(
            activity.clone(),
            prov("wasAssociatedWith"),
            NamedNode::new_unchecked(format!("urn:sailkg:software:sailkg/{}", env!("CARGO_PKG_VERSION"))),
            catalog.clone(),
        ),
        Quad::new(graph.clone(), prov("wasGeneratedBy"), activity.clone(), catalog.clone()),
    ];
    for source in derived_from {
        quads.push(Quad::new(activity.clone(), prov("used"), source.clone(), catalog.clone()));
        quads.push(Quad::new(graph.clone(), prov("wasDerivedFrom"), source.clone(), catalog.clone()));
    }
    quads
}
