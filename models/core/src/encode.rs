//! Turning a row of loosely typed cells (what CSV, JSON, SQL and JavaScript hand over) into the
//! `f64` feature vector a model reads. Every host goes through this one function, so an unknown
//! category or a stray string is reported identically everywhere.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::InputError;
use crate::schema::{Field, FieldKind};

/// One input value as a host received it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL, JSON null, an empty CSV field: a missing value.
    Null,
    /// A number.
    Number(f64),
    /// Text: a category level, or a number written as text.
    Text(&'a str),
}

const MAX_ECHO: usize = 64;

/// `s.trim()`, without decoding characters from either end when both end bytes are visible ASCII
/// (every Unicode white space in ASCII is at or below U+0020): the common cell pays a two-byte
/// check instead of the general trim.
pub fn trim(s: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&b| (0x21..0x80).contains(&b));
    if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) { s } else { s.trim() }
}

fn echo(s: &str) -> String {
    if s.len() <= MAX_ECHO {
        return s.to_string();
    }
    let mut end = MAX_ECHO;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn known_levels(levels: &[String]) -> String {
    const SHOW: usize = 8;
    let mut out = String::new();
    for (i, l) in levels.iter().take(SHOW).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&echo(l));
    }
    if levels.len() > SHOW {
        out.push_str(&format!(", … {} levels in all", levels.len()));
    }
    out
}

/// Formats a number the way a level written from it would look (`415.0` → `415`).
fn number_as_level(x: f64) -> String {
    if x.is_finite() && x == libm::trunc(x) && libm::fabs(x) < 1e15 {
        format!("{}", x as i64)
    } else {
        crate::decimal::to_text(x)
    }
}

