//! The rows request: a batch of input rows for SCORE, EXPLAIN and the RCF operations.
//!
//! ```text
//! offset 0   u8   layout     0 = tagged cells, 1 = dense f64
//!        1   u8×3 reserved   0
//!        4   u32  n_rows
//!        8   u32  n_cols
//!        12  u32  row_base   rows are numbered from row_base + 1 in messages (ABI minor 1;
//!                            minor-0 guests require 0)
//!        16  body
//! ```
//! Dense body: `n_rows × n_cols` f64 LE, row-major; a categorical column holds the level index,
//! NaN is a missing value. The 16-byte header keeps the body 8-byte aligned, so a host can copy a
//! `Float64Array`/`&[f64]` in one go. Tagged body: per cell a `u8` tag, then 0 → null,
//! 1 → f64 LE, 2 → `u32` length + UTF-8 text (a category level or a number written as text).

use alloc::vec::Vec;

use scorekit_core::Cell;

use crate::error::WireError;
use crate::values::{Reader, put_f64, put_u32, to_u32};

/// Size of the rows header.
pub const HEADER_LEN: usize = 16;

/// Cell tags of the tagged layout.
pub mod tag {
    /// Missing value.
    pub const NULL: u8 = 0;
    /// f64 LE follows.
    pub const NUMBER: u8 = 1;
    /// u32 LE length and UTF-8 bytes follow.
    pub const TEXT: u8 = 2;
}

/// How the cells of a rows request are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Self-describing cells: null, number or text. What CSV, JSON and SQL hosts send.
    Tagged = 0,
    /// Already-encoded features: f64 per cell, categorical as level index, NaN = missing.
    Dense = 1,
}

/// A decoded rows header over the request bytes; cells are read with a [`RowCursor`].
#[derive(Clone, Copy, Debug)]
pub struct RowsRequest<'a> {
    /// Cell encoding.
    pub layout: Layout,
    /// Number of rows.
    pub n_rows: usize,
    /// Values per row.
    pub n_cols: usize,
    /// Rows are numbered from `row_base + 1` in messages (a host scoring a file in chunks sends
    /// the chunk's offset, so errors name the row of the file).
    pub row_base: u32,
    body: &'a [u8],
}

impl<'a> RowsRequest<'a> {
    /// Checks the header and the body size (exactly, for dense; a lower bound, for tagged).
    ///
    /// # Errors
    /// [`WireError`] naming the problem.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes, "rows header");
        let layout = match r.u8()? {
            0 => Layout::Tagged,
            1 => Layout::Dense,
            other => return Err(WireError::UnknownLayout(other)),
        };
        if r.take(3)? != [0, 0, 0] {
            return Err(WireError::Reserved("rows"));
        }
        let n_rows = r.u32()? as usize;
        let n_cols = r.u32()? as usize;
        let row_base = r.u32()?;
        let body = &bytes[HEADER_LEN..];
        if n_cols == 0 && n_rows > 0 {
            return Err(WireError::Invalid("rows request has rows but n_cols is 0"));
        }
        // Each cell takes at least 1 (tagged) or 8 (dense) bytes: checking this first means a
        // forged header can never make a host loop or allocate far beyond the bytes it sent.
        let cells = (n_rows as u64) * (n_cols as u64);
        let min = match layout {
            Layout::Tagged => cells,
            Layout::Dense => cells * 8,
        };
        if (body.len() as u64) < min {
            return Err(WireError::Truncated {
                what: "rows body",
                needed: HEADER_LEN.saturating_add(min as usize),
                available: bytes.len(),
            });
        }
        if layout == Layout::Dense && body.len() as u64 != min {
            return Err(WireError::Trailing { what: "dense rows", extra: body.len() - min as usize });
        }
        Ok(RowsRequest { layout, n_rows, n_cols, row_base, body })
    }

    /// Appends every value of a dense request to `out`, row-major, in one pass (what a scorer
    /// of whole batches wants: no per-value bounds check, no cursor).
    ///
    /// # Errors
    /// [`WireError::Invalid`] for a tagged request.
    pub fn dense_values_into(&self, out: &mut Vec<f64>) -> Result<(), WireError> {
        if self.layout != Layout::Dense {
            return Err(WireError::Invalid("dense values of a tagged rows request"));
        }
        // `decode` checked that the body is exactly `n_rows × n_cols` values.
        out.extend(self.body.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))));
        Ok(())
    }

    /// A cursor over the rows, from the first.
    pub fn cursor(&self) -> RowCursor<'a> {
        RowCursor { req: *self, reader: Reader::new(self.body, "rows body"), row: 0 }
    }
}

