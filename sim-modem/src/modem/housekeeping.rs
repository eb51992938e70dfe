//! Housekeeping and configuration: what client libraries set and ask before they get to
//! TCP/IP, each in its real forms (test `=?`, read `?`, write, exec).
//!
//! Sources, by command (the SIM800 AT manual is "SIM800 Series AT Command Manual V1.09"):
//!
//! | command | answer | source |
//! |---|---|---|
//! | `ATZ`, `AT&F`, `AT&W` | `OK` | V.250 §6.1.1–§6.1.2, manual §2.2.34; which settings `AT&W` keeps is UNCONFIRMED (echo, `ATV`, `ATQ`, `AT+CMEE`, `AT+CIURC`, `AT+IPR`, `AT+IFC`, `AT+CLTS`) |
//! | `ATV0` / `ATQ1` | digits (`0\r`) / nothing for result codes | V.250 §6.2.5, §6.2.6 |
//! | `AT+IFC=<a>,<b>` | `+IFC: 0,0` | manual §2.2.40; RTS/CTS itself is not modelled |
//! | `AT+IPR=<rate>` | `OK` at the old rate, then the new one | manual §2.2.41; that the `OK` goes at the old rate is UNCONFIRMED (V.250 §6.2.10 says the DCE answers before it switches) |
//! | `AT+CLIP=<n>` | `+CLIP: <n>,1` | 3GPP TS 27.007 §7.6 |
//! | `AT+CSCS="<chset>"` | `+CSCS: "IRA"`; test lists `"IRA","GSM","UCS2","HEX","PCCP","PCDN","8859-1"` | manual §3.2.12 |
//! | `AT+CMGF`, `AT+CMGHEX` | `+CMGF: 0`, `+CMGHEX: 0` | 27.005 §3.2.3; manual `AT+CMGHEX`. The SMS commands (`Sms`) extend them |
//! | `AT+CSCLK=<0-2>` | `+CSCLK: 0` | manual `AT+CSCLK`; sleep below |
//! | `AT+CNETLIGHT=<0-1>` | `+CNETLIGHT: 1` | manual `AT+CNETLIGHT`; Ircama's `sim800l` `get_netlight()` reads `\+CNETLIGHT: (\d+)` |
//! | `AT+CSMINS?` | `+CSMINS: <n>,<inserted>` | manual `AT+CSMINS`; Ircama's `check_sim()` reads `\+CSMINS: \d*,(\d*)` |
//! | `AT+CBC` | `+CBC: <bcs>,<bcl>,<voltage mV>` | manual `AT+CBC`; TinyGSM `TinyGsmBattery.tpp` and Adafruit FONA read the three fields |
//! | `AT+COPS?` / `=?` / `=` | `+COPS: 0,0,"CHINA MOBILE"`; test `(2,"CHINA MOBILE","CMCC","46000"),...,,(0-4),(0-2)` | 27.007 §7.3; TinyGSM `getOperator` skips to the first `"` |
//! | `AT+CGREG` | `+CGREG: <n>,<stat>[,"<lac>","<ci>"]`; URC `+CGREG: <stat>[,...]` | 27.007 §10.1.20; TinyGSM `getRegistrationStatusXREG` reads `+CGREG:` |
//! | `AT+GMR` | the revision line | V.250 §6.1.5 (`+GMR`), the manual's `AT+GMR` (`Revision:...`, as `AT+CGMR`); Ircama `get_hw_revision(method=2)` |
//! | `AT+CSPN?` | `+CSPN: "<spn>",0` | the manual's `AT+CSPN`; TinyGSM `getProvider` skips to the first `"`. UNCONFIRMED display mode |
//! | `AT+CNUM` | `+CNUM: "","<number>",<type>` (nothing when the SIM stores none) | 27.007 §7.1; Luat `sim.lua` reads `%+CNUM:%s*".-","[%+]*(%d+)",` |
//! | `AT+CMTE?` | `+CMTE: 0,<degrees>` | manual `AT+CMTE`; Ircama `get_temperature()` reads `\+CMTE: \d*,([0-9.]*)`. UNCONFIRMED first field |
//! | `AT+COPN` | `+COPN: "<numeric>","<long>"` per operator | 27.007 §7.21; Ircama `get_operator_list()` |
//! | `AT+CLTS=1` | `*PSUTTZ: <yyyy>,<M>,<d>,<h>,<m>,<s>,"<±tz>",<dst>`, `+CTZV: <±tz>,<dst>`, `DST: <dst>` on registration, and the clock set | the manual's `AT+CLTS`, SIM800 logs; TinyGSM `handleURCs` skips `*PSUTTZ:`, `+CTZV:`, `DST:`; Ircama reads `+CTZV` as two fields. UTC in `*PSUTTZ`, local time in `AT+CCLK?`: UNCONFIRMED (SIM800 logs) |
//! | `AT+CENG?` (Air202) | `+CENG:1,1` then `+CENG:0,"<arfcn>,<rxl>,<rxq>,<mcc>,<mnc>,<bsic>,<cellid>,<rla>,<txp>,<lac>,<ta>"`, decimal, no space | Luat `net.lua` `ceng()` (its comment's example and its pattern `%+CENG:%d+,".+"`) |
//! | `AT+MUID?` (Air202) | `+MUID: "<id>"` | Luat `misc.lua` reads `+MUID:%s*"(.+)"` |
//! | `AT+STON=<0-1>` (Air202) | `OK` | Luat `sim.lua` sends `AT+STON=0` at load |
//!
//! Sleep (`AT+CSCLK`): with 1 the modem sleeps while DTR is high and nothing happens, and a low
//! DTR wakes it, its UART deaf for the profile's `dtr_wake` (50 ms: TinyGSM's `sleepEnable`
//! comment; "about 40 ms" in the SIM802 hardware design); with 2 it sleeps after
//! `sleep_idle` (5 s) without UART activity and the write that wakes it is lost ("the first
//! AT command will always get no response": raviyp.com, "SIM900/SIM800 sleep mode AT
//! commands"; the manual speaks of the first byte). URCs still go out while it sleeps.

