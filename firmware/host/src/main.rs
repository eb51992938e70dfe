//! `longlink-host`: the LongLink firmware core under tokio, against a modem on a serial device
//! (a real modem on `/dev/ttyUSB0`, the sim-modem's pty) or the sim-modem's serial-over-TCP
//! endpoint (`--tcp 127.0.0.1:5555`). Everything the firmware does is logged with tracing
//! (`RUST_LOG=debug` shows more, `trace` the watchdog).

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use embedded_io_adapters::tokio_1::FromTokio;
use firmware::config::{text, Config};
use firmware::{Board, Clock, Instant, LedState, Report};
use protocol::app::Framing;
use protocol::text::Escaped;
use protocol::types::Transport;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tracing::{debug, error, info, trace, warn};

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
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// The server the firmware keeps its connection to (default: the seed's).
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// UDP instead of TCP (B5).
    #[arg(long)]
    udp: bool,
    /// Message framing on the link.
    #[arg(long, value_enum, default_value_t = FramingArg::Raw)]
    framing: FramingArg,
    /// APN for AT+CSTT.
    #[arg(long)]
    apn: Option<String>,
    /// APN user name.
    #[arg(long)]
    user: Option<String>,
    /// APN password.
    #[arg(long)]
    password: Option<String>,
    /// Heartbeat interval (B1), e.g. `10s`, `1500ms`, `2m`.
    #[arg(long, value_parser = parse_duration)]
    heartbeat: Option<Duration>,
    /// Signal and cell query interval (B10).
    #[arg(long, value_parser = parse_duration)]
    query_interval: Option<Duration>,
    /// How long to wait for the IP before flight mode (B6).
    #[arg(long, value_parser = parse_duration)]
    ip_wait: Option<Duration>,
    /// How long flight mode lasts (B6).
    #[arg(long, value_parser = parse_duration)]
    flight_mode: Option<Duration>,
    /// Pause between connect attempts (B7).
    #[arg(long, value_parser = parse_duration)]
    connect_pause: Option<Duration>,
    /// Connect timeout, to CONNECT OK.
    #[arg(long, value_parser = parse_duration)]
    connect_timeout: Option<Duration>,
    /// Send timeout, to SEND OK.
    #[arg(long, value_parser = parse_duration)]
    send_timeout: Option<Duration>,
    /// NTP server for AT+CNTP.
    #[arg(long)]
    ntp_server: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum FramingArg {
    Raw,
    Newline,
}

/// `10`, `10s`, `1500ms`, `2m`, `1h`: a bare number is seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {s:?}"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

fn config(args: &Args) -> Result<Config, String> {
    let mut c = Config::default();
    let too_long = |what: &str| format!("{what} is too long");
    if let Some(server) = &args.server {
        let (host, port) = server.rsplit_once(':').ok_or("--server wants HOST:PORT")?;
        c.server_host = text(host).map_err(|_| too_long("the server host"))?;
        c.server_port = port.parse().map_err(|_| format!("bad port {port:?}"))?;
    }
    if args.udp {
        c.transport = Transport::Udp;
    }
    c.framing = match args.framing {
        FramingArg::Raw => Framing::Raw,
        FramingArg::Newline => Framing::Newline,
    };
    if let Some(apn) = &args.apn {
        c.apn = text(apn).map_err(|_| too_long("the APN"))?;
    }
    if let Some(user) = &args.user {
        c.user = text(user).map_err(|_| too_long("the user"))?;
    }
    if let Some(password) = &args.password {
        c.password = text(password).map_err(|_| too_long("the password"))?;
    }
    if let Some(ntp) = &args.ntp_server {
        c.ntp_server = text(ntp).map_err(|_| too_long("the NTP server"))?;
    }
    let durations = [
        (args.heartbeat, &mut c.heartbeat_interval),
        (args.query_interval, &mut c.query_interval),
        (args.ip_wait, &mut c.ip_wait),
        (args.flight_mode, &mut c.flight_mode),
        (args.connect_pause, &mut c.connect_pause),
        (args.connect_timeout, &mut c.connect_timeout),
        (args.send_timeout, &mut c.send_timeout),
    ];
    for (arg, knob) in durations {
        if let Some(d) = arg {
            *knob = d;
        }
    }
    Ok(c)
}

