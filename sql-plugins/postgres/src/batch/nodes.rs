//! Small raw helpers over PostgreSQL's node trees and lists, for the plan rewrite and the
//! executor: nothing here knows about scorekit.

use std::ffi::c_void;

use pgrx::pg_sys::{self, NodeTag};

/// The node's tag (`T_Invalid` for NULL).
///
/// # Safety
/// `node` is NULL or points to a node.
pub unsafe fn tag(node: *const c_void) -> NodeTag {
    if node.is_null() {
        NodeTag::T_Invalid
    } else {
        // SAFETY: every node starts with its tag.
        unsafe { (*node.cast::<pg_sys::Node>()).type_ }
    }
}

/// The pointers a `List` holds, in order (empty for NIL).
///
/// # Safety
/// `list` is NIL or a pointer list.
pub unsafe fn items<T>(list: *mut pg_sys::List) -> Vec<*mut T> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: `elements` holds `length` cells of a pointer list.
    unsafe {
        (0..(*list).length as usize).map(|i| (*(*list).elements.add(i)).ptr_value.cast::<T>()).collect()
    }
}

/// A new `List` of `ptrs` (NIL when empty), in the current memory context.
///
/// # Safety
/// Each pointer is a node (or what the list's users expect).
pub unsafe fn list_of<T>(ptrs: &[*mut T]) -> *mut pg_sys::List {
    let mut list: *mut pg_sys::List = std::ptr::null_mut();
    for p in ptrs {
        // SAFETY: lappend copies the pointer into a (new) list.
        list = unsafe { pg_sys::lappend(list, p.cast()) };
    }
    list
}

/// The integer of an `Integer` node.
///
/// # Safety
/// `node` is an `Integer` node.
pub unsafe fn int_value(node: *mut c_void) -> i32 {
    // SAFETY: as documented.
    unsafe { (*node.cast::<pg_sys::Integer>()).ival }
}

/// A deep copy of `node` in the current memory context.
///
/// # Safety
/// `node` is NULL or a node.
pub unsafe fn copy<T>(node: *mut T) -> *mut T {
    // SAFETY: copyObjectImpl copies any node.
    unsafe { pg_sys::copyObjectImpl(node.cast_const().cast()).cast() }
}

/// Whether two expression trees are equal (PostgreSQL's `equal`).
///
/// # Safety
/// Both are nodes.
pub unsafe fn same(a: *mut pg_sys::Node, b: *mut pg_sys::Node) -> bool {
    // SAFETY: as documented.
    unsafe { pg_sys::equal(a.cast_const().cast(), b.cast_const().cast()) }
}

/// A `Var` of `varno` (`INDEX_VAR`, `OUTER_VAR`) and 1-based `attno` with `expr`'s type.
///
/// # Safety
/// `expr` is an expression node.
pub unsafe fn var_like(varno: i32, attno: usize, expr: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: exprType and friends read any expression; makeVar allocates a new node.
    unsafe {
        pg_sys::makeVar(
            varno,
            attno as pg_sys::AttrNumber,
            pg_sys::exprType(expr),
            pg_sys::exprTypmod(expr),
            pg_sys::exprCollation(expr),
            0,
        )
        .cast()
    }
}

unsafe extern "C-unwind" {
    // PostgreSQL 15's walker (a macro over `expression_tree_walker_impl` from 16 on); pgrx does
    // not bind it because of its old-style `bool (*)()` callback type.
    #[cfg_attr(not(feature = "pg15"), link_name = "expression_tree_walker_impl")]
    fn expression_tree_walker(
        node: *mut pg_sys::Node,
        walker: Option<unsafe extern "C-unwind" fn(*mut pg_sys::Node, *mut c_void) -> bool>,
        context: *mut c_void,
    ) -> bool;
}

/// Calls `walker` on each direct child of `node` (stopping at the first `true`), PostgreSQL's
/// `expression_tree_walker`.
///
/// # Safety
/// `node` is NULL or an expression node; `walker` and `context` agree.
pub unsafe fn walk_children(
    node: *mut pg_sys::Node,
    walker: unsafe extern "C-unwind" fn(*mut pg_sys::Node, *mut c_void) -> bool,
    context: *mut c_void,
) -> bool {
    // SAFETY: as documented; the boundary turns an ERROR raised below into a Rust panic, as pgrx
    // does for the functions it binds.
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| expression_tree_walker(node, Some(walker), context)) }
}

/// A copy of `node` with each direct child replaced by `mutator(child, context)`, PostgreSQL's
/// `expression_tree_mutator`.
///
/// # Safety
/// `node` is NULL or an expression node; `mutator` and `context` agree.
pub unsafe fn mutate_children(
    node: *mut pg_sys::Node,
    mutator: unsafe extern "C-unwind" fn(*mut pg_sys::Node, *mut c_void) -> *mut pg_sys::Node,
    context: *mut c_void,
) -> *mut pg_sys::Node {
    // SAFETY: pgrx binds the mutator's callback as `fn() -> *mut Node` (C's unprototyped
    // `Node *(*)()`); PostgreSQL calls it with (node, context), which is what `mutator` takes.
    unsafe {
        let cb = std::mem::transmute::<
            unsafe extern "C-unwind" fn(*mut pg_sys::Node, *mut c_void) -> *mut pg_sys::Node,
            unsafe extern "C-unwind" fn() -> *mut pg_sys::Node,
        >(mutator);
        pg_sys::expression_tree_mutator(node, Some(cb), context)
    }
}
