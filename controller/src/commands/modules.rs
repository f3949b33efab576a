//! `dr modules`: the native modules, then the modules dr runs through the module bridge
//! (what the installed ansible-core and collections provide).

use crate::Error;
use crate::playbook::modules::{Known, resolve};

/// Lists native modules with their arguments, then bridged modules by name.
pub fn run() -> Result<i32, Error> {
    crate::outln!("native modules (built into dr; no Python needed on the host):");
    for m in dr_agent::modules::ALL {
        crate::outln!("  {:<18} {}", m.name(), m.arg_names().join(", "));
    }
    for name in dr_agent::modules::PLANNED {
        crate::outln!("  {name:<18} (not available in this version)");
    }
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(config) = crate::config::Config::discover(&cwd)
    {
        crate::bridge::configure(config.ansible_python, &config.collections_path);
    }
    crate::outln!();
    match crate::bridge::catalog() {
        Ok(catalog) => {
            crate::outln!(
                "bridged modules (Ansible's own code, run with the host's Python; ansible-core {} from `{}`):",
                catalog.version,
                catalog.ansible.display()
            );
            // A name dr has natively (`ansible.builtin.file`) runs natively.
            let bridged = catalog
                .bridgeable()
                .filter(|name| matches!(resolve(name), Ok(Known::Bridged(_))));
            for name in bridged {
                crate::outln!("  {name}");
            }
        }
        Err(why) => {
            crate::outln!("bridged modules: none ({why})");
        }
    }
    Ok(0)
}
