//! One definition per fact: the output-table registry, the typed needs and
//! the node table are consistent with the contract and with each other, and
//! everything that lists tables or nodes reads them.

use std::collections::BTreeSet;

use salesrelay::contract::{Need, TABLES};
use salesrelay::metrics::tree::{drivers, factors_of, label, NodeKind, NODES};
use salesrelay::metrics::OUTPUT_TABLES;

use polars::prelude::*;

use crate::util::{root, rows, salesrelay, strs, tiny, Dir};

#[test]
fn every_need_names_a_contract_table_or_column() {
    for need in Need::ALL {
        let key = need.key();
        let (table, column) = key.split_once('.').map_or((key, None), |(t, c)| (t, Some(c)));
        let spec = TABLES.iter().find(|t| t.name == table).unwrap_or_else(|| panic!("{key}: no table {table}"));
        match column {
            // the facts that are not columns: deals not won (a mapping declares it
    // missing) and expected close dates (from either of two columns)
            Some("not_won") => assert_eq!(need, Need::OpportunitiesNotWon),
            Some("expected_close") => assert_eq!(need, Need::ExpectedCloseDates),
            Some(c) => assert!(spec.column(c).is_some_and(|c| !c.required), "{key}: not an optional contract column"),
            None => assert!(!spec.required, "{key}: a required table is not a need"),
        }
    }
    let keys: BTreeSet<&str> = Need::ALL.iter().map(|n| n.key()).collect();
    assert_eq!(keys.len(), Need::ALL.len(), "two needs share a key");
}

#[test]
fn every_output_table_is_registered_once_with_needs_on_its_own_columns() {
    let names: Vec<&str> = OUTPUT_TABLES.iter().map(|t| t.doc.name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    assert_eq!(names.len(), 26);
    for t in OUTPUT_TABLES {
        for (columns, need) in t.column_needs {
            for c in *columns {
                assert!(t.doc.columns.iter().any(|(name, _)| name == c), "{}.{c} ({need:?}) is not a documented column", t.doc.name);
            }
        }
        // a need already on the table makes a column need redundant
        for (_, need) in t.column_needs {
            assert!(!t.needs.contains(need), "{}: column need {need:?} repeats a table need", t.doc.name);
        }
    }
}

#[test]
fn drivers_and_labels_come_from_the_node_table() {
    assert_eq!(factors_of("revenue_is"), ["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is"]);
    assert_eq!(factors_of("revenue_fs"), ["opps_fs", "win_yield_fs", "deal_size_fs"]);
    assert_eq!(factors_of("leads"), ["leads_inbound", "leads_outbound"]);
    let d = drivers();
    assert_eq!(d.len(), 9);
    assert_eq!(d[5], ("deal_size_is", "is"));
    assert_eq!(d[6], ("opps_fs", "fs"));
    let labels: BTreeSet<&str> = NODES.iter().map(|n| n.label).collect();
    assert_eq!(labels.len(), NODES.len(), "two nodes share a label");
    assert_eq!(label("acceptance_rate"), "FS acceptance rate");
    assert_eq!(label("not_a_node"), "not_a_node");
    assert!(NODES.iter().all(|n| n.parent.is_some() || n.kind == NodeKind::Identity));
}

#[test]
fn coverage_and_dictionary_list_every_registered_table() {
    // without room views, the tables that read them are listed as not available
    let input = Dir::copy_of(&tiny());
    input.remove("dsr_views.csv");
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(&root(), &["run", "--input", input.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = crate::util::report_folder(out.path());
    let dictionary = std::fs::read_to_string(folder.join("data_dictionary.md")).unwrap();
    let file = std::fs::File::open(folder.join("tables/data_coverage.parquet")).unwrap();
    let coverage = ParquetReader::new(file).finish().unwrap();
    let outputs = rows(&coverage, col("kind").eq(lit("output")));
    let (names, status) = (strs(&outputs, "name"), strs(&outputs, "status"));
    for t in OUTPUT_TABLES {
        let i = names.iter().position(|n| n.as_deref() == Some(t.doc.name)).unwrap_or_else(|| panic!("{} not in data_coverage", t.doc.name));
        let produced = folder.join(format!("tables/{}.parquet", t.doc.name)).exists();
        assert_eq!(status[i].as_deref(), Some(if produced { "computed" } else { "not available" }), "{}", t.doc.name);
        // the tiny fixture has no stage history, room views or coordinates
        if produced {
            assert!(dictionary.contains(&format!("\n## {}\n", t.doc.name)), "{} missing from the data dictionary", t.doc.name);
        }
    }
    let missing: Vec<&str> = names.iter().zip(&status).filter(|(_, s)| s.as_deref() == Some("not available")).map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(missing, ["dsr_engagement", "engagement_effect", "stalled_deals", "plan_vs_actual", "required_volumes"]);
    for n in NODES {
        assert!(dictionary.contains(&format!("| {} | {} |", n.name, n.parent.unwrap_or(""))), "node {} missing", n.name);
    }
}

#[test]
fn a_misspelt_unavailable_key_in_a_mapping_is_an_error() {
    let dir = Dir::copy_of(&tiny());
    dir.write(
        "my.toml",
        "description = \"test\"\n[unavailable]\n\"opportunities.not_wun\" = \"typo\"\n",
    );
    let o = salesrelay(&root(), &["validate", "--input", dir.path().to_str().unwrap(), "--mapping", dir.file("my.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unavailable.opportunities.not_wun: not a contract table"), "{err}");
}

/// The modules `src/<file>` imports through `crate::<module>`, by top-level module.
fn module_imports() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let pattern = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root().join("src")).unwrap();
            let first = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
            if matches!(first.as_str(), "lib" | "main") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let uses = out.entry(first.clone()).or_default();
            for c in pattern.captures_iter(&text) {
                // say! and tell! are macros exported at the crate root
                if !matches!(&c[1], "say" | "tell") && c[1] != first {
                    uses.insert(c[1].to_string());
                }
            }
        }
    }
    out
}

