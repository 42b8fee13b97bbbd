//! Integration tests for slipway-data: reading real and broken files, writing, validating and
//! profiling. One test binary on purpose (link time).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use proptest::prelude::*;
use slipway_data::ingest::{
    ReadOptions, TableWriter, fingerprint, infer_types, read_chunks, read_table, write_table,
};
use slipway_data::profile::{profile, render_html};
use slipway_data::validate::{ColumnRules, Rules, validate};
use slipway_data::{DataType, Error, ErrorKind, Field, Role, Schema, Table};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Writes `contents` to `name` in a fresh temporary directory.
fn file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

fn read(name: &str, contents: &str) -> Table {
    let (_dir, path) = file(name, contents.as_bytes());
    read_table(&path, &ReadOptions::default()).unwrap()
}

fn read_err(name: &str, contents: &[u8], opts: &ReadOptions) -> (Error, String) {
    let (_dir, path) = file(name, contents);
    let err = read_table(&path, opts).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains(name),
        "error does not name the file: {shown}"
    );
    assert_eq!(err.kind(), ErrorKind::User, "{shown}");
    (err, shown)
}

fn malformed_line(err: &Error) -> u64 {
    match err {
        Error::Malformed { line, .. } => *line,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn dtypes(t: &Table) -> Vec<(&str, DataType)> {
    t.schema()
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.dtype))
        .collect()
}

/// The shared real datasets, found by walking up from this crate (`shared/data`), or `None`
/// (and the test is skipped with a note) where they are not checked out.
fn shared_data(rel: &str) -> Option<PathBuf> {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = start
        .ancestors()
        .map(|a| a.join("shared/data").join(rel))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!(
            "skipping: shared/data/{rel} not found above {}",
            start.display()
        );
    }
    found
}

/// A table with one column of every logical type, missing values and roles.
fn every_type() -> Table {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Integer).with_role(Role::Id),
        Field::new("x", DataType::Float),
        Field::new("ok", DataType::Boolean),
        Field::new("city", DataType::Categorical).with_role(Role::Protected),
        Field::new("when", DataType::Datetime).with_role(Role::Timestamp),
        Field::new("note", DataType::Text),
        Field::new("y", DataType::Integer).with_role(Role::Target),
    ])
    .unwrap();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
        Arc::new(Float64Array::from(vec![
            Some(0.1),
            None,
            Some(-2.5e-7),
            Some(1e20),
        ])),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ])),
        Arc::new(StringArray::from(vec![
            Some("Oslo"),
            Some("Rome, Italy"),
            None,
            Some("\"Q\""),
        ])),
        Arc::new(TimestampMillisecondArray::from(vec![
            Some(1_706_695_200_123),
            None,
            Some(0),
            Some(-1),
        ])),
        Arc::new(StringArray::from(vec![
            Some("a long note\nwith a newline"),
            Some("short"),
            None,
            Some("ünïcödé"),
        ])),
        Arc::new(Int64Array::from(vec![Some(0), Some(1), Some(1), None])),
    ];
    Table::new(schema, columns).unwrap()
}

