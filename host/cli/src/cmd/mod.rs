//! One file per subcommand that is not training.

pub mod demo;
pub mod score;
pub mod serve;