#[test]
fn no_import_circles_between_modules() {
    let imports = module_imports();
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for next in imports.get(&m).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let circles: Vec<String> = imports
        .iter()
        .flat_map(|(a, uses)| uses.iter().filter(|b| reaches(b, a)).map(move |b| format!("{a} -> {b}")))
        .collect();
    assert!(imports.contains_key("metrics") && imports["commands"].contains("metrics"));
    assert!(circles.is_empty(), "{circles:?}");
}

/// COMPUTE_ORDER lists every output table once, each with the shared tables
/// its plan reads: building a table's plan on a fresh model (the sample,
/// which supports every table) builds exactly the shared tables listed, so
/// none is let go before a reader (it would be computed twice) or held past
/// its last one; a listed table is an output table computed before its reader.
/// Each also lists the event frames it asks for when the tables are computed
/// in that order: each frame is then built once and let go after its last
/// reader. After each table the freed memory is handed back, once, through
/// the collection the binary sets (`progress::on_hand_back`; mimalloc's
/// `mi_collect` there), counted here on this thread.
#[test]
fn the_compute_order_lists_each_table_once_with_the_shared_tables_it_reads() {
    use salesrelay::metrics::{output_table, Model, COMPUTE_ORDER};
    let mut ordered: Vec<&str> = COMPUTE_ORDER.iter().map(|step| step.table).collect();
    ordered.sort_unstable();
    let mut all: Vec<&str> = OUTPUT_TABLES.iter().map(|t| t.doc.name).collect();
    all.sort_unstable();
    assert_eq!(ordered, all);
    let dir = root().join("sample_data");
    let v = crate::util::load(&dir, false);
    let (config, _) = salesrelay::config::Config::resolve(None, &dir, &Default::default()).unwrap();
    let industries = salesrelay::industries::Industries::load(&dir, &config).unwrap();
    let span = salesrelay::prepare::data_span(&v, &config).unwrap().unwrap();
    for (k, step) in COMPUTE_ORDER.iter().enumerate() {
        let (name, reads) = (step.table, step.tables);
        for shared in reads {
            assert!(output_table(shared).is_some(), "{name} reads {shared}, which is no output table");
            assert!(COMPUTE_ORDER[..k].iter().any(|s| s.table == *shared), "{name} reads {shared}, which is computed after it");
        }
        let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last_complete.unwrap(), &v.unavailable);
        let t = output_table(name).unwrap();
        assert!(m.supports(t), "the sample supports {name}");
        assert!((t.build)(&m).unwrap().is_some(), "{name} has a plan");
        let mut built = m.built_names();
        built.sort_unstable();
        let mut listed = reads.to_vec();
        listed.sort_unstable();
        assert_eq!(built, listed, "the shared tables {name}'s plan reads");
    }
    // computed in that order, every shared table is let go after its last
    // reader, and each table asks for the event frames it lists
    thread_local! {
        static HANDED_BACK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    salesrelay::progress::on_hand_back(|| HANDED_BACK.with(|n| n.set(n.get() + 1)));
    let handed_back = || HANDED_BACK.with(std::cell::Cell::get);
    let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last_complete.unwrap(), &v.unavailable);
    let (mut read, mut hand_backs, start) = (Vec::new(), Vec::new(), handed_back());
    salesrelay::metrics::compute_each(&m, |_, doc, _| {
        read.push((doc.name.clone(), m.facts.take_read()));
        hand_backs.push(handed_back() - start);
        Ok(())
    })
    .unwrap();
    assert_eq!(hand_backs, (1..=COMPUTE_ORDER.len()).collect::<Vec<_>>(), "memory handed back once after each table");
    let listed: Vec<(String, Vec<&str>)> = COMPUTE_ORDER
        .iter()
        .map(|step| {
            let mut facts = step.facts.to_vec();
            facts.sort_unstable();
            (step.table.to_string(), facts)
        })
        .collect();
    assert_eq!(read, listed, "the event frames each table asks for");
    assert!(m.built_names().is_empty(), "still held: {:?}", m.built_names());
    assert!(m.facts.frames.names().is_empty(), "event frames still held: {:?}", m.facts.frames.names());
    let built_again: Vec<_> = m.facts.builds().into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(built_again.is_empty(), "event frames built more than once: {built_again:?}");
    assert!(!m.facts.builds().is_empty());
}

