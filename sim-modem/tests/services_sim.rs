//! The application services through the whole simulation: HTTP to the lab's endpoint over
//! the TCP model (and through an outage), an SMS round trip with the lab's phone, and time
//! from the simulated internet's SNTP server, both over `AT+CIPSTART` (Luat's `ntp.lua`) and
//! `AT+CNTP`.

mod sim_support;

use std::time::Duration;

use protocol::types::DateTime;
use sim_modem::fault::Fault;
use sim_modem::lab::{HttpAnswer, SmsDirection};
use sim_modem::sim::SimConfig;
use sim_modem::sntp;
use sim_support::{ms, secs, SimBench};

/// Booted, the bearer open (`AT+SAPBR`), HTTP initialised, the URL set.
fn http_ready(url: &str) -> SimBench {
    let mut bench = SimBench::booted(SimConfig::default());
    bench.cmd_until("AT+CGATT?", "+CGATT: 1", secs(60));
    bench.cmd("AT+SAPBR=3,1,\"APN\",\"CMNET\"", "OK");
    bench.cmd("AT+SAPBR=1,1", "OK");
    bench.cmd("AT+HTTPINIT", "OK");
    bench.cmd(&format!("AT+HTTPPARA=\"URL\",\"{url}\""), "OK");
    bench
}

/// The `+HTTPACTION: ...` line in the output since the mark.
fn action_line(bench: &SimBench) -> String {
    let out = bench.since_mark();
    let start = out.find("+HTTPACTION:").expect("an +HTTPACTION");
    out[start..].lines().next().unwrap_or_default().to_string()
}

#[test]
fn http_get_and_post_reach_the_lab() {
    let mut bench = http_ready("http://lab.longlink.test/status");
    bench.sim.lab_answer_http(HttpAnswer {
        method: "GET".into(),
        path: "/status".into(),
        body: "{\"up\":true}".into(),
        content_type: "application/json".into(),
        ..HttpAnswer::default()
    });
    bench.cmd("AT+HTTPACTION=0", "+HTTPACTION:");
    assert_eq!(action_line(&bench), "+HTTPACTION: 0,200,11");
    bench.cmd("AT+HTTPREAD", "OK");
    assert!(bench
        .since_mark()
        .contains("+HTTPREAD: 11\r\n{\"up\":true}\r\nOK"));

    bench.cmd(
        "AT+HTTPPARA=\"URL\",\"lab.longlink.test/nothing-here\"",
        "OK",
    );
    bench.cmd("AT+HTTPPARA=\"CONTENT\",\"text/plain\"", "OK");
    bench.cmd("AT+HTTPDATA=5,5000", "DOWNLOAD");
    bench.write("hello");
    bench.wait_for("OK", secs(10));
    bench.cmd("AT+HTTPACTION=1", "+HTTPACTION:");
    // No configured answer matches: the endpoint's default.
    assert_eq!(action_line(&bench), "+HTTPACTION: 1,200,2");

    let requests = bench.sim.lab().http_requests();
    let seen: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.body.as_slice(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", "/status", &b""[..], 200),
            ("POST", "/nothing-here", &b"hello"[..], 200),
        ]
    );
    assert_eq!(requests[1].header("content-type"), Some("text/plain"));
    assert_eq!(requests[1].header("user-agent"), Some("SIMCOM_MODULE"));
}

#[test]
fn http_through_an_outage() {
    // A blackhole shorter than TIMEOUT: TCP gets the request through after it, late.
    let mut bench = http_ready("http://lab.longlink.test/");
    bench
        .sim
        .inject(bench.now, Fault::Blackhole { duration: secs(20) });
    let start = bench.now;
    bench.cmd("AT+HTTPACTION=0", "+HTTPACTION:");
    assert_eq!(action_line(&bench), "+HTTPACTION: 0,200,2");
    assert!(
        bench.now - start >= secs(20),
        "answered at {:?}",
        bench.now - start
    );
    assert_eq!(bench.sim.lab().http_requests().len(), 1);

    // Longer than TIMEOUT (30 s): 601, and nothing reached the lab meanwhile.
    bench.cmd("AT+HTTPPARA=\"TIMEOUT\",30", "OK");
    bench.sim.inject(
        bench.now,
        Fault::Blackhole {
            duration: secs(120),
        },
    );
    let start = bench.now;
    bench.write("AT+HTTPDATA=4,2000\r");
    bench.wait_for("DOWNLOAD", secs(5));
    bench.write("body");
    bench.wait_for("OK", secs(5));
    bench.cmd("AT+HTTPACTION=1", "+HTTPACTION:");
    assert_eq!(action_line(&bench), "+HTTPACTION: 1,601,0");
    let waited = bench.now - start;
    assert!((secs(30)..secs(32)).contains(&waited), "{waited:?}");
    assert_eq!(bench.sim.lab().http_requests().len(), 1);

    // A lost cell outlasting the context: the action ends with the context, 601.
    bench.run_for(secs(120));
    bench.cmd("AT+HTTPACTION=0", "OK");
    bench.mark();
    bench
        .sim
        .inject(bench.now, Fault::RegistrationDenied { duration: secs(60) });
    bench.wait_for("+HTTPACTION:", secs(5));
    assert_eq!(action_line(&bench), "+HTTPACTION: 0,601,0");
    assert!(bench.since_mark().contains("+SAPBR 1: DEACT"));
}

