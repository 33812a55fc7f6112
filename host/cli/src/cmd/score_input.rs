//! Rows of a scoring input file (CSV with a header, or JSON Lines), read incrementally into the
//! host layer's batches: memory stays bounded by the chunk size whatever the file's size, and
//! every value goes through `scorekit_host::cells` exactly as on every other host.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use scorekit_host::formats::csv::{ColumnMap, reader};
use scorekit_host::formats::json;
use scorekit_host::{BatchBuilder, InputPolicy, Schema};

/// Whether `path` is read as JSON Lines (by extension) rather than CSV.
pub fn is_json_lines(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "jsonl" | "ndjson" | "json")
}

enum Kind {
    Csv { reader: csv::Reader<File>, map: ColumnMap, width: usize, record: csv::StringRecord },
    Lines { lines: std::io::Lines<BufReader<File>>, line: usize },
}

/// An input file being read chunk by chunk.
pub struct RowSource {
    path: PathBuf,
    kind: Kind,
    rows_read: usize,
}

impl RowSource {
    /// Opens `path` for a model of `schema`: a CSV header is matched to the inputs here (a
    /// missing column is an error naming the columns there are, unless `policy` allows it).
    ///
    /// # Errors
    /// Unreadable file, an empty file, a header without the model's inputs.
    pub fn open(path: &Path, schema: &Schema, policy: InputPolicy) -> Result<RowSource> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let kind = if is_json_lines(path) {
            Kind::Lines { lines: BufReader::new(file).lines(), line: 0 }
        } else {
            let mut reader = reader(file);
            let mut header = csv::StringRecord::new();
            let got = reader
                .read_record(&mut header)
                .with_context(|| format!("{}: cannot read the header line", path.display()))?;
            if !got || header.iter().all(|h| h.trim().is_empty()) {
                bail!("{}: the file is empty (no header line)", path.display());
            }
            let names: Vec<&str> = header.iter().collect();
            let map = ColumnMap::new(&names, schema, policy.absent)
                .map_err(anyhow::Error::new)
                .with_context(|| format!("{}", path.display()))?;
            Kind::Csv { reader, map, width: header.len(), record: csv::StringRecord::new() }
        };
        Ok(RowSource { path: path.to_path_buf(), kind, rows_read: 0 })
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// Appends up to `max` rows to `b`; returns how many (0 at the end of the file).
    ///
    /// # Errors
    /// A malformed line or a value the host layer refuses, naming the file and the row.
    pub fn fill(&mut self, b: &mut BatchBuilder<'_>, max: usize) -> Result<usize> {
        let mut n = 0;
        let at = |e: scorekit_host::HostError, path: &Path| {
            anyhow::Error::new(e).context(path.display().to_string())
        };
        while n < max {
            match &mut self.kind {
                Kind::Csv { reader, map, width, record } => {
                    let more = reader.read_record(record).map_err(|e| {
                        anyhow::anyhow!("{}: row {}: {e}", self.path.display(), self.rows_read + 1)
                    })?;
                    if !more {
                        break;
                    }
                    if record.len() != *width {
                        bail!(
                            "{}: row {} has {} fields but the header has {width}",
                            self.path.display(),
                            self.rows_read + 1,
                            record.len()
                        );
                    }
                    map.push(b, record).map_err(|e| at(e, &self.path))?;
                }
                Kind::Lines { lines, line } => {
                    let Some(text) = lines.next() else { break };
                    *line += 1;
                    let text = text.with_context(|| format!("{}: line {line}", self.path.display()))?;
                    let text =
                        if *line == 1 { text.trim_start_matches('\u{feff}').to_string() } else { text };
                    if text.trim().is_empty() {
                        continue;
                    }
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .with_context(|| format!("{}: line {line} is not valid JSON", self.path.display()))?;
                    json::push_row(b, &value).map_err(|e| at(e, &self.path))?;
                }
            }
            n += 1;
            self.rows_read += 1;
        }
        Ok(n)
    }
}