use std::time::Duration;

use protocol::command::{Command, Name};
use protocol::response::{Location, Response};
use protocol::service::{ServiceCommand, ServiceName};
use protocol::types::{DateTime, RegStat};

use super::line::LineExec;
use super::outcome::{cme, Failure, Outcome};
use super::{Modem, ModemEvent, Saved, Timer};
use crate::profile::Profile;

/// The modem's real-time clock: `unix` seconds (UTC) at virtual time `at`, shown with the
/// offset `tz` (quarter-hours).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rtc {
    pub unix: u64,
    pub at: Duration,
    pub tz: i8,
}

impl Rtc {
    pub(super) fn new(unix: u64, now: Duration) -> Rtc {
        Rtc {
            unix,
            at: now,
            tz: 0,
        }
    }

    pub(super) fn read(&self, now: Duration) -> DateTime {
        let unix = self
            .unix
            .saturating_add(now.saturating_sub(self.at).as_secs());
        DateTime::from_unix(unix, self.tz)
    }
}

/// Issue 13's settings that are lost with power.
pub(super) struct Settings {
    /// `AT+CLIP`.
    pub clip: bool,
    /// `AT+CSCLK` and the sleep it allows.
    pub csclk: u8,
    pub asleep: bool,
    /// Host bytes that arrive before this are lost (the UART wakes after DTR goes low).
    pub deaf_until: Duration,
    /// The last host byte, for `AT+CSCLK=2`.
    pub last_activity: Duration,
    /// `AT+CNETLIGHT`.
    pub netlight: bool,
    /// `AT+CSMINS`: the URC mode.
    pub csmins: bool,
    /// `AT+CGREG=<n>`, and the GPRS status last reported.
    pub cgreg: u8,
    pub gprs_reported: Option<(u8, Option<Location>)>,
    /// `AT+COPS`: the mode (0, 1, 2, 4) and the format of `<oper>` (0 long, 1 short, 2
    /// numeric).
    pub cops_mode: u8,
    pub cops_format: u8,
    /// `AT+STON` (Luat).
    pub ston: bool,
}

