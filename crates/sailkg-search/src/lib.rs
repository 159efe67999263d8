//! SAIL-KG search: one tantivy index over the catalogue (datasets, versions, distributions,
//! columns), the ontologies (classes, properties, SKOS concepts) and the entities of every graph,
//! kept in step with the store graph by graph, and rebuildable from the store at any time.
//!
//! Documents are (graph, subject) pairs with a title (labels), text (descriptions, document
//! text), keywords (alternative labels, DCAT keywords) and facets (kind, source, class, format,
//! language, synthetic). Queries are BM25 with field boosts, phrases, fuzzy matching for typos,
//! facet filters and counts, highlights and paging; broken query syntax degrades to plain terms.

mod analysis;
mod docs;
mod service;

pub use analysis::{ANALYZER, analyzer};
pub use docs::{Kind, graph_source};
pub use service::{SEARCH_SERVICE, sparql_service};

use sailkg_store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, QueryParser, RegexQuery, TermQuery};
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TantivyDocument,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

/// The facet dimensions.
pub const FACETS: [&str; 6] = ["kind", "source", "class", "format", "language", "synthetic"];

/// Why search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index could not be opened, read or written.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] sailkg_store::StoreError),
    /// The index on disk was made by another version of the schema.
    #[error("the search index at {0} has another schema; run `sailkg index rebuild`")]
    Schema(String),
}

/// Result with [`SearchError`].
pub type Result<T, E = SearchError> = std::result::Result<T, E>;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    graph: Field,
    kind: Field,
    title: Field,
    text: Field,
    keywords: Field,
    source: Field,
    classes: Field,
    facets: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        graph: builder.add_text_field("graph", STRING | STORED),
        kind: builder.add_text_field("kind", STRING | STORED),
        title: builder.add_text_field("title", text.clone()),
        text: builder.add_text_field("text", text.clone()),
        keywords: builder.add_text_field("keywords", text),
        source: builder.add_text_field("source", STRING | STORED),
        classes: builder.add_text_field("class", STRING | STORED),
        facets: builder.add_facet_field("facets", FacetOptions::default()),
    };
    (builder.build(), fields)
}

/// A search query.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The text; empty matches everything (with the filters).
    pub text: String,
    /// Facet filters: (dimension, value), all of which must hold.
    pub filters: Vec<(String, String)>,
    /// The page, from 0.
    pub page: usize,
    /// Hits per page (1 to 100).
    pub size: usize,
}

/// One hit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// The entity's IRI.
    pub id: String,
    /// Its kind (dataset, column, class, entity, ...).
    pub kind: String,
    /// Its title.
    pub title: String,
    /// The best passage, with matches in `<b>`; HTML-escaped.
    pub highlight: String,
    /// The source (graph) it comes from.
    pub source: String,
    /// The graph.
    pub graph: String,
    /// Its classes.
    pub classes: Vec<String>,
    /// BM25 score.
    pub score: f32,
}

/// A page of results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchResults {
    /// Matching documents in all.
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Counts per facet value, per dimension, most frequent first.
    pub facets: BTreeMap<String, Vec<(String, u64)>>,
    /// Milliseconds the search took.
    pub took_ms: f64,
}

/// What a sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    /// Graphs re-indexed.
    pub graphs: usize,
    /// Documents written.
    pub documents: u64,
    /// Seconds it took.
    pub seconds: f64,
}

