//! Rows in CSV, for every host: SageMaker-style bodies (no header, inputs in schema order) and
//! files with a header (columns matched to inputs by name). Parsed with the `csv` crate (RFC
//! 4180: quoted fields may hold commas, quotes and newlines); a leading UTF-8 byte-order mark is
//! ignored; blank lines are skipped; every field is a [`Value::Text`] (an empty one is null).
//! Data rows are numbered from 1 (the header is not a row) in messages.

use scorekit_core::Schema;

use crate::cells::{AbsentInputs, BatchBuilder, Value, input_names};
use crate::error::{HostError, HostResult};

/// Whether a CSV body starts with a header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// The first record is a header if it names the model's first input and none of its fields
    /// is a number (what SageMaker clients never send, and CSV exports always do).
    Auto,
    /// The first record is a header.
    Present,
    /// Every record is data, in schema order.
    Absent,
}

/// Where each model input is in a table with a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// Per schema input, its column (None: absent, allowed by the policy).
    positions: Vec<Option<usize>>,
}

impl ColumnMap {
    /// Matches `header` to `schema`'s inputs by name (trimmed; a leading byte-order mark is
    /// ignored). Columns that are not inputs are ignored.
    ///
    /// # Errors
    /// [`crate::Code::BadInput`] for an input with no column under [`AbsentInputs::Error`], naming
    /// the columns there are.
    pub fn new<S: AsRef<str>>(header: &[S], schema: &Schema, absent: AbsentInputs) -> HostResult<Self> {
        let names: Vec<&str> = header.iter().enumerate().map(|(i, h)| clean_header(h.as_ref(), i)).collect();
        let mut positions = Vec::with_capacity(schema.inputs.len());
        for f in &schema.inputs {
            let at = names.iter().position(|n| *n == f.name);
            if at.is_none() && absent == AbsentInputs::Error {
                return Err(HostError::bad_input(format!(
                    "no column '{}' (model '{}' reads: {}; the columns are: {})",
                    f.name,
                    schema.name,
                    input_names(schema),
                    names.join(", ")
                )));
            }
            positions.push(at);
        }
        Ok(ColumnMap { positions })
    }

    /// The column of each input.
    pub fn positions(&self) -> &[Option<usize>] {
        &self.positions
    }

    /// Appends the data record `fields` (with `n_fields` columns, as in the header).
    ///
    /// # Errors
    /// As [`BatchBuilder::push_named`].
    pub fn push(&self, b: &mut BatchBuilder<'_>, fields: &csv::StringRecord) -> HostResult<()> {
        let mut values = Vec::with_capacity(self.positions.len());
        for p in &self.positions {
            values.push(match p {
                Some(c) => Value::Text(fields.get(*c).unwrap_or("")),
                None => Value::Null,
            });
        }
        b.push_positional(&values)
    }
}

fn clean_header(h: &str, i: usize) -> &str {
    let h = if i == 0 { h.strip_prefix('\u{feff}').unwrap_or(h) } else { h };
    h.trim()
}

/// A CSV reader over `body` with the settings every host uses.
pub fn reader<R: std::io::Read>(body: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body)
}

fn looks_like_header(first: &[&str], schema: &Schema) -> bool {
    let Some(first_input) = schema.inputs.first() else { return false };
    let names: Vec<&str> = first.iter().enumerate().map(|(i, f)| clean_header(f, i)).collect();
    names.contains(&first_input.name.as_str()) && !names.iter().any(|f| f.parse::<f64>().is_ok())
}

thread_local! {
    /// Building a CSV reader compiles its state machine (hundreds of thousands of instructions):
    /// one per thread, reset for each body, keeps a one-row request cheap.
    static CORE: std::cell::RefCell<Option<csv_core::Reader>> = const { std::cell::RefCell::new(None) };
}

/// The records of a CSV body, read with the thread's reusable `csv_core` reader.
struct BodyRecords<'a> {
    input: &'a [u8],
    line: usize,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// The last record's bytes, checked for UTF-8 once: its fields are slices of it (checking
    /// each field again cost more than copying the record).
    text: String,
    done: bool,
}

impl<'a> BodyRecords<'a> {
    fn new(input: &'a [u8]) -> Self {
        BodyRecords {
            input,
            line: 1,
            out: vec![0; input.len().clamp(64, 8 << 10)],
            ends: vec![0; 64],
            text: String::new(),
            done: false,
        }
    }

