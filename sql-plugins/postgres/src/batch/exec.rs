//! The `ScorekitBatch` executor node: reads a batch of rows from its child (the node whose
//! target list the planner hook split), scores every batched call for the whole batch in one
//! call of the host layer's `Scorer` (a module call, or requests of at most the policy's
//! `max_rows_per_request` rows to a remote endpoint), then returns the rows one by one with the
//! child's original target list computed over its leaves and the call results.
//!
//! A batch is at most `scorekit.batch_size` rows, at most `max_rows_per_batch` for an
//! `invoke_endpoint` call, at most `work_mem` of copied rows, and the first batch no more than
//! the `LIMIT` right above asks for. Rows are copied into a memory context of the node's own,
//! reset per batch; the Rust side of the node is freed when the node ends or, on an error, when
//! the query's memory goes (a reset callback). A rescan drops the batch and rescans the child.
//! Errors name the row by its position among the rows this node read (from 1), as
//! `score_query` does.

use std::ffi::{CStr, c_void};

use pgrx::pg_sys::{self, NodeTag};
use pgrx::{IntoDatum, pg_guard};
use scorekit_host::Value;

use super::nodes::{int_value, items};
use super::{Entry, NAME};
use crate::cells::{self, Datum};
use crate::error::OrRaise;
use crate::{engine, guc, policy, score};

/// Method tables PostgreSQL keeps pointers to (read-only after load).
struct Methods<T>(T);
// SAFETY: written once at compile time, only read afterwards.
unsafe impl<T> Sync for Methods<T> {}

static SCAN: Methods<pg_sys::CustomScanMethods> = Methods(pg_sys::CustomScanMethods {
    CustomName: NAME.as_ptr(),
    CreateCustomScanState: Some(create_state),
});

static EXEC: Methods<pg_sys::CustomExecMethods> = Methods(pg_sys::CustomExecMethods {
    CustomName: NAME.as_ptr(),
    BeginCustomScan: Some(begin),
    ExecCustomScan: Some(next),
    EndCustomScan: Some(end),
    ReScanCustomScan: Some(rescan),
    MarkPosCustomScan: None,
    RestrPosCustomScan: None,
    EstimateDSMCustomScan: None,
    InitializeDSMCustomScan: None,
    ReInitializeDSMCustomScan: None,
    InitializeWorkerCustomScan: None,
    ShutdownCustomScan: None,
    ExplainCustomScan: Some(explain),
});

/// The plan-time methods (what the planner hook puts in each CustomScan).
pub fn scan_methods() -> *const pg_sys::CustomScanMethods {
    &SCAN.0
}

/// Registers the methods by name, so that parallel workers (which read plans from text) find them.
pub fn register_methods() {
    // SAFETY: a static method table, registered once per process from _PG_init.
    unsafe { pg_sys::RegisterCustomScanMethods(&SCAN.0) };
}

/// The node's state: PostgreSQL's part first, then a pointer to ours.
#[repr(C)]
struct NodeState {
    css: pg_sys::CustomScanState,
    batch: *mut Batch,
    on_reset: pg_sys::MemoryContextCallback,
}

/// One batched call.
struct Site {
    entry: Entry,
    /// The model (`score_args`) or endpoint (`invoke_endpoint`) name.
    name: String,
    max_rows: Option<usize>,
    /// Per model input: its leaf (column of the child's output) and type.
    inputs: Vec<(usize, pg_sys::Oid)>,
    /// The same leaves with the reader of their type, chosen once.
    readers: Vec<(usize, cells::Reader)>,
    scores: Vec<f64>,
    answers: Vec<String>,
}

struct Batch {
    sites: Vec<Site>,
    n_leaves: usize,
    /// Rows the LIMIT above reads, 0 when there is none.
    limit: usize,
    /// A slot over the child's row type, for reading copied rows.
    row_slot: *mut pg_sys::TupleTableSlot,
    cx: pg_sys::MemoryContext,
    rows: Vec<pg_sys::MinimalTuple>,
    next: usize,
    exhausted: bool,
    /// Rows read from the child before this batch (since the start or the last rescan).
    seen: usize,
    batches: u64,
}

impl Batch {
    /// Rows the next batch may hold.
    fn target(&self) -> usize {
        let mut n = guc::BATCH_SIZE.get().max(1) as usize;
        for s in &self.sites {
            if let Some(m) = s.max_rows {
                n = n.min(m);
            }
        }
        if self.seen == 0 && self.limit > 0 {
            n = n.min(self.limit);
        }
        n
    }
}

