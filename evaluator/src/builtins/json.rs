//! Builtins of the `json` family (being written).

use crate::value::PrimOp;

pub(super) static PRIMOPS: &[PrimOp] = &[];

use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::value::Value;

/// Renders a value as `builtins.toJSON` does.
pub(crate) fn value_to_json(_evaluator: &mut Evaluator, _value: &Value) -> EvalResult<String> {
    Err(EvalError::msg("JSON output is not supported yet"))
}
