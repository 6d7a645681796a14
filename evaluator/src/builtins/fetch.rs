//! Builtins of the `fetch` family (being written).

use crate::value::PrimOp;

pub(super) static PRIMOPS: &[PrimOp] = &[];
