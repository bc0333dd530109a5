//! Typed configuration, read once from the environment.
//!
//! Every setting has a documented default that works for development on one machine. In
//! production mode (`REKINDLE_ENV=production`) the settings that must not be guessed — the
//! secret key and the public URL — are required, and start-up stops naming what is missing;
//! so it does in any mode when a chosen provider or S3 store lacks its settings.

use anyhow::{bail, Context};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never be printed: `Debug` shows only that it is set.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Development or production rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

/// Which provider runs new restoration jobs (`REKINDLE_PROVIDER`).
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    /// The CPU worker inside this process, reached over HTTP like RunPod.
    Builtin { concurrency: usize },
    /// A RunPod serverless endpoint (or a separately run built-in worker). `local_server`:
    /// RunPod's local test server (`--rp_serve_api`), which wants `POST /status/{id}`.
    RunPod {
        base_url: String,
        api_key: Secret,
        local_server: bool,
    },
    /// A RunPod-shaped endpoint that sends no webhooks (e.g. a Modal web app): followed by
    /// status checks with backoff only.
    Polling { base_url: String, api_key: Secret },
    /// Replicate predictions of one model.
    Replicate {
        api_url: String,
        api_token: Secret,
        model: String,
        image_input: String,
        webhook_secret: Secret,
    },
    /// A self-hosted ComfyUI running one API-format workflow.
    ComfyUi {
        url: String,
        workflow_path: PathBuf,
        input_node: String,
        output_node: String,
    },
    /// An AWS Lambda function reporting through SNS (settings in [`SnsConfig`]).
    Lambda,
}

/// Where photo bytes are kept (`REKINDLE_STORAGE`).
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// Files under `<data dir>/objects`: the embedded default.
    Local,
    /// An S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...).
    S3(S3Config),
}

/// An S3 bucket and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// The S3 API's URL for S3-compatible servers; `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Address objects as `<endpoint>/<bucket>/<key>` rather than `<bucket>.<endpoint>/<key>`.
    pub force_path_style: bool,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub listen_addr: SocketAddr,
    /// The URL browsers and providers reach this server at; webhooks and signed URLs use it.
    /// `None` means "derive from the address actually bound".
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Largest database pool (`REKINDLE_DB_MAX_CONNECTIONS`); `None`: 8 for SQLite, 16 for
    /// PostgreSQL.
    pub db_max_connections: Option<u32>,
    pub secret_key: Secret,
    pub max_upload_bytes: u64,
    pub max_pixels: u64,
    pub signed_url_ttl: Duration,
    pub session_ttl: Duration,
    pub free_quota_bytes: u64,
    pub free_retention_days: u32,
    pub provider: ProviderConfig,
    pub storage: StorageConfig,
    /// A job whose provider has been silent this long gets a status check.
    pub job_check_after: Duration,
    /// SNS topics this server takes reports from, and the Lambda function it may invoke.
    pub sns: SnsConfig,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mode = match get("REKINDLE_ENV").as_deref() {
            None | Some("development") => Mode::Development,
            Some("production") => Mode::Production,
            Some(other) => bail!("REKINDLE_ENV must be development or production, not {other:?}"),
        };
        let data_dir = PathBuf::from(get("REKINDLE_DATA_DIR").unwrap_or_else(|| "data".into()));
        let listen_addr = get("REKINDLE_ADDR")
            .or_else(|| get("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .context("Failed to parse REKINDLE_ADDR as host:port")?;

        let mut missing = Vec::new();
        let secret_key = match (get("REKINDLE_SECRET_KEY"), mode) {
            (Some(key), _) if key.len() >= 32 => Secret::new(key),
            (Some(_), _) => bail!("REKINDLE_SECRET_KEY must be at least 32 characters long"),
            (None, Mode::Development) => Secret::new(dev_secret(&data_dir)?),
            (None, Mode::Production) => {
                missing.push("REKINDLE_SECRET_KEY (at least 32 random characters)");
                Secret::new(String::new())
            }
        };
        let public_url =
            get("REKINDLE_PUBLIC_URL").map(|url| url.trim_end_matches('/').to_string());
        if public_url.is_none() && mode == Mode::Production {
            missing.push("REKINDLE_PUBLIC_URL (the https:// address providers send webhooks to)");
        }
        let provider = provider_config(&get, &mut missing)?;
        let storage = storage_config(&get, &mut missing)?;
        let sns = sns_config(&get, &mut missing)?;
        if !missing.is_empty() {
            bail!(
                "Production mode needs these settings: {}",
                missing.join("; ")
            );
        }

        let database_url = get("DATABASE_URL").unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("rekindle.db").display()
            )
        });
        let ttl_secs: u64 = parse_or(&get, "REKINDLE_SIGNED_URL_TTL_SECS", 900)?;
        if !(60..=3600).contains(&ttl_secs) {
            bail!("REKINDLE_SIGNED_URL_TTL_SECS must be between 60 and 3600, not {ttl_secs}");
        }

        Ok(Config {
            mode,
            listen_addr,
            public_url,
            data_dir,
            database_url,
            db_max_connections: match get("REKINDLE_DB_MAX_CONNECTIONS") {
                Some(value) => {
                    Some(
                        value.parse().ok().filter(|n| *n >= 2).context(
                            "REKINDLE_DB_MAX_CONNECTIONS must be a number of at least 2",
                        )?,
                    )
                }
                None => None,
            },
            secret_key,
            max_upload_bytes: parse_or(&get, "REKINDLE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)?,
            max_pixels: parse_or(&get, "REKINDLE_MAX_PIXELS", 100_000_000)?,
            signed_url_ttl: Duration::from_secs(ttl_secs),
            session_ttl: Duration::from_secs(3600 * parse_or(&get, "REKINDLE_SESSION_HOURS", 720)?),
            free_quota_bytes: parse_or(&get, "REKINDLE_FREE_QUOTA_BYTES", 1 << 30)?,
            free_retention_days: parse_or(&get, "REKINDLE_FREE_RETENTION_DAYS", 7)?,
            provider,
            storage,
            job_check_after: Duration::from_secs(parse_or(
                &get,
                "REKINDLE_JOB_CHECK_AFTER_SECS",
                60,
            )?),
            sns,
        })
    }
}