/// Tables computed two at a time (`compute_each_on`, as a run does where
/// memory allows) are the tables computed one at a time, every one of
/// them; each event frame is still built once, and every shared table and
/// event frame is let go by the end. The sample supports every table.
#[test]
fn tables_computed_side_by_side_are_the_tables_computed_in_turn() {
    use salesrelay::metrics::{compute_each_on, Model, COMPUTE_ORDER};
    let dir = root().join("sample_data");
    let v = crate::util::load(&dir, false);
    let (config, _) = salesrelay::config::Config::resolve(None, &dir, &Default::default()).unwrap();
    let industries = salesrelay::industries::Industries::load(&dir, &config).unwrap();
    let span = salesrelay::prepare::data_span(&v, &config).unwrap().unwrap();
    let computed = |workers: usize| {
        let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last_complete.unwrap(), &v.unavailable);
        let mut tables = std::collections::BTreeMap::new();
        compute_each_on(&m, workers, |place, doc, df| {
            assert!(tables.insert(place, (doc.name.clone(), df)).is_none(), "{} handed over twice", doc.name);
            Ok(())
        })
        .unwrap();
        assert!(m.built_names().is_empty(), "still held: {:?}", m.built_names());
        assert!(m.facts.frames.names().is_empty(), "event frames still held: {:?}", m.facts.frames.names());
        let built_again: Vec<_> = m.facts.builds().into_iter().filter(|(_, n)| *n > 1).collect();
        assert!(built_again.is_empty(), "event frames built more than once: {built_again:?}");
        tables
    };
    let (one, two) = (computed(1), computed(2));
    assert_eq!(one.len(), COMPUTE_ORDER.len());
    assert_eq!(one.keys().collect::<Vec<_>>(), two.keys().collect::<Vec<_>>());
    for ((name, a), (_, b)) in one.values().zip(two.values()) {
        assert!(a.height() > 0, "{name} has rows");
        assert!(a.equals_missing(b), "{name} differs computed two at a time");
    }
}

/// A run computes two tables at a time on two cores with room for twice
/// the validated tables and 1 GiB besides, below 512 MiB of validated
/// tables; otherwise one (worked by hand: 100 MiB needs 1.2 GiB of room).
#[test]
fn tables_go_two_at_a_time_only_for_inputs_below_half_a_gib_with_room() {
    use salesrelay::metrics::{workers_for, ONE_AT_A_TIME_FROM};
    let (mib, gib) = (1u64 << 20, 1u64 << 30);
    assert_eq!(ONE_AT_A_TIME_FROM, 512 * mib);
    // scale 100's validated tables (110 MiB) on a 23 GiB machine: two
    assert_eq!(workers_for(2, 110 * mib, Some(23 * gib)), 2);
    // scale 1000's (1.1 GiB): one, whatever the room
    assert_eq!(workers_for(2, 1126 * mib, Some(23 * gib)), 1);
    assert_eq!(workers_for(2, 512 * mib, Some(100 * gib)), 1);
    assert_eq!(workers_for(2, 511 * mib, Some(100 * gib)), 2);
    // 100 MiB needs 2 x 100 MiB + 1 GiB = 1224 MiB of room
    assert_eq!(workers_for(2, 100 * mib, Some(1224 * mib)), 2);
    assert_eq!(workers_for(2, 100 * mib, Some(1223 * mib)), 1);
    // one core: one
    assert_eq!(workers_for(1, mib, Some(100 * gib)), 1);
    // the room unknown: a small input two at a time, from 256 MiB one
    assert_eq!(workers_for(2, 255 * mib, None), 2);
    assert_eq!(workers_for(2, 256 * mib, None), 1);
}
