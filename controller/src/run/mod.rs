//! A plan or apply from start to end: load, compile, confirm, schedule, print, journal.

mod candidates;
mod confirm;
mod delegate;
mod event;
mod fetched;
mod files;
pub mod gate;
mod hostvars;
mod include_vars;
mod includes;
mod inline_vault;
pub mod lock;
mod lookups;
mod magic;
mod no_connection;
mod node;
mod phases;
mod play_vars;
mod render_vars;
mod run_once;
mod scheduler;
mod search_path;
mod shared_tasks;
mod stop;
mod sync;
mod sync_marks;
mod tally;
pub(crate) mod template_includes;
mod throttle;
mod vars;

use std::sync::Arc;
use std::time::Instant;

use dr_agent::wire::Mode;
use serde_json::json;
use time::OffsetDateTime;

pub use event::{Outcome, RunEvent, Stamped};
pub use node::NodeJob;
pub use tally::Tally;
pub use vars::RunVars;

/// The first play whose hosts are chosen during the run, after a play that changes the
/// inventory (`add_host`, `group_by`).
pub fn deferred_from(plays: &[crate::playbook::PlaySpec]) -> Option<usize> {
    phases::boundaries(plays).first().copied()
}

/// Marks the tasks that read other hosts' variables (see `docs/cross-host.md`).
pub fn mark_sync(tasks: &mut [dr_agent::wire::Task], reading: &std::collections::HashSet<String>) {
    sync_marks::mark(tasks, reading, &Default::default());
}

use crate::Error;
use crate::cli::{RunArgs, RunFormat};
use crate::commands::Context;
use crate::dag;
use crate::journal::JournalWriter;
use crate::output::{AnsiblePrinter, JsonCollector, Progress, TextPrinter};
use crate::transport::{StopLevel, Transport};

/// How to run.
pub struct RunMode {
    /// Check (plan) or apply.
    pub mode: Mode,
    /// Show diffs while applying (plans always show them).
    pub diff: bool,
    /// Do not ask before destructive steps.
    pub yes: bool,
}

