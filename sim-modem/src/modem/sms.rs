//! SMS in text and PDU mode (3GPP TS 27.005; SIM800 AT manual V1.09 §4): the settings
//! (`AT+CMGF`, `AT+CSCS`, `AT+CMGHEX`, `AT+CSMP`, `AT+CSDH`, `AT+CNMI`, `AT+CPMS`), sending
//! (`AT+CMGS`), the SIM's message storage (`AT+CMGR`, `AT+CMGL`, `AT+CMGD`, `AT+CMGDA`) and
//! new messages (`+CMTI`, `+CMT`).
//!
//! - Sending waits for the service centre (the network's `sms_delay`): `+CMGS: <mr>` and
//!   `OK`, or `+CMS ERROR: 331` (not registered) / `332` (registration lost meanwhile).
//! - Received messages go to the SIM (`"SM"`, [`SIM_SLOTS`] slots), which keeps them through
//!   power loss, and are announced `+CMTI: "SM",<index>` (`AT+CNMI=<mode>,1`, the default);
//!   `AT+CNMI=<mode>,2` shows them at once as `+CMT` and does not store them; `<mode>` 0 or
//!   `<mt>` 0 announces nothing. A message for a full SIM is lost (UNCONFIRMED: a real
//!   network keeps it at the service centre).
//! - Text mode writes and reads text in the character set of `AT+CSCS` (IRA, the default,
//!   is ASCII; GSM is the 7-bit alphabet's codes; UCS2 and HEX are hex digits, four a
//!   character and two an octet); a message is encoded in the alphabet of `AT+CSMP`'s
//!   `<dcs>` (0 GSM 7-bit, 8 UCS2, 4 8-bit). A UCS2 or 8-bit message is shown as hex
//!   whatever the character set, as SIM800s do (usim800 decodes such lines as UTF-16 hex).
//!   `AT+CMGHEX=1` lets bytes above 0x7F through with the GSM character set (as Latin-1
//!   characters); without it they are dropped. UNCONFIRMED: the manual only names the
//!   switch.
//! - PDU mode takes `AT+CMGS=<length>` and the PDU in hex (service centre address first,
//!   `<length>` counting the rest, as Luat's `sms.lua` writes it) and shows stored messages
//!   as their SMS-DELIVER PDU. The modem fills in the message reference.
//! - Errors are `+CMS ERROR: <n>` (`AT+CMEE=1`): 310 no SIM, 314 SIM not read yet, 321 an
//!   index beyond the storage, 304 / 305 a PDU or text the modem cannot use. Reading an
//!   empty slot answers `OK` alone (UNCONFIRMED).

use std::time::Duration;

use protocol::pdu::{
    decode_hex, encode_hex, gsm7, sca_len, Alphabet, Body, Deliver, Submit, SubmitFields,
};
use protocol::response::Response;
use protocol::service::{
    CmgsTarget, MoreDetails, Param, ServiceCommand, ServiceName, ServiceResponse, SmsEntry,
    SmsHead, TextDetails,
};

use super::line::{service_bytes, LineExec};
use super::outcome::{cme, cms, Failure, Input, Outcome, SmsDraft, Wait};
use super::{Modem, ModemEvent};
use crate::net::{NetRequest, SmsError};

/// Slots of the SIM's message storage. UNCONFIRMED: SIMs hold 20 to 50; SIM800 logs show 50.
pub const SIM_SLOTS: usize = 50;
const STORAGE: &str = "SM";

/// `AT+CSCS`'s character sets (SIM800 manual V1.09 `AT+CSCS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Ira,
    Gsm,
    Ucs2,
    Hex,
    Pccp,
    Pcdn,
    Latin1,
}

const CHARSETS: [(Charset, &str); 7] = [
    (Charset::Ira, "IRA"),
    (Charset::Gsm, "GSM"),
    (Charset::Ucs2, "UCS2"),
    (Charset::Hex, "HEX"),
    (Charset::Pccp, "PCCP"),
    (Charset::Pcdn, "PCDN"),
    (Charset::Latin1, "8859-1"),
];

