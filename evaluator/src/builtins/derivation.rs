//! Builtins of the `derivation` family (being written).

use crate::value::PrimOp;

pub(super) static PRIMOPS: &[PrimOp] = &[];

use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::value::NixString;

/// Copies a path into the store for string interpolation (`"${./dir}"`) and returns the
/// store path with its context.
pub(crate) fn copy_path_to_store(_evaluator: &mut Evaluator, path: &str) -> EvalResult<NixString> {
    Err(EvalError::msg(format!("copying '{path}' to the store is not supported yet")))
}
