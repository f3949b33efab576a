//! The escalation mechanisms dr runs: `become_method` (`sudo`, `su`) and the
//! `become_flags` that change nothing in what dr does.
//!
//! dr never prompts for a password (`sudo -n`), so `su` works only from root (a root login
//! switching to another user, as Ansible's `su` does without a password there). Once the
//! agent runs as root, a task that must run as another user switches to it in the agent
//! itself (`runuser`, or the thread's credentials), whichever method the playbook named:
//! both give that user's identity and `HOME`, as `sudo -H` and `su` do. Flags that would
//! change that (`sudo -i`, `-E`, `su -l`) are refused, not ignored.

/// An escalation mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `sudo` (Ansible's default).
    Sudo,
    /// `su`.
    Su,
}

impl Method {
    /// The method `name` names, or why dr does not run it.
    pub fn named(name: &str) -> Result<Method, String> {
        match name.trim() {
            "sudo" | "ansible.builtin.sudo" => Ok(Method::Sudo),
            "su" | "ansible.builtin.su" => Ok(Method::Su),
            other => Err(format!(
                "`become_method: {other}` is not supported by dr: it escalates with `sudo` or `su`"
            )),
        }
    }
}

/// The flags dr's escalation is the same as: sudo's as Ansible passes them by default
/// (`-H -S -n`: the target's `HOME`, a password on stdin, which dr never needs, and no
/// prompt), in any order or combination; `su` takes none.
pub fn check_flags(flags: &str) -> Result<(), String> {
    let same = flags.split_whitespace().all(|flag| match flag {
        "--set-home" | "--stdin" | "--non-interactive" => true,
        short => {
            short.len() > 1
                && short.starts_with('-')
                && short[1..].chars().all(|c| matches!(c, 'H' | 'S' | 'n'))
        }
    });
    if same {
        Ok(())
    } else {
        Err(format!(
            "`become_flags: {flags}` is not supported by dr: it escalates as `sudo -H -S -n` \
             does (the flags Ansible passes by default), and other flags would change what \
             the task sees"
        ))
    }
}

/// Whether `su` can start a shell as a user with login shell `shell`: `su` runs the
/// command through it, and `nologin`/`false` refuse, so Ansible's `su` fails for them.
pub fn su_can_run_as(shell: &str) -> bool {
    let name = shell.rsplit('/').next().unwrap_or(shell);
    !matches!(name, "nologin" | "false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_s_default_flags_pass_and_others_are_refused() {
        for ok in [
            "",
            "-H -S -n",
            "-HSn",
            "-n",
            "--set-home --non-interactive",
            "-S -H",
        ] {
            assert!(check_flags(ok).is_ok(), "{ok}");
        }
        for bad in ["-i", "-E", "-H -S -n -E", "-", "-l", "--login", "-u root"] {
            assert!(check_flags(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn methods_by_name() {
        assert_eq!(Method::named("su"), Ok(Method::Su));
        assert_eq!(Method::named("ansible.builtin.sudo"), Ok(Method::Sudo));
        assert!(
            Method::named("doas")
                .unwrap_err()
                .contains("`become_method: doas`")
        );
    }

    #[test]
    fn su_needs_a_shell() {
        assert!(su_can_run_as("/bin/bash"));
        assert!(!su_can_run_as("/usr/sbin/nologin"));
        assert!(!su_can_run_as("/bin/false"));
    }
}
