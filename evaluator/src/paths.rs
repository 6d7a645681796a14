//! Path arithmetic on Nix path values.
//!
//! Nix paths are absolute strings kept in canonical form: no `.` or `..` components, no
//! repeated or trailing slashes. Canonicalisation is purely textual; symlinks are not
//! resolved, as in Nix.

/// Canonicalises an absolute path textually.
pub fn canonicalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len());
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    out
}

/// `dirOf` on a path or path-like string: everything before the last slash.
pub fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(idx) => &path[..idx],
        None => ".",
    }
}

/// `baseNameOf`: the last component, ignoring one trailing slash.
pub fn base_name_of(path: &str) -> &str {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    match trimmed.rfind('/') {
        Some(idx) => &trimmed[idx + 1..],
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_drops_dots_and_slashes() {
        assert_eq!(canonicalize("/a/./b//c/../d/"), "/a/b/d");
        assert_eq!(canonicalize("/.."), "/");
        assert_eq!(dir_of("/a/b"), "/a");
        assert_eq!(dir_of("/a"), "/");
        assert_eq!(dir_of("a"), ".");
        assert_eq!(base_name_of("/a/b/"), "b");
    }
}
