//! Confirming a subscription: SNS asks us to visit its `SubscribeURL` once.
//!
//! The handler checks the URL (HTTPS on the topic's SNS host) before a [`SubscriptionVisitor`]
//! sees it, so a visitor injected by tests cannot widen what production would visit.

use async_trait::async_trait;

/// Visits a confirmation URL that has already been checked.
#[async_trait]
pub trait SubscriptionVisitor: Send + Sync {
    async fn visit(&self, url: &str) -> anyhow::Result<()>;
}

/// The production visitor: one HTTPS GET, no redirects.
pub struct HttpsSubscriptionVisitor {
    http: reqwest::Client,
}

impl HttpsSubscriptionVisitor {
    pub fn new(http: reqwest::Client) -> HttpsSubscriptionVisitor {
        HttpsSubscriptionVisitor { http }
    }
}

#[async_trait]
impl SubscriptionVisitor for HttpsSubscriptionVisitor {
    async fn visit(&self, url: &str) -> anyhow::Result<()> {
        // The URL carries the confirmation token: errors are reported without it.
        let response =
            self.http.get(url).send().await.map_err(|err| {
                anyhow::anyhow!("confirmation request failed: {}", err.without_url())
            })?;
        anyhow::ensure!(
            response.status().is_success(),
            "SNS answered {} to the confirmation",
            response.status()
        );

        Ok(())
    }
}
