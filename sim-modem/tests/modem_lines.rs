//! Golden transcripts of the modem's line discipline, general commands, registration, clock
//! and power (see `modem_harness` for the transcript format).
//!
//! Regenerate after an intended change with
//! `UPDATE_EXPECT=1 cargo test -p sim-modem --test modem_lines` and review the diff of
//! `tests/golden/modem/`.

mod modem_harness;

use modem_harness::Op::*;
use modem_harness::*;
use protocol::types::RegStat;
use sim_modem::net::Coverage;

#[test]
fn line_discipline() {
    check_cases("lines", LINES);
}

const LINES: &[Case] = &[
    Case {
        name: "boot_sim800",
        profile: "sim800",
        ops: &[&[Wait(10_000), Host("AT\r"), Wait(100)]],
    },
    Case {
        name: "boot_air202",
        profile: "air202",
        ops: &[&[Wait(10_000), Host("AT\r"), Wait(100)]],
    },
    Case {
        name: "input_before_rdy_is_lost",
        profile: "sim800",
        ops: &[&[
            Wait(1000),
            Host("AT\r"),
            Wait(2500),
            Host("AT\r"),
            Wait(100),
        ]],
    },
    Case {
        name: "echo_on_and_off",
        profile: "sim800",
        ops: &[
            BOOT,
            &[
                Note("echo is on after power-up: the line comes back before its answer"),
                Host("AT\r"),
                Wait(100),
                Host("ATE0\r"),
                Wait(100),
                Host("AT\r"),
                Wait(100),
                Host("ATE1\r"),
                Wait(100),
                Note("a \\r\\n host: the echo is the line up to its \\r"),
                Host("AT\r\n"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "cmee_modes",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Note("0: plain ERROR"),
                Host("AT+CPIN=\"1234\"\r"),
                Wait(100),
                Host("AT+CFUN=7\r"),
                Wait(100),
                Note("1: numeric"),
                Host("AT+CMEE=1\r"),
                Wait(100),
                Host("AT+CPIN=\"1234\"\r"),
                Wait(100),
                Host("AT+CFUN=7\r"),
                Wait(100),
                Note("2: verbose"),
                Host("AT+CMEE=2\r"),
                Wait(100),
                Host("AT+CPIN=\"1234\"\r"),
                Wait(100),
                Host("AT+CFUN=7\r"),
                Wait(100),
                Note("unknown commands and TCP/IP state errors stay plain ERROR"),
                Host("AT+FOO\r"),
                Wait(100),
                Host("AT+CIICR\r"),
                Wait(100),
                Host("AT+CMEE?\r"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "chained_commands",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Note("one final result for the line"),
                Host("AT+CSQ;+CREG?;+CGATT?\r"),
                Wait(100),
                Note("the first error ends the line"),
                Host("AT+CSQ;+FOO;+CREG?\r"),
                Wait(100),
                Host("AT+CMEE=2;+CFUN=9;+CSQ\r"),
                Wait(100),
                Host("AT;\r"),
                Wait(100),
                Host("AT+CSQ;E1\r"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "at_k0_gets_no_answer",
        profile: "sim800",
        ops: &[BOOT, &[Host("AT&K0\r"), Wait(500), Host("AT\r"), Wait(100)]],
    },
    Case {
        name: "noise_is_ignored",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("hello\r"),
                Wait(100),
                Host("\r\n\r\n"),
                Wait(100),
                Bytes(b"\x00\xff+++\r"),
                Wait(100),
                Note("bytes before AT on a line are dropped"),
                Host("xxAT\r"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "lines_held_while_busy",
        profile: "sim800",
        ops: &[
            BOOT,
            &[
                Note("three lines in one write: each runs after the one before"),
                Host("AT+CFUN=1\rAT+CSQ\rAT\r"),
                Wait(1000),
            ],
        ],
    },
    Case {
        name: "identification_sim800",
        profile: "sim800",
        ops: &[BOOT, ECHO_OFF, IDENTIFY],
    },
    Case {
        name: "identification_air202",
        profile: "air202",
        ops: &[BOOT, ECHO_OFF, IDENTIFY],
    },
    Case {
        name: "sim_not_ready_yet",
        profile: "sim800",
        ops: &[&[
            Wait(3100),
            Host("AT+CMEE=2\r"),
            Wait(50),
            Host("AT+CPIN?\r"),
            Wait(50),
            Host("AT+CCID\r"),
            Wait(50),
            Wait(1000),
            Host("AT+CPIN?\r"),
            Wait(50),
            Host("AT+CCID\r"),
            Wait(50),
        ]],
    },
    Case {
        name: "test_and_read_forms",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("AT+CFUN=?\r"),
                Wait(50),
                Host("AT+CIPSEND=?\r"),
                Wait(50),
                Host("AT+CIPQSEND=?\r"),
                Wait(50),
                Host("AT+CIPMUX?\r"),
                Wait(50),
                Host("AT+CIPQSEND?\r"),
                Wait(50),
                Host("AT+CDNSCFG?\r"),
                Wait(50),
                Host("AT+CGDCONT?\r"),
                Wait(50),
                Host("AT+IPR?\r"),
                Wait(50),
                Host("AT+IPR=12345\r"),
                Wait(50),
                Host("AT+CSQ=?\r"),
                Wait(50),
                Host("AT+CIFSR?\r"),
                Wait(50),
            ],
        ],
    },
];

const IDENTIFY: &[Op] = &[
    Host("ATI\r"),
    Wait(50),
    Host("AT+CGMI\r"),
    Wait(50),
    Host("AT+CGMM\r"),
    Wait(50),
    Host("AT+CGMR\r"),
    Wait(50),
    Host("AT+CGSN\r"),
    Wait(50),
    Host("AT+GSN\r"),
    Wait(50),
    Host("AT+CCID\r"),
    Wait(50),
    Host("AT+CIMI\r"),
    Wait(50),
    Host("AT+VER\r"),
    Wait(50),
    Host("AT+WISN?\r"),
    Wait(50),
    Host("AT+ATWMFT=99\r"),
    Wait(50),
    Host("AT+CIICRMODE=2\r"),
    Wait(50),
];

#[test]
fn overlong_line_gets_error_and_the_modem_goes_on() {
    let mut bench = ModemBench::new("sim800");
    bench.run(BOOT);
    bench.run(ECHO_OFF);
    bench.take_output();
    let mut line = b"AT+CSTT=\"".to_vec();
    line.extend(std::iter::repeat_n(b'x', 2000));
    line.extend_from_slice(b"\"\r");
    bench.host(&line);
    bench.wait(100);
    bench.host(b"AT\r");
    bench.wait(100);
    pretty_assertions::assert_eq!(
        Escaped(&bench.take_output()).to_string(),
        "\\r\\nERROR\\r\\n\\r\\nOK\\r\\n"
    );
}

#[test]
fn registration_and_attach() {
    check_cases("radio", RADIO);
}

const MOVED: Coverage = Coverage {
    lac: 0x2345,
    ci: 0xbeef,
    ..Coverage::GOOD
};

const ROAMING: Coverage = Coverage {
    registration: RegStat::Roaming,
    ..Coverage::GOOD
};

const DENIED: Coverage = Coverage {
    registration: RegStat::Denied,
    ..Coverage::GOOD
};

const WEAK: Coverage = Coverage {
    rssi: 7,
    ..Coverage::GOOD
};

const RADIO: &[Case] = &[
    Case {
        name: "creg_urcs",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Note("a fresh modem answers the short read form"),
                Host("AT+CREG?\r"),
                Wait(50),
                Host("AT+CREG=2\r"),
                Wait(50),
                Host("AT+CREG?\r"),
                Wait(50),
                Note("coverage goes: at once; comes back: after the registration time"),
                Coverage(NO_COVERAGE),
                Wait(1000),
                Host("AT+CREG?\r"),
                Wait(50),
                Host("AT+CSQ\r"),
                Wait(50),
                Coverage(Coverage::GOOD),
                Wait(6000),
                Note("a new cell"),
                Coverage(MOVED),
                Wait(100),
                Coverage(WEAK),
                Host("AT+CSQ\r"),
                Wait(50),
                Note("roaming"),
                Coverage(ROAMING),
                Wait(100),
                Host("AT+CREG=1\r"),
                Wait(50),
                Coverage(DENIED),
                Wait(5000),
                Host("AT+CREG?\r"),
                Wait(50),
            ],
        ],
    },
    Case {
        name: "cgatt",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("AT+CGATT?\r"),
                Wait(50),
                Note("detach; no automatic attach after it"),
                Host("AT+CGATT=0\r"),
                Wait(50),
                Host("AT+CGATT?\r"),
                Wait(3000),
                Host("AT+CGATT=1\r"),
                Wait(2000),
                Host("AT+CGATT?\r"),
                Wait(50),
                Note("no data service: attach fails"),
                Coverage(NO_DATA),
                Wait(50),
                Host("AT+CGATT=1\r"),
                Wait(50),
                Host("AT+CGATT?\r"),
                Wait(50),
            ],
        ],
    },
    Case {
        name: "cfun_cycle",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("AT+CREG=1\r"),
                Wait(50),
                Note("minimum functionality: registration and the SIM go"),
                Host("AT+CFUN=0\r"),
                Wait(1000),
                Host("AT+CFUN?\r"),
                Wait(50),
                Host("AT+CSQ\r"),
                Wait(50),
                Host("AT+CPIN?\r"),
                Wait(50),
                Host("AT+CFUN=1\r"),
                Wait(10_000),
                Host("AT+CGATT?\r"),
                Wait(50),
                Note("flight mode keeps the SIM"),
                Host("AT+CFUN=4\r"),
                Wait(1000),
                Host("AT+CPIN?\r"),
                Wait(50),
                Host("AT+CFUN=1\r"),
                Wait(6000),
            ],
        ],
    },
    Case {
        name: "cfun_reset_reboots",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[Host("AT+CFUN=1,1\r"), Wait(12_000), Host("AT\r"), Wait(50)],
        ],
    },
    Case {
        name: "clts_time_urcs",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("AT+CLTS=1\r"),
                Wait(50),
                Coverage(NO_COVERAGE),
                Wait(50),
                Coverage(Coverage::GOOD),
                Wait(5000),
            ],
        ],
    },
    Case {
        name: "ceng",
        profile: "air202",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("AT+CENG?\r"),
                Wait(50),
                Host("AT+CENG=1,1\r"),
                Wait(50),
                Host("AT+CENG?\r"),
                Wait(50),
            ],
        ],
    },
];

