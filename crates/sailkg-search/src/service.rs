//! Full-text search inside SPARQL: `SERVICE <urn:sailkg:search> { ?hit sail:query "text" ;
//! sail:score ?score }` with `sail:` = `urn:sailkg:vocab#`. Optional: `sail:snippet ?html`,
//! `sail:label ?title`, `sail:kind "entity"`, `sail:source "airports"`, `sail:limit 50`. The
//! hits join the rest of the query like any other solutions.

use crate::{SearchIndex, SearchQuery};
use oxigraph::model::vocab::xsd;
use oxigraph::model::{Literal, NamedNode, Term, Variable};
use oxigraph::sparql::QuerySolutionIter;
use sailkg_core::vocab::SAIL;
use spargebra::algebra::GraphPattern;
use spargebra::term::{NamedNodePattern, TermPattern};
use std::sync::Arc;

/// The service's IRI.
pub const SEARCH_SERVICE: &str = "urn:sailkg:search";

/// The most hits one service call returns.
const MAX_HITS: usize = 100;

/// The handler to register on the store for [`SEARCH_SERVICE`].
pub fn sparql_service(index: Arc<SearchIndex>) -> sailkg_store::ServiceFn {
    Arc::new(move |pattern: &GraphPattern| evaluate(&index, pattern))
}

fn evaluate(index: &SearchIndex, pattern: &GraphPattern) -> Result<QuerySolutionIter<'static>, String> {
    let GraphPattern::Bgp { patterns } = pattern else {
        return Err(format!("<{SEARCH_SERVICE}> takes triple patterns such as ?hit sail:query \"text\""));
    };
    let mut hit: Option<Variable> = None;
    let mut text: Option<String> = None;
    let mut outputs: Vec<(String, Variable)> = Vec::new();
    let mut filters: Vec<(String, String)> = Vec::new();
    let mut limit = 20usize;
    for triple in patterns {
        let NamedNodePattern::NamedNode(predicate) = &triple.predicate else {
            return Err("search patterns need a sail: predicate, not a variable".into());
        };
        let Some(local) = predicate.as_str().strip_prefix(SAIL) else {
            return Err(format!("unknown search predicate <{}>", predicate.as_str()));
        };
        match &triple.subject {
            TermPattern::Variable(v) if hit.as_ref().is_none_or(|h| h == v) => hit = Some(v.clone()),
            _ => return Err("every search pattern has the same variable as subject (?hit)".into()),
        }
        let literal = || match &triple.object {
            TermPattern::Literal(l) => Ok(l.value().to_owned()),
            _ => Err(format!("sail:{local} takes a literal")),
        };
        match local {
            "query" => text = Some(literal()?),
            "kind" | "source" | "class" | "format" | "language" => {
                filters.push((local.to_owned(), literal()?))
            }
            "limit" => {
                limit = literal()?.parse::<usize>().map_err(|_| "sail:limit takes an integer".to_owned())?;
            }
            "score" | "snippet" | "label" => match &triple.object {
                TermPattern::Variable(v) => outputs.push((local.to_owned(), v.clone())),
                _ => return Err(format!("sail:{local} takes a variable")),
            },
            other => return Err(format!("unknown search predicate sail:{other}")),
        }
    }
    let hit = hit.ok_or("no search pattern")?;
    let text = text.ok_or("a search needs ?hit sail:query \"text\"")?;
    let query = SearchQuery { text, filters, page: 0, size: limit.clamp(1, MAX_HITS) };
    let results = index.search(&query).map_err(|e| e.to_string())?;
    let mut variables = vec![hit];
    variables.extend(outputs.iter().map(|(_, v)| v.clone()));
    let rows: Vec<Result<Vec<Option<Term>>, _>> = results
        .hits
        .into_iter()
        .filter_map(|h| {
            let id = NamedNode::new(&h.id).ok()?;
            let mut row = vec![Some(Term::from(id))];
            for (what, _) in &outputs {
                row.push(Some(match what.as_str() {
                    "score" => Literal::new_typed_literal(format!("{}", h.score), xsd::DOUBLE).into(),
                    "snippet" => Literal::new_simple_literal(&h.highlight).into(),
                    _ => Literal::new_simple_literal(&h.title).into(),
                }));
            }
            Some(Ok(row))
        })
        .collect();
    Ok(QuerySolutionIter::from_tuples(variables.into(), rows))
}
