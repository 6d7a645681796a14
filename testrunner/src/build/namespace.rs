//! Showing builders the store at its logical place: a private root in a new user and mount
//! namespace.
//!
//! Each local builder prepares once a [`Skeleton`] of a root directory under its store:
//! every entry of the host's `/` (directories and files as empty mount points, symlinks as
//! they are), except along the logical store directory, whose ancestors are skeletons of the
//! host's directories themselves, ending in an empty mount point, and `/build`, another one.
//! The physical store is hidden under an empty directory mounted over it: builders reach
//! store objects only through the logical directory, read-only.
//! For each build, a [`View`] is made in the build's private directory: a `store` directory
//! with one mount point per input path of the build, and a `build` directory. The child then
//! enters new user, mount, UTS and IPC namespaces (and a network namespace with no
//! interfaces unless the derivation is a fixed-output one, which may download),
//! bind-mounts the host's entries onto the skeleton, the build's `store` onto the logical
//! store directory and its `build` onto `/build` (as in Nix's sandbox), each input
//! read-only onto its mount point, and changes its root to the skeleton. Mounts made in the
//! child's namespace are private to it: the skeleton is shared by concurrent builds.
//!
//! So the builder sees the host's files where they are, its inputs and nothing else of the
//! store at the logical store directory, and writes its outputs into the build's `store`,
//! an ordinary directory of the physical store's file system: once the builder has
//! finished, an output is complete and is renamed into the store. The builder runs as uid
//! 1000, gid 100 (Nix's sandbox ids) mapped to the invoking user, with no capabilities.
//!
//! Everything the child does between `fork` and `exec` is a system call on data prepared
//! beforehand: nothing allocates there, as the parent may have other threads.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::error::{io_error, BuildError};
use super::store::remove_tree;

/// Where the builder finds its build directory, as in Nix's sandbox.
pub(crate) const BUILD_DIR: &str = "/build";
/// The user and group the builder runs as inside the namespace.
const SANDBOX_UID: u32 = 1000;
const SANDBOX_GID: u32 = 100;

/// Whether this process can make user and mount namespaces (checked once, in a child).
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(probe)
}

/// A bind mount for the child to make.
#[derive(Clone, Debug)]
struct Bind {
    source: CString,
    target: CString,
    /// Remount read-only with these flags kept (flags locked by the host's mount).
    read_only: Option<libc::c_ulong>,
}

/// The skeleton of a private root, shared by the builds of one builder; deleted when dropped.
#[derive(Debug)]
pub(crate) struct Skeleton {
    /// The skeleton's root directory (inside the directory removed on drop).
    root: PathBuf,
    /// The directory holding the root and an empty directory.
    dir: PathBuf,
    /// The logical store directory, relative to the root.
    store_rel: PathBuf,
    host_binds: Vec<Bind>,
}

impl Skeleton {
    /// Makes the skeleton in `root` (which must not exist) for the logical store directory
    /// `logical`, with the directory `hidden` (the physical store, which holds the skeleton)
    /// shown empty.
    pub(crate) fn create(root: &Path, logical: &str, hidden: &Path) -> Result<Skeleton, BuildError> {
        let store_rel = PathBuf::from(logical.trim_start_matches('/'));
        let build_rel = Path::new(BUILD_DIR.trim_start_matches('/'));
        if store_rel.starts_with(build_rel) {
            return Err(BuildError::StoreView {
                logical: logical.to_string(),
                reason: format!("it is inside the build directory {BUILD_DIR}"),
            });
        }
        let mut tree = Node::default();
        tree.insert(&store_rel);
        tree.insert(build_rel);
        let skeleton_root = root.join("root");
        fs::create_dir_all(&skeleton_root).map_err(io_error(format!("creating '{}'", root.display())))?;
        let mut skeleton = Skeleton { root: skeleton_root, dir: root.to_path_buf(), store_rel, host_binds: Vec::new() };
        replicate(Path::new("/"), &skeleton.root, &tree, &mut skeleton.host_binds)?;
        // An empty directory mounted over the physical store, once the host's directories
        // are in place. Mounting it rather than leaving its place out of the skeleton keeps
        // directories that change all the time (`/tmp`) single mounts.
        let empty = root.join("empty");
        fs::create_dir(&empty).map_err(io_error(format!("creating '{}'", empty.display())))?;
        if let Ok(relative) = hidden.strip_prefix("/") {
            skeleton.host_binds.push(Bind {
                source: c_path(&empty)?,
                target: c_path(&skeleton.root.join(relative))?,
                read_only: Some(locked_flags(&empty)?),
            });
        }
        Ok(skeleton)
    }
}

impl Drop for Skeleton {
    fn drop(&mut self) {
        let _ = remove_tree(&self.dir);
    }
}

