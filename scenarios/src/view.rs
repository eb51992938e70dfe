//! A readable, live view of a run for `cargo xtask sim`: AT traffic, modem and link state,
//! what the server and the device said. One line per interesting record; the raw UART runs,
//! watchdog feeds and outbox depths stay in the trace. And the console a person types into
//! when the world runs in real time.

use protocol::text::Quoted;
use sim_modem::fault::Fault;

use crate::check::secs;
use crate::trace::{Dir, Event, NetDir, Record, SmsDir};
use crate::world::{Action, Step, World};

/// The line to show for a record, if it is worth showing.
pub fn line(record: &Record) -> Option<String> {
    let what = match &record.event {
        Event::Uart { .. } => return None,
        Event::At { dir, line } => {
            let arrow = match dir {
                Dir::ToModem => "device -> modem ",
                Dir::FromModem => "modem  -> device",
            };
            format!("{arrow}  {}", Quoted(&line.0))
        }
        Event::Fw { report } => {
            let text = &report.text;
            if text == "WatchdogFed" || text.starts_with("Outbox") || text.starts_with("Queued") {
                return None;
            }
            format!("firmware          {text}")
        }
        Event::Pin { pin, level } => format!("firmware pin      {pin:?} = {level}"),
        Event::Modem { event } => format!("modem state       {event:?}"),
        Event::Net { dir, event } => match dir {
            // The requests are visible as AT commands already.
            NetDir::ToNet => return None,
            NetDir::ToModem => format!("network           {event}"),
        },
        Event::LabAccepted {
            client,
            transport,
            peer,
        } => format!("SERVER            client {client} connected ({transport} from {peer})"),
        Event::LabReceived { client, data } => {
            format!("SERVER <- device  client {client}: {}", Quoted(&data.0))
        }
        Event::LabSent { client, data } => {
            format!("SERVER -> device  client {client}: {}", Quoted(&data.0))
        }
        Event::LabClosed { client, reason } => {
            format!("SERVER            client {client} closed ({reason})")
        }
        Event::Fault { fault } => format!("FAULT             {}", fault.to_json()),
        Event::FaultEnd { fault } => format!("fault ended       {}", fault.to_json()),
        Event::Noise {
            dir,
            flipped,
            dropped,
            duplicated,
        } => format!("line noise        {dir:?}: {flipped} flipped, {dropped} dropped, {duplicated} duplicated"),
        Event::UartOverflow { dir, lost } => {
            format!("UART OVERFLOW     {dir:?}: {lost} bytes lost")
        }
        Event::Step { id, action, error } => format!(
            "scenario          {}{action}{}",
            id.as_ref().map_or(String::new(), |id| format!("[{id}] ")),
            error.as_ref().map_or(String::new(), |e| format!(" FAILED: {e}"))
        ),
        Event::LabSms { dir, number, text } => match dir {
            SmsDir::FromDevice => format!("SERVER <- device  SMS to {number}: {text:?}"),
            SmsDir::ToDevice => format!("SERVER -> device  SMS from {number}: {text:?}"),
        },
        Event::Client {
            step,
            action,
            got,
            error,
        } => format!(
            "client            [{step}] {action}{}{}",
            got.as_ref()
                .map_or(String::new(), |g| format!(": {}", Quoted(&g.0))),
            error.as_ref().map_or(String::new(), |e| format!(" FAILED: {e}"))
        ),
    };
    Some(format!("{:>14}  {what}", secs(record.at)))
}

/// What a line typed at the live console did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Console {
    /// Done; show this (may be empty).
    Answer(String),
    Quit,
}

/// The live console's help.
pub const CONSOLE_HELP: &str = "\
type a line to send it to the device (the newest lab client), or:
  list | show <client> | send <client> <text> | hex <client> <hex> | close <client> | reset <client>
  fault <json>     inject a fault, e.g. fault {\"kind\":\"registration_lost\",\"duration\":\"30s\"}
  help             this text
  quit             stop";

/// Acts on a line typed at the live console, at the world's current time. `terminator` is
/// appended to plain text (the device's framing: `\n` for newline framing).
pub fn console(world: &mut World, line: &str, terminator: &[u8]) -> Console {
    let line = line.trim_end_matches(['\r', '\n']);
    let (word, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
    match word {
        "quit" | "exit" => Console::Quit,
        "" => Console::Answer(String::new()),
        "help" | "?" => Console::Answer(CONSOLE_HELP.to_string()),
        "list" | "ls" | "show" | "send" | "hex" | "close" | "reset" => {
            Console::Answer(world.lab_console(line))
        }
        "fault" => match serde_json::from_str::<Fault>(rest) {
            Ok(fault) => {
                world.apply(Step {
                    id: None,
                    action: Action::Fault(fault),
                });
                Console::Answer(String::new())
            }
            Err(e) => Console::Answer(format!("error: {e}")),
        },
        _ => {
            let mut data = line.as_bytes().to_vec();
            data.extend_from_slice(terminator);
            world.apply(Step {
                id: None,
                action: Action::LabSend { client: None, data },
            });
            Console::Answer(String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldConfig;

    #[test]
    fn the_console_sends_injects_and_quits() {
        let mut world = World::new(WorldConfig {
            device: firmware::Config::seed("lab.longlink.test", 6500).unwrap(),
            sim: Default::default(),
            profile: None,
            trace: true,
        })
        .unwrap();
        world.run_until(std::time::Duration::from_secs(30));
        let check = |world: &mut World, line: &str, want: Console| {
            assert_eq!(console(world, line, b""), want, "{line}");
        };
        check(&mut world, "back hi", Console::Answer(String::new()));
        check(
            &mut world,
            "fault {\"kind\":\"reboot\"}",
            Console::Answer(String::new()),
        );
        let Console::Answer(error) = console(&mut world, "fault {\"kind\":\"meteor\"}", b"") else {
            panic!("not an answer");
        };
        assert!(
            error.starts_with("error: unknown variant `meteor`"),
            "{error}"
        );
        check(&mut world, "quit", Console::Quit);
        let sent = world
            .records()
            .iter()
            .any(|r| matches!(&r.event, Event::LabSent { data, .. } if data.0 == b"back hi"));
        assert!(sent, "the line went to the device");
    }
}
