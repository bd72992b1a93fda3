//! Child processes (git, uv, install scripts) end with comfydock. A kill -9 of comfydock in the
//! middle of `uv sync` must not leave uv writing into a venv that a later apply would then
//! trust; on Linux the kernel delivers SIGKILL to the child when its parent dies.

use std::process::Command;

/// Makes `cmd`'s process die when this process dies.
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid).
        let parent = std::process::id() as libc::pid_t;
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before prctl took effect: the child was re-parented already.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("comfydock exited while starting a child"));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}