/// The firmware's clock: microseconds since the runner started, on tokio's clock.
struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> {
        tokio::time::sleep_until(self.start + Duration::from_micros(deadline.as_micros()))
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// The UART: a tokio stream, whose end of file (the sim-modem went away) is signalled to
/// `main` instead of being read as an endless stream of empty reads.
struct Uart {
    io: FromTokio<Box<dyn Io>>,
    eof: Option<oneshot::Sender<()>>,
}

impl embedded_io_async::ErrorType for Uart {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for Uart {
    /// Cancel-safe, as tokio's `poll_read` is: a dropped read has taken no bytes.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        let n = embedded_io_async::Read::read(&mut self.io, buf).await?;
        if n == 0 && !buf.is_empty() {
            if let Some(eof) = self.eof.take() {
                let _ = eof.send(());
            }
            std::future::pending::<()>().await;
        }
        Ok(n)
    }
}

impl embedded_io_async::Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        trace!(bytes = %Escaped(buf), "uart tx");
        embedded_io_async::Write::write(&mut self.io, buf).await
    }

    async fn flush(&mut self) -> Result<(), std::io::Error> {
        embedded_io_async::Write::flush(&mut self.io).await
    }
}

/// A host has no LED, watchdog or modem power lines: they are log lines.
struct HostBoard;

impl Board for HostBoard {
    fn set_led(&mut self, state: LedState) {
        info!(?state, "LED");
    }

    fn feed_watchdog(&mut self) {
        trace!("watchdog fed");
    }

    fn set_power_key(&mut self, pressed: bool) {
        info!(pressed, "PWRKEY (not wired on a host)");
    }

    fn set_modem_reset(&mut self, asserted: bool) {
        info!(asserted, "RESET line (not wired on a host)");
    }

    /// The report in its trace form (its `Display`), at a level by kind.
    fn report(&mut self, report: Report<'_>) {
        match report {
            // Logged by the board calls above.
            Report::WatchdogFed | Report::Led(_) => {}
            Report::Outbox { .. } | Report::Queued { .. } => debug!("{report}"),
            Report::AtTimeout(_)
            | Report::AtRejected(_)
            | Report::Decode(_)
            | Report::UartError(_)
            | Report::Dropped { .. }
            | Report::ConnectFailed { .. }
            | Report::LinkLost(_)
            | Report::ClockSyncFailed { .. }
            | Report::ModemRestart { .. } => warn!("{report}"),
            _ => info!("{report}"),
        }
    }
}

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
        let (eof_tx, eof_rx) = oneshot::channel();
        let uart = Uart {
            io: FromTokio::new(io),
            eof: Some(eof_tx),
        };
        let clock = TokioClock {
            start: tokio::time::Instant::now(),
        };
        let mut board = HostBoard;
        info!(
            server = %format_args!("{}:{}", config.server_host, config.server_port),
            transport = ?config.transport,
            framing = ?config.framing,
            "starting the firmware"
        );
        tokio::select! {
            _ = firmware::run(&config, uart, &clock, &mut board) => unreachable!(),
            _ = eof_rx => {
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

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn flags_set_the_config() {
        let args = Args::parse_from([
            "longlink-host",
            "--tcp",
            "127.0.0.1:5555",
            "--server",
            "lab.example:7000",
            "--udp",
            "--framing",
            "newline",
            "--heartbeat",
            "30s",
        ]);
        let c = config(&args).unwrap();
        assert_eq!(
            (c.server_host.as_str(), c.server_port),
            ("lab.example", 7000)
        );
        assert_eq!(c.transport, Transport::Udp);
        assert_eq!(c.framing, Framing::Newline);
        assert_eq!(c.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(c.connect_pause, Duration::from_secs(5));
    }
}
