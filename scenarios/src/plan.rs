//! The run's steps in time order, as the world applies them: the timeline's, and the faults
//! drawn from the seed (`random_faults`). Replay schedules them; the checks and the
//! invariants read when each happened and when its fault ended.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim_modem::fault::Fault;

use crate::format::{LabAction, RandomFaults, Scenario, StepKind};
use crate::world::{Action, Step};

/// A timeline step with its time, as the world will apply it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub at: Duration,
    /// When its fault ends, if it has a duration.
    pub end: Option<Duration>,
    pub step: Step,
}

/// Every step of the run in time order: the timeline's, then the random ones drawn from
/// `seed` (ids `random-1`, `random-2` ...).
pub fn plan(s: &Scenario, seed: u64) -> Vec<Planned> {
    let mut planned: Vec<Planned> = s
        .timeline
        .iter()
        .map(|step| Planned {
            at: step.at,
            end: step.end(),
            step: Step {
                id: step.id.clone(),
                action: match &step.what {
                    StepKind::Fault(fault) => Action::Fault(fault.clone()),
                    StepKind::Lab { action, client } => match action {
                        LabAction::Send(_) | LabAction::SendHex(_) => Action::LabSend {
                            client: *client,
                            data: action.bytes().unwrap_or_default().to_vec(),
                        },
                        LabAction::Close => Action::LabClose { client: *client },
                        LabAction::Reset => Action::LabReset { client: *client },
                        LabAction::Sms(text) => Action::LabSms { text: text.clone() },
                    },
                },
            },
        })
        .collect();
    if let Some(random) = &s.random_faults {
        planned.extend(random_faults(random, s.duration, seed));
    }
    // Stable: steps at the same time keep the file's order.
    planned.sort_by_key(|p| p.at);
    planned
}

/// Draws random faults. Integer arithmetic only, so every platform draws the same.
fn random_faults(r: &RandomFaults, run: Duration, seed: u64) -> Vec<Planned> {
    // Its own stream, apart from the simulation's (which is seeded with `seed` itself).
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a11_f417_5eed_0001);
    // Whole milliseconds: plenty of resolution, and readable in the trace.
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let total_weight: u64 = r.faults.iter().map(|f| u64::from(f.weight)).sum();
    let end = r.to.unwrap_or(run).min(run);
    let mut at = r.from;
    let mut planned = Vec::new();
    loop {
        at += Duration::from_millis(rng.random_range(0..=2 * millis(r.mean_interval)));
        if at > end || total_weight == 0 {
            return planned;
        }
        let mut pick = rng.random_range(0..total_weight);
        let chosen = r
            .faults
            .iter()
            .find(|f| {
                let w = u64::from(f.weight);
                if pick < w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .expect("pick < total weight");
        let mut fault = chosen.fault.clone();
        if let Some(d) = fault.duration() {
            let lo = chosen.min.unwrap_or(d);
            let hi = chosen.max.unwrap_or(d).max(lo);
            let drawn = Duration::from_millis(rng.random_range(millis(lo)..=millis(hi)));
            fault = with_duration(&fault, drawn).unwrap_or(fault);
        }
        planned.push(Planned {
            at,
            end: fault.duration().map(|d| at + d),
            step: Step {
                id: Some(format!("random-{}", planned.len() + 1)),
                action: Action::Fault(fault),
            },
        });
    }
}

/// The same fault lasting `d` (through its JSON form, so that every kind works, new ones
/// too); `None` for a fault without a duration.
pub fn with_duration(fault: &Fault, d: Duration) -> Option<Fault> {
    fault.duration()?;
    let mut json = serde_json::to_value(fault).ok()?;
    json["duration"] = serde_json::Value::String(units::format_duration(d));
    serde_json::from_value(json).ok()
}
