//! Builtins of the `versions` family (being written).

use crate::value::PrimOp;

pub(super) static PRIMOPS: &[PrimOp] = &[];
