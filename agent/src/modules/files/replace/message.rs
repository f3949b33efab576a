//! The message `replace` and `blockinfile` report, as Ansible's `check_file_attrs` builds
//! it: the content change, then `ownership, perms or SE linux context changed` when the
//! attributes changed too.

use crate::modules::{Action, Context, ModuleError, Outcome, Plan};

const ATTRS: &str = "ownership, perms or SE linux context changed";

/// Sets the message of `plan` (in check mode and after apply): `content` is the message of
/// a content change (`None`: the content is unchanged). Nothing changed → `""`.
pub fn ansible_message(mut plan: Plan, content: Option<String>) -> Plan {
    if !plan.outcome.changed {
        plan.outcome.msg = String::new();
        plan.outcome.data.insert("msg".into(), "".into());
        return plan;
    }
    // A content change brings one content diff; any further diff is an attribute's.
    let content_diffs = usize::from(content.is_some());
    let attrs = plan.outcome.diffs.len() > content_diffs;
    let msg = match (content, attrs) {
        (Some(c), true) => format!("{c} and {ATTRS}"),
        (Some(c), false) => c,
        (None, _) => ATTRS.to_owned(),
    };
    plan.outcome.msg = msg.clone();
    plan.action = plan
        .action
        .map(|inner| Box::new(WithMessage { inner, msg }) as Box<dyn Action>);
    plan
}

/// An action whose outcome carries a fixed message.
struct WithMessage {
    inner: Box<dyn Action>,
    msg: String,
}

impl Action for WithMessage {
    fn apply(self: Box<Self>, ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let mut out = self.inner.apply(ctx)?;
        out.msg = self.msg;
        Ok(out)
    }
}
