use super::*;
use polars::prelude::*;
use std::path::PathBuf;

fn shared() -> PathBuf {
    match std::env::var_os("SAILKG_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn demo(name: &str) -> PathBuf {
    shared().join("data/demo").join(name)
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), sailkg_core::LoadConfig::default()).unwrap();
    (dir, store)
}

fn table(report: &IngestReport) -> DataFrame {
    ParquetReader::new(std::fs::File::open(&report.table).unwrap()).finish().unwrap()
}

fn column<'a>(report: &'a IngestReport, name: &str) -> &'a ColumnProfile {
    report.columns.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// Ingests a fixture written to a temporary file.
fn fixture(store: &Store, dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<IngestReport> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    ingest(store, &path, &IngestOptions::default())
}

#[test]
fn every_demo_file_ingests_with_its_row_count() {
    let (_dir, store) = open();
    for (file, rows, format) in [
        ("airports.csv", 3376, "csv"),
        ("flights-airport.csv", 5366, "csv"),
        ("flights-5k.json", 5000, "json"),
        ("flights-100k.parquet", 100_000, "parquet"),
        ("movies.json", 3201, "json"),
        ("earthquakes.json", 1707, "geojson"),
        ("disasters.csv", 803, "csv"),
        ("lookup_people.csv", 9, "csv"),
        ("lookup_groups.csv", 9, "csv"),
        ("gapminder.json", 682, "json"),
    ] {
        let report = ingest(&store, &demo(file), &IngestOptions::default()).unwrap();
        assert_eq!(
            (report.rows_written, report.rows_rejected, report.format.as_str()),
            (rows, 0, format),
            "{file}"
        );
        assert_eq!(table(&report).height() as u64, rows, "{file}");
    }
    let datasets = list_datasets(&store).unwrap();
    assert_eq!(datasets.len(), 10);
    let airports = datasets.iter().find(|d| d.name == "airports").unwrap();
    assert_eq!((airports.rows, airports.versions), (3376, 1));
}

#[test]
fn airports_profile_and_catalogue() {
    let (_dir, store) = open();
    let report = ingest(&store, &demo("airports.csv"), &IngestOptions::default()).unwrap();
    let iata = column(&report, "iata");
    assert_eq!((iata.distinct, iata.null_share), (3376, 0.0));
    let latitude = column(&report, "latitude");
    assert_eq!(latitude.datatype, "f64");
    assert!(latitude.quartiles.is_some());
    let state = column(&report, "state");
    assert!(!state.top.is_empty() && state.top[0].count > 100, "{:?}", state.top);
    // The catalogue answers SPARQL: DCAT distribution, PROV activity and columns.
    let query = r#"PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX sail: <urn:sailkg:vocab#>
        ASK { GRAPH <urn:sailkg:graph:catalog> {
            ?v sail:rowCount 3376 ; dcat:distribution ?d ; prov:wasGeneratedBy ?run ; sail:column ?c .
            ?d dcat:mediaType "application/vnd.apache.parquet" ; dcat:byteSize ?size .
            ?run prov:startedAtTime ?start ; prov:endedAtTime ?end .
            ?c sail:columnName "iata" ; sail:distinctCount 3376 } }"#;
    let budget = store.budget(std::time::Duration::from_secs(10));
    let results = store.query(&sailkg_store::QueryRequest { query, ..Default::default() }, &budget).unwrap();
    assert!(matches!(results, oxigraph::sparql::QueryResults::Boolean(true)));
    let (summary, columns) = show_dataset(&store, "airports").unwrap().unwrap();
    assert_eq!(summary.latest_version, report.version);
    // Seven source columns, plus the outlier flags (far-off airports: Alaska, Hawaii, Guam).
    assert_eq!(columns.len(), 8);
    assert_eq!(columns[7].name, OUTLIER_COLUMN);
    assert!(show_dataset(&store, "nothing").unwrap().is_none());
}

