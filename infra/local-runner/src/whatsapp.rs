//! The runner's WhatsApp: the local stand-in that records what is sent, and
//! the real Graph API when a token is given.

use wadesk_app::embedded::LocalWhatsApp;
use wadesk_app::{OutboundContent, SendError, WhatsAppClient};
use wadesk_domain::{PhoneNumberId, WaId, Wamid};
use wadesk_graph::GraphApiClient;

#[derive(Debug, Clone)]
pub struct RunnerWhatsApp {
    pub local: LocalWhatsApp,
    /// Sends for real when set; every send is recorded by `local` either way.
    pub graph: Option<GraphApiClient>,
}

impl WhatsAppClient for RunnerWhatsApp {
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        match &self.graph {
            None => self.local.send(from, to, content).await,
            Some(graph) => {
                let wamid = graph.send(from, to, content).await?;
                self.local.record(from, to, content, &wamid);
                Ok(wamid)
            }
        }
    }

    async fn upload_media(
        &self,
        from: &PhoneNumberId,
        file: &[u8],
        content_type: &str,
        filename: &str,
    ) -> Result<String, SendError> {
        match &self.graph {
            None => {
                self.local
                    .upload_media(from, file, content_type, filename)
                    .await
            }
            Some(graph) => graph.upload_media(from, file, content_type, filename).await,
        }
    }
}
