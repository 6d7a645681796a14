//! Evaluation errors rendered for this process's standard error.

use nxe_evaluator::EvalError;
use std::io::IsTerminal;

/// Renders an error as the reference does; ANSI escape sequences in messages are kept only
/// when standard error is a terminal.
pub fn render(error: &EvalError, show_trace: bool) -> String {
    nxe_evaluator::diagnostics::render(error, show_trace, std::io::stderr().is_terminal())
}