/// Encodes `row` (one cell per schema input, in order) into `out`.
///
/// Numeric cells pass through (text is parsed as a number); categorical cells become the index of
/// their level. A [`Cell::Null`], an empty text, or a NaN becomes `NaN`, the models' marker for a
/// missing value; models that cannot take missing values reject it themselves.
///
/// # Errors
/// [`InputError::Arity`] when `row` or `out` has the wrong length, [`InputError::NotANumber`],
/// [`InputError::NotFinite`] for infinities, [`InputError::UnknownCategory`] for an unseen level.
pub fn encode_row(
    inputs: &[Field],
    row: &[Cell<'_>],
    row_index: usize,
    out: &mut [f64],
) -> Result<(), InputError> {
    if row.len() != inputs.len() || out.len() != inputs.len() {
        return Err(InputError::Arity { row: row_index, expected: inputs.len(), got: row.len() });
    }
    for ((field, cell), slot) in inputs.iter().zip(row).zip(out.iter_mut()) {
        *slot = encode_cell(field, *cell, row_index)?;
    }
    Ok(())
}

/// Encodes one cell of `field`; see [`encode_row`].
///
/// # Errors
/// As [`encode_row`].
pub fn encode_cell(field: &Field, cell: Cell<'_>, row_index: usize) -> Result<f64, InputError> {
    encode_cell_by(field, cell, row_index, scan)
}

/// The reference level match: the first level equal to `wanted`. [`LevelIndex::find`] must
/// answer exactly this.
fn scan(levels: &[String], wanted: &str) -> Option<usize> {
    levels.iter().position(|l| l == wanted)
}

/// [`encode_cell`] with the level match `find` (the scan, or an index of the same levels).
fn encode_cell_by(
    field: &Field,
    cell: Cell<'_>,
    row_index: usize,
    find: impl FnOnce(&[String], &str) -> Option<usize>,
) -> Result<f64, InputError> {
    match (&field.kind, cell) {
        (_, Cell::Null) => Ok(f64::NAN),
        (_, Cell::Text(t)) if trim(t).is_empty() => Ok(f64::NAN),
        (FieldKind::Numeric, Cell::Number(x)) => check_finite(field, x, row_index),
        (FieldKind::Numeric, Cell::Text(t)) => {
            let t = trim(t);
            if t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("na") || t == "?" {
                return Ok(f64::NAN);
            }
            match crate::decimal::parse(t) {
                Ok(x) => check_finite(field, x, row_index),
                Err(_) => {
                    Err(InputError::NotANumber { row: row_index, column: field.name.clone(), value: echo(t) })
                }
            }
        }
        (FieldKind::Categorical { levels }, Cell::Text(t)) => lookup(field, levels, t, row_index, find),
        (FieldKind::Categorical { levels }, Cell::Number(x)) => {
            if x.is_nan() {
                return Ok(f64::NAN);
            }
            lookup(field, levels, &number_as_level(x), row_index, find)
        }
    }
}

/// The levels of one categorical input in a hash table built once, so that a cell finds its
/// level in about one string comparison instead of comparing it with every level (a 51-level
/// `state` column took ~25 per cell). It answers exactly what the scan answers: the position of
/// the *first* level equal to the text, `None` for any other text. (A table, not a sorted list:
/// the standard sort adds ~10 KB of code to every module.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelIndex {
    /// The levels, in encoding order.
    levels: Vec<Box<str>>,
    /// Open addressing, linear probing: a level's position, or [`EMPTY`]. Its length is a power
    /// of two at least twice the number of levels, so probes are short and one always ends.
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

/// FNV-1a: a few instructions per byte for the short texts levels are. The levels are fixed when
/// the model is trained; a request only looks up, so it cannot lengthen the probe chains.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl LevelIndex {
    /// Indexes `levels` (in encoding order). More than `u32::MAX - 1` levels are not indexed (no
    /// model has them): [`LevelIndex::find`] then scans.
    pub fn new(levels: &[String]) -> Self {
        let levels: Vec<Box<str>> = levels.iter().map(|l| Box::from(l.as_str())).collect();
        if levels.len() >= EMPTY as usize {
            return LevelIndex { levels, slots: Vec::new() };
        }
        let mut slots = alloc::vec![EMPTY; (levels.len() * 2).next_power_of_two().max(2)];
        let mask = slots.len() - 1;
        for (i, level) in levels.iter().enumerate() {
            let mut at = fnv1a(level.as_bytes()) as usize & mask;
            loop {
                match slots[at] {
                    EMPTY => {
                        slots[at] = i as u32;
                        break;
                    }
                    // A duplicate keeps its first position (the scan's answer).
                    j if *levels[j as usize] == **level => break,
                    _ => at = (at + 1) & mask,
                }
            }
        }
        LevelIndex { levels, slots }
    }

    /// The position of the first level equal to `wanted` (compared as is: the caller trims).
    pub fn find(&self, wanted: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return self.levels.iter().position(|l| **l == *wanted);
        }
        let mask = self.slots.len() - 1;
        let mut at = fnv1a(wanted.as_bytes()) as usize & mask;
        loop {
            let i = *self.slots.get(at)? as usize;
            match self.levels.get(i) {
                // EMPTY is past every level: the text is not one.
                None => return None,
                Some(l) if **l == *wanted => return Some(i),
                Some(_) => at = (at + 1) & mask,
            }
        }
    }
}

/// [`encode_row`] with every categorical input's levels indexed once ([`LevelIndex`]): what a
/// host or the guest builds when it loads a model and keeps for every request. It holds its own
/// copy of the inputs, so the index always belongs to the levels it matches. Same answers and
/// errors as [`encode_row`] over those inputs, bit for bit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Encoder {
    inputs: Vec<Field>,
    /// One per input, `None` for numeric inputs.
    levels: Vec<Option<LevelIndex>>,
}

impl Encoder {
    /// Indexes the levels of `inputs` (a schema's inputs, in order).
    pub fn new(inputs: &[Field]) -> Self {
        let levels = inputs
            .iter()
            .map(|f| match &f.kind {
                FieldKind::Categorical { levels } => Some(LevelIndex::new(levels)),
                FieldKind::Numeric => None,
            })
            .collect();
        Encoder { inputs: inputs.to_vec(), levels }
    }

    /// The inputs it encodes.
    pub fn inputs(&self) -> &[Field] {
        &self.inputs
    }

    /// Input `i`'s feature value for `cell`: what [`Encoder::encode_row`] writes in that input's
    /// place, by the same rules (a host that encodes rows itself, to send them dense, gets
    /// exactly what the model would compute).
    ///
    /// # Errors
    /// As [`encode_row`]; [`InputError::Arity`] when there is no input `i`.
    #[inline]
    pub fn encode_cell(&self, i: usize, cell: Cell<'_>, row_index: usize) -> Result<f64, InputError> {
        let (Some(field), Some(index)) = (self.inputs.get(i), self.levels.get(i)) else {
            return Err(InputError::Arity { row: row_index, expected: self.inputs.len(), got: i + 1 });
        };
        match index {
            Some(ix) => encode_cell_by(field, cell, row_index, |_, wanted| ix.find(wanted)),
            None => encode_cell(field, cell, row_index),
        }
    }

