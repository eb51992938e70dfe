//! `sim-modem`: the simulated modem on a pty, a TCP port or a real serial port, with real
//! sockets behind it and a built-in lab server. See `sim-modem --help`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the CLI runs the live endpoints (clippy.toml)

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sim_modem::fault::{Fault, ScheduledFault};
use sim_modem::live::{self, Endpoint, LiveConfig};
use sim_modem::network::NetworkConfig;
use sim_modem::profile::{Profile, BAUD_RATES};
use sim_modem::sim::SimConfig;
use tracing_subscriber::EnvFilter;

/// A simulated SIM800 / Air202 modem with a simulated cellular network, fault injection and
/// a lab server. Every AT line and lab event is logged on stderr (filter with RUST_LOG, e.g.
/// RUST_LOG=debug); the lab console reads commands on stdin (type `help`).
#[derive(Debug, Parser)]
#[command(name = "sim-modem", version)]
struct Cli {
    /// Serve the modem on a new pty and print its device path (e.g. /dev/pts/5).
    #[arg(long, help_heading = "Where the modem's UART is")]
    pty: bool,
    /// Serve the modem's serial bytes over TCP on this address, one host at a time.
    #[arg(long, value_name = "ADDR", help_heading = "Where the modem's UART is")]
    tcp: Option<SocketAddr>,
    /// Serve the modem on a real serial port, e.g. /dev/ttyUSB0.
    #[arg(
        long,
        value_name = "DEVICE",
        help_heading = "Where the modem's UART is"
    )]
    serial: Option<String>,
    /// The UART's baud rate: the simulated modem's (bytes take 10 bit times each, both ways)
    /// and the serial port's. One of the rates AT+IPR takes.
    #[arg(
        long,
        default_value_t = 115_200,
        value_parser = parse_baud,
        help_heading = "Where the modem's UART is"
    )]
    baud: u32,

    /// The modem personality.
    #[arg(long, default_value = "sim800", value_parser = clap::builder::PossibleValuesParser::new(Profile::NAMES))]
    profile: String,
    /// Seeds every random choice (loss, line noise).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A fault as JSON, applied at start or after a time: `{"kind":"reboot"}`,
    /// `30s={"kind":"blackhole","duration":"1m"}`. Repeatable.
    #[arg(long = "fault", value_name = "[AT=]JSON", value_parser = parse_fault)]
    faults: Vec<ScheduledFault>,

    /// The simulated network, as a JSON file of NetworkConfig fields (see --print-schema).
    #[arg(long, value_name = "FILE", help_heading = "Network")]
    network: Option<PathBuf>,
    /// One-way latency the simulated network adds, e.g. 0ms or 300ms; at most 10m.
    #[arg(long, value_name = "DURATION", value_parser = parse_latency, help_heading = "Network")]
    latency: Option<Duration>,
    /// Answer SNTP (UDP port 123, any name or address) from the simulated network's time
    /// server, with the network's time, instead of sending it to the real internet's.
    #[arg(long, help_heading = "Network")]
    sim_ntp: bool,

    /// The built-in lab server's port (TCP and UDP), 1..=65535.
    #[arg(long, default_value_t = 6500, value_parser = clap::value_parser!(u16).range(1..), help_heading = "Lab server")]
    lab_port: u16,
    /// Do not start the built-in lab server.
    #[arg(long, help_heading = "Lab server")]
    no_lab: bool,
    /// Send connections for lab.longlink.test to this server (HOST:PORT) instead of the
    /// built-in lab. Other names resolve through the OS.
    #[arg(long, value_name = "HOST:PORT", help_heading = "Lab server")]
    server: Option<String>,
    /// Serve the lab as a web page on this address, e.g. 127.0.0.1:8080: the devices and
    /// their data, sending, closing, resetting, fault injection, the AT log.
    #[arg(long, value_name = "ADDR", help_heading = "Lab server")]
    web: Option<SocketAddr>,
    /// Listen on all interfaces (lab server, --tcp) instead of loopback only; lets --tcp and
    /// --web take an address beyond loopback.
    #[arg(long)]
    bind_any: bool,
    /// Do not read console commands from stdin.
    #[arg(long)]
    no_console: bool,
    /// Print the JSON schema of the simulation configuration (faults included) and exit.
    #[arg(long)]
    print_schema: bool,
}

/// A baud rate the modem takes (`AT+IPR`), not 0: auto-bauding needs a host that picks a rate.
fn parse_baud(text: &str) -> Result<u32, String> {
    let rates: Vec<String> = BAUD_RATES
        .iter()
        .filter(|&&rate| rate != 0)
        .map(u32::to_string)
        .collect();
    text.parse::<u32>()
        .ok()
        .filter(|rate| *rate != 0 && BAUD_RATES.contains(rate))
        .ok_or_else(|| format!("not a UART rate; one of {}", rates.join(", ")))
}

