//! Real client libraries' sequences against the simulated modem: Luat's LuaTask on an Air202
//! (reference §3.1) and TinyGSM's SIM800 driver (§4). The host here behaves like those
//! libraries: it sends a command, waits for the answer it expects, and goes on. Each test
//! reaches a connected socket, moves data both ways, and keeps a golden transcript.
//!
//! Regenerate after an intended change with
//! `UPDATE_EXPECT=1 cargo test -p sim-modem --test modem_clients` and review the diff of
//! `tests/golden/modem/clients/`.

mod modem_harness;

use modem_harness::Op;
use modem_harness::*;
use pretty_assertions::assert_eq;

const OK: &str = "\r\nOK\r\n";

/// Luat LuaTask (`ril.lua`, `net.lua`, `misc.lua`, `sim.lua`, `link.lua`, `socket.lua`):
/// lines end with `\r`, multi mode with `+RECEIVE`, slow sends, asynchronous CIICR, and
/// the first socket on link 7.
#[test]
fn luat_air202_bring_up_and_data() {
    let mut b = ModemBench::with(
        sim_modem::profile::Profile::air202(),
        ScriptNet {
            echo: None,
            ..ScriptNet::default()
        },
    );
    // ril.lua sends nothing before RDY.
    b.wait_for("RDY", 10_000);
    b.exchange("ATE0\r", OK);
    b.exchange("AT+CMEE=0\r", OK);
    // net.lua
    b.exchange("AT+CREG=2\r", OK);
    b.exchange("AT+CREG?\r", OK);
    b.exchange("AT+CENG=1,1\r", OK);
    // sim.lua at load: the SIM toolkit off.
    b.exchange("AT+STON=0\r", OK);
    // misc.lua
    assert!(b.exchange("AT+VER\r", OK).contains("Luat_V"));
    b.exchange("AT+ATWMFT=99\r", OK);
    b.exchange("AT+WISN?\r", OK);
    b.exchange("AT+CGSN\r", OK);
    // `+MUID:%s*"(.+)"`
    assert!(b
        .exchange("AT+MUID?\r", OK)
        .contains("\r\n+MUID: \"0x3901b2c3d4e5f6a7\"\r\n"));
    // sim.lua: after +CPIN: READY
    b.wait_for("+CPIN: READY", 10_000);
    b.exchange("AT+CCID\r", OK);
    b.exchange("AT+CIMI\r", OK);
    // link.lua: once registered
    b.wait_for("+CREG: 1,", 20_000);
    // net.lua's poll, read by `ceng()`: `%+CENG:%d+,".+"`, decimal fields.
    let cells = b.exchange("AT+CENG?\r", OK);
    assert!(
        cells.contains("\r\n+CENG:0,\"573,24,99,460,1,13,37857,10,0,6334,255\"\r\n"),
        "{cells:?}"
    );
    b.exchange("AT+CIICRMODE=2\r", OK);
    b.exchange("AT+CIPMUX=1\r", OK);
    b.exchange("AT+CIPHEAD=1\r", OK);
    b.exchange("AT+CIPQSEND=0\r", OK);
    // CGATT? every 2 s until attached.
    while !b.exchange("AT+CGATT?\r", OK).contains("+CGATT: 1") {
        b.wait(2000);
    }
    // The STATE-driven machine: CIPSTATUS every 2 s while bringing up.
    loop {
        let state = b.exchange("AT+CIPSTATUS\r", "STATE: ");
        if state.contains("IP INITIAL") {
            b.exchange("AT+CSTT=\"CMIOT\"\r", OK);
            b.exchange("AT+CIICR\r", OK);
        } else if state.contains("IP GPRSACT") {
            assert!(b.exchange("AT+CIFSR\r", "\r\n").contains('.'));
            b.exchange("AT+CIPSTATUS\r", "STATE: ");
            b.exchange("AT+CDNSCFG?\r", OK);
        } else if state.contains("IP STATUS") || state.contains("IP PROCESSING") {
            break;
        }
        b.wait(2000);
    }
    // socket.lua: connect on link 7, the plain OK is ignored.
    let answer = b.exchange(
        "AT+CIPSTART=7,\"TCP\",\"lab.example\",6500\r",
        "7, CONNECT OK",
    );
    assert!(answer.starts_with(OK), "{answer:?}");
    // send: one chunk, success is "7, SEND OK".
    b.exchange("AT+CIPSEND=7,10\r", "> ");
    b.take_output();
    b.host(b"heart beat");
    b.wait_for("7, SEND OK", 10_000);
    assert_eq!(b.peer.get(&7).map(Vec::as_slice), Some(&b"heart beat"[..]));
    // recv: +RECEIVE,7,<len>: and the bytes.
    b.net_event(sim_modem::net::NetEvent::Received {
        link: 7,
        data: b"back".to_vec(),
    });
    assert!(b.wait_for("back", 1000).contains("+RECEIVE,7,4:\r\nback"));
    // A second socket takes the next id down (socket.lua takes ids from the end).
    b.exchange(
        "AT+CIPSTART=6,\"UDP\",\"lab.example\",6500\r",
        "6, CONNECT OK",
    );
    assert!(b
        .exchange("AT+CIPSTATUS\r", "C: 7,")
        .contains("C: 6,0,\"UDP\",\"lab.example\",\"6500\",\"CONNECTED\""));
    // close
    b.exchange("AT+CIPCLOSE=7\r", "7, CLOSE OK");
    b.exchange("AT+CIPCLOSE=6\r", "6, CLOSE OK");
    check_golden("clients/luat_air202.txt", b.transcript());
}

