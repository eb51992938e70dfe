//! Drives the real `sim-modem --pty` binary from outside, as picocom or a host firmware
//! would: a full bring-up over the pty, data to the built-in lab server, and data back.
//! Every wait is bounded, and the child is killed when the test ends however it ends.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // this test drives the live binary in real time (clippy.toml)

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// Kills the child when dropped.
struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(reader: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`; returns it.
fn line_with(rx: &Receiver<String>, needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("no line with {needle:?} within {timeout:?}"),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Pty {
    file: File,
    seen: Vec<u8>,
}

impl Pty {
    /// Reads until `needle` shows up after `from`; returns the text from `from`.
    fn read_until(&mut self, from: usize, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = String::from_utf8_lossy(&self.seen[from..]).into_owned();
            if text.contains(needle) {
                return Some(text);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let wait = PollTimeout::try_from(left.min(Duration::from_millis(100))).unwrap();
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, wait).unwrap() > 0 {
                let mut buf = [0u8; 1024];
                let n = self.file.read(&mut buf).unwrap();
                self.seen.extend_from_slice(&buf[..n]);
            }
        }
    }

    /// Sends a command and waits for `expect` in the answer.
    fn command(&mut self, line: &str, expect: &str, timeout: Duration) -> String {
        let from = self.seen.len();
        self.file
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.read_until(from, expect, timeout).unwrap_or_else(|| {
            panic!(
                "{line}: no {expect:?}; got {:?}",
                String::from_utf8_lossy(&self.seen[from..])
            )
        })
    }

    /// Repeats a command every 500 ms until the answer has `expect`.
    fn poll_command(&mut self, line: &str, expect: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let from = self.seen.len();
            self.file
                .write_all(format!("{line}\r\n").as_bytes())
                .unwrap();
            if self
                .read_until(from, expect, Duration::from_millis(500))
                .is_some()
            {
                return;
            }
        }
        panic!(
            "{line}: no {expect:?} within {timeout:?}; last: {:?}",
            String::from_utf8_lossy(&self.seen)
        );
    }
}

#[test]
fn bring_up_over_the_pty_and_talk_to_the_lab() {
    let lab_port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-modem"))
        .args([
            "--pty",
            "--lab-port",
            &lab_port.to_string(),
            "--latency",
            "20ms",
        ])
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sim-modem runs");
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let stdin = child.stdin.take().unwrap();
    let mut running = Running {
        child,
        stdin,
        stdout,
        stderr,
    };

    let line = line_with(&running.stdout, "modem on /dev/", Duration::from_secs(20));
    let path = line.split_whitespace().last().unwrap().to_string();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NOCTTY.bits())
        .open(&path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut pty = Pty {
        file,
        seen: Vec::new(),
    };
    let long = Duration::from_secs(20);

    pty.poll_command("AT", "OK", long);
    pty.command("ATE0", "OK", long);
    pty.poll_command("AT+CPIN?", "+CPIN: READY", long);
    pty.poll_command("AT+CREG?", "+CREG: 0,1", long);
    pty.poll_command("AT+CGATT?", "+CGATT: 1", long);
    pty.command("AT+CIPMUX=1", "OK", long);
    pty.command("AT+CSTT=\"CMIOT\"", "OK", long);
    pty.command("AT+CIICR", "OK", long);
    pty.command("AT+CIFSR", "10.68.27.49", long);
    pty.command(
        "AT+CIPSTART=0,\"TCP\",\"lab.longlink.test\",6500",
        "0, CONNECT OK",
        long,
    );
    pty.command("AT+CIPSEND=0,11", ">", long);
    let from = pty.seen.len();
    pty.file.write_all(b"hello world").unwrap();
    pty.read_until(from, "0, SEND OK", long).expect("SEND OK");

    // The lab server logged it, and its console shows it.
    line_with(&running.stderr, "received 11 bytes: \"hello world\"", long);
    writeln!(running.stdin, "show 1").unwrap();
    line_with(&running.stdout, "<- \"hello world\"", long);

    // The lab sends; the device receives.
    let from = pty.seen.len();
    writeln!(running.stdin, "send 1 back 1").unwrap();
    pty.read_until(from, "back 1", long)
        .expect("data from the lab");
    writeln!(running.stdin, "quit").unwrap();
}