/// Reads rows one at a time into caller-owned buffers (no allocation per row).
#[derive(Clone, Debug)]
pub struct RowCursor<'a> {
    req: RowsRequest<'a>,
    reader: Reader<'a>,
    row: usize,
}

impl<'a> RowCursor<'a> {
    /// Index of the next row.
    pub fn row(&self) -> usize {
        self.row
    }

    /// The next row's number in messages (`row_base + index + 1`).
    fn row_number(&self) -> usize {
        self.req.row_base as usize + self.row + 1
    }

    /// Reads the next row of a tagged request into `cells` (cleared first; text borrows the
    /// request bytes). Returns `false` after the last row, having checked for trailing bytes.
    /// For a dense request the values come back as [`Cell::Number`].
    ///
    /// # Errors
    /// [`WireError`] naming the row and column of a malformed cell.
    pub fn next_cells(&mut self, cells: &mut Vec<Cell<'a>>) -> Result<bool, WireError> {
        cells.clear();
        if self.row == self.req.n_rows {
            return self.reader.clone().finish().map(|_| false);
        }
        let row = self.row_number();
        for column in 1..=self.req.n_cols {
            let cell = match self.req.layout {
                Layout::Dense => Cell::Number(self.reader.f64()?),
                Layout::Tagged => match self.reader.u8()? {
                    tag::NULL => Cell::Null,
                    tag::NUMBER => Cell::Number(self.reader.f64()?),
                    tag::TEXT => {
                        let len = self.reader.u32()? as usize;
                        let bytes = self.reader.take(len)?;
                        Cell::Text(
                            core::str::from_utf8(bytes)
                                .map_err(|_| WireError::InvalidUtf8 { row, column })?,
                        )
                    }
                    tag => return Err(WireError::UnknownTag { row, column, tag }),
                },
            };
            cells.push(cell);
        }
        self.row += 1;
        Ok(true)
    }
}

/// Sets the `row_base` of an encoded rows request (see [`RowsRequest::row_base`]).
///
/// # Errors
/// [`WireError::Truncated`] if `bytes` is shorter than a header.
pub fn set_row_base(bytes: &mut [u8], row_base: u32) -> Result<(), WireError> {
    let available = bytes.len();
    let field = bytes.get_mut(12..16).ok_or(WireError::Truncated {
        what: "rows header",
        needed: HEADER_LEN,
        available,
    })?;
    field.copy_from_slice(&row_base.to_le_bytes());
    Ok(())
}

fn header(out: &mut Vec<u8>, layout: Layout, n_rows: usize, n_cols: usize) -> Result<(), WireError> {
    out.clear();
    out.push(layout as u8);
    out.extend_from_slice(&[0, 0, 0]);
    put_u32(out, to_u32(n_rows, "n_rows")?);
    put_u32(out, to_u32(n_cols, "n_cols")?);
    put_u32(out, 0);
    Ok(())
}

/// Writes a dense request into `out` (cleared first, so a host can reuse one buffer).
///
/// # Errors
/// [`WireError::Invalid`] if `n_cols` is 0 or does not divide `values.len()`.
pub fn write_dense(out: &mut Vec<u8>, n_cols: usize, values: &[f64]) -> Result<(), WireError> {
    if n_cols == 0 || !values.len().is_multiple_of(n_cols) {
        return Err(WireError::Invalid("dense values length must be a non-zero multiple of n_cols"));
    }
    header(out, Layout::Dense, values.len() / n_cols, n_cols)?;
    out.reserve(values.len() * 8);
    for &v in values {
        put_f64(out, v);
    }
    Ok(())
}

/// A dense request.
///
/// # Errors
/// As [`write_dense`].
pub fn encode_dense(n_cols: usize, values: &[f64]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    write_dense(&mut out, n_cols, values)?;
    Ok(out)
}

