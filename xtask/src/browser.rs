//! `cargo xtask browser-test`: the lab's web page (sim-modem's `live::web`) in a real
//! browser. Debian's headless Chromium, driven through chromedriver over WebDriver
//! (`fantoccini`), against a real-time run with the firmware in this process and the lab
//! server on real loopback sockets (as `cargo xtask sim --realtime --web`):
//!
//! 1. the device connects and its heartbeat appears in the page;
//! 2. text typed in the page and sent reaches the device (its `Received` report) and its
//!    echo (the firmware answers data that starts with `back`) comes back into the page;
//! 3. a fault chosen in the page's form (built from the fault schema) changes the device's
//!    state: `peer_close` closes its connection, and it connects again as a new client.
//!
//! Every wait is for a condition, bounded by [`WAIT`]: a timeout is a failure to observe,
//! not a speed assertion. Chromium and chromedriver are installed when missing (as root,
//! with apt-get); the browser gets a fresh profile and needs no network beyond loopback.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use scenarios::realtime::{self, Options};
use scenarios::trace::Event;
use sim_modem::live::Web;
use tokio::sync::mpsc;

use crate::process::Result;
use crate::toolchain;

/// How long any one condition may take to show in the page. The device needs about 12 s to
/// connect; a loaded machine may take much longer.
const WAIT: Duration = Duration::from_secs(120);

/// How often a condition is looked at again.
const POLL: Duration = Duration::from_millis(250);

/// Long enough never to end on its own: the test stops it from the console.
const SCENARIO: &str = r#"{
  "name": "browser_test",
  "description": "The lab page's browser test (cargo xtask browser-test): the device connects, heartbeats, echoes what the page sends; the page injects a fault.",
  "duration": "30m",
  "network": { "pdp_activation": "500ms" }
}"#;

/// What the page sends, and the device echoes.
const ECHO: &str = "back from the browser";

/// The Chromium flags for a headless run on a machine without internet (the user data
/// directory is added per run).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

/// Runs the browser test; with `screenshot`, saves the page as a PNG there at the end.
pub fn browser_test(screenshot: Option<&Path>) -> Result {
    let tools = toolchain::ensure_chromium()?;
    let profile = std::env::temp_dir().join(format!("longlink-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).map_err(|e| format!("{}: {e}", profile.display()))?;
    let driver = Driver::start(&tools.chromedriver)?;
    let result =
        crate::sim::runtime()?.block_on(run(&tools.chromium, &profile, &driver, screenshot));
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
    result?;
    eprintln!(
        "xtask browser-test: the page showed the device, its heartbeat, the echo and the fault"
    );
    Ok(())
}

/// chromedriver, on a free loopback port, for as long as the test runs.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(chromedriver: &Path) -> Result<Driver> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for chromedriver: {e}"))?
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", chromedriver.display()))?;
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = std::time::Instant::now() + WAIT;
        while TcpStream::connect(address).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!("chromedriver exited ({status})"));
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "chromedriver did not listen on {address} within {WAIT:?}"
                ));
            }
            std::thread::sleep(POLL);
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    /// However the test ends, chromedriver goes (the session's end has closed Chromium).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn run(
    chromium: &Path,
    profile: &Path,
    driver: &Driver,
    screenshot: Option<&Path>,
) -> Result {
    let scenario = scenarios::parse("browser_test.json", SCENARIO).map_err(|e| e.to_string())?;
    let web = Web::serve((Ipv4Addr::LOCALHOST, 0).into())
        .await
        .map_err(|e| format!("the lab page cannot listen: {e}"))?;
    let page = format!("http://{}/", web.address());
    let (console, console_rx) = mpsc::unbounded_channel();
    let options = Options {
        device: None,
        console: Some(console_rx),
        slack: Duration::ZERO,
        lab: Some((Ipv4Addr::LOCALHOST, 0).into()),
        web: Some(web),
    };
    let world = realtime::run(&scenario, "browser_test.json", 1, options, |_| {});
    let browser = async {
        let result = drive(chromium, profile, &driver.url, &page, screenshot).await;
        let _ = console.send("quit".to_string());
        result
    };
    let (replay, driven) = tokio::join!(world, browser);
    driven?;
    // What the page showed, the run's own records confirm.
    let has = |f: &dyn Fn(&Event) -> bool| replay.records.iter().any(|r| f(&r.event));
    let checks: [(&str, bool); 3] = [
        (
            "the device received the page's text",
            has(
                &|e| matches!(e, Event::Fw { report } if report.text == format!("Received({ECHO:?})")),
            ),
        ),
        (
            "the fault was applied",
            has(&|e| matches!(e, Event::Fault { fault } if fault.to_json().contains("peer_close"))),
        ),
        (
            "the device connected again",
            has(&|e| matches!(e, Event::LabAccepted { client: 2, .. })),
        ),
    ];
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(what, _)| *what)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the page showed it, the run's records do not: {}",
            failed.join("; ")
        ))
    }
}