    /// Reads the next record into `fields`; false at the end.
    fn next(
        &mut self,
        rdr: &mut csv_core::Reader,
        fields: &mut Vec<std::ops::Range<usize>>,
    ) -> HostResult<bool> {
        use csv_core::ReadRecordResult::*;
        fields.clear();
        if self.done {
            return Ok(false);
        }
        let (mut nout, mut nend) = (0, 0);
        loop {
            let (res, nin, o, e) = rdr.read_record(self.input, &mut self.out[nout..], &mut self.ends[nend..]);
            self.line += self.input[..nin].iter().filter(|&&b| b == b'\n').count();
            self.input = &self.input[nin..];
            nout += o;
            nend += e;
            match res {
                InputEmpty => continue,
                OutputFull => {
                    let n = self.out.len().max(64);
                    self.out.resize(n * 2, 0);
                }
                OutputEndsFull => {
                    let n = self.ends.len().max(16);
                    self.ends.resize(n * 2, 0);
                }
                Record => break,
                End => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
        let mut from = 0;
        for &end in &self.ends[..nend] {
            fields.push(from..end);
            from = end;
        }
        let Ok(text) = std::str::from_utf8(&self.out[..nout]) else {
            return Err(HostError::bad_input(format!(
                "malformed CSV at line {}: not UTF-8 text",
                self.line.saturating_sub(1).max(1)
            )));
        };
        self.text.clear();
        self.text.push_str(text);
        Ok(true)
    }

    fn field(&self, r: &std::ops::Range<usize>) -> &str {
        // Field bounds are character bounds (csv_core splits at ASCII bytes).
        self.text.get(r.clone()).unwrap_or("")
    }
}

/// Appends every data row of a CSV body.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the line or row: non-UTF-8 text, a wrong number of fields, a
/// header without a model input, no rows at all.
pub fn push_body(b: &mut BatchBuilder<'_>, body: &[u8], header: Header) -> HostResult<()> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let mut core =
        CORE.with(|c| c.borrow_mut().take()).unwrap_or_else(|| csv_core::ReaderBuilder::new().build());
    core.reset();
    let result = push_records(b, body, header, &mut core);
    CORE.with(|c| *c.borrow_mut() = Some(core));
    result
}

fn push_records(
    b: &mut BatchBuilder<'_>,
    body: &[u8],
    header: Header,
    core: &mut csv_core::Reader,
) -> HostResult<()> {
    let mut records = BodyRecords::new(body);
    let mut fields = Vec::new();
    let mut map: Option<ColumnMap> = None;
    let mut first = true;
    let schema = b.schema();
    while records.next(core, &mut fields)? {
        if fields.len() == 1 && records.field(&fields[0]).trim().is_empty() && schema.inputs.len() != 1 {
            continue;
        }
        if first {
            first = false;
            let names: Vec<&str> = fields.iter().map(|f| records.field(f)).collect();
            let is_header = match header {
                Header::Present => true,
                Header::Absent => false,
                Header::Auto => looks_like_header(&names, schema),
            };
            if is_header {
                map = Some(ColumnMap::new(&names, schema, b.policy().absent)?);
                continue;
            }
        }
        let values: Vec<Value<'_>> = match &map {
            Some(m) => m
                .positions
                .iter()
                .map(|p| match p {
                    Some(c) => Value::Text(fields.get(*c).map_or("", |f| records.field(f))),
                    None => Value::Null,
                })
                .collect(),
            None => fields.iter().map(|f| Value::Text(records.field(f))).collect(),
        };
        b.push_positional(&values)?;
    }
    if b.is_empty() {
        return Err(HostError::bad_input("the CSV body holds no rows"));
    }
    Ok(())
}

/// Formats an f64 the shortest way that reads back to the same bits; `null` for non-finite
/// values (never produced by scoring, never trusted either) in JSON, empty in CSV.
pub fn fmt_f64(out: &mut String, x: f64, null: &str) {
    use std::fmt::Write;
    if x.is_finite() {
        let _ = write!(out, "{x}");
    } else {
        out.push_str(null);
    }
}

/// Writes one row as a CSV line (`\n`-terminated), the way Aurora MySQL sends a row to a
/// SageMaker endpoint and the built-in XGBoost reads it: no header, inputs in schema order,
/// numbers in their shortest form that reads back to the same bits, a missing value as an empty
/// field, text quoted only where CSV needs it (a comma, a quote, a line break).
///
/// # Errors
/// Only if the CSV writer fails on memory (not expected).
pub fn write_row(out: &mut Vec<u8>, values: &[super::rows::WireValue<'_>]) -> HostResult<()> {
    use super::rows::WireValue;
    use std::borrow::Cow;
    let fail = |e: csv::Error| HostError::new(crate::Code::Unavailable, format!("cannot write CSV: {e}"));
    let fields: Vec<Cow<'_, str>> = values
        .iter()
        .map(|v| match v {
            WireValue::Missing => Cow::Borrowed(""),
            WireValue::Number(x) => {
                let mut s = String::new();
                fmt_f64(&mut s, *x, "");
                Cow::Owned(s)
            }
            WireValue::Text(t) => Cow::Borrowed(*t),
        })
        .collect();
    // `write_record` quotes a lone empty field (`""`), so a one-input row with a missing value is
    // not a blank line, which readers skip.
    let mut w =
        csv::WriterBuilder::new().has_headers(false).terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    w.write_record(fields.iter().map(|f| f.as_bytes())).map_err(fail)?;
    w.flush().map_err(|e| HostError::new(crate::Code::Unavailable, format!("cannot write CSV: {e}")))?;
    Ok(())
}

/// Writes `values` as one line of comma-separated numbers without a line break: what the
/// SageMaker XGBoost container answers a `text/csv` request with, whatever its number of rows.
pub fn write_joined(values: &[f64]) -> String {
    let mut out = String::with_capacity(values.len() * 20);
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        fmt_f64(&mut out, v, "");
    }
    out
}

/// Reads the numbers of a CSV answer: one line per row (`width` values each, comma-separated),
/// or — for one value per row — the XGBoost container's one comma-joined line. An empty field
/// is not a number.
///
/// # Errors
/// [`crate::Code::ModuleFailed`] naming what is not a number, or a count other than
/// `n_rows × width`.
pub fn parse_numbers(body: &[u8], n_rows: usize, width: usize) -> HostResult<Vec<f64>> {
    let text =
        std::str::from_utf8(body).map_err(|_| bad_answer("the CSV answer is not UTF-8 text".into()))?;
    let mut out = Vec::with_capacity(n_rows * width);
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if width > 1 && fields.len() != width {
            return Err(bad_answer(format!(
                "line {} of the CSV answer has {} values, expected {width}",
                line_no + 1,
                fields.len()
            )));
        }
        for f in fields {
            let f = f.trim();
            out.push(f.parse::<f64>().map_err(|_| {
                bad_answer(format!(
                    "line {} of the CSV answer holds '{}', not a number",
                    line_no + 1,
                    f.chars().take(40).collect::<String>()
                ))
            })?);
        }
    }
    if out.len() != n_rows * width {
        return Err(bad_answer(format!(
            "the CSV answer holds {} values for {n_rows} rows (expected {})",
            out.len(),
            n_rows * width
        )));
    }
    Ok(out)
}