/// The SMS settings of a session (volatile: a fresh modem has the defaults).
#[derive(Debug, Clone)]
pub(super) struct SmsSettings {
    /// `AT+CMGF=1`.
    text_mode: bool,
    charset: Charset,
    cmghex: bool,
    /// `AT+CSMP=<fo>,<vp>,<pid>,<dcs>`.
    csmp: [u8; 4],
    csdh: bool,
    /// `AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>`.
    cnmi: [u8; 5],
    /// The next message reference.
    next_mr: u8,
}

impl Default for SmsSettings {
    /// PDU mode and IRA (TS 27.005 / SIM800 defaults), `AT+CSMP=17,167,0,0` (27.005's
    /// example values, which Luat and TinyGSM restate), `AT+CNMI=2,1,0,0,0` (UNCONFIRMED:
    /// SIM800 logs show it, and TinyGSM sets it).
    fn default() -> SmsSettings {
        SmsSettings {
            text_mode: false,
            charset: Charset::Ira,
            cmghex: false,
            csmp: [17, 167, 0, 0],
            csdh: false,
            cnmi: [2, 1, 0, 0, 0],
            next_mr: 0,
        }
    }
}

/// A message on the SIM: the SMS-DELIVER as it came, and whether it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSms {
    pub pdu: Vec<u8>,
    pub read: bool,
}

/// `AT+CMGL`'s statuses, text and PDU spelling (TS 27.005 §3.1).
const STATUSES: [&str; 5] = ["REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL"];