fn assert_same_table(a: &Table, b: &Table) {
    assert_eq!(a.schema(), b.schema());
    assert_eq!(a.n_rows(), b.n_rows());
    for name in a.schema().names() {
        for row in 0..a.n_rows() {
            assert_eq!(
                a.display_value(name, row).unwrap(),
                b.display_value(name, row).unwrap(),
                "column {name}, row {row}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV: good input

#[test]
fn csv_quoting_trimming_missing_and_inference() {
    let t = read(
        "people.csv",
        "name, age ,sex,score,joined,member\n\
         \"Smith, Ann\",39, Male,1.5,2024-01-31,true\n\
         \"Line\nbreak\",NA, Female,2e-3,2024-02-01T10:00:00Z,FALSE\n\
         Bob,41,,,2024-02-02 08:30:00,True\n",
    );
    assert_eq!(t.n_rows(), 3);
    assert_eq!(
        dtypes(&t),
        [
            ("name", DataType::Categorical),
            ("age", DataType::Integer),
            ("sex", DataType::Categorical),
            ("score", DataType::Float),
            ("joined", DataType::Datetime),
            ("member", DataType::Boolean),
        ]
    );
    assert_eq!(
        t.string_values("name").unwrap(),
        [Some("Smith, Ann"), Some("Line\nbreak"), Some("Bob")]
    );
    assert_eq!(
        t.string_values("sex").unwrap(),
        [Some("Male"), Some("Female"), None]
    );
    assert_eq!(t.null_count("age").unwrap(), 1);
    assert_eq!(t.null_count("score").unwrap(), 1);
    assert_eq!(
        t.display_value("joined", 1).unwrap().as_deref(),
        Some("2024-02-01T10:00:00.000Z")
    );
}

#[test]
fn tsv_and_custom_delimiters() {
    let t = read("a.tsv", "a\tb\n1\tx y\n2\tz\n");
    assert_eq!(
        dtypes(&t),
        [("a", DataType::Integer), ("b", DataType::Categorical)]
    );
    let (_d, path) = file("semi.csv", b"a;b\n1,5;2\n");
    let opts = ReadOptions {
        delimiter: Some(b';'),
        ..ReadOptions::default()
    };
    let t = read_table(&path, &opts).unwrap();
    assert_eq!(t.string_values("a").unwrap(), [Some("1,5")]);
}

#[test]
fn text_vs_categorical_and_all_missing() {
    let mut csv = String::from("review,empty\n");
    for i in 0..30 {
        let sep = if i % 2 == 0 { "" } else { "NA" };
        csv.push_str(&format!(
            "\"this product number {i} was really very good\",{sep}\n"
        ));
    }
    let t = read("t.csv", &csv);
    assert_eq!(
        dtypes(&t),
        [("review", DataType::Text), ("empty", DataType::Categorical)]
    );
    assert_eq!(t.null_count("empty").unwrap(), 30);
}

/// Issue 12 item 3: wordy labels with a handful of levels are categories (they were read as
/// free text and dropped from the features), whatever their length; high cardinality is
/// what makes text.
#[test]
fn wordy_low_cardinality_labels_are_categorical() {
    let levels = [
        "Married, civilian spouse present",
        "Never married and living alone today",
        "Divorced or separated from a spouse",
        "Widowed after a long marriage of years",
        "Married, spouse absent for work reasons",
    ];
    let mut csv = String::from("marital,note,n\n");
    for i in 0..300 {
        csv.push_str(&format!(
            "\"{}\",\"free text remark number {i} about this row\",{i}\n",
            levels[i % levels.len()]
        ));
    }
    let t = read("t.csv", &csv);
    assert_eq!(
        dtypes(&t),
        [
            ("marital", DataType::Categorical),
            ("note", DataType::Text),
            ("n", DataType::Integer)
        ]
    );
    // The same through a sample-based inference (`infer_rows`) and through Parquet.
    let (_d, path) = file("t.csv", csv.as_bytes());
    let opts = ReadOptions {
        infer_rows: Some(50),
        ..ReadOptions::default()
    };
    let t = read_table(&path, &opts).unwrap();
    assert_eq!(t.schema().fields[0].dtype, DataType::Categorical);
    let pq = path.with_extension("parquet");
    write_table(&t, &pq).unwrap();
    let back = read_table(&pq, &ReadOptions::default()).unwrap();
    assert_eq!(back.schema().fields[0].dtype, DataType::Categorical);
    assert_eq!(back.schema().fields[1].dtype, DataType::Text);
}

#[test]
fn declared_types_override_inference() {
    let (_d, path) = file("d.csv", b"zip,flag,v\n02134,yes,1\n10001,no,2\n");
    let opts = ReadOptions::default()
        .with_type("zip", DataType::Categorical)
        .with_type("flag", DataType::Boolean)
        .with_type("v", DataType::Float);
    let t = read_table(&path, &opts).unwrap();
    assert_eq!(
        dtypes(&t),
        [
            ("zip", DataType::Categorical),
            ("flag", DataType::Boolean),
            ("v", DataType::Float)
        ]
    );
    assert_eq!(t.string_values("zip").unwrap()[0], Some("02134"));
    assert_eq!(t.numeric_values("flag").unwrap(), [1.0, 0.0]);
}

#[test]
fn infer_rows_widens_instead_of_failing() {
    let (_d, path) = file("w.csv", b"a\n1\n2\n3\n4.5\n");
    let opts = ReadOptions {
        infer_rows: Some(2),
        ..ReadOptions::default()
    };
    let t = read_table(&path, &opts).unwrap();
    assert_eq!(dtypes(&t), [("a", DataType::Float)]);
}

// ---------------------------------------------------------------------------------------------
// CSV: bad input

#[test]
fn empty_file_and_header_only() {
    let (err, shown) = read_err("empty.csv", b"", &ReadOptions::default());
    assert!(matches!(err, Error::Empty { .. }), "{shown}");
    let (err, shown) = read_err("header.csv", b"a,b\n", &ReadOptions::default());
    assert!(matches!(err, Error::Empty { .. }), "{shown}");
    assert!(shown.contains("no data rows"), "{shown}");
}

#[test]
fn wrong_field_count_names_the_line() {
    let (err, shown) = read_err(
        "short.csv",
        b"a,b,c\n1,2,3\n4,5,6\n7,8\n",
        &ReadOptions::default(),
    );
    assert_eq!(malformed_line(&err), 4);
    assert!(
        shown.ends_with("short.csv:4: row has 2 fields, header has 3"),
        "{shown}"
    );
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let (err, shown) = read_err(
        "latin1.csv",
        b"name,city\nA,Oslo\nB,Z\xfcrich\n",
        &ReadOptions::default(),
    );
    assert_eq!(malformed_line(&err), 3);
    assert!(
        shown.contains("column \"city\"") && shown.contains("UTF-8"),
        "{shown}"
    );
}

#[test]
fn duplicate_and_empty_header_names() {
    let (err, shown) = read_err("dup.csv", b"a,b,a\n1,2,3\n", &ReadOptions::default());
    assert_eq!(malformed_line(&err), 1);
    assert!(
        shown.contains("\"a\" appears twice (columns 1 and 3)"),
        "{shown}"
    );
    let (err, shown) = read_err("blank.csv", b"a,,c\n1,2,3\n", &ReadOptions::default());
    assert_eq!(malformed_line(&err), 1);
    assert!(shown.contains("column 2 has an empty name"), "{shown}");
}

#[test]
fn declared_type_failure_names_file_line_column_value_and_type() {
    let opts = ReadOptions::default().with_type("age", DataType::Integer);
    let (err, shown) = read_err("ages.csv", b"name,age\nann,31\nbob,abc\n", &opts);
    assert_eq!(malformed_line(&err), 3);
    assert!(
        shown.ends_with("ages.csv:3: column \"age\": value \"abc\" is not an integer"),
        "{shown}"
    );
    let opts = ReadOptions::default().with_type("when", DataType::Datetime);
    let (_, shown) = read_err("dates.csv", b"when\n2024-01-01\n31/01/2024\n", &opts);
    assert!(
        shown.contains(":3: column \"when\": value \"31/01/2024\""),
        "{shown}"
    );
}

#[test]
fn declaring_an_unknown_column_is_an_error() {
    let opts = ReadOptions::default().with_type("agee", DataType::Integer);
    let (_d, path) = file("typo.csv", b"age\n1\n");
    let err = read_table(&path, &opts).unwrap_err();
    assert!(matches!(err, Error::MissingColumn { .. }));
    assert!(
        err.to_string()
            .contains("\"agee\" not found; did you mean \"age\"?; the columns are: age"),
        "{err}"
    );
}

#[test]
fn missing_file_and_unknown_extension() {
    let err = read_table(Path::new("/nonexistent/x.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("/nonexistent/x.csv"));
    let err = read_table(Path::new("x.xlsx"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::UnsupportedFormat { .. }));
}

// ---------------------------------------------------------------------------------------------
// Real data

#[test]
fn adult_train_loads_with_types_and_missing_values() {
    let Some(path) = shared_data("adult/adult_train.csv") else {
        return;
    };
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!((t.n_rows(), t.n_cols()), (32_561, 15));
    let schema = t.schema();
    assert_eq!(schema.field("age").unwrap().dtype, DataType::Integer);
    assert_eq!(
        schema.field("workclass").unwrap().dtype,
        DataType::Categorical
    );
    assert_eq!(schema.field("income").unwrap().dtype, DataType::Integer);
    assert_eq!(t.null_count("workclass").unwrap(), 1836);
    assert_eq!(t.null_count("occupation").unwrap(), 1843);
    assert_eq!(t.null_count("native_country").unwrap(), 583);

    let p = profile(&t);
    let workclass = p.column("workclass").unwrap();
    assert_eq!((workclass.missing, workclass.distinct), (1836, 8));
    let top = &workclass.categories.as_ref().unwrap().top[0];
    assert_eq!((top.value.as_str(), top.count), ("Private", 22_696));
    // pandas: df.age.mean(), df.age.std()
    let age = p.column("age").unwrap().numeric.as_ref().unwrap();
    assert!((age.mean - 38.58164675532078).abs() < 1e-9);
    assert!((age.std - 13.640432553581341).abs() < 1e-9);
}

#[test]
fn employment_parquet_loads() {
    let Some(path) = shared_data("employment_ma/reference.parquet") else {
        return;
    };
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!((t.n_rows(), t.n_cols()), (68_785, 21));
    let s = t.schema();
    assert_eq!(s.field("id").unwrap().dtype, DataType::Integer);
    assert_eq!(s.field("AGEP").unwrap().dtype, DataType::Float);
    assert_eq!(s.field("SEX").unwrap().dtype, DataType::Categorical);
    assert_eq!(
        s.field("predicted_probability").unwrap().dtype,
        DataType::Float
    );
    let sex = profile(&t.select(&["SEX"]).unwrap());
    let counts: Vec<(String, u64)> = sex.columns[0]
        .categories
        .as_ref()
        .unwrap()
        .top
        .iter()
        .map(|c| (c.value.clone(), c.count))
        .collect();
    assert_eq!(
        counts,
        [("2".to_string(), 35_691), ("1".to_string(), 33_094)]
    );

    // A declared type casts dictionary strings to numbers.
    let opts = ReadOptions::default().with_type("SEX", DataType::Integer);
    let t = read_table(&path, &opts).unwrap();
    assert_eq!(t.schema().field("SEX").unwrap().dtype, DataType::Integer);
}

// ---------------------------------------------------------------------------------------------
// Parquet

#[test]
fn parquet_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let table = every_type();
    write_table(&table, &path).unwrap();
    let back = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!(back.schema(), table.schema());
    assert_eq!(back.record_batch(), table.record_batch());
    // Only the file itself is left: the temporary file was renamed.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn parquet_physical_types_map_to_logical() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/pyarrow_types.parquet");
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    assert_eq!(
        dtypes(&t),
        [
            ("i8", DataType::Integer),
            ("u32", DataType::Integer),
            ("f32", DataType::Float),
            ("day", DataType::Datetime),
            ("when", DataType::Datetime),
            ("dict", DataType::Categorical),
            ("large", DataType::Categorical),
            ("flag", DataType::Boolean),
        ]
    );
    assert_eq!(t.null_count("i8").unwrap(), 1);
    assert_eq!(
        t.display_value("day", 4).unwrap().as_deref(),
        Some("1969-12-31T00:00:00.000Z")
    );
    assert_eq!(
        t.display_value("when", 0).unwrap().as_deref(),
        Some("2024-01-31T10:00:00.123Z")
    );
    // Microseconds before the epoch round down, like pandas' floor to milliseconds.
    assert_eq!(
        t.display_value("when", 3).unwrap().as_deref(),
        Some("1969-12-31T23:59:59.999Z")
    );
    assert_eq!(
        t.string_values("dict").unwrap(),
        [Some("a"), Some("b"), None, Some("a"), Some("c")]
    );
}

#[test]
fn parquet_declared_types_cast_or_explain() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/pyarrow_types.parquet");
    let opts = ReadOptions::default()
        .with_type("i8", DataType::Float)
        .with_type("u32", DataType::Categorical);
    let t = read_table(&path, &opts).unwrap();
    assert_eq!(t.numeric_values("i8").unwrap()[1], -2.0);
    assert_eq!(t.string_values("u32").unwrap()[0], Some("10"));

    let opts = ReadOptions::default().with_type("dict", DataType::Integer);
    let err = read_table(&path, &opts).unwrap_err().to_string();
    assert!(
        err.contains(":1: column \"dict\": value \"a\" is not an integer"),
        "{err}"
    );
    let opts = ReadOptions::default().with_type("f32", DataType::Integer);
    let err = read_table(&path, &opts).unwrap_err().to_string();
    assert!(
        err.contains(":1: column \"f32\": value \"0.5\" is not an integer"),
        "{err}"
    );
    let opts = ReadOptions::default().with_type("day", DataType::Integer);
    let err = read_table(&path, &opts).unwrap_err();
    assert!(matches!(err, Error::WrongType { .. }), "{err}");
}

/// Chunks of a CSV file are the whole-file table cut in pieces; errors name the file's line
/// (not the chunk's), unselected columns are never read (their bad bytes do not matter).
#[test]
fn csv_chunks_keep_file_line_numbers_and_skip_unselected_columns() {
    let mut csv = b"a,b,junk\n".to_vec();
    for i in 0..20 {
        csv.extend_from_slice(format!("{i},{}.5,", i * 2).as_bytes());
        csv.extend_from_slice(b"\xff\n");
    }
    let (_dir, path) = file("c.csv", &csv);
    let opts = ReadOptions::default()
        .with_type("a", DataType::Integer)
        .with_type("b", DataType::Float);
    let select = ["a".to_string(), "b".to_string()];
    let chunks: Vec<Table> = read_chunks(&path, &opts, Some(&select), 3)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(chunks.len(), 7);
    assert!(chunks.iter().take(6).all(|c| c.n_rows() == 3));
    let whole = Table::concat(&chunks).unwrap();
    assert_eq!(whole.numeric_values("b").unwrap()[19], 38.5);
    assert_eq!(whole.schema().names(), ["a", "b"]);

    csv.extend_from_slice(b"20,x,1\n");
    let (_dir, path) = file("c.csv", &csv);
    let mut chunks = read_chunks(&path, &opts, Some(&select), 3).unwrap();
    assert_eq!(chunks.columns(), ["a", "b", "junk"]);
    let err = chunks.find_map(Result::err).unwrap();
    assert_eq!(malformed_line(&err), 22, "{err}");
    assert!(
        err.to_string().contains("column \"b\": value \"x\""),
        "{err}"
    );
    // A declared column the file lacks is found on opening.
    let err = read_chunks(
        &path,
        &opts.clone().with_type("c", DataType::Float),
        None,
        3,
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::MissingColumn { .. }), "{err}");
}

/// Parquet chunks count rows from the file's first row in errors; streamed inference gives
/// a whole-file read's types; a table written in chunks is the same file as written whole.
#[test]
fn parquet_chunks_inference_and_chunked_writes_match_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let n = 5000;
    let mut csv = String::from("n,x,word,late\n");
    for i in 0..n {
        let late = if i == n - 1 {
            "z".to_string()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{i},{}.25,w{},{late}\n", i % 7, i % 3));
    }
    let csv_path = dir.path().join("t.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let whole = read_table(&csv_path, &ReadOptions::default()).unwrap();
    let names: Vec<String> = ["x", "word", "late"].map(String::from).to_vec();
    let inferred = infer_types(&csv_path, &ReadOptions::default(), &names).unwrap();
    for name in &names {
        assert_eq!(
            inferred[name],
            whole.schema().require(name).unwrap().dtype,
            "{name}"
        );
    }
    assert_eq!(inferred["late"], DataType::Categorical);

    let pq = dir.path().join("whole.parquet");
    write_table(&whole, &pq).unwrap();
    let mut w = TableWriter::create(&dir.path().join("chunked.parquet")).unwrap();
    for c in read_chunks(&pq, &ReadOptions::default(), None, 333).unwrap() {
        w.write(&c.unwrap()).unwrap();
    }
    w.finish().unwrap();
    assert!(
        std::fs::read(&pq).unwrap() == std::fs::read(dir.path().join("chunked.parquet")).unwrap()
    );
    assert_eq!(
        infer_types(&pq, &ReadOptions::default(), &names).unwrap(),
        inferred
    );

    let opts = ReadOptions::default().with_type("late", DataType::Integer);
    let err = read_chunks(&pq, &opts, None, 1000)
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert_eq!(malformed_line(&err), n as u64, "{err}");
}

#[test]
fn not_parquet_is_unreadable() {
    let (_d, path) = file("fake.parquet", b"a,b\n1,2\n");
    let err = read_table(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Unreadable { .. }), "{err}");
    assert!(err.to_string().contains("fake.parquet"));
}

// ---------------------------------------------------------------------------------------------
// JSON lines

#[test]
fn jsonl_keys_union_in_first_seen_order() {
    let t = read(
        "rows.jsonl",
        "{\"b\": 1, \"a\": \"x\"}\n\
         \n\
         {\"a\": \"y\", \"c\": true, \"d\": 2.5}\n\
         {\"b\": null, \"d\": 3, \"e\": \"2024-01-01T00:00:00Z\"}\n",
    );
    assert_eq!(
        dtypes(&t),
        [
            ("b", DataType::Integer),
            ("a", DataType::Categorical),
            ("c", DataType::Boolean),
            ("d", DataType::Float),
            ("e", DataType::Datetime),
        ]
    );
    assert_eq!(t.n_rows(), 3);
    assert_eq!(t.null_count("b").unwrap(), 2);
    assert_eq!(t.string_values("a").unwrap(), [Some("x"), Some("y"), None]);
    assert_eq!(t.null_count("c").unwrap(), 2);
}

#[test]
fn jsonl_errors_name_line_and_key() {
    let opts = ReadOptions::default();
    let (err, shown) = read_err("n.jsonl", b"{\"a\": 1}\n{\"a\": {\"b\": 2}}\n", &opts);
    assert_eq!(malformed_line(&err), 2);
    assert!(shown.contains("key \"a\": nested objects"), "{shown}");
    let (err, shown) = read_err("arr.ndjson", b"{\"a\": 1}\n\n{\"a\": [1]}\n", &opts);
    assert_eq!(malformed_line(&err), 3);
    assert!(shown.contains("nested arrays"), "{shown}");
    let (err, shown) = read_err("bad.jsonl", b"{\"a\": 1}\n{\"a\": 1,}\n", &opts);
    assert_eq!(malformed_line(&err), 2);
    assert!(shown.contains("invalid JSON at column"), "{shown}");
    let (err, shown) = read_err("list.jsonl", b"[1, 2]\n", &opts);
    assert_eq!(malformed_line(&err), 1);
    assert!(shown.contains("expected a JSON object"), "{shown}");
    let (err, _) = read_err("none.jsonl", b"\n\n", &opts);
    assert!(matches!(err, Error::Empty { .. }));
    let opts = ReadOptions::default().with_type("a", DataType::Integer);
    let (_, shown) = read_err("t.jsonl", b"{\"a\": 1}\n{\"a\": \"one\"}\n", &opts);
    assert!(
        shown.contains("t.jsonl:2: column \"a\": value \"one\" is not an integer"),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------------------------
// Writing

#[test]
fn csv_and_jsonl_round_trips_keep_values() {
    let table = every_type();
    let dir = tempfile::tempdir().unwrap();
    for name in ["t.csv", "t.jsonl", "t.tsv"] {
        let path = dir.path().join(name);
        write_table(&table, &path).unwrap();
        let opts = ReadOptions {
            types: table
                .schema()
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.dtype))
                .collect(),
            ..ReadOptions::default()
        };
        let mut back = read_table(&path, &opts).unwrap();
        for f in &table.schema().fields {
            back.set_role(&f.name, f.role).unwrap();
        }
        assert_same_table(&table, &back);
        // Without declared types, inference still finds every type but text (which is
        // short here, so categorical).
        let inferred = read_table(&path, &ReadOptions::default()).unwrap();
        let types: Vec<DataType> = inferred.schema().fields.iter().map(|f| f.dtype).collect();
        assert_eq!(
            types,
            [
                DataType::Integer,
                DataType::Float,
                DataType::Boolean,
                DataType::Categorical,
                DataType::Datetime,
                DataType::Categorical,
                DataType::Integer,
            ],
            "{name}"
        );
    }
}

#[test]
fn failed_write_leaves_nothing_behind_and_overwrite_replaces() {
    let table = every_type();
    let err = write_table(&table, Path::new("/nonexistent-dir/out.csv")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    std::fs::write(&path, "old").unwrap();
    write_table(&table, &path).unwrap();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("id,x,ok")
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn fingerprint_is_sha256_of_the_bytes() {
    let (_d, path) = file("abc.csv", b"abc");
    assert_eq!(
        fingerprint(&path).unwrap(),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn validation_lists_every_broken_rule_with_rows() {
    let t = read(
        "v.csv",
        "id,age,sex,score\n\
         1,34,M,0.5\n\
         2,-3,F,0.7\n\
         3,150,X,\n\
         3,40,,\n\
         5,-1,M,0.2\n\
         5,-1,M,0.2\n",
    );
    let rules: Rules = serde_json::from_str(
        r#"{
            "required": ["id", "income"],
            "columns": {
                "id": {"unique": true, "type": "integer"},
                "age": {"min": 0, "max": 120},
                "sex": {"allowed": ["M", "F"], "min": 1, "max_missing_fraction": 0.1},
                "score": {"type": "float", "max_missing_fraction": 0.2},
                "zip": {"required": true}
            },
            "no_duplicate_rows": true
        }"#,
    )
    .unwrap();
    rules.check().unwrap();
    let report = validate(&t, &rules);
    assert!(!report.is_ok());
    assert_eq!(report.n_rows, 6);
    let found: Vec<(Option<&str>, &str, usize)> = report
        .violations
        .iter()
        .map(|v| (v.column.as_deref(), v.rule.as_str(), v.count))
        .collect();
    assert_eq!(
        found,
        [
            (Some("income"), "required", 1),
            (Some("zip"), "required", 1),
            (Some("age"), "min", 3),
            (Some("age"), "max", 1),
            (Some("id"), "unique", 2),
            (Some("score"), "max_missing_fraction", 2),
            (Some("sex"), "min", 1),
            (Some("sex"), "allowed", 1),
            (Some("sex"), "max_missing_fraction", 1),
            (None, "no_duplicate_rows", 1),
        ]
    );
    let by = |col: &str, rule: &str| {
        report
            .violations
            .iter()
            .find(|v| v.column.as_deref() == Some(col) && v.rule == rule)
            .unwrap()
    };
    let rows = |col: &str, rule: &str| -> Vec<(usize, Option<String>)> {
        by(col, rule)
            .examples
            .iter()
            .map(|e| (e.row, e.value.clone()))
            .collect()
    };
    assert_eq!(
        rows("age", "min"),
        [
            (2, Some("-3".into())),
            (5, Some("-1".into())),
            (6, Some("-1".into()))
        ]
    );
    assert_eq!(rows("age", "max"), [(3, Some("150".into()))]);
    assert_eq!(
        rows("id", "unique"),
        [(4, Some("3".into())), (6, Some("5".into()))]
    );
    assert_eq!(rows("sex", "allowed"), [(3, Some("X".into()))]);
    assert_eq!(
        rows("score", "max_missing_fraction"),
        [(3, None), (4, None)]
    );
    assert!(
        by("income", "required")
            .message
            .contains("id, age, sex, score")
    );
    assert!(
        by("sex", "min")
            .message
            .contains("rule min needs a numeric column")
    );

    let text = report.to_string();
    assert_eq!(text.lines().count(), report.violations.len(), "{text}");
    assert!(
        text.contains("column \"age\": [min] 3 values are below the minimum 0"),
        "{text}"
    );

    // The report serializes for the API and CLI.
    let json = serde_json::to_string(&report).unwrap();
    let back: slipway_data::validate::ValidationReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn type_rule_shows_values_that_do_not_parse() {
    let t = read("ty.csv", "age\n31\nabc\n40\n?\n");
    let mut rules = Rules::default();
    rules.columns.insert(
        "age".into(),
        ColumnRules {
            dtype: Some(DataType::Integer),
            ..ColumnRules::default()
        },
    );
    let report = validate(&t, &rules);
    let v = &report.violations[0];
    assert_eq!((v.rule.as_str(), v.count), ("type", 2));
    assert_eq!(v.examples[0].row, 2);
    assert_eq!(v.examples[1].value.as_deref(), Some("?"));
}

#[test]
fn rules_with_unknown_keys_or_nonsense_are_rejected() {
    assert!(serde_json::from_str::<Rules>(r#"{"colums": {}}"#).is_err());
    let rules: Rules = serde_json::from_str(r#"{"columns": {"a": {"min": 3, "max": 2}}}"#).unwrap();
    let err = rules.check().unwrap_err();
    assert!(matches!(err, Error::InvalidRules(_)) && err.kind() == ErrorKind::User);
    assert!(
        err.to_string()
            .contains("column \"a\": min 3 is greater than max 2")
    );
}

// ---------------------------------------------------------------------------------------------
// Profiles

#[derive(serde::Deserialize)]
struct Reference {
    quantiles: Vec<f64>,
    numeric: std::collections::BTreeMap<String, NumericCase>,
    categorical: std::collections::BTreeMap<String, CategoricalCase>,
}

#[derive(serde::Deserialize)]
struct NumericCase {
    dtype: String,
    values: Vec<Option<f64>>,
    expected: NumericExpected,
}

#[derive(serde::Deserialize)]
struct NumericExpected {
    count: usize,
    missing: usize,
    distinct: usize,
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
    quantiles: Vec<f64>,
    histogram_edges: Vec<f64>,
    histogram_counts: Vec<u64>,
}

#[derive(serde::Deserialize)]
struct CategoricalCase {
    values: Vec<Option<String>>,
    expected: CategoricalExpected,
}

#[derive(serde::Deserialize)]
struct CategoricalExpected {
    count: usize,
    missing: usize,
    distinct: usize,
    top: Vec<(String, u64)>,
    other: u64,
}

fn close(a: f64, b: f64, what: &str) {
    let tol = 1e-9 * b.abs().max(1.0);
    assert!((a - b).abs() <= tol, "{what}: {a} vs reference {b}");
}

/// Numbers from `tests/reference/make_profile_reference.py` (pandas and numpy).
#[test]
fn profile_matches_pandas_and_numpy() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/profile_reference.json");
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (name, case) in &reference.numeric {
        let array: ArrayRef = if case.dtype == "integer" {
            Arc::new(Int64Array::from_iter(
                case.values.iter().map(|v| v.map(|x| x as i64)),
            ))
        } else {
            Arc::new(Float64Array::from(case.values.clone()))
        };
        let dtype = if case.dtype == "integer" {
            DataType::Integer
        } else {
            DataType::Float
        };
        let table = Table::new(
            Schema::new(vec![Field::new(name, dtype)]).unwrap(),
            vec![array],
        )
        .unwrap();
        let p = profile(&table);
        let c = p.column(name).unwrap();
        let e = &case.expected;
        assert_eq!(
            (c.count, c.missing, c.distinct),
            (e.count, e.missing, e.distinct),
            "{name}"
        );
        let n = c.numeric.as_ref().unwrap();
        close(n.mean, e.mean, &format!("{name} mean"));
        close(n.std, e.std, &format!("{name} std"));
        close(n.min, e.min, &format!("{name} min"));
        close(n.max, e.max, &format!("{name} max"));
        for (i, q) in reference.quantiles.iter().enumerate() {
            assert_eq!(n.quantiles[i].q, *q);
            close(
                n.quantiles[i].value,
                e.quantiles[i],
                &format!("{name} q{q}"),
            );
        }
        assert_eq!(n.histogram.counts, e.histogram_counts, "{name} histogram");
        for (a, b) in n.histogram.edges.iter().zip(&e.histogram_edges) {
            close(*a, *b, &format!("{name} edge"));
        }
    }
    for (name, case) in &reference.categorical {
        let table = Table::new(
            Schema::new(vec![Field::new(name, DataType::Categorical)]).unwrap(),
            vec![Arc::new(StringArray::from(case.values.clone()))],
        )
        .unwrap();
        let p = profile(&table);
        let c = p.column(name).unwrap();
        let e = &case.expected;
        assert_eq!(
            (c.count, c.missing, c.distinct),
            (e.count, e.missing, e.distinct)
        );
        let cats = c.categories.as_ref().unwrap();
        let top: Vec<(String, u64)> = cats
            .top
            .iter()
            .map(|t| (t.value.clone(), t.count))
            .collect();
        assert_eq!(top, e.top);
        assert_eq!(cats.other, e.other);
    }
}

#[test]
fn profile_serializes_and_renders() {
    let p = profile(&every_type());
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(
        serde_json::from_str::<slipway_data::profile::Profile>(&json).unwrap(),
        p
    );
    let ok = p.column("ok").unwrap();
    assert!(ok.numeric.is_some() && ok.categories.is_some());
    assert_eq!(p.column("when").unwrap().count, 3);
    let html = render_html(&p, "every <type>");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("every &lt;type&gt;"));
    for c in &p.columns {
        assert!(html.contains(&format!("<h2>{}</h2>", c.name)), "{}", c.name);
    }
    assert!(html.contains("<svg") && !html.contains("<script"));
}

fn two_column_table(rows: &[(Option<f64>, Option<String>)]) -> Table {
    let schema = Schema::new(vec![
        Field::new("x", DataType::Float),
        Field::new("c", DataType::Categorical),
    ])
    .unwrap();
    Table::new(
        schema,
        vec![
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.as_deref()))),
        ],
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Shuffling rows changes no statistic, not even in the last bit.
    #[test]
    fn profile_is_invariant_to_row_order(
        (rows, shuffled) in prop::collection::vec(
            (
                prop::option::weighted(0.9, -1e6f64..1e6),
                prop::option::weighted(0.9, "[a-e]{1,2}"),
            ),
            1..80,
        )
        .prop_flat_map(|rows| (Just(rows.clone()), Just(rows).prop_shuffle()))
    ) {
        let a = profile(&two_column_table(&rows));
        let b = profile(&two_column_table(&shuffled));
        prop_assert_eq!(a, b);
    }
}
