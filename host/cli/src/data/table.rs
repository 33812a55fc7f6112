use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use scorekit_core::Cell;

/// One cell as read from a file: text from CSV, typed values from JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum RawCell {
    /// Missing (empty CSV field, JSON null or absent key).
    Null,
    /// A JSON number.
    Number(f64),
    /// Text (every CSV field; JSON strings and booleans).
    Text(String),
}

impl RawCell {
    /// Borrowed form for `scorekit_core::encode_row`.
    pub fn as_cell(&self) -> Cell<'_> {
        match self {
            RawCell::Null => Cell::Null,
            RawCell::Number(x) => Cell::Number(*x),
            RawCell::Text(t) if t.is_empty() => Cell::Null,
            RawCell::Text(t) => Cell::Text(t),
        }
    }

    /// The cell as a host-layer value (the one conversion every host uses).
    pub fn as_value(&self) -> scorekit_host::Value<'_> {
        match self {
            RawCell::Null => scorekit_host::Value::Null,
            RawCell::Number(x) => scorekit_host::Value::Float(*x),
            RawCell::Text(t) => scorekit_host::Value::Text(t),
        }
    }
}

impl scorekit_core::TableView for Table {
    fn names(&self) -> &[String] {
        &self.header
    }

    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        self.rows[row][col].as_cell()
    }
}

/// A file's rows, all with the header's width.
#[derive(Debug)]
pub struct Table {
    /// Where it came from, for messages.
    pub path: PathBuf,
    /// Column names.
    pub header: Vec<String>,
    /// Data rows (header excluded).
    pub rows: Vec<Vec<RawCell>>,
}