#[test]
fn sms_round_trip() {
    let mut bench = SimBench::booted(SimConfig::default());
    bench.cmd_until("AT+CREG?", "+CREG: 0,1", secs(60));
    bench.cmd("AT+CMGF=1", "OK");
    // The lab to the device: +CMTI once the service centre delivers, then AT+CMGR.
    bench.mark();
    bench.sim.lab_send_sms(bench.now, "back hello").unwrap();
    let sent = bench.now;
    bench.wait_for("+CMTI: \"SM\",1", secs(10));
    // The network's sms_delay, and the URC's wire time.
    let took = bench.now - sent;
    assert!((secs(3)..secs(3) + ms(5)).contains(&took), "{took:?}");
    let read = bench.cmd("AT+CMGR=1", "OK");
    assert!(
        read.contains("+CMGR: \"REC UNREAD\",\"+15550100\",\"\",\"24/01/01,00:00:"),
        "{read}"
    );
    assert!(read.contains("\r\nback hello\r\n"), "{read}");

    // The device to the lab.
    bench.cmd("AT+CMGS=\"+15550100\"", ">");
    bench.write("hello lab\x1a");
    bench.wait_for("OK", secs(10));
    assert!(bench.since_mark().contains("+CMGS: 0"));
    let log = bench.sim.lab().sms_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].direction, SmsDirection::ToDevice);
    assert_eq!(log[1].direction, SmsDirection::FromDevice);
    assert_eq!(
        (log[1].number.as_str(), log[1].text.as_str()),
        ("+15550100", "hello lab")
    );

    // Without a cell the device cannot send, and the lab's SMS waits for it.
    bench.cmd("AT+CMEE=1", "OK");
    bench
        .sim
        .inject(bench.now, Fault::RegistrationLost { duration: secs(30) });
    bench.run_for(secs(1));
    bench.cmd("AT+CMGS=\"+15550100\"", ">");
    bench.write("nobody\x1a");
    bench.wait_for("+CMS ERROR: 331", secs(5));
    bench.mark();
    bench.sim.lab_send_sms(bench.now, "later").unwrap();
    bench.wait_for("+CMTI: \"SM\",2", secs(60));
    assert!(bench.sim.lab().sms_log().len() == 3);
    assert!(bench.sim.lab_send_sms(bench.now, &"x".repeat(161)).is_err());
}

#[test]
fn sntp_over_cipstart_like_luat() {
    let mut bench = SimBench::booted(SimConfig::default());
    bench.bring_up();
    // Any name resolves for UDP port 123 (Luat's ntp.lua list starts with these).
    bench.cmd(
        "AT+CIPSTART=0,\"UDP\",\"time1.aliyun.com\",123",
        "0, CONNECT OK",
    );
    bench.cmd("AT+CIPSEND=0,48", ">");
    let mut luat = [0u8; 48];
    luat[..4].copy_from_slice(&[0xE3, 0x00, 0x06, 0xEC]);
    bench.write_bytes(&luat);
    bench.wait_for("+RECEIVE,0,48:\r\n", secs(5));
    let out = bench.rx.clone();
    let header = b"+RECEIVE,0,48:\r\n";
    let at = out
        .windows(header.len())
        .rposition(|w| w == header)
        .expect("the header")
        + header.len();
    let answer = &out[at..at + 48];
    let time = sntp::transmit_time(answer).expect("a server answer");
    // The network's time when the request arrived: 2024-01-01 plus the virtual time.
    let network = Duration::from_secs(1_704_067_200) + bench.now;
    assert!(network - time < secs(1), "{time:?} vs {network:?}");

    // A blackhole swallows the exchange like any datagram.
    bench
        .sim
        .inject(bench.now, Fault::Blackhole { duration: secs(30) });
    bench.mark();
    bench.send_data(0, &luat, "0, SEND OK");
    assert!(bench.try_wait_for("+RECEIVE", secs(20)).is_none());
}

#[test]
fn cntp_uses_the_time_server() {
    let mut bench = SimBench::booted(SimConfig::default());
    bench.cmd_until("AT+CGATT?", "+CGATT: 1", secs(60));
    bench.cmd("AT+SAPBR=3,1,\"APN\",\"CMNET\"", "OK");
    bench.cmd("AT+SAPBR=1,1", "OK");
    bench.cmd("AT+CNTPCID=1", "OK");
    bench.cmd("AT+CNTP=\"pool.ntp.org\",32", "OK");
    bench.cmd("AT+CNTP", "+CNTP:");
    assert!(bench.since_mark().contains("+CNTP: 1"));
    let clock = bench.cmd("AT+CCLK?", "OK");
    let expected = DateTime::from_unix(1_704_067_200 + bench.now.as_secs(), 32);
    let expected = format!(
        "+CCLK: \"24/01/01,{:02}:{:02}:",
        expected.hour, expected.minute
    );
    assert!(clock.contains(&expected), "{clock} vs {expected}");
    // In a blackhole no answer comes: 65 after the profile's 5 s.
    bench
        .sim
        .inject(bench.now, Fault::Blackhole { duration: secs(30) });
    let start = bench.now;
    bench.cmd("AT+CNTP", "+CNTP:");
    assert!(bench.since_mark().contains("+CNTP: 65"));
    let waited = bench.now - start;
    assert!((secs(5)..secs(6)).contains(&waited), "{waited:?}");
}