/// What `AT+CBC` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Battery {
    /// `<bcs>`: 0 not charging, 1 charging, 2 charging finished.
    pub charge: u8,
    /// `<bcl>`: 1..=100 %.
    pub percent: u8,
    /// `<voltage>`: millivolts.
    pub millivolts: u16,
}

impl Battery {
    pub(super) fn of(profile: &Profile) -> Battery {
        Battery {
            charge: profile.battery.charge,
            percent: profile.battery.percent,
            millivolts: profile.battery.millivolts,
        }
    }
}

impl Settings {
    pub(super) fn new(now: Duration) -> Settings {
        Settings {
            clip: false,
            csclk: 0,
            asleep: false,
            deaf_until: now,
            last_activity: now,
            netlight: true,
            csmins: false,
            cgreg: 0,
            gprs_reported: None,
            cops_mode: 0,
            cops_format: 0,
            ston: false,
        }
    }
}

impl Saved {
    /// The manufacturer's settings (`AT&F`; after power-up until `AT&W`).
    pub(super) fn factory(profile: &Profile) -> Saved {
        Saved {
            echo: true,
            verbose: true,
            quiet: false,
            cmee: 0,
            ciurc: true,
            ipr: profile.ipr,
            ifc: (0, 0),
            clts: false,
        }
    }
}

/// `AT+CSCS`'s character sets (manual, test form).
const CHARSETS: [&str; 7] = ["IRA", "GSM", "UCS2", "HEX", "PCCP", "PCDN", "8859-1"];

