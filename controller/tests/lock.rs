//! Two applies of the same playbooks on the same inventory never run at once: the second
//! is refused naming the first; a plan is never blocked.

mod util;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{Dr, write_tree};

const INVENTORY: &str = "all:\n  hosts:\n    box:\n      ansible_connection: local\n";

#[test]
fn a_second_apply_is_refused_naming_the_first_and_a_plan_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let playbook = format!(
        "- hosts: box\n  gather_facts: false\n  tasks:\n    - name: slow step\n      command: sleep 4\n    - copy:\n        content: done\n        dest: \"{}/done.txt\"\n",
        cwd.display()
    );
    write_tree(cwd, &[("inv.yml", INVENTORY), ("slow.yml", &playbook)]);
    let mut first = Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(["apply", "slow.yml", "-i", "inv.yml"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first apply records itself in its lock file once it holds it.
    let locks = cwd.join(".dr/locks");
    let started = Instant::now();
    let holder = loop {
        let recorded = std::fs::read_dir(&locks)
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|e| {
                std::fs::read_to_string(e.path())
                    .ok()
                    .filter(|t| !t.is_empty())
            });
        if let Some(text) = recorded {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first apply never took its lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        holder.starts_with(&format!("pid {}, user ", first.id())),
        "{holder}"
    );

    let second = Dr::new(cwd, &["apply", "slow.yml", "-i", "inv.yml"]).run();
    second
        .code(1)
        .stderr_has("another `dr apply` of these playbooks on this inventory is running (pid ")
        .stderr_has(&format!("pid {}, user ", first.id()))
        .stderr_has("command `")
        .stderr_has("apply slow.yml -i inv.yml`");
    // A plan takes no lock.
    Dr::new(cwd, &["plan", "slow.yml", "-i", "inv.yml"])
        .run()
        .code(2);

    let status = first.wait().unwrap();
    assert!(status.success(), "the first apply failed: {status}");
    assert_eq!(
        std::fs::read_to_string(cwd.join("done.txt")).unwrap(),
        "done"
    );
    // Released when the holder ended: the next apply runs.
    Dr::new(cwd, &["apply", "slow.yml", "-i", "inv.yml"])
        .run()
        .code(0);
}
