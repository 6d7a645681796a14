//! Rendering of evaluation errors for the terminal: the message, then `at FILE:LINE:COL`
//! with the source line and a caret, as the reference Nix lays it out.

use nxe_evaluator::source::{SourceMap, Span};
use nxe_evaluator::EvalError;
use std::fmt::Write;

/// Renders an error; with `show_trace`, every trace note with its position too. ANSI escape
/// sequences in messages are kept only when standard error is a terminal.
pub fn render(error: &EvalError, show_trace: bool) -> String {
    use std::io::IsTerminal;
    let rendered = render_plain(error, show_trace);
    if std::io::stderr().is_terminal() {
        rendered
    } else {
        nxe_evaluator::io::strip_ansi_escapes(&rendered)
    }
}

fn render_plain(error: &EvalError, show_trace: bool) -> String {
    let mut out = String::new();
    if show_trace {
        for (span, note) in error.trace().iter().rev() {
            let _ = writeln!(out, "       … {note}");
            if let Some(span) = span {
                snippet(&mut out, *span, "         ");
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "error: {error}");
    if let Some(span) = error.span() {
        snippet(&mut out, span, "       ");
    }
    out
}

fn snippet(out: &mut String, span: Span, indent: &str) {
    let map = SourceMap::global();
    let (Some(location), Some(file)) = (map.location(span), map.file(span.file)) else { return };
    let _ = writeln!(out, "{indent}at {}:{}:{}:", location.file, location.line, location.column);
    let line = file.line_text(location.line);
    let number = format!("{:>6}", location.line);
    let gutter = " ".repeat(number.len());
    let _ = writeln!(out, "{indent}{number}| {line}");
    let caret_pad: String = line
        .chars()
        .take(location.column.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{indent}{gutter}| {caret_pad}^");
}
