//! The lab's web page (`live::web`) over real HTTP on loopback, without a browser: what it
//! serves, how the page's requests become console lines for the loop and come back with its
//! answers, and what a page that opens late is sent. The browser test proper (Chromium
//! driving the page's JS) is `cargo xtask browser-test`. Every wait is bounded.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // this test talks HTTP over real sockets (clippy.toml)

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use sim_modem::live::{web::RECENT, Feed, Web};
use sim_modem::sim::{Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// More than any step takes, less than forever.
const BOUND: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn serve() -> Web {
    Web::serve("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// One HTTP/1.1 request with a JSON body; the status and the body.
async fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    request(address, method, path, "application/json", body).await
}

async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(BOUND, exchange)
        .await
        .expect("an answer");
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, body.to_string())
}

#[test]
fn the_page_and_the_fault_schema_are_served() {
    runtime().block_on(async {
        let web = serve().await;
        for (path, status, needle) in [
            ("/", 200, "<title>LongLink lab</title>"),
            ("/lab.js", 200, "new EventSource(\"/api/events\")"),
            ("/lab.css", 200, "tbody tr.selected"),
            ("/api/fault-schema", 200, "\"const\":\"peer_close\""),
            ("/nothing", 404, ""),
        ] {
            let (got, body) = http(web.address(), "GET", path, "").await;
            assert_eq!(got, status, "{path}");
            assert!(body.contains(needle), "{path}: {needle:?} not in {body:?}");
        }
        // The form is built from the schema of what the loop accepts.
        let (_, schema) = http(web.address(), "GET", "/api/fault-schema", "").await;
        let schema: Value = serde_json::from_str(&schema).unwrap();
        let expected =
            serde_json::to_value(schemars::schema_for!(sim_modem::fault::Fault)).unwrap();
        assert_eq!(schema, expected);
        // What changes something takes JSON only: a plain cross-site form cannot send it.
        for path in ["/api/send", "/api/close", "/api/reset", "/api/fault"] {
            let form = "kind=reboot&client=1";
            let (status, body) = request(
                web.address(),
                "POST",
                path,
                "application/x-www-form-urlencoded",
                form,
            )
            .await;
            assert_eq!(status, 400, "{path}: {body}");
            assert!(body.contains("Content-Type"), "{path}: {body}");
        }
    });
}

/// A request of the page: the console line the loop gets (none when the page's server
/// refuses it itself), what the loop answers, and the response.
struct Case {
    path: &'static str,
    body: &'static str,
    line: Option<&'static str>,
    answer: &'static str,
    status: u16,
    response: &'static str,
}

fn check(web: &mut Web, runtime: &tokio::runtime::Runtime, case: &Case) {
    let address = web.address();
    let (status, body) = runtime.block_on(async {
        let request = http(address, "POST", case.path, case.body);
        tokio::pin!(request);
        let command = tokio::select! {
            biased;
            response = &mut request => {
                assert_eq!(case.line, None, "{}: the loop was not asked", case.body);
                return response;
            }
            command = web.command() => command,
        };
        assert_eq!(Some(command.line.as_str()), case.line, "{}", case.body);
        command.answer(case.answer.to_string());
        request.await
    });
    assert_eq!(status, case.status, "{}: {body}", case.body);
    let body: Value = serde_json::from_str(&body).unwrap();
    let shown = body["answer"].as_str().or(body["error"].as_str()).unwrap();
    assert!(
        shown.contains(case.response),
        "{}: {:?} not in {body}",
        case.body,
        case.response
    );
}