impl Modem {
    /// Runs one SMS command.
    pub(super) fn execute_sms(
        &mut self,
        _now: Duration,
        exec: &mut LineExec,
        command: ServiceCommand<'_>,
    ) -> Outcome {
        use ServiceCommand as C;
        let needs_sim = matches!(
            command,
            C::Cmgs(_)
                | C::Cmgr { .. }
                | C::Cmgl { .. }
                | C::Cmgd { .. }
                | C::Cmgda(_)
                | C::Cpms(_)
        );
        if needs_sim {
            if let Some(failure) = self.sms_sim_failure() {
                return Outcome::Fail(failure);
            }
        }
        let s = &mut self.session.sms;
        match command {
            C::Test(name) => return self.sms_test(exec, name),
            C::Read(name) => return self.sms_read(exec, name),
            C::Cmgf(text) => s.text_mode = text,
            C::Cscs(name) => match CHARSETS.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
                Some(&(charset, _)) => s.charset = charset,
                None => return Outcome::Fail(Failure::Cme(cme::BAD_PARAMETERS)),
            },
            C::Cmghex(on) => s.cmghex = on,
            C::Csdh(on) => s.csdh = on,
            C::Csmp(values) => {
                for (slot, value) in s.csmp.iter_mut().zip(values) {
                    *slot = value.unwrap_or(*slot);
                }
            }
            C::Cnmi(values) => {
                let max = [3, 3, 3, 2, 1];
                if values
                    .iter()
                    .zip(max)
                    .any(|(v, m)| v.is_some_and(|v| v > m))
                {
                    return Outcome::Fail(Failure::Cms(cms::NOT_ALLOWED));
                }
                for (slot, value) in s.cnmi.iter_mut().zip(values) {
                    *slot = value.unwrap_or(*slot);
                }
            }
            C::Cpms(mems) => {
                // One storage, the SIM's: "SM", and the names that fall back to it.
                let known = |m: &str| {
                    ["SM", "SM_P", "MT"]
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(m))
                };
                if !mems.iter().flatten().all(|m| known(m)) {
                    return Outcome::Fail(Failure::Cms(cms::NOT_ALLOWED));
                }
                exec.line_bytes(&service_bytes(&self.cpms(false)));
            }
            C::Cmgs(target) => return self.cmgs(target),
            C::Cmgr { index, mode } => return self.cmgr(exec, index, mode != Some(1)),
            C::Cmgl { stat, mode } => return self.cmgl(exec, stat, mode != Some(1)),
            C::Cmgd { index, flag } => return self.cmgd(index, flag.unwrap_or(0)),
            C::Cmgda(kind) => return self.cmgda(kind),
            C::Exec(_) | C::Httppara { .. } | C::Httpdata { .. } | C::Httpaction(_) => {
                return Outcome::Fail(Failure::Error)
            }
            C::Httpread { .. } | C::Httpssl(_) => return Outcome::Fail(Failure::Error),
        }
        self.ok()
    }

    fn sms_sim_failure(&self) -> Option<Failure> {
        if !self.profile.sim_inserted {
            Some(Failure::Cms(cms::SIM_NOT_INSERTED))
        } else if !self.session.radio.sim_ready {
            Some(Failure::Cms(cms::SIM_BUSY))
        } else {
            None
        }
    }

    fn sms_test(&mut self, exec: &mut LineExec, name: ServiceName) -> Outcome {
        let mems = "(\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\")";
        let params = match name {
            ServiceName::Cmgf | ServiceName::Cmghex | ServiceName::Csdh => "(0,1)".to_string(),
            ServiceName::Cscs => {
                let names: Vec<String> = CHARSETS.iter().map(|(_, n)| format!("\"{n}\"")).collect();
                format!("({})", names.join(","))
            }
            ServiceName::Cnmi => "(0-3),(0-3),(0-3),(0-2),(0,1)".into(),
            ServiceName::Cpms => format!("{mems},{mems},{mems}"),
            ServiceName::Cmgl if self.session.sms.text_mode => {
                let names: Vec<String> = STATUSES.iter().map(|n| format!("\"{n}\"")).collect();
                format!("({})", names.join(","))
            }
            ServiceName::Cmgl => "(0-4)".into(),
            ServiceName::Cmgd => format!("(1-{SIM_SLOTS}),(0-4)"),
            _ => return self.ok(),
        };
        exec.line(&Response::Info {
            name: name.as_str(),
            params: &params,
        });
        self.ok()
    }

    pub(super) fn sms_read(&mut self, exec: &mut LineExec, name: ServiceName) -> Outcome {
        let s = &self.session.sms;
        let numbers = |v: &[u8]| v.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        let params = match name {
            ServiceName::Cmgf => u8::from(s.text_mode).to_string(),
            ServiceName::Cmghex => u8::from(s.cmghex).to_string(),
            ServiceName::Csdh => u8::from(s.csdh).to_string(),
            ServiceName::Cscs => {
                let name = CHARSETS
                    .iter()
                    .find(|(c, _)| *c == s.charset)
                    .map_or("IRA", |c| c.1);
                format!("\"{name}\"")
            }
            ServiceName::Csmp => numbers(&s.csmp),
            ServiceName::Cnmi => numbers(&s.cnmi),
            ServiceName::Cpms => {
                if let Some(failure) = self.sms_sim_failure() {
                    return Outcome::Fail(failure);
                }
                exec.line_bytes(&service_bytes(&self.cpms(true)));
                return self.ok();
            }
            _ => return Outcome::Fail(Failure::Error),
        };
        exec.line(&Response::Info {
            name: name.as_str(),
            params: &params,
        });
        self.ok()
    }

    /// `+CPMS: ...`: the SIM's use for all three memories.
    fn cpms(&self, named: bool) -> ServiceResponse<'static> {
        let used = self.sim_sms.iter().flatten().count() as u16;
        ServiceResponse::Cpms {
            storages: named.then_some([STORAGE; 3]),
            counts: [(used, SIM_SLOTS as u16); 3],
        }
    }

    // --- Sending. ---

    /// `AT+CMGS`: the form must be the mode's; then `> `.
    fn cmgs(&mut self, target: CmgsTarget<'_>) -> Outcome {
        let draft = match (target, self.session.sms.text_mode) {
            (CmgsTarget::Text { da, toda }, true) => {
                let destination = self.destination(da);
                let toda = toda.unwrap_or(if destination.starts_with('+') {
                    145
                } else {
                    129
                });
                SmsDraft::Text { destination, toda }
            }
            (CmgsTarget::Pdu { length }, false) => SmsDraft::Pdu { length },
            (_, true) => return Outcome::Fail(Failure::Cms(cms::INVALID_TEXT_PARAMETER)),
            (_, false) => return Outcome::Fail(Failure::Cms(cms::INVALID_PDU_PARAMETER)),
        };
        Outcome::Input(Input::Sms(draft))
    }

    /// `AT+CMGS`'s number as text: in the UCS2 character set hosts write it as UCS2 hex
    /// too (usim800 `send`), which is read back when it is (UNCONFIRMED: TinyGSM writes the
    /// number plain with the HEX set, so only UCS2 is decoded).
    fn destination(&self, da: &str) -> String {
        if self.session.sms.charset == Charset::Ucs2 && da.len() % 4 == 0 {
            let mut octets = vec![0; da.len() / 2];
            if decode_hex(da.as_bytes(), &mut octets).is_ok() {
                let units = octets
                    .chunks_exact(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]]));
                if let Ok(text) = char::decode_utf16(units).collect::<Result<String, _>>() {
                    return text;
                }
            }
        }
        da.to_string()
    }

    /// The text or PDU of an `AT+CMGS` came (without its Ctrl-Z): it goes to the service
    /// centre, and the command waits for its answer.
    pub(super) fn sms_input(&mut self, _now: Duration, draft: SmsDraft, data: &[u8]) -> Outcome {
        let mr = self.session.sms.next_mr;
        let tpdu = match draft {
            SmsDraft::Text { destination, .. } => self.text_submit(mr, &destination, data),
            SmsDraft::Pdu { length } => pdu_submit(mr, length, data),
        };
        let Ok(tpdu) = tpdu else {
            return Outcome::Fail(tpdu.err().unwrap_or(Failure::Error));
        };
        self.session.sms.next_mr = mr.wrapping_add(1);
        self.request(NetRequest::SendSms { tpdu });
        Outcome::Wait(Wait::Sms { mr })
    }

    /// An SMS-SUBMIT TPDU from text-mode input.
    fn text_submit(&self, mr: u8, destination: &str, data: &[u8]) -> Result<Vec<u8>, Failure> {
        let s = &self.session.sms;
        let bad = Failure::Cms(cms::INVALID_TEXT_PARAMETER);
        let [fo, vp, pid, dcs] = s.csmp;
        let alphabet = Alphabet::of_dcs(dcs).map_err(|_| bad)?;
        let hex_input = |data: &[u8]| {
            let mut octets = vec![0; data.len() / 2];
            decode_hex(data, &mut octets)
                .map(|_| octets)
                .map_err(|_| bad)
        };
        let text: String;
        let octets: Vec<u8>;
        let body = match s.charset {
            Charset::Hex => {
                octets = hex_input(data)?;
                match alphabet {
                    Alphabet::Gsm7 => Body::Septets(&octets),
                    _ => Body::Octets(&octets),
                }
            }
            charset => {
                let chars: Vec<char> = match charset {
                    Charset::Ucs2 => {
                        let units = hex_input(data)?;
                        let units = units
                            .chunks_exact(2)
                            .map(|p| u16::from_be_bytes([p[0], p[1]]));
                        char::decode_utf16(units)
                            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect()
                    }
                    Charset::Gsm => {
                        let (low, high): (Vec<u8>, Vec<u8>) = data.iter().partition(|&&b| b < 0x80);
                        let mut chars: Vec<char> = gsm7::chars(low.into_iter()).collect();
                        if s.cmghex {
                            chars.extend(high.into_iter().map(char::from));
                        }
                        chars
                    }
                    _ => data.iter().map(|&b| char::from(b)).collect(),
                };
                // What the alphabet cannot write becomes `?`.
                text = chars
                    .into_iter()
                    .map(|c| match alphabet {
                        Alphabet::Gsm7 if gsm7::from_char(c).is_none() => '?',
                        Alphabet::Data8 if u32::from(c) > 0xFF => '?',
                        _ => c,
                    })
                    .collect();
                Body::Text(&text)
            }
        };
        let fields = SubmitFields {
            service_centre: None,
            reference: mr,
            destination,
            pid,
            dcs,
            validity: (fo & 0x18 == 0x10).then_some(vp),
            status_report: fo & 0x20 != 0,
            header: None,
            body,
        };
        let mut out = [0u8; 200];
        let n = fields.encode(&mut out).map_err(|_| bad)?;
        // Without the service centre address (`00`).
        Ok(out.get(1..n).unwrap_or_default().to_vec())
    }

    /// The service centre answered an `AT+CMGS`.
    pub(super) fn on_sms_sent(&mut self, now: Duration, result: Result<(), SmsError>) {
        let Some(Wait::Sms { mr }) = self.waiting() else {
            return;
        };
        let outcome = match result {
            Ok(()) => {
                self.waiting_line(&service_bytes(&ServiceResponse::Cmgs(mr)));
                self.event(ModemEvent::SmsSent { mr });
                Outcome::Done {
                    result: Some(Response::Ok),
                    takes: Duration::ZERO,
                }
            }
            Err(SmsError::NoService) => Outcome::Fail(Failure::Cms(cms::NO_SERVICE)),
            Err(SmsError::Timeout) => Outcome::Fail(Failure::Cms(cms::NETWORK_TIMEOUT)),
        };
        self.resume(now, outcome);
    }

    // --- Receiving. ---

    /// A message for the device: shown (`+CMT`), or stored and announced (`+CMTI`).
    pub(super) fn on_sms_received(&mut self, pdu: Vec<u8>) {
        if Deliver::decode(&pdu).is_err() {
            self.event(ModemEvent::SmsReceived { index: None });
            return;
        }
        let [mode, mt, ..] = self.session.sms.cnmi;
        if mode != 0 && mt >= 2 {
            if let Some(bytes) = self.shown(&StoredSms { pdu, read: false }, Shown::Cmt) {
                self.urc_bytes(&bytes);
            }
            self.event(ModemEvent::SmsReceived { index: None });
            return;
        }
        let Some(slot) = self.sim_sms.iter().position(Option::is_none) else {
            self.event(ModemEvent::SmsReceived { index: None });
            return;
        };
        self.sim_sms[slot] = Some(StoredSms { pdu, read: false });
        let index = slot as u16 + 1;
        self.event(ModemEvent::SmsReceived { index: Some(index) });
        if mode != 0 && mt == 1 {
            let cmti = ServiceResponse::Cmti {
                storage: STORAGE,
                index,
            };
            self.urc_bytes(&service_bytes(&cmti));
        }
    }

    // --- The storage. ---

    fn slot(&self, index: u16) -> Result<usize, Failure> {
        match usize::from(index) {
            i @ 1..=SIM_SLOTS => Ok(i - 1),
            _ => Err(Failure::Cms(cms::INVALID_INDEX)),
        }
    }

    /// `AT+CMGR=<index>`: the message, marked read unless `mark` is off.
    fn cmgr(&mut self, exec: &mut LineExec, index: u16, mark: bool) -> Outcome {
        let slot = match self.slot(index) {
            Ok(slot) => slot,
            Err(failure) => return Outcome::Fail(failure),
        };
        let Some(stored) = self.sim_sms[slot].clone() else {
            return self.ok();
        };
        if let Some(bytes) = self.shown(&stored, Shown::Cmgr) {
            exec.line_bytes(&bytes);
        }
        if mark {
            if let Some(s) = self.sim_sms[slot].as_mut() {
                s.read = true;
            }
        }
        self.ok()
    }

    /// `AT+CMGL=<stat>`: the messages with that status (or all), in index order.
    fn cmgl(&mut self, exec: &mut LineExec, stat: Param<'_>, mark: bool) -> Outcome {
        let wanted = match (stat, self.session.sms.text_mode) {
            (Param::Text(name), true) => STATUSES.iter().position(|s| s.eq_ignore_ascii_case(name)),
            (Param::Number(n), false) => usize::try_from(n).ok().filter(|&n| n < STATUSES.len()),
            _ => None,
        };
        let Some(wanted) = wanted else {
            return Outcome::Fail(Failure::Error);
        };
        for slot in 0..SIM_SLOTS {
            let Some(stored) = self.sim_sms[slot].clone() else {
                continue;
            };
            // Only received messages are stored: unread (0) or read (1).
            let status = usize::from(stored.read);
            if wanted != 4 && wanted != status {
                continue;
            }
            if let Some(bytes) = self.shown(&stored, Shown::Cmgl(slot as u16 + 1)) {
                exec.line_bytes(&bytes);
            }
            if mark {
                if let Some(s) = self.sim_sms[slot].as_mut() {
                    s.read = true;
                }
            }
        }
        self.ok()
    }

    /// `AT+CMGD=<index>[,<delflag>]`: 0 that message; 1 every read one; 2, 3 also sent and
    /// unsent ones (none are stored); 4 all.
    fn cmgd(&mut self, index: u16, flag: u8) -> Outcome {
        let slot = match (flag, self.slot(index)) {
            (0, Err(failure)) => return Outcome::Fail(failure),
            (_, slot) => slot.ok(),
        };
        match flag {
            0 => {
                if let Some(slot) = slot {
                    self.sim_sms[slot] = None;
                }
            }
            1..=3 => self.delete_where(|s| s.read),
            4 => self.delete_where(|_| true),
            _ => return Outcome::Fail(Failure::Cms(cms::NOT_ALLOWED)),
        }
        self.ok()
    }

    /// `AT+CMGDA="DEL READ"|"DEL UNREAD"|"DEL SENT"|"DEL UNSENT"|"DEL INBOX"|"DEL ALL"` (text
    /// mode), 1–6 in that order (PDU mode).
    fn cmgda(&mut self, kind: Param<'_>) -> Outcome {
        const KINDS: [&str; 6] = [
            "DEL READ",
            "DEL UNREAD",
            "DEL SENT",
            "DEL UNSENT",
            "DEL INBOX",
            "DEL ALL",
        ];
        let kind = match (kind, self.session.sms.text_mode) {
            (Param::Text(name), true) => KINDS.iter().position(|k| k.eq_ignore_ascii_case(name)),
            (Param::Number(n @ 1..=6), false) => Some(n as usize - 1),
            _ => None,
        };
        match kind {
            Some(0) => self.delete_where(|s| s.read),
            Some(1) => self.delete_where(|s| !s.read),
            Some(2 | 3) => {}
            Some(_) => self.delete_where(|_| true),
            None => return Outcome::Fail(Failure::Error),
        }
        self.ok()
    }

    fn delete_where(&mut self, doomed: impl Fn(&StoredSms) -> bool) {
        for slot in &mut self.sim_sms {
            if slot.as_ref().is_some_and(&doomed) {
                *slot = None;
            }
        }
    }

    /// A message as `+CMGR`, `+CMGL` or `+CMT` shows it in the current mode.
    fn shown(&self, stored: &StoredSms, how: Shown) -> Option<Vec<u8>> {
        let s = &self.session.sms;
        let deliver = Deliver::decode(&stored.pdu).ok()?;
        let stat = how != Shown::Cmt;
        let mut body = Vec::new();
        let address: String = deliver.originator.chars().collect();
        let sca: String = deliver
            .service_centre
            .map(|a| a.chars().collect())
            .unwrap_or_default();
        let head = if s.text_mode {
            body = self.text_of(&deliver);
            let details = s.csdh.then(|| TextDetails {
                tooa: deliver.originator.type_of_address,
                length: deliver.user_data.chars().count() as u16,
                // `+CMGL` shows `<tooa>,<length>` alone.
                more: (!matches!(how, Shown::Cmgl(_))).then(|| MoreDetails {
                    fo: deliver.first_octet,
                    pid: deliver.pid,
                    dcs: deliver.dcs,
                    sca: &sca,
                    tosca: deliver.service_centre.map_or(129, |a| a.type_of_address),
                }),
            });
            SmsHead::Text {
                stat: stat.then_some(STATUSES[usize::from(stored.read)]),
                address: &address,
                alpha: "",
                timestamp: deliver.timestamp,
                details,
            }
        } else {
            body.resize(2 * stored.pdu.len(), 0);
            let n = encode_hex(&stored.pdu, &mut body).ok()?;
            body.truncate(n);
            SmsHead::Pdu {
                stat: stat.then_some(u8::from(stored.read)),
                alpha: "",
                length: (stored.pdu.len() - sca_len(&stored.pdu)?) as u16,
            }
        };
        let entry = SmsEntry { head, body: &body };
        Some(service_bytes(&match how {
            Shown::Cmgr => ServiceResponse::Cmgr(entry),
            Shown::Cmgl(index) => ServiceResponse::Cmgl { index, entry },
            Shown::Cmt => ServiceResponse::Cmt(entry),
        }))
    }

    /// A message's text in the character set of `AT+CSCS`; UCS2 and 8-bit messages as hex.
    fn text_of(&self, deliver: &Deliver<'_>) -> Vec<u8> {
        let ud = &deliver.user_data;
        let hex = |octets: &[u8]| {
            let mut out = vec![0; 2 * octets.len()];
            let n = encode_hex(octets, &mut out).unwrap_or(0);
            out.truncate(n);
            out
        };
        if ud.alphabet != Alphabet::Gsm7 {
            return hex(ud.octets());
        }
        match self.session.sms.charset {
            Charset::Gsm => ud.septets().collect(),
            Charset::Hex => hex(&ud.septets().collect::<Vec<_>>()),
            Charset::Ucs2 => {
                let units: Vec<u8> = ud
                    .chars()
                    .flat_map(|c| {
                        let mut buf = [0u16; 2];
                        c.encode_utf16(&mut buf).to_vec()
                    })
                    .flat_map(u16::to_be_bytes)
                    .collect();
                hex(&units)
            }
            Charset::Latin1 => ud
                .chars()
                .map(|c| u8::try_from(c).unwrap_or(b'?'))
                .collect(),
            Charset::Ira | Charset::Pccp | Charset::Pcdn => ud
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        }
    }
}

/// An SMS-SUBMIT TPDU from PDU-mode input: hex, service centre address first, `length`
/// octets after it; the modem's message reference replaces the host's.
fn pdu_submit(mr: u8, length: u8, data: &[u8]) -> Result<Vec<u8>, Failure> {
    let bad = Failure::Cms(cms::INVALID_PDU_PARAMETER);
    let mut pdu = vec![0; data.len() / 2];
    decode_hex(data, &mut pdu).map_err(|_| bad)?;
    let skip = sca_len(&pdu).ok_or(bad)?;
    let mut tpdu = pdu.get(skip..).ok_or(bad)?.to_vec();
    if tpdu.len() != usize::from(length) || Submit::decode_tpdu(&tpdu).is_err() {
        return Err(bad);
    }
    if let Some(reference) = tpdu.get_mut(1) {
        *reference = mr;
    }
    Ok(tpdu)
}

/// Which answer shows a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Cmgr,
    Cmgl(u16),
    Cmt,
}
