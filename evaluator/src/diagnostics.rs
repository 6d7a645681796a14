//! Rendering of evaluation errors: the message, then `at FILE:LINE:COL` with the source line,
//! the lines around it and a caret, as the reference Nix lays it out; or one line for reports.

use crate::source::{SourceMap, Span};
use crate::EvalError;
use std::fmt::Write;

/// Renders an error for a terminal; with `show_trace`, every trace note with its position
/// too. Colours in messages are kept only with `keep_ansi`; tabs are expanded as the
/// reference expands them ([`crate::io::for_terminal`]).
pub fn render(error: &EvalError, show_trace: bool, keep_ansi: bool) -> String {
    crate::io::for_terminal(&render_plain(error, show_trace), keep_ansi)
}

/// The error in short for reports: the message, then ` at FILE:LINE:COL` of the error or,
/// when it has none, of its innermost positioned trace note.
pub fn summary(error: &EvalError) -> String {
    let message = crate::io::strip_ansi_escapes(&error.to_string());
    let first = message.trim_end().to_string();
    let span = error.span().or_else(|| error.trace().iter().find_map(|(span, _)| *span));
    match span.and_then(|span| SourceMap::global().location(span)) {
        Some(location) => format!("{first} at {}:{}:{}", location.file, location.line, location.column),
        None => first,
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

/// `at FILE:LINE:COL:`, then the line with the one before and the one after it (when there
/// are), and a caret under the column, as the reference lays them out.
fn snippet(out: &mut String, span: Span, indent: &str) {
    let map = SourceMap::global();
    let (Some(location), Some(file)) = (map.location(span), map.file(span.file)) else { return };
    let _ = writeln!(out, "{indent}at {}:{}:{}:", location.file, location.line, location.column);
    let code_line = |out: &mut String, number: u32| {
        // Trailing blanks are not shown, nor the space after the bar of an empty line.
        match file.line_text(number).trim_end() {
            "" => writeln!(out, "{indent}{number:>6}|"),
            text => writeln!(out, "{indent}{number:>6}| {text}"),
        }
    };
    if location.line > 1 {
        let _ = code_line(out, location.line - 1);
    }
    let _ = code_line(out, location.line);
    // The reference pads the caret with a space per column, tabs included, so under a line
    // with tabs it stands where the column would be without them.
    let caret_pad = " ".repeat(location.column.saturating_sub(1) as usize);
    let _ = writeln!(out, "{indent}{:6}| {caret_pad}^", "");
    if location.line < file.line_count() {
        let _ = code_line(out, location.line + 1);
    }
}
