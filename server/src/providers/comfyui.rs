//! A self-hosted ComfyUI: upload the photo (`POST /upload/image`), queue the configured
//! API-format workflow under our job's UUID (`POST /prompt`), and follow ComfyUI's own
//! WebSocket (`/ws?clientId=`) for `progress`, `execution_error` and the final `executing`
//! with `node: null`; the outcome is then read from `GET /history/{id}`, the result from
//! `GET /view`.
//!
//! One WebSocket per server instance carries every job's events: ComfyUI sends a prompt's
//! events only to the socket whose id was given with the prompt, and drops them when that
//! socket is not connected. After a reconnect the jobs are handed to the reconciler, which
//! asks `/queue` and `/history` — the only polling, and only for events that were lost.

use super::{http, ProviderError, Pushed, PushedReports, Submission};
use crate::jobs::state::ProviderUpdate;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The largest photo we hand to ComfyUI (its own default upload limit is 100 MB).
const MAX_SOURCE_BYTES: u64 = 100 * 1024 * 1024;

/// A client for one ComfyUI server and one restoration workflow.
#[derive(Debug, Clone)]
pub struct ComfyUiClient {
    base_url: String,
    /// Our WebSocket's id; prompts carry it so their events come to us.
    client_id: String,
    workflow: Arc<Workflow>,
    http: reqwest::Client,
}

/// An API-format workflow ("Workflow > Export (API)") and its two named nodes.
#[derive(Debug)]
pub struct Workflow {
    pub graph: Value,
    /// The `LoadImage` node whose `image` input receives the uploaded photo.
    pub input_node: String,
    /// The `SaveImage` node whose first image is the result.
    pub output_node: String,
}

impl Workflow {
    /// Checks that the graph is API-format JSON with both named nodes.
    pub fn new(graph: Value, input_node: &str, output_node: &str) -> anyhow::Result<Workflow> {
        let node = |id: &str| graph.get(id).and_then(|node| node.get("inputs"));
        if !graph.is_object() {
            anyhow::bail!(
                "the workflow is not an API-format JSON object (Workflow > Export (API))"
            );
        }
        if node(input_node)
            .and_then(|inputs| inputs.get("image"))
            .is_none()
        {
            anyhow::bail!("the workflow has no node {input_node:?} with an `image` input");
        }
        if node(output_node).is_none() {
            anyhow::bail!("the workflow has no node {output_node:?}");
        }

        Ok(Workflow {
            graph,
            input_node: input_node.to_string(),
            output_node: output_node.to_string(),
        })
    }

    /// The graph for one job: its uploaded photo in, its own file-name prefix out (so
    /// ComfyUI's cache never hands one job another's result).
    fn for_job(&self, image_name: &str, job_id: uuid::Uuid) -> Value {
        let mut graph = self.graph.clone();
        graph[&self.input_node]["inputs"]["image"] = json!(image_name);
        let output = &mut graph[&self.output_node]["inputs"];
        if output.get("filename_prefix").is_some() {
            output["filename_prefix"] = json!(format!("rekindle-{job_id}"));
        }
        graph
    }
}

