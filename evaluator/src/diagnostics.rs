//! Rendering of evaluation errors as the reference Nix lays them out: the trace's frames,
//! the message, then `at FILE:LINE:COL` with the source line, the lines around it and a
//! caret, and the names the message may have meant; or one line for reports.

use crate::error::{Frame, TracePrint};
use crate::source::{SourceMap, Span};
use crate::EvalError;
use std::collections::HashSet;
use std::fmt::Write;

/// Renders an error for a terminal; with `show_trace`, every trace frame with its position
/// (see `render_plain`). Colours in messages are kept only with `keep_ansi`; tabs are expanded as the
/// reference expands them ([`crate::io::for_terminal`]).
pub fn render(error: &EvalError, show_trace: bool, keep_ansi: bool) -> String {
    crate::io::for_terminal(&render_plain(error, show_trace), keep_ansi)
}

/// The error in short for reports: the message, then ` at FILE:LINE:COL` of the error or,
/// when it has none, of its innermost positioned trace note.
pub fn summary(error: &EvalError) -> String {
    let message = crate::io::strip_ansi_escapes(&error.to_string());
    let first = message.trim_end().to_string();
    let span = error.span().or_else(|| error.trace().iter().find_map(|frame| frame.span));
    match span.and_then(|span| SourceMap::global().location(span)) {
        Some(location) => format!("{first} at {}:{}:{}", location.file, location.line, location.column),
        None => first,
    }
}

/// The error as the reference lays it out: the frames of its trace, outermost first, then
/// `error: ` and the message, then its position; every line after the first indented by
/// seven spaces, trailing blanks cut.
///
/// Without `show_trace`, frames are shown as the reference shows them: a frame with a
/// position counts two, one without counts one, and once four are counted only those
/// always shown (`builtins.addErrorContext`'s) follow, then a note that the trace was
/// truncated. A frame met again is held back until a new one comes: then the held ones are
/// shown, or, past five, counted in a line of their own. Frames only collected for
/// `--show-trace` are left out.
fn render_plain(error: &EvalError, show_trace: bool) -> String {
    let frames: Vec<&Frame> =
        error.trace().iter().rev().filter(|frame| show_trace || frame.print != TracePrint::WithShowTrace).collect();
    let mut out = String::new();
    if !frames.is_empty() {
        let mut seen: HashSet<(Place, &str)> = HashSet::new();
        let mut held: Vec<&Frame> = Vec::new();
        let mut count = 0usize;
        let mut truncated = false;
        for frame in frames {
            if frame.text.is_empty() {
                continue;
            }
            if !show_trace && count > 3 {
                truncated = true;
            }
            if truncated && frame.print != TracePrint::Always {
                continue;
            }
            if !seen.insert((place(frame.span), frame.text.as_str())) {
                held.push(frame);
                continue;
            }
            show_held(&mut out, &mut count, &mut held);
            count += 1;
            show_frame(&mut out, &mut count, frame);
        }
        show_held(&mut out, &mut count, &mut held);
        if truncated {
            out.push_str("\n(stack trace truncated; use '--show-trace' to show the full, detailed trace)\n");
        }
        out.push_str("\nerror: ");
    }
    let _ = writeln!(out, "{error}");
    if let Some(span) = error.span() {
        position(&mut out, span, "");
    }
    match error.suggestions() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "Did you mean {one}?");
        }
        [rest @ .., last] => {
            let _ = writeln!(out, "Did you mean one of {} or {last}?", rest.join(", "));
        }
    }
    indent(&out)
}

/// Where a frame applied (file, line, column), to tell frames met again.
type Place = Option<(String, u32, u32)>;

fn place(span: Option<Span>) -> Place {
    let location = SourceMap::global().location(span?)?;
    Some((location.file, location.line, location.column))
}

fn show_frame(out: &mut String, count: &mut usize, frame: &Frame) {
    let _ = writeln!(out, "\n… {}", frame.text);
    if let Some(span) = frame.span {
        if position(out, span, "  ") {
            *count += 1;
        }
    }
}

