//! NAR serialisation of a generated tree, compared with what the reference
//! Nix 2.34 printed for the same tree (`nix-store --dump DIR | sha256sum`,
//! its byte count, `nix-hash --type sha256 --base32 DIR`, and the
//! `builtins.path` store paths, with and without a filter).
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use nxe_store::{
    dump_path, dump_path_filtered, make_source_path, nar_hash_path, nar_hash_path_filtered, FileKind, Hash, HashAlgo,
    NarNode, StoreDir, StoreError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TREE_NAR_SHA256: &str = "307f3537e8d78632ce3ae2e8a1055f27c0bd50f32a1d381a3d7041723486db67";
const TREE_NAR_SIZE: u64 = 3328;
const TREE_NAR_NIX32: &str = "0ryvhqs74hbh7ld3h79ayd8bvh17bw2s3s727b7351npx0vkazrh";
const TREE_PATH: &str = "/nix/store/piapp7g4x8w3px4875p6msspxzc530lj-tree";
/// The tree without `nested` and without symlinks.
const FILTERED_NAR_SHA256: &str = "d202557ee90f2b578e029c02563b6db3220eb002e9123a5ac1c271b67c6afa93";
const FILTERED_NAR_SIZE: u64 = 2408;
const FILTERED_PATH: &str = "/nix/store/ycaqm6bhc0g00rzn9vc7gkdrfrkv81b5-tree";

/// Files of the tree: (relative path, contents, mode).
const FILES: [(&str, &str, u32); 11] = [
    ("a.txt", "hello\n", 0o644),
    ("exec.sh", "#!/bin/sh\necho hi\n", 0o755),
    // Group may execute, owner may not: not executable for Nix.
    ("groupexec", "group x", 0o654),
    // Exactly 8 bytes: no padding.
    ("B/x", "12345678", 0o644),
    ("nested/deeper/file", "", 0o644),
    ("a", "a", 0o644),
    ("a-b", "a-b", 0o644),
    ("a.b", "a.b", 0o644),
    ("a_b", "a_b", 0o644),
    ("Z", "Z", 0o644),
    ("é", "é", 0o644),
];

fn make_tree(root: &Path) -> std::io::Result<()> {
    fs::create_dir_all(root)?;
    for dir in ["B", "empty", "nested", "nested/deeper"] {
        fs::create_dir_all(root.join(dir))?;
        fs::set_permissions(root.join(dir), fs::Permissions::from_mode(0o755))?;
    }
    for (name, contents, mode) in FILES {
        let p = root.join(name);
        fs::write(&p, contents)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
    }
    symlink("a.txt", root.join("link"))?;
    symlink("/nonexistent/target", root.join("dangling"))?;
    fs::set_permissions(root, fs::Permissions::from_mode(0o755))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Hash::compute(HashAlgo::Sha256, bytes).to_base16()
}

#[test]
fn tree_matches_reference_dump() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("tree");
    make_tree(&root)?;

    let mut nar = Vec::new();
    dump_path(&root, &mut nar)?;
    assert_eq!(sha256_hex(&nar), TREE_NAR_SHA256);
    assert_eq!(nar.len() as u64, TREE_NAR_SIZE);

    let (hash, size) = nar_hash_path(&root)?;
    assert_eq!(hash.to_nix32(), TREE_NAR_NIX32);
    assert_eq!(size, TREE_NAR_SIZE);

    let store = StoreDir::default();
    let path = make_source_path("tree", &hash, &BTreeSet::new(), false, &store)?;
    assert_eq!(store.display_path(&path), TREE_PATH);
    Ok(())
}

