//! reports/example/ is the review of sample_data as the code makes it today:
//! every table (by decoded content), the manifest and the data dictionary.
//! Refresh with `bash tests/update_example.sh`.

use polars::prelude::*;

use crate::util::{root, salesrelay};

fn read(path: &std::path::Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

#[test]
fn the_committed_example_report_is_not_stale() {
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(&root(), &["run", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = out.path().join("FY2026-Q2");
    let example = root().join("reports/example");
    let stale = "reports/example is stale: run `bash tests/update_example.sh`";
    let names = |dir: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("tables")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&fresh), names(&example), "{stale}");
    for name in names(&fresh) {
        let (a, b) = (read(&fresh.join("tables").join(&name)), read(&example.join("tables").join(&name)));
        assert!(a.equals_missing(&b), "{name} differs: {stale}");
    }
    let mut texts: Vec<String> = vec!["manifest.json".into(), "data_dictionary.md".into(), "report.md".into()];
    let mut svgs: Vec<String> = std::fs::read_dir(fresh.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .map(|n| format!("charts/{n}"))
        .collect();
    svgs.sort();
    texts.extend(svgs);
    for file in &texts {
        let (a, b) = (std::fs::read_to_string(fresh.join(file)).unwrap(), std::fs::read_to_string(example.join(file)).unwrap());
        assert!(a == b, "{file} differs: {stale}");
    }
    // the dictionary documents every column of every table
    let dictionary = std::fs::read_to_string(example.join("data_dictionary.md")).unwrap();
    for name in names(&example) {
        let table = name.trim_end_matches(".parquet");
        assert!(dictionary.contains(&format!("\n## {table}\n")), "{table} in the data dictionary");
        for c in read(&example.join("tables").join(&name)).get_column_names() {
            assert!(dictionary.contains(&format!("| {c} |")), "{table}.{c} in the data dictionary");
        }
    }
}