/// Frames held back as met before: shown when they are five at most, counted otherwise.
fn show_held(out: &mut String, count: &mut usize, held: &mut Vec<&Frame>) {
    if held.len() <= 5 {
        for frame in held.iter() {
            show_frame(out, count, frame);
        }
    } else {
        let _ = writeln!(out, "\n({} duplicate frames omitted)", held.len());
    }
    held.clear();
}

/// `error: ` before the first line, every other line indented by seven spaces, trailing blanks cut from each line
/// and from the whole.
fn indent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for (index, line) in text.trim_end_matches([' ', '\n', '\r', '\t']).split('\n').enumerate() {
        if index == 0 {
            out.push_str(format!("error: {line}").trim_end_matches([' ', '\r', '\t']));
        } else {
            out.push('\n');
            let indented = format!("       {line}");
            out.push_str(indented.trim_end_matches([' ', '\r', '\t']));
        }
    }
    out.push('\n');
    out
}

/// `at FILE:LINE:COL:` after `indent`, then the line with the one before and the one
/// after it (when there are), and a caret under the column, as the reference lays them
/// out. Whether the position is known.
fn position(out: &mut String, span: Span, indent: &str) -> bool {
    let map = SourceMap::global();
    let Some(location) = map.location(span) else { return false };
    let _ = write!(out, "{indent}at {}:{}:{}:", location.file, location.line, location.column);
    let Some(file) = map.file(span.file) else { return true };
    let code_line = |out: &mut String, number: u32| {
        let _ = write!(out, "\n {number:>5}| {}", file.line_text(number));
    };
    if location.line > 1 {
        code_line(out, location.line - 1);
    }
    code_line(out, location.line);
    // The reference pads the caret with a space per column, tabs included, so under a line
    // with tabs it stands where the column would be without them.
    let _ = write!(out, "\n      |{}^", " ".repeat(location.column as usize));
    if location.line < file.line_count() {
        code_line(out, location.line + 1);
    }
    out.push('\n');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(rendered: &str) -> Vec<&str> {
        rendered.lines().map(str::trim).filter(|line| !line.is_empty()).collect()
    }

    #[test]
    fn the_outermost_frames_are_shown_then_those_always_shown() {
        // Innermost first, as frames are added on the way up.
        let error = EvalError::msg("boom")
            .note(None, "f1")
            .note_always(None, "context")
            .note(None, "f3")
            .note(None, "f4")
            .note(None, "f5")
            .note(None, "f6")
            .note(None, "f7")
            .note_traced(None, "a call");
        assert_eq!(
            lines(&render_plain(&error, false)),
            [
                "error:",
                "… f7",
                "… f6",
                "… f5",
                "… f4",
                "… context",
                "(stack trace truncated; use '--show-trace' to show the full, detailed trace)",
                "error: boom"
            ]
        );
        let traced = render_plain(&error, true);
        assert!(lines(&traced).starts_with(&["error:", "… a call", "… f7"]), "{traced}");
        assert!(traced.contains("… f1") && !traced.contains("truncated"), "{traced}");
    }

    #[test]
    fn frames_met_again_are_shown_when_few_and_counted_when_many() {
        let mut few = EvalError::msg("boom");
        for _ in 0..3 {
            few = few.note_traced(None, "again");
        }
        let few = few.note_traced(None, "outer");
        assert_eq!(
            lines(&render_plain(&few, true)),
            ["error:", "… outer", "… again", "… again", "… again", "error: boom"]
        );
        let mut many = EvalError::msg("boom");
        for _ in 0..8 {
            many = many.note_traced(None, "again");
        }
        assert_eq!(
            lines(&render_plain(&many, true)),
            ["error:", "… again", "(7 duplicate frames omitted)", "error: boom"]
        );
    }

    #[test]
    fn message_lines_are_indented_and_close_names_suggested() {
        let names = ["foobaz", "x", "foobar", "fooooooo"];
        let error = EvalError::msg("first\nsecond").suggesting("fooba", names.into_iter());
        assert_eq!(
            render_plain(&error, false),
            "error: first\n       second\n       Did you mean one of foobar or foobaz?\n"
        );
        let one = EvalError::msg("m").suggesting("ab", ["abc", "zzzz"].into_iter());
        assert_eq!(render_plain(&one, false), "error: m\n       Did you mean abc?\n");
    }
}