impl ComfyUiClient {
    pub fn new(base_url: String, workflow: Workflow, http: reqwest::Client) -> ComfyUiClient {
        ComfyUiClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: uuid::Uuid::new_v4().to_string(),
            workflow: Arc::new(workflow),
            http,
        }
    }

    /// Opens the WebSocket (and keeps reopening it); its reports arrive on the receiver. The
    /// connection task ends when the receiver is dropped.
    pub fn follow(&self) -> PushedReports {
        let (sender, receiver) = mpsc::unbounded_channel();
        let ws_base = self
            .base_url
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        let url = format!("{ws_base}/ws?clientId={}", self.client_id);
        tokio::spawn(follow_socket(url, sender));
        receiver
    }

    pub async fn submit(&self, submission: &Submission) -> Result<String, ProviderError> {
        let photo = http::fetch_limited(
            &self.http,
            &submission.source_url,
            &self.base_url,
            None,
            MAX_SOURCE_BYTES,
        )
        .await?;
        let file_name = format!("rekindle-{}.{}", submission.job_id, extension(&photo));
        let form = reqwest::multipart::Form::new()
            .part(
                "image",
                reqwest::multipart::Part::bytes(photo.to_vec()).file_name(file_name),
            )
            .text("overwrite", "true")
            .text("type", "input");
        let uploaded = http::call_json(
            self.http
                .post(format!("{}/upload/image", self.base_url))
                .multipart(form),
        )
        .await?;
        // ComfyUI may rename the file; the workflow must load the name it chose.
        let name = uploaded
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Rejected("the upload answer had no name".into()))?;

        let body = json!({
            "prompt": self.workflow.for_job(name, submission.job_id),
            "client_id": self.client_id,
            "prompt_id": submission.job_id.to_string(),
        });
        let queued = http::call_json(
            self.http
                .post(format!("{}/prompt", self.base_url))
                .json(&body),
        )
        .await?;
        let id = queued.get("prompt_id").and_then(Value::as_str);

        id.map(str::to_string)
            .ok_or_else(|| ProviderError::Rejected("the /prompt answer had no prompt_id".into()))
    }

    /// Where a prompt is: in the queue, in the history, or unknown (ComfyUI keeps both in
    /// memory only). The queue is read first: a prompt leaves it only after its history
    /// entry is written, so "in neither" really means unknown.
    pub async fn status(&self, prompt_id: &str) -> Result<ProviderUpdate, ProviderError> {
        let queue = http::call_json(self.http.get(format!("{}/queue", self.base_url))).await?;
        let listed = |key: &str| {
            queue[key].as_array().is_some_and(|entries| {
                entries
                    .iter()
                    .any(|entry| entry.get(1).and_then(Value::as_str) == Some(prompt_id))
            })
        };
        if listed("queue_running") {
            return Ok(ProviderUpdate::Running {
                percent: None,
                stage: None,
            });
        }
        if listed("queue_pending") {
            return Ok(ProviderUpdate::Queued);
        }

        let url = format!("{}/history/{prompt_id}", self.base_url);
        let history = http::call_json(self.http.get(url)).await?;
        match history.get(prompt_id) {
            Some(entry) => Ok(self.outcome(entry)),
            None => Err(ProviderError::UnknownJob),
        }
    }

    /// Removes the prompt from the queue, or interrupts it if it is running.
    pub async fn cancel(&self, prompt_id: &str) -> Result<(), ProviderError> {
        let queue = format!("{}/queue", self.base_url);
        http::call_json(
            self.http
                .post(queue)
                .json(&json!({ "delete": [prompt_id] })),
        )
        .await?;
        let interrupt = format!("{}/interrupt", self.base_url);
        http::call_json(
            self.http
                .post(interrupt)
                .json(&json!({ "prompt_id": prompt_id })),
        )
        .await
        .map(|_| ())
    }

    pub async fn fetch_output(&self, url: &str, limit: u64) -> Result<Bytes, ProviderError> {
        http::fetch_limited(&self.http, url, &self.base_url, None, limit).await
    }

    /// A finished history entry in our words.
    fn outcome(&self, entry: &Value) -> ProviderUpdate {
        let status = &entry["status"];
        let messages = status["messages"].as_array().cloned().unwrap_or_default();
        let message = |kind: &str| {
            messages
                .iter()
                .find(|m| m.get(0).and_then(Value::as_str) == Some(kind))
                .map(|m| m[1].clone())
        };
        if message("execution_interrupted").is_some() {
            return ProviderUpdate::Cancelled;
        }
        if status["status_str"] != "success" {
            return ProviderUpdate::Failed {
                reason: error_reason(message("execution_error").as_ref()),
            };
        }
        let image = &entry["outputs"][&self.workflow.output_node]["images"][0];
        match image["filename"].as_str() {
            Some(file_name) => {
                let query = serde_urlencoded_pairs(&[
                    ("filename", file_name),
                    ("subfolder", image["subfolder"].as_str().unwrap_or_default()),
                    ("type", image["type"].as_str().unwrap_or("output")),
                ]);
                ProviderUpdate::Succeeded {
                    output_url: format!("{}/view?{query}", self.base_url),
                }
            }
            None => ProviderUpdate::Failed {
                reason: "The restoration finished without a result image.".into(),
            },
        }
    }
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The extension ComfyUI should see for the photo's bytes.
fn extension(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, ..] => "jpg",
        [0x89, b'P', b'N', b'G', ..] => "png",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "webp",
        _ => "img",
    }
}

