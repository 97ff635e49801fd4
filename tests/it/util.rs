//! Test helpers: a temporary copy of a fixture, the binary, findings as tuples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;
use salesrelay::config::Config;
use salesrelay::load::read_input;
use salesrelay::validate::{validate, Validated};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hand-checked fixture.
pub fn tiny() -> PathBuf {
    root().join("tests/fixtures/tiny")
}

/// A temporary folder holding a copy of a fixture, edited by the test.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn copy_of(fixture: &Path) -> Dir {
        let tmp = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(fixture).expect("fixture") {
            let p = entry.expect("entry").path();
            if p.is_file() {
                std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).expect("copy");
            }
        }
        Dir { tmp }
    }
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).expect("read")
    }
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.file(name), text).expect("write");
    }
    /// Replaces the first occurrence of `from` in `name`, which must exist.
    pub fn replace(&self, name: &str, from: &str, to: &str) {
        let text = self.read(name);
        assert!(text.contains(from), "{name} does not contain {from:?}");
        self.write(name, &text.replacen(from, to, 1));
    }
    pub fn append(&self, name: &str, text: &str) {
        let mut t = self.read(name);
        t.push_str(text);
        self.write(name, &t);
    }
    /// The fixture's activity ids zero-padded (T1 -> T001), so that the
    /// file lists them in ascending order.
    pub fn pad_activity_ids(&self) {
        let padded: Vec<String> = self
            .read("activities.csv")
            .lines()
            .enumerate()
            .map(|(i, line)| match line.split_once(',') {
                Some((id, rest)) if i > 0 => format!("T{:03},{rest}", id[1..].parse::<u32>().unwrap()),
                _ => line.to_string(),
            })
            .collect();
        self.write("activities.csv", &(padded.join("\n") + "\n"));
    }
    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.file(name)).expect("remove");
    }
}

/// Loads and validates a folder with its salesrelay.toml.
pub fn load(dir: &Path, lenient: bool) -> Validated {
    let (config, _) = Config::resolve(None, dir, &Default::default()).expect("config");
    let raw = read_input(dir, &config, salesrelay::load::Hashes::Taken).expect("read");
    validate(raw, lenient).expect("validate")
}

/// Findings as (table, row, column, rule), in report order.
pub fn findings(v: &Validated) -> Vec<(String, Option<i64>, Option<String>, String)> {
    let f = &v.findings;
    let t = f.column("table").unwrap().str().unwrap().clone();
    let r = f.column("row").unwrap().i64().unwrap().clone();
    let c = f.column("column").unwrap().str().unwrap().clone();
    let u = f.column("rule").unwrap().str().unwrap().clone();
    (0..f.height())
        .map(|i| (t.get(i).unwrap().to_string(), r.get(i), c.get(i).map(str::to_string), u.get(i).unwrap().to_string()))
        .collect()
}

/// Runs the binary with `args` in `cwd`.
pub fn salesrelay(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salesrelay")).current_dir(cwd).args(args).output().expect("run binary")
}

/// A column of a frame as f64 values.
pub fn f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
}

/// Frames standing as input tables (`table`, frame), their id columns (by
/// the table's contract) as own codes of shared dictionaries, as a
/// validated input holds them (`ids::Ids::own_codes`), and the dictionaries.
pub fn own_coded(frames: Vec<(&'static str, DataFrame)>) -> (Vec<DataFrame>, salesrelay::ids::Ids) {
    use salesrelay::ids::{encode_ids, id_kind, Coding};
    // the load codes are readable while this is held, as while an input is read and validated
    let _coding = Coding::default();
    let mut tables = std::collections::BTreeMap::new();
    let names: Vec<&'static str> = frames.iter().map(|(t, _)| *t).collect();
    for (table, mut df) in frames {
        for c in df.get_column_names_owned() {
            if let Some(kind) = id_kind(table, &c) {
                let codes = encode_ids(&df.column(&c).unwrap().as_materialized_series().cast(&DataType::String).unwrap(), kind).unwrap();
                df.replace(&c, codes.into_series().into_column()).unwrap();
            }
        }
        tables.insert(table, df);
    }
    let ids = salesrelay::ids::Ids::own_codes(&mut tables).unwrap();
    (names.iter().map(|t| tables.remove(t).unwrap()).collect(), ids)
}

/// Validated table `table` with its ids and coded enums as text.
pub fn text(v: &salesrelay::validate::Validated, table: &str) -> DataFrame {
    v.as_text(table).unwrap().collect().unwrap()
}

/// A column of a frame as strings.
pub fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name).unwrap().cast(&DataType::String).unwrap().str().unwrap().iter().map(|s| s.map(str::to_string)).collect()
}

/// The rows of `df` that satisfy `filter`.
pub fn rows(df: &DataFrame, filter: Expr) -> DataFrame {
    df.clone().lazy().filter(filter).collect().unwrap()
}

/// The value of `column` in the one row of `df` (which must have exactly one).
pub fn one(df: &DataFrame, column: &str) -> Option<f64> {
    assert_eq!(df.height(), 1, "{df}");
    f64s(df, column)[0]
}

/// Output table `table` of report folder `folder`, read from its Parquet file.
pub fn report_table(folder: &Path, table: &str) -> DataFrame {
    let file = std::fs::File::open(folder.join(format!("tables/{table}.parquet"))).unwrap();
    ParquetReader::new(file).finish().unwrap()
}

/// The report folder a run wrote into `out` (the one folder not hidden).
pub fn report_folder(out: &Path) -> PathBuf {
    std::fs::read_dir(out).unwrap().flatten().find(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.')).unwrap().path()
}
