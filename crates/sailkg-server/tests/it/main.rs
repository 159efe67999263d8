//! Integration tests of the server, all through real HTTP against a server on a RocksDB store.

mod catalog;
mod clients;
mod conformance;
mod lubm;
mod manifest;
mod ontology;
mod protocol;
mod reconcile;
mod search;
mod security;
mod sql;
mod support;
