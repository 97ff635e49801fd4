//! One file per command that reads input: `run`, `validate` and `query`
//! (`generate` lives in its own module, `schema` and `metrics` in
//! `describe`). Each returns what it has to say; the binary prints it.

pub mod query;
pub mod run;
pub mod validate;
