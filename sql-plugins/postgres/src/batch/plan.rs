//! The plan rewrite: after the planner has finished a plan, every projecting node P whose target
//! list calls a scorekit entry point for every row gets a `ScorekitBatch` CustomScan C above it:
//!
//! - P's new target list is C's *leaves*: the call-free parts of the old one, evaluated exactly
//!   where and when they were (so aggregates, window functions, parameters and sub-plans stay in
//!   P), each call's input arguments among them;
//! - C's `custom_scan_tlist` describes its scan tuple: one `OUTER_VAR` reference per leaf, then one
//!   entry per batched call (the call with its inputs as `OUTER_VAR` references: it gives the
//!   result's type, and EXPLAIN VERBOSE shows the call from it);
//! - C's target list is P's old one with each leaf and call replaced by an `INDEX_VAR` reference
//!   into that scan tuple, so C returns exactly the columns P returned and nothing above changes.
//!
//! Only what the old plan evaluated for every row moves: the first operand of `AND` / `OR` /
//! `COALESCE` and the first `WHEN` of a searched `CASE` are evaluated for every row, the other
//! operands and branches only for some, so they stay in C's projection row by row (their
//! column references become leaves; one that holds a parameter or sub-plan leaves its whole
//! target entry to P, as before). Quals stay in P.
//!
//! Not rewritten: plans of SCROLL cursors (C cannot scan backwards), the inner side of a merge
//! join (C cannot mark and restore), and nodes other than scans, joins, aggregates, window
//! aggregates, groups and `Result` over a child.

use std::ffi::{c_char, c_int, c_void};

use pgrx::pg_guard;
use pgrx::pg_sys::{self, NodeTag};

use super::nodes::{copy, items, list_of, mutate_children, same, tag, var_like, walk_children};
use super::{Entry, entry_of};
use crate::guc;

static mut PREVIOUS: pg_sys::planner_hook_type = None;