/// The browser's part: opens the page and checks what it shows and does.
async fn drive(
    chromium: &Path,
    profile: &Path,
    driver: &str,
    page: &str,
    screenshot: Option<&Path>,
) -> Result {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let capabilities = serde_json::json!({
        "goog:chromeOptions": { "binary": chromium, "args": args }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal");
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(driver)
        .await
        .map_err(|e| format!("WebDriver session with chromedriver at {driver}: {e}"))?;
    let result = steps(&client, page, screenshot).await;
    let _ = client.close().await;
    result
}

/// One thing the test does in the page, or waits to see there.
enum Step {
    /// Wait until an element matching the CSS selector has this text (`what` says it).
    See {
        what: &'static str,
        css: &'static str,
        text: &'static str,
    },
    /// Type into the element with this id.
    Type {
        id: &'static str,
        text: &'static str,
    },
    /// Choose a value of the `<select>` with this id.
    Choose {
        id: &'static str,
        value: &'static str,
    },
    Click {
        id: &'static str,
    },
}

use Step::{Choose, Click, See, Type};

/// The test, in the page's terms.
const STEPS: &[Step] = &[
    // 1. The device connects; its heartbeat appears in its data.
    See {
        what: "device 1 in the list",
        css: "#devices tr[data-client='1'] .state",
        text: "open",
    },
    See {
        what: "the heartbeat in device 1's data",
        css: "#data li.rx",
        text: "heart beat",
    },
    // 2. Text typed and sent reaches the device, and its echo comes back.
    Type {
        id: "send-text",
        text: ECHO,
    },
    Click { id: "send-button" },
    See {
        what: "the text sent, in device 1's data",
        css: "#data li.tx",
        text: ECHO,
    },
    See {
        what: "the device's echo, in device 1's data",
        css: "#data li.rx",
        text: ECHO,
    },
    // 3. A fault chosen in the form (built from the schema): the server closes the
    //    connection; the device sees it and connects again.
    See {
        what: "peer_close in the fault form",
        css: "#fault-kind option",
        text: "peer_close",
    },
    Choose {
        id: "fault-kind",
        value: "peer_close",
    },
    Click { id: "fault-button" },
    See {
        what: "device 1 closed",
        css: "#devices tr[data-client='1'] .state",
        text: "closed",
    },
    See {
        what: "the device connected again (device 2)",
        css: "#devices tr[data-client='2'] .state",
        text: "open",
    },
    See {
        what: "device 2's heartbeat",
        css: "#data li.rx",
        text: "heart beat",
    },
];

async fn steps(client: &Client, page: &str, screenshot: Option<&Path>) -> Result {
    client
        .goto(page)
        .await
        .map_err(|e| format!("open {page}: {e}"))?;
    for step in STEPS {
        match *step {
            See { what, css, text } => until(client, what, || has_text(client, css, text)).await?,
            Type { id, text } => find(client, id)
                .await?
                .send_keys(text)
                .await
                .map_err(cmd(id))?,
            Choose { id, value } => find(client, id)
                .await?
                .select_by_value(value)
                .await
                .map_err(cmd(id))?,
            Click { id } => find(client, id).await?.click().await.map_err(cmd(id))?,
        }
    }
    if let Some(path) = screenshot {
        let png = client.screenshot().await.map_err(cmd("screenshot"))?;
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("xtask browser-test: the page is in {}", path.display());
    }
    Ok(())
}

async fn find(client: &Client, id: &'static str) -> Result<fantoccini::elements::Element> {
    client.find(Locator::Id(id)).await.map_err(cmd(id))
}

fn cmd(what: &'static str) -> impl Fn(fantoccini::error::CmdError) -> String {
    move |e| format!("{what}: {e}")
}

/// Whether an element matching `css` has `needle` in its text. Looked at in the page in one
/// go: the page redraws its lists as messages come, so elements found in one WebDriver call
/// may be gone by the next.
async fn has_text(client: &Client, css: &str, needle: &str) -> Result<bool> {
    let script = "return Array.from(document.querySelectorAll(arguments[0]))\
                  .some((e) => e.textContent.includes(arguments[1]));";
    let found = client
        .execute(script, vec![css.into(), needle.into()])
        .await
        .map_err(cmd("looking"))?;
    Ok(found.as_bool() == Some(true))
}

/// What the page shows, for a failure: the status, the devices, the selected device's data
/// and the end of the log.
async fn shown(client: &Client) -> String {
    let script = "const text = (css) => Array.from(document.querySelectorAll(css), \
                  (e) => e.innerText).join('\\n'); \
                  const log = text('#log li').split('\\n').slice(-40).join('\\n'); \
                  return [text('#status'), text('.devices'), text('.device'), log].join('\\n\\n');";
    match client.execute(script, Vec::new()).await {
        Ok(text) => text.as_str().unwrap_or_default().to_string(),
        Err(e) => format!("(cannot read the page: {e})"),
    }
}

/// Waits until `condition` holds, at most [`WAIT`]; says what was not seen, with the page's
/// log, if it does not.
async fn until<F, Fut>(client: &Client, what: &str, mut condition: F) -> Result
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let wait = async {
        loop {
            if condition().await? {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    };
    match tokio::time::timeout(WAIT, wait).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "not seen in the page within {WAIT:?}: {what}\nthe page showed:\n{}",
            shown(client).await
        )),
    }
}