impl Table {
    /// Reads `path` as CSV (`.csv`, default) or JSON Lines (`.jsonl`, `.ndjson`, `.json`).
    ///
    /// # Errors
    /// Unreadable file, an empty file, ragged rows, malformed JSON: each naming file and line.
    pub fn read(path: &Path) -> Result<Table> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let table = match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Self::read_jsonl(path)?,
            _ => Self::read_csv(path)?,
        };
        if table.rows.is_empty() {
            bail!("{}: the file has no data rows", path.display());
        }
        Ok(table)
    }

    fn read_csv(path: &Path) -> Result<Table> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let header: Vec<String> = reader
            .headers()
            .with_context(|| format!("{}: cannot read the header line", path.display()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if header.is_empty() || header.iter().all(|h| h.is_empty()) {
            bail!("{}: the file is empty (no header line)", path.display());
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => anyhow::anyhow!(
                    "{}: row {} has {len} fields but the header has {expected_len}",
                    path.display(),
                    i + 1
                ),
                _ => anyhow::anyhow!("{}: row {}: {e}", path.display(), i + 1),
            })?;
            rows.push(record.iter().map(|f| RawCell::Text(f.to_string())).collect());
        }
        Ok(Table { path: path.to_path_buf(), header, rows })
    }

    fn read_jsonl(path: &Path) -> Result<Table> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut header: Vec<String> = Vec::new();
        let mut objects = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}: line {} is not valid JSON", path.display(), i + 1))?;
            let serde_json::Value::Object(map) = value else {
                bail!("{}: line {} must be a JSON object of column: value", path.display(), i + 1);
            };
            for k in map.keys() {
                if !header.contains(k) {
                    header.push(k.clone());
                }
            }
            objects.push((i + 1, map));
        }
        let mut rows = Vec::with_capacity(objects.len());
        for (line, map) in objects {
            let mut row = Vec::with_capacity(header.len());
            for col in &header {
                row.push(match map.get(col) {
                    None | Some(serde_json::Value::Null) => RawCell::Null,
                    Some(serde_json::Value::Number(n)) => RawCell::Number(n.as_f64().unwrap_or(f64::NAN)),
                    Some(serde_json::Value::String(s)) => RawCell::Text(s.clone()),
                    Some(serde_json::Value::Bool(b)) => RawCell::Text(b.to_string()),
                    Some(other) => bail!(
                        "{}: line {line}, column '{col}': expected a number, string or null, got {other}",
                        path.display()
                    ),
                });
            }
            rows.push(row);
        }
        Ok(Table { path: path.to_path_buf(), header, rows })
    }

    /// Index of the column called `name`.
    ///
    /// # Errors
    /// When there is no such column: the message lists the columns there are.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).with_context(|| {
            format!("{}: no column named '{name}' (columns: {})", self.path.display(), self.header.join(", "))
        })
    }

    /// The number in row `row` (0-based data row), column `col`.
    ///
    /// # Errors
    /// Missing or not a number, naming file, row (1-based) and column.
    pub fn number_at(&self, row: usize, col: usize) -> Result<f64> {
        let name = &self.header[col];
        let value = match &self.rows[row][col] {
            RawCell::Number(x) => *x,
            RawCell::Text(t) => t.trim().parse::<f64>().map_err(|_| {
                anyhow::anyhow!(
                    "{}: row {}, column '{name}': expected a number, got '{}'",
                    self.path.display(),
                    row + 1,
                    t.chars().take(64).collect::<String>()
                )
            })?,
            RawCell::Null => {
                bail!("{}: row {}, column '{name}': value is missing", self.path.display(), row + 1)
            }
        };
        if !value.is_finite() {
            bail!(
                "{}: row {}, column '{name}': value must be finite, got {value}",
                self.path.display(),
                row + 1
            );
        }
        Ok(value)
    }

    /// The timestamps of column `col` as Unix seconds (the host layer's one parser).
    ///
    /// # Errors
    /// A value that is not a timestamp, naming file, column and row (1-based).
    pub fn timestamps(&self, col: usize) -> Result<Vec<i64>> {
        let values: Vec<scorekit_host::Value<'_>> = self.rows.iter().map(|r| r[col].as_value()).collect();
        scorekit_host::time::timestamps(&values)
            .map_err(anyhow::Error::new)
            .with_context(|| format!("{}: column '{}'", self.path.display(), self.header[col]))
    }

    /// Whether every present value of column `col` reads as a number.
    pub fn is_numeric(&self, col: usize) -> bool {
        self.rows.iter().all(|row| match &row[col] {
            RawCell::Null | RawCell::Number(_) => true,
            RawCell::Text(t) => t.trim().is_empty() || t.trim().parse::<f64>().is_ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_csv_and_names_bad_cells() {
        let (_d, p) = write("a.csv", "x,y\n1,a\n2,\nzz,c\n");
        let t = Table::read(&p).unwrap();
        assert_eq!(t.rows.len(), 3);
        assert!(!t.is_numeric(0));
        let err =
            (0..t.rows.len()).map(|r| t.number_at(r, 0)).collect::<Result<Vec<_>>>().unwrap_err().to_string();
        assert!(err.contains("row 3, column 'x': expected a number, got 'zz'"), "{err}");
        let err = t.column("nope").unwrap_err().to_string();
        assert!(err.contains("no column named 'nope' (columns: x, y)"), "{err}");
    }

    #[test]
    fn empty_and_ragged_files_are_errors() {
        let (_d, p) = write("e.csv", "");
        assert!(Table::read(&p).unwrap_err().to_string().contains("empty"));
        let (_d, p) = write("h.csv", "a,b\n");
        assert!(Table::read(&p).unwrap_err().to_string().contains("no data rows"));
        let (_d, p) = write("r.csv", "a,b\n1,2\n3\n");
        let err = Table::read(&p).unwrap_err().to_string();
        assert!(err.contains("row 2 has 1 fields but the header has 2"), "{err}");
    }

    #[test]
    fn timestamps_parse_or_name_the_bad_cell() {
        let (_d, p) = write("t.csv", "ts,v\n1970-01-01 00:01:00,1\nlater,2\n");
        let t = Table::read(&p).unwrap();
        let err = t.timestamps(0).unwrap_err();
        assert!(format!("{err:#}").contains("column 'ts': row 2: 'later' is not a timestamp"), "{err:#}");
        let (_d, p) = write("u.csv", "ts\n1970-01-01T00:00:10Z\n60\n");
        assert_eq!(Table::read(&p).unwrap().timestamps(0).unwrap(), vec![10, 60]);
    }

    #[test]
    fn reads_jsonl_with_types() {
        let (_d, p) = write("a.jsonl", "{\"x\": 1.5, \"s\": \"KS\"}\n{\"x\": null}\n");
        let t = Table::read(&p).unwrap();
        let (x, s) = (t.column("x").unwrap(), t.column("s").unwrap());
        assert_eq!(t.rows[0][x], RawCell::Number(1.5));
        assert_eq!(t.rows[0][s], RawCell::Text("KS".into()));
        assert_eq!(t.rows[1][s], RawCell::Null);
        let (_d, p) = write("b.jsonl", "{\"x\": 1}\nnot json\n");
        assert!(Table::read(&p).unwrap_err().to_string().contains("line 2 is not valid JSON"));
    }
}
