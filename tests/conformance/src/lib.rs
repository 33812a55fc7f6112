//! The cross-host conformance suite: one list of cases (`cases.json`) with golden outcomes
//! (`golden/<case>.json`), run against every host that exists, all on the same compiled modules.
//! A host that disagrees with the golden outcome fails the suite; a host skips a case only with
//! a reason written next to the case (`skip`).
//!
//! Hosts ([`hosts`]): the native core (`scorekit-host` over the artifacts), `host score` on the
//! compiled modules, `host serve` over HTTP, and PostgreSQL (when `SCOREKIT_CONFORMANCE_PSQL`
//! says how to reach a server with the extension installed). A new host implements [`Host`] and
//! adds itself to the runner in `tests/conformance.rs`.
//!
//! Comparison ([`Outcome::agrees`]): values bit for bit, column names exactly, stream readings
//! and notices by kind; errors by kind (and code, where the host reports one) and by the golden
//! message appearing in the host's message (hosts may add context such as a file name).

pub mod case;
pub mod fixtures;
pub mod hosts;
pub mod outcome;

pub use case::{Case, Op};
pub use fixtures::Fixtures;
pub use hosts::Host;
pub use outcome::{ErrorOutcome, Outcome, Table};
