//! `longlink-host`: the LongLink firmware core under tokio, against a modem on a serial device
//! (a real modem on `/dev/ttyUSB0`, the sim-modem's pty) or the sim-modem's serial-over-TCP
//! endpoint (`--tcp 127.0.0.1:5555`). Everything the firmware does is logged with tracing
//! (`RUST_LOG=debug` shows more, `trace` the watchdog).
//!
//! The firmware's knobs (`firmware::Config`) come from `--config FILE` (JSON, any subset of
//! them) and `--set knob=value`, read by `Config`'s own deserializer: the same names,
//! units and ranges as a scenario file's.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the host runner is an edge: a real clock, a real serial port (clippy.toml)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use firmware::Config;
use firmware_host::{TokioClock, TokioUart, TracingBoard};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{error, info};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Runs the LongLink firmware core against a modem on a serial line"
)]
struct Args {
    /// The modem's serial device (a real port or the sim-modem's pty).
    #[arg(required_unless_present = "tcp", conflicts_with = "tcp")]
    device: Option<PathBuf>,
    /// Connect to the sim-modem's serial-over-TCP endpoint instead of a device.
    #[arg(long, value_name = "HOST:PORT")]
    tcp: Option<String>,
    /// Baud rate of the serial device.
    #[arg(long, default_value_t = 115_200, value_parser = clap::value_parser!(u32).range(1..))]
    baud: u32,
    /// The server the firmware keeps its connection to (default: the seed's); the knobs
    /// `server_host` and `server_port` at once.
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// Firmware knobs from a JSON file: an object with any of `firmware::Config`'s fields,
    /// e.g. `{"heartbeat_interval": "30s", "transport": "udp"}`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Sets one firmware knob (after `--config` and `--server`; repeatable), e.g.
    /// `--set heartbeat_interval=10s`, `--set transport=udp`, `--set framing=newline`,
    /// `--set apn=internet`.
    #[arg(long = "set", value_name = "KNOB=VALUE")]
    sets: Vec<String>,
}

/// The firmware configuration the flags ask for: the defaults, then the `--config` file,
/// then `--server`, then each `--set` in order, read by `Config`'s deserializer and checked
/// by `Config::validate`.
fn config(args: &Args) -> Result<Config, String> {
    let file = match &args.config {
        Some(path) => Some((path.as_path(), read_file(path)?)),
        None => None,
    };
    let server = args.server.as_deref();
    build_config(
        file.as_ref().map(|(p, t)| (*p, t.as_str())),
        server,
        &args.sets,
    )
}

fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn build_config(
    file: Option<(&Path, &str)>,
    server: Option<&str>,
    sets: &[String],
) -> Result<Config, String> {
    let mut knobs = Map::new();
    if let Some((path, text)) = file {
        let at = |e: serde_json::Error| format!("{}: {e}", path.display());
        // Read as a `Config` first: its errors name the line and column.
        serde_json::from_str::<Config>(text).map_err(at)?;
        knobs = serde_json::from_str(text).map_err(at)?;
    }
    if let Some(server) = server {
        let (host, port) = server
            .rsplit_once(':')
            .ok_or_else(|| format!("--server {server}: write HOST:PORT"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("--server {server}: {port:?} is not a port"))?;
        set(
            &mut knobs,
            "server_host",
            Value::from(host),
            &format!("--server {server}"),
        )?;
        set(
            &mut knobs,
            "server_port",
            Value::from(port),
            &format!("--server {server}"),
        )?;
    }
    let defaults = serde_json::to_value(Config::default()).map_err(|e| e.to_string())?;
    for arg in sets {
        let flag = format!("--set {arg}");
        let (knob, text) = arg
            .split_once('=')
            .ok_or_else(|| format!("{flag}: write KNOB=VALUE"))?;
        let value = match defaults.get(knob) {
            // A number or a flag is read as JSON; text (names, durations) as it is.
            Some(Value::Number(_) | Value::Bool(_)) => serde_json::from_str(text)
                .map_err(|_| format!("{flag}: {text:?} is not a number"))?,
            _ => Value::from(text),
        };
        set(&mut knobs, knob, value, &flag)?;
    }
    let config: Config = serde_json::from_value(Value::Object(knobs)).map_err(|e| e.to_string())?;
    config
        .validate()
        .map_err(|e| format!("the firmware configuration: {e}"))?;
    Ok(config)
}

/// Sets `knob`, once `Config` reads it alone: an error names the flag.
fn set(knobs: &mut Map<String, Value>, knob: &str, value: Value, flag: &str) -> Result<(), String> {
    let alone = Value::Object(Map::from_iter([(knob.to_string(), value.clone())]));
    serde_json::from_value::<Config>(alone).map_err(|e| format!("{flag}: {e}"))?;
    knobs.insert(knob.to_string(), value);
    Ok(())
}

trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

async fn open(args: &Args) -> std::io::Result<Box<dyn Io>> {
    if let Some(addr) = &args.tcp {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        info!(%addr, "connected to the modem over TCP");
        return Ok(Box::new(stream));
    }
    let path = args
        .device
        .as_ref()
        .expect("clap requires a device without --tcp");
    let path = path.to_string_lossy();
    let port = tokio_serial::SerialPortBuilderExt::open_native_async(tokio_serial::new(
        path.as_ref(),
        args.baud,
    ))?;
    info!(%path, baud = args.baud, "opened the modem's serial port");
    Ok(Box::new(port))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = match config(&args) {
        Ok(config) => config,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let io = match open(&args).await {
            Ok(io) => io,
            Err(e) => {
                error!("cannot open the modem: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (uart, line_closed) = TokioUart::new(io);
        let clock = TokioClock::starting_now();
        let mut board = TracingBoard;
        info!(
            server = %format_args!("{}:{}", config.server_host, config.server_port),
            transport = ?config.transport,
            framing = ?config.framing,
            "starting the firmware"
        );
        tokio::select! {
            _ = firmware::run(&config, uart, &clock, &mut board) => unreachable!(),
            _ = line_closed => {
                error!("the modem closed the line");
                ExitCode::FAILURE
            }
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use protocol::app::Framing;
    use protocol::types::Transport;

    fn parse(flags: &[&str]) -> Result<Args, String> {
        let argv = ["longlink-host", "--tcp", "127.0.0.1:5555"];
        Args::try_parse_from(argv.iter().chain(flags)).map_err(|e| e.to_string())
    }

    /// Builds the configuration from `flags` (and `file`, as the `--config` file's text)
    /// and checks what `expected` says: the changed knobs, or a piece of the error.
    fn check(file: Option<&str>, flags: &[&str], expected: Result<fn(&mut Config), &str>) {
        let args = parse(flags).unwrap();
        let file = file.map(|text| (Path::new("knobs.json"), text));
        let got = build_config(file, args.server.as_deref(), &args.sets);
        match expected {
            Ok(change) => {
                let mut want = Config::default();
                change(&mut want);
                assert_eq!(got, Ok(want), "{flags:?}");
            }
            Err(piece) => {
                let error = got.expect_err(piece);
                assert!(error.contains(piece), "{flags:?}: {error}");
            }
        }
    }

    #[test]
    fn flags_and_files_set_the_knobs() {
        type Case = (
            Option<&'static str>,
            &'static [&'static str],
            Result<fn(&mut Config), &'static str>,
        );
        let cases: &[Case] = &[
            (None, &[], Ok(|_| {})),
            (
                None,
                &["--server", "lab.example:7000", "--set", "transport=udp"],
                Ok(|c| {
                    c.server_host = firmware::config::text("lab.example").unwrap();
                    c.server_port = 7000;
                    c.transport = Transport::Udp;
                }),
            ),
            (
                None,
                &[
                    "--set",
                    "heartbeat_interval=30s",
                    "--set",
                    "framing=newline",
                ],
                Ok(|c| {
                    c.heartbeat_interval = Duration::from_secs(30);
                    c.framing = Framing::Newline;
                }),
            ),
            (
                None,
                &[
                    "--set",
                    "server_port=7001",
                    "--set",
                    "connect_failures_before_shut=3",
                ],
                Ok(|c| {
                    c.server_port = 7001;
                    c.connect_failures_before_shut = 3;
                }),
            ),
            // The file, then `--server`, then `--set`, the last one winning.
            (
                Some(r#"{"heartbeat_interval": "1m", "apn": "internet", "server_port": 1}"#),
                &["--server", "a.example:2", "--set", "heartbeat_interval=2m"],
                Ok(|c| {
                    c.heartbeat_interval = Duration::from_secs(120);
                    c.apn = firmware::config::text("internet").unwrap();
                    c.server_host = firmware::config::text("a.example").unwrap();
                    c.server_port = 2;
                }),
            ),
            // Refused, with the reason.
            (
                None,
                &["--set", "heartbeat=10s"],
                Err("--set heartbeat=10s: unknown field `heartbeat`"),
            ),
            (
                None,
                &["--set", "heartbeat_interval"],
                Err("write KNOB=VALUE"),
            ),
            (
                None,
                &["--set", "heartbeat_interval=10"],
                Err("missing unit"),
            ),
            (
                None,
                &["--set", "heartbeat_interval=0s"],
                Err("heartbeat_interval is 0s: it must be from 1ms to 86400s"),
            ),
            (
                None,
                &["--set", "transport=sctp"],
                Err("unknown variant `sctp`"),
            ),
            (
                None,
                &["--set", "server_port=http"],
                Err("\"http\" is not a number"),
            ),
            (None, &["--set", "server_port=0"], Err("server_port is 0")),
            (None, &["--server", "lab.example"], Err("write HOST:PORT")),
            (
                None,
                &["--server", "lab.example:99999"],
                Err("is not a port"),
            ),
            (
                Some(r#"{"heartbeat_interval": "0s"}"#),
                &[],
                Err("heartbeat_interval is 0s"),
            ),
            (
                Some("{\n  \"heartbeat\": \"10s\"\n}"),
                &[],
                Err("knobs.json: unknown field `heartbeat`"),
            ),
            (Some("{\n  \"apn\": 7\n}"), &[], Err("at line 2 column")),
        ];
        for (file, flags, expected) in cases {
            check(*file, flags, *expected);
        }
    }

    #[test]
    fn a_baud_rate_of_zero_is_refused() {
        let error = parse(&["--baud", "0"]).unwrap_err();
        assert!(error.contains("--baud"), "{error}");
        assert_eq!(parse(&["--baud", "9600"]).map(|a| a.baud), Ok(9600));
    }
}