#[test]
fn clock() {
    check_cases("clock", CLOCK);
}

/// TinyGSM's way to a PDP context for NTP: the bearer profile.
const BEARER_OPEN: &[Op] = &[
    Host("AT+SAPBR=3,1,\"Contype\",\"GPRS\"\r"),
    Wait(50),
    Host("AT+SAPBR=3,1,\"APN\",\"CMNET\"\r"),
    Wait(50),
    Host("AT+SAPBR=1,1\r"),
    Wait(1000),
    Host("AT+SAPBR=2,1\r"),
    Wait(50),
];

const NTP: &[Op] = &[
    Host("AT+CNTPCID=1\r"),
    Wait(50),
    Host("AT+CNTP=\"pool.ntp.org\",32\r"),
    Wait(50),
    Host("AT+CNTP\r"),
    Wait(6000),
    Host("AT+CCLK?\r"),
    Wait(50),
];

const CLOCK: &[Case] = &[
    Case {
        name: "cclk",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Note("the clock starts at 2004-01-01 at power-up"),
                Host("AT+CCLK?\r"),
                Wait(50),
                Host("AT+CCLK=\"26/11/18,19:06:40+32\"\r"),
                Wait(10_000),
                Host("AT+CCLK?\r"),
                Wait(50),
                Host("AT+CCLK=\"26/13/18,19:06:40+32\"\r"),
                Wait(50),
            ],
        ],
    },
    Case {
        name: "cntp_success",
        profile: "sim800",
        ops: &[BOOT, ECHO_OFF, BEARER_OPEN, NTP],
    },
    Case {
        name: "cntp_without_pdp",
        profile: "sim800",
        ops: &[BOOT, ECHO_OFF, NTP],
    },
    Case {
        name: "cntp_network_silent",
        profile: "sim800",
        ops: &[BOOT, ECHO_OFF, BEARER_OPEN, &[Net(|n| n.time = None)], NTP],
    },
    Case {
        name: "cntp_network_fails",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            BEARER_OPEN,
            &[Net(|n| n.time = Some((200, None)))],
            NTP,
        ],
    },
];

