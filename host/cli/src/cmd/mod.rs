//! One file per subcommand that is not training.

pub mod compile;
pub mod demo;
pub mod inspect;
pub mod score;
pub mod score_input;
pub mod serve;
