//! `delegate_to`: one item of a task runs on another host, with the delegating host's
//! variables, as in Ansible. The delegating host's agent waits; the controller runs a
//! one-task request on the other host (its connection, the delegating host's vars, files,
//! lookups and secrets) and answers with the result (`docs/cross-host.md`).

use std::sync::Arc;

use dr_agent::wire::{Delegation, Event, Play, Request, Shared};
use serde_json::{Map, Value};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::event::{RunEvent, Stamped};
use super::node::NodeJob;
use crate::inventory;
use crate::transport::StopWatch;

/// How the delegated task's play ended: its error, the facts and registered results after
/// it, and the facts it gathered from the host.
type End = (Option<String>, Map<String, Value>, Map<String, Value>);

/// The name a delegated task registers its result under when it registers none.
const REGISTER: &str = "_dr_delegated_result";

/// Runs `delegation` for node `i` (whose request was `base`); returns what the delegating
/// host takes as the item's result. Messages (`debug`) show under node `i`.
pub async fn run(
    job: &Arc<NodeJob>,
    i: usize,
    base: &Request,
    delegation: Delegation,
    sink: &UnboundedSender<Stamped>,
    stop: StopWatch,
) -> Shared {
    let Delegation {
        to,
        mut task,
        vars,
        raw,
        reconnect,
    } = delegation;
    // How messages name where the task went.
    let place = if reconnect {
        format!("`{to}` over this task's own connection")
    } else {
        format!("`delegate_to: {to}`")
    };
    // A reconnecting task's connection: the same host, with the variables the task set.
    let own = reconnect.then(|| inventory::connection_of(&to, &vars));
    let delegate_facts = task.delegate_facts;
    let register = task.register.get_or_insert_with(|| REGISTER.into()).clone();
    let (mut vars, mut facts) = (vars, Map::new());
    for name in raw {
        if let Some(v) = vars.remove(&name) {
            facts.insert(name, v);
        }
    }
    let given = facts.clone();
    let request = Request {
        protocol: base.protocol,
        host: base.host.clone(),
        mode: base.mode,
        diff: base.diff,
        diff_mode: base.diff_mode,
        play: Play {
            name: base.play.name.clone(),
            tasks: Arc::new(vec![task]),
            handlers: Default::default(),
            force_handlers: false,
            max_fail_percentage: None,
            become_: base.play.become_.clone(),
            become_method: base.play.become_method.clone(),
        },
        extra_vars: Vec::new(),
        unreachable: None,
        files: base.files.clone(),
        python_plugins: base.python_plugins.clone(),
        tags: Vec::new(),
        skip_tags: Vec::new(),
        facts,
        host_facts: Map::new(),
        above_facts: Vec::new(),
        secrets: base.secrets.clone(),
        vaulted: base.vaulted.clone(),
        consent: base.consent,
        bridged: base.bridged.clone(),
        lookups: base.lookups.clone(),
        vars: std::mem::take(&mut vars),
        // The delegating host's variables came with `hostvars`, `groups` and the play's
        // host lists in them.
        hostvars: None,
        play_vars: None,
        callback: false,
        invocation: false,
        missing_handler_warns: base.missing_handler_warns,
        allow_broken_conditionals: base.allow_broken_conditionals,
        agent_user: None,
        // The transport sets it; every connection variable here is the delegated host's.
        login: None,
        keyword_connection: Vec::new(),
    };
    // The delegated host's variables: from the inventory as `add_host` left it, if it did.
    let live = job
        .live
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .filter(|inv| inv.host(&to).is_some())
        .map(|inv| inv.host_vars(&to));
    let empty = Map::new();
    let theirs = live
        .as_ref()
        .or_else(|| job.vars.hostvars_of(&to))
        .unwrap_or(&empty);
    let mut request = request;
    let conn = if let Some(own) = own {
        own
    } else {
        // The connection is the delegated host's (its address, user, keys, interpreter),
        // as in Ansible; everything else stays the delegating host's.
        request
            .vars
            .retain(|k, _| !is_connection_var(k) || theirs.contains_key(k));
        for (k, v) in theirs {
            if is_connection_var(k) {
                request.vars.insert(k.clone(), v.clone());
            }
        }
        inventory::connection_of(&to, theirs)
    };
    let (tx, mut rx) = unbounded_channel::<Box<Event>>();
    // A delegated task has no sync points of its own; should one come, it is told to stop
    // rather than left waiting.
    let (answer, answers) = unbounded_channel();
    let ran = job.transport.run(&to, &conn, request, tx, answers, stop);
    let collect = async {
        let mut result: Option<Shared> = None;
        let mut end: Option<End> = None;
        while let Some(event) = rx.recv().await {
            match *event {
                Event::TaskResult {
                    status,
                    msg,
                    diffs,
                    detail,
                    dangerous,
                    ..
                } => {
                    result = Some(Shared {
                        status,
                        msg,
                        detail,
                        diffs,
                        dangerous,
                        register: Map::new(),
                        facts: Map::new(),
                        host_facts: Map::new(),
                        on: to.clone(),
                    });
                }
                Event::Message { text } => {
                    let _ = sink.send(Stamped::now(RunEvent::Agent {
                        node: i,
                        event: Event::Message { text },
                    }));
                }
                Event::Finished {
                    error,
                    facts,
                    host_facts,
                    ..
                } => end = Some((error, facts, host_facts)),
                Event::Sync { .. } => {
                    let _ = answer.send(Box::new(dr_agent::wire::Answer::Stop));
                }
                Event::TaskStart { .. } | Event::Flushing => {}
            }
        }
        (result, end)
    };
    let (outcome, (result, end)) = tokio::join!(ran, collect);
    match outcome {
        // As Ansible: the task is unreachable (not failed), which only `ignore_unreachable`
        // lets the host go on from.
        Err(crate::transport::TransportError::Unreachable(why)) => {
            return Shared::unreachable(&to, format!("{place}: unreachable: {why}"));
        }
        Err(e) => return Shared::failed(&to, format!("{place}: {e}")),
        Ok(()) => {}
    }
    let (Some(mut result), Some((error, mut after, gathered))) = (result, end) else {
        return Shared::failed(&to, format!("{place}: the task did not run there"));
    };
    if let Some(Value::Object(registered)) = after.remove(&register) {
        result.register = registered;
    } else if let Some(error) = error {
        result.register = Shared::failed(&to, error).register;
    }
    let set: Map<String, Value> = after
        .into_iter()
        .filter(|(k, v)| given.get(k) != Some(v))
        .collect();
    if delegate_facts {
        // The facts belong to the host the task ran on (Ansible's `delegate_facts`).
        let mut seen = gathered.clone();
        seen.extend(set.clone());
        job.remember_facts(&to, set, gathered);
        job.phase().hub.extra_facts(&to, seen);
    } else {
        let mut all = gathered;
        all.extend(set);
        result.facts = all;
    }
    result
}

/// Variables that say how to reach and run on a host (`ansible_*`/`dr_*` forms).
fn is_connection_var(name: &str) -> bool {
    const CONNECTION: &[&str] = &[
        "host",
        "port",
        "user",
        "connection",
        "password",
        "private_key_file",
        "python_interpreter",
    ];
    let Some(rest) = name
        .strip_prefix("ansible_")
        .or_else(|| name.strip_prefix("dr_"))
    else {
        return false;
    };
    CONNECTION.contains(&rest) || rest.starts_with("ssh_")
}
