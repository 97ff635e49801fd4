//! `query`: one SQL file over the validated inputs and every output table.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::compute_tables;
use crate::output::{write_parquet, Doc};
use crate::prepare::{prepare, InputOptions, Prepared};
use crate::progress::Progress;

/// Every table by name for SQL: the validated inputs (without the internal
/// row numbers), the outputs (`run` gives scans of the files it wrote), and
/// `review`.
pub fn sql_tables(p: &Prepared, outputs: &BTreeMap<String, LazyFrame>) -> Result<BTreeMap<String, LazyFrame>> {
    let mut tables = BTreeMap::new();
    for (name, df) in &p.validated.tables {
        // ids as text again, only where a query reads the table
        tables.insert(name.to_string(), p.validated.ids.decode_table(name, df.drop(crate::contract::ROW).unwrap_or_else(|_| df.clone())));
    }
    tables.extend(outputs.iter().map(|(name, lf)| (name.clone(), lf.clone())));
    // the end of the data as every table reads it: the latest event or room view
    let end = p.model().data_end()?;
    tables.insert("review".into(), crate::sql::review_table(&p.label, p.compare_to.as_deref(), Some(end))?.lazy());
    Ok(tables)
}

/// `query`: runs one SQL file over the validated inputs, every output table
/// of the review and `review`; writes the result to `out` if given, and
/// returns it (the binary prints it when there is no `out`).
pub fn query_command(file: &Path, opts: &InputOptions, period: Option<&str>, out: Option<&Path>, quiet: bool) -> Result<DataFrame> {
    let sql = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let progress = Progress::new(quiet);
    let p = prepare(opts, false, None, period, &progress)?;
    let stage = progress.stage("compute");
    let outputs = compute_tables(&p.model())?;
    stage.done(&format!("{} tables", outputs.len()));
    let outputs = outputs.into_iter().map(|(doc, df)| (doc.name, df.lazy())).collect();
    let tables = sql_tables(&p, &outputs)?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let query = crate::sql::Query { path: file.to_path_buf(), doc: crate::sql::parse_header(&sql, &stem), sql };
    let mut ctx = crate::sql::context(&tables);
    let mut result = crate::sql::run_query(&mut ctx, &query)
        .map_err(|e| Error::Input(format!("{e} (tables: {})", tables.keys().cloned().collect::<Vec<_>>().join(", "))))?;
    if let Some(path) = out {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            CsvWriter::new(f).finish(&mut result)?;
        } else {
            write_parquet(&mut result, path, &Doc { name: query.doc.name, description: query.doc.description, columns: query.doc.columns })?;
        }
    }
    Ok(result)
}
