//! Scoring: the reference walk of each tree's node array, and the entry points that use the
//! branch-free layout (`layout.rs`, feature `layout`) when the build and the model have one. No
//! std float calls (the probability link goes through `scorekit_core::math`), so native and Wasm
//! scores match bit for bit.

use scorekit_core::math;

use crate::error::GbtError;
use crate::model::{GbtModel, Node, Objective};

impl GbtModel {
    /// Whether `x` goes to the left child of split `node`. A missing value, a category that is not
    /// an integer level of the feature, or a feature absent from a short row takes the learned
    /// default direction.
    #[inline]
    pub(crate) fn goes_left(&self, node: &Node, x: &[f64]) -> bool {
        let f = node.feature as usize;
        let v = match x.get(f) {
            Some(&v) if !v.is_nan() => v,
            _ => return node.default_left,
        };
        if !node.categorical {
            return v <= node.value;
        }
        match level_of(v, self.cat_levels[f]) {
            Some(level) => self.level_goes_left(node, level),
            None => node.default_left,
        }
    }

    /// Whether level `level` (a level of the split's feature) goes left at categorical split
    /// `node`: its bit is set; levels beyond the bitset go right.
    #[inline]
    pub(crate) fn level_goes_left(&self, node: &Node, level: u32) -> bool {
        let word = (level / 32) as usize;
        if word >= node.cat_len as usize {
            return false;
        }
        self.cat_bits[node.cat_start as usize + word] >> (level % 32) & 1 == 1
    }

    /// Index of the leaf that `x` reaches in tree `t`.
    #[inline]
    pub(crate) fn leaf_index(&self, t: usize, x: &[f64]) -> usize {
        let mut i = self.tree_starts[t] as usize;
        loop {
            let node = &self.nodes[i];
            if node.is_leaf() {
                return i;
            }
            i = node.left as usize + usize::from(!self.goes_left(node, x));
        }
    }

    /// Output of tree `t` for `x`.
    #[inline]
    pub(crate) fn tree_value(&self, t: usize, x: &[f64]) -> f64 {
        self.nodes[self.leaf_index(t, x)].value
    }

    /// The raw margin: log-odds of the positive class (binary) or the value (regression).
    ///
    /// `x` holds one value per feature (`x.len() == n_features()`), categorical features as level
    /// index, `NaN` for missing. A short row is scored as if the absent features were missing.
    pub fn predict_raw(&self, x: &[f64]) -> f64 {
        debug_assert_eq!(x.len(), self.n_features, "row length");
        #[cfg(feature = "layout")]
        if let Some(layout) = self.layout.get(self) {
            return layout.with_scratch(layout.width(), |bins| {
                layout.bin_row(x, bins);
                layout.margin_one(self.base_score, bins)
            });
        }
        self.predict_raw_reference(x)
    }

    /// [`predict_raw`](Self::predict_raw) by walking the stored nodes: the definition the
    /// scoring layout must match bit for bit.
    pub fn predict_raw_reference(&self, x: &[f64]) -> f64 {
        let mut margin = self.base_score;
        for t in 0..self.n_trees() {
            margin += self.tree_value(t, x);
        }
        margin
    }

    /// The prediction: probability of the positive class (binary) or the value (regression).
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.link(self.predict_raw(x))
    }

    /// Maps a margin to the prediction scale.
    #[inline]
    pub fn link(&self, margin: f64) -> f64 {
        match self.objective {
            Objective::Binary => math::sigmoid(margin),
            Objective::Regression => margin,
        }
    }

    /// Scores row-major `rows` (`n_features()` values per row) into `out`, one prediction per row.
    ///
    /// # Errors
    /// [`GbtError::Shape`] unless `rows.len() == out.len() * n_features()`.
    pub fn predict_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), GbtError> {
        self.predict_batch_with(rows, out, |_, _| false)
    }

    /// [`predict_batch`](Self::predict_batch), with the margins computed by `margins` when it
    /// says so (returns `true`): it gets the rows and writes one margin per row into `out`, the
    /// base score plus every tree's output added in tree order, exactly as
    /// [`predict_raw_reference`](Self::predict_raw_reference) sums them (the Wasm guest passes
    /// the tree code `host compile` generated). When it returns `false` the model's own scorer
    /// computes them. The link is applied afterwards either way.
    ///
    /// # Errors
    /// As [`predict_batch`](Self::predict_batch); `margins` is not called then.
    pub fn predict_batch_with(
        &self,
        rows: &[f64],
        out: &mut [f64],
        margins: impl FnOnce(&[f64], &mut [f64]) -> bool,
    ) -> Result<(), GbtError> {
        let expected = out.len() * self.n_features;
        if rows.len() != expected {
            return Err(GbtError::Shape { what: "rows (out.len() * n_features)", expected, got: rows.len() });
        }
        if !margins(rows, out) {
            self.margins(rows, out);
        }
        for o in out.iter_mut() {
            *o = self.link(*o);
        }
        Ok(())
    }

    /// The margins of row-major `rows` into `out` (shapes checked by the caller).
    fn margins(&self, rows: &[f64], out: &mut [f64]) {
        #[cfg(feature = "layout")]
        if let Some(layout) = self.layout.get(self) {
            layout.margins(self, rows, out);
            return;
        }
        // Deep trees, or a build without the layout (the Wasm guest): tree-major over blocks of
        // rows, so the walks of different rows overlap.
        // Each row still sums base + tree 0 + tree 1 + … in order, as `predict` does.
        const BLOCK: usize = 64;
        let nf = self.n_features;
        for (rows, out) in rows.chunks(BLOCK * nf).zip(out.chunks_mut(BLOCK)) {
            let mut margin = [self.base_score; BLOCK];
            for t in 0..self.n_trees() {
                for (m, row) in margin.iter_mut().zip(rows.chunks_exact(nf)) {
                    *m += self.tree_value(t, row);
                }
            }
            out.copy_from_slice(&margin[..out.len()]);
        }
    }
}

/// The level a categorical value stands for (scorekit-core's one reading of a level index), or
/// `None` for a missing value, a fraction, a negative number or a level the feature does not have.
#[inline]
pub(crate) fn level_of(v: f64, n_levels: u32) -> Option<u32> {
    scorekit_core::level_index(v, n_levels as usize).map(|level| level as u32)
}