    /// [`encode_row`] over the inputs it was built from.
    ///
    /// # Errors
    /// As [`encode_row`].
    pub fn encode_row(&self, row: &[Cell<'_>], row_index: usize, out: &mut [f64]) -> Result<(), InputError> {
        let inputs = &self.inputs;
        if row.len() != inputs.len() || out.len() != inputs.len() {
            return Err(InputError::Arity { row: row_index, expected: inputs.len(), got: row.len() });
        }
        for ((field, index), (cell, slot)) in
            inputs.iter().zip(&self.levels).zip(row.iter().zip(out.iter_mut()))
        {
            *slot = match index {
                Some(ix) => encode_cell_by(field, *cell, row_index, |_, wanted| ix.find(wanted))?,
                None => encode_cell(field, *cell, row_index)?,
            };
        }
        Ok(())
    }
}

fn check_finite(field: &Field, x: f64, row_index: usize) -> Result<f64, InputError> {
    if x.is_infinite() {
        return Err(InputError::NotFinite {
            row: row_index,
            column: field.name.clone(),
            value: crate::decimal::to_text(x),
        });
    }
    Ok(x)
}

fn lookup(
    field: &Field,
    levels: &[String],
    text: &str,
    row_index: usize,
    find: impl FnOnce(&[String], &str) -> Option<usize>,
) -> Result<f64, InputError> {
    let wanted = trim(text);
    match find(levels, wanted) {
        Some(i) => Ok(i as f64),
        None => Err(InputError::UnknownCategory {
            row: row_index,
            column: field.name.clone(),
            value: echo(wanted),
            known: known_levels(levels),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn fields() -> Vec<Field> {
        vec![
            Field::numeric("x"),
            Field::categorical("plan", vec!["no".into(), "yes".into()]),
            Field::categorical("area", vec!["408".into(), "415".into()]),
        ]
    }

    #[test]
    fn encodes_numbers_levels_and_missing() {
        let mut out = [0.0; 3];
        encode_row(&fields(), &[Cell::Text("2.5"), Cell::Text("yes"), Cell::Number(415.0)], 0, &mut out)
            .unwrap();
        assert_eq!(out, [2.5, 1.0, 1.0]);
        encode_row(&fields(), &[Cell::Null, Cell::Text(""), Cell::Number(f64::NAN)], 0, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn errors_name_row_and_column() {
        let mut out = [0.0; 3];
        let e = encode_row(&fields(), &[Cell::Text("abc"), Cell::Text("no"), Cell::Null], 4, &mut out)
            .unwrap_err();
        assert_eq!(e.to_string(), "row 4, column 'x': expected a number, got 'abc'");
        let e = encode_row(&fields(), &[Cell::Number(1.0), Cell::Text("maybe"), Cell::Null], 2, &mut out)
            .unwrap_err();
        assert_eq!(e.to_string(), "row 2, column 'plan': unknown category 'maybe' (known: no, yes)");
        let e = encode_row(&fields(), &[Cell::Number(1.0)], 0, &mut out).unwrap_err();
        assert_eq!(e, InputError::Arity { row: 0, expected: 3, got: 1 });
        let e = encode_row(&fields(), &[Cell::Number(f64::INFINITY), Cell::Null, Cell::Null], 0, &mut out)
            .unwrap_err();
        assert!(matches!(e, InputError::NotFinite { .. }));
    }

    /// Pieces that make levels and cells collide in every way a match can go wrong: empty,
    /// whitespace, shared prefixes, case, numbers written as levels, non-ASCII.
    const PIECES: &[&str] =
        &["", " ", "a", "a ", " a", "ab", "abc", "A", "b", "415", "415.0", "1.5", "-0", "é", "aé", "\t"];

    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(proptest::sample::select(PIECES), 0..3).prop_map(|p| p.concat())
    }

    fn values(levels: &[f64]) -> Vec<u64> {
        levels.iter().map(|v| v.to_bits()).collect()
    }

    proptest::proptest! {
        /// The quick trim is `str::trim`, on any text and on text padded with every kind of space.
        #[test]
        fn trim_is_str_trim(s in "\\PC{0,8}", pad in proptest::sample::select(&["", " ", "\t", "\u{a0}", "\u{3000}", "\u{85}", "\n\r", "\u{1f}", "\u{7f}"][..])) {
            for t in [s.clone(), format!("{pad}{s}"), format!("{s}{pad}"), format!("{pad}{s}{pad}")] {
                proptest::prop_assert_eq!(trim(&t), t.trim());
            }
        }

        /// The index answers what the scan answers, for every cell: the first of duplicated
        /// levels, unknown text and numbers, empty and padded text, and the same error words.
        #[test]
        fn level_index_equals_the_scan(
            levels in proptest::collection::vec(text(), 0..12),
            cells in proptest::collection::vec(text(), 1..16),
            numbers in proptest::collection::vec(
                proptest::sample::select(&[0.0, -0.0, 1.5, 415.0, 7.0, f64::NAN, f64::INFINITY][..]), 0..4),
        ) {
            let inputs = vec![Field::numeric("x"), Field::categorical("c", levels.clone())];
            let enc = Encoder::new(&inputs);
            let ix = LevelIndex::new(&levels);
            let mut all: Vec<Cell<'_>> = cells.iter().map(|c| Cell::Text(c)).collect();
            all.extend(numbers.iter().map(|&x| Cell::Number(x)));
            all.push(Cell::Null);
            for (i, cell) in all.iter().enumerate() {
                if let Cell::Text(t) = cell {
                    proptest::prop_assert_eq!(ix.find(t), scan(&levels, t));
                }
                let row = [Cell::Number(1.0), *cell];
                let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
                let ra = encode_row(&inputs, &row, i + 1, &mut a);
                let rb = enc.encode_row(&row, i + 1, &mut b);
                proptest::prop_assert_eq!(&ra, &rb);
                if ra.is_ok() {
                    proptest::prop_assert_eq!(values(&a), values(&b));
                }
            }
            for (i, level) in levels.iter().enumerate() {
                proptest::prop_assert_eq!(ix.find(level), scan(&levels, level));
                proptest::prop_assert!(ix.find(level).is_some_and(|k| k <= i));
            }
        }
    }

    /// Many levels (probe chains, every table size up to 4,096 slots), with duplicates: each level
    /// finds its first position, and texts next to them find nothing.
    #[test]
    fn level_index_of_many_levels_equals_the_scan() {
        let levels: Vec<String> = (0..1500).map(|i| format!("L{}", (i * 7919) % 1100)).collect();
        for n in [0, 1, 2, 3, 64, 65, 1500] {
            let ix = LevelIndex::new(&levels[..n]);
            for (i, level) in levels[..n].iter().enumerate() {
                assert_eq!(ix.find(level), scan(&levels[..n], level), "{level}");
                assert!(ix.find(level).is_some_and(|k| k <= i));
            }
            for other in ["", "L", "L1100", "l0", "L0 ", "L00"] {
                assert_eq!(ix.find(other), scan(&levels[..n], other), "{other}");
            }
        }
    }

    #[test]
    fn encoder_answers_like_encode_row() {
        let enc = Encoder::new(&fields());
        assert_eq!(enc.inputs(), &fields()[..]);
        let (mut a, mut b) = ([0.0; 3], [0.0; 3]);
        let row = [Cell::Text(" 2.5"), Cell::Text(" yes "), Cell::Number(415.0)];
        encode_row(&fields(), &row, 1, &mut a).unwrap();
        enc.encode_row(&row, 1, &mut b).unwrap();
        assert_eq!((a, b), ([2.5, 1.0, 1.0], [2.5, 1.0, 1.0]));
        let e = enc.encode_row(&[Cell::Text("maybe")], 3, &mut b).unwrap_err();
        assert_eq!(e, InputError::Arity { row: 3, expected: 3, got: 1 });
        let e = enc.encode_row(&[Cell::Null, Cell::Text("maybe"), Cell::Null], 2, &mut b).unwrap_err();
        assert_eq!(e.to_string(), "row 2, column 'plan': unknown category 'maybe' (known: no, yes)");
    }
}
