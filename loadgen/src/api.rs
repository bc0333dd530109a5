//! Rekindle's JSON API as a browser uses it, with a bearer token.

use anyhow::{bail, Context};
use app::model::JobView;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .expect("a plain HTTP client builds"),
            base: base.to_string(),
        }
    }

    /// Uploads a photo; returns its id.
    pub async fn upload_photo(
        &self,
        token: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Uuid> {
        let part = Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("image/png")?;
        let response = self
            .http
            .post(format!("{}/api/photos", self.base))
            .bearer_auth(token)
            .multipart(Form::new().part("photo", part))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.context("upload answer is not JSON")?;
        if !status.is_success() {
            bail!("upload refused with {status}: {body}");
        }
        body["id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .context("upload answer has no id")
    }

    /// Starts a restoration of `photo_id` with the default options.
    pub async fn restore(&self, token: &str, photo_id: Uuid) -> anyhow::Result<JobView> {
        let response = self
            .http
            .post(format!("{}/api/jobs/restore", self.base))
            .bearer_auth(token)
            .json(&json!({ "photo_id": photo_id }))
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            bail!("restore refused with {status}: {}", response.text().await?);
        }
        Ok(response.json().await?)
    }
}

/// A small PNG, different for each `n`, so each upload is a distinct photo.
pub fn small_png(n: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, (n % 251) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    out.into_inner()
}
