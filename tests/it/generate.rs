//! The generator: deterministic, clean, and the committed sample_data is its output.

use std::collections::BTreeMap;
use std::path::Path;

use salesrelay::generate::generate;

use crate::util::{findings, load, root};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["", "reference"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                out.insert(format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(a.path(), 1, 7).unwrap();
    generate(b.path(), 1, 7).unwrap();
    generate(c.path(), 1, 8).unwrap();
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa.len(), 12, "eight history tables, targets, two reference tables, salesrelay.toml");
    assert!(fa == fb, "same seed must give the same bytes");
    assert_ne!(fa["/leads.csv"], fc["/leads.csv"]);
}

#[test]
fn committed_sample_data_is_the_generators_output() {
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path(), 1, 42).unwrap();
    let committed = files(&root().join("sample_data"));
    let made = files(fresh.path());
    for (name, bytes) in &made {
        assert!(
            committed.get(name) == Some(bytes),
            "sample_data{name} is stale: run `cargo run --release -- generate --out sample_data --scale 1 --seed 42`"
        );
    }
}

#[test]
fn sample_data_is_clean_and_has_the_expected_shape() {
    let v = load(&root().join("sample_data"), false);
    assert_eq!(findings(&v), vec![]);
    let leads = v.tables["leads"].height();
    let activities = v.tables["activities"].height();
    assert!((2_000..6_000).contains(&leads), "a few thousand leads, got {leads}");
    assert!((12_000..40_000).contains(&activities), "about 20,000 activities, got {activities}");
    for t in ["accounts", "reps", "opportunities", "handoffs", "stage_history", "dsr_views"] {
        assert!(v.tables[t].height() > 0, "{t} is empty");
    }
    let span = salesrelay::prepare::data_span(&v, &salesrelay::config::Config::resolve(None, &root().join("sample_data"), &Default::default()).unwrap().0)
        .unwrap()
        .unwrap();
    assert!(span.last.0 - span.first.0 + 1 >= 8, "eight or more quarters");
}
