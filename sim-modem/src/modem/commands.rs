//! The command dispatcher, and the general commands: identification, SIM, signal,
//! registration settings, functionality (`AT+CFUN`), power (`AT+CPOWD`), the clock
//! (`AT+CCLK`, `AT+CNTP`), cell information, and the packet-domain commands TinyGSM uses
//! (`AT+CGATT`, `AT+CGDCONT`, `AT+CGACT`, `AT+SAPBR`). Boot's URCs are here too.

use std::time::Duration;

use protocol::command::{Command, Name};
use protocol::response::Response;
use protocol::types::{RegStat, SimState};

use super::housekeeping::Rtc;
use super::line::LineExec;
use super::outcome::{cme, Failure, Outcome, PdpUser, Wait};
use super::radio::{Pdp, PdpStart};
use super::{Modem, ModemEvent, PowerOffCause, Timer};
use crate::profile::BAUD_RATES;

/// `AT+CNTPCID` / `AT+CNTP` settings and the pending synchronisation.
#[derive(Debug, Clone, Default)]
pub(super) struct Cntp {
    pub cid: u8,
    pub server: Option<String>,
    pub tz: i8,
    pub pending: bool,
}

impl Modem {
    /// `OK` after the profile's command time.
    pub(super) fn ok(&self) -> Outcome {
        Outcome::Done {
            result: Some(Response::Ok),
            takes: self.profile.command,
        }
    }