/// The private root of one build.
pub(crate) struct View {
    root: CString,
    store_view: PathBuf,
    build_dir: PathBuf,
    binds: Vec<Bind>,
}

impl View {
    /// Prepares a build in the directory `scratch` (which must not exist), with the physical
    /// objects `inputs` (their paths in the physical store) mounted under their base names.
    pub(crate) fn prepare(skeleton: &Skeleton, scratch: &Path, inputs: &[PathBuf]) -> Result<View, BuildError> {
        let store_view = scratch.join("store");
        let build_dir = scratch.join("build");
        for dir in [&store_view, &build_dir] {
            fs::create_dir_all(dir).map_err(io_error(format!("creating '{}'", dir.display())))?;
        }
        let store_target = skeleton.root.join(&skeleton.store_rel);
        let mut binds = skeleton.host_binds.clone();
        binds.push(Bind { source: c_path(&store_view)?, target: c_path(&store_target)?, read_only: None });
        let build_target = skeleton.root.join(BUILD_DIR.trim_start_matches('/'));
        binds.push(Bind { source: c_path(&build_dir)?, target: c_path(&build_target)?, read_only: None });
        for input in inputs {
            let Some(name) = input.file_name() else { continue };
            let mount_point = store_view.join(name);
            let meta = input.symlink_metadata().map_err(io_error(format!("reading '{}'", input.display())))?;
            if meta.file_type().is_symlink() {
                // A symlink cannot be a mount point, and needs none: it is copied as it is.
                let target = fs::read_link(input).map_err(io_error(format!("reading '{}'", input.display())))?;
                std::os::unix::fs::symlink(target, &mount_point)
                    .map_err(io_error(format!("creating '{}'", mount_point.display())))?;
                continue;
            }
            make_mount_point(&mount_point, meta.is_dir())?;
            binds.push(Bind {
                source: c_path(input)?,
                target: c_path(&store_target.join(name))?,
                read_only: Some(locked_flags(input)?),
            });
        }
        Ok(View { root: c_path(&skeleton.root)?, store_view, build_dir, binds })
    }

    /// The directory builders see as the logical store directory, in the parent's view.
    pub(crate) fn store_view(&self) -> &Path {
        &self.store_view
    }

    /// The build directory, in the parent's view.
    pub(crate) fn build_dir(&self) -> &Path {
        &self.build_dir
    }

    /// Makes `command` enter the view before it runs; `network` keeps the host's network.
    pub(crate) fn install(self, command: &mut Command, network: bool) -> Result<(), BuildError> {
        use std::os::unix::process::CommandExt;
        // SAFETY: getuid and getgid cannot fail and have no memory effects.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let mut flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
        if !network {
            flags |= libc::CLONE_NEWNET;
        }
        let setup = Setup {
            flags,
            uid_map: format!("{SANDBOX_UID} {uid} 1\n").into_bytes(),
            gid_map: format!("{SANDBOX_GID} {gid} 1\n").into_bytes(),
            binds: self.binds,
            root: self.root,
            workdir: c_path(Path::new(BUILD_DIR))?,
        };
        // SAFETY: the closure only makes system calls on the data prepared above (see
        // `Setup::enter`), which is what may run between fork and exec.
        unsafe {
            command.pre_exec(move || setup.enter());
        }
        Ok(())
    }
}

/// What the child does before `exec`, prepared by the parent.
struct Setup {
    flags: libc::c_int,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    binds: Vec<Bind>,
    root: CString,
    workdir: CString,
}

