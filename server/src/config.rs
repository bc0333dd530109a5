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

/// Which provider runs new restoration jobs.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    /// The CPU worker inside this process, reached over HTTP like RunPod.
    Builtin { concurrency: usize },
    /// A RunPod serverless endpoint (or a separately run built-in worker).
    RunPod { base_url: String, api_key: Secret },
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
        })
    }
}

fn provider_config(
    get: &impl Fn(&str) -> Option<String>,
    missing: &mut Vec<&'static str>,
) -> anyhow::Result<ProviderConfig> {
    match get("REKINDLE_PROVIDER").as_deref() {
        None | Some("builtin") => Ok(ProviderConfig::Builtin {
            concurrency: parse_or(get, "REKINDLE_WORKER_CONCURRENCY", 1)?,
        }),
        Some("runpod") => {
            let base_url = get("RUNPOD_ENDPOINT_URL");
            let api_key = get("RUNPOD_API_KEY");
            if base_url.is_none() {
                missing.push("RUNPOD_ENDPOINT_URL (https://api.runpod.ai/v2/<endpoint id>)");
            }
            if api_key.is_none() {
                missing.push("RUNPOD_API_KEY");
            }
            Ok(ProviderConfig::RunPod {
                base_url: base_url
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string(),
                api_key: Secret::new(api_key.unwrap_or_default()),
            })
        }
        Some(other) => bail!("REKINDLE_PROVIDER must be builtin or runpod, not {other:?}"),
    }
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
    fn secret_is_not_printed_by_debug() {
        let secret = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
