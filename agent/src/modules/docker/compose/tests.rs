//! Against the real Docker engine: a tiny image built here (no registry), compose projects
//! in temp dirs with unique names, always removed.

use std::process::Command;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::Compose;
use crate::modules::hostcmd;
use crate::modules::testutil::{Harness, snapshot};

const IMAGE: &str = "dr-agent-test/sleep:1";

fn must(cmd: &mut Command, what: &str) -> String {
    match hostcmd::run_ok(cmd, what) {
        Ok(r) => r.stdout,
        Err(e) => panic!(
            "{e} (these tests need a running Docker engine and `docker-compose` or `docker compose`)"
        ),
    }
}

/// `IMAGE`: /bin/sleep and the libraries `ldd` lists, `docker import`ed — only when missing:
/// re-importing would change the image id, hence every config hash, under other tests.
fn image() {
    static BUILT: Once = Once::new();
    BUILT.call_once(|| {
        let have = hostcmd::run(Command::new("docker").args(["image", "inspect", IMAGE]), "docker");
        if have.is_ok_and(|r| r.ok()) {
            return;
        }
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = root.path().display();
        let script = format!(
            "set -e; mkdir -p {r}/bin; cp /bin/sleep {r}/bin/; \
             for l in $(ldd /bin/sleep | grep -o '/[^ ]*'); do mkdir -p {r}$(dirname $l); cp -L $l {r}$l; done; \
             tar -C {r} -c . | docker import - {IMAGE}"
        );
        must(Command::new("sh").args(["-c", &script]), "building the test image");
    });
}

/// A compose project in a temp dir; its containers and network are removed on drop.
struct Proj {
    dir: tempfile::TempDir,
    name: String,
}

impl Proj {
    fn new(compose: &str, env: &str) -> Proj {
        image();
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "drtest{}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = Proj { dir, name };
        p.write("docker-compose.yml", compose);
        p.write(".env", env);
        p
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn args(&self) -> serde_json::Value {
        json!({"project_src": self.dir.path().display().to_string(), "project_name": self.name})
    }

    fn with(&self, extra: serde_json::Value) -> serde_json::Value {
        let mut a = self.args();
        if let (Some(a), Some(e)) = (a.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        a
    }

    /// service → (container id, started at) of running containers.
    fn containers(&self) -> Vec<(String, String, String, bool)> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let out = must(
            Command::new("docker").args([
                "ps",
                "-a",
                "--filter",
                &filter,
                "--format",
                "{{.Label \"com.docker.compose.service\"}} {{.ID}} {{.State}}",
            ]),
            "docker ps",
        );
        let mut v: Vec<(String, String, String, bool)> = out
            .lines()
            .filter_map(|l| {
                let mut p = l.split_whitespace();
                let (svc, id, state) = (p.next()?, p.next()?, p.next()?);
                let started = must(
                    Command::new("docker").args(["inspect", "-f", "{{.State.StartedAt}}", id]),
                    "docker inspect",
                );
                Some((
                    svc.to_owned(),
                    id.to_owned(),
                    started.trim().to_owned(),
                    state == "running",
                ))
            })
            .collect();
        v.sort();
        v
    }
}

impl Drop for Proj {
    fn drop(&mut self) {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let _ = hostcmd::run(
            Command::new("sh").args([
                "-c",
                &format!("docker ps -aq --filter {filter} | xargs -r docker rm -f; docker network rm {}_default", self.name),
            ]),
            "cleanup",
        );
    }
}

const TWO: &str = "version: \"3.7\"\nservices:\n  backend:\n    image: dr-agent-test/sleep:1\n    command: [\"/bin/sleep\", \"infinity\"]\n    stop_signal: SIGKILL\n    pull_policy: never\n    environment:\n      DATABASE_URL: ${DATABASE_URL}\n  worker:\n    image: dr-agent-test/sleep:1\n    command: [\"/bin/sleep\", \"1000\"]\n    stop_signal: SIGKILL\n    pull_policy: never\n";

fn check_unchanged(h: &Harness, p: &Proj, args: serde_json::Value) -> super::Plan {
    let before = (p.containers(), snapshot(p.dir.path()));
    let plan = h.check(&Compose, args);
    assert_eq!(
        (p.containers(), snapshot(p.dir.path())),
        before,
        "check mode changed something"
    );
    plan
}

#[test]
fn present_creates_then_recreates_only_what_the_compose_file_changed() {
    let p = Proj::new(TWO, "DATABASE_URL=postgres://app:SECRET@db-01/akira\n");
    let h = Harness::new();
    let plan = check_unchanged(&h, &p, p.args());
    assert!(plan.outcome.changed);
    assert_eq!(
        plan.outcome.msg,
        "would create `backend`: no container yet; would create `worker`: no container yet"
    );
    let out = h.apply(&Compose, p.args());
    assert!(out.changed && !out.failed, "{}", out.msg);
    let first = p.containers();
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.3), "{first:?}");
    let again = h.check(&Compose, p.args());
    assert!(
        !again.outcome.changed && again.action.is_none(),
        "{}",
        again.outcome.msg
    );

    p.write("docker-compose.yml", &TWO.replace("\"1000\"", "\"2000\""));
    let plan = check_unchanged(&h, &p, p.args());
    assert!(
        plan.outcome
            .msg
            .starts_with("would recreate `worker`: compose file or image changed (config hash "),
        "{}",
        plan.outcome.msg
    );
    assert!(
        !plan.outcome.msg.contains("backend"),
        "{}",
        plan.outcome.msg
    );
    assert_eq!(plan.outcome.diffs.len(), 1);
    h.apply(&Compose, p.args());
    let second = p.containers();
    assert_eq!(second[0].1, first[0].1, "backend must be left alone");
    assert_ne!(second[1].1, first[1].1, "worker must be recreated");
    assert!(!h.check(&Compose, p.args()).outcome.changed);
}