fn switch_to(cx: pg_sys::MemoryContext) -> pg_sys::MemoryContext {
    // SAFETY: the backend's one current-context pointer, swapped on its own thread.
    unsafe {
        let old = pg_sys::CurrentMemoryContext;
        pg_sys::CurrentMemoryContext = cx;
        old
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn create_state(cscan: *mut pg_sys::CustomScan) -> *mut pg_sys::Node {
    // SAFETY: a zeroed node in the executor's memory context, tagged as PostgreSQL expects.
    unsafe {
        let s = pg_sys::palloc0(std::mem::size_of::<NodeState>()).cast::<NodeState>();
        (*s).css.ss.ps.type_ = NodeTag::T_CustomScanState;
        (*s).css.flags = (*cscan).flags;
        (*s).css.methods = &EXEC.0;
        s.cast()
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn drop_batch(arg: *mut c_void) {
    // SAFETY: `arg` is the node state, whose memory outlives its context's reset callbacks.
    unsafe {
        let s = arg.cast::<NodeState>();
        if !(*s).batch.is_null() {
            drop(Box::from_raw((*s).batch));
            (*s).batch = std::ptr::null_mut();
        }
    }
}

/// The text of a text-like constant.
unsafe fn const_text(node: *mut pg_sys::Node) -> String {
    // SAFETY: a non-null Const of type text or varchar (the planner hook checked it).
    unsafe {
        let c = node.cast::<pg_sys::Const>();
        let p = pg_sys::text_to_cstring((*c).constvalue.cast_mut_ptr());
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn begin(
    node: *mut pg_sys::CustomScanState,
    estate: *mut pg_sys::EState,
    eflags: i32,
) {
    // SAFETY: PostgreSQL's CustomScan state for a plan the planner hook made; this runs in the
    // query's memory context.
    unsafe {
        let s = node.cast::<NodeState>();
        let cscan = (*node).ss.ps.plan.cast::<pg_sys::CustomScan>();
        let child = pg_sys::ExecInitNode((*cscan).scan.plan.lefttree, estate, eflags);
        (*node).ss.ps.lefttree = child;

        let private = items::<c_void>((*cscan).custom_private);
        let n_leaves = int_value(private[0]) as usize;
        let limit = int_value(private[1]) as usize;
        let scan_tlist = items::<pg_sys::TargetEntry>((*cscan).custom_scan_tlist);
        let mut sites = Vec::new();
        for (k, &code) in private[2..].iter().enumerate() {
            let entry =
                Entry::from_code(int_value(code)).unwrap_or_else(|| pgrx::error!("scorekit batch: bad plan"));
            let call = (*scan_tlist[n_leaves + k]).expr.cast::<pg_sys::FuncExpr>();
            let args = items::<pg_sys::Node>((*call).args);
            let name = const_text(args[0]);
            let max_rows = if entry == Entry::InvokeEndpoint {
                let c = args[1].cast::<pg_sys::Const>();
                (!(*c).constisnull).then(|| ((*c).constvalue.value() as i32).max(1) as usize)
            } else {
                None
            };
            let inputs: Vec<(usize, pg_sys::Oid)> = args[entry.leading_args()..]
                .iter()
                .map(|&a| {
                    let v = a.cast::<pg_sys::Var>();
                    ((*v).varattno as usize - 1, (*v).vartype)
                })
                .collect();
            let readers = inputs.iter().map(|&(i, oid)| (i, cells::Reader::of(oid))).collect();
            sites.push(Site {
                entry,
                name,
                max_rows,
                inputs,
                readers,
                scores: Vec::new(),
                answers: Vec::new(),
            });
        }

        let row_slot =
            pg_sys::MakeSingleTupleTableSlot(pg_sys::ExecGetResultType(child), &pg_sys::TTSOpsMinimalTuple);
        let cx = pg_sys::AllocSetContextCreateInternal(
            pg_sys::CurrentMemoryContext,
            c"scorekit batch".as_ptr(),
            0,
            8 * 1024,
            8 * 1024 * 1024,
        );
        let batch = Batch {
            sites,
            n_leaves,
            limit,
            row_slot,
            cx,
            rows: Vec::new(),
            next: 0,
            exhausted: false,
            seen: 0,
            batches: 0,
        };
        (*s).batch = Box::into_raw(Box::new(batch));
        (*s).on_reset.func = Some(drop_batch);
        (*s).on_reset.arg = s.cast();
        pg_sys::MemoryContextRegisterResetCallback(pg_sys::CurrentMemoryContext, &raw mut (*s).on_reset);
    }
}

unsafe fn batch_of<'a>(node: *mut pg_sys::CustomScanState) -> &'a mut Batch {
    // SAFETY: set in `begin`, freed only in `end` or when the query's memory goes.
    unsafe { &mut *(*node.cast::<NodeState>()).batch }
}

/// Reads the next batch from the child and scores every call for it.
unsafe fn fill(node: *mut pg_sys::CustomScanState, b: &mut Batch) {
    // SAFETY: the node's child and the batch's own slot and context.
    unsafe {
        b.seen += b.rows.len();
        b.rows.clear();
        b.next = 0;
        pg_sys::MemoryContextReset(b.cx);
        let target = b.target();
        let budget = (pg_sys::work_mem.max(64) as usize) * 1024;
        let child = (*node).ss.ps.lefttree;
        while b.rows.len() < target {
            let slot = pg_sys::ExecProcNode(child);
            if slot.is_null() || ((*slot).tts_flags & pg_sys::TTS_FLAG_EMPTY as u16) != 0 {
                b.exhausted = true;
                break;
            }
            let old = switch_to(b.cx);
            b.rows.push(pg_sys::ExecCopySlotMinimalTuple(slot));
            switch_to(old);
            if pg_sys::MemoryContextMemAllocated(b.cx, true) >= budget {
                break;
            }
        }
        if b.rows.is_empty() {
            return;
        }
        b.batches += 1;
        // Conversions (detoasting, output functions) allocate: in the batch's context.
        let old = switch_to(b.cx);
        let row_slot = b.row_slot;
        let (rows, seen) = (&b.rows, b.seen);
        for site in &mut b.sites {
            score_site(site, rows, row_slot, seen);
        }
        switch_to(old);
    }
}

unsafe fn score_site(
    site: &mut Site,
    rows: &[pg_sys::MinimalTuple],
    row_slot: *mut pg_sys::TupleTableSlot,
    seen: usize,
) {
    let model = match site.entry {
        Entry::ScoreArgs => site.name.clone(),
        Entry::InvokeEndpoint => policy::model_for_endpoint(&site.name),
    };
    let loaded = engine::resolve(&model);
    let info = loaded.scorer.info();
    // A typed function's arguments are the model's inputs in order, one each (an Aurora call's
    // may be an array, and a wrong count must get the host layer's words: the general path).
    let one_each = site.entry == Entry::ScoreArgs && site.readers.len() == info.schema().inputs.len();
    let mut b = score::builder(info).with_row_base(seen).or_raise(&model);
    // Reused from row to row: no allocation per row.
    let mut datums: Vec<Datum<'_>> = Vec::with_capacity(site.readers.len());
    for &row in rows {
        // SAFETY: a row copied from the child, read through a slot of the child's row type; each
        // input is read with its column's type.
        unsafe {
            pg_sys::ExecStoreMinimalTuple(row, row_slot, false);
            pg_sys::slot_getallattrs(row_slot);
            let values = (*row_slot).tts_values;
            let nulls = (*row_slot).tts_isnull;
            let datum = |i: usize| (!*nulls.add(i)).then(|| *values.add(i));
            if one_each {
                datums.clear();
                datums.extend(site.readers.iter().map(|&(i, reader)| reader.read(datum(i))));
                b.push_positional_with(|k| datums[k].value()).or_raise(&model);
            } else {
                let args: Vec<(Option<pg_sys::Datum>, pg_sys::Oid)> =
                    site.inputs.iter().map(|&(i, oid)| (datum(i), oid)).collect();
                let datums: Vec<Datum<'_>> = score::datums_of(&args, site.entry == Entry::InvokeEndpoint);
                let values: Vec<Value<'_>> = datums.iter().map(Datum::value).collect();
                b.push_positional(&values).or_raise(&model);
            }
        }
    }
    let batch = b.finish();
    let answered = match site.entry {
        Entry::ScoreArgs => {
            site.scores = score::first_outputs(&loaded, &model, &batch);
            site.scores.len()
        }
        Entry::InvokeEndpoint => {
            site.answers = loaded.call(&model, batch.n_rows(), |s| s.csv_answers(&batch));
            site.answers.len()
        }
    };
    // Every row gets its own answer or the statement fails: never a row short.
    if answered != rows.len() {
        crate::error::raise(
            &model,
            scorekit_host::HostError::new(
                scorekit_host::Code::ModuleFailed,
                format!(
                    "answered {answered} rows of a batch of {} (rows {}–{})",
                    rows.len(),
                    seen + 1,
                    seen + rows.len()
                ),
            ),
        );
    }
    score::give_back(batch);
}

#[pg_guard]
unsafe extern "C-unwind" fn next(node: *mut pg_sys::CustomScanState) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: the node's own state, slots and child.
    unsafe {
        let b = batch_of(node);
        while b.next >= b.rows.len() {
            if b.exhausted {
                return std::ptr::null_mut();
            }
            fill(node, b);
        }
        let i = b.next;
        b.next += 1;
        pg_sys::ExecStoreMinimalTuple(b.rows[i], b.row_slot, false);
        pg_sys::slot_getallattrs(b.row_slot);
        let scan = (*node).ss.ss_ScanTupleSlot;
        pg_sys::ExecClearTuple(scan);
        let (values, nulls) = ((*scan).tts_values, (*scan).tts_isnull);
        for j in 0..b.n_leaves {
            *values.add(j) = *(*b.row_slot).tts_values.add(j);
            *nulls.add(j) = *(*b.row_slot).tts_isnull.add(j);
        }
        for (k, site) in b.sites.iter().enumerate() {
            let at = b.n_leaves + k;
            let datum = match site.entry {
                Entry::ScoreArgs => site.scores[i].into_datum(),
                Entry::InvokeEndpoint => {
                    let old = switch_to(b.cx);
                    let a = &site.answers[i];
                    let t = pg_sys::cstring_to_text_with_len(a.as_ptr().cast(), a.len() as i32);
                    switch_to(old);
                    Some(pg_sys::Datum::from(t))
                }
            };
            *nulls.add(at) = datum.is_none();
            *values.add(at) = datum.unwrap_or(pg_sys::Datum::from(0usize));
        }
        pg_sys::ExecStoreVirtualTuple(scan);
        let econtext = (*node).ss.ps.ps_ExprContext;
        pg_sys::MemoryContextReset((*econtext).ecxt_per_tuple_memory);
        (*econtext).ecxt_scantuple = scan;
        let projection = (*node).ss.ps.ps_ProjInfo;
        if projection.is_null() { scan } else { pg_sys::ExecProject(projection) }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn end(node: *mut pg_sys::CustomScanState) {
    // SAFETY: the node's child and state, ended once.
    unsafe {
        pg_sys::ExecEndNode((*node).ss.ps.lefttree);
        let s = node.cast::<NodeState>();
        if !(*s).batch.is_null() {
            let b = Box::from_raw((*s).batch);
            (*s).batch = std::ptr::null_mut();
            pg_sys::ExecDropSingleTupleTableSlot(b.row_slot);
            pg_sys::MemoryContextDelete(b.cx);
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn rescan(node: *mut pg_sys::CustomScanState) {
    // SAFETY: the node's child and state.
    unsafe {
        let b = batch_of(node);
        b.rows.clear();
        b.next = 0;
        b.seen = 0;
        b.exhausted = false;
        pg_sys::MemoryContextReset(b.cx);
        let child = (*node).ss.ps.lefttree;
        // A child with changed parameters is rescanned by its next ExecProcNode.
        if (*child).chgParam.is_null() {
            pg_sys::ExecReScan(child);
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn explain(
    node: *mut pg_sys::CustomScanState,
    _ancestors: *mut pg_sys::List,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: the node's state and PostgreSQL's explain state.
    unsafe {
        let b = batch_of(node);
        pg_sys::ExplainPropertyInteger(c"Batched Calls".as_ptr(), std::ptr::null(), b.sites.len() as i64, es);
        let mut rows = guc::BATCH_SIZE.get().max(1) as usize;
        for s in &b.sites {
            if let Some(m) = s.max_rows {
                rows = rows.min(m);
            }
        }
        pg_sys::ExplainPropertyInteger(c"Batch Rows".as_ptr(), std::ptr::null(), rows as i64, es);
        if b.limit > 0 {
            pg_sys::ExplainPropertyInteger(
                c"First Batch Rows".as_ptr(),
                std::ptr::null(),
                rows.min(b.limit) as i64,
                es,
            );
        }
        if (*es).analyze {
            pg_sys::ExplainPropertyInteger(c"Batches".as_ptr(), std::ptr::null(), b.batches as i64, es);
        }
    }
}
