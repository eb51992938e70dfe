//! Issue 13 through the whole [`Sim`]: what needs the UART, the network or a fault: a host at
//! another rate than the modem's after `AT+IPR`, the DTR line, the battery fault, network
//! time from the network's clock, `AT+CDNSGIP` answered by the simulated DNS, transparent mode
//! to the lab server. The modem's side of each is in `modem_housekeeping.rs`' goldens.

mod sim_support;

use sim_modem::fault::Fault;
use sim_modem::sim::SimConfig;
use sim_support::{ms, secs, SimBench};

/// `AT+IPR=9600` from a host that stays at 115,200: its `OK` still arrives (at the old rate),
/// then nothing understandable crosses either way until the host moves to 9,600 too.
#[test]
fn a_baud_mismatch_garbles_both_ways() {
    let mut b = SimBench::booted(SimConfig::default());
    b.sim.set_host_baud(Some(115_200));
    assert!(b.cmd("AT+IPR=9600", "OK").contains("OK"));
    // The modem now reads garbage: no OK to an AT (what it answers, the host cannot read).
    b.write("AT\r");
    b.run_for(secs(2));
    let answer = b.since_mark();
    assert!(!answer.contains("OK"), "{answer:?}");
    // A URC the modem sends at 9,600 arrives garbled, not as its text.
    b.mark();
    b.sim
        .inject(b.now, Fault::RegistrationLost { duration: secs(1) });
    b.write("AT+CREG=1\r");
    b.run_for(secs(10));
    assert!(!b.since_mark().contains("+CREG"), "{:?}", b.since_mark());
    // The host follows: commands work again.
    b.sim.set_host_baud(Some(9600));
    b.run_for(secs(1));
    assert!(b.cmd("AT+IPR?", "OK").contains("+IPR: 9600"));
    // And with the host following the modem (the default), no mismatch at all.
    b.sim.set_host_baud(None);
    assert!(b.cmd("AT+IPR=115200;&W", "OK").contains("OK"));
    assert!(b.cmd("AT", "OK").contains("OK"));
}

/// Wire time follows the rate: a 9,600-baud `OK` takes 12 times as long as at 115,200.
#[test]
fn the_new_rate_paces_the_wire() {
    let mut b = SimBench::booted(SimConfig::default());
    let at_115200 = time_of_an_at(&mut b);
    b.cmd("AT+IPR=9600", "OK");
    b.sim.set_host_baud(Some(9600));
    let at_9600 = time_of_an_at(&mut b);
    // `AT\r` (3 bytes) and `\r\nOK\r\n` (6 bytes) at 10 bits a byte, plus the command's 10 ms.
    assert_eq!(
        at_115200,
        ms(10) + sim_modem::sim::wire_time(3, 115_200) + sim_modem::sim::wire_time(6, 115_200)
    );
    assert_eq!(
        at_9600,
        ms(10) + sim_modem::sim::wire_time(3, 9600) + sim_modem::sim::wire_time(6, 9600)
    );
}

fn time_of_an_at(b: &mut SimBench) -> std::time::Duration {
    let start = b.now;
    b.write("AT\r");
    b.wait_for("OK", secs(1)) - start
}

/// `AT+CSCLK=1` through the `Sim`'s DTR line.
#[test]
fn dtr_wakes_a_sleeping_modem() {
    let mut b = SimBench::booted(SimConfig::default());
    b.cmd("AT+CSCLK=1", "OK");
    b.write("AT\r");
    b.run_for(secs(1));
    assert_eq!(b.since_mark(), "", "asleep: nothing answers");
    b.sim.set_dtr(b.now, false);
    b.run_for(ms(100));
    assert!(b.cmd("AT+CSCLK=0", "OK").contains("OK"));
}

