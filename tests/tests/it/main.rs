//! The one integration-test binary: store contract suite on every adapter,
//! webhook and window behaviour through the handlers, the AWS adapters and the
//! request budget against moto's server, and the local runner over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The SDK futures nest deeply.
#![recursion_limit = "256"]

mod analytics;
mod audit;
mod aws_adapters;
mod bounded_reads;
mod desk;
mod desk_store_contract;
mod entry_points;
mod erasure;
mod faults;
mod iam;
mod inbound_batch;
mod lambda_events;
mod live;
mod local_runner;
mod media;
mod openapi;
mod redrive;
mod reopen;
mod request_budget;
mod send_outcome;
mod store_contract;
mod trustworthy;
mod webhook;
mod webhook_fuzz;
mod webhook_poison;
mod window;