fn bad_answer(message: String) -> HostError {
    HostError::new(crate::Code::ModuleFailed, message)
}

/// Whether a `text/csv` answer of a model of `family` with `width` values per row is one
/// comma-joined line, as the XGBoost container answers (a GBT model with one value per row),
/// rather than one line per row.
pub fn answer_is_joined(family: scorekit_core::Family, width: usize) -> bool {
    family == scorekit_core::Family::Gbt && width == 1
}

/// The `text/csv` answer body of a model of `family` with `width` values per row, as `host
/// serve` writes it by default ([`answer_is_joined`]).
pub fn write_answer(values: &[f64], family: scorekit_core::Family, width: usize) -> String {
    if answer_is_joined(family, width) { write_joined(values) } else { write_lines(values, width) }
}

/// Splits the `text/csv` answer to a request of `n_rows` rows into each row's answer, as the
/// same endpoint would answer that row alone: one line per row (each keeps its line break), or
/// one comma-joined line of `n_rows × width` fields (the XGBoost container's form; each row gets
/// its `width` fields, and the line's break if it had one). One row's answer is the body itself.
///
/// # Errors
/// A body that holds neither form for `n_rows` rows, naming what it holds.
pub fn split_answer(body: &str, n_rows: usize, width: usize) -> HostResult<Vec<String>> {
    if n_rows == 1 {
        return Ok(vec![body.to_string()]);
    }
    let lines: Vec<&str> = body.split_inclusive('\n').filter(|l| !l.trim().is_empty()).collect();
    if lines.len() == n_rows {
        return Ok(lines.into_iter().map(str::to_string).collect());
    }
    if let [line] = lines.as_slice() {
        let text = line.trim_end_matches(['\r', '\n']);
        let end = &line[text.len()..];
        let fields: Vec<&str> = text.split(',').collect();
        let width = width.max(1);
        if fields.len() == n_rows * width {
            return Ok(fields.chunks(width).map(|row| format!("{}{end}", row.join(","))).collect());
        }
    }
    Err(HostError::new(
        crate::Code::ModuleFailed,
        format!(
            "expected answers for {n_rows} rows ({n_rows} lines, or one line of {} values), got {} lines",
            n_rows * width.max(1),
            lines.len()
        ),
    ))
}

