//! Starting a restoration on AWS Lambda: one asynchronous invocation (`InvocationType::Event`)
//! per job, whose input says where the photo is and which SNS topic to report to.
//!
//! Lambda answers 202 as soon as the event is queued; the outcome arrives later as SNS
//! notifications ([`super::message::JobReport`]). The client is configured by hand (static
//! credentials, rustls on ring), like the S3 store, so nothing is read from `~/.aws` or
//! instance metadata behind the operator's back.

use crate::config::LambdaConfig;
use crate::providers::{ProviderError, Submission};
use app::model::RestoreOptions;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use uuid::Uuid;

/// The provider name in job rows; SNS reports are accepted only for jobs with it.
pub const PROVIDER_NAME: &str = "lambda";

/// The version of [`LambdaInput`]'s shape, for functions that serve several Rekindles.
pub const INPUT_VERSION: u32 = 1;

/// The event a restoration function receives (see `docs/aws-lambda.md`).
#[derive(Clone, Serialize)]
pub struct LambdaInput {
    pub version: u32,
    pub job_id: Uuid,
    /// The job's secret; the function puts it back in every report about this job.
    token: String,
    /// A signed URL the function downloads the photo from.
    image_url: String,
    pub options: RestoreOptions,
    pub reply: Reply,
}

/// Where the function reports.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// The SNS topic to publish [`super::message::JobReport`]s to.
    pub topic_arn: String,
}

impl LambdaInput {
    pub fn new(
        job_id: Uuid,
        token: String,
        image_url: String,
        options: RestoreOptions,
        topic_arn: String,
    ) -> LambdaInput {
        LambdaInput {
            version: INPUT_VERSION,
            job_id,
            token,
            image_url,
            options,
            reply: Reply { topic_arn },
        }
    }

    /// The input for a submission, whose webhook URL ends with the job's secret.
    pub fn from_submission(submission: &Submission, topic_arn: &str) -> Option<LambdaInput> {
        let token = submission.webhook_url.rsplit('/').next()?;
        (!token.is_empty()).then(|| {
            LambdaInput::new(
                submission.job_id,
                token.to_string(),
                submission.source_url.clone(),
                submission.options,
                topic_arn.to_string(),
            )
        })
    }
}

impl fmt::Debug for LambdaInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token and the signed URL are secrets: only their presence is shown.
        f.debug_struct("LambdaInput")
            .field("version", &self.version)
            .field("job_id", &self.job_id)
            .field("token", &"***")
            .field("image_url", &"***")
            .field("options", &self.options)
            .field("reply", &self.reply)
            .finish()
    }
}

/// A client for one Lambda function.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    function_name: String,
    reply_topic_arn: String,
}

impl LambdaInvoker {
    /// A client for the configured function; makes no request yet.
    pub fn new(config: &LambdaConfig) -> LambdaInvoker {
        let credentials = Credentials::new(
            config.access_key_id.expose(),
            config.secret_access_key.expose(),
            config
                .session_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            None,
            "rekindle-config",
        );
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(30))
            .build();
        let mut builder = aws_sdk_lambda::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .http_client(http)
            // The job service retries transient failures itself; two layers would multiply.
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }

        LambdaInvoker {
            client: aws_sdk_lambda::Client::from_conf(builder.build()),
            function_name: config.function_name.clone(),
            reply_topic_arn: config.reply_topic_arn.clone(),
        }
    }

    /// The topic the function is told to report to.
    pub fn reply_topic_arn(&self) -> &str {
        &self.reply_topic_arn
    }

    /// Queues one invocation; returns Lambda's request id for it.
    pub async fn invoke(&self, input: &LambdaInput) -> Result<String, ProviderError> {
        let payload = serde_json::to_vec(input).expect("the Lambda input always serialises");
        let output = self
            .client
            .invoke()
            .function_name(&self.function_name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|err| invoke_error(&err))?;
        if output.status_code() != 202 {
            return Err(ProviderError::Rejected(format!(
                "Lambda answered {} to an asynchronous invocation",
                output.status_code()
            )));
        }

        Ok(output
            .request_id()
            .map_or_else(|| input.job_id.to_string(), str::to_string))
    }
}

/// Throttling, AWS-side trouble and network failures are worth a retry; the rest is not.
fn invoke_error(err: &SdkError<InvokeError, HttpResponse>) -> ProviderError {
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("unknown error");
            let reason = format!("Lambda answered {status}: {code}");
            if status == 429 || status >= 500 {
                ProviderError::Transient(reason)
            } else {
                ProviderError::Rejected(reason)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::Transient("Lambda could not be reached".into())
        }
        _ => ProviderError::Rejected("the Lambda request could not be made".into()),
    }
}
