//! Ansible playbooks: parsed into typed plays and task trees that remember their locations.

mod action_plugin;
mod filter_names;
mod inherit;
pub mod keywords;
pub mod kv;
mod level;
mod lookup_names;
mod module_template;
pub mod modules;
mod parse;
mod play;
mod role;
mod role_validation;
mod scalar;
mod spec;
pub mod start_at;
pub mod tag_templates;
mod task;
mod task_text;
pub mod tasks;

pub use parse::load;
pub use play::check_strategy;
pub use role::{BecomeDefaults, RoleSearch};
pub use spec::{HostOrder, PlaySpec, Playbook, RtoTarget, VarsFile, parse_duration};
pub use task::KEYWORDS as TASK_KEYWORDS;