/// The search index of one data directory.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir` (`DATA/index`), creating it when there is none.
    pub fn open(dir: &Path) -> Result<Self> {
        let (schema, fields) = schema();
        std::fs::create_dir_all(dir).map_err(|e| tantivy::TantivyError::IoError(e.into()))?;
        let index = if dir.join("meta.json").exists() {
            let index = Index::open_in_dir(dir)?;
            if index.schema() != schema {
                return Err(SearchError::Schema(dir.display().to_string()));
            }
            index
        } else {
            Index::create_in_dir(dir, schema)?
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer(64 * 1024 * 1024)?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields })
    }

    /// Documents in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Re-indexes everything from the store.
    pub fn rebuild(&self, store: &Store) -> Result<SyncReport> {
        let mut graphs: Vec<Option<String>> = vec![None];
        graphs.extend(store.named_graphs()?.into_iter().filter_map(|g| match g {
            oxigraph::model::GraphName::NamedNode(n) => Some(Some(n.into_string())),
            _ => None,
        }));
        {
            let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            writer.delete_all_documents()?;
        }
        self.sync(store, &graphs)
    }

    /// Re-indexes the named graphs (and `None`, the default graph): their old documents go, the
    /// current ones come in, in one commit.
    pub fn sync(&self, store: &Store, graphs: &[Option<String>]) -> Result<SyncReport> {
        let start = Instant::now();
        let mut report = SyncReport { graphs: graphs.len(), ..SyncReport::default() };
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for graph in graphs {
            let key = graph.as_deref().unwrap_or("");
            writer.delete_term(Term::from_field_text(self.fields.graph, key));
            for doc in docs::documents(store, graph.as_deref())? {
                writer.add_document(self.document(key, &doc))?;
                report.documents += 1;
            }
        }
        writer.commit()?;
        self.reader.reload()?;
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    fn document(&self, graph: &str, doc: &docs::Doc) -> TantivyDocument {
        let f = &self.fields;
        let mut out = TantivyDocument::default();
        out.add_text(f.id, &doc.id);
        out.add_text(f.graph, graph);
        out.add_text(f.kind, doc.kind.name());
        out.add_text(f.source, &doc.source);
        for title in &doc.titles {
            out.add_text(f.title, title);
        }
        for text in &doc.texts {
            out.add_text(f.text, text);
        }
        for keyword in &doc.keywords {
            out.add_text(f.keywords, keyword);
        }
        for class in &doc.classes {
            out.add_text(f.classes, class);
        }
        let mut facet =
            |dimension: &str, value: &str| out.add_facet(f.facets, Facet::from_path([dimension, value]));
        facet("kind", doc.kind.name());
        facet("source", &doc.source);
        for class in &doc.classes {
            facet("class", class);
        }
        for format in &doc.formats {
            facet("format", format);
        }
        for language in &doc.languages {
            facet("language", language);
        }
        facet("synthetic", if doc.synthetic { "true" } else { "false" });
        out
    }

    fn parser(&self, fuzzy: bool) -> QueryParser {
        let f = &self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.keywords, f.text]);
        parser.set_field_boost(f.title, 3.0);
        parser.set_field_boost(f.keywords, 2.0);
        if fuzzy {
            for field in [f.title, f.keywords, f.text] {
                parser.set_field_fuzzy(field, false, 1, true);
            }
        }
        parser
    }

    /// Searches.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        let start = Instant::now();
        let searcher = self.reader.searcher();
        let text = query.text.trim();
        let (exact, fuzzy): (Box<dyn Query>, Option<Box<dyn Query>>) = if text.is_empty() {
            (Box::new(AllQuery), None)
        } else {
            // Broken syntax degrades to plain terms: the lenient parser keeps what it can.
            let (exact, _) = self.parser(false).parse_query_lenient(text);
            let (fuzzy, _) = self.parser(true).parse_query_lenient(text);
            (exact, Some(fuzzy))
        };
        let filters: Vec<(Occur, Box<dyn Query>)> = query
            .filters
            .iter()
            .map(|(dimension, value)| {
                let facet = Facet::from_path([dimension.as_str(), value.as_str()]);
                let term = Term::from_facet(self.fields.facets, &facet);
                (Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>)
            })
            .collect();
        let with_filters = |matching: Box<dyn Query>| {
            let mut clauses = vec![(Occur::Must, matching)];
            clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            BooleanQuery::new(clauses)
        };
        let size = query.size.clamp(1, 100);
        let run = |query_: &BooleanQuery| -> Result<_> {
            let mut facets = FacetCollector::for_field("facets");
            for dimension in FACETS {
                facets.add_facet(Facet::from_path([dimension]));
            }
            let top = TopDocs::with_limit(size).and_offset(query.page.min(1000) * size).order_by_score();
            Ok(searcher.search(query_, &(top, Count, facets))?)
        };
        let (mut top, mut total, mut counts) = run(&with_filters(exact.box_clone()))?;
        // Typos: only when the exact words find less than a page, search again with fuzzy
        // matching (exact matches still rank first); the fuzzy automaton is the costly part.
        if let Some(fuzzy) = fuzzy
            && total < size
        {
            let both = BooleanQuery::new(vec![
                (Occur::Should, exact.box_clone()),
                (Occur::Should, Box::new(BoostQuery::new(fuzzy, 0.2))),
            ]);
            (top, total, counts) = run(&with_filters(Box::new(both)))?;
        }
        let highlight_text = SnippetGenerator::create(&searcher, &*exact, self.fields.text).ok();
        let highlight_title = SnippetGenerator::create(&searcher, &*exact, self.fields.title).ok();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let get = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let all = |field: Field| {
                doc.get_all(field).filter_map(|v| v.as_str()).map(str::to_owned).collect::<Vec<_>>()
            };
            let mut highlight = String::new();
            for generator in [&highlight_text, &highlight_title].into_iter().flatten() {
                let snippet = generator.snippet_from_doc(&doc);
                if !snippet.highlighted().is_empty() {
                    highlight = snippet.to_html();
                    break;
                }
            }
            hits.push(Hit {
                id: get(self.fields.id),
                kind: get(self.fields.kind),
                title: all(self.fields.title).into_iter().next().unwrap_or_default(),
                highlight,
                source: get(self.fields.source),
                graph: get(self.fields.graph),
                classes: all(self.fields.classes),
                score,
            });
        }
        let mut by_dimension = BTreeMap::new();
        for dimension in FACETS {
            let mut values: Vec<(String, u64)> = counts
                .get(Facet::from_path([dimension]))
                .map(|(facet, count)| {
                    (facet.to_path().last().map(|s| (*s).to_owned()).unwrap_or_default(), count)
                })
                .collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            values.truncate(20);
            by_dimension.insert(dimension.to_owned(), values);
        }
        Ok(SearchResults {
            total,
            hits,
            facets: by_dimension,
            took_ms: start.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Typeahead: titles with a word starting with the last word of `prefix` (and containing the
    /// words before it), best first.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Hit>> {
        let start_words: Vec<String> = {
            let mut analyzer = analyzer();
            let mut stream = analyzer.token_stream(prefix);
            let mut words = Vec::new();
            while let Some(token) = tantivy::tokenizer::TokenStream::next(&mut stream) {
                words.push(token.text.clone());
            }
            words
        };
        let Some(last) = prefix.split_whitespace().last().map(str::to_lowercase) else {
            return Ok(Vec::new());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let term = |word: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(self.fields.title, word), IndexRecordOption::Basic))
        };
        if last.chars().any(analysis::is_cjk) {
            // CJK text is indexed as bigrams, which the typed bigrams already are.
            for word in &start_words {
                clauses.push((Occur::Must, term(word)));
            }
        } else {
            let escaped: String = last
                .chars()
                .flat_map(|c| if c.is_alphanumeric() { vec![c] } else { vec!['\\', c] })
                .collect();
            clauses.push((
                Occur::Must,
                Box::new(RegexQuery::from_pattern(&format!("{escaped}.*"), self.fields.title)?),
            ));
            for word in start_words.iter().take(start_words.len().saturating_sub(1)) {
                clauses.push((Occur::Must, term(word)));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.clamp(1, 50)).order_by_score())?;
        let mut hits = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let get = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let id = get(self.fields.id);
            if seen.insert(id.clone()) {
                hits.push(Hit {
                    title: get(self.fields.title),
                    kind: get(self.fields.kind),
                    highlight: String::new(),
                    source: get(self.fields.source),
                    graph: get(self.fields.graph),
                    classes: Vec::new(),
                    score,
                    id,
                });
            }
        }
        Ok(hits)
    }
}

