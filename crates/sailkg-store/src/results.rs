//! Writing query results: the SPARQL result formats, RDF for graph results, and a text table,
//! always streaming and always under the row limit.

use crate::query::query_error;
use crate::{Budget, Result, StoreError};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::Term;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{QueryResults, QuerySolutionIter, QueryTripleIter};
use std::io::Write;

/// How solutions and booleans are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    /// A standard SPARQL results format (JSON, XML, CSV, TSV).
    Sparql(QueryResultsFormat),
    /// An aligned text table for terminals.
    Table,
}

/// Writes any query results: solutions and booleans in `format`, graphs in `graph_format`.
/// Returns the number of rows (or triples) written.
pub fn write_results(
    results: QueryResults<'static>,
    format: ResultsFormat,
    graph_format: RdfFormat,
    writer: impl Write,
    max_rows: u64,
    budget: &Budget,
) -> Result<u64> {
    match (results, format) {
        (QueryResults::Solutions(solutions), ResultsFormat::Sparql(format)) => {
            write_solutions(solutions, format, writer, max_rows, budget)
        }
        (QueryResults::Solutions(solutions), ResultsFormat::Table) => {
            write_table(solutions, writer, max_rows, budget)
        }
        (QueryResults::Boolean(value), ResultsFormat::Sparql(format)) => {
            write_boolean(value, format, writer).map(|()| 1)
        }
        (QueryResults::Boolean(value), ResultsFormat::Table) => {
            let mut writer = writer;
            writeln!(writer, "{value}").map_err(io_error)?;
            Ok(1)
        }
        (QueryResults::Graph(triples), _) => write_graph(triples, graph_format, writer, max_rows, budget),
    }
}

/// Writes solutions in a SPARQL results format.
pub fn write_solutions(
    solutions: QuerySolutionIter<'static>,
    format: QueryResultsFormat,
    writer: impl Write,
    max_rows: u64,
    budget: &Budget,
) -> Result<u64> {
    let mut serializer = QueryResultsSerializer::from_format(format)
        .serialize_solutions_to_writer(writer, solutions.variables().to_vec())
        .map_err(io_error)?;
    let mut rows = 0;
    for solution in solutions {
        let solution = solution.map_err(|e| query_error(e, budget))?;
        rows += 1;
        if rows > max_rows {
            return Err(StoreError::TooManyRows(max_rows));
        }
        serializer.serialize(&solution).map_err(io_error)?;
    }
    serializer.finish().map_err(io_error)?;
    Ok(rows)
}

/// Writes the answer of an ASK query.
pub fn write_boolean(value: bool, format: QueryResultsFormat, writer: impl Write) -> Result<()> {
    QueryResultsSerializer::from_format(format)
        .serialize_boolean_to_writer(writer, value)
        .map_err(io_error)?;
    Ok(())
}

/// Writes the triples of a CONSTRUCT or DESCRIBE query.
pub fn write_graph(
    triples: QueryTripleIter<'static>,
    format: RdfFormat,
    writer: impl Write,
    max_rows: u64,
    budget: &Budget,
) -> Result<u64> {
    let mut serializer = RdfSerializer::from_format(format).for_writer(writer);
    let mut rows = 0;
    for triple in triples {
        let triple = triple.map_err(|e| query_error(e, budget))?;
        rows += 1;
        if rows > max_rows {
            return Err(StoreError::TooManyRows(max_rows));
        }
        serializer.serialize_triple(&triple).map_err(io_error)?;
    }
    serializer.finish().map_err(io_error)?;
    Ok(rows)
}

/// Writes solutions as an aligned table. Buffers the rows to size the columns.
fn write_table(
    solutions: QuerySolutionIter<'static>,
    mut writer: impl Write,
    max_rows: u64,
    budget: &Budget,
) -> Result<u64> {
    let variables: Vec<String> = solutions.variables().iter().map(|v| v.to_string()).collect();
    let mut widths: Vec<usize> = variables.iter().map(|v| v.chars().count()).collect();
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| query_error(e, budget))?;
        if rows.len() as u64 >= max_rows {
            return Err(StoreError::TooManyRows(max_rows));
        }
        let row: Vec<String> =
            (0..variables.len()).map(|i| solution.get(i).map(Term::to_string).unwrap_or_default()).collect();
        for (width, cell) in widths.iter_mut().zip(&row) {
            *width = (*width).max(cell.chars().count());
        }
        rows.push(row);
    }
    let line = |writer: &mut dyn Write, cells: &[String]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str(" | ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        writeln!(writer, "{}", text.trim_end())
    };
    line(&mut writer, &variables).map_err(io_error)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(writer, "{}", rule.join("-+-")).map_err(io_error)?;
    for row in &rows {
        line(&mut writer, row).map_err(io_error)?;
    }
    writeln!(writer, "({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" }).map_err(io_error)?;
    Ok(rows.len() as u64)
}

fn io_error(e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StoreError::Cancelled
    } else {
        StoreError::Serialize(e.to_string())
    }
}
