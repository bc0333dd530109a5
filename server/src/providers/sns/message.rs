//! The SNS HTTP(S) message envelope, the text its signature covers, and the job report a Lambda
//! worker publishes inside a notification's `Message`.
//!
//! SNS signs a canonical text rather than the JSON body: for each field, in AWS's documented
//! order, the field's name and value, each followed by a newline. Notifications sign
//! `Message`, `MessageId`, `Subject` (only when present), `Timestamp`, `TopicArn` and `Type`;
//! subscription confirmations sign `Message`, `MessageId`, `SubscribeURL`, `Timestamp`,
//! `Token`, `TopicArn` and `Type`.

use crate::jobs::state::ProviderUpdate;
use serde::Deserialize;
use uuid::Uuid;

/// The three kinds of message SNS posts to an HTTP(S) subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    SubscriptionConfirmation,
    Notification,
    UnsubscribeConfirmation,
}

impl MessageType {
    /// The kind named by SNS's `x-amz-sns-message-type` header and `Type` field.
    pub fn parse(name: &str) -> Option<MessageType> {
        match name {
            "SubscriptionConfirmation" => Some(MessageType::SubscriptionConfirmation),
            "Notification" => Some(MessageType::Notification),
            "UnsubscribeConfirmation" => Some(MessageType::UnsubscribeConfirmation),
            _ => None,
        }
    }
}

/// The JSON body SNS posts; field names are SNS's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsMessage {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// Confirmations only: visiting it confirms the subscription.
    #[serde(rename = "SubscribeURL", default)]
    pub subscribe_url: Option<String>,
    /// Confirmations only: the subscription's confirmation token.
    #[serde(default)]
    pub token: Option<String>,
}

impl SnsMessage {
    /// The message's kind, when SNS knows it.
    pub fn message_type(&self) -> Option<MessageType> {
        MessageType::parse(&self.kind)
    }

    /// The exact text SNS signed for this message, or `None` when a signed field is missing.
    pub fn string_to_sign(&self) -> Option<String> {
        let mut fields: Vec<(&str, &str)> =
            vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match self.message_type()? {
            MessageType::Notification => {
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", subject));
                }
                fields.push(("Timestamp", &self.timestamp));
            }
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
                fields.push(("SubscribeURL", self.subscribe_url.as_deref()?));
                fields.push(("Timestamp", &self.timestamp));
                fields.push(("Token", self.token.as_deref()?));
            }
        }
        fields.push(("TopicArn", &self.topic_arn));
        fields.push(("Type", &self.kind));

        Some(
            fields
                .iter()
                .map(|(name, value)| format!("{name}\n{value}\n"))
                .collect(),
        )
    }
}

/// What a Lambda worker publishes as a notification's `Message` (a JSON string).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobReport {
    pub job_id: Uuid,
    /// The job's secret from the invocation input: proves the report is about this job.
    pub token: String,
    pub status: ReportStatus,
    #[serde(default)]
    pub output_url: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub progress: Option<u8>,
    #[serde(default)]
    pub stage: Option<String>,
}

/// Where the worker is with the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Running,
    Succeeded,
    Failed,
}

impl JobReport {
    /// The report in the job state machine's words; `Err` names what is wrong with it.
    pub fn to_update(&self) -> Result<ProviderUpdate, &'static str> {
        match self.status {
            ReportStatus::Running => Ok(ProviderUpdate::Running {
                percent: self.progress.map(|p| p.min(100)),
                stage: self.stage.as_ref().map(|s| s.chars().take(40).collect()),
            }),
            ReportStatus::Succeeded => {
                let url = self
                    .output_url
                    .as_deref()
                    .ok_or("a succeeded report needs output_url")?;
                let scheme = url::Url::parse(url).map(|u| u.scheme().to_string());
                if !matches!(scheme.as_deref(), Ok("https" | "http")) {
                    return Err("output_url must be an http(s) URL");
                }
                Ok(ProviderUpdate::Succeeded {
                    output_url: url.to_string(),
                })
            }
            ReportStatus::Failed => Ok(ProviderUpdate::Failed {
                reason: failure_reason(self.error.as_deref()),
            }),
        }
    }
}

/// A sentence for the user: the first line of the worker's error, kept short (it may be a
/// traceback).
fn failure_reason(error: Option<&str>) -> String {
    let line: String = error
        .and_then(|e| e.lines().next())
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    if line.trim().is_empty() {
        "The restoration worker reported a failure.".into()
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str) -> SnsMessage {
        SnsMessage {
            kind: kind.into(),
            message_id: "id-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:rekindle".into(),
            subject: None,
            message: "hello".into(),
            timestamp: "2024-01-02T03:04:05.678Z".into(),
            signature_version: "2".into(),
            signature: String::new(),
            signing_cert_url: String::new(),
            subscribe_url: Some("https://sns.us-east-1.amazonaws.com/?Action=x".into()),
            token: Some("tok".into()),
        }
    }

    #[test]
    fn notifications_sign_subject_only_when_present() {
        let mut notification = message("Notification");
        let without = notification.string_to_sign().unwrap();
        assert_eq!(
            without,
            "Message\nhello\nMessageId\nid-1\nTimestamp\n2024-01-02T03:04:05.678Z\n\
             TopicArn\narn:aws:sns:us-east-1:123456789012:rekindle\nType\nNotification\n"
        );
        notification.subject = Some("done".into());
        let with = notification.string_to_sign().unwrap();
        assert!(
            with.contains("MessageId\nid-1\nSubject\ndone\nTimestamp\n"),
            "{with}"
        );
    }

    #[test]
    fn confirmations_sign_the_subscribe_url_and_token() {
        let confirmation = message("SubscriptionConfirmation");
        assert_eq!(
            confirmation.string_to_sign().unwrap(),
            "Message\nhello\nMessageId\nid-1\n\
             SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=x\n\
             Timestamp\n2024-01-02T03:04:05.678Z\nToken\ntok\n\
             TopicArn\narn:aws:sns:us-east-1:123456789012:rekindle\n\
             Type\nSubscriptionConfirmation\n"
        );
        let mut tokenless = message("UnsubscribeConfirmation");
        tokenless.token = None;
        assert_eq!(tokenless.string_to_sign(), None);
        assert_eq!(message("Other").string_to_sign(), None);
    }
}
