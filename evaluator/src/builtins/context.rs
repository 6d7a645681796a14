//! Builtins of the `context` family (being written).

use crate::value::PrimOp;

pub(super) static PRIMOPS: &[PrimOp] = &[];