#[test]
fn reingest_is_idempotent_and_changes_make_versions() {
    let (dir, store) = open();
    let first = fixture(&store, dir.path(), "people.csv", b"name,age\nAda,36\n").unwrap();
    let again = fixture(&store, dir.path(), "people.csv", b"name,age\nAda,36\n").unwrap();
    assert!(!first.unchanged && again.unchanged);
    assert_eq!(first.version, again.version);
    let changed = fixture(&store, dir.path(), "people.csv", b"name,age\nAda,36\nAlan,41\n").unwrap();
    assert_ne!(changed.version, first.version);
    let summary = list_datasets(&store).unwrap().into_iter().find(|d| d.name == "people").unwrap();
    assert_eq!((summary.versions, summary.rows, summary.latest_version), (2, 2, changed.version.clone()));
    assert!(first.table.exists() && changed.table.exists(), "old versions stay readable");
}

#[test]
fn messy_movies_are_cleansed_not_dropped() {
    let (_dir, store) = open();
    let report = ingest(&store, &demo("movies.json"), &IngestOptions::default()).unwrap();
    assert_eq!(report.rows_written, 3201);
    let director = column(&report, "Director");
    assert!((director.null_share - 1331.0 / 3201.0).abs() < 1e-9, "{}", director.null_share);
    // Nine titles are numbers in the JSON: the column keeps every value, as text; one title is
    // null in the source.
    let title = column(&report, "Title");
    assert_eq!(title.datatype, "str");
    assert_eq!(title.null_share, 1.0 / 3201.0);
    let rating = column(&report, "IMDB Rating");
    assert!((rating.null_share - 213.0 / 3201.0).abs() < 1e-9);
}

#[test]
fn geojson_keeps_geometry_as_wkt() {
    let (_dir, store) = open();
    let report = ingest(&store, &demo("earthquakes.json"), &IngestOptions::default()).unwrap();
    let frame = table(&report);
    let geometry = frame.column("geometry").unwrap().str().unwrap().get(0).unwrap().to_owned();
    assert!(geometry.starts_with("POINT Z ("), "{geometry}");
    let magnitude = column(&report, "mag");
    assert_eq!(magnitude.max.as_deref(), Some("6.4"));
}

#[test]
fn ragged_rows_go_to_the_reject_file() {
    let (dir, store) = open();
    let report = fixture(
        &store,
        dir.path(),
        "ragged.csv",
        b"id,name,score\n1,alpha,3\n2,beta\n3,\"gamma, the third\",5\n4,delta,6,extra\n5,epsilon,7\n",
    )
    .unwrap();
    assert_eq!((report.rows_read, report.rows_written, report.rows_rejected), (5, 3, 2));
    let rejects = std::fs::read_to_string(report.rejects.as_ref().unwrap()).unwrap();
    assert!(rejects.contains("3,\"\",\"2 fields where the header has 3\",\"2,beta\""), "{rejects}");
    assert!(rejects.contains("5,\"\",\"4 fields where the header has 3\",\"4,delta,6,extra\""), "{rejects}");
    let frame = table(&report);
    assert_eq!(frame.column("name").unwrap().str().unwrap().get(1), Some("gamma, the third"));
}

#[test]
fn null_tokens_whitespace_and_numbers() {
    let (dir, store) = open();
    let report = fixture(
        &store,
        dir.path(),
        "messy.tsv",
        b"city\tpopulation\tnote\n  Seoul \t\"9,411,000\"\t N/A \nBusan\t3,349,000\t  big   port \nUlsan\tNA\t-\n",
    )
    .unwrap();
    let frame = table(&report);
    let cities: Vec<Option<&str>> = frame.column("city").unwrap().str().unwrap().iter().collect();
    assert_eq!(cities, [Some("Seoul"), Some("Busan"), Some("Ulsan")]);
    let population: Vec<Option<f64>> = frame.column("population").unwrap().f64().unwrap().iter().collect();
    assert_eq!(population, [Some(9_411_000.0), Some(3_349_000.0), None]);
    let notes: Vec<Option<&str>> = frame.column("note").unwrap().str().unwrap().iter().collect();
    assert_eq!(notes, [None, Some("big port"), None]);
    let changed: std::collections::HashMap<_, _> = report.changed.iter().cloned().collect();
    assert_eq!((changed["trim"], changed["null_tokens"]), (3, 3));
}

