//! nxe-evaluator: an embedded evaluator for the Nix language.
//!
//! Source text is parsed by `rnix`, compiled ([`compile`]) into a tree in which every
//! variable is resolved to a slot, and evaluated lazily by [`Evaluator`]. The evaluator
//! reaches files and the environment only through [`EvalIo`], so a caller can record every
//! input an evaluation read. It knows nothing of mono-repos, hosts or processes: those are
//! the engine's business.
//!
//! Main types: [`Evaluator`] (one per worker thread), [`Value`], [`EvalError`],
//! [`CodeCache`] (compiled files shared between evaluators).
//!
//! ```
//! use nxe_evaluator::{Evaluation, EvalRequest};
//! let request = EvalRequest::expression("let x = 1; in [ x (x + 1) ]");
//! let output = Evaluation::new(Default::default()).evaluate(&request).unwrap();
//! assert_eq!(output, "[ 1 2 ]");
//! ```
#![warn(missing_docs)]

pub mod builtins;
pub mod code_store;
pub mod compile;
pub mod diagnostics;
mod env;
pub mod error;
pub mod eval;
mod evaluation;
mod intern_order;
pub mod io;
pub mod ir;
pub mod ops;
pub mod paths;
pub mod print;
mod shared;
pub mod show;
pub mod source;
pub mod symbol;
mod syntax_errors;
pub mod value;

pub use code_store::CodeStore;
pub use error::{ErrorKind, EvalError, EvalResult};
pub use eval::{AddedPath, CodeCache, EvalSettings, Evaluator, StoreWrites};
pub use evaluation::{run_with_big_stack, split_attr_path, AutoArg, EvalRequest, Evaluation, OutputMode, Source};
pub use io::{EvalIo, FileKind, RealIo};
pub use value::Value;
