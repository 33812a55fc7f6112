//! PostgreSQL with the scorekit extension, through `psql`: joins the suite when
//! `SCOREKIT_CONFORMANCE_PSQL` holds the psql command line to a database with the extension
//! installed (`sql-plugins/postgres/test.sh` sets it while its server runs).

use super::{Host, harness_error};
use crate::case::Case;
use crate::fixtures::Fixtures;
use crate::outcome::Outcome;

/// The PostgreSQL host.
pub struct PostgresHost {
    psql: Vec<String>,
}

impl PostgresHost {
    /// The host, if `SCOREKIT_CONFORMANCE_PSQL` is set.
    pub fn from_env() -> Option<Self> {
        let cmd = std::env::var("SCOREKIT_CONFORMANCE_PSQL").ok()?;
        Some(PostgresHost { psql: cmd.split_whitespace().map(String::from).collect() })
    }
}

impl Host for PostgresHost {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn run(&mut self, _case: &Case, _fx: &Fixtures) -> Outcome {
        harness_error(format!("the PostgreSQL host is not wired yet ({:?})", self.psql))
    }
}