impl Modem {
    /// Runs the command if it is one of this file's; `None` otherwise.
    pub(super) fn housekeeping(
        &mut self,
        now: Duration,
        exec: &mut LineExec,
        command: Command<'_>,
    ) -> Option<Outcome> {
        use Command as C;
        let s = &mut self.session.settings;
        let bad = Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS));
        Some(match command {
            C::Reset => {
                self.restore(self.saved, exec);
                self.ok()
            }
            C::FactoryDefaults => {
                // The UART's rate stays: the host would be cut off (UNCONFIRMED; TinyGSM's
                // factoryDefault sends `AT+IPR=0` itself after `AT&F`).
                let factory = Saved {
                    ipr: self.session.ipr,
                    ..Saved::factory(&self.profile)
                };
                self.restore(factory, exec);
                self.ok()
            }
            C::SaveProfile => {
                self.saved = Saved {
                    echo: self.session.echo,
                    verbose: self.session.verbose,
                    quiet: self.session.quiet,
                    cmee: self.session.cmee,
                    ciurc: self.session.ciurc,
                    ipr: self.session.ipr_next.unwrap_or(self.session.ipr),
                    ifc: self.session.ifc,
                    clts: self.session.clts,
                };
                self.ok()
            }
            C::Verbose(on) => {
                self.session.verbose = on;
                exec.verbose = on;
                self.ok()
            }
            C::Quiet(on) => {
                self.session.quiet = on;
                exec.quiet = on;
                self.ok()
            }
            C::Ifc {
                dce_by_dte,
                dte_by_dce,
            } => {
                let dte_by_dce = dte_by_dce.unwrap_or(self.session.ifc.1);
                if dce_by_dte > 2 || dte_by_dce > 2 {
                    return Some(bad);
                }
                self.session.ifc = (dce_by_dte, dte_by_dce);
                self.ok()
            }
            C::Clip(on) => {
                s.clip = on;
                self.ok()
            }
            // The SMS service (`sms.rs`) owns the SMS settings: one state, whichever parser
            // read the line.
            C::Cscs(chset) => self.execute_sms(now, exec, ServiceCommand::Cscs(chset)),
            C::Cmgf(on) => self.execute_sms(now, exec, ServiceCommand::Cmgf(on)),
            C::Cmghex(on) => self.execute_sms(now, exec, ServiceCommand::Cmghex(on)),
            C::Csclk(n @ 0..=2) => {
                s.csclk = n;
                self.arm_sleep(now);
                self.ok()
            }
            C::Cnetlight(on) => {
                s.netlight = on;
                self.ok()
            }
            C::Csmins(on) => {
                s.csmins = on;
                self.ok()
            }
            C::Cgreg(n @ 0..=2) => {
                s.cgreg = n;
                self.ok()
            }
            C::Csclk(_) | C::Cgreg(_) => bad,
            C::Cops { mode, format } => self.cops(now, mode, format),
            C::Ston(on) => {
                s.ston = on;
                self.ok()
            }
            C::Test(name) => self.housekeeping_test(exec, name)?,
            C::Read(name) => self.housekeeping_read(exec, name)?,
            C::Exec(name) => self.housekeeping_exec(exec, name)?,
            _ => return None,
        })
    }

    /// `ATZ` / `AT&F`: the settings `saved` holds take effect.
    fn restore(&mut self, saved: Saved, exec: &mut LineExec) {
        let s = &mut self.session;
        s.echo = saved.echo;
        s.verbose = saved.verbose;
        s.quiet = saved.quiet;
        s.cmee = saved.cmee;
        s.ciurc = saved.ciurc;
        s.ifc = saved.ifc;
        s.clts = saved.clts;
        if saved.ipr != s.ipr {
            s.ipr_next = Some(saved.ipr);
        }
        exec.verbose = saved.verbose;
        exec.quiet = saved.quiet;
    }

    fn housekeeping_test(&mut self, exec: &mut LineExec, name: Name) -> Option<Outcome> {
        let params = match name {
            Name::Ifc => "(0-2),(0-2)".to_string(),
            Name::Clip | Name::Cmgf | Name::Cmghex | Name::Cnetlight | Name::Csmins => {
                "(0,1)".into()
            }
            Name::Cscs => {
                let sets: Vec<String> = CHARSETS.iter().map(|c| format!("\"{c}\"")).collect();
                format!("({})", sets.join(","))
            }
            Name::Csclk => "(0,1,2)".into(),
            Name::Cgreg => "(0-2)".into(),
            // UNCONFIRMED: the manual gives the ranges in this form.
            Name::Cbc => "(0-2),(1-100),(voltage)".into(),
            Name::Cops => return Some(self.cops_test(exec)),
            Name::Ston => "(0,1)".into(),
            _ => return None,
        };
        Some(self.info_line(exec, name, params))
    }

    fn housekeeping_read(&mut self, exec: &mut LineExec, name: Name) -> Option<Outcome> {
        let s = &self.session.settings;
        let flag = |on: bool| u8::from(on).to_string();
        let params = match name {
            Name::Ifc => format!("{},{}", self.session.ifc.0, self.session.ifc.1),
            Name::Clip => format!("{},1", flag(s.clip)),
            Name::Cscs => return Some(self.sms_read(exec, ServiceName::Cscs)),
            Name::Cmgf => return Some(self.sms_read(exec, ServiceName::Cmgf)),
            Name::Cmghex => return Some(self.sms_read(exec, ServiceName::Cmghex)),
            Name::Csclk => s.csclk.to_string(),
            Name::Cnetlight => flag(s.netlight),
            Name::Csmins => format!("{},{}", flag(s.csmins), flag(self.profile.sim_inserted)),
            Name::Cops => self.cops_read(),
            Name::Cgreg => {
                let (stat, location) = self.gprs_status();
                format!("{},{}", s.cgreg, location_params(stat, location, s.cgreg))
            }
            Name::Cspn => match self.sim_failure() {
                Some(failure) => return Some(Outcome::Fail(failure)),
                None => format!("\"{}\",0", self.home_operator().map_or("", |o| &o.short)),
            },
            Name::Cmte => {
                let t = i32::from(self.profile.temperature_decicelsius);
                format!(
                    "0,{}{}.{}",
                    if t < 0 { "-" } else { "" },
                    t.abs() / 10,
                    t.abs() % 10
                )
            }
            Name::Ston => flag(s.ston),
            _ => return None,
        };
        Some(self.info_line(exec, name, params))
    }

    fn housekeeping_exec(&mut self, exec: &mut LineExec, name: Name) -> Option<Outcome> {
        Some(match name {
            Name::Cbc => {
                let b = self.battery;
                let params = format!("{},{},{}", b.charge, b.percent, b.millivolts);
                self.info_line(exec, name, params)
            }
            Name::Gmr => self.text_line(exec, self.profile.revision.clone()),
            Name::Cnum => {
                if let Some(failure) = self.sim_failure() {
                    return Some(Outcome::Fail(failure));
                }
                let number = self.profile.msisdn.clone();
                if !number.is_empty() {
                    // 145: international (a leading `+`), 129: national (27.007 §7.1).
                    let kind = if number.starts_with('+') { 145 } else { 129 };
                    exec.line(&Response::Info {
                        name: "CNUM",
                        params: &format!("\"\",\"{number}\",{kind}"),
                    });
                }
                self.ok()
            }
            Name::Copn => {
                for o in self.profile.operators.clone() {
                    exec.line(&Response::Info {
                        name: "COPN",
                        params: &format!("\"{}\",\"{}\"", o.numeric, o.long),
                    });
                }
                self.ok()
            }
            _ => return None,
        })
    }

    // --- AT+COPS. ---

    /// The operator the profile's SIM belongs to and registers on.
    fn home_operator(&self) -> Option<&crate::profile::Operator> {
        let numeric = format!("{:03}{:02}", self.profile.mcc, self.profile.mnc);
        self.profile.operators.iter().find(|o| o.numeric == numeric)
    }

    /// `+COPS: <mode>[,<format>,"<oper>"]`: the operator only while registered.
    fn cops_read(&self) -> String {
        let s = &self.session.settings;
        let registered = self.session.radio.reg.is_registered();
        match self.home_operator().filter(|_| registered) {
            Some(o) => format!(
                "{},{},\"{}\"",
                s.cops_mode,
                s.cops_format,
                o.name(s.cops_format)
            ),
            None => s.cops_mode.to_string(),
        }
    }

    /// `AT+COPS=?`: after a network scan (the profile's `cops_scan`), each operator as
    /// `(<stat>,"<long>","<short>","<numeric>")`: 2 the current one, 1 the home network while
    /// not registered to it, 3 (forbidden) the others, which the simulated network does not
    /// carry. Without a cell, no operator.
    fn cops_test(&mut self, exec: &mut LineExec) -> Outcome {
        let r = &self.session.radio;
        let cell = self
            .coverage
            .is_some_and(|c| c.registration != RegStat::NotRegistered)
            && r.cfun == 1;
        let home = self.home_operator().map(|o| o.numeric.clone());
        let mut list: Vec<String> = Vec::new();
        if cell {
            for o in &self.profile.operators {
                let stat = match (Some(&o.numeric) == home.as_ref(), r.reg.is_registered()) {
                    (true, true) => 2,
                    (true, false) => 1,
                    (false, _) => 3,
                };
                list.push(format!(
                    "({stat},\"{}\",\"{}\",\"{}\")",
                    o.long, o.short, o.numeric
                ));
            }
        }
        let params = format!("{},,(0-4),(0-2)", list.join(","));
        exec.line(&Response::Info {
            name: "COPS",
            params: &params,
        });
        Outcome::Done {
            result: Some(Response::Ok),
            takes: self.profile.cops_scan,
        }
    }

    /// `AT+COPS=<mode>[,<format>[,"<oper>"]]`. Automatic (0) registers as the coverage allows;
    /// manual (1) registers only on the named operator, and as the simulated network carries
    /// only the home one, naming another leaves the modem unregistered with `+CME ERROR: 30`
    /// (27.007 §7.3: no other operator is selected); 4 falls back to automatic; 2
    /// deregisters; 3 sets the format only.
    fn cops(&mut self, now: Duration, mode: u8, format: Option<(u8, Option<&str>)>) -> Outcome {
        let bad = Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS));
        let (format, oper) = match format {
            Some((f @ 0..=2, oper)) => (Some(f), oper),
            Some(_) => return bad,
            None => (None, None),
        };
        if mode > 4 || (matches!(mode, 1 | 4) && oper.is_none()) {
            return bad;
        }
        if let Some(format) = format {
            self.session.settings.cops_format = format;
        }
        let named_home = oper.is_some_and(|oper| {
            self.home_operator()
                .is_some_and(|o| o.name(format.unwrap_or(0)).eq_ignore_ascii_case(oper))
        });
        let (blocked, result) = match mode {
            3 => return self.ok(),
            0 => (false, None),
            2 => (true, None),
            1 if !named_home => (true, Some(Failure::Cme(cme::NO_NETWORK))),
            _ => (false, None),
        };
        self.session.settings.cops_mode = mode;
        self.session.radio.deregistered = blocked;
        self.update_registration(now);
        match result {
            Some(failure) => Outcome::Fail(failure),
            None => self.ok(),
        }
    }

    // --- AT+CGREG. ---

    /// The GPRS registration `AT+CGREG` reports: the circuit status once attached (1 or 5),
    /// 2 while registered and attaching, 0 when the host detached (`AT+CGATT=0`), and the
    /// circuit status (0, 2, 3) without registration. UNCONFIRMED mapping (27.007 §10.1.20
    /// leaves it to the network).
    fn gprs_status(&self) -> (u8, Option<Location>) {
        let r = &self.session.radio;
        let stat = if r.attached {
            r.reg.code()
        } else if r.reg.is_registered() {
            if r.detached_by_host {
                0
            } else {
                2
            }
        } else {
            r.reg.code()
        };
        (stat, r.location.filter(|_| r.attached))
    }

    /// Registration or attach changed: `+CGREG: <stat>[,"<lac>","<ci>"]` as `AT+CGREG`
    /// asks, when what it reports changed.
    pub(super) fn gprs_registration_changed(&mut self) {
        let now = self.gprs_status();
        let s = &mut self.session.settings;
        let (stat, location) = now;
        let changed = match s.cgreg {
            1 => s.gprs_reported.map(|r| r.0) != Some(stat),
            2 => s.gprs_reported != Some(now),
            _ => false,
        };
        s.gprs_reported = Some(now);
        if changed {
            let params = location_params(stat, location, s.cgreg);
            self.urc(&Response::Info {
                name: "CGREG",
                params: &params,
            });
        }
    }

    // --- Network time (AT+CLTS=1). ---

    /// The network's time arrives on registration (NITZ): `*PSUTTZ` (UTC and the zone),
    /// `+CTZV`, `DST`; the clock is set to it, in the network's zone.
    pub(super) fn network_time(&mut self, now: Duration) {
        let Some(at_zero) = self.network_clock else {
            return;
        };
        let unix = at_zero + now.as_secs();
        let tz = self.profile.network_time_zone;
        let utc = DateTime::from_unix(unix, 0);
        let zone = format!("{}{:02}", if tz < 0 { '-' } else { '+' }, tz.unsigned_abs());
        let lines = [
            format!(
                "*PSUTTZ: {},{},{},{},{},{},\"{zone}\",0",
                2000 + u32::from(utc.year),
                utc.month,
                utc.day,
                utc.hour,
                utc.minute,
                utc.second
            ),
            format!("+CTZV: {zone},0"),
            "DST: 0".to_string(),
        ];
        for line in lines {
            self.urc(&Response::Text(line.as_bytes()));
        }
        self.session.rtc = Rtc { unix, at: now, tz };
    }

    /// The network's clock: `unix_at_zero` is the Unix time at virtual time 0. Without it
    /// the network sends no time (no `*PSUTTZ` after `AT+CLTS=1`).
    pub fn set_network_clock(&mut self, unix_at_zero: u64) {
        self.network_clock = Some(unix_at_zero);
    }

    /// The battery `AT+CBC` reports from now on (a fault: a draining or charged battery).
    pub fn set_battery(&mut self, percent: u8, millivolts: u16, charging: bool) {
        self.battery = Battery {
            charge: u8::from(charging),
            percent,
            millivolts,
        };
    }

    // --- Sleep (AT+CSCLK). ---

    /// The host's DTR line (high: the host lets the modem sleep with `AT+CSCLK=1`).
    pub fn set_dtr(&mut self, now: Duration, high: bool) {
        self.run_timers(now);
        self.dtr_high = high;
        let s = &mut self.session.settings;
        if !high && s.asleep && s.csclk == 1 {
            s.asleep = false;
            s.deaf_until = now + self.profile.dtr_wake;
            self.event(ModemEvent::Asleep(false));
        }
        self.arm_sleep(now);
        self.settle(now);
    }

    /// Host bytes arrived: UART activity for `AT+CSCLK=2`. Returns whether they are lost:
    /// the modem sleeps, or its UART is not awake yet. With `AT+CSCLK=2` they wake it (and are
    /// lost all the same).
    pub(super) fn host_activity(&mut self, now: Duration, bytes: &[u8]) -> bool {
        let s = &mut self.session.settings;
        let lost = s.asleep || now < s.deaf_until;
        if s.asleep && s.csclk == 2 {
            s.asleep = false;
            self.event(ModemEvent::Asleep(false));
        }
        if lost && !bytes.is_empty() {
            self.ignored(bytes.len());
        }
        self.session.settings.last_activity = now;
        self.arm_sleep(now);
        lost
    }

    /// Schedules the next chance to sleep.
    pub(super) fn arm_sleep(&mut self, now: Duration) {
        let s = &self.session.settings;
        let at = match s.csclk {
            1 if self.dtr_high => now,
            2 => {
                s.last_activity
                    .max(now.saturating_sub(self.profile.sleep_idle))
                    + self.profile.sleep_idle
            }
            _ => {
                self.timers.cancel(Timer::Sleep);
                return;
            }
        };
        if !s.asleep {
            self.timers.set(at, Timer::Sleep);
        }
    }

    /// Sleeps if nothing keeps the modem awake. A busy modem is looked at again when its
    /// line is done (`line`'s release).
    pub(super) fn on_sleep_due(&mut self, now: Duration) {
        let s = &self.session.settings;
        let idle =
            self.session.cmd.is_idle() && self.session.input.is_empty() && !self.in_data_mode();
        let allowed = match s.csclk {
            1 => self.dtr_high,
            2 => now >= s.last_activity + self.profile.sleep_idle,
            _ => false,
        };
        if s.asleep || !idle {
            return;
        }
        if allowed {
            self.session.settings.asleep = true;
            self.event(ModemEvent::Asleep(true));
        } else {
            self.arm_sleep(now);
        }
    }

    // --- The Air202's formats (Luat). ---

    /// `AT+CENG?` on an Air202, as Luat's `net.lua` parses it: the mode line, then the serving
    /// cell with decimal fields and no space after the colon. ARFCN, RXQ, BSIC, RLA, TXP and
    /// TA are the example's in `net.lua` (UNCONFIRMED values); RXL is the signal on `+CSQ`'s
    /// scale (Luat takes it for one: `rssi * 2 - 113` dBm); no neighbour cells.
    pub(super) fn ceng_luat(&mut self, exec: &mut LineExec) -> Outcome {
        let (mode, ncell) = self.session.ceng;
        exec.line(&Response::Text(format!("+CENG:{mode},{ncell}").as_bytes()));
        let cell = self
            .coverage
            .filter(|_| self.session.radio.reg.is_registered());
        if let (1 | 2, Some(c)) = (mode, cell) {
            let p = &self.profile;
            let line = format!(
                "+CENG:0,\"573,{},99,{},{},13,{},10,0,{},255\"",
                c.rssi.min(31),
                p.mcc,
                p.mnc,
                c.ci,
                c.lac
            );
            exec.line(&Response::Text(line.as_bytes()));
        }
        self.ok()
    }
}

/// `<stat>[,"<lac>","<ci>"]`, the location with mode 2 and a known cell.
fn location_params(stat: u8, location: Option<Location>, mode: u8) -> String {
    match location.filter(|_| mode == 2) {
        Some(Location { lac, ci }) => format!("{stat},\"{lac:04x}\",\"{ci:04x}\""),
        None => stat.to_string(),
    }
}