fn provider_config(
    get: &impl Fn(&str) -> Option<String>,
    missing: &mut Vec<&'static str>,
) -> anyhow::Result<ProviderConfig> {
    let mut required = |name: &'static str, hint: &'static str| {
        get(name).unwrap_or_else(|| {
            missing.push(hint);
            String::new()
        })
    };
    let url = |value: String| value.trim_end_matches('/').to_string();
    let provider = match get("REKINDLE_PROVIDER").as_deref() {
        None | Some("builtin") => ProviderConfig::Builtin {
            concurrency: parse_or(get, "REKINDLE_WORKER_CONCURRENCY", 1)?,
        },
        Some("runpod") => {
            let local_server = parse_or(get, "RUNPOD_LOCAL_SERVER", false)?;
            let base_url = required(
                "RUNPOD_ENDPOINT_URL",
                "RUNPOD_ENDPOINT_URL (https://api.runpod.ai/v2/<endpoint id>)",
            );
            // The local test server has no authentication.
            let api_key = match local_server {
                true => get("RUNPOD_API_KEY").unwrap_or_default(),
                false => required("RUNPOD_API_KEY", "RUNPOD_API_KEY"),
            };
            ProviderConfig::RunPod {
                base_url: url(base_url),
                api_key: Secret::new(api_key),
                local_server,
            }
        }
        Some("polling") => ProviderConfig::Polling {
            base_url: url(required(
                "POLLING_ENDPOINT_URL",
                "POLLING_ENDPOINT_URL (the RunPod-shaped endpoint's base URL)",
            )),
            api_key: Secret::new(get("POLLING_API_KEY").unwrap_or_default()),
        },
        Some("replicate") => ProviderConfig::Replicate {
            api_url: url(
                get("REPLICATE_API_URL").unwrap_or_else(|| "https://api.replicate.com/v1".into()),
            ),
            api_token: Secret::new(required("REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN")),
            model: required(
                "REPLICATE_MODEL",
                "REPLICATE_MODEL (owner/name or owner/name:version)",
            ),
            image_input: get("REPLICATE_IMAGE_INPUT").unwrap_or_else(|| "image".into()),
            webhook_secret: Secret::new(required(
                "REPLICATE_WEBHOOK_SECRET",
                "REPLICATE_WEBHOOK_SECRET (whsec_..., from GET /v1/webhooks/default/secret)",
            )),
        },
        Some("comfyui") => ProviderConfig::ComfyUi {
            url: url(get("COMFYUI_URL").unwrap_or_else(|| "http://127.0.0.1:8188".into())),
            workflow_path: PathBuf::from(required(
                "COMFYUI_WORKFLOW",
                "COMFYUI_WORKFLOW (an API-format workflow JSON file)",
            )),
            input_node: required(
                "COMFYUI_INPUT_NODE",
                "COMFYUI_INPUT_NODE (the id of the workflow's LoadImage node)",
            ),
            output_node: required(
                "COMFYUI_OUTPUT_NODE",
                "COMFYUI_OUTPUT_NODE (the id of the workflow's SaveImage node)",
            ),
        },
        // Its settings (LAMBDA_FUNCTION_NAME, …) are read with the SNS section.
        Some("lambda") => ProviderConfig::Lambda,
        Some(other) => bail!(
            "REKINDLE_PROVIDER must be builtin, runpod, polling, replicate, comfyui or lambda, not {other:?}"
        ),
    };

    Ok(provider)
}

