//! The baseline the replay is measured against: the same day (the heartbeats, the lab's
//! requests and their echoes, the outages of `day.json`) as a bare client and server on
//! tokio's paused clock, with no modem, no AT, no UART and no network model. A connection
//! is a `tokio::io::duplex` pipe; an outage drops it, and the client connects again when
//! it ends, after the seed's 5 s pause. It is what a simulator of this day costs at the
//! least on tokio: `cargo xtask bench` prints the replay's time as a ratio to it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use scenarios::replay::plan;
use scenarios::{Action, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

const HEARTBEAT: &[u8] = b"heart beat";
const INTERVAL: Duration = Duration::from_secs(10);
const PAUSE: Duration = Duration::from_secs(5);

/// What the baseline's day is made of, from the scenario.
struct Day {
    duration: Duration,
    /// When the link is down: from, to (an instant fault drops the connection once).
    outages: Vec<(Duration, Duration)>,
    /// The lab's requests: when, what.
    requests: Vec<(Duration, Vec<u8>)>,
}

fn day(scenario: &Scenario) -> Day {
    let mut outages = Vec::new();
    let mut requests = Vec::new();
    for p in plan(scenario, scenario.seed) {
        match p.step.action {
            Action::Fault(_) => outages.push((p.at, p.end.unwrap_or(p.at))),
            Action::LabSend { data, .. } => requests.push((p.at, data)),
            _ => {}
        }
    }
    Day {
        duration: scenario.duration,
        outages,
        requests,
    }
}

/// Runs the day; returns the heartbeats and the echoes the server received.
pub fn run(scenario: &Scenario) -> (u64, u64) {
    let day = day(scenario);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let start = Instant::now();
        let at = move |d: Duration| start + d;
        let (connect, mut accept) = mpsc::unbounded_channel::<DuplexStream>();
        let counts = Rc::new(RefCell::new((0u64, 0u64)));
        let current: Rc<RefCell<Option<WriteHalf<DuplexStream>>>> = Rc::default();
        // The server: each connection read to its end, counting what arrives.
        let (server_counts, server_current) = (counts.clone(), current.clone());
        tokio::task::spawn_local(async move {
            while let Some(stream) = accept.recv().await {
                let (mut read, write) = tokio::io::split(stream);
                *server_current.borrow_mut() = Some(write);
                let counts = server_counts.clone();
                tokio::task::spawn_local(async move {
                    let mut buf = [0u8; 1500];
                    while let Ok(n @ 1..) = read.read(&mut buf).await {
                        let mut c = counts.borrow_mut();
                        if &buf[..n] == HEARTBEAT {
                            c.0 += 1;
                        } else {
                            c.1 += 1;
                        }
                    }
                });
            }
        });
        // The server's requests, to the newest connection.
        let requests = day.requests.clone();
        tokio::task::spawn_local(async move {
            for (when, data) in requests {
                sleep_until(at(when)).await;
                let writer = current.borrow_mut().take();
                if let Some(mut writer) = writer {
                    if writer.write_all(&data).await.is_ok() {
                        *current.borrow_mut() = Some(writer);
                    }
                }
            }
        });
        // The device.
        let mut outages = day.outages.iter().copied().peekable();
        let end = at(day.duration);
        'connection: while Instant::now() < end {
            let (mine, theirs) = tokio::io::duplex(4096);
            if connect.send(theirs).is_err() {
                break;
            }
            let (mut read, mut write) = tokio::io::split(mine);
            let mut next_beat = Instant::now();
            let mut buf = [0u8; 1500];
            loop {
                let outage = outages.peek().map_or(end, |o| at(o.0).min(end));
                tokio::select! {
                    biased;
                    read = read.read(&mut buf) => match read {
                        Ok(n @ 1..) if buf[..n].starts_with(b"back") => {
                            let _ = write.write_all(&buf[..n]).await;
                        }
                        Ok(1..) => {}
                        _ => continue 'connection,
                    },
                    () = sleep_until(next_beat) => {
                        let _ = write.write_all(HEARTBEAT).await;
                        next_beat += INTERVAL;
                    }
                    () = sleep_until(outage) => {
                        let Some((_, to)) = outages.next() else { break 'connection };
                        // The link is gone: the connection with it; back after the pause.
                        drop((read, write));
                        sleep_until(at(to) + PAUSE).await;
                        continue 'connection;
                    }
                }
            }
        }
        let counts = *counts.borrow();
        counts
    })
}
