//! Running a builder (or Nix) as the leader of its own process group, with a deadline.
//!
//! When the leader exits, or the deadline passes, every process left in its group is
//! killed, so that a builder's background processes do not outlive the build. The leader is
//! only reaped after that: while it is a zombie its process id cannot be reused, so the
//! group that is killed is always the builder's.

use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Instant;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this status.
    Status(i32),
    /// A signal killed it.
    Signal(i32),
    /// The deadline passed and its process group was killed.
    TimedOut,
}

/// Starts `command` in a new process group and waits for it until `deadline`.
pub(crate) fn run(command: &mut Command, deadline: Option<Instant>) -> std::io::Result<Exit> {
    use std::os::unix::process::CommandExt;
    let child = command.process_group(0).spawn()?;
    wait(child, deadline)
}

/// Waits for a child that leads its own process group.
fn wait(mut child: Child, deadline: Option<Instant>) -> std::io::Result<Exit> {
    let pid = i32::try_from(child.id()).map_err(std::io::Error::other)?;
    let (exited_tx, exited_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited_tx.send(wait_without_reaping(pid));
    });
    let mut timed_out = false;
    let exited = match deadline {
        None => exited_rx.recv().ok(),
        Some(deadline) => match exited_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(result) => Some(result),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                kill_group(pid);
                exited_rx.recv().ok()
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
        },
    };
    if let Some(Err(error)) = exited {
        kill_group(pid);
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    // The leader is a zombie (or was killed): nothing of the build may run on.
    kill_group(pid);
    let status = child.wait()?;
    if timed_out {
        return Ok(Exit::TimedOut);
    }
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Status(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Status(-1),
    })
}

/// Blocks until process `pid` has exited, leaving it a zombie.
fn wait_without_reaping(pid: i32) -> std::io::Result<()> {
    loop {
        // SAFETY: `info` is a plain struct the kernel fills in; `pid` is our child.
        let result = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if result == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Sends SIGKILL to every process of the group `pgid` (nothing if it is empty).
fn kill_group(pgid: i32) {
    // SAFETY: kill has no memory effects; a negative pid names the process group.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_and_signal_are_reported() -> std::io::Result<()> {
        assert_eq!(run(Command::new("/bin/sh").args(["-c", "exit 7"]), None)?, Exit::Status(7));
        assert_eq!(run(Command::new("/bin/sh").args(["-c", "kill -9 $$"]), None)?, Exit::Signal(9));
        Ok(())
    }
}
