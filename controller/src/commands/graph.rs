//! `dr graph`: the DAG as stages, connecting to nothing.

use crate::Error;
use crate::cli::{GraphArgs, GraphFormat};
use crate::dag;

use super::Context;

/// Prints the stages.
pub fn run(args: &GraphArgs) -> Result<i32, Error> {
    let secrets = crate::vault_glue::secrets_without_vault();
    let ctx = Context::load(&args.inventory, secrets.clone())?;
    let books = ctx.playbooks(&args.playbooks, (false, None))?;
    let vars = crate::run::RunVars::new(&ctx.inventory, &args.extra_vars, &[], &secrets)?;
    let plays: Vec<_> = books.iter().flat_map(|b| b.plays.iter().cloned()).collect();
    let mut dag = dag::compile_until(
        &books,
        &ctx.inventory,
        args.inventory.limit.as_deref(),
        vars.extra(),
        crate::run::deferred_from(&plays),
        ctx.config.pattern_mismatch()?,
    )?;
    dag::annotate_sync_points(&mut dag, &plays, |p| vars.reading_hostvars(p));
    match args.format {
        GraphFormat::Text => crate::out!("{}", dag::render_text(&dag)),
        GraphFormat::Dot => crate::out!("{}", dag::render_dot(&dag)),
        GraphFormat::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&dag::render_json(&dag)).unwrap_or_default()
        ),
    }
    Ok(0)
}
