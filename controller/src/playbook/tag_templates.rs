//! Templated `tags:` (`tags: "{{ the_tags }}"`), rendered as ansible-playbook renders them
//! for selecting and listing: with the play's `vars:` and the extra vars. A template that
//! needs more (inventory variables, facts) stays as written and the agent renders it with
//! the task's variables when the host reaches the task.

use dr_agent::engine::rendered_tags;
use dr_agent::template::Templater;
use dr_agent::wire::Task;
use serde_json::{Map, Value};

use super::Playbook;

/// Renders what can be rendered of every task's templated tags.
pub fn render(books: &mut [Playbook], extra: &Map<String, Value>) {
    let templater = Templater::new();
    for play in books.iter_mut().flat_map(|b| b.plays.iter_mut()) {
        let mut vars = play.vars.clone();
        vars.extend(extra.clone());
        let scope = templater.scope(vars);
        for task in play.tasks.iter_mut().chain(play.handlers.iter_mut()) {
            render_task(task, &|tag| rendered_tags(&scope, tag));
        }
    }
}

fn render_task(task: &mut Task, render: &dyn Fn(&str) -> Option<Vec<String>>) {
    if task.tags.iter().any(|t| t.contains("{{")) {
        let mut out = Vec::new();
        for tag in std::mem::take(&mut task.tags) {
            match tag.contains("{{").then(|| render(&tag)).flatten() {
                Some(tags) => out.extend(tags),
                None => out.push(tag),
            }
        }
        task.tags = out;
    }
    for child in task
        .block
        .iter_mut()
        .chain(task.rescue.iter_mut())
        .chain(task.always.iter_mut())
    {
        render_task(child, render);
    }
}
