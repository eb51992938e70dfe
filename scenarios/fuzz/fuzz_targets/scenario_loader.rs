//! The scenario loader on arbitrary bytes: a scenario or a clear error (`path:line:column`
//! inside the text), never a panic. A scenario it accepts must survive being written and
//! read back.
//!
//! `cargo xtask fuzz scenario_loader` (or `cd scenarios/fuzz && cargo +nightly fuzz run
//! scenario_loader`); `cargo xtask fuzz` seeds the corpus with the library's files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match scenarios::parse("fuzz.json", text) {
        Ok(scenario) => {
            let written = serde_json::to_string(&scenario).expect("a scenario serializes");
            let again = scenarios::parse("again.json", &written)
                .unwrap_or_else(|e| panic!("a scenario written back is refused: {e}\n{written}"));
            assert_eq!(again, scenario, "written back: {written}");
        }
        Err(error) => {
            // The place is in the text (or 0:0 for none), and the message says something.
            let lines = text.split('\n').count();
            assert!(error.line <= lines, "{error} (the text has {lines} lines)");
            assert!(!error.message.is_empty());
        }
    }
});
