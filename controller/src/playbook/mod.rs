//! Ansible playbooks: parsed into typed plays and tasks that remember their locations.

pub mod kv;
pub mod modules;
mod parse;
mod scalar;
mod spec;
mod task;

pub use parse::load;
pub use spec::{PlaySpec, Playbook, RtoTarget, parse_duration};
pub use task::KEYWORDS as TASK_KEYWORDS;
