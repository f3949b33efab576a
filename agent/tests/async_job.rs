//! A `poll: 0` job outlives the agent that started it: the agent returns Ansible's
//! "started" result at once, the controller goes away (the agent kills its process group
//! and exits), and the job still runs to its end and writes its result into the job file.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dr_agent::wire::{Event, PROTOCOL_VERSION, Status};

#[test]
fn a_fire_and_forget_job_outlives_the_agent_and_records_its_result() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    let jobs = tmp.path().join("jobs");
    let request = serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "host": "local",
        "mode": "apply",
        "diff": false,
        "play": {"name": "p", "tasks": [
            {"name": "job", "module": "shell", "args": format!("sleep 2; touch {d}/marker; echo out"),
             "async": 30, "poll": 0, "register": "job", "location": "p.yml:1:1"},
            {"name": "long", "module": "shell", "args": "sleep 30", "location": "p.yml:2:1"}
        ]},
        "vars": {"ansible_async_dir": jobs.display().to_string()},
        "files": {}
    });
    let mut agent = Command::new(env!("CARGO_BIN_EXE_dr-agent"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dr-agent: {e}"));
    let mut stdin = agent.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    let mut lines = BufReader::new(agent.stdout.take().unwrap()).lines();
    let first = loop {
        let line = lines
            .next()
            .expect("the agent reports the job's task")
            .unwrap();
        if let Ok(Event::TaskResult { status, .. }) = Event::from_line(&line) {
            break status;
        }
    };
    assert_eq!(
        first,
        Status::Changed,
        "Ansible reports a started job as changed"
    );
    // The controller goes away while the next task runs: the agent kills what it runs
    // and exits.
    drop(stdin);
    let status = agent.wait().unwrap();
    assert!(!status.success(), "the agent was stopped mid-play");
    assert!(
        !tmp.path().join("marker").exists(),
        "the job is still running"
    );

    let files: Vec<_> = std::fs::read_dir(&jobs).unwrap().collect();
    assert_eq!(files.len(), 1, "one job file");
    let file = files[0].as_ref().unwrap().path();
    let jid = file.file_name().unwrap().to_string_lossy().into_owned();
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"started": true, "finished": false, "ansible_job_id": jid})
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let result = loop {
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        if record.get("started").is_none() {
            break record;
        }
        assert!(Instant::now() < deadline, "the job never wrote its result");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(tmp.path().join("marker").exists());
    assert_eq!(result["stdout"], "out");
    assert_eq!(result["rc"], 0);
    assert_eq!(result["changed"], true);
    assert_eq!(result["failed"], false);
}

#[test]
fn a_polled_job_dies_with_the_play_when_the_controller_goes_away() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    let request = serde_json::json!({
        "protocol": PROTOCOL_VERSION,
        "host": "local",
        "mode": "apply",
        "diff": false,
        "play": {"name": "p", "tasks": [
            {"name": "polled", "module": "shell",
             "args": format!("touch {d}/started; sleep 3; touch {d}/marker"),
             "async": 30, "poll": 5, "location": "p.yml:1:1"}
        ]},
        "vars": {"ansible_async_dir": tmp.path().join("jobs").display().to_string()},
        "files": {}
    });
    let mut agent = Command::new(env!("CARGO_BIN_EXE_dr-agent"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dr-agent: {e}"));
    let mut stdin = agent.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tmp.path().join("started").exists() {
        assert!(Instant::now() < deadline, "the job never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stopped = Instant::now();
    drop(stdin);
    agent.wait().unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "the agent waited for the job"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !tmp.path().join("marker").exists(),
        "the polled job was not killed"
    );
}
