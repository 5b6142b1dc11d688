//! `wadesk-redrive`: replays a failure queue or dead-letter queue through the
//! functions that failed on its messages (`docs/deploy.md`, section 6).

use std::process::ExitCode;

use clap::Parser;
use wadesk_redrive::aws::{LambdaInvoker, SqsQueue};
use wadesk_redrive::{redrive, Options, Outcome};

/// Replays parked events through the function that failed on them, one at a
/// time; deletes a message only once its replay succeeded.
#[derive(Debug, Parser)]
#[command(name = "wadesk-redrive", version)]
struct Args {
    /// The queue's URL (a stack output: OptOutFailureQueueUrl, ...).
    #[arg(long)]
    queue_url: String,
    /// Stop after this many messages.
    #[arg(long, default_value_t = 100)]
    max: usize,
    /// Show what would be replayed; invoke and delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also replay events a function parked because they did not parse.
    #[arg(long)]
    include_unparseable: bool,
    /// Replay through this function (name or ARN) whatever a message names.
    #[arg(long)]
    function: Option<String>,
    /// Seconds a message under replay stays hidden from other readers.
    #[arg(long, default_value_t = 300)]
    visibility_timeout: i32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let queue = SqsQueue {
        client: aws_sdk_sqs::Client::new(&sdk),
        queue_url: args.queue_url.clone(),
        visibility_timeout: args.visibility_timeout,
    };
    let invoker = LambdaInvoker {
        client: aws_sdk_lambda::Client::new(&sdk),
    };
    let options = Options {
        max: args.max,
        dry_run: args.dry_run,
        include_unparseable: args.include_unparseable,
        function: args.function,
    };
    let report = match redrive(&queue, &invoker, &options).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("wadesk-redrive: {error}");
            return ExitCode::from(2);
        }
    };
    let mut left = 0;
    for handled in &report {
        let line = match &handled.outcome {
            Outcome::Replayed { function } => format!("replayed through {function}"),
            Outcome::ReplayedNotDeleted { function, error } => {
                format!("replayed through {function}, not deleted ({error}): it comes back, a second replay is harmless")
            }
            Outcome::Failed { function, error } => {
                left += 1;
                format!("FAILED again in {function}, left in the queue: {error}")
            }
            Outcome::Skipped { reason } => {
                left += 1;
                format!("skipped, left in the queue: {reason}")
            }
            Outcome::WouldReplay { function, payload } => {
                format!("would replay through {function}: {payload}")
            }
        };
        println!("{}  {line}", handled.message_id);
    }
    println!(
        "{} message(s) handled, {left} left in the queue",
        report.len()
    );
    if left > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