/// Installs the hook (chaining to whatever hook was there before).
pub fn install() {
    // SAFETY: _PG_init runs once per process, before any planning, on the backend's one thread.
    unsafe {
        PREVIOUS = pg_sys::planner_hook;
        pg_sys::planner_hook = Some(planner);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn planner(
    parse: *mut pg_sys::Query,
    query_string: *const c_char,
    cursor_options: c_int,
    bound_params: pg_sys::ParamListInfo,
) -> *mut pg_sys::PlannedStmt {
    // SAFETY: the arguments are the planner's own, passed on unchanged.
    let stmt = unsafe {
        pg_sys::ffi::pg_guard_ffi_boundary(|| match PREVIOUS {
            Some(previous) => previous(parse, query_string, cursor_options, bound_params),
            None => pg_sys::standard_planner(parse, query_string, cursor_options, bound_params),
        })
    };
    if guc::BATCH_CALLS.get() && (cursor_options as u32 & pg_sys::CURSOR_OPT_SCROLL) == 0 && !stmt.is_null() {
        // SAFETY: a finished plan, in the planner's memory context (where new nodes must go).
        unsafe { rewrite_statement(stmt) };
    }
    stmt
}

/// Where a plan node sits, as far as the rewrite cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Anywhere else.
    Free,
    /// The inner side of a merge join, which marks and restores its position.
    MergeInner,
    /// Right below a `LIMIT` with constant count (and offset): at most this many rows are read.
    UnderLimit(usize),
}

struct Rewriter {
    next_node_id: c_int,
}

unsafe fn rewrite_statement(stmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: the caller's plan, walked and rewritten in place.
    unsafe {
        let mut max_id = 0;
        max_node_id((*stmt).planTree, &mut max_id);
        for sub in items::<pg_sys::Plan>((*stmt).subplans) {
            max_node_id(sub, &mut max_id);
        }
        let mut r = Rewriter { next_node_id: max_id + 1 };
        (*stmt).planTree = r.plan((*stmt).planTree, Place::Free);
        let subplans = (*stmt).subplans;
        if !subplans.is_null() {
            for i in 0..(*subplans).length as usize {
                let cell = (*subplans).elements.add(i);
                let sub = (*cell).ptr_value.cast::<pg_sys::Plan>();
                (*cell).ptr_value = r.plan(sub, Place::Free).cast();
            }
        }
    }
}

/// The plan's children that are plans, with where each sits.
unsafe fn children(plan: *mut pg_sys::Plan) -> Vec<(*mut *mut pg_sys::Plan, Place)> {
    // SAFETY: `plan` is a plan node; each arm reads the fields of its own node type.
    unsafe {
        let mut out: Vec<(*mut *mut pg_sys::Plan, Place)> = Vec::new();
        let t = tag(plan.cast());
        let left_place = if t == NodeTag::T_Limit { limit_rows(plan.cast()) } else { Place::Free };
        out.push((&raw mut (*plan).lefttree, left_place));
        let right_place = if t == NodeTag::T_MergeJoin { Place::MergeInner } else { Place::Free };
        out.push((&raw mut (*plan).righttree, right_place));
        let lists: Vec<*mut pg_sys::List> = match t {
            NodeTag::T_Append => vec![(*plan.cast::<pg_sys::Append>()).appendplans],
            NodeTag::T_MergeAppend => vec![(*plan.cast::<pg_sys::MergeAppend>()).mergeplans],
            NodeTag::T_CustomScan => vec![(*plan.cast::<pg_sys::CustomScan>()).custom_plans],
            _ => Vec::new(),
        };
        for list in lists {
            if list.is_null() {
                continue;
            }
            for i in 0..(*list).length as usize {
                out.push((
                    &raw mut (*(*list).elements.add(i)).ptr_value as *mut *mut pg_sys::Plan,
                    Place::Free,
                ));
            }
        }
        if t == NodeTag::T_SubqueryScan {
            out.push((&raw mut (*plan.cast::<pg_sys::SubqueryScan>()).subplan, Place::Free));
        }
        out
    }
}

unsafe fn max_node_id(plan: *mut pg_sys::Plan, max: &mut c_int) {
    if plan.is_null() {
        return;
    }
    // SAFETY: a plan node and its children.
    unsafe {
        *max = (*max).max((*plan).plan_node_id);
        for (child, _) in children(plan) {
            max_node_id(*child, max);
        }
    }
}

/// How many rows a `LIMIT` node reads from its child, when its count and offset are constants.
unsafe fn limit_rows(limit: *mut pg_sys::Limit) -> Place {
    // SAFETY: a Limit node; its count and offset are NULL or expressions.
    unsafe {
        let constant = |n: *mut pg_sys::Node| -> Option<Option<i64>> {
            if n.is_null() {
                return Some(None);
            }
            if tag(n.cast()) != NodeTag::T_Const {
                return None;
            }
            let c = n.cast::<pg_sys::Const>();
            if (*c).constisnull || (*c).consttype != pg_sys::INT8OID {
                return Some(None);
            }
            Some(Some((*c).constvalue.value() as i64))
        };
        if (*limit).limitOption != pg_sys::LimitOption::LIMIT_OPTION_COUNT {
            return Place::Free;
        }
        match (constant((*limit).limitCount), constant((*limit).limitOffset)) {
            (Some(Some(count)), Some(offset)) if count >= 0 => {
                Place::UnderLimit((count.saturating_add(offset.unwrap_or(0).max(0))).max(1) as usize)
            }
            _ => Place::Free,
        }
    }
}

fn projects(t: NodeTag) -> bool {
    use NodeTag::*;
    matches!(
        t,
        T_SeqScan
            | T_SampleScan
            | T_IndexScan
            | T_IndexOnlyScan
            | T_BitmapHeapScan
            | T_TidScan
            | T_TidRangeScan
            | T_SubqueryScan
            | T_FunctionScan
            | T_ValuesScan
            | T_TableFuncScan
            | T_CteScan
            | T_WorkTableScan
            | T_NestLoop
            | T_MergeJoin
            | T_HashJoin
            | T_Agg
            | T_WindowAgg
            | T_Group
            | T_Result
    )
}

impl Rewriter {
    /// Rewrites `plan`'s subtree (children first) and returns what replaces `plan`.
    unsafe fn plan(&mut self, plan: *mut pg_sys::Plan, place: Place) -> *mut pg_sys::Plan {
        if plan.is_null() {
            return plan;
        }
        // SAFETY: a plan node of the finished plan.
        unsafe {
            if tag(plan.cast()) == NodeTag::T_Agg {
                push_down_aggregate_calls(plan.cast());
            }
            for (child, child_place) in children(plan) {
                *child = self.plan(*child, child_place);
            }
            let t = tag(plan.cast());
            let has_input = t != NodeTag::T_Result || !(*plan).lefttree.is_null();
            if !projects(t) || !has_input || place == Place::MergeInner {
                return plan;
            }
            let limit = match place {
                Place::UnderLimit(n) => n,
                _ => 0,
            };
            match Split::of(plan) {
                Some(split) => {
                    let id = self.next_node_id;
                    self.next_node_id += 1;
                    split.install(plan, id, limit)
                }
                None => plan,
            }
        }
    }
}

/// An aggregate evaluates its arguments itself, row by row (`avg(will_churn(...))`): a call there
/// is in no target list. Each argument holding a call of an aggregate evaluated for every input
/// row (no `FILTER`, not combining partial states, no grouping sets) moves into the input node's
/// target list — the aggregate reads it as one more input column — where the usual split then
/// batches it. The input must be a node that projects (a scan, a join); otherwise nothing moves.
unsafe fn push_down_aggregate_calls(agg: *mut pg_sys::Agg) {
    // SAFETY: an Agg node and its input; new nodes go to the planner's memory context.
    unsafe {
        let input = (*agg).plan.lefttree;
        if input.is_null()
            || !(*agg).groupingSets.is_null()
            || !projects(tag(input.cast()))
            || (tag(input.cast()) == NodeTag::T_Result && (*input).lefttree.is_null())
        {
            return;
        }
        let mut cx = PushDown { input_tlist: items((*input).targetlist), pushed: Vec::new() };
        let cxp = (&raw mut cx).cast::<c_void>();
        (*agg).plan.targetlist =
            mutate_children((*agg).plan.targetlist.cast(), aggregate_mutator, cxp).cast();
        (*agg).plan.qual = mutate_children((*agg).plan.qual.cast(), aggregate_mutator, cxp).cast();
        if !cx.pushed.is_empty() {
            (*input).targetlist = list_of(&cx.input_tlist);
        }
    }
}

struct PushDown {
    input_tlist: Vec<*mut pg_sys::TargetEntry>,
    /// Expressions appended to the input's target list (an identical one is read again).
    pushed: Vec<(*mut pg_sys::Node, usize)>,
}

#[pg_guard]
unsafe extern "C-unwind" fn aggregate_mutator(node: *mut pg_sys::Node, cx: *mut c_void) -> *mut pg_sys::Node {
    if node.is_null() {
        return node;
    }
    // SAFETY: `cx` is the PushDown of push_down_aggregate_calls; nodes are the Agg's expressions.
    unsafe {
        let cx = &mut *cx.cast::<PushDown>();
        if tag(node.cast()) != NodeTag::T_Aggref {
            return mutate_children(node, aggregate_mutator, (cx as *mut PushDown).cast());
        }
        let a = node.cast::<pg_sys::Aggref>();
        if !(*a).aggfilter.is_null() || ((*a).aggsplit & pg_sys::AGGSPLITOP_COMBINE) != 0 || !has_call(node) {
            return node;
        }
        let a = copy(a);
        for arg in items::<pg_sys::TargetEntry>((*a).args) {
            let expr = (*arg).expr.cast::<pg_sys::Node>();
            if !has_call(expr) {
                continue;
            }
            let below = mutate_children(expr, input_var_mutator, (cx as *mut PushDown).cast());
            let below = input_var_mutator_one(cx, below);
            let at = match cx.pushed.iter().find(|(e, _)| same(*e, below)) {
                Some(&(_, at)) => at,
                None => {
                    let resno = cx.input_tlist.len() + 1;
                    let tle = pg_sys::makeTargetEntry(
                        below.cast(),
                        resno as pg_sys::AttrNumber,
                        std::ptr::null_mut(),
                        false,
                    );
                    cx.input_tlist.push(tle);
                    cx.pushed.push((below, resno));
                    resno
                }
            };
            (*arg).expr = var_like(pg_sys::OUTER_VAR, at, expr).cast();
        }
        a.cast()
    }
}

/// `node` with the Agg's references to its input (`OUTER_VAR` columns) replaced by what the input
/// computes for them, so that it can be evaluated in the input's own target list.
unsafe fn input_var_mutator_one(cx: &mut PushDown, node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: an expression node over the Agg's input.
    unsafe {
        if tag(node.cast()) == NodeTag::T_Var {
            let v = node.cast::<pg_sys::Var>();
            if (*v).varno == pg_sys::OUTER_VAR {
                let k = (*v).varattno as usize;
                if k >= 1 && k <= cx.input_tlist.len() {
                    return copy((*cx.input_tlist[k - 1]).expr.cast::<pg_sys::Node>());
                }
            }
        }
        node
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn input_var_mutator(node: *mut pg_sys::Node, cx: *mut c_void) -> *mut pg_sys::Node {
    if node.is_null() {
        return node;
    }
    // SAFETY: as input_var_mutator_one.
    unsafe {
        let cx = &mut *cx.cast::<PushDown>();
        if tag(node.cast()) == NodeTag::T_Var {
            return input_var_mutator_one(cx, node);
        }
        mutate_children(node, input_var_mutator, (cx as *mut PushDown).cast())
    }
}

/// A batched call: its entry point, the call as the scan tuple describes it, and its inputs.
struct Site {
    entry: Entry,
    /// The call with its inputs replaced by `OUTER_VAR` references to their leaves.
    call: *mut pg_sys::Node,
    /// The leading constant arguments (model / endpoint name, max rows) and the input leaves:
    /// two calls with the same are the same call (both entry points are STABLE).
    leading: Vec<*mut pg_sys::Node>,
    inputs: Vec<usize>,
}

/// The target list of one node taken apart into leaves (for the node) and batched calls (for
/// the CustomScan above it).
struct Split {
    leaves: Vec<*mut pg_sys::Node>,
    sites: Vec<Site>,
    /// `INDEX_VAR` references to sites, whose attribute numbers are known only at the end.
    site_refs: Vec<(*mut pg_sys::Var, usize)>,
    failed: bool,
}

/// What kind of call `node` is: a batchable call of one of our entry points (constant leading
/// arguments, inputs passed one by one), with the input arguments.
unsafe fn batchable_call(node: *mut pg_sys::Node) -> Option<(Entry, Vec<*mut pg_sys::Node>)> {
    // SAFETY: `node` is an expression node; a FuncExpr's args is a list of expressions.
    unsafe {
        if tag(node.cast()) != NodeTag::T_FuncExpr {
            return None;
        }
        let f = node.cast::<pg_sys::FuncExpr>();
        let ret = (*f).funcresulttype;
        if (*f).funcretset || (*f).funcvariadic || (ret != pg_sys::FLOAT8OID && ret != pg_sys::VARCHAROID) {
            return None;
        }
        let entry = entry_of((*f).funcid)?;
        let args = items::<pg_sys::Node>((*f).args);
        if args.len() < entry.leading_args() {
            return None;
        }
        // The executor reads the name as text (text_to_cstring): only a non-null text or varchar
        // constant batches; anything else stays on the row path, which reads it as it is.
        let model = args[0];
        if tag(model.cast()) != NodeTag::T_Const {
            return None;
        }
        let name = model.cast::<pg_sys::Const>();
        if (*name).constisnull
            || ((*name).consttype != pg_sys::TEXTOID && (*name).consttype != pg_sys::VARCHAROID)
        {
            return None;
        }
        if entry == Entry::InvokeEndpoint {
            let max_rows = args[1];
            if tag(max_rows.cast()) != NodeTag::T_Const {
                return None;
            }
            let c = max_rows.cast::<pg_sys::Const>();
            // An invalid max_rows_per_batch stays on the row path, which names the error.
            if !(*c).constisnull
                && ((*c).consttype != pg_sys::INT4OID || ((*c).constvalue.value() as i32) < 1)
            {
                return None;
            }
        }
        Some((entry, args))
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn has_call_walker(node: *mut pg_sys::Node, _cx: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    // SAFETY: the walker's own node and context.
    unsafe { batchable_call(node).is_some() || walk_children(node, has_call_walker, std::ptr::null_mut()) }
}

/// Whether `node` holds a batchable call anywhere (sub-plans' own plans aside: they are
/// rewritten as plans of their own).
unsafe fn has_call(node: *mut pg_sys::Node) -> bool {
    // SAFETY: as the walker.
    unsafe { has_call_walker(node, std::ptr::null_mut()) }
}

#[pg_guard]
unsafe extern "C-unwind" fn every_row_mutator(node: *mut pg_sys::Node, cx: *mut c_void) -> *mut pg_sys::Node {
    // SAFETY: `cx` is the Split the rewrite passed.
    unsafe { (*cx.cast::<Split>()).every_row(node) }
}

#[pg_guard]
unsafe extern "C-unwind" fn some_rows_mutator(node: *mut pg_sys::Node, cx: *mut c_void) -> *mut pg_sys::Node {
    // SAFETY: as above.
    unsafe { (*cx.cast::<Split>()).some_rows(node) }
}

/// Expressions that evaluate every argument whenever they are evaluated.
fn evaluates_all_children(t: NodeTag) -> bool {
    use NodeTag::*;
    matches!(
        t,
        T_List
            | T_FuncExpr
            | T_OpExpr
            | T_DistinctExpr
            | T_NullIfExpr
            | T_ScalarArrayOpExpr
            | T_RelabelType
            | T_CoerceViaIO
            | T_NullTest
            | T_BooleanTest
            | T_CoerceToDomain
            | T_RowExpr
            | T_ArrayExpr
            | T_MinMaxExpr
            | T_FieldSelect
    )
}

impl Split {
    /// Splits `plan`'s target list, or `None` when nothing in it batches.
    unsafe fn of(plan: *mut pg_sys::Plan) -> Option<Split> {
        // SAFETY: a plan node whose target list holds target entries.
        unsafe {
            let tlist = items::<pg_sys::TargetEntry>((*plan).targetlist);
            if !tlist.iter().any(|&tle| has_call((*tle).expr.cast())) {
                return None;
            }
            let mut s = Split { leaves: Vec::new(), sites: Vec::new(), site_refs: Vec::new(), failed: false };
            let mut new_tlist = Vec::with_capacity(tlist.len());
            for tle in tlist {
                let marks = (s.leaves.len(), s.sites.len(), s.site_refs.len());
                let expr = (*tle).expr.cast::<pg_sys::Node>();
                let mut rewritten = s.every_row(expr);
                if s.failed {
                    s.leaves.truncate(marks.0);
                    s.sites.truncate(marks.1);
                    s.site_refs.truncate(marks.2);
                    s.failed = false;
                    rewritten = s.leaf(expr);
                }
                let new = pg_sys::flatCopyTargetEntry(tle);
                (*new).expr = rewritten.cast();
                new_tlist.push(new);
            }
            if s.sites.is_empty() {
                return None;
            }
            (*plan).targetlist = list_of(&new_tlist);
            Some(s)
        }
    }

    /// `node` as evaluated for every row: batched calls become sites, call-free subtrees leaves.
    unsafe fn every_row(&mut self, node: *mut pg_sys::Node) -> *mut pg_sys::Node {
        if self.failed || node.is_null() {
            return node;
        }
        // SAFETY: `node` is an expression node of the target list being split.
        unsafe {
            let t = tag(node.cast());
            if t == NodeTag::T_List {
                return mutate_children(node, every_row_mutator, (self as *mut Split).cast());
            }
            if !has_call(node) {
                return self.leaf(node);
            }
            if let Some((entry, args)) = batchable_call(node)
                && !args[entry.leading_args()..].iter().any(|&a| has_call(a))
            {
                return self.site(node, entry, &args);
            }
            match t {
                NodeTag::T_BoolExpr
                    if (*node.cast::<pg_sys::BoolExpr>()).boolop != pg_sys::BoolExprType::NOT_EXPR =>
                {
                    let b = copy(node.cast::<pg_sys::BoolExpr>());
                    (*b).args = self.first_always(items((*b).args));
                    b.cast()
                }
                NodeTag::T_CoalesceExpr => {
                    let c = copy(node.cast::<pg_sys::CoalesceExpr>());
                    (*c).args = self.first_always(items((*c).args));
                    c.cast()
                }
                NodeTag::T_CaseExpr => {
                    let c = copy(node.cast::<pg_sys::CaseExpr>());
                    let searched = (*c).arg.is_null();
                    (*c).arg = self.every_row((*c).arg.cast()).cast();
                    for (i, when) in items::<pg_sys::CaseWhen>((*c).args).into_iter().enumerate() {
                        // Only a searched CASE's first condition is evaluated for every row (a
                        // simple CASE's conditions read its operand through a placeholder).
                        (*when).expr = if i == 0 && searched {
                            self.every_row((*when).expr.cast()).cast()
                        } else {
                            self.some_rows((*when).expr.cast()).cast()
                        };
                        (*when).result = self.some_rows((*when).result.cast()).cast();
                    }
                    (*c).defresult = self.some_rows((*c).defresult.cast()).cast();
                    c.cast()
                }
                _ if evaluates_all_children(t) || t == NodeTag::T_BoolExpr => {
                    mutate_children(node, every_row_mutator, (self as *mut Split).cast())
                }
                _ => {
                    self.failed = true;
                    node
                }
            }
        }
    }

    /// The operands of AND / OR / COALESCE: the first is evaluated for every row, the others
    /// only when the ones before did not decide.
    unsafe fn first_always(&mut self, args: Vec<*mut pg_sys::Node>) -> *mut pg_sys::List {
        let mut out = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            // SAFETY: operands are expression nodes.
            out.push(unsafe { if i == 0 { self.every_row(a) } else { self.some_rows(a) } });
        }
        // SAFETY: a list of expression nodes.
        unsafe { list_of(&out) }
    }

    /// `node` as evaluated for some rows only: it stays in the CustomScan's projection, row by
    /// row, reading what it needs (columns, aggregates, window functions) as leaves.
    unsafe fn some_rows(&mut self, node: *mut pg_sys::Node) -> *mut pg_sys::Node {
        if self.failed || node.is_null() {
            return node;
        }
        use NodeTag::*;
        // SAFETY: an expression node.
        unsafe {
            match tag(node.cast()) {
                T_Var | T_Aggref | T_WindowFunc | T_GroupingFunc => self.leaf(node),
                // Their value depends on when they are evaluated (a parameter set by an outer
                // row, an init-plan started on demand): they must stay where they were.
                T_Param | T_SubPlan | T_AlternativeSubPlan | T_SubLink | T_PlaceHolderVar => {
                    self.failed = true;
                    node
                }
                _ => mutate_children(node, some_rows_mutator, (self as *mut Split).cast()),
            }
        }
    }

    /// An `INDEX_VAR` reference to the leaf computing `node` in the node below (one per distinct
    /// column reference; other expressions each get their own, as they may be volatile).
    unsafe fn leaf(&mut self, node: *mut pg_sys::Node) -> *mut pg_sys::Node {
        // SAFETY: an expression node.
        unsafe {
            let found = if tag(node.cast()) == NodeTag::T_Var {
                self.leaves.iter().position(|&l| tag(l.cast()) == NodeTag::T_Var && same(l, node))
            } else {
                None
            };
            let i = found.unwrap_or_else(|| {
                self.leaves.push(node);
                self.leaves.len() - 1
            });
            var_like(pg_sys::INDEX_VAR, i + 1, node)
        }
    }

    /// A reference to the batched call `node` (a site shared with an identical call).
    unsafe fn site(
        &mut self,
        node: *mut pg_sys::Node,
        entry: Entry,
        args: &[*mut pg_sys::Node],
    ) -> *mut pg_sys::Node {
        // SAFETY: `node` is the FuncExpr whose arguments are `args`.
        unsafe {
            let n = entry.leading_args();
            let leading: Vec<*mut pg_sys::Node> = args[..n].to_vec();
            let inputs: Vec<usize> = args[n..]
                .iter()
                .map(|&a| {
                    let r = self.leaf(a).cast::<pg_sys::Var>();
                    (*r).varattno as usize - 1
                })
                .collect();
            let existing = self.sites.iter().position(|s| {
                s.entry == entry
                    && s.inputs == inputs
                    && s.leading.iter().zip(&leading).all(|(&a, &b)| same(a, b))
            });
            let k = match existing {
                Some(k) => k,
                None => {
                    let call = copy(node.cast::<pg_sys::FuncExpr>());
                    let mut new_args: Vec<*mut pg_sys::Node> = leading.iter().map(|&a| copy(a)).collect();
                    for &i in &inputs {
                        new_args.push(var_like(pg_sys::OUTER_VAR, i + 1, self.leaves[i]));
                    }
                    (*call).args = list_of(&new_args);
                    self.sites.push(Site { entry, call: call.cast(), leading, inputs });
                    self.sites.len() - 1
                }
            };
            let r = var_like(pg_sys::INDEX_VAR, 1, node).cast::<pg_sys::Var>();
            self.site_refs.push((r, k));
            r.cast()
        }
    }

    /// Makes `plan`'s target list the leaves and returns the CustomScan that replaces it.
    unsafe fn install(self, plan: *mut pg_sys::Plan, node_id: c_int, limit: usize) -> *mut pg_sys::Plan {
        // SAFETY: `plan` is the node split (its target list already the rewritten one, moved
        // below); new nodes go to the planner's memory context.
        unsafe {
            let n_leaves = self.leaves.len();
            for &(r, k) in &self.site_refs {
                (*r).varattno = (n_leaves + k + 1) as pg_sys::AttrNumber;
            }
            let above_tlist = (*plan).targetlist;
            let mut below = Vec::with_capacity(n_leaves);
            let mut scan_tlist = Vec::with_capacity(n_leaves + self.sites.len());
            for (i, &leaf) in self.leaves.iter().enumerate() {
                let resno = (i + 1) as pg_sys::AttrNumber;
                below.push(pg_sys::makeTargetEntry(leaf.cast(), resno, std::ptr::null_mut(), false));
                let r = var_like(pg_sys::OUTER_VAR, i + 1, leaf);
                scan_tlist.push(pg_sys::makeTargetEntry(r.cast(), resno, std::ptr::null_mut(), false));
            }
            let mut private: Vec<*mut pg_sys::Integer> = vec![
                pg_sys::makeInteger(n_leaves as c_int),
                pg_sys::makeInteger(limit.min(c_int::MAX as usize) as c_int),
            ];
            for (k, site) in self.sites.iter().enumerate() {
                let resno = (n_leaves + k + 1) as pg_sys::AttrNumber;
                scan_tlist.push(pg_sys::makeTargetEntry(
                    site.call.cast(),
                    resno,
                    std::ptr::null_mut(),
                    false,
                ));
                private.push(pg_sys::makeInteger(site.entry.code()));
            }

            let cscan =
                pg_sys::palloc0(std::mem::size_of::<pg_sys::CustomScan>()).cast::<pg_sys::CustomScan>();
            (*cscan).scan.plan.type_ = NodeTag::T_CustomScan;
            let p = &mut (*cscan).scan.plan;
            p.startup_cost = (*plan).startup_cost;
            p.total_cost = (*plan).total_cost;
            p.plan_rows = (*plan).plan_rows;
            p.plan_width = (*plan).plan_width;
            p.parallel_aware = false;
            p.parallel_safe = (*plan).parallel_safe;
            p.async_capable = false;
            p.plan_node_id = node_id;
            p.targetlist = above_tlist;
            p.lefttree = plan;
            p.extParam = pg_sys::bms_copy((*plan).extParam);
            p.allParam = pg_sys::bms_copy((*plan).allParam);
            (*cscan).scan.scanrelid = 0;
            (*cscan).custom_private = list_of(&private);
            (*cscan).custom_scan_tlist = list_of(&scan_tlist);
            (*cscan).methods = super::exec::scan_methods();
            (*plan).targetlist = list_of(&below);
            cscan.cast()
        }
    }
}
