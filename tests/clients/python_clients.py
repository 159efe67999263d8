"""Standard Python SPARQL clients against a running SAIL-KG server, unchanged.

Usage: python3 python_clients.py ENDPOINT_BASE_URL ADMIN_TOKEN
Run by crates/sailkg-server/tests/it/clients.rs; needs `pip install rdflib SPARQLWrapper`.
"""
import sys

import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import CSV, JSON, POST, TURTLE, XML, SPARQLWrapper

base, token = sys.argv[1], sys.argv[2]
sparql = base + "/sparql"
auth = {"Authorization": "Bearer " + token}

# SPARQLWrapper: updates with a bearer token, then queries by GET and POST in every format.
update = SPARQLWrapper(base + "/update")
update.setMethod(POST)
update.addCustomHttpHeader("Authorization", auth["Authorization"])
update.setQuery("INSERT DATA { <http://e/alice> <http://e/knows> <http://e/bob> . <http://e/bob> <http://e/name> 'Bob'@en }")
assert update.query().response.status == 204

for method in ("GET", "POST"):
    client = SPARQLWrapper(sparql)
    client.setMethod(method)
    client.setQuery("SELECT ?name WHERE { ?p <http://e/name> ?name }")
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert [(r["name"]["value"], r["name"]["xml:lang"]) for r in rows] == [("Bob", "en")], rows

client = SPARQLWrapper(sparql)
client.setQuery("ASK { <http://e/alice> <http://e/knows> ?x }")
client.setReturnFormat(XML)
assert "<boolean>true</boolean>" in client.query().convert().toxml()

client = SPARQLWrapper(sparql)
client.setQuery("CONSTRUCT WHERE { ?s <http://e/knows> ?o }")
client.setReturnFormat(TURTLE)
graph = rdflib.Graph().parse(data=client.query().convert(), format="turtle")
assert len(graph) == 1

client = SPARQLWrapper(sparql)
client.setQuery("SELECT ?s WHERE { ?s <http://e/knows> ?o }")
client.setReturnFormat(CSV)
assert client.query().convert().decode().splitlines() == ["s", "http://e/alice"]

# rdflib's SPARQLStore and SPARQLUpdateStore.
remote = rdflib.Graph(store=SPARQLStore(sparql))
assert len(list(remote.query("SELECT ?s ?o WHERE { ?s <http://e/knows> ?o }"))) == 1
store = SPARQLUpdateStore(sparql, sparql, headers=auth)
named = rdflib.Graph(store=store, identifier=rdflib.URIRef("http://e/rdflib"))
named.add((rdflib.URIRef("http://e/a"), rdflib.URIRef("http://e/b"), rdflib.Literal("c")))
assert len(named) == 1
named.remove((None, None, None))
assert len(named) == 0
print("python clients ok")