#[test]
fn encodings_are_detected() {
    let (dir, store) = open();
    let latin1: Vec<u8> = b"name,city\nJos\xe9,M\xfcnchen\n".to_vec();
    let report = fixture(&store, dir.path(), "latin1.csv", &latin1).unwrap();
    assert_eq!(table(&report).column("name").unwrap().str().unwrap().get(0), Some("José"));
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend("name;city\nÅsa;Malmö\n".encode_utf16().flat_map(u16::to_le_bytes));
    let report = fixture(&store, dir.path(), "utf16.csv", &utf16).unwrap();
    assert_eq!(table(&report).column("city").unwrap().str().unwrap().get(0), Some("Malmö"));
    let bom = b"\xef\xbb\xbfa|b\n1|2\n";
    let report = fixture(&store, dir.path(), "bom.csv", bom).unwrap();
    assert_eq!(report.columns[0].name, "a");
}

#[test]
fn bad_input_is_a_clear_error_and_changes_nothing() {
    let (dir, store) = open();
    let check = |name: &str, bytes: &[u8], expected: &str| {
        let err = fixture(&store, dir.path(), name, bytes).unwrap_err();
        assert!(err.is_user_error(), "{err}");
        assert!(err.to_string().contains(expected), "{name}: {err}");
    };
    check("garbage.csv", b"\x00\x01\x02PK\x03\x04\x00\xff\xfe\x00", "binary");
    check("truncated.json", b"[{\"a\": 1}, {\"a\": 2", "line 1");
    check("empty.csv", b"", "empty");
    check("bad.parquet", b"PAR1 not really", "Parquet");
    check("notes.docx", b"hello", "unknown source format");
    let err =
        ingest(&store, std::path::Path::new("/no/such/file.csv"), &IngestOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/no/such/file.csv"));
    assert!(list_datasets(&store).unwrap().is_empty(), "failed ingests leave no catalogue entry");
    let tables = std::fs::read_dir(store.data_dir().join("tables")).unwrap().count();
    assert_eq!(tables, 0, "failed ingests leave no table");
}

#[test]
fn ndjson_rejects_bad_lines_and_flattens_objects() {
    let (dir, store) = open();
    let report = fixture(
        &store,
        dir.path(),
        "events.ndjson",
        b"{\"id\": 1, \"where\": {\"city\": \"Oslo\", \"geo\": {\"lat\": 59.9}}, \"tags\": [\"a\", \"b\"]}\n{\"id\": 2, \"where\": {\"city\": \"Rome\"}}\nnot json\n[1, 2]\n",
    )
    .unwrap();
    assert_eq!((report.rows_read, report.rows_written, report.rows_rejected), (4, 2, 2));
    let names: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "where.city", "where.geo.lat", "tags"]);
    assert!(column(&report, "tags").datatype.starts_with("list"));
}

#[test]
fn rules_come_from_toml() {
    let rules = Rules::from_toml("trim = false\nnull_tokens = [\"?\"]\n", "rules.toml").unwrap();
    assert!(!rules.trim && rules.collapse_whitespace);
    assert_ne!(rules.hash(), Rules::default().hash());
    let err = Rules::from_toml("trimm = true\n", "rules.toml").unwrap_err().to_string();
    assert!(err.contains("trimm") && err.contains("line 1"), "{err}");
}

#[test]
fn every_sail_term_of_the_catalogue_is_declared() {
    let (_dir, store) = open();
    ingest(&store, &demo("disasters.csv"), &IngestOptions::default()).unwrap();
    let vocabulary =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ontologies/sail.ttl")).unwrap();
    let declared: std::collections::HashSet<String> =
        oxigraph::io::RdfParser::from_format(oxigraph::io::RdfFormat::Turtle)
            .for_slice(&vocabulary)
            .map(|q| q.unwrap())
            .filter(|q| q.predicate == oxigraph::model::vocab::rdf::TYPE)
            .map(|q| q.subject.to_string())
            .collect();
    for quad in store.oxigraph().iter() {
        let quad = quad.unwrap();
        let mut terms = vec![quad.predicate.to_string()];
        if quad.predicate == oxigraph::model::vocab::rdf::TYPE {
            terms.push(quad.object.to_string());
        }
        for term in terms {
            if term.starts_with("<urn:sailkg:vocab#") {
                assert!(
                    declared.contains(&term),
                    "{term} is used by the catalogue but not declared in ontologies/sail.ttl"
                );
            }
        }
    }
}

#[test]
fn the_shipped_rules_file_equals_the_defaults() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/rules.toml");
    let rules = Rules::from_toml(&std::fs::read_to_string(&path).unwrap(), "config/rules.toml").unwrap();
    assert_eq!(rules, Rules::default());
}