#[test]
fn env_file_change_recreates_and_restarted_touches_only_named_services() {
    let p = Proj::new(TWO, "DATABASE_URL=postgres://app:SECRET@db-01/akira\n");
    let h = Harness::new();
    h.apply(&Compose, p.args());
    let first = p.containers();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    p.write(".env", "DATABASE_URL=postgres://app:SECRET@db-02/akira\n");

    let plan = check_unchanged(&h, &p, p.args());
    assert!(
        plan.outcome
            .msg
            .starts_with("would recreate `backend`: env file `.env` changed (config hash"),
        "{}",
        plan.outcome.msg
    );
    // The worker does not use the variable, but the env file is newer than its start:
    // an app reading .env itself would need a restart.
    assert!(
        plan.outcome
            .msg
            .contains("would restart `worker`: env file `.env` changed after it started"),
        "{}",
        plan.outcome.msg
    );

    // The handler: restart only `backend`.
    let restart = p.with(json!({"state": "restarted", "services": ["backend"]}));
    let plan = check_unchanged(&h, &p, restart.clone());
    assert_eq!(plan.outcome.diffs.len(), 1, "{}", plan.outcome.msg);
    assert_eq!(plan.outcome.diffs[0].target, "service backend");
    let out = h.apply(&Compose, restart);
    assert!(out.changed && !out.failed, "{}", out.msg);
    let after = p.containers();
    assert_ne!(after[0].1, first[0].1, "backend recreated with the new env");
    assert_eq!(after[1], first[1], "worker untouched");
    let env = must(
        Command::new("docker").args([
            "inspect",
            "-f",
            "{{range .Config.Env}}{{println .}}{{end}}",
            &after[0].1,
        ]),
        "docker inspect",
    );
    assert!(env.contains("@db-02/"), "{env}");
    // A plain restart when nothing changed restarts (state restarted always acts).
    let out = h.apply(
        &Compose,
        p.with(json!({"state": "restarted", "services": ["worker"]})),
    );
    assert!(
        out.changed && out.msg.starts_with("restart `worker` (restart requested"),
        "{}",
        out.msg
    );
    let last = p.containers();
    assert_eq!(last[1].1, first[1].1);
    assert_ne!(last[1].2, first[1].2, "worker restarted");
    assert!(!h.check(&Compose, p.args()).outcome.changed);
}

#[test]
fn stopped_and_absent_are_idempotent_and_orphans_are_named() {
    let p = Proj::new(TWO, "DATABASE_URL=x\n");
    let h = Harness::new();
    h.apply(&Compose, p.args());
    let stop = p.with(json!({"state": "stopped", "services": ["worker"]}));
    let plan = check_unchanged(&h, &p, stop.clone());
    assert_eq!(plan.outcome.msg, "would stop `worker`: running");
    h.apply(&Compose, stop.clone());
    assert!(!p.containers()[1].3);
    assert!(p.containers()[0].3);
    assert!(!h.check(&Compose, stop).outcome.changed);
    let plan = h.check(&Compose, p.args());
    assert_eq!(plan.outcome.msg, "would start `worker`: not running");
    h.apply(&Compose, p.args());

    // An orphan: the worker leaves the compose file.
    let only_backend = TWO.split("  worker:").next().unwrap_or("").to_owned();
    p.write("docker-compose.yml", &only_backend);
    assert!(!h.check(&Compose, p.args()).outcome.changed);
    let plan = h.check(&Compose, p.with(json!({"remove_orphans": true})));
    assert_eq!(
        plan.outcome.msg,
        "would remove `worker`: orphan: no longer in the compose file"
    );
    h.apply(&Compose, p.with(json!({"remove_orphans": true})));
    assert_eq!(p.containers().len(), 1);

    let absent = p.with(json!({"state": "absent"}));
    let plan = check_unchanged(&h, &p, absent.clone());
    assert_eq!(
        plan.outcome.msg,
        "would remove `backend`: 1 container(s) exist"
    );
    h.apply(&Compose, absent.clone());
    assert!(p.containers().is_empty());
    assert!(!h.check(&Compose, absent).outcome.changed);
}

#[test]
fn bad_arguments_name_the_problem() {
    let p = Proj::new(TWO, "DATABASE_URL=x\n");
    let h = Harness::new();
    let e = h.check_err(&Compose, p.with(json!({"services": ["backnd"]})));
    assert!(
        e.contains("no service `backnd`") && e.contains("backend, worker"),
        "{e}"
    );
    let e = h.check_err(&Compose, json!({"project_src": "/nonexistent/dr"}));
    assert!(e.contains("`/nonexistent/dr` is not a directory"), "{e}");
    assert!(
        h.check_err(&Compose, p.with(json!({"stat": "present"})))
            .contains("unknown field")
    );
}
