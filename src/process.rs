//! Child processes (git, uv, install scripts) end with comfydock. A kill -9 of comfydock in the
//! middle of `uv sync` must not leave uv writing into a venv that a later apply would then
//! trust; on Linux the kernel delivers SIGKILL to the child when its parent dies.

use std::process::Command;

/// Makes `cmd`'s process die when this process dies.
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Pid, Signal, getppid, set_parent_process_death_signal};
        use std::os::unix::process::CommandExt;
        let parent = i32::try_from(std::process::id()).ok().and_then(Pid::from_raw);
        // SAFETY: between fork and exec only async-signal-safe calls are made (prctl and
        // getppid, raw system calls through rustix; nothing allocates).
        unsafe {
            cmd.pre_exec(move || {
                set_parent_process_death_signal(Some(Signal::KILL))?;
                // The parent died before prctl took effect: the child was re-parented already.
                if getppid() != parent {
                    return Err(std::io::Error::other("comfydock exited while starting a child"));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}