#[test]
fn filtered_tree_matches_reference() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("tree");
    make_tree(&root)?;

    let mut seen = Vec::new();
    let (hash, size) = nar_hash_path_filtered(&root, &mut |p: &Path, kind: FileKind| {
        let rel = p.strip_prefix(&root).map_err(|e| StoreError::NonUtf8Path(e.to_string().into()))?;
        seen.push((rel.to_string_lossy().into_owned(), kind.as_str()));
        Ok::<_, StoreError>(p.file_name().is_some_and(|n| n != "nested") && kind != FileKind::Symlink)
    })?;
    assert_eq!(hash.to_base16(), FILTERED_NAR_SHA256);
    assert_eq!(size, FILTERED_NAR_SIZE);
    let store = StoreDir::default();
    let path = make_source_path("tree", &hash, &BTreeSet::new(), false, &store)?;
    assert_eq!(store.display_path(&path), FILTERED_PATH);

    // Visited in NAR order; nothing below a rejected directory is visited.
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "B",
            "B/x",
            "Z",
            "a",
            "a-b",
            "a.b",
            "a.txt",
            "a_b",
            "dangling",
            "empty",
            "exec.sh",
            "groupexec",
            "link",
            "nested",
            "é"
        ]
    );
    assert!(seen.contains(&("link".to_owned(), "symlink")));
    assert!(seen.contains(&("empty".to_owned(), "directory")));
    assert!(seen.contains(&("a".to_owned(), "regular")));
    Ok(())
}

#[derive(Debug)]
enum FilterError {
    Store(StoreError),
    Refused(String),
}

impl From<StoreError> for FilterError {
    fn from(e: StoreError) -> Self {
        FilterError::Store(e)
    }
}

#[test]
fn filter_errors_propagate() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("tree");
    make_tree(&root)?;
    let mut out = Vec::new();
    let r = dump_path_filtered(&root, &mut out, &mut |p: &Path, _| {
        if p.ends_with("deeper") {
            Err(FilterError::Refused(p.display().to_string()))
        } else {
            Ok(true)
        }
    });
    assert!(matches!(r, Err(FilterError::Refused(p)) if p.ends_with("nested/deeper")));

    let missing = dump_path_filtered(&root.join("missing"), &mut out, &mut |_, _| Ok::<_, FilterError>(true));
    assert!(matches!(missing, Err(FilterError::Store(StoreError::Io { .. }))));
    Ok(())
}

#[test]
fn single_file_and_symlink_roots() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("tree");
    make_tree(&root)?;
    let mut nar = Vec::new();
    dump_path(&root.join("exec.sh"), &mut nar)?;
    assert_eq!(sha256_hex(&nar), "5e0accf02cedede5e4119ffa15e79e79a5fb1fb9bc43c3d434f33227a14477a0");
    let (hash, _) = nar_hash_path(&root.join("exec.sh"))?;
    let store = StoreDir::default();
    let path = make_source_path("exec.sh", &hash, &BTreeSet::new(), false, &store)?;
    assert_eq!(store.display_path(&path), "/nix/store/5c04552vhn4sp0x18q5gryqhfnya0aji-exec.sh");

    let mut nar = Vec::new();
    dump_path(&root.join("link"), &mut nar)?;
    assert_eq!(sha256_hex(&nar), "8d3c00cfa866e4d1b809772afeac240786246221eb2c574d69c4bba168834e81");
    Ok(())
}

fn file(contents: &str, executable: bool) -> NarNode {
    NarNode::File { executable, contents: contents.as_bytes().to_vec() }
}

fn dir<const N: usize>(entries: [(&str, NarNode); N]) -> NarNode {
    NarNode::Directory(entries.into_iter().map(|(n, e)| (n.to_owned(), e)).collect::<BTreeMap<_, _>>())
}

#[test]
fn in_memory_tree_matches_reference_dump() -> TestResult {
    let mut entries: Vec<(&str, NarNode)> = FILES
        .iter()
        .filter(|(name, _, _)| !name.contains('/'))
        .map(|&(name, contents, mode)| (name, file(contents, mode & 0o100 != 0)))
        .collect();
    entries.push(("B", dir([("x", file("12345678", false))])));
    entries.push(("empty", dir([])));
    entries.push(("nested", dir([("deeper", dir([("file", file("", false))]))])));
    entries.push(("link", NarNode::Symlink("a.txt".to_owned())));
    entries.push(("dangling", NarNode::Symlink("/nonexistent/target".to_owned())));
    let tree = NarNode::Directory(entries.into_iter().map(|(n, e)| (n.to_owned(), e)).collect());

    let (hash, size) = tree.nar_hash()?;
    assert_eq!(hash.to_base16(), TREE_NAR_SHA256);
    assert_eq!(size, TREE_NAR_SIZE);
    assert_eq!(sha256_hex(&tree.to_nar()?), TREE_NAR_SHA256);
    Ok(())
}
