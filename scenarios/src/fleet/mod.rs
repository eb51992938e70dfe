//! Fleets: thousands of devices against one server, on a network of cells
//! (`cargo xtask fleet`).
//!
//! A fleet file ([`spec`]) says how many devices on how many cells, the server's limits,
//! and what happens to cells (a tower outage, congestion), to the server (slow accepts,
//! overload, idle connections dropped) and to single devices. Each device is an ordinary
//! scenario [`World`](crate::World) (its own firmware core, modem, seed); [`run`] steps
//! them all in one virtual time against the shared [`server`], whose answers to their
//! connects are what couples them; [`summary`] sums the run up (JSON, a table) and
//! [`chart`] draws it (SVG); [`merge`] adds up the summaries of a run's shards, run apart.

pub mod chart;
pub mod merge;
pub mod run;
pub mod server;
pub mod spec;
pub mod summary;

pub use run::{run, Options, Progress};
pub use spec::{Fleet, FleetSpec};
pub use summary::{Metrics, Summary};
