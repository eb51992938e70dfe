//! What happens when: the timeline's steps (a fault or a lab server action) and the faults
//! drawn from the seed.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_modem::fault::Fault;
use sim_modem::lab::ClientId;

use super::hex::Hex;

/// One timeline step: at a time, exactly one of a fault or a lab server action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub struct Step {
    pub at: Duration,
    pub id: Option<String>,
    pub what: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Fault(Fault),
    Lab {
        action: LabAction,
        client: Option<ClientId>,
    },
}

/// A timeline step as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{ "required": ["fault"] }, { "required": ["lab"] }]))]
pub struct RawStep {
    /// When, from the start of the run.
    #[serde(with = "units::HumanDuration")]
    pub at: Duration,
    /// A name that expectations use as `after` (`<id>.end` for the end of a fault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A fault to inject (sim-modem's faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// A lab server action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<LabAction>,
    /// The lab client the action is for (clients are numbered from 1 as they connect);
    /// default: the newest open one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
}

impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawStep::json_schema(generator)
    }
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Step, String> {
        let what = match (raw.fault, raw.lab) {
            (Some(fault), None) => {
                if raw.client.is_some() {
                    return Err("`client` goes with `lab`, not with `fault`".into());
                }
                StepKind::Fault(fault)
            }
            (None, Some(LabAction::Sms(_))) if raw.client.is_some() => {
                return Err("`client` names a lab connection: an SMS goes to the device".into());
            }
            (None, Some(action)) => StepKind::Lab {
                action,
                client: raw.client,
            },
            _ => return Err("a step has exactly one of `fault` and `lab`".into()),
        };
        Ok(Step {
            at: raw.at,
            id: raw.id,
            what,
        })
    }
}

impl From<Step> for RawStep {
    fn from(step: Step) -> RawStep {
        let (fault, lab, client) = match step.what {
            StepKind::Fault(fault) => (Some(fault), None, None),
            StepKind::Lab { action, client } => (None, Some(action), client),
        };
        RawStep {
            at: step.at,
            id: step.id,
            fault,
            lab,
            client,
        }
    }
}

impl Step {
    /// When the step's fault ends, if it has a duration.
    pub fn end(&self) -> Option<Duration> {
        match &self.what {
            StepKind::Fault(fault) => fault.duration().map(|d| self.at + d),
            StepKind::Lab { .. } => None,
        }
    }
}

/// What the lab server does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LabAction {
    /// Send text (as UTF-8; JSON escapes such as `\n` work).
    Send(String),
    /// Send bytes given in hex, e.g. `"11 22 33"`.
    SendHex(Hex),
    /// Close the connection (TCP FIN).
    Close,
    /// Reset the connection (TCP RST).
    Reset,
    /// Send the device an SMS from the lab's phone (text that fits one SMS): the network's
    /// service centre delivers it (`+CMTI`). A phone has no lab connection: no `client`.
    Sms(String),
}

impl LabAction {
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            LabAction::Send(text) => Some(text.as_bytes()),
            LabAction::SendHex(hex) => Some(&hex.0),
            LabAction::Close | LabAction::Reset | LabAction::Sms(_) => None,
        }
    }
}

/// Faults drawn from the seed: one every `mean_interval` on average (uniformly between 0
/// and twice that apart), between `from` and `to`, each picked from `faults` by weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    #[serde(with = "units::HumanDuration")]
    pub mean_interval: Duration,
    /// No random fault before this.
    #[serde(default, with = "units::HumanDuration")]
    pub from: Duration,
    /// No random fault after this (default: the end of the run).
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub to: Option<Duration>,
    /// The faults to draw from.
    pub faults: Vec<RandomFault>,
}

/// One kind of random fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomFault {
    /// The fault; a fault with a duration gets one drawn between `min` and `max`.
    pub fault: Fault,
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<Duration>,
    #[serde(
        default,
        with = "units::OptionHumanDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<Duration>,
    /// How often this one is picked, relative to the others.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}