/// Writes `values` (`width` per row) as CSV, one line per row.
pub fn write_lines(values: &[f64], width: usize) -> String {
    let mut out = String::with_capacity(values.len() * 20);
    for row in values.chunks(width.max(1)) {
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            fmt_f64(&mut out, v, "");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::InputPolicy;
    use scorekit_abi::RowsRequest;
    use scorekit_core::{Family, Field};

    fn schema() -> Schema {
        Schema {
            name: "m".into(),
            family: Family::Gbt,
            inputs: vec![Field::categorical("state", vec!["KS".into()]), Field::numeric("x")],
            target: None,
            positive_label: None,
            outputs: vec!["probability".into()],
        }
    }

    fn rows(body: &[u8], header: Header) -> HostResult<Vec<String>> {
        let s = schema();
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        push_body(&mut b, body, header)?;
        let rows = b.finish();
        let req = RowsRequest::decode(rows.as_bytes()).unwrap();
        let mut cur = req.cursor();
        let mut cells = Vec::new();
        let mut out = Vec::new();
        while cur.next_cells(&mut cells).unwrap() {
            out.push(format!("{cells:?}"));
        }
        Ok(out)
    }

    #[test]
    fn rows_without_header_quotes_newlines_crlf_and_bom() {
        let got = rows(b"\xef\xbb\xbfKS,1.5\r\n\"K\"\"S\",\n\n\"K\nS\",abc\n", Header::Auto).unwrap();
        assert_eq!(
            got,
            [
                "[Text(\"KS\"), Number(1.5)]",
                "[Text(\"K\\\"S\"), Null]",
                // Not a number: left as text for the model to refuse with its own message.
                "[Text(\"K\\nS\"), Text(\"abc\")]"
            ]
        );
    }

    #[test]
    fn header_selects_columns_by_name() {
        let got = rows(b"\xef\xbb\xbfid,x,state,churn\n7,2.5,KS,no\n", Header::Auto).unwrap();
        assert_eq!(got, ["[Text(\"KS\"), Number(2.5)]"]);
    }

    #[test]
    fn errors_name_the_line_or_row() {
        let e = rows(b"KS,1\nKS,1,2\n", Header::Auto).unwrap_err();
        assert!(e.message.starts_with("row 2: expected 2 values"), "{}", e.message);
        let e = rows(b"KS,1\n\"KS,1\n", Header::Auto).unwrap_err();
        assert!(e.message.contains("holds no rows") || e.message.contains("row 2"), "{}", e.message);
        let e = rows(b"state,y\nKS,1\n", Header::Auto).unwrap_err();
        assert!(e.message.contains("no column 'x'"), "{}", e.message);
        assert!(rows(b"\n\n", Header::Auto).is_err());
        let e = rows(b"KS,1\nK\xffS,1\n", Header::Auto).unwrap_err();
        assert!(e.message.contains("line 2") && e.message.contains("UTF-8"), "{}", e.message);
    }

    #[test]
    fn writes_one_line_per_row() {
        assert_eq!(write_lines(&[0.25, 0.5], 1), "0.25\n0.5\n");
        assert_eq!(write_lines(&[1.0, 2.0], 2), "1,2\n");
    }

    #[test]
    fn a_batched_answer_splits_into_what_each_row_alone_gets() {
        // One line per row keeps each line's break; a joined line gives each row its fields.
        assert_eq!(split_answer("0.1,0.9\n0.2,0.8\n", 2, 2).unwrap(), vec!["0.1,0.9\n", "0.2,0.8\n"]);
        assert_eq!(split_answer("0.1,0.2,0.3", 3, 1).unwrap(), vec!["0.1", "0.2", "0.3"]);
        assert_eq!(split_answer("0.1,0.2\n", 2, 1).unwrap(), vec!["0.1\n", "0.2\n"]);
        // One row: the body as it came, whatever it holds.
        assert_eq!(split_answer("anything, at all", 1, 1).unwrap(), vec!["anything, at all"]);
        let answers: Vec<String> =
            (0..4).map(|i| write_answer(&[f64::from(i) / 8.0], scorekit_core::Family::Gbt, 1)).collect();
        let body = write_answer(&[0.0, 0.125, 0.25, 0.375], scorekit_core::Family::Gbt, 4 / 4);
        assert_eq!(split_answer(&body, 4, 1).unwrap(), answers);
        let e = split_answer("0.1,0.2\n", 3, 1).unwrap_err();
        assert!(
            e.message.contains("expected answers for 3 rows") && e.message.contains("got 1 lines"),
            "{}",
            e.message
        );
    }
}