#[test]
fn power() {
    check_cases("power", POWER);
}

const POWER: &[Case] = &[
    Case {
        name: "cpowd_normal",
        profile: "sim800",
        ops: &[
            BOOT,
            &[Host("AT+CPOWD=1\r"), Wait(1000), Host("AT\r"), Wait(1000)],
        ],
    },
    Case {
        name: "cpowd_urgent",
        profile: "sim800",
        ops: &[
            BOOT,
            &[Host("AT+CPOWD=0\r"), Wait(1000), Host("AT\r"), Wait(1000)],
        ],
    },
    Case {
        name: "power_key",
        profile: "sim800",
        ops: &[
            BOOT,
            &[
                Note("too short a press does nothing"),
                PowerKey(true),
                Wait(500),
                PowerKey(false),
                Wait(1000),
                Note("held: NORMAL POWER DOWN, then off"),
                PowerKey(true),
                Wait(2000),
                PowerKey(false),
                Wait(1000),
                Host("AT\r"),
                Wait(1000),
                Note("held again: boots"),
                PowerKey(true),
                Wait(1200),
                PowerKey(false),
                Wait(10_000),
                Host("AT\r"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "reset_line",
        profile: "sim800",
        ops: &[
            BOOT,
            BEARER_UP,
            &[
                Reset(true),
                Wait(100),
                Host("AT\r"),
                Wait(500),
                Reset(false),
                Wait(10_000),
                Host("AT+CIPSTATUS\r"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "reboot_forgets_everything",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            MULTI_MODE,
            BEARER_UP,
            CONNECT_0,
            &[
                Reboot,
                Wait(10_000),
                Note("echo is back on, the bearer and the link are gone"),
                Host("AT+CIPSTATUS\r"),
                Wait(100),
                Receive(0, b"late"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "at_w_keeps_echo_off",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            &[
                Host("AT&W\r"),
                Wait(100),
                Reboot,
                Wait(10_000),
                Host("AT\r"),
                Wait(100),
            ],
        ],
    },
    Case {
        name: "brown_out",
        profile: "sim800",
        ops: &[
            BOOT,
            &[
                BrownOut,
                Wait(1000),
                Host("AT\r"),
                Wait(2000),
                Host("AT\r"),
                Wait(1000),
                Note("off until the power key"),
                PowerKey(true),
                Wait(1100),
                PowerKey(false),
                Wait(10_000),
            ],
        ],
    },
    Case {
        name: "hang",
        profile: "sim800",
        ops: &[
            BOOT,
            ECHO_OFF,
            MULTI_MODE,
            BEARER_UP,
            CONNECT_0,
            &[
                Hang,
                Host("AT\r"),
                Wait(5000),
                Receive(0, b"nobody hears"),
                Coverage(NO_COVERAGE),
                Wait(5000),
                Note("only the reset line brings it back"),
                Reset(true),
                Wait(100),
                Reset(false),
                Wait(10_000),
                Host("AT\r"),
                Wait(100),
            ],
        ],
    },
];

/// A driver that wakes the modem late (or jumps ahead) gets what follows from each timer
/// timed from when it was due: SIM ready → registration → attach all happened by 10 s.
#[test]
fn a_late_driver_sees_timers_in_order() {
    use std::time::Duration;

    use sim_modem::modem::Modem;
    use sim_modem::net::NetEvent;
    use sim_modem::profile::Profile;

    let mut modem = Modem::new(Profile::sim800(), Duration::ZERO);
    modem.handle_net(Duration::ZERO, NetEvent::Coverage(Coverage::GOOD));
    let late = Duration::from_secs(10);
    modem.handle_uart(late, b"ATE0\r");
    modem.handle_uart(late + Duration::from_secs(1), b"AT+CREG?;+CGATT?\r");
    modem.handle_timeout(late + Duration::from_secs(2));
    let mut out = Vec::new();
    modem.drain_uart(&mut out);
    pretty_assertions::assert_eq!(
        Escaped(&out).to_string(),
        "\\r\\nRDY\\r\\n\\r\\n+CFUN: 1\\r\\n\\r\\n+CPIN: READY\\r\\n\\r\\nCall Ready\\r\\n\
         \\r\\nSMS Ready\\r\\nATE0\\r\\r\\nOK\\r\\n\
         \\r\\n+CREG: 0,1\\r\\n\\r\\n+CGATT: 1\\r\\n\\r\\nOK\\r\\n"
    );
}