#[test]
fn the_page_requests_are_console_lines_and_get_the_loops_answers() {
    let runtime = runtime();
    let mut web = runtime.block_on(serve());
    let cases = [
        Case {
            path: "/api/send",
            body: r#"{"client":1,"text":"back hi"}"#,
            line: Some("hex 1 6261636b206869"),
            answer: "sent 7 bytes to client 1",
            status: 200,
            response: "sent 7 bytes to client 1",
        },
        Case {
            path: "/api/send",
            body: r#"{"client":2,"hex":"11 22 33"}"#,
            line: Some("hex 2 11 22 33"),
            answer: "error: client 2 is closed",
            status: 400,
            response: "client 2 is closed",
        },
        Case {
            path: "/api/send",
            body: r#"{"client":1}"#,
            line: None,
            answer: "",
            status: 400,
            response: "either `text` or `hex`",
        },
        Case {
            path: "/api/send",
            body: r#"{"client":1,"text":"a","hex":"61"}"#,
            line: None,
            answer: "",
            status: 400,
            response: "either `text` or `hex`",
        },
        Case {
            path: "/api/close",
            body: r#"{"client":3}"#,
            line: Some("close 3"),
            answer: "closed client 3",
            status: 200,
            response: "closed client 3",
        },
        Case {
            path: "/api/reset",
            body: r#"{"client":3}"#,
            line: Some("reset 3"),
            answer: "",
            status: 200,
            response: "",
        },
        Case {
            path: "/api/reset",
            body: r#"{"client":"three"}"#,
            line: None,
            answer: "",
            status: 400,
            response: "client",
        },
        Case {
            path: "/api/fault",
            body: r#"{"kind":"blackhole","duration":"30s"}"#,
            line: Some(r#"fault {"kind":"blackhole","duration":"30s"}"#),
            answer: "",
            status: 200,
            response: "",
        },
        Case {
            path: "/api/fault",
            body: r#"{"kind":"meteor"}"#,
            line: None,
            answer: "",
            status: 400,
            response: "unknown variant `meteor`",
        },
        Case {
            path: "/api/fault",
            body: r#"{"kind":"blackhole","duration":"30"}"#,
            line: None,
            answer: "",
            status: 400,
            response: "missing unit",
        },
    ];
    for case in &cases {
        check(&mut web, &runtime, case);
    }
}

/// Reads server-sent events until `count` more messages came; their JSON.
async fn events(stream: &mut TcpStream, count: usize) -> Vec<Value> {
    let mut text = String::new();
    let mut buf = vec![0u8; 65_536];
    let read = async {
        loop {
            // Whole events only: each ends with a blank line. (Each is one HTTP chunk; the
            // chunks' size lines are not `data:` lines.)
            let whole = text.rfind("\n\n").map_or("", |end| &text[..end]);
            let messages: Vec<Value> = whole
                .lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .map(|data| serde_json::from_str(data).unwrap())
                .collect();
            if messages.len() >= count {
                return messages;
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream ended after {text:?}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    tokio::time::timeout(BOUND, read)
        .await
        .unwrap_or_else(|_| panic!("not {count} messages within {BOUND:?}"))
}

/// The kind of a message, and its client or its bytes.
fn summary(message: &Value) -> String {
    let kind = message["kind"].as_str().unwrap();
    match kind {
        "status" => format!("status {}", message["power"]),
        "at" => format!("at {} {}", message["dir"], message["hex"]),
        _ => format!("{kind} {} {}", message["client"], message["hex"]),
    }
}

#[test]
fn a_late_page_gets_every_connection_the_recent_lines_and_the_status_then_what_follows() {
    runtime().block_on(async {
        let web = serve().await;
        let mut sim = Sim::new(SimConfig::default()).unwrap();
        let at = Duration::from_millis(1500);
        web.publish(
            at,
            Feed::Accepted {
                client: 1,
                transport: "TCP",
                peer: "127.0.0.1:5000",
            },
        );
        // More lines than a late page gets: the oldest are left out, the connection is not.
        for n in 0..RECENT + 2 {
            let line = format!("AT+{n}");
            web.publish(
                at,
                Feed::At {
                    to_modem: true,
                    line: line.as_bytes(),
                },
            );
        }
        web.status(&sim, None);
        // The same status again is not news.
        web.status(&sim, None);

        let mut stream = TcpStream::connect(web.address()).await.unwrap();
        let request = format!(
            "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n",
            web.address()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let backlog = events(&mut stream, RECENT + 2).await;
        let hex = |text: &str| text.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(summary(&backlog[0]), "accepted 1 null");
        assert_eq!(backlog[0]["peer"], "127.0.0.1:5000");
        assert_eq!(backlog[0]["t"], 1.5);
        assert_eq!(
            summary(&backlog[1]),
            format!("at \"to_modem\" \"{}\"", hex("AT+2"))
        );
        assert_eq!(
            summary(&backlog[RECENT]),
            format!("at \"to_modem\" \"{}\"", hex(&format!("AT+{}", RECENT + 1)))
        );
        assert_eq!(summary(&backlog[RECENT + 1]), "status \"Booting\"");

        // What follows comes live, once.
        web.publish(
            Duration::from_secs(2),
            Feed::Received {
                client: 1,
                data: b"heart beat",
            },
        );
        web.publish(
            Duration::from_secs(3),
            Feed::Closed {
                client: 1,
                reason: "ByClient",
            },
        );
        // A status that changed is news: the modem booted.
        while let Some(next) = sim.poll_timeout().filter(|t| *t < Duration::from_secs(10)) {
            sim.handle_timeout(next);
        }
        web.status(&sim, Some("Phase(Starting)"));
        let follow = events(&mut stream, 3).await;
        let live: Vec<String> = follow.iter().map(summary).collect();
        assert_eq!(
            live,
            [
                format!("received 1 \"{}\"", hex("heart beat")),
                "closed 1 null".to_string(),
                "status \"On\"".to_string(),
            ]
        );
        assert_eq!(follow[1]["reason"], "ByClient");
        assert_eq!(follow[2]["device"], "Phase(Starting)");
    });
}