/// The `battery` fault changes what `AT+CBC` reports.
#[test]
fn the_battery_fault_changes_cbc() {
    let mut b = SimBench::booted(SimConfig::default());
    assert!(b.cmd("AT+CBC", "OK").contains("+CBC: 0,85,4100"));
    let fault: Fault =
        serde_json::from_str(r#"{"kind":"battery","percent":9,"millivolts":3480}"#).unwrap();
    b.sim.inject(b.now, fault);
    assert!(b.cmd("AT+CBC", "OK").contains("+CBC: 0,9,3480"));
    for bad in [
        r#"{"kind":"battery","percent":0,"millivolts":3480}"#,
        r#"{"kind":"battery","percent":101,"millivolts":3480}"#,
        r#"{"kind":"battery","percent":50}"#,
    ] {
        assert!(serde_json::from_str::<Fault>(bad).is_err(), "{bad}");
    }
}

/// `AT+CLTS=1`: the network's clock (`network.unix_time_at_start`) reaches the modem's.
#[test]
fn network_time_comes_from_the_network() {
    let mut config = SimConfig::default();
    config.network.unix_time_at_start = 1_800_000_000; // 2027-01-15T08:00:00Z
    let mut b = SimBench::new(config);
    b.wait_for("RDY", secs(10));
    b.cmd("ATE0;+CLTS=1", "OK");
    b.mark();
    b.wait_for("DST: 0", secs(30));
    let urcs = b.since_mark();
    assert!(urcs.contains("*PSUTTZ: 2027,1,15,8,0,"), "{urcs:?}");
    assert!(urcs.contains("+CTZV: +32,0"), "{urcs:?}");
    assert!(b.cmd("AT+CCLK?", "OK").contains("+CCLK: \"27/01/15,16:00:"));
}

/// `AT+CDNSGIP` asks the simulated network's DNS: the lab's name resolves, others do not.
#[test]
fn cdnsgip_asks_the_simulated_dns() {
    let config = SimConfig::default();
    let lab = config.lab.ip;
    let mut b = SimBench::booted(config);
    b.bring_up();
    b.cmd("AT+CDNSGIP=\"lab.longlink.test\"", "+CDNSGIP:");
    let answer = format!("+CDNSGIP: 1,\"lab.longlink.test\",\"{lab}\"");
    assert!(b.since_mark().contains(&answer), "{}", b.since_mark());
    b.cmd("AT+CDNSGIP=\"nowhere.example\"", "+CDNSGIP:");
    assert!(b.since_mark().contains("+CDNSGIP: 0,8"));
    b.cmd("AT+CDNSGIP=\"192.0.2.7\"", "+CDNSGIP:");
    assert!(b
        .since_mark()
        .contains("+CDNSGIP: 1,\"192.0.2.7\",\"192.0.2.7\""));
}

/// Transparent mode against the lab server: what the host types reaches it, what it sends
/// comes back raw, `+++` and `ATO` around it.
#[test]
fn transparent_mode_to_the_lab() {
    let mut b = SimBench::booted(SimConfig::default());
    b.cmd_until("AT+CGATT?", "+CGATT: 1", secs(60));
    b.cmd("AT+CIPMODE=1", "OK");
    b.cmd(
        "AT+CIPSTART=\"TCP\",\"lab.longlink.test\",6500",
        "\r\nCONNECT\r\n",
    );
    b.write("heart beat");
    b.run_for(secs(2));
    let client = b
        .sim
        .lab()
        .clients()
        .next()
        .map(|c| c.id)
        .expect("a lab client");
    assert_eq!(
        b.sim.lab().client(client).unwrap().received_bytes(),
        b"heart beat"
    );
    b.mark();
    b.sim.lab_send(b.now, client, b"back 1").unwrap();
    b.run_for(secs(2));
    assert_eq!(b.since_mark(), "back 1");
    b.write("+++");
    b.wait_for("\r\nOK\r\n", secs(3));
    b.cmd("ATO", "CONNECT");
    b.mark();
    b.sim.lab_close(b.now, client).unwrap();
    b.wait_for("CLOSED", secs(5));
    assert!(b.cmd("ATO", "NO CARRIER").contains("NO CARRIER"));
}