/// TinyGSM's SIM800 driver: `\r\n` line ends, `init`, `gprsConnect` (with the bearer
/// profile, CGACT, CGATT, manual receive and quick sends), `connect`, `write`, `read` through
/// CIPRXGET, `stop`, `poweroff`.
#[test]
fn tinygsm_sim800_bring_up_and_data() {
    let mut b = ModemBench::with(
        sim_modem::profile::Profile::sim800(),
        ScriptNet {
            echo: Some(300),
            ..ScriptNet::default()
        },
    );
    // init: AT every 300 ms until OK (the first ones go unanswered before RDY).
    loop {
        b.take_output();
        b.host(b"AT\r\n");
        b.wait(300);
        if String::from_utf8_lossy(&b.take_output()).contains("OK") {
            break;
        }
    }
    // factoryDefault, then init: every line answers OK (`+ICF` is not simulated: ERROR).
    for line in ["AT&FZE0&W", "AT+IFC=0,0", "AT+CSCLK=0", "AT&W"] {
        assert!(
            b.exchange(&format!("{line}\r\n"), "\r\n").contains("OK"),
            "{line}"
        );
    }
    b.exchange("ATE0\r\n", OK);
    b.exchange("AT+CMEE=0\r\n", OK);
    b.exchange("AT+CLTS=1\r\n", OK);
    b.exchange("AT+CBATCHK=1\r\n", OK);
    while !b
        .exchange("AT+CPIN?\r\n", "\r\n\r\n")
        .contains("+CPIN: READY")
    {
        b.wait(1000);
    }
    // isNetworkConnected: CREG? until registered.
    while !b.exchange("AT+CREG?\r\n", OK).contains("+CREG: 0,1") {
        b.wait(500);
    }
    // gprsConnect
    assert!(b.exchange("AT+CIPSHUT\r\n", "SHUT OK").contains("SHUT OK"));
    b.exchange("AT+CGATT=0\r\n", OK);
    b.exchange("AT+SAPBR=3,1,\"Contype\",\"GPRS\"\r\n", OK);
    b.exchange("AT+SAPBR=3,1,\"APN\",\"CMNET\"\r\n", OK);
    b.exchange("AT+CGDCONT=1,\"IP\",\"CMNET\"\r\n", OK);
    b.exchange("AT+CGACT=1,1\r\n", OK);
    b.exchange("AT+SAPBR=1,1\r\n", "\r\n");
    assert!(b.exchange("AT+SAPBR=2,1\r\n", OK).contains("+SAPBR: 1,1,"));
    b.exchange("AT+CGATT=1\r\n", OK);
    b.exchange("AT+CIPMUX=1\r\n", OK);
    b.exchange("AT+CIPQSEND=1\r\n", OK);
    b.exchange("AT+CIPRXGET=1\r\n", OK);
    b.exchange("AT+CSTT=\"CMNET\",\"\",\"\"\r\n", OK);
    b.exchange("AT+CIICR\r\n", OK);
    let ip = b.exchange("AT+CIFSR;E0\r\n", OK);
    assert_eq!(ip, "\r\n10.68.27.49\r\n\r\nOK\r\n");
    b.exchange("AT+CDNSCFG=\"8.8.8.8\",\"8.8.4.4\"\r\n", OK);
    // isGprsConnected
    assert!(b.exchange("AT+CGATT?\r\n", OK).contains("+CGATT: 1"));
    // modemConnect
    b.exchange("AT+CIPSSL=0\r\n", OK);
    b.exchange(
        "AT+CIPSTART=0,\"TCP\",\"lab.example\",6500\r\n",
        "CONNECT OK\r\n",
    );
    // modemSend: wait for '>', write, wait for DATA ACCEPT.
    b.exchange("AT+CIPSEND=0,5\r\n", ">");
    b.take_output();
    b.host(b"hello");
    assert!(b
        .wait_for("\r\nDATA ACCEPT:", 1000)
        .contains("DATA ACCEPT:0,5"));
    // The peer echoes: +CIPRXGET: 1,0, then modemGetAvailable and modemRead.
    b.wait_for("+CIPRXGET: 1,0", 2000);
    assert!(b
        .exchange("AT+CIPRXGET=4,0\r\n", OK)
        .contains("+CIPRXGET: 4,0,5"));
    let read = b.exchange("AT+CIPRXGET=2,0,1460\r\n", OK);
    assert_eq!(read, "\r\n+CIPRXGET: 2,0,5,0\r\nhello\r\nOK\r\n");
    assert_eq!(b.peer.get(&0).map(Vec::as_slice), Some(&b"hello"[..]));
    // modemGetConnected
    assert!(b
        .exchange("AT+CIPSTATUS=0\r\n", OK)
        .contains(",\"CONNECTED\""));
    // stop
    b.exchange("AT+CIPCLOSE=0,1\r\n", "0, CLOSE OK");
    // getOperator, getBattVoltage, getGsmLocation: the fields TinyGSM reads.
    assert!(b
        .exchange("AT+COPS?\r\n", OK)
        .contains("+COPS: 0,0,\"CHINA MOBILE\""));
    assert!(b.exchange("AT+CBC\r\n", OK).contains("+CBC: 0,85,4100"));
    let location = b.exchange("AT+CLBS=4,1\r\n", OK);
    assert!(
        location.contains("+CLBS: 0,121.473700,31.230400,550,24/01/01,"),
        "{location:?}"
    );
    // getGSMDateTime after network time (AT+CLTS=1 at init): the network's, in its zone.
    assert!(b
        .exchange("AT+CCLK?\r\n", OK)
        .contains("+CCLK: \"24/01/01,08:00:"));
    // sleepEnable(true) sleeps at once (DTR is high); TinyGSM's comment: pull DTR low for
    // at least 50 ms, then disable sleep.
    b.exchange("AT+CSCLK=1\r\n", OK);
    b.op(Op::Dtr(false));
    b.wait(50);
    b.exchange("AT+CSCLK=0\r\n", OK);
    // poweroff
    b.exchange("AT+CPOWD=1\r\n", "NORMAL POWER DOWN");
    check_golden("clients/tinygsm_sim800.txt", b.transcript());
}

