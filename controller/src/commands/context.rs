//! What every command loads first: `dr.toml`, the inventory, the playbooks.

use std::path::PathBuf;

use crate::Error;
use crate::cli::InventoryArgs;
use crate::config::Config;
use crate::inventory::{self, Inventory};
use crate::playbook::{self, Playbook};
use crate::secrets::Secrets;

/// Loaded project state for one command.
pub struct Context {
    /// `dr.toml` (defaults when there is none).
    pub config: Config,
    /// The inventory.
    pub inventory: Inventory,
    /// Where it was read from (`-i`, else dr.toml), to read it again
    /// (`meta: refresh_inventory`).
    pub sources: Vec<PathBuf>,
    /// Secret values seen so far (vault values).
    pub secrets: Secrets,
}

impl Context {
    /// Reads `dr.toml` and the inventory (`-i` wins over dr.toml).
    pub fn load(args: &InventoryArgs, secrets: Secrets) -> Result<Context, Error> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::Message(format!("cannot read the working directory: {e}")))?;
        let config = Config::discover(&cwd)?;
        let sources: Vec<PathBuf> = if args.inventory.is_empty() {
            config.inventory.clone()
        } else {
            args.inventory.clone()
        };
        if sources.is_empty() {
            return Err(Error::Message(
                "no inventory: pass `-i inventory/staging.yml` or set `inventory` in dr.toml"
                    .into(),
            ));
        }
        let inventory = inventory::load(&sources, &secrets)?;
        Ok(Context {
            config,
            inventory,
            sources,
            secrets,
        })
    }

    /// Parses playbooks in order, finding roles through dr.toml's `roles_path` and
    /// Ansible's search path; `escalation` is `-b` and `--become-user` (see
    /// `Config::become_defaults`).
    pub fn playbooks(
        &self,
        paths: &[PathBuf],
        escalation: (bool, Option<&str>),
    ) -> Result<Vec<Playbook>, Error> {
        crate::bridge::configure(
            self.config.ansible_python.clone(),
            &self.config.collections_path,
        );
        let mut search =
            playbook::RoleSearch::new(&self.config.roles_path, &self.config.collections_path);
        search.private_role_vars = self.config.private_role_vars()?;
        search.become_defaults = self.config.become_defaults(escalation.0, escalation.1)?;
        paths
            .iter()
            .map(|p| playbook::load(p, &search).map_err(Error::from))
            .collect()
    }
}
