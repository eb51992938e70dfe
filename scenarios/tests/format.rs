//! The scenario format: bad files are refused with `path:line:column: what`, and the
//! checked-in JSON Schema matches the types.

use pretty_assertions::assert_eq;
use scenarios::format::{parse, schema_json, SCHEMA_PATH};

/// A minimal valid file with `extra` spliced in after `"duration"` (one line each).
fn file(extra: &str) -> String {
    format!("{{\n  \"name\": \"t\",\n  \"duration\": \"1m\"{extra}\n}}\n")
}

/// Parses `text` and checks the error starts with `bad.json:<where>: ` and contains `what`;
/// what went wrong otherwise.
fn check(text: &str, place: &str, what: &str) -> Result<(), String> {
    let error = match parse("bad.json", text) {
        Ok(_) => return Err(format!("accepted:\n{text}")),
        Err(e) => e.to_string(),
    };
    let prefix = format!("bad.json:{place}: ");
    if error.starts_with(&prefix) && error.contains(what) {
        return Ok(());
    }
    Err(format!(
        "for\n{text}\nwanted `{prefix}...{what}...`, got\n{error}"
    ))
}

#[test]
fn bad_files_are_refused_with_where_and_what() {
    let step = |s: &str| file(&format!(",\n  \"timeline\": [{s}]"));
    let expect = |s: &str| file(&format!(",\n  \"expect\": [{s}]"));
    let client = |s: &str| file(&format!(",\n  \"client\": {{ \"steps\": [{s}] }}"));
    let client_expect = |s: &str| {
        file(&format!(
            ",\n  \"client\": {{ \"steps\": [] }},\n  \"expect\": [{s}]"
        ))
    };
    let cases: &[(&str, String, &str, &str)] = &[
        ("not json", "{ \"name\": ".into(), "1:10", "EOF while parsing"),
        ("unknown key", file(",\n  \"nmae\": 1"), "4:3", "unknown field `nmae`, expected one of"),
        ("missing duration", "{ \"name\": \"t\" }".into(), "1:1", "missing field `duration`"),
        ("duration without unit", "{ \"name\": \"t\", \"duration\": \"60\" }".into(), "1:28", "invalid duration \"60\": missing unit"),
        ("unknown profile", file(",\n  \"modem\": \"sim900\""), "4:12", "unknown variant `sim900`, expected `sim800` or `air202`"),
        ("unknown profile field", file(",\n  \"modem\": { \"profile\": \"sim800\", \"closed_on_deact\": false }"), "4:35", "unknown field `closed_on_deact`, expected one of `profile`, `manufacturer`"),
        ("unknown network knob", file(",\n  \"network\": { \"latncy\": \"1s\" }"), "4:16", "unknown field `latncy`"),
        ("unknown device knob", file(",\n  \"device\": { \"heartbeat\": \"1s\" }"), "4:15", "unknown field `heartbeat`"),
        ("device knob out of range", file(",\n  \"device\": { \"heartbeat_interval\": \"0s\" }"), "4:37", "heartbeat_interval is 0s: it must be from 1ms to 86400s"),
        ("device port out of range", file(",\n  \"device\": { \"server_port\": 0 }"), "4:30", "server_port is 0: it must be from 1 to 65535"),
        ("device text too long", file(",\n  \"device\": { \"apn\": \"an-apn-name-longer-than-thirty-two-bytes\" }"), "4:22", "invalid length 40, expected a string no more than 32 bytes long"),
        ("device's old server key", file(",\n  \"device\": { \"server\": \"example.com\" }"), "4:15", "unknown field `server`, expected one of `server_host`"),
        ("run too long", "{ \"name\": \"t\", \"duration\": \"99999999999999h\" }".into(), "1:28", "the run is 99999999999999h: it must be from 1ms to 7d"),
        ("empty run", "{ \"name\": \"t\", \"duration\": \"0s\" }".into(), "1:28", "the run is 0s: it must be from 1ms"),
        ("a flood of random faults", file(",\n  \"random_faults\": { \"mean_interval\": \"1ms\", \"faults\": [{ \"fault\": { \"kind\": \"reboot\" } }] }"), "4:39", "one fault every 1ms draws about 60000 in the run: at most 10000"),
        ("bad framing", file(",\n  \"device\": { \"framing\": \"lines\" }"), "4:26", "unknown variant `lines`"),
        ("unknown fault", step("{ \"at\": \"1s\", \"fault\": { \"kind\": \"meteor\" } }"), "4:49", "unknown variant `meteor`"),
        ("fault and lab", step("{ \"at\": \"1s\", \"fault\": { \"kind\": \"reboot\" }, \"lab\": \"close\" }"), "4:30", "exactly one of `fault` and `lab`"),
        ("neither fault nor lab", step("{ \"at\": \"1s\" }"), "4:16", "exactly one of `fault` and `lab`"),
        ("bad hex", step("{ \"at\": \"1s\", \"lab\": { \"send_hex\": \"11 2\" } }"), "4:51", "odd number of digits"),
        ("unknown lab action", step("{ \"at\": \"1s\", \"lab\": { \"shout\": \"x\" } }"), "4:39", "unknown variant `shout`"),
        ("step after the end", step("{ \"at\": \"2m\", \"lab\": \"close\" }"), "4:24", "after the end of the run"),
        ("unknown expectation", expect("{ \"expect\": \"sometimes\" }"), "4:26", "unknown variant `sometimes`"),
        ("misspelt window key", expect("{ \"expect\": \"never\", \"what\": \"closed\", \"form\": \"1s\" }"), "4:53", "unknown field `form`"),
        ("unknown pattern", expect("{ \"expect\": \"never\", \"what\": { \"at\": { \"regex\": \"x\" } } }"), "4:53", "unknown variant `regex`"),
        ("bad duration, another expectation after", expect("{ \"expect\": \"never\", \"what\": \"closed\", \"to\": \"5 mins 10 secz\" },\n    { \"expect\": \"never\", \"what\": \"closed\" }"), "4:59", "invalid duration \"5 mins 10 secz\": unknown unit \"secz\""),
        ("periodic without every", expect("{ \"expect\": \"periodic\", \"what\": \"closed\" }"), "4:14", "missing field `every`"),
        ("unknown anchor", expect("{ \"expect\": \"never\", \"what\": \"closed\", \"after\": \"outage\" }"), "4:62", "\"outage\" is neither a step id"),
        ("id used twice", expect("{ \"expect\": \"never\", \"what\": \"closed\", \"id\": \"a\" }, { \"expect\": \"never\", \"what\": \"closed\", \"id\": \"a\" }"), "4:111", "the id \"a\" is used twice"),
        ("anchors in a circle", expect("{ \"expect\": \"happens\", \"what\": \"closed\", \"id\": \"a\", \"after\": \"b\" }, { \"expect\": \"happens\", \"what\": \"closed\", \"id\": \"b\", \"after\": \"a\" }"), "4:75", "circle"),
        ("a key of another kind", expect("{ \"expect\": \"happens\", \"what\": \"closed\", \"every\": \"1s\" }"), "4:55", "`every` does not go with `happens`"),
        ("count with min", expect("{ \"expect\": \"happens\", \"what\": \"closed\", \"count\": 1, \"min\": 1 }"), "4:55", "`count` goes with neither `min` nor `max`"),
        ("min above max", expect("{ \"expect\": \"happens\", \"what\": \"closed\", \"min\": 3, \"max\": 2 }"), "4:55", "`min` (3) is more than `max` (2)"),
        ("unknown fault key", step("{ \"at\": \"1s\", \"fault\": { \"kind\": \"roaming\", \"duration\": \"1s\", \"extra\": 1 } }"), "4:78", "unknown field `extra`"),
        ("bad profile knob", file(",\n  \"modem\": { \"profile\": \"sim800\", \"cipshut\": \"2 parsecs\" }"), "4:46", "invalid duration \"2 parsecs\""),
        ("profile named by name", file(",\n  \"modem\": { \"name\": \"sim800\" }"), "4:14", "`profile` names the profile"),
        ("known failure as plain text", file(",\n  \"known_failure\": \"a bug\""), "4:20", "invalid type: string \"a bug\", expected struct KnownFailure"),
        ("known failure naming nothing", file(",\n  \"known_failure\": { \"fails\": [], \"why\": \"a bug\" }"), "4:31", "`fails` names the expectations the bug makes fail"),
        ("known failure naming a step", step("{ \"at\": \"1s\", \"id\": \"go\", \"lab\": \"close\" }],\n  \"known_failure\": { \"fails\": [\"go\"], \"why\": \"a bug\" }, \"expect\": [{ \"expect\": \"never\", \"what\": \"closed\", \"id\": \"a\" }"), "5:32", "`fails`: \"go\" is not an expectation id; known: a"),
        ("unknown report kind", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"kind\": \"ModemReboot\" } } }"), "4:65", "\"ModemReboot\" is not a report kind; kinds: Phase, Led"),
        ("unknown report field", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"kind\": \"ModemRestart\", \"why\": \"NoAnswer\" } } }"), "4:88", "a ModemRestart report has no field \"why\"; its fields: action, reason"),
        ("report field of another type", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"kind\": \"ConnectFailed\", \"failures\": \"5\" } } }"), "4:94", "ConnectFailed's failures is a number, not a string"),
        ("report text of no kind", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"prefix\": \"ModemRestar\" } } }"), "4:67", "\"ModemRestar\" is not one; kinds: Phase"),
        ("report contains no kind", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"contains\": \"action: Reset\" } } }"), "4:69", "\"action\" is not one"),
        ("report in hex", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"hex\": \"41\" } } }"), "4:64", "a report is text"),
        ("report kind not a name", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"kind\": 3 } } }"), "4:57", "`kind` is a report kind's name, not 3"),
        ("report pattern unknown", expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"regex\": \"x\" } } }"), "4:57", "unknown variant `regex`"),
        ("unknown invariant", expect("{ \"expect\": \"invariant\", \"invariant\": \"always_up\" }"), "4:52", "\"always_up\" is not an invariant a trace shows; they are: answered, no_command_in_data, only_asked_for"),
        ("an invariant no trace shows", expect("{ \"expect\": \"invariant\", \"invariant\": \"no_panic\" }"), "4:52", "\"no_panic\" is not an invariant a trace shows"),
        ("an invariant with a window", expect("{ \"expect\": \"invariant\", \"invariant\": \"answered\", \"from\": \"1m\" }"), "4:14", "an invariant is judged over the whole run"),
        ("random faults without faults", file(",\n  \"random_faults\": { \"mean_interval\": \"1h\", \"faults\": [] }"), "4:55", "at least one fault"),
        ("client and device", file(",\n  \"device\": { \"heartbeat_interval\": \"30s\" },\n  \"client\": { \"steps\": [] }"), "5:13", "a file has `device` or `client`, not both"),
        ("client without steps", file(",\n  \"client\": {}"), "4:13", "missing field `steps`"),
        ("client key misspelt", file(",\n  \"client\": { \"step\": [] }"), "4:15", "unknown field `step`, expected `steps`"),
        ("client step of two kinds", client("{ \"send\": \"AT\", \"expect\": \"OK\" }"), "4:27", "exactly one of `send`, `send_raw`, `send_hex`, `expect` and `wait`"),
        ("client step of no kind", client("{}"), "4:25", "exactly one of `send`"),
        ("client step unknown key", client("{ \"sned\": \"AT\" }"), "4:27", "unknown field `sned`"),
        ("within without expect", client("{ \"wait\": \"1s\", \"within\": \"2s\" }"), "4:41", "`within` goes with `expect`"),
        ("client wait without unit", client("{ \"send\": \"AT\" }, { \"wait\": \"2\" }"), "4:53", "invalid duration \"2\": missing unit"),
        ("client bad hex", client("{ \"send_hex\": \"1a 2\" }"), "4:39", "odd number of digits"),
        ("client unknown pattern", client("{ \"expect\": { \"regex\": \"OK\" } }"), "4:39", "unknown variant `regex`"),
        ("client expect a number", client("{ \"expect\": 3 }"), "4:37", "invalid type: integer `3`, expected a line (a string) or a pattern"),
        ("client and a report", client_expect("{ \"expect\": \"never\", \"what\": { \"report\": { \"kind\": \"ModemRestart\" } } }"), "5:43", "with a `client` no firmware runs: nothing checks a firmware report"),
        ("client and answered", client_expect("{ \"expect\": \"answered\" }"), "5:26", "nothing checks the firmware's replies"),
        ("client and an invariant", client_expect("{ \"expect\": \"invariant\", \"invariant\": \"answered\" }"), "5:52", "nothing checks an invariant of the firmware"),
        ("sms to a lab client", step("{ \"at\": \"1s\", \"lab\": { \"sms\": \"hi\" }, \"client\": 1 }"), "4:54", "`client` names a lab connection: an SMS goes to the device"),
        ("sms too long", step(&format!("{{ \"at\": \"1s\", \"lab\": {{ \"sms\": \"{}\" }} }}", "x".repeat(161))), "4:46", "161 characters do not fit one SMS (160 GSM 7-bit, or 70 UCS2)"),
        ("sms pattern unknown", expect("{ \"expect\": \"never\", \"what\": { \"sms\": { \"regex\": \"x\" } } }"), "4:54", "unknown variant `regex`"),
    ];
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|(name, text, place, what)| {
            check(text, place, what)
                .err()
                .map(|e| format!("case {name:?}: {e}"))
        })
        .collect();
    assert!(failed.is_empty(), "\n{}", failed.join("\n\n"));
}