fn storage_config(
    get: &impl Fn(&str) -> Option<String>,
    missing: &mut Vec<&'static str>,
) -> anyhow::Result<StorageConfig> {
    match get("REKINDLE_STORAGE").as_deref() {
        None | Some("local") => Ok(StorageConfig::Local),
        Some("s3") => {
            let mut required = |name: &'static str, hint: &'static str| {
                get(name).unwrap_or_else(|| {
                    missing.push(hint);
                    String::new()
                })
            };
            let bucket = required("S3_BUCKET", "S3_BUCKET (the bucket photos are kept in)");
            let access_key_id = required("S3_ACCESS_KEY_ID", "S3_ACCESS_KEY_ID");
            let secret_access_key = required("S3_SECRET_ACCESS_KEY", "S3_SECRET_ACCESS_KEY");
            let endpoint = get("S3_ENDPOINT").map(|url| url.trim_end_matches('/').to_string());
            let force_path_style = match get("S3_FORCE_PATH_STYLE").as_deref() {
                None => endpoint.is_some(),
                Some("true" | "1") => true,
                Some("false" | "0") => false,
                Some(other) => bail!("S3_FORCE_PATH_STYLE must be true or false, not {other:?}"),
            };
            Ok(StorageConfig::S3(S3Config {
                bucket,
                region: get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                endpoint,
                force_path_style,
                access_key_id: Secret::new(access_key_id),
                secret_access_key: Secret::new(secret_access_key),
            }))
        }
        Some(other) => bail!("REKINDLE_STORAGE must be local or s3, not {other:?}"),
    }
}

/// SNS topics and the Lambda function (`SNS_TOPIC_ARNS`, `LAMBDA_*`, `AWS_*`).
#[derive(Debug, Clone, Default)]
pub struct SnsConfig {
    /// Topics whose messages `POST /api/webhooks/sns` accepts; every other topic is refused.
    pub topic_arns: Vec<String>,
    /// Set when `LAMBDA_FUNCTION_NAME` is.
    pub lambda: Option<LambdaConfig>,
}

/// An AWS Lambda function that restores photos and reports through SNS.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// A function name, ARN or partial ARN, optionally with a `:qualifier`.
    pub function_name: String,
    pub region: String,
    /// The topic the function publishes its reports to; one of [`SnsConfig::topic_arns`].
    pub reply_topic_arn: String,
    /// Lambda's API URL for emulators; `None` means AWS itself.
    pub endpoint: Option<String>,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

fn sns_config(
    get: &impl Fn(&str) -> Option<String>,
    missing: &mut Vec<&'static str>,
) -> anyhow::Result<SnsConfig> {
    let topic_arns: Vec<String> = get("SNS_TOPIC_ARNS")
        .unwrap_or_default()
        .split(',')
        .map(|arn| arn.trim().to_string())
        .filter(|arn| !arn.is_empty())
        .collect();
    if let Some(bad) = topic_arns.iter().find(|arn| !is_sns_topic_arn(arn)) {
        bail!("SNS_TOPIC_ARNS must list arn:aws:sns:<region>:<account>:<topic> ARNs, not {bad:?}");
    }
    let function_name = get("LAMBDA_FUNCTION_NAME");
    if function_name.is_none() && get("REKINDLE_PROVIDER").as_deref() == Some("lambda") {
        missing.push("LAMBDA_FUNCTION_NAME (the function that restores photos)");
    }
    let Some(function_name) = function_name else {
        return Ok(SnsConfig {
            topic_arns,
            lambda: None,
        });
    };

    let reply_topic_arn = get("LAMBDA_REPLY_TOPIC_ARN").or_else(|| topic_arns.first().cloned());
    match &reply_topic_arn {
        None => missing.push("SNS_TOPIC_ARNS (the topic the Lambda function publishes to)"),
        Some(arn) if !topic_arns.contains(arn) => {
            bail!("LAMBDA_REPLY_TOPIC_ARN must be one of SNS_TOPIC_ARNS, not {arn:?}")
        }
        Some(_) => {}
    }
    let mut required = |name: &'static str| {
        get(name).unwrap_or_else(|| {
            missing.push(name);
            String::new()
        })
    };
    let access_key_id = required("AWS_ACCESS_KEY_ID");
    let secret_access_key = required("AWS_SECRET_ACCESS_KEY");
    let lambda = LambdaConfig {
        function_name,
        region: get("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        reply_topic_arn: reply_topic_arn.unwrap_or_default(),
        endpoint: get("LAMBDA_ENDPOINT_URL").map(|url| url.trim_end_matches('/').to_string()),
        access_key_id: Secret::new(access_key_id),
        secret_access_key: Secret::new(secret_access_key),
        session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
    };

    Ok(SnsConfig {
        topic_arns,
        lambda: Some(lambda),
    })
}