impl Setup {
    /// Enters the namespaces and the private root. Runs in the forked child.
    fn enter(&self) -> std::io::Result<()> {
        // SAFETY: every pointer passed is a NUL-terminated string or buffer owned by `self`,
        // or null where the call allows it.
        unsafe {
            check(libc::unshare(self.flags))?;
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", &self.uid_map)?;
            write_proc(c"/proc/self/gid_map", &self.gid_map)?;
            let none = std::ptr::null::<libc::c_char>();
            check(libc::mount(none, c"/".as_ptr(), none, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
            for bind in &self.binds {
                let (source, target) = (bind.source.as_ptr(), bind.target.as_ptr());
                check(libc::mount(source, target, none, libc::MS_BIND | libc::MS_REC, std::ptr::null()))?;
                if let Some(locked) = bind.read_only {
                    let flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | locked;
                    check(libc::mount(none, target, none, flags, std::ptr::null()))?;
                }
            }
            let hostname = b"localhost";
            check(libc::sethostname(hostname.as_ptr().cast(), hostname.len()))?;
            check(libc::chroot(self.root.as_ptr()))?;
            check(libc::chdir(self.workdir.as_ptr()))?;
        }
        Ok(())
    }
}

fn check(result: libc::c_int) -> std::io::Result<()> {
    match result {
        -1 => Err(std::io::Error::last_os_error()),
        _ => Ok(()),
    }
}

/// Writes `data` to a file of `/proc/self`, without allocating.
///
/// # Safety
/// Only system calls; callable between fork and exec.
unsafe fn write_proc(path: &CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: `path` is NUL-terminated and `data` is a valid buffer of its length.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let written = libc::write(fd, data.as_ptr().cast(), data.len());
        let error = std::io::Error::last_os_error();
        libc::close(fd);
        match usize::try_from(written) {
            Ok(n) if n == data.len() => Ok(()),
            _ => Err(error),
        }
    }
}

/// The directories that must be made rather than mounted: the logical store directory and
/// the build directory, and their ancestors.
#[derive(Default)]
struct Node {
    children: BTreeMap<OsString, Node>,
}

impl Node {
    fn insert(&mut self, relative: &Path) {
        let mut node = self;
        for component in relative.iter() {
            node = node.children.entry(component.to_os_string()).or_default();
        }
    }
}

/// Fills the skeleton directory `view` with the entries of the host's directory `real`
/// (which may not exist): mount points for directories and files, copies of symlinks, and
/// made directories for the entries of `node`, descended into.
fn replicate(real: &Path, view: &Path, node: &Node, binds: &mut Vec<Bind>) -> Result<(), BuildError> {
    if node.children.is_empty() {
        // The mount point of the store view or of the build directory, hiding the host's.
        return Ok(());
    }
    let mut entries = Vec::new();
    if let Ok(read) = fs::read_dir(real) {
        for entry in read.flatten() {
            entries.push(entry.file_name());
        }
    }
    entries.sort();
    for name in entries.iter().filter(|name| !node.children.contains_key(*name)) {
        let (source, target) = (real.join(name), view.join(name));
        let Ok(meta) = source.symlink_metadata() else { continue };
        if meta.file_type().is_symlink() {
            let link = fs::read_link(&source).map_err(io_error(format!("reading '{}'", source.display())))?;
            std::os::unix::fs::symlink(link, &target).map_err(io_error(format!("creating '{}'", target.display())))?;
            continue;
        }
        make_mount_point(&target, meta.is_dir())?;
        binds.push(Bind { source: c_path(&source)?, target: c_path(&target)?, read_only: None });
    }
    for (name, child) in &node.children {
        let target = view.join(name);
        fs::create_dir(&target).map_err(io_error(format!("creating '{}'", target.display())))?;
        replicate(&real.join(name), &target, child, binds)?;
    }
    Ok(())
}

fn make_mount_point(path: &Path, directory: bool) -> Result<(), BuildError> {
    let made = match directory {
        true => fs::create_dir(path),
        false => fs::File::create(path).map(drop),
    };
    made.map_err(io_error(format!("creating the mount point '{}'", path.display())))
}

fn c_path(path: &Path) -> Result<CString, BuildError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io_error(format!("the path '{}'", path.display()))(std::io::Error::other(e)))
}

/// The flags of the mount holding `path` that a read-only remount of a bind of it must
/// keep: an unprivileged user may not clear them.
fn locked_flags(path: &Path) -> Result<libc::c_ulong, BuildError> {
    let c_path = c_path(path)?;
    // SAFETY: `stat` is a plain struct filled in by the kernel; the path is NUL-terminated.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c_path.as_ptr(), &mut stat) != 0 {
            return Err(
                io_error(format!("reading the mount of '{}'", path.display()))(std::io::Error::last_os_error()),
            );
        }
        stat
    };
    let pairs = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(pairs.iter().filter(|(st, _)| stat.f_flag & st != 0).fold(0, |flags, (_, ms)| flags | ms))
}

/// Forks a child that enters the namespaces a build needs and bind-mounts a directory, and
/// tells whether it could.
fn probe() -> bool {
    let Ok(dir) = tempfile::tempdir() else { return false };
    let Ok(target) = c_path(dir.path()) else { return false };
    let Ok(locked) = locked_flags(dir.path()) else { return false };
    let binds = vec![Bind { source: target.clone(), target: target.clone(), read_only: Some(locked) }];
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let setup = Setup {
        flags: libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET,
        uid_map: format!("{SANDBOX_UID} {uid} 1\n").into_bytes(),
        gid_map: format!("{SANDBOX_GID} {gid} 1\n").into_bytes(),
        binds,
        root: target,
        workdir: c"/".to_owned(),
    };
    // SAFETY: the child only runs `Setup::enter` (system calls on prepared data) and
    // `_exit`; the parent waits for it.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::_exit(if setup.enter().is_ok() { 0 } else { 1 });
        }
        if pid < 0 {
            return false;
        }
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 {
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return false;
            }
        }
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    }
}
