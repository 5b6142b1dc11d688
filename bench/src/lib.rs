//! wadesk's benchmarks, run together by `bash scripts/bench.sh`.
//!
//! Each measurement is a small program of this crate (or the criterion bench
//! `benches/handlers.rs`) that writes its figures as JSON under
//! `target/wadesk-bench/`; `bench-report` reads them all and prints one table
//! with the targets of issue 6:
//!
//! | program | measures |
//! | --- | --- |
//! | `lambda-startup` | release binary size, cold start to the first poll of a local Lambda Runtime API ([`runtime_api`]), peak RSS after 10,000 invocations |
//! | `benches/handlers.rs` | warm handler cost (criterion) on the embedded store |
//! | `aws-requests` | AWS requests, DynamoDB capacity units, events and Graph API sends per operation, against moto's server ([`meter`]) |
//! | `loadgen` | throughput and latency of `wadesk-local` on loopback at a fixed offered load |
//! | `bench-report` | the table, with the cost per message at the public prices of [`prices`] |

pub mod args;
pub mod fixtures;
pub mod meter;
pub mod prices;
pub mod results;
pub mod runtime_api;
pub mod stats;

/// The error type of the benchmark programs: they report and exit.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