/// The most one-way latency that makes sense for a network that still works.
const MAX_LATENCY: Duration = Duration::from_secs(600);

fn parse_latency(text: &str) -> Result<Duration, String> {
    let latency = units::parse_duration(text).map_err(|e| e.to_string())?;
    if latency > MAX_LATENCY {
        return Err(format!(
            "{} is more than {} one way",
            units::format_duration(latency),
            units::format_duration(MAX_LATENCY)
        ));
    }
    Ok(latency)
}

/// `[AT=]JSON`: a fault, with the virtual time to apply it (default: at start).
fn parse_fault(text: &str) -> Result<ScheduledFault, String> {
    let (at, json) = match text.trim_start().starts_with('{') {
        true => (Duration::ZERO, text),
        false => {
            let (at, json) = text.split_once('=').ok_or("expected JSON or AT=JSON")?;
            (units::parse_duration(at).map_err(|e| e.to_string())?, json)
        }
    };
    let fault: Fault = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok(ScheduledFault { at, fault })
}

/// Nothing listens beyond loopback unless `--bind-any` says so (ARCHITECTURE.md).
fn loopback_unless_bind_any(flag: &str, address: SocketAddr, bind_any: bool) -> Result<(), String> {
    if address.ip().is_loopback() || bind_any {
        Ok(())
    } else {
        Err(format!(
            "{flag} {address} is not loopback; add --bind-any to mean it"
        ))
    }
}

fn config(cli: Cli) -> Result<LiveConfig, String> {
    let endpoint = match (cli.pty, cli.tcp, cli.serial) {
        (true, None, None) => Endpoint::Pty,
        (false, Some(address), None) => {
            loopback_unless_bind_any("--tcp", address, cli.bind_any)?;
            Endpoint::Tcp(address)
        }
        (false, None, Some(path)) => Endpoint::Serial {
            path,
            baud: cli.baud,
        },
        _ => return Err("choose one of --pty, --tcp ADDR, --serial DEVICE".to_string()),
    };
    if let Some(address) = cli.web {
        loopback_unless_bind_any("--web", address, cli.bind_any)?;
    }
    let mut network = match &cli.network {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str::<NetworkConfig>(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => NetworkConfig::default(),
    };
    if let Some(latency) = cli.latency {
        network.latency = latency;
    }
    // Live mode runs in real time, so the network's clock (AT+CNTP) is the host's.
    network.unix_time_at_start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(network.unix_time_at_start, |d| d.as_secs());
    let mut sim = SimConfig {
        profile: cli.profile,
        seed: cli.seed,
        network,
        faults: cli.faults,
        ..SimConfig::default()
    };
    sim.lab.port = cli.lab_port;
    let mut live = LiveConfig::new(endpoint, sim);
    live.builtin_lab = !cli.no_lab;
    live.server = cli.server;
    live.console = !cli.no_console;
    live.baud = cli.baud;
    live.sim_ntp = cli.sim_ntp;
    live.web = cli.web;
    if cli.bind_any {
        live.bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    }
    Ok(live)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_schema {
        let schema = schemars::schema_for!(SimConfig);
        println!(
            "{}",
            serde_json::to_string_pretty(&schema).expect("a schema serializes")
        );
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = match config(cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("sim-modem: {error}");
            return ExitCode::from(2);
        }
    };
    match live::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sim-modem: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_listens_unless_bind_any() {
        for (address, bind_any, refused) in [
            ("127.0.0.1:8080", false, false),
            ("[::1]:8080", false, false),
            ("0.0.0.0:8080", false, true),
            ("192.0.2.1:8080", false, true),
            ("0.0.0.0:8080", true, false),
        ] {
            let got = loopback_unless_bind_any("--web", address.parse().unwrap(), bind_any);
            assert_eq!(got.is_err(), refused, "{address} {bind_any}: {got:?}");
            if let Err(message) = got {
                assert!(message.starts_with("--web "), "{message}");
                assert!(message.contains("--bind-any"), "{message}");
            }
        }
        // The CLI refuses it before anything listens.
        let cli = Cli::parse_from(["sim-modem", "--pty", "--web", "0.0.0.0:8080"]);
        let error = config(cli).unwrap_err();
        assert!(
            error.contains("--web 0.0.0.0:8080 is not loopback"),
            "{error}"
        );
    }
}