/// Ircama's `sim800l` 2.0.5 (PyPI `sim800l-gsm-module`), as its README's example drives it
/// (recorded from the library against `sim-modem --pty`, see README "Live"): lines end in
/// `\n`, `setup()`'s one-line configuration, then the basic calls, each checked with the
/// pattern the library reads its answer with. The library itself needs Python and PyPI, so
/// this replays its bytes; the README shows the library's own run.
#[test]
fn ircama_sim800l_basic_calls() {
    let mut b = ModemBench::new("sim800");
    b.wait_for("SMS Ready", 10_000);
    b.wait(2000);
    // setup(): ATE0, then its PDU-mode line (`mode="PDU"`, the default).
    b.exchange("ATE0\n", OK);
    assert_eq!(
        b.exchange("AT+CLIP=1;+CMGF=0;+CLTS=1;+CSCLK=0;+CSCS=\"HEX\"\n", OK),
        OK
    );
    // The text-mode line of issue 13.
    assert_eq!(
        b.exchange(
            "AT+IFC=0,0;+CLIP=1;+CMGF=1;+CLTS=1;+CSCLK=0;+CSCS=\"GSM\";+CMGHEX=1\n",
            OK
        ),
        OK
    );
    // Each call, and the part of the answer the library's pattern takes.
    let calls: &[(&str, &str)] = &[
        // get_netlight: `\+CNETLIGHT: (\d+)`
        ("AT+CNETLIGHT?\n", "+CNETLIGHT: 1\r\n"),
        // check_sim: `\+CSMINS: \d*,(\d*)` == "1"
        ("AT+CSMINS?\n", "+CSMINS: 0,1\r\n"),
        // get_date: `"(\d*/\d*/\d*,\d*:\d*:\d*)`
        ("AT+CCLK?\n", "+CCLK: \"04/01/01,00:00:"),
        // is_registered: `^\+CREG: (\d*),(\d*)$`, 1 or 5
        ("AT+CREG?\n", "+CREG: 0,1\r\n"),
        // get_operator: `"(.*)"`
        ("AT+COPS?\n", "+COPS: 0,0,\"CHINA MOBILE\"\r\n"),
        // get_operator_list: `+COPN: "<numeric>","<name>"` lines
        ("AT+COPN\n", "+COPN: \"46000\",\"CHINA MOBILE\"\r\n"),
        // get_service_provider: `"(.*)"`
        ("AT+CSPN?\n", "+CSPN: \"CMCC\",0\r\n"),
        // get_battery_voltage: `\+CBC: \d*,\d*,(\d*)` in mV
        ("AT+CBC\n", "+CBC: 0,85,4100\r\n"),
        // get_signal_strength: `\+CSQ: (\d*),`
        ("AT+CSQ\n", "+CSQ: 24,0\r\n"),
        ("ATI\n", "SIM800 R14.18\r\n"),
        ("AT+CGMR\n", "Revision:"),
        ("AT+CGSN\n", "866104025123456\r\n"),
        ("AT+CCID\n", "89860012345678901234\r\n"),
        ("AT+CIMI\n", "460001234567890\r\n"),
        // get_temperature: `\+CMTE: \d*,([0-9.]*)`
        ("AT+CMTE?\n", "+CMTE: 0,27.0\r\n"),
        // get_hw_revision(method=2)
        ("AT+GMR\n", "Revision:"),
    ];
    for (line, expect) in calls {
        let answer = b.exchange(line, OK);
        assert!(answer.contains(expect), "{line:?}: {answer:?}");
    }
    // connect_gprs and get_ip: the bearer, then `+SAPBR: 1,1,"<ip>"`.
    b.exchange(
        "AT+SAPBR=3,1,\"CONTYPE\",\"GPRS\";+SAPBR=3,1,\"APN\",\"CMNET\";+SAPBR=1,1\n",
        OK,
    );
    assert!(b
        .exchange("AT+SAPBR=2,1\n", OK)
        .contains("+SAPBR: 1,1,\"10.68.27.49\""));
    // internet_sync_time: `+CNTP: 1`, then the clock.
    b.exchange("AT+CNTP=\"193.204.114.232\",32\n", OK);
    b.exchange("AT+CNTP\n", OK);
    b.wait_for("+CNTP: 1", 5000);
    // dns_query: the TCP/IP bring-up, then `+CDNSGIP:\s*1,"([^"]+)"` with the domain bare.
    b.exchange("AT+CIPSHUT\n", "SHUT OK");
    b.exchange("AT+CSTT=\"CMNET\"\n", OK);
    b.exchange("AT+CIICR\n", OK);
    b.exchange("AT+CIFSR\n", "\r\n10.68.27.49\r\n");
    b.exchange("AT+CDNSGIP=lab.example\n", OK);
    assert!(b
        .wait_for("+CDNSGIP:", 2000)
        .contains("+CDNSGIP: 1,\"lab.example\",\"10.0.0.1\""));
    b.exchange("AT+CIPSHUT\n", "SHUT OK");
    b.exchange("AT+SAPBR=0,1\n", OK);
    check_golden("clients/ircama_sim800l.txt", b.transcript());
}