    /// Runs one command of a line; information lines go into `exec`.
    pub(super) fn execute(
        &mut self,
        now: Duration,
        exec: &mut LineExec,
        command: Command<'_>,
    ) -> Outcome {
        use Command as C;
        let luat_only = matches!(
            command.name(),
            Some(
                Name::Ver
                    | Name::Ciicrmode
                    | Name::Tcpuserparam
                    | Name::Atwmft
                    | Name::Wisn
                    | Name::Muid
                    | Name::Ston
            )
        );
        if luat_only && !self.profile.luat_extensions {
            return Outcome::Fail(Failure::Error);
        }
        // Issue 13's command families, each in its own file.
        if let Some(outcome) = self.housekeeping(now, exec, command) {
            return outcome;
        }
        if let Some(outcome) = self.transparent(exec, command) {
            return outcome;
        }
        if let Some(outcome) = self.services(now, exec, command) {
            return outcome;
        }
        match command {
            C::At => self.ok(),
            C::Echo(on) => {
                self.session.echo = on;
                self.ok()
            }
            C::Info => self.text_line(exec, self.profile.info.clone()),
            // `AT&K0` gets no response at all (reference §0).
            C::FlowControl(0) => Outcome::Done {
                result: None,
                takes: self.profile.command,
            },
            C::FlowControl(_) => self.ok(),
            C::Cmee(n @ 0..=2) => {
                self.session.cmee = n;
                self.ok()
            }
            C::Creg(n @ 0..=2) => {
                self.session.radio.creg_mode = n;
                self.ok()
            }
            C::Ceng {
                mode: mode @ 0..=4,
                ncell,
            } => {
                self.session.ceng = (mode, ncell.unwrap_or(self.session.ceng.1).min(1));
                self.ok()
            }
            C::Cmee(_) | C::Creg(_) | C::Ceng { .. } | C::Cipqsend(2..) => {
                Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS))
            }
            // No PIN is ever asked for.
            C::Cpin(_) => Outcome::Fail(Failure::Cme(cme::NOT_ALLOWED)),
            C::Cgatt(on) => self.cgatt(now, on),
            C::Cfun { fun, rst } => self.cfun(now, fun, rst),
            C::Cpowd(mode) => self.cpowd(now, mode),
            C::Cclk(time) => {
                self.session.rtc = Rtc {
                    unix: time.to_unix(),
                    at: now,
                    tz: time.quarter_hours,
                };
                self.ok()
            }
            C::Cntpcid(cid) => {
                self.session.cntp.cid = cid;
                self.ok()
            }
            C::Cntp { server, tz } => {
                self.session.cntp.server = Some(server.into());
                self.session.cntp.tz = tz;
                self.ok()
            }
            C::Clts(on) => {
                self.session.clts = on;
                self.ok()
            }
            C::Cbatchk(on) => {
                self.session.cbatchk = on;
                self.ok()
            }
            C::Ciurc(on) => {
                self.session.ciurc = on;
                self.ok()
            }
            // The new rate after this `OK`, sent at the old one (`Modem::drain_uart`).
            C::Ipr(rate) if BAUD_RATES.contains(&rate) => {
                self.session.ipr_next = Some(rate);
                self.ok()
            }
            C::Ipr(_) => Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS)),
            C::Cipmux(multi) => self.cipmux(multi),
            C::Cstt { apn, .. } => self.cstt(apn),
            C::Ciicrmode(mode) => {
                self.session.ip.ciicr_mode = mode;
                self.ok()
            }
            C::CipstatusLink(link) => self.cipstatus_link(exec, link),
            C::CipackLink(link) => self.cipack(exec, Some(link)),
            C::Cipstart {
                link,
                transport,
                host,
                port,
            } => {
                self.restart_sends(link.unwrap_or(0));
                self.cipstart(now, link, transport, host, port)
            }
            C::Cipsend { link, len } => self.cipsend(link, len),
            C::Cipqsend(n) => {
                self.session.ip.quick_send = n == 1;
                self.ok()
            }
            C::Cipclose { link, .. } => self.cipclose(link),
            C::Ciphead(on) => {
                self.session.ip.head = on;
                self.ok()
            }
            C::Ciprxget(rx) => self.ciprxget(exec, rx),
            // TLS is not simulated: `AT+CIPSSL=1` is refused, so a client that needs it
            // fails visibly instead of talking plain TCP.
            C::Cipssl(on) if !on => self.ok(),
            C::Cipssl(_) => Outcome::Fail(Failure::Error),
            C::Cdnscfg { primary, secondary } => {
                self.session.ip.dns = [
                    primary.into(),
                    secondary.unwrap_or(&self.session.ip.dns[1]).into(),
                ];
                self.ok()
            }
            C::Cgdcont { apn, .. } => {
                self.session.radio.cgdcont_apn = Some(apn.into());
                self.ok()
            }
            C::Cgact { active, .. } => self.cgact(now, active),
            C::Sapbr { cmd, cid, param } => self.sapbr(now, exec, cmd, cid, param),
            C::Tcpuserparam(params) => self.tcpuserparam(params),
            C::Cipccfg(set) => self.cipccfg(set),
            // Luat's calibration query (misc.lua): `SUCC` when calibrated. UNCONFIRMED.
            C::Atwmft(_) => self.text_line(exec, "SUCC".into()),
            C::Test(name) => self.test(exec, name),
            C::Read(name) => self.read(now, exec, name),
            C::Exec(name) => self.exec(now, exec, name),
            // Issue 13's commands not in the families above.
            _ => Outcome::Fail(Failure::Error),
        }
    }

    /// `AT+NAME=?`: the ranges a host may ask about; `OK` for the rest.
    fn test(&mut self, exec: &mut LineExec, name: Name) -> Outcome {
        let params = match name {
            Name::Cipsend if self.session.ip.multi => {
                format!(
                    "(0-{}),{}",
                    self.profile.link_count.saturating_sub(1),
                    self.profile.max_send
                )
            }
            Name::Cipsend => self.profile.max_send.to_string(),
            Name::Cipqsend => "(0,1)".into(),
            Name::Cipccfg => "(3-8),(1-10),(1-1460),(0,1),(0,1),(50-1460),(20-1000)".into(),
            Name::Cipack if self.session.ip.multi => {
                format!("(0-{})", self.profile.link_count.saturating_sub(1))
            }
            Name::Cfun => "(0,1,4),(0,1)".into(),
            Name::Cmee => "(0-2)".into(),
            Name::Creg => "(0-2)".into(),
            Name::Cipmux => "(0,1)".into(),
            _ => return self.ok(),
        };
        self.info_line(exec, name, params)
    }

    /// `AT+NAME?`.
    fn read(&mut self, now: Duration, exec: &mut LineExec, name: Name) -> Outcome {
        let flag = |on: bool| u8::from(on).to_string();
        let params = match name {
            Name::Cpin => return self.cpin(exec),
            Name::Creg => {
                let r = &self.session.radio;
                let location = r.location.filter(|_| r.creg_mode == 2);
                exec.line(&Response::Creg {
                    mode: Some(r.creg_mode),
                    stat: r.reg,
                    location,
                });
                return self.ok();
            }
            Name::Cgatt => {
                exec.line(&Response::Cgatt(self.session.radio.attached));
                return self.ok();
            }
            Name::Cfun => {
                exec.line(&Response::Cfun(self.session.radio.cfun));
                return self.ok();
            }
            Name::Cclk => {
                exec.line(&Response::Cclk(self.session.rtc.read(now)));
                return self.ok();
            }
            Name::Ceng if self.profile.luat_extensions => return self.ceng_luat(exec),
            Name::Ceng => return self.ceng(exec),
            Name::Cdnscfg => {
                let [primary, secondary] = self.session.ip.dns.clone();
                exec.line(&Response::Text(format!("PrimaryDns: {primary}").as_bytes()));
                exec.line(&Response::Text(
                    format!("SecondaryDns: {secondary}").as_bytes(),
                ));
                return self.ok();
            }
            Name::Cipsend => return self.cipsend_sizes(exec),
            Name::Cmee => self.session.cmee.to_string(),
            Name::Cntpcid => self.session.cntp.cid.to_string(),
            Name::Cntp => {
                let server = self.session.cntp.server.clone().unwrap_or_default();
                format!("\"{server}\",{}", self.session.cntp.tz)
            }
            Name::Clts => flag(self.session.clts),
            Name::Cbatchk => flag(self.session.cbatchk),
            Name::Ciurc => flag(self.session.ciurc),
            Name::Ipr => self
                .session
                .ipr_next
                .unwrap_or(self.session.ipr)
                .to_string(),
            Name::Cipmux => flag(self.session.ip.multi),
            Name::Cstt => format!("\"{}\",\"\",\"\"", self.session.ip.apn),
            Name::Ciicrmode => self.session.ip.ciicr_mode.to_string(),
            Name::Cipqsend => flag(self.session.ip.quick_send),
            Name::Cipccfg => self.cipccfg_params(),
            Name::Ciphead => flag(self.session.ip.head),
            Name::Ciprxget => flag(self.session.ip.manual_rx),
            Name::Cipssl => "0".into(),
            Name::Cgdcont => {
                let apn = self.session.radio.cgdcont_apn.clone().unwrap_or_default();
                format!("1,\"IP\",\"{apn}\",\"0.0.0.0\",0,0")
            }
            Name::Cgact => format!("1,{}", flag(self.holds_pdp(PdpUser::Cgact))),
            // Luat's serial number: a bare line (LuaTask misc.lua takes the whole line).
            Name::Wisn => return self.text_line(exec, self.profile.serial.clone()),
            // `+MUID: "<id>"`: misc.lua reads `+MUID:%s*"(.+)"`.
            Name::Muid => format!("\"{}\"", self.profile.muid),
            _ => return Outcome::Fail(Failure::Error),
        };
        self.info_line(exec, name, params)
    }

    /// `AT+NAME` with no parameters.
    fn exec(&mut self, now: Duration, exec: &mut LineExec, name: Name) -> Outcome {
        let p = &self.profile;
        match name {
            Name::Cgmi => self.text_line(exec, p.manufacturer.clone()),
            Name::Cgmm => self.text_line(exec, p.model.clone()),
            Name::Cgmr => self.text_line(exec, p.revision.clone()),
            Name::Cgsn | Name::Gsn => self.text_line(exec, p.imei.clone()),
            Name::Ver => self.text_line(exec, p.version.clone()),
            Name::Ccid | Name::Cimi => match self.sim_failure() {
                Some(failure) => Outcome::Fail(failure),
                None if name == Name::Ccid => self.text_line(exec, p.iccid.clone()),
                None => self.text_line(exec, p.imsi.clone()),
            },
            Name::Csq => {
                let r = &self.session.radio;
                let rssi = self
                    .coverage
                    .filter(|c| r.cfun == 1 && c.registration != RegStat::NotRegistered)
                    .map_or(99, |c| c.rssi.min(99));
                let ber = if rssi == 99 { 99 } else { 0 };
                exec.line(&Response::Csq { rssi, ber });
                self.ok()
            }
            Name::Cntp => self.cntp(now),
            // A bare `AT+CSTT` takes the default APN (Air724 ≥ V980 does; UNCONFIRMED for
            // the others).
            Name::Cstt => {
                let apn = self.profile.default_apn.clone();
                self.cstt(&apn)
            }
            Name::Ciicr => self.ciicr(now),
            Name::Cifsr => self.cifsr(exec),
            Name::Cipstatus => self.cipstatus(exec),
            Name::Cipack if !self.session.ip.multi => self.cipack(exec, None),
            Name::Cipsend if !self.session.ip.multi => self.cipsend(None, None),
            Name::Cipclose if !self.session.ip.multi => self.cipclose(None),
            Name::Cipshut => self.cipshut(),
            _ => Outcome::Fail(Failure::Error),
        }
    }

    pub(super) fn text_line(&mut self, exec: &mut LineExec, text: String) -> Outcome {
        exec.line(&Response::Text(text.as_bytes()));
        self.ok()
    }

    pub(super) fn info_line(&mut self, exec: &mut LineExec, name: Name, params: String) -> Outcome {
        exec.line(&Response::Info {
            name: name.as_str(),
            params: &params,
        });
        self.ok()
    }

    /// Why the SIM cannot answer, if it cannot.
    pub(super) fn sim_failure(&self) -> Option<Failure> {
        if !self.profile.sim_inserted {
            Some(Failure::Cme(cme::SIM_NOT_INSERTED))
        } else if !self.session.radio.sim_ready {
            Some(Failure::Cme(cme::SIM_BUSY))
        } else {
            None
        }
    }

    fn cpin(&mut self, exec: &mut LineExec) -> Outcome {
        if !self.profile.sim_inserted {
            return Outcome::Fail(Failure::Cme(cme::SIM_NOT_INSERTED));
        }
        let state = if self.session.radio.sim_ready {
            SimState::Ready
        } else {
            SimState::NotReady
        };
        exec.line(&Response::Cpin(state));
        self.ok()
    }

    /// `AT+CENG?`: the mode line, then the serving cell in SIM800's mode-1 layout
    /// `<cell>,"<arfcn>,<rxl>,<rxq>,<mcc>,<mnc>,<bsic>,<cellid>,<rla>,<txp>,<lac>,<TA>"`.
    /// ARFCN, BSIC, RLA, TXP and TA are fixed (UNCONFIRMED values); no neighbour cells.
    fn ceng(&mut self, exec: &mut LineExec) -> Outcome {
        let (mode, ncell) = self.session.ceng;
        exec.line(&Response::Info {
            name: "CENG",
            params: &format!("{mode},{ncell}"),
        });
        let cell = self
            .coverage
            .filter(|_| self.session.radio.reg.is_registered());
        if let (1 | 2, Some(c)) = (mode, cell) {
            let p = &self.profile;
            let rxl = u16::from(c.rssi.min(31)) * 2;
            let params = format!(
                "0,\"0012,{rxl:02},00,{:03},{:02},20,{:04x},00,05,{:04x},000\"",
                p.mcc, p.mnc, c.ci, c.lac
            );
            exec.line(&Response::Info {
                name: "CENG",
                params: &params,
            });
        }
        self.ok()
    }

    /// `AT+CIPSEND?`: the most a send may carry, per link in multi mode.
    fn cipsend_sizes(&mut self, exec: &mut LineExec) -> Outcome {
        if !self.session.ip.multi {
            // Single mode names no link: the maximum, or the room left on a connected one.
            let size = if self.link_connected(0) {
                self.send_room(0)
            } else {
                self.profile.max_send
            };
            exec.line(&Response::Info {
                name: "CIPSEND",
                params: &size.to_string(),
            });
            return self.ok();
        }
        for n in 0..self.profile.link_count {
            let size = self.send_room(usize::from(n));
            exec.line(&Response::Info {
                name: "CIPSEND",
                params: &format!("{n},{size}"),
            });
        }
        self.ok()
    }

    fn link_connected(&self, n: u8) -> bool {
        self.session
            .ip
            .links
            .get(usize::from(n))
            .is_some_and(|l| l.state == super::ip::LinkState::Connected)
    }

    /// `AT+CGATT=<0|1>`. Detaching drops the context; attaching waits for the network.
    fn cgatt(&mut self, now: Duration, on: bool) -> Outcome {
        let r = &mut self.session.radio;
        r.detached_by_host = !on;
        if !on {
            self.timers.cancel(Timer::Attach);
            self.set_attached(now, false);
            return self.ok();
        }
        if r.attached {
            return self.ok();
        }
        self.update_attach(now);
        if self.timers.is_set(Timer::Attach) {
            Outcome::Wait(Wait::Attach)
        } else {
            Outcome::Fail(Failure::Cme(cme::NO_NETWORK))
        }
    }

    /// `AT+CFUN=<fun>[,<rst>]`. 0 and 4 drop registration (and with it the context, every
    /// link: `+PDP: DEACT`); 0 also powers the SIM down (`+CPIN: NOT READY`, UNCONFIRMED);
    /// 1 registers again after the profile's times. `rst` 1 reboots after the `OK`.
    fn cfun(&mut self, now: Duration, fun: u8, rst: Option<u8>) -> Outcome {
        if !matches!(fun, 0 | 1 | 4) || rst.is_some_and(|r| r > 1) {
            return Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS));
        }
        let done = Outcome::Done {
            result: Some(Response::Ok),
            takes: self.profile.cfun,
        };
        if rst == Some(1) {
            let at = now + self.profile.cfun + self.profile.reset;
            self.timers.set(at, Timer::Restart);
            return done;
        }
        self.session.radio.cfun = fun;
        self.event(ModemEvent::Cfun(fun));
        self.update_registration(now);
        if fun == 1 && self.field.cfun_resets_sim {
            // The injected misbehaviour: the SIM is reset as the radio comes back, so
            // `+CPIN: NOT READY` follows the `OK` and the SIM is read again below.
            self.session.radio.sim_ready = false;
            for timer in [Timer::SimReady, Timer::CallReady, Timer::SmsReady] {
                self.timers.cancel(timer);
            }
            self.update_registration(now);
            self.urc(&Response::Cpin(SimState::NotReady));
        }
        if fun == 0 && self.session.radio.sim_ready {
            self.session.radio.sim_ready = false;
            for timer in [Timer::SimReady, Timer::CallReady, Timer::SmsReady] {
                self.timers.cancel(timer);
            }
            self.urc(&Response::Cpin(SimState::NotReady));
        }
        if fun == 1 && !self.session.radio.sim_ready && !self.timers.is_set(Timer::SimReady) {
            // The SIM is read again, as at boot, counted from the `OK`.
            let p = &self.profile;
            let start = (now + p.cfun).saturating_sub(p.rdy_after);
            for (after, timer) in [
                (p.sim_ready_after, Timer::SimReady),
                (p.call_ready_after, Timer::CallReady),
                (p.sms_ready_after, Timer::SmsReady),
            ] {
                self.timers.set(start + after, timer);
            }
        }
        done
    }

    /// `AT+CPOWD=1`: `NORMAL POWER DOWN` (its only answer), then off. `=0`: off at once,
    /// silently.
    fn cpowd(&mut self, now: Duration, mode: u8) -> Outcome {
        let p = &self.profile;
        match mode {
            1 => {
                self.session.going_down = Some(PowerOffCause::Command);
                self.timers
                    .set(now + p.command + p.power_down, Timer::PowerOff);
                Outcome::Done {
                    result: Some(Response::NormalPowerDown),
                    takes: p.command,
                }
            }
            0 => {
                self.session.going_down = Some(PowerOffCause::Command);
                self.timers.set(now, Timer::PowerOff);
                Outcome::Done {
                    result: None,
                    takes: Duration::ZERO,
                }
            }
            _ => Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS)),
        }
    }

    /// `AT+CNTP`: `OK`, then `+CNTP: <code>` when the time server has answered (`sntp`).
    /// It needs an active context; without one the code is 61 (network error).
    fn cntp(&mut self, now: Duration) -> Outcome {
        let Some(server) = self.session.cntp.server.clone() else {
            return Outcome::Fail(Failure::Error);
        };
        if self.session.cntp.pending {
            return Outcome::Fail(Failure::Error);
        }
        if matches!(self.session.radio.pdp, Pdp::Active(_)) {
            self.cntp_start(now, server);
        } else {
            // Held behind the `OK`.
            self.urc(&Response::Cntp(61));
        }
        self.ok()
    }

    pub(super) fn on_time(&mut self, now: Duration, unix: Option<u64>) {
        if !std::mem::take(&mut self.session.cntp.pending) {
            return;
        }
        self.timers.cancel(Timer::CntpDeadline);
        match unix {
            Some(unix) => {
                self.session.rtc = Rtc {
                    unix,
                    at: now,
                    tz: self.session.cntp.tz,
                };
                self.urc(&Response::Cntp(1));
            }
            None => self.urc(&Response::Cntp(63)),
        }
    }

    /// `AT+CGACT=<0|1>,<cid>`: holds or lets go of the context.
    fn cgact(&mut self, now: Duration, active: bool) -> Outcome {
        if !active {
            self.release_pdp(PdpUser::Cgact);
            return self.ok();
        }
        let apn = self.session.radio.cgdcont_apn.clone().unwrap_or_default();
        self.pdp_for(
            now,
            PdpUser::Cgact,
            &apn,
            Failure::Cme(cme::GPRS_UNSPECIFIED),
        )
    }

    /// `AT+SAPBR=<cmd>,<cid>[,...]`: the bearer profile TinyGSM opens before CIICR.
    /// 0 close, 1 open, 2 query, 3 set a parameter, 4 read the parameters.
    fn sapbr(
        &mut self,
        now: Duration,
        exec: &mut LineExec,
        cmd: u8,
        cid: u8,
        param: Option<(&str, &str)>,
    ) -> Outcome {
        let open = self.holds_pdp(PdpUser::Bearer);
        match (cmd, param) {
            (0, None) if open => {
                self.release_pdp(PdpUser::Bearer);
                self.ok()
            }
            (1, None) if !open => {
                let apn = self.session.radio.bearer_apn.clone().unwrap_or_default();
                self.pdp_for(now, PdpUser::Bearer, &apn, Failure::Error)
            }
            (2, None) => {
                let (status, ip) = match self.session.radio.pdp {
                    Pdp::Active([a, b, c, d]) if open => (1, format!("{a}.{b}.{c}.{d}")),
                    Pdp::Activating if open => (0, "0.0.0.0".into()),
                    _ => (3, "0.0.0.0".into()),
                };
                exec.line(&Response::Info {
                    name: "SAPBR",
                    params: &format!("{cid},{status},\"{ip}\""),
                });
                self.ok()
            }
            (3, Some((tag, value))) => {
                if tag.eq_ignore_ascii_case("APN") {
                    self.session.radio.bearer_apn = Some(value.into());
                }
                self.ok()
            }
            (4, None) => {
                let apn = self.session.radio.bearer_apn.clone().unwrap_or_default();
                exec.line(&Response::Text(b"+SAPBR:"));
                for line in [
                    "CONTYPE: GPRS".to_string(),
                    format!("APN: {apn}"),
                    "PHONENUM: ".into(),
                    "USER: ".into(),
                    "PWD: ".into(),
                    "RATE: 2".into(),
                ] {
                    exec.line(&Response::Text(line.as_bytes()));
                }
                self.ok()
            }
            _ => Outcome::Fail(Failure::Error),
        }
    }

    /// Asks for the context for `user`: `OK` when it is active, `failure` when it cannot be.
    fn pdp_for(&mut self, now: Duration, user: PdpUser, apn: &str, failure: Failure) -> Outcome {
        match self.request_pdp(now, user, apn) {
            PdpStart::Active(_) => self.ok(),
            PdpStart::Pending => Outcome::Wait(Wait::Pdp {
                user,
                until: now,
                failure,
            }),
            PdpStart::NoService => Outcome::Fail(failure),
        }
    }

    // --- Boot. ---

    pub(super) fn on_boot_step(&mut self, now: Duration, timer: Timer) {
        match timer {
            Timer::Rdy => {
                self.session.booted = true;
                self.event(ModemEvent::Ready);
                // Under auto-bauding nothing reaches the host until its first `AT`: no `RDY`,
                // no `+CFUN: 1`, no `+CPIN: READY` ... (`Modem::write_out`).
                self.say_rdy();
                if self.profile.cfun_urc {
                    self.urc(&Response::Cfun(1));
                }
            }
            Timer::SimReady if self.session.radio.cfun != 0 => {
                if self.profile.sim_inserted {
                    self.session.radio.sim_ready = true;
                    self.urc(&Response::Cpin(SimState::Ready));
                    self.update_registration(now);
                } else {
                    self.urc(&Response::Cpin(SimState::NotInserted));
                }
            }
            Timer::CallReady if self.session.radio.sim_ready && self.session.ciurc => {
                self.urc(&Response::CallReady)
            }
            Timer::SmsReady if self.session.radio.sim_ready => self.urc(&Response::SmsReady),
            _ => {}
        }
    }
}
