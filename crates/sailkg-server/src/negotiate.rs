//! HTTP content negotiation for result and graph formats.

use oxigraph::io::{JsonLdProfileSet, RdfFormat};
use oxigraph::sparql::results::QueryResultsFormat;

/// The formats offered for solutions and booleans, the first being the default.
pub(crate) const SOLUTION_FORMATS: &[(&str, QueryResultsFormat)] = &[
    ("application/sparql-results+json", QueryResultsFormat::Json),
    ("application/sparql-results+xml", QueryResultsFormat::Xml),
    ("text/csv", QueryResultsFormat::Csv),
    ("text/tab-separated-values", QueryResultsFormat::Tsv),
    ("application/json", QueryResultsFormat::Json),
    ("application/xml", QueryResultsFormat::Xml),
    ("text/xml", QueryResultsFormat::Xml),
];

/// Booleans have no CSV/TSV form in the standard; they are offered as JSON and XML.
pub(crate) const BOOLEAN_FORMATS: &[(&str, QueryResultsFormat)] = &[
    ("application/sparql-results+json", QueryResultsFormat::Json),
    ("application/sparql-results+xml", QueryResultsFormat::Xml),
    ("application/json", QueryResultsFormat::Json),
    ("application/xml", QueryResultsFormat::Xml),
    ("text/xml", QueryResultsFormat::Xml),
];

/// The formats offered for graphs, the first being the default.
pub(crate) fn graph_formats() -> [(&'static str, RdfFormat); 8] {
    [
        ("text/turtle", RdfFormat::Turtle),
        ("application/n-triples", RdfFormat::NTriples),
        ("application/rdf+xml", RdfFormat::RdfXml),
        ("application/ld+json", RdfFormat::JsonLd { profile: JsonLdProfileSet::empty() }),
        ("application/n-quads", RdfFormat::NQuads),
        ("application/trig", RdfFormat::TriG),
        ("text/plain", RdfFormat::NTriples),
        ("application/x-turtle", RdfFormat::Turtle),
    ]
}

/// Short names accepted in a `format` query parameter, for browsers and quick tests.
pub(crate) fn format_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "json" | "srj" => "application/sparql-results+json",
        "xml" | "srx" => "application/sparql-results+xml",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "ttl" | "turtle" => "text/turtle",
        "nt" | "ntriples" | "n-triples" => "application/n-triples",
        "rdf" | "rdfxml" => "application/rdf+xml",
        "jsonld" | "json-ld" => "application/ld+json",
        "nq" | "nquads" => "application/n-quads",
        "trig" => "application/trig",
        _ => return None,
    })
}

/// Picks the offer the `Accept` header prefers; `None` means nothing acceptable (406).
/// A missing or empty header accepts the first offer.
pub(crate) fn negotiate<T: Copy>(
    accept: Option<&str>,
    offers: &[(&'static str, T)],
) -> Option<(&'static str, T)> {
    let accept = match accept.map(str::trim) {
        None | Some("") => return offers.first().copied(),
        Some(a) => a,
    };
    let mut best: Option<(f32, usize, usize)> = None; // (quality, specificity, offer index)
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut quality = 1.0f32;
        for param in parts {
            if let Some((key, value)) = param.split_once('=')
                && key.trim().eq_ignore_ascii_case("q")
            {
                quality = value.trim().parse().unwrap_or(0.0);
            }
        }
        if quality <= 0.0 {
            continue;
        }
        let Some((kind, sub)) = media.split_once('/') else { continue };
        for (index, (offer, _)) in offers.iter().enumerate() {
            let (offer_kind, offer_sub) = offer.split_once('/').unwrap_or((offer, ""));
            let specificity = match (kind, sub) {
                ("*", "*") => 0,
                (k, "*") if k == offer_kind => 1,
                (k, s) if k == offer_kind && s == offer_sub => 2,
                _ => continue,
            };
            let candidate = (quality, specificity, index);
            let better = match best {
                None => true,
                Some((q, s, i)) => {
                    quality > q || (quality == q && (specificity > s || (specificity == s && index < i)))
                }
            };
            if better {
                best = Some(candidate);
            }
        }
    }
    best.map(|(_, _, index)| offers[index])
}

/// The RDF format of a request's `Content-Type`, ignoring parameters.
pub(crate) fn rdf_format_of_content_type(content_type: &str) -> Option<RdfFormat> {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "text/plain" => Some(RdfFormat::NTriples),
        "application/json" => Some(RdfFormat::JsonLd { profile: JsonLdProfileSet::empty() }),
        "application/xml" | "text/xml" => Some(RdfFormat::RdfXml),
        _ => RdfFormat::from_media_type(&media),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(accept: Option<&str>, expected: Option<&str>) {
        assert_eq!(negotiate(accept, SOLUTION_FORMATS).map(|(m, _)| m), expected, "{accept:?}");
    }

    #[test]
    fn accept_headers() {
        check(None, Some("application/sparql-results+json"));
        check(Some("*/*"), Some("application/sparql-results+json"));
        check(Some("text/csv"), Some("text/csv"));
        check(Some("text/*;q=0.5, application/sparql-results+xml"), Some("application/sparql-results+xml"));
        check(Some("text/*"), Some("text/csv"));
        check(
            Some("application/sparql-results+json;q=0.1, text/tab-separated-values;q=0.9"),
            Some("text/tab-separated-values"),
        );
        check(Some("image/png"), None);
        check(Some("text/csv;q=0"), None);
        // Jena and rdflib send long lists with wildcards last.
        check(
            Some("application/sparql-results+json, application/sparql-results+xml;q=0.9, */*;q=0.1"),
            Some("application/sparql-results+json"),
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(rdf_format_of_content_type("text/turtle; charset=utf-8"), Some(RdfFormat::Turtle));
        assert_eq!(rdf_format_of_content_type("application/n-quads"), Some(RdfFormat::NQuads));
        assert_eq!(rdf_format_of_content_type("image/png"), None);
    }
}