/// Runs playbooks; returns the exit code (plan: 0 no changes, 2 changes, 1 error; apply:
/// 0 success, 1 failure).
pub fn run(args: &RunArgs, how: RunMode) -> Result<i32, Error> {
    // From here on a Ctrl-C or SIGTERM stops the run, which still ends its journal.
    let _recording = crate::interrupt::record();
    let secrets = crate::interrupt::prompting(|| crate::vault_glue::secrets_for(&args.vault))?;
    let ctx = Context::load(&args.inventory, secrets.clone())?;
    let mut books = ctx.playbooks(&args.playbooks, (args.become_, args.become_user.as_deref()))?;
    if let Some(start) = &args.start_at_task {
        crate::playbook::start_at::apply(&mut books, start)
            .map_err(|e| Error::Message(e.to_string()))?;
    }
    let cache_plugin = crate::fact_cache::settings::plugin(
        &ctx.config.fact_caching,
        ctx.config.ansible_cfg.as_deref(),
        &crate::fact_cache::settings::process_env,
    )?;
    let vars = RunVars::new(
        &ctx.inventory,
        &args.extra_vars,
        &ctx.config.vault,
        &secrets,
    )?
    .with_magic(magic::run_level(
        args,
        args.forks.or(ctx.config.forks).unwrap_or(50),
        ctx.config.ansible_cfg.as_deref(),
    ));
    crate::playbook::tag_templates::render(&mut books, vars.extra());
    let plays: Vec<_> = books.iter().flat_map(|b| b.plays.iter().cloned()).collect();
    // Plays after one that changes the inventory get their hosts when the run gets there.
    let boundaries = phases::boundaries(&plays);
    let mut dag = dag::compile_until(
        &books,
        &ctx.inventory,
        args.inventory.limit.as_deref(),
        vars.extra(),
        boundaries.first().copied(),
        ctx.config.pattern_mismatch()?,
    )?;
    let listing = crate::output::Listing {
        tasks: args.list_tasks,
        tags: args.list_tags,
        hosts: args.list_hosts,
    };
    if listing.any() {
        crate::out!(
            "{}",
            listing.render(&books, &dag, &args.tags, &args.skip_tags)
        );
        return Ok(0);
    }
    let fact_cache = open_fact_cache(cache_plugin, &ctx.inventory, args.flush_cache)?;
    let used: Vec<_> = plays
        .iter()
        .enumerate()
        .filter(|(i, _)| !dag.plays[*i].hosts.is_empty())
        .map(|(_, p)| p)
        .collect();
    vars.preload(&used, &secrets)?;
    dag::annotate_sync_points(&mut dag, &plays, |p| vars.reading_hostvars(p));
    let consent = how.yes
        || (how.mode == Mode::Apply
            && crate::interrupt::prompting(|| confirm::destructive_steps(&dag, &plays))?);
    let forks = args.forks.or(ctx.config.forks).unwrap_or(50);
    let rto = books
        .first()
        .and_then(|b| b.rto_target.clone())
        .or_else(|| plays.iter().find_map(|p| p.rto_target.clone()));
    let rpo = books
        .first()
        .and_then(|b| b.rpo_target.clone())
        .or_else(|| plays.iter().find_map(|p| p.rpo_target.clone()));
    let transport: Arc<dyn Transport> = Arc::new(crate::transport::router_for(args, &ctx.config)?);
    let started = OffsetDateTime::now_utc();
    let clock = Instant::now();
    // Shared with the secret set: it grows with what the plays derive from secrets.
    let masker = secrets.masker();
    let name = args.playbooks[0]
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let mut journal =
        JournalWriter::create(&ctx.config.journal_dir(), &name, started, masker.clone()).map_err(
            |e| {
                Error::Message(format!(
                    "cannot write the journal under `{}`: {e}",
                    ctx.config.journal_dir().display()
                ))
            },
        )?;
    let mode_word = if how.mode == Mode::Check {
        "plan"
    } else {
        "apply"
    };
    let journal_err = |e: std::io::Error| Error::Message(format!("cannot write the journal: {e}"));
    journal
        .line(started, "run_start", json!({
            "mode": mode_word,
            "playbooks": args.playbooks.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "limit": args.inventory.limit,
            "rto_target": rto.as_ref().map(|r| r.text.clone()),
            "rto_target_secs": rto.as_ref().map(|r| r.duration.as_secs_f64()),
            "rpo_target": rpo.as_ref().map(|r| r.text.clone()),
            "rpo_target_secs": rpo.as_ref().map(|r| r.duration.as_secs_f64()),
            "dr_version": env!("CARGO_PKG_VERSION"),
            // Who ran the drill, from where and against what: the report's Setup. Extra
            // vars by name only: a value may be a secret.
            "user": crate::host_info::os_user(),
            "controller": crate::host_info::node_name(),
            "inventory": ctx.sources.iter().map(|p| crate::config::relative_to_cwd(p).display().to_string()).collect::<Vec<_>>(),
            "extra_vars": vars.extra_names(),
        }))
        .map_err(journal_err)?;
    journal.dag(started, &dag).map_err(journal_err)?;
    journal.sync().map_err(journal_err)?;

    let reading_hostvars = plays.iter().map(|p| vars.reading_hostvars(p)).collect();
    let vars_extra = vars.extra().clone();
    let mismatch = ctx.config.pattern_mismatch()?;
    ctx.config.check_async_dir()?;
    // Play names as Ansible shows them: templated with the play's and the `-e` vars.
    let play_names: Vec<String> = plays
        .iter()
        .map(|p| {
            dag::render_keyword("name", &p.name, &p.loc, p, &ctx.inventory, vars.extra())
                .unwrap_or_else(|_| p.name.clone())
        })
        .collect();
    let shared_tasks = shared_tasks::SharedTasks::new(plays.len());
    let job = Arc::new(NodeJob {
        // The run's one copy of the DAG (a node holds its batch's host names: at hundreds
        // of hosts each copy costs megabytes).
        phase: std::sync::RwLock::new(Arc::new(node::Phase {
            hub: sync::Hub::new(&dag),
            dag,
        })),
        deferred_from: boundaries.first().copied(),
        plays,
        inventory: ctx.inventory,
        sources: ctx.sources.clone(),
        dynamic: Default::default(),
        vars,
        secrets: secrets.clone(),
        transport,
        mode: how.mode,
        diff: how.diff || how.mode == Mode::Check || args.format == RunFormat::Json,
        diff_mode: how.diff,
        callback: args.format == RunFormat::Ansible,
        missing_handler_warns: !ctx.config.error_on_missing_handler()?,
        allow_broken_conditionals: ctx.config.allow_broken_conditionals()?,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        force_handlers: args.force_handlers,
        connection: args.connection.clone(),
        yes: how.yes,
        consent,
        facts: Default::default(),
        host_facts: Default::default(),
        fact_cache,
        reading_hostvars,
        live: Default::default(),
        hostvars: Default::default(),
        play_vars: Default::default(),
        shared_tasks,
    });
    // Every inventory host's cached facts, which other hosts read in `hostvars` (an
    // implicit `localhost`'s are read when a play of its starts).
    for host in job.inventory.hosts().map(|h| h.name.clone()) {
        job.load_cached_facts(&host)
            .map_err(|e| Error::Message(e.to_string()))?;
    }
    let mut printer = TextPrinter::new(how.mode, how.diff, masker.clone());
    let phase = job.phase();
    let dag = &phase.dag;
    let mut collector = JsonCollector::new(dag, masker.clone());
    let text = args.format == RunFormat::Text;
    let ansible = args.format == RunFormat::Ansible;
    let mut ansible_printer = AnsiblePrinter::new(
        masker.clone(),
        crate::output::verbosity(),
        how.diff,
        &args.playbooks,
        play_names,
    )
    .with_debug(ctx.config.ansible_debug());
    if text {
        crate::out!(
            "{}",
            printer.header(
                dag,
                &args
                    .playbooks
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        );
    }
    // The first phase's DAG goes with its phase (plays after `add_host` extend a copy).
    let known_nodes = dag.nodes.len();
    drop(phase);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Message(format!("cannot start the runtime: {e}")))?;
    let mut journal_failure = None;
    let outcomes = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Stamped>();
        let (stop_tx, stop) = tokio::sync::watch::channel(crate::interrupt::level());
        let sched = phases::run_all(
            &job,
            &boundaries,
            phases::Extend {
                books: &books,
                limit: args.inventory.limit.as_deref(),
                extra: vars_extra.clone(),
                plays: &job.plays,
                mismatch,
            },
            forks,
            tx,
            stop,
        );
        let mut known = known_nodes;
        let mut progress = Progress::new(text, masker.clone());
        let consume = async {
            use std::io::Write as _;
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            loop {
                let stamped = tokio::select! {
                    next = rx.recv() => match next {
                        Some(s) => s,
                        None => break,
                    },
                    _ = tick.tick(), if progress.live() => {
                        let erase = progress.erase();
                        let line = progress.draw();
                        crate::out!("{erase}{line}");
                        let _ = std::io::stdout().flush();
                        continue;
                    }
                };
                let phase = job.phase();
                let dag = &phase.dag;
                if dag.nodes.len() != known {
                    // Plays after `add_host`/`group_by` got their hosts: their nodes join.
                    known = dag.nodes.len();
                    if let Err(e) = journal.dag(OffsetDateTime::now_utc(), dag) {
                        journal_failure.get_or_insert(e);
                    }
                    collector.extend(dag);
                }
                if let Err(e) = journal.event(dag, &stamped) {
                    journal_failure.get_or_insert(e);
                }
                if ansible {
                    let shown = ansible_printer.render(dag, &stamped.event);
                    if !shown.out.is_empty() {
                        crate::out!("{}", shown.out);
                        let _ = std::io::stdout().flush();
                    }
                    if !shown.err.is_empty() {
                        let _ = write!(std::io::stderr(), "{}", shown.err);
                    }
                } else if text {
                    progress.observe(dag, &stamped.event);
                    let shown = printer.render(dag, &stamped.event);
                    if !shown.is_empty() {
                        crate::out!("{}{shown}", progress.erase());
                    }
                    let _ = std::io::stdout().flush();
                } else {
                    collector.record(&stamped.event);
                }
            }
            crate::out!("{}", progress.erase());
        };
        tokio::select! {
            (outcomes, ()) = async { tokio::join!(sched, consume) } => outcomes,
            never = stop::watch_signals(stop_tx) => match never {},
        }
    });
    let (outcomes, late_error) = outcomes;
    // A killed local task's thread may still be unwinding: do not wait for it.
    runtime.shutdown_background();
    let elapsed = clock.elapsed();
    // What the agents reported, also on nodes cut off before their end.
    let changed: u32 = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| o.stats().changed.max(journal.reported(i).changed))
        .sum();
    // A failure `meta: clear_host_errors` took back fails the run no more than in Ansible;
    // a skipped node is the consequence of a failure counted where it happened (or of
    // `meta: end_play`), not one of its own.
    let phase = job.phase();
    let failed = outcomes
        .iter()
        .enumerate()
        .any(|(i, o)| !o.succeeded() && !matches!(o, Outcome::Skipped(_)) && !phase.hub.cleared(i));
    let stopped = crate::interrupt::level();
    let interrupted = stopped != StopLevel::Run
        || outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Interrupted(_)));
    // Choosing the hosts of the plays after `add_host`/`group_by` failed: the run stopped.
    let failed = failed || late_error.is_some();
    if let Some(e) = &late_error {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{e}");
    }
    let code = match (how.mode, failed, changed) {
        _ if interrupted => stop::EXIT_CODE,
        (_, true, _) => 1,
        (Mode::Check, false, 0) => 0,
        (Mode::Check, false, _) => 2,
        (Mode::Apply, false, _) => 0,
    };
    journal
        .line(OffsetDateTime::now_utc(), "run_end", json!({
            "exit_code": code,
            "changed": changed,
            "failed_nodes": outcomes.iter().filter(|o| matches!(o, Outcome::Failed { .. } | Outcome::Unreachable(..))).count(),
            "skipped_nodes": outcomes.iter().filter(|o| matches!(o, Outcome::Skipped(_))).count(),
            "interrupted": interrupted,
            "stop": stop::word(stopped),
            "elapsed_ms": elapsed.as_millis() as u64,
        }))
        .and_then(|()| journal.sync())
        .map_err(journal_err)?;
    if let Some(e) = journal_failure {
        return Err(journal_err(e));
    }
    let journal_path = journal.path().display().to_string();
    if ansible {
        crate::out!("{}", ansible_printer.summary(&job.phase().dag));
    } else if text {
        crate::out!("{}", printer.summary(changed, elapsed, Some(&journal_path)));
    } else {
        let doc = collector.finish(
            mode_word,
            code,
            changed,
            &outcomes,
            Some(&journal_path),
            elapsed.as_millis() as u64,
        );
        crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    // The run's inventory and `hostvars` (hundreds of thousands of values at 10,000 hosts,
    // a tenth of a 1-host plan's time to free one by one) are left to the process's exit,
    // which follows the run; the rest of the job (connections) is closed as usual.
    if let Ok(job) = Arc::try_unwrap(job) {
        let NodeJob {
            inventory, vars, ..
        } = job;
        std::mem::forget((inventory, vars));
    }
    Ok(code)
}

/// Opens the run's fact cache (none for Ansible's default `memory`); with `--flush-cache`,
/// first removes what it holds for every inventory host and `localhost`, as
/// ansible-playbook does.
fn open_fact_cache(
    plugin: crate::fact_cache::Plugin,
    inventory: &crate::inventory::Inventory,
    flush: bool,
) -> Result<Option<crate::fact_cache::FactCache>, Error> {
    let cache =
        crate::fact_cache::FactCache::open(plugin).map_err(|e| Error::Message(e.to_string()))?;
    if flush && let Some(cache) = &cache {
        cache.flush(
            inventory
                .hosts()
                .map(|h| h.name.as_str())
                .chain(["localhost"]),
        );
    }
    Ok(cache)
}