fn error_reason(error: Option<&Value>) -> String {
    let text = error
        .and_then(|data| data["exception_message"].as_str())
        .and_then(|text| text.lines().next())
        .unwrap_or_default();
    let text: String = text.chars().take(300).collect();
    if text.trim().is_empty() {
        "The restoration workflow failed.".into()
    } else {
        text
    }
}

/// Keeps one WebSocket to ComfyUI open, reconnecting with backoff, until nobody listens.
async fn follow_socket(url: String, reports: mpsc::UnboundedSender<Pushed>) {
    let mut delay = Duration::from_millis(250);
    let mut connected_before = false;
    while !reports.is_closed() {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((mut socket, _)) => {
                delay = Duration::from_millis(250);
                if connected_before && reports.send(Pushed::Reconnected).is_err() {
                    return;
                }
                connected_before = true;
                tracing::info!(provider = "comfyui", "ComfyUI WebSocket connected");
                while let Some(Ok(message)) = socket.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    if let Some(report) = read_event(&text) {
                        if reports.send(report).is_err() {
                            return;
                        }
                    }
                }
                tracing::warn!(
                    provider = "comfyui",
                    "ComfyUI WebSocket closed; reconnecting"
                );
            }
            Err(err) => {
                tracing::debug!(provider = "comfyui", error = %err, "ComfyUI WebSocket unavailable");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// One WebSocket message in our words; `None` for the many we do not need.
pub fn read_event(text: &str) -> Option<Pushed> {
    let event: Value = serde_json::from_str(text).ok()?;
    let data = &event["data"];
    let provider_job_id = data["prompt_id"].as_str()?.to_string();
    let update = match event["type"].as_str()? {
        "execution_start" => ProviderUpdate::Running {
            percent: None,
            stage: None,
        },
        "progress" => {
            let (value, max) = (data["value"].as_u64()?, data["max"].as_u64()?);
            ProviderUpdate::Running {
                percent: Some((value * 100 / max.max(1)).min(100) as u8),
                stage: Some("restoring".into()),
            }
        }
        "execution_error" => ProviderUpdate::Failed {
            reason: error_reason(Some(data)),
        },
        // History is written before this message is sent: the outcome can be read now.
        "executing" if data["node"].is_null() => return Some(Pushed::Finished { provider_job_id }),
        _ => return None,
    };

    Some(Pushed::Update {
        provider_job_id,
        update,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_events_map_to_reports() {
        let id = "0b0e8c1e-3f5a-4c1e-9a57-0d7c1b1f3a01";
        let cases = [
            (
                json!({"type": "progress", "data": {"value": 3, "max": 4, "prompt_id": id, "node": "2"}}),
                Some(Pushed::Update {
                    provider_job_id: id.into(),
                    update: ProviderUpdate::Running {
                        percent: Some(75),
                        stage: Some("restoring".into()),
                    },
                }),
            ),
            (
                json!({"type": "executing", "data": {"node": null, "prompt_id": id}}),
                Some(Pushed::Finished {
                    provider_job_id: id.into(),
                }),
            ),
            (
                json!({"type": "executing", "data": {"node": "2", "prompt_id": id}}),
                None,
            ),
            (
                json!({"type": "execution_error", "data": {"prompt_id": id, "exception_message": "bad image\nTraceback"}}),
                Some(Pushed::Update {
                    provider_job_id: id.into(),
                    update: ProviderUpdate::Failed {
                        reason: "bad image".into(),
                    },
                }),
            ),
            (
                json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}}}),
                None,
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(read_event(&event.to_string()), expected, "{event}");
        }
    }

    #[test]
    fn a_workflow_must_name_its_input_and_output_nodes() {
        let graph = json!({
            "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "p"}}
        });
        assert!(Workflow::new(graph.clone(), "1", "3").is_ok());
        assert!(Workflow::new(graph.clone(), "3", "3").is_err());
        assert!(Workflow::new(graph, "1", "9").is_err());
        let job = uuid::Uuid::new_v4();
        let workflow = Workflow::new(
            json!({"1": {"inputs": {"image": ""}}, "3": {"inputs": {"filename_prefix": ""}}}),
            "1",
            "3",
        )
        .unwrap();
        let graph = workflow.for_job("rekindle-x.jpg", job);
        assert_eq!(graph["1"]["inputs"]["image"], "rekindle-x.jpg");
        assert_eq!(
            graph["3"]["inputs"]["filename_prefix"],
            format!("rekindle-{job}")
        );
    }
}
