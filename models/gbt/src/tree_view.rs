//! A read-only view of the trees for code generators (`scorekit-compile` emits each tree as
//! WebAssembly code): every node with the exact rule the reference walk ([`GbtModel::leaf_index`])
//! applies, so generated code can reproduce it without knowing the stored encoding.

use alloc::vec::Vec;

use crate::model::GbtModel;

/// One node of a tree, as [`GbtModel::node`] shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum TreeNode {
    /// A leaf: the tree's output for the rows that reach it.
    Leaf {
        /// The value added to the margin.
        value: f64,
    },
    /// A split: `test` sends a row left or right; a missing value (NaN), and for a categorical
    /// feature any value that is not one of its levels (a fraction, a negative number, a level
    /// index at or past the count), goes left when `default_left`.
    Split {
        /// The feature (column of the row) tested.
        feature: usize,
        /// Where a missing or unknown value goes.
        default_left: bool,
        /// The test on a present value.
        test: SplitTest,
        /// Node index of the left child.
        left: usize,
        /// Node index of the right child.
        right: usize,
    },
}

/// The test of a split on a present value.
#[derive(Clone, Debug, PartialEq)]
pub enum SplitTest {
    /// Numeric: `x <= threshold` goes left (compared as `f64`).
    AtMost(f64),
    /// Categorical: level `l` (an integer `0 <= l < levels_left.len()`) goes left when
    /// `levels_left[l]`; the length is the feature's number of levels.
    Levels(Vec<bool>),
}

impl GbtModel {
    /// Node index of the root of tree `t` (`t < n_trees()`).
    ///
    /// # Panics
    /// If `t` is out of range.
    pub fn tree_root(&self, t: usize) -> usize {
        self.tree_starts[t] as usize
    }

    /// Node `i` of the shared node array: children come after their parent, inside their tree.
    ///
    /// # Panics
    /// If `i` is out of range (indices from [`GbtModel::tree_root`] and [`TreeNode::Split`] are not).
    pub fn node(&self, i: usize) -> TreeNode {
        let n = &self.nodes[i];
        if n.is_leaf() {
            return TreeNode::Leaf { value: n.value };
        }
        let test = if n.categorical {
            let levels = self.cat_levels[n.feature as usize];
            SplitTest::Levels((0..levels).map(|l| self.level_goes_left(n, l)).collect())
        } else {
            SplitTest::AtMost(n.value)
        };
        TreeNode::Split {
            feature: n.feature as usize,
            default_left: n.default_left,
            test,
            left: n.left as usize,
            right: n.left as usize + 1,
        }
    }
}
