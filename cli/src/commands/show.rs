//! How plans and step results look on a terminal (JSON output is the serialized values).

use octa_bootstrap::engine::PlannedStep;
use octa_bootstrap::step::Plan;

use crate::ui::Ui;

fn tag(plan: &Plan) -> &'static str {
    match plan {
        Plan::Noop { .. } => "ok",
        Plan::Create { .. } => "create",
        Plan::Update { .. } => "update",
        Plan::Adopt { .. } => "adopt",
        Plan::Blocked { .. } => "BLOCKED",
    }
}

/// The plan, one block per step: what it owns, then what would change.
pub fn plan(ui: &Ui, deployment: &str, planned: &[PlannedStep]) {
    ui.line(format!("plan for deployment {deployment}:"));
    for p in planned {
        ui.line(format!("  {:<8} {:<15} {}", tag(&p.plan), p.id, p.describe));
        let details: Vec<String> = match &p.plan {
            Plan::Noop { .. } => Vec::new(),
            Plan::Create { changes } | Plan::Update { changes } | Plan::Adopt { changes } => {
                changes.clone()
            }
            Plan::Blocked { reason, hint } => vec![reason.clone(), format!("hint: {hint}")],
        };
        for d in details {
            ui.line(format!("{:27}- {d}", ""));
        }
    }
}