/// The checked-in schema is what the types say; `UPDATE_EXPECT=1 cargo test -p scenarios
/// --test format` rewrites it, as every golden file in the workspace.
#[test]
fn the_checked_in_schema_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    expect_test::expect_file![root.join(SCHEMA_PATH)].assert_eq(&schema_json());
}

#[test]
fn every_scenario_file_names_the_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in scenarios::scenario_files(dir).unwrap() {
        let scenario = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
        // Relative to the file, so that editors find it from subdirectories too.
        let depth = path.strip_prefix(dir).unwrap().components().count() - 1;
        let schema = match depth {
            0 => "./scenario.schema.json".to_string(),
            _ => format!("{}scenario.schema.json", "../".repeat(depth)),
        };
        assert_eq!(
            scenario.schema.as_deref(),
            Some(schema.as_str()),
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_readme_example_parses() {
    let readme = include_str!("../README.md");
    let start = readme.find("```json\n").expect("a JSON example") + "```json\n".len();
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    // The description is elided there.
    let example = example.replace("...", "");
    parse("README.md", &example).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn modem_is_a_name_or_a_profile_with_changes() {
    let named = parse("t.json", &file(",\n  \"modem\": \"air202\"")).unwrap();
    assert_eq!(named.modem.profile, sim_modem::profile::Profile::air202());
    assert!(named.modem.overrides().is_empty());
    let text = file(",\n  \"modem\": { \"profile\": \"air202\", \"closed_on_pdp_deact\": false, \"cipshut\": \"2s\" }");
    let changed = parse("t.json", &text).unwrap();
    let mut want = sim_modem::profile::Profile::air202();
    want.closed_on_pdp_deact = false;
    want.cipshut = std::time::Duration::from_secs(2);
    assert_eq!(changed.modem.profile, want);
    // Written back, only the changes are kept.
    let written = serde_json::to_value(&changed.modem).unwrap();
    assert_eq!(
        written,
        serde_json::json!({ "profile": "air202", "closed_on_pdp_deact": false, "cipshut": "2s" })
    );
    let again = parse("t.json", &serde_json::to_string(&changed).unwrap()).unwrap();
    assert_eq!(again, changed);
}

#[test]
fn expectations_written_back_read_the_same() {
    let text = file(
        r#",
  "timeline": [{ "at": "1s", "id": "go", "lab": "close" }],
  "expect": [
    { "expect": "happens", "id": "a", "what": "closed", "count": 2, "after": "go", "to": "5s" },
    { "expect": "happens", "what": "accepted", "min": 2, "max": 4, "until": "a" },
    { "expect": "happens", "what": { "at": { "prefix": "AT" } }, "min": 1 },
    { "expect": "never", "what": { "report": { "contains": "Dropped" } }, "from": "2s" },
    { "expect": "never", "what": { "report": { "kind": "ModemRestart", "action": "PowerKey" } } },
    { "expect": "periodic", "what": { "received": { "hex": "01 02" } }, "every": "10s", "tolerance": "1s" },
    { "expect": "answered", "within": "3s" },
    { "expect": "invariant", "id": "kept", "invariant": "outbox_bounded" }
  ]"#,
    );
    let scenario = parse("t.json", &text).unwrap_or_else(|e| panic!("{e}"));
    let written = serde_json::to_string(&scenario).unwrap();
    assert_eq!(parse("again.json", &written).unwrap(), scenario);
    let summaries: Vec<String> = scenario.expect.iter().map(|e| e.summary()).collect();
    assert_eq!(
        summaries,
        [
            "a server connection closed exactly 2x [go + 0s..5s]",
            "server accepted a connection 2..4x [0s..end until a]",
            "modem got \"AT\"... [0s..end]",
            "never: firmware reported ...\"Dropped\"... [2s..end]",
            "never: firmware reported ModemRestart { action: \"PowerKey\" } [0s..end]",
            "server received hex 01 02 every 10s ± 1s [0s..end]",
            "every back/bin/time answered once within 3s [0s..end]",
            "invariant outbox_bounded",
        ]
    );
}

#[test]
fn client_steps_read_and_written_back() {
    use scenarios::format::{ClientStep, LinePattern, Pattern};
    use std::time::Duration;
    let text = file(
        r#",
  "client": { "steps": [
    { "send": "AT+HTTPINIT" },
    { "send_raw": "hello\u001a" },
    { "send_hex": "1a 1b" },
    { "expect": "OK" },
    { "expect": { "prefix": "+HTTPACTION: 0," }, "within": "2m" },
    { "wait": "1500ms" }
  ] },
  "timeline": [{ "at": "10s", "lab": { "sms": "hi" } }],
  "expect": [{ "expect": "happens", "what": { "sms": { "text": "hello" } } }]"#,
    );
    let scenario = parse("t.json", &text).unwrap_or_else(|e| panic!("{e}"));
    let line = |p: Pattern| LinePattern(p);
    assert_eq!(
        scenario.client.as_ref().map(|c| c.steps.clone()),
        Some(vec![
            ClientStep::Send(b"AT+HTTPINIT\r".to_vec()),
            ClientStep::Send(b"hello\x1a".to_vec()),
            ClientStep::Send(vec![0x1a, 0x1b]),
            ClientStep::Expect {
                line: line(Pattern::Text("OK".into())),
                within: scenarios::format::DEFAULT_WITHIN,
            },
            ClientStep::Expect {
                line: line(Pattern::Prefix("+HTTPACTION: 0,".into())),
                within: Duration::from_secs(120),
            },
            ClientStep::Wait(Duration::from_millis(1500)),
        ])
    );
    let written = serde_json::to_string(&scenario).unwrap();
    assert_eq!(parse("again.json", &written).unwrap(), scenario);
    // The plainest form that gives the same bytes.
    let steps = serde_json::to_value(&scenario.client).unwrap();
    assert_eq!(
        steps["steps"][0],
        serde_json::json!({ "send": "AT+HTTPINIT" })
    );
    assert_eq!(
        steps["steps"][2],
        serde_json::json!({ "send_raw": "\u{1a}\u{1b}" })
    );
    assert_eq!(
        steps["steps"][3],
        serde_json::json!({ "expect": "OK", "within": "5s" })
    );
}