/// Writes a tagged request of rows with `n_cols` cells each into `out` (cleared first).
///
/// # Errors
/// [`WireError::Ragged`] naming the first row of another length; [`WireError::TooLarge`].
pub fn write_tagged<'c, R: AsRef<[Cell<'c>]>>(
    out: &mut Vec<u8>,
    n_cols: usize,
    rows: &[R],
) -> Result<(), WireError> {
    header(out, Layout::Tagged, rows.len(), n_cols)?;
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != n_cols {
            return Err(WireError::Ragged { row: i + 1, expected: n_cols, got: row.len() });
        }
        for cell in row {
            match *cell {
                Cell::Null => out.push(tag::NULL),
                Cell::Number(x) => {
                    out.push(tag::NUMBER);
                    put_f64(out, x);
                }
                Cell::Text(t) => {
                    out.push(tag::TEXT);
                    put_u32(out, to_u32(t.len(), "text cell length")?);
                    out.extend_from_slice(t.as_bytes());
                }
            }
        }
    }
    Ok(())
}

/// A tagged request.
///
/// # Errors
/// As [`write_tagged`].
pub fn encode_tagged<'c, R: AsRef<[Cell<'c>]>>(n_cols: usize, rows: &[R]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    write_tagged(&mut out, n_cols, rows)?;
    Ok(out)
}

/// A position in a [`Rows`] request (see [`Rows::mark`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowMark {
    len: usize,
    n_rows: usize,
}

/// An encoded rows request, built once and copied straight into a module's input buffer: what
/// every host hands to a scorer. Reusable: the `set_*` methods and [`Rows::clear_tagged`] keep
/// the allocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    bytes: Vec<u8>,
    n_rows: usize,
    n_cols: usize,
    row_base: usize,
    /// Cells pushed into the row being built (tagged rows built cell by cell).
    pending: usize,
}

