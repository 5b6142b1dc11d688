//! `wadesk-local`: serves every route of wadesk on 127.0.0.1.

use std::sync::Arc;

use tokio::net::TcpListener;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use wadesk_app::embedded::EmbeddedStore;
use wadesk_app::DeskStore;
use wadesk_aws::DynamoStore;
use wadesk_local_runner::{serve, Runner, Settings};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .finish()
        .with(wadesk_aws::telemetry::filter_from_env())
        .init();
    let settings = Settings::from_env()?;
    if !settings.listens_on_loopback() {
        eprintln!(
            "WARNING: WADESK_LISTEN={} is not a loopback address. The local runner is for one \
             machine: its secrets are printed defaults and anyone who can reach this address \
             can mint tokens (POST /_local/token). Requests whose Host is not a loopback name \
             are refused all the same.",
            settings.listen
        );
    }
    let listener = TcpListener::bind(settings.listen).await?;
    let address = listener.local_addr()?;
    match std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(endpoint) => {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            wadesk_aws::dynamodb::create_table(&client, &settings.table).await?;
            let store = DynamoStore::new(client, settings.table.clone());
            let runner = Runner::start(store, settings).await?;
            announce(&runner, address, &format!("DynamoDB at {endpoint}"));
            run(listener, runner).await
        }
        None => {
            let runner = Runner::start(EmbeddedStore::new(), settings).await?;
            announce(&runner, address, "embedded (in memory)");
            run(listener, runner).await
        }
    }
}

async fn run<S: DeskStore>(listener: TcpListener, runner: Arc<Runner<S>>) -> Result<(), BoxError> {
    tokio::select! {
        () = serve(listener, runner) => {}
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}

fn announce<S: wadesk_app::ConversationStore>(
    runner: &Runner<S>,
    address: std::net::SocketAddr,
    store: &str,
) {
    let s = &runner.settings;
    let admins = s
        .bootstrap_admins
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let first_admin = s
        .bootstrap_admins
        .first()
        .map_or_else(|| "admin".to_owned(), ToString::to_string);
    println!(
        "wadesk local runner listening on http://{address}
  store:                 {store}
  WADESK_JWT_SECRET      = {}
  WHATSAPP_APP_SECRET    = {}
  WHATSAPP_VERIFY_TOKEN  = {}
  demo channel           = {} ({})
  bootstrap admin(s)     = {}   (WADESK_BOOTSTRAP_ADMINS)
  console                = http://{address}/console/   (sign in as {})

Try it:
  curl -s -XPOST http://{address}/_local/inbound -d '{{\"from\":\"34600111222\",\"name\":\"Ana\",\"text\":\"Hola\"}}'
  curl -s -XPOST http://{address}/_local/token -d '{{\"sub\":\"{}\"}}'
  curl -s http://{address}/_local/events
  curl -s -XPOST http://{address}/_local/clock/advance -d '{{\"seconds\":86400}}'
  curl -s http://{address}/_local/sent
  curl -s http://{address}/_local/poison     # signed bodies the webhook kept instead of refusing
  curl -s 'http://{address}/webhook?hub.mode=subscribe&hub.verify_token={}&hub.challenge=42'",
        s.jwt_secret,
        s.app_secret,
        s.verify_token,
        s.phone_number_id,
        s.display_phone_number,
        admins,
        first_admin,
        first_admin,
        s.verify_token
    );
}
