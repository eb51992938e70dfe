//! The lab server core alone: recording, sending, the console.

use std::time::Duration;

use pretty_assertions::assert_eq;
use protocol::types::Transport;
use sim_modem::lab::{Chunk, CloseReason, LabAction, LabConfig, LabError, LabEventKind, LabServer};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn records_each_client() {
    let mut lab = LabServer::new(LabConfig::default());
    let a = lab.accept(
        secs(1),
        Transport::Tcp,
        "10.68.27.49:40000".parse().unwrap(),
    );
    let b = lab.handle_datagram(secs(2), "10.68.27.49:40001".parse().unwrap(), b"udp 1");
    assert_eq!(
        lab.handle_datagram(secs(3), "10.68.27.49:40001".parse().unwrap(), b"udp 2"),
        b
    );
    lab.handle_receive(secs(4), a, b"heart beat");
    lab.send(secs(5), a, b"back 1").unwrap();
    lab.handle_closed(secs(6), a, CloseReason::ByClient);
    lab.handle_receive(secs(7), a, b"after close");

    assert_eq!((a, b), (1, 2));
    let client = lab.client(a).unwrap();
    assert_eq!(
        client.received,
        vec![Chunk {
            at: secs(4),
            data: b"heart beat".to_vec()
        }]
    );
    assert_eq!(
        client.sent,
        vec![Chunk {
            at: secs(5),
            data: b"back 1".to_vec()
        }]
    );
    assert_eq!(client.closed, Some((secs(6), CloseReason::ByClient)));
    assert_eq!(lab.client(b).unwrap().received_bytes(), b"udp 1udp 2");
    assert_eq!(
        lab.poll_action(),
        Some(LabAction::Send {
            client: a,
            data: b"back 1".to_vec()
        })
    );
    let kinds: Vec<_> = std::iter::from_fn(|| lab.poll_event())
        .map(|e| (e.at, e.client, e.kind))
        .collect();
    assert_eq!(kinds.len(), 7);
    assert_eq!(
        kinds[6],
        (secs(6), a, LabEventKind::Closed(CloseReason::ByClient))
    );
    assert_eq!(lab.send(secs(8), a, b"x"), Err(LabError::Closed(a)));
    assert_eq!(lab.send(secs(8), 9, b"x"), Err(LabError::NoSuchClient(9)));
}

#[test]
fn console_commands() {
    let mut lab = LabServer::new(LabConfig::default());
    assert_eq!(lab.console(secs(0), "list"), "no clients yet");
    let id = lab.accept(
        secs(1),
        Transport::Tcp,
        "10.68.27.49:40000".parse().unwrap(),
    );
    lab.handle_receive(secs(2), id, b"heart beat");
    // (command, answer, action)
    let cases = [
        (
            "send 1 back 1\\r\\n",
            "sent 8 bytes to client 1",
            Some(LabAction::Send {
                client: 1,
                data: b"back 1\r\n".to_vec(),
            }),
        ),
        (
            "hex 1 112233",
            "sent 3 bytes to client 1",
            Some(LabAction::Send {
                client: 1,
                data: vec![0x11, 0x22, 0x33],
            }),
        ),
        ("send 7 x", "error: no client 7", None),
        (
            "send x",
            "error: `send` needs a client id; try `list`",
            None,
        ),
        (
            "hex 1 123",
            "error: hex needs an even number of digits, e.g. 112233",
            None,
        ),
        (
            "frobnicate",
            "error: unknown command `frobnicate`; try `help`",
            None,
        ),
        (
            "close 1",
            "closed client 1",
            Some(LabAction::Close { client: 1 }),
        ),
        ("reset 1", "error: client 1 is closed", None),
    ];
    for (command, answer, action) in cases {
        assert_eq!(lab.console(secs(3), command), answer, "{command}");
        assert_eq!(lab.poll_action(), action, "{command}");
    }
    let list = lab.console(secs(4), "list");
    assert!(list.starts_with("  1  TCP 10.68.27.49:40000"), "{list}");
    assert!(list.contains("rx 10 B in 1  tx 11 B"), "{list}");
    let show = lab.console(secs(4), "show 1");
    assert!(show.contains("2.000s <- \"heart beat\""), "{show}");
    assert!(show.contains("3.000s -> \"\\x11\\\"3\""), "{show}");
    assert!(lab.console(secs(4), "help").contains("hex <client> <hex>"));
}

#[test]
fn listens_only_where_configured() {
    let lab = LabServer::new(LabConfig {
        udp: false,
        ..LabConfig::default()
    });
    let ip = LabConfig::default().ip;
    assert!(lab.listens_at(Transport::Tcp, ip, 6500));
    assert!(!lab.listens_at(Transport::Udp, ip, 6500));
    assert!(!lab.listens_at(Transport::Tcp, ip, 6501));
}