/// The graphs a SPARQL update may change (`None` in the list: the default graph), or `None`
/// when that cannot be told from the text (a variable graph, `CLEAR ALL`), so everything must be
/// synced.
pub fn graphs_touched(update: &str, base_iri: Option<&str>) -> Option<Vec<Option<String>>> {
    use spargebra::GraphUpdateOperation as Op;
    use spargebra::algebra::GraphTarget;
    use spargebra::term::{GraphName, GraphNamePattern};
    let mut parser = spargebra::SparqlParser::new();
    if let Some(base) = base_iri {
        parser = parser.with_base_iri(base).ok()?;
    }
    let parsed = parser.parse_update(update).ok()?;
    let mut graphs: Vec<Option<String>> = Vec::new();
    let mut add = |graph: Option<String>| {
        if !graphs.contains(&graph) {
            graphs.push(graph);
        }
    };
    let name = |g: &GraphName| match g {
        GraphName::NamedNode(n) => Some(n.as_str().to_owned()),
        GraphName::DefaultGraph => None,
    };
    for operation in &parsed.operations {
        match operation {
            Op::InsertData { data } => data.iter().for_each(|q| add(name(&q.graph_name))),
            Op::DeleteData { data } => data.iter().for_each(|q| add(name(&q.graph_name))),
            Op::DeleteInsert { delete, insert, .. } => {
                let patterns =
                    delete.iter().map(|q| &q.graph_name).chain(insert.iter().map(|q| &q.graph_name));
                for pattern in patterns {
                    match pattern {
                        GraphNamePattern::NamedNode(n) => add(Some(n.as_str().to_owned())),
                        GraphNamePattern::DefaultGraph => add(None),
                        GraphNamePattern::Variable(_) => return None,
                    }
                }
            }
            Op::Load { destination, .. } => add(name(destination)),
            Op::Clear { graph, .. } | Op::Drop { graph, .. } => match graph {
                GraphTarget::NamedNode(n) => add(Some(n.as_str().to_owned())),
                GraphTarget::DefaultGraph => add(None),
                GraphTarget::NamedGraphs | GraphTarget::AllGraphs => return None,
            },
            Op::Create { .. } => {}
        }
    }
    Some(graphs)
}

impl SearchIndex {
    /// Brings the index up to date after an update: the graphs it touched, or everything.
    pub fn sync_after_update(
        &self,
        store: &Store,
        update: &str,
        base_iri: Option<&str>,
    ) -> Result<SyncReport> {
        match graphs_touched(update, base_iri) {
            Some(graphs) => self.sync(store, &graphs),
            None => self.rebuild(store),
        }
    }
}

#[cfg(test)]
mod tests;