#[test]
fn dates_become_iso_with_their_layout_and_time_structure() {
    let (_dir, store) = open();
    let flights = ingest(&store, &demo("flights-5k.json"), &IngestOptions::default()).unwrap();
    assert_eq!(flights.date_formats, [("date".to_owned(), "%Y/%m/%d[ %H:%M[:%S]]".to_owned())]);
    let date = column(&flights, "date");
    assert!(date.min.as_deref().unwrap().starts_with("2001-01-"), "{:?}", date.min);
    let series = date.time_series.as_ref().unwrap();
    assert!(series.frequency_seconds > 0.0, "{series:?}");
    let movies = ingest(&store, &demo("movies.json"), &IngestOptions::default()).unwrap();
    // Release dates ("Jun 12 1998") are rewritten as ISO dates, with their layout recorded.
    let release = column(&movies, "Release Date");
    assert!(release.date_format.is_some(), "{release:?}");
    assert!(release.min.as_deref().is_some_and(|d| d.len() == 10 && d.as_bytes()[4] == b'-'), "{release:?}");
}

#[test]
fn duplicates_clusters_and_outliers_are_reported() {
    let (dir, store) = open();
    let mut csv = String::from("city,amount\n");
    for (city, amount) in [
        ("New York", 10),
        ("new york", 11),
        ("New York.", 12),
        ("Boston", 9),
        ("Boston", 9),
        ("Chicago", 10),
        ("Denver", 11),
        ("Austin", 1000),
    ] {
        csv.push_str(&format!("{city},{amount}\n"));
    }
    let report = fixture(&store, dir.path(), "cities.csv", csv.as_bytes()).unwrap();
    assert_eq!(report.duplicate_rows, 1);
    assert_eq!(report.rows_written, 8, "duplicates stay unless a rule removes them");
    let cluster = report.clusters.iter().find(|c| c.column == "city").unwrap();
    let values: Vec<&str> = cluster.values.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values.len(), 3, "{values:?}");
    let frame = table(&report);
    let flags: Vec<Option<&str>> = frame.column(OUTLIER_COLUMN).unwrap().str().unwrap().iter().collect();
    assert_eq!(flags.iter().flatten().collect::<Vec<_>>(), [&"amount"]);
    assert_eq!(flags[7], Some("amount"));

    let rules = Rules {
        remove_exact_duplicates: true,
        merge_clusters: vec!["city".into()],
        outliers: OutlierMethod::None,
        ..Rules::default()
    };
    let path = dir.path().join("cities2.csv");
    std::fs::write(&path, csv.as_bytes()).unwrap();
    let report = ingest(&store, &path, &IngestOptions { rules, ..IngestOptions::default() }).unwrap();
    assert_eq!((report.rows_written, report.rows_rejected), (7, 1));
    let rejects = std::fs::read_to_string(report.rejects.as_ref().unwrap()).unwrap();
    assert!(rejects.contains("exact duplicate of table row 4"), "{rejects}");
    let frame = table(&report);
    assert!(frame.column(OUTLIER_COLUMN).is_err());
    let cities: std::collections::HashSet<&str> =
        frame.column("city").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(cities.len(), 5, "{cities:?}");
}

#[test]
fn unicode_is_normalised_and_case_applied() {
    let (dir, store) = open();
    let decomposed = "name\nCafe\u{301}\n\u{c5}sa\n";
    let rules = Rules { case: Case::Upper, outliers: OutlierMethod::None, ..Rules::default() };
    let path = dir.path().join("names.csv");
    std::fs::write(&path, decomposed).unwrap();
    let report = ingest(&store, &path, &IngestOptions { rules, ..IngestOptions::default() }).unwrap();
    let frame = table(&report);
    let names: Vec<Option<&str>> = frame.column("name").unwrap().str().unwrap().iter().collect();
    assert_eq!(names, [Some("CAF\u{c9}"), Some("\u{c5}SA")]);
    let changed: std::collections::HashMap<_, _> = report.changed.iter().cloned().collect();
    assert_eq!((changed["unicode_nfc"], changed["case"]), (1, 2));
}