/// `arn:<partition>:sns:<region>:<account>:<topic>`, each part present.
fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && parts[3..].iter().all(|part| !part.is_empty())
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} has an invalid value {raw:?}")),
    }
}

/// Development keeps a random key in the data folder so sessions survive restarts.
fn dev_secret(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("dev-secret-key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().to_string());
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("Failed to create the data folder {}", data_dir.display()))?;
    let key = crate::auth::random_token(32);
    std::fs::write(&path, &key).with_context(|| format!("Failed to write {}", path.display()))?;

    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| vars.get(name).cloned())
    }

    #[test]
    fn production_without_secrets_names_each_missing_setting() {
        let err = config(&[("REKINDLE_ENV", "production")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("REKINDLE_SECRET_KEY"), "{err}");
        assert!(err.contains("REKINDLE_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn production_with_settings_starts() {
        let config = config(&[
            ("REKINDLE_ENV", "production"),
            ("REKINDLE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("REKINDLE_PUBLIC_URL", "https://photos.example.org/"),
        ])
        .unwrap();
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://photos.example.org")
        );
        assert_eq!(config.signed_url_ttl, Duration::from_secs(900));
    }

    #[test]
    fn signed_url_lifetime_outside_the_allowed_range_is_refused() {
        let dir = std::env::temp_dir().join(format!("rekindle-config-{}", uuid::Uuid::new_v4()));
        let dir = dir.to_string_lossy().to_string();
        for bad in ["59", "3601", "ten"] {
            let result = config(&[
                ("REKINDLE_DATA_DIR", &dir),
                ("REKINDLE_SIGNED_URL_TTL_SECS", bad),
            ]);
            assert!(result.is_err(), "ttl {bad} was accepted");
        }
    }

    #[test]
    fn s3_storage_without_bucket_or_credentials_names_each_missing_setting() {
        let err = config(&[
            ("REKINDLE_ENV", "production"),
            ("REKINDLE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("REKINDLE_PUBLIC_URL", "https://photos.example.org"),
            ("REKINDLE_STORAGE", "s3"),
        ])
        .unwrap_err()
        .to_string();
        for name in ["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] {
            assert!(err.contains(name), "{name} not named in: {err}");
        }
    }

    #[test]
    fn s3_storage_with_an_endpoint_uses_path_style_by_default() {
        let config = config(&[
            ("REKINDLE_ENV", "production"),
            ("REKINDLE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("REKINDLE_PUBLIC_URL", "https://photos.example.org"),
            ("REKINDLE_STORAGE", "s3"),
            ("S3_BUCKET", "photos"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("S3_ACCESS_KEY_ID", "key"),
            ("S3_SECRET_ACCESS_KEY", "secret"),
        ])
        .unwrap();
        let StorageConfig::S3(s3) = config.storage else {
            panic!("s3 storage expected, got {:?}", config.storage);
        };
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(s3.force_path_style);
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(format!("{:?}", s3.secret_access_key), "Secret(***)");
    }

    #[test]
    fn lambda_without_credentials_or_topic_names_each_missing_setting() {
        let err = config(&[
            ("REKINDLE_ENV", "production"),
            ("REKINDLE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("REKINDLE_PUBLIC_URL", "https://photos.example.org"),
            ("LAMBDA_FUNCTION_NAME", "rekindle-restore"),
        ])
        .unwrap_err()
        .to_string();
        for name in [
            "SNS_TOPIC_ARNS",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(err.contains(name), "{name} not named in: {err}");
        }
    }

    #[test]
    fn malformed_topic_arns_are_refused() {
        for bad in [
            "rekindle",
            "arn:aws:sqs:us-east-1:1:q",
            "arn:aws:sns:us-east-1::topic",
        ] {
            let result = config(&[
                ("REKINDLE_ENV", "production"),
                ("REKINDLE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
                ("REKINDLE_PUBLIC_URL", "https://photos.example.org"),
                ("SNS_TOPIC_ARNS", bad),
            ]);
            assert!(result.is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn secret_is_not_printed_by_debug() {
        let secret = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
