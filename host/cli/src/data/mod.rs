//! Reading tabular input files (CSV, JSON Lines) into a [`Table`] of raw cells, with errors that
//! name the file, the row and the column.

mod table;
pub mod time;

pub use table::Table;