#[test]
fn images_and_documents_become_records_and_resources() {
    let (dir, store) = open();
    for icon in ["7zip.png", "ffox.png", "gimp.png"] {
        let report =
            ingest(&store, &shared().join("data/demo/images").join(icon), &IngestOptions::default()).unwrap();
        assert_eq!(report.format, "image");
        let frame = table(&report);
        assert_eq!(frame.column("width").unwrap().i64().unwrap().get(0), Some(100), "{icon}");
        assert_eq!(frame.column("height").unwrap().i64().unwrap().get(0), Some(100), "{icon}");
        assert_eq!(frame.column("colour_type").unwrap().str().unwrap().get(0), Some("rgba"), "{icon}");
    }
    let report = fixture(
        &store,
        dir.path(),
        "note.md",
        "# 지진 보고서\n\n이번 주에 규모 6.4의 지진이 있었다.\n".as_bytes(),
    )
    .unwrap();
    let frame = table(&report);
    assert_eq!(frame.column("title").unwrap().str().unwrap().get(0), Some("지진 보고서"));
    assert_eq!(frame.column("language").unwrap().str().unwrap().get(0), Some("ko"));
    let query = r#"PREFIX schema: <http://schema.org/>
        SELECT (COUNT(DISTINCT ?image) AS ?images) (COUNT(DISTINCT ?doc) AS ?docs) WHERE { GRAPH <urn:sailkg:graph:catalog> {
            { ?image a schema:ImageObject ; schema:width 100 ; schema:encodingFormat "image/png" }
            UNION { ?doc a schema:TextDigitalDocument ; schema:inLanguage "ko" } } }"#;
    let budget = store.budget(std::time::Duration::from_secs(10));
    let results = store.query(&sailkg_store::QueryRequest { query, ..Default::default() }, &budget).unwrap();
    let mut out = Vec::new();
    sailkg_store::write_results(
        results,
        sailkg_store::ResultsFormat::Sparql(oxigraph::sparql::results::QueryResultsFormat::Csv),
        sailkg_store::RdfFormat::NTriples,
        &mut out,
        10,
        &budget,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "images,docs\r\n3,1\r\n");
    let truncated = std::fs::read(shared().join("data/demo/images/gimp.png")).unwrap();
    let err = fixture(&store, dir.path(), "broken.png", &truncated[..20]).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn a_100_mb_field_is_read_whole() {
    let (dir, store) = open();
    let big = "x".repeat(100 << 20);
    let report =
        fixture(&store, dir.path(), "big.csv", format!("id,blob\n1,{big}\n2,small\n").as_bytes()).unwrap();
    assert_eq!((report.rows_written, report.rows_rejected), (2, 0));
    assert_eq!(column(&report, "blob").text_length.unwrap()[2], (100 << 20) as f64);
}

#[test]
fn excel_first_sheet_is_read_and_cleansed() {
    let (_dir, store) = open();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quakes.xlsx");
    let report = ingest(&store, &path, &IngestOptions::default()).unwrap();
    assert_eq!((report.format.as_str(), report.rows_written), ("xlsx", 4));
    let frame = table(&report);
    let places: Vec<Option<&str>> = frame.column("place").unwrap().str().unwrap().iter().collect();
    assert_eq!(places[0], Some("Nord, Greenland"));
    let when: Vec<Option<&str>> = frame.column("when").unwrap().str().unwrap().iter().collect();
    assert_eq!(when[1], Some("2018-02-06T15:50:42"));
    assert_eq!(column(&report, "note").null_share, 0.75);
    assert_eq!(column(&report, "when").date_format.as_deref(), Some("%Y-%m-%d[T%H:%M[:%S]]"));
    let felt: Vec<Option<bool>> = frame.column("felt").unwrap().bool().unwrap().iter().collect();
    assert_eq!(felt, [Some(true), Some(true), Some(false), Some(false)]);
}

#[test]
fn units_are_split_and_required_columns_reject_rows() {
    let (dir, store) = open();
    let path = dir.path().join("parcels.csv");
    std::fs::write(&path, "id,weight,share\n1,12.5 kg,30%\n2,\"1,200 kg\",45%\n,3 kg,N/A\n4,0.5kg,5%\n")
        .unwrap();
    let rules = Rules { required: vec!["id".into()], ..Rules::default() };
    let report = ingest(&store, &path, &IngestOptions { rules, ..IngestOptions::default() }).unwrap();
    assert_eq!((report.rows_written, report.rows_rejected), (3, 1));
    let rejects = std::fs::read_to_string(report.rejects.as_ref().unwrap()).unwrap();
    assert!(rejects.contains("required column id has no value"), "{rejects}");
    assert_eq!(column(&report, "weight").unit.as_deref(), Some("kg"));
    assert_eq!(column(&report, "share").unit.as_deref(), Some("%"));
    let frame = table(&report);
    let weights: Vec<Option<f64>> = frame.column("weight").unwrap().f64().unwrap().iter().collect();
    assert_eq!(weights, [Some(12.5), Some(1200.0), Some(0.5)]);
    let err = ingest(
        &store,
        &path,
        &IngestOptions {
            rules: Rules { required: vec!["nope".into()], ..Rules::default() },
            ..IngestOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_file_changing_while_read_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    assert_eq!(read_whole(&path, || ()).unwrap(), b"a,b\n1,2\n");
    let error = read_whole(&path, || {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"3,4\n").unwrap();
    })
    .unwrap_err();
    assert!(matches!(error, IngestError::Changed(_)), "{error}");
    assert!(error.to_string().contains("changed while it was read"), "{error}");
}

#[test]
fn blank_lines_crlf_and_multiline_quotes_keep_rows_and_line_numbers() {
    let (dir, store) = open();
    let report = fixture(
        &store,
        dir.path(),
        "lines.csv",
        b"\r\nid,text\r\n1,\"two\r\nlines\"\r\n\r\n2,plain\r\n3,too,many\r\n   \r\n4,last",
    )
    .unwrap();
    assert_eq!((report.rows_read, report.rows_written, report.rows_rejected), (4, 3, 1));
    let rejects = std::fs::read_to_string(report.rejects.as_ref().unwrap()).unwrap();
    assert!(rejects.starts_with("row,field,reason,raw\n7,"), "{rejects}");
    let frame = table(&report);
    let ids: Vec<Option<f64>> =
        frame.column("id").unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect();
    assert_eq!(ids, [Some(1.0), Some(2.0), Some(4.0)]);
    // The line break inside the quoted field is white space that the default rules collapse.
    assert_eq!(frame.column("text").unwrap().str().unwrap().get(0), Some("two lines"));
}

/// The profile computed from counts and sorted values agrees with polars' own statistics.
#[test]
fn profiles_agree_with_polars() {
    let (dir, store) = open();
    let mut csv = String::from("n,x,word\n");
    let mut state = 7u64;
    for i in 0..5000 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let n = (state >> 33) % 300;
        let x = if i % 17 == 0 { String::new() } else { format!("{:.2}", (state >> 20) as f64 / 1e9) };
        let word = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu"][(state >> 40) as usize % 7];
        csv.push_str(&format!("{n},{x},{word}\n"));
    }
    let report = fixture(&store, dir.path(), "stats.csv", csv.as_bytes()).unwrap();
    let frame = table(&report);
    for name in ["n", "x", "word"] {
        let profile = column(&report, name);
        let values = frame.column(name).unwrap();
        assert_eq!(profile.distinct, values.n_unique().unwrap() as u64, "{name}");
        assert_eq!(profile.null_share, values.null_count() as f64 / values.len() as f64, "{name}");
        if name != "word" {
            let q = |p| values.quantile_reduce(p, QuantileMethod::Linear).unwrap().value().extract::<f64>();
            let quartiles = profile.quartiles.unwrap();
            assert_eq!(
                [Some(quartiles[0]), Some(quartiles[1]), Some(quartiles[2])],
                [q(0.25), q(0.5), q(0.75)]
            );
        }
        // The top values are the most frequent, with their exact counts.
        let counts =
            values.as_materialized_series().value_counts(true, false, "count".into(), false).unwrap();
        let present = counts.column(name).unwrap().is_not_null();
        let most = counts.column("count").unwrap().cast(&DataType::UInt64).unwrap();
        let expected: Vec<u64> = most
            .u64()
            .unwrap()
            .iter()
            .zip(present.iter())
            .filter_map(|(count, present)| count.filter(|_| present == Some(true)))
            .take(5)
            .collect();
        let got: Vec<u64> = profile.top.iter().map(|t| t.count).collect();
        assert_eq!(got, expected, "{name}");
    }
    let word = column(&report, "word");
    assert_eq!(word.min.as_deref(), Some("ant"));
    assert_eq!(word.max.as_deref(), Some("gnu"));
    assert_eq!(word.text_length, Some([3.0, 3.0, 3.0]));
}