impl Rows {
    /// Rows of loosely typed cells (numbers, text, nulls), encoded by the model exactly like the
    /// native path does.
    ///
    /// # Errors
    /// [`WireError::Ragged`] if a row's length differs from `n_cols`.
    pub fn from_cells<'c, R: AsRef<[Cell<'c>]>>(n_cols: usize, rows: &[R]) -> Result<Self, WireError> {
        let mut r = Rows::default();
        r.set_cells(n_cols, rows)?;
        Ok(r)
    }

    /// Already-encoded rows, row-major: categorical inputs as level index, NaN for missing.
    ///
    /// # Errors
    /// [`WireError::Invalid`] if `n_cols` is 0 or does not divide `values.len()`.
    pub fn dense(n_cols: usize, values: &[f64]) -> Result<Self, WireError> {
        let mut r = Rows::default();
        r.set_dense(n_cols, values)?;
        Ok(r)
    }

    /// A request from its wire bytes (e.g. read back from a log), checked like a module would.
    ///
    /// # Errors
    /// [`WireError`] naming what is malformed.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, WireError> {
        let req = RowsRequest::decode(&bytes)?;
        let (n_rows, n_cols, row_base) = (req.n_rows, req.n_cols, req.row_base as usize);
        Ok(Rows { bytes, n_rows, n_cols, row_base, pending: 0 })
    }

    /// An empty tagged request of `n_cols`-wide rows, to fill with [`Rows::push_cell`] and
    /// [`Rows::end_row`].
    pub fn tagged(n_cols: usize) -> Self {
        let mut r = Rows::default();
        r.clear_tagged(n_cols);
        r
    }

    /// Empties the request (keeping its buffer) for `n_cols`-wide tagged rows.
    pub fn clear_tagged(&mut self, n_cols: usize) {
        // n_rows 0 always fits the header.
        let _ = header(&mut self.bytes, Layout::Tagged, 0, n_cols);
        (self.n_rows, self.n_cols, self.row_base, self.pending) = (0, n_cols, 0, 0);
    }

    /// Empties the request (keeping its buffer) for `n_cols`-wide dense rows, to fill with
    /// [`Rows::push_number`] and [`Rows::end_row`].
    pub fn clear_dense(&mut self, n_cols: usize) {
        // n_rows 0 always fits the header.
        let _ = header(&mut self.bytes, Layout::Dense, 0, n_cols);
        (self.n_rows, self.n_cols, self.row_base, self.pending) = (0, n_cols, 0, 0);
    }

    /// Whether the request is in the dense layout (values already encoded: numbers, level
    /// indices, NaN for missing).
    #[inline]
    pub fn is_dense(&self) -> bool {
        self.bytes.first() == Some(&(Layout::Dense as u8))
    }

    /// Appends one encoded value (a number, a level index, NaN for missing) to the row being
    /// built of a dense request.
    ///
    /// # Errors
    /// [`WireError::Invalid`] on a tagged request.
    #[inline]
    pub fn push_number(&mut self, x: f64) -> Result<(), WireError> {
        if !self.is_dense() {
            return Err(WireError::Invalid("push_number on a tagged rows request"));
        }
        put_f64(&mut self.bytes, x);
        self.pending += 1;
        Ok(())
    }

    /// The values of a dense request in order, the complete rows and then the cells of the row
    /// being built (nothing for a tagged request).
    pub fn dense_values(&self) -> impl Iterator<Item = f64> + '_ {
        let body = if self.is_dense() { self.bytes.get(HEADER_LEN..).unwrap_or_default() } else { &[] };
        body.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
    }

    /// Appends one cell to the row being built.
    ///
    /// # Errors
    /// [`WireError::TooLarge`] for a text over 4 GiB; [`WireError::Invalid`] on a dense request.
    pub fn push_cell(&mut self, cell: Cell<'_>) -> Result<(), WireError> {
        if self.bytes.first() != Some(&(Layout::Tagged as u8)) {
            return Err(WireError::Invalid("push_cell on a dense rows request"));
        }
        match cell {
            Cell::Null => self.bytes.push(tag::NULL),
            Cell::Number(x) => {
                self.bytes.push(tag::NUMBER);
                put_f64(&mut self.bytes, x);
            }
            Cell::Text(t) => {
                let len = to_u32(t.len(), "text cell length")?;
                self.bytes.push(tag::TEXT);
                put_u32(&mut self.bytes, len);
                self.bytes.extend_from_slice(t.as_bytes());
            }
        }
        self.pending += 1;
        Ok(())
    }

    /// Closes the row being built.
    ///
    /// # Errors
    /// [`WireError::Ragged`] if it does not hold exactly `n_cols` cells (the request is then
    /// unusable: clear it); [`WireError::TooLarge`] past 2^32 rows.
    pub fn end_row(&mut self) -> Result<(), WireError> {
        if self.pending != self.n_cols {
            return Err(WireError::Ragged { row: self.n_rows + 1, expected: self.n_cols, got: self.pending });
        }
        self.pending = 0;
        self.n_rows += 1;
        let n = to_u32(self.n_rows, "n_rows")?;
        self.bytes[4..8].copy_from_slice(&n.to_le_bytes());
        Ok(())
    }

    /// The current end of the request, to [`Rows::rollback`] to if the next row fails.
    pub fn mark(&self) -> RowMark {
        RowMark { len: self.bytes.len(), n_rows: self.n_rows }
    }

    /// Drops everything pushed after `mark` (a half-built row, or whole rows).
    pub fn rollback(&mut self, mark: RowMark) {
        if mark.len <= self.bytes.len() && mark.n_rows <= self.n_rows && mark.len >= HEADER_LEN {
            self.bytes.truncate(mark.len);
            self.n_rows = mark.n_rows;
            self.pending = 0;
            self.bytes[4..8].copy_from_slice(&(mark.n_rows as u32).to_le_bytes());
        }
    }

    /// Replaces the contents with cells, reusing the buffer.
    ///
    /// # Errors
    /// As [`Rows::from_cells`].
    pub fn set_cells<'c, R: AsRef<[Cell<'c>]>>(
        &mut self,
        n_cols: usize,
        rows: &[R],
    ) -> Result<(), WireError> {
        write_tagged(&mut self.bytes, n_cols, rows)?;
        (self.n_rows, self.n_cols, self.row_base, self.pending) = (rows.len(), n_cols, 0, 0);
        Ok(())
    }

    /// Replaces the contents with dense values, reusing the buffer.
    ///
    /// # Errors
    /// As [`Rows::dense`].
    pub fn set_dense(&mut self, n_cols: usize, values: &[f64]) -> Result<(), WireError> {
        write_dense(&mut self.bytes, n_cols, values)?;
        (self.n_rows, self.n_cols, self.row_base, self.pending) = (values.len() / n_cols, n_cols, 0, 0);
        Ok(())
    }

    /// Numbers the rows from `row_base + 1` in error messages (a host scoring its input in
    /// chunks passes the chunk's offset). Reset to 0 by the `set_*`/`clear_*` methods.
    ///
    /// # Errors
    /// [`WireError::TooLarge`] if `row_base` does not fit in 32 bits.
    pub fn set_row_base(&mut self, row_base: usize) -> Result<(), WireError> {
        let base = to_u32(row_base, "row base")?;
        set_row_base(&mut self.bytes, base)?;
        self.row_base = row_base;
        Ok(())
    }

    /// The row base (see [`Rows::set_row_base`]).
    pub fn row_base(&self) -> usize {
        self.row_base
    }

    /// Number of complete rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Values per row.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.n_rows == 0
    }

    /// The wire bytes (ABI rows request).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A decoded view, to read the cells back (the native scorer, a remote client).
    ///
    /// # Errors
    /// [`WireError`] if the bytes are inconsistent (only after a failed [`Rows::end_row`]).
    pub fn request(&self) -> Result<RowsRequest<'_>, WireError> {
        RowsRequest::decode(&self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;
    use proptest::prelude::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<Vec<String>>, WireError> {
        let req = RowsRequest::decode(bytes)?;
        let mut cur = req.cursor();
        let mut cells = Vec::new();
        let mut rows = Vec::new();
        while cur.next_cells(&mut cells)? {
            rows.push(cells.iter().map(|c| alloc::format!("{c:?}")).collect());
        }
        Ok(rows)
    }

    #[test]
    fn tagged_layout_is_exactly_as_documented() {
        let bytes = encode_tagged(3, &[[Cell::Null, Cell::Number(1.5), Cell::Text("yes")]]).unwrap();
        let mut want = vec![0u8, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
        want.push(0);
        want.push(1);
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&[2, 3, 0, 0, 0, b'y', b'e', b's']);
        assert_eq!(bytes, want);
    }

    #[test]
    fn rows_built_cell_by_cell_equal_the_batch_encoder() {
        let cells = [[Cell::Null, Cell::Number(1.5)], [Cell::Text("yes"), Cell::Number(-2.0)]];
        let mut built = Rows::tagged(2);
        for row in &cells {
            for c in row {
                built.push_cell(*c).unwrap();
            }
            built.end_row().unwrap();
        }
        assert_eq!(built, Rows::from_cells(2, &cells).unwrap());
        assert_eq!((built.n_rows(), built.n_cols()), (2, 2));
        let mark = built.mark();
        built.push_cell(Cell::Null).unwrap();
        assert_eq!(built.end_row().unwrap_err(), WireError::Ragged { row: 3, expected: 2, got: 1 });
        built.rollback(mark);
        assert_eq!(built, Rows::from_cells(2, &cells).unwrap());
        let mut dense = Rows::dense(1, &[1.0]).unwrap();
        assert!(dense.push_cell(Cell::Null).is_err());
        dense.set_row_base(41).unwrap();
        assert_eq!(RowsRequest::decode(dense.as_bytes()).unwrap().row_base, 41);
    }

    #[test]
    fn dense_layout_and_cursor() {
        let bytes = encode_dense(2, &[1.0, 2.0, 3.0, f64::NAN]).unwrap();
        assert_eq!(bytes.len(), 16 + 32);
        assert_eq!(&bytes[..16], &[1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        let req = RowsRequest::decode(&bytes).unwrap();
        assert_eq!((req.layout, req.n_rows, req.n_cols), (Layout::Dense, 2, 2));
        let mut values = vec![-1.0];
        req.dense_values_into(&mut values).unwrap();
        assert_eq!(values[..4], [-1.0, 1.0, 2.0, 3.0], "appended after what was there");
        assert!(values[4].is_nan() && values.len() == 5);
        let tagged = encode_tagged(1, &[[Cell::Number(1.0)]]).unwrap();
        let e = RowsRequest::decode(&tagged).unwrap().dense_values_into(&mut values).unwrap_err();
        assert_eq!(e, WireError::Invalid("dense values of a tagged rows request"));
        assert!(encode_dense(0, &[]).is_err());
        assert!(encode_dense(3, &[1.0]).is_err());
    }

    #[test]
    fn malformed_requests_name_the_problem() {
        let good = encode_tagged(2, &[[Cell::Number(1.0), Cell::Text("a")]]).unwrap();
        let mut bad = good.clone();
        bad[0] = 7;
        assert_eq!(RowsRequest::decode(&bad).unwrap_err(), WireError::UnknownLayout(7));
        let mut bad = good.clone();
        bad[16 + 9] = 9;
        assert_eq!(read_all(&bad).unwrap_err(), WireError::UnknownTag { row: 1, column: 2, tag: 9 });
        let mut bad = good.clone();
        *bad.last_mut().unwrap() = 0xff;
        assert_eq!(read_all(&bad).unwrap_err(), WireError::InvalidUtf8 { row: 1, column: 2 });
        // A row base moves the numbers in messages, nothing else.
        let mut based = bad.clone();
        set_row_base(&mut based, 1000).unwrap();
        assert_eq!(read_all(&based).unwrap_err(), WireError::InvalidUtf8 { row: 1001, column: 2 });
        let mut bad = good.clone();
        bad.push(0);
        assert!(matches!(read_all(&bad).unwrap_err(), WireError::Trailing { extra: 1, .. }));
        // A header claiming 4 billion rows over a few bytes is refused before any work.
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(RowsRequest::decode(&bad).unwrap_err(), WireError::Truncated { .. }));
        let mut bad = good;
        bad[8..12].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(RowsRequest::decode(&bad).unwrap_err(), WireError::Invalid(_)));
        assert!(matches!(
            encode_tagged(2, &[vec![Cell::Null, Cell::Null], vec![Cell::Null]]),
            Err(WireError::Ragged { row: 2, expected: 2, got: 1 })
        ));
    }

    fn cell_strategy() -> impl Strategy<Value = (u8, f64, String)> {
        (0u8..3, any::<f64>(), ".{0,12}")
    }

    proptest! {
        #[test]
        fn tagged_round_trip(n_cols in 1usize..6, raw in proptest::collection::vec(cell_strategy(), 0..40)) {
            let n_rows = raw.len() / n_cols;
            let cells: Vec<Cell<'_>> = raw[..n_rows * n_cols].iter().map(|(t, x, s)| match t {
                0 => Cell::Null,
                1 => Cell::Number(*x),
                _ => Cell::Text(s.as_str()),
            }).collect();
            let rows: Vec<&[Cell<'_>]> = cells.chunks(n_cols).collect();
            let bytes = encode_tagged(n_cols, &rows).unwrap();
            let req = RowsRequest::decode(&bytes).unwrap();
            prop_assert_eq!((req.n_rows, req.n_cols), (n_rows, n_cols));
            let mut cur = req.cursor();
            let mut got = Vec::new();
            let mut i = 0;
            while cur.next_cells(&mut got).unwrap() {
                for (a, b) in got.iter().zip(rows[i]) {
                    match (a, b) {
                        (Cell::Number(x), Cell::Number(y)) => prop_assert_eq!(x.to_bits(), y.to_bits()),
                        _ => prop_assert_eq!(a, b),
                    }
                }
                i += 1;
            }
            prop_assert_eq!(i, n_rows);
        }

        #[test]
        fn dense_round_trip(n_cols in 1usize..6, vals in proptest::collection::vec(any::<f64>(), 0..40)) {
            let n = vals.len() / n_cols * n_cols;
            let bytes = encode_dense(n_cols, &vals[..n]).unwrap();
            let req = RowsRequest::decode(&bytes).unwrap();
            let mut back = Vec::new();
            req.dense_values_into(&mut back).unwrap();
            prop_assert_eq!(back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            vals[..n].iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(req) = RowsRequest::decode(&bytes) {
                let mut cur = req.cursor();
                let mut cells = Vec::new();
                while let Ok(true) = cur.next_cells(&mut cells) {}
            }
        }

        #[test]
        fn mutated_valid_requests_never_panic(pos in 0usize..64, byte in any::<u8>()) {
            let mut bytes = encode_tagged(2, &[[Cell::Text("abc"), Cell::Number(2.0)], [Cell::Null, Cell::Text("x")]]).unwrap();
            let p = pos % bytes.len();
            bytes[p] = byte;
            if let Ok(req) = RowsRequest::decode(&bytes) {
                let mut cur = req.cursor();
                let mut cells = Vec::new();
                while let Ok(true) = cur.next_cells(&mut cells) {}
            }
        }
    }
}
