//! Names of store paths and derivations: the part of a store path after its
//! hash, which is what a human recognises and what [`crate::diff()`] pairs
//! derivations and sources by.

/// The name of a store path: the base name minus the `<hash>-` prefix.
///
/// `/nix/store/<hash>-hello-2.12` gives `hello-2.12`. A base name without a
/// `-` is returned whole, so odd input never panics.
pub fn store_path_name(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.split_once('-').map_or(base, |(_, name)| name)
}

/// The name of a derivation from its drvPath: [`store_path_name`] minus `.drv`.
///
/// `/nix/store/<hash>-hello-2.12.drv` gives `hello-2.12`.
pub fn drv_name(drv_path: &str) -> &str {
    let name = store_path_name(drv_path);
    name.strip_suffix(".drv").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_strip_directory_hash_and_drv_suffix() {
        assert_eq!(drv_name("/nix/store/0123abcd-system-web-01.drv"), "system-web-01");
        assert_eq!(store_path_name("/nix/store/0123abcd-src-1.0.tar.gz"), "src-1.0.tar.gz");
        assert_eq!(store_path_name("/nix/store/nodash"), "nodash");
        assert_eq!(drv_name("plain-name.drv"), "name");
    }
}
