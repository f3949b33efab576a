//! The run as a DAG: one node per play × host, edges from play order and `after:`.

mod compile;
mod hosts_template;
pub use hosts_template::render_keyword;
mod pattern_terms;
mod render;
mod sync_points;

pub use compile::{
    Dag, DagNode, HostSelection, Mismatch, PlayInfo, compile, compile_until, extend,
};
pub use render::{render_dot, render_json, render_text};
pub use sync_points::{SyncPointInfo, annotate as annotate_sync_points};
