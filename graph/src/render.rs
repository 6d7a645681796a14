//! The human form of a [`FleetDiff`]: one line per root, then one line per
//! change of each cause, with long values cut around their first difference.
//!
//! ```text
//! host web-01: changed (3 derivations differ)
//!   nginx-conf (via system-web-01): env.text changed: "listen 80;" -> "listen 8080;"
//! host db-01: unchanged
//! ```
//!
//! Only this form truncates; the serialised form keeps every value whole.

use std::fmt;

use crate::diff::{Cause, Change, FleetDiff, RootDiff, RootStatus, Side};

/// Longest value shown, in characters, before it is cut with `…`.
pub const MAX_SHOWN_CHARS: usize = 200;

/// Characters of common text kept before and after the first difference of two long values.
const CONTEXT_CHARS: usize = 40;

impl fmt::Display for FleetDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for root in &self.roots {
            write!(f, "{root}")?;
        }
        Ok(())
    }
}

impl fmt::Display for RootDiff {
    /// The root's line, then a line per change of each cause.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            RootStatus::Added => "added",
            RootStatus::Removed => "removed",
            RootStatus::Unchanged => "unchanged",
            RootStatus::Changed => "changed",
        };
        write!(f, "{} {}: {status}", self.kind, self.name)?;
        if self.status == RootStatus::Changed {
            let noun = if self.n_changed == 1 { "derivation differs" } else { "derivations differ" };
            write!(f, " ({} {noun})", self.n_changed)?;
        }
        writeln!(f)?;
        if let Some((side, error)) = &self.error {
            let side = match side {
                Side::Old => "old",
                Side::New => "new",
            };
            writeln!(f, "  fails to evaluate ({side}): {}", error.replace('\n', "\n    "))?;
        }
        for cause in &self.causes {
            for change in &cause.changes {
                writeln!(f, "  {}: {change}", location(cause))?;
            }
        }
        Ok(())
    }
}

/// `nginx-conf (via system-web-01 -> nginx)`, or just the name at the root.
fn location(cause: &Cause) -> String {
    match cause.path.split_last() {
        Some((name, [])) => name.clone(),
        Some((name, via)) => format!("{name} (via {})", via.join(" -> ")),
        None => String::new(),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::EnvAdded { key, value } => write!(f, "env.{key} added: {}", shown(value)),
            Change::EnvRemoved { key, value } => write!(f, "env.{key} removed: {}", shown(value)),
            Change::EnvChanged { key, old, new } => write!(f, "env.{key} changed: {}", shown_pair(old, new)),
            Change::BuilderChanged { old, new } => write!(f, "builder changed: {}", shown_pair(old, new)),
            Change::ArgsChanged { old, new } => {
                let (old, new) = (json(old), json(new));
                write!(f, "args changed: {} -> {}", cut(&old), cut(&new))
            }
            Change::PlatformChanged { old, new } => write!(f, "platform changed: {}", shown_pair(old, new)),
            Change::OutputAdded { output } => write!(f, "output {output} added"),
            Change::OutputRemoved { output } => write!(f, "output {output} removed"),
            Change::OutputHashChanged { output, old, new } => {
                write!(f, "output {output} hash changed: {}", shown_pair(old, new))
            }
            Change::InputDrvAdded { name, .. } => write!(f, "input {name} added"),
            Change::InputDrvRemoved { name, .. } => write!(f, "input {name} removed"),
            Change::InputOutputsChanged { name, old, new } => {
                write!(f, "outputs used of input {name} changed: {} -> {}", old.join(","), new.join(","))
            }
            Change::InputSrcAdded { name, .. } => write!(f, "source {name} added"),
            Change::InputSrcRemoved { name, .. } => write!(f, "source {name} removed"),
            Change::InputSrcChanged { name, .. } => write!(f, "source {name} changed"),
            Change::NotEvaluated { side: Side::Old } => f.write_str("not in the old graph, cannot compare"),
            Change::NotEvaluated { side: Side::New } => f.write_str("not in the new graph, cannot compare"),
            Change::Unexplained => f.write_str("drvPath changed, but no difference was found"),
        }
    }
}

/// `value` quoted, cut after [`MAX_SHOWN_CHARS`] characters.
fn shown(value: &str) -> String {
    cut(&json(value))
}

/// Both values quoted; when either is long, only the region around the
/// first difference, with `…` where text was left out.
fn shown_pair(old: &str, new: &str) -> String {
    let (old_chars, new_chars): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
    if old_chars.len() <= MAX_SHOWN_CHARS && new_chars.len() <= MAX_SHOWN_CHARS {
        return format!("{} -> {}", json(old), json(new));
    }
    let prefix = old_chars.iter().zip(&new_chars).take_while(|(o, n)| o == n).count();
    let max_suffix = old_chars.len().min(new_chars.len()) - prefix;
    let suffix =
        old_chars.iter().rev().zip(new_chars.iter().rev()).take(max_suffix).take_while(|(o, n)| o == n).count();
    let start = prefix.saturating_sub(CONTEXT_CHARS);
    let window = |chars: &[char]| {
        let end = (chars.len() - suffix + CONTEXT_CHARS).min(chars.len());
        let text: String = chars[start..end].iter().collect();
        let lead = if start > 0 { "…" } else { "" };
        let tail = if end < chars.len() { "…" } else { "" };
        format!("{lead}{}{tail}", cut(&json(&text)))
    };
    format!("{} -> {}", window(&old_chars), window(&new_chars))
}

/// A JSON rendering: quoted strings with escapes, so every value is one line.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// `text` cut after [`MAX_SHOWN_CHARS`] characters, marked by a trailing `…`.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_shown_whole() {
        assert_eq!(shown_pair("listen 80;", "listen 8080;"), r#""listen 80;" -> "listen 8080;""#);
        assert_eq!(shown("a\"b\nc"), r#""a\"b\nc""#);
    }

    #[test]
    fn long_values_are_cut_around_the_first_difference() {
        let old = format!("{}port 80;{}", "x".repeat(300), "y".repeat(300));
        let new = format!("{}port 8080;{}", "x".repeat(300), "y".repeat(300));
        // The context starts 40 characters before the first difference (inside
        // "port 8") and ends 40 characters into the common tail (";" and 39 "y").
        let xs = "x".repeat(CONTEXT_CHARS - "port 80".len());
        let ys = "y".repeat(CONTEXT_CHARS - 1);
        let expected = format!("…\"{xs}port 80;{ys}\"… -> …\"{xs}port 8080;{ys}\"…");
        assert_eq!(shown_pair(&old, &new), expected);
    }

    #[test]
    fn long_single_values_end_in_an_ellipsis() {
        let value = "z".repeat(500);
        let cut_value = shown(&value);
        assert!(cut_value.ends_with('…'));
        assert_eq!(cut_value.chars().count(), MAX_SHOWN_CHARS + 1);
    }
}
