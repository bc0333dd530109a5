//! A fake ComfyUI server: `POST /upload/image`, `POST /prompt`, `GET /queue`,
//! `GET /history/{id}`, `GET /view`, `POST /queue` (delete), `POST /interrupt`, and the
//! `/ws?clientId=` WebSocket. The test runs each prompt by hand (start, progress, finish) and
//! can mute events or drop the socket, as a restarting proxy would.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// One queued prompt as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: String,
    pub client_id: String,
    pub graph: Value,
    pub running: bool,
}

#[derive(Default)]
struct Inner {
    files: HashMap<String, Vec<u8>>,
    prompts: Vec<Prompt>,
    history: HashMap<String, Value>,
    sockets: HashMap<String, mpsc::UnboundedSender<String>>,
    connections: u32,
    muted: bool,
}

#[derive(Clone)]
pub struct FakeComfyUi {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// The test workflow: load, sharpen, save — nodes "1" (input) and "3" (output).
pub fn workflow() -> Value {
    json!({
        "1": {"class_type": "LoadImage", "inputs": {"image": "placeholder.png"}},
        "2": {"class_type": "ImageSharpen", "inputs": {"image": ["1", 0], "sharpen_radius": 1, "sigma": 1.0, "alpha": 1.0}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "ComfyUI"}}
    })
}

impl FakeComfyUi {
    pub async fn start() -> FakeComfyUi {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/upload/image", post(upload))
            .route("/prompt", post(queue_prompt))
            .route("/queue", get(read_queue).post(delete_from_queue))
            .route("/interrupt", post(interrupt))
            .route("/history/{id}", get(history))
            .route("/view", get(view))
            .route("/ws", get(socket))
            .with_state(inner.clone());
        FakeComfyUi {
            base: super::serve(router).await,
            inner,
        }
    }

    /// Server settings for this fake, with the workflow written to `dir`.
    pub fn app_vars(&self, dir: &std::path::Path) -> Vec<(&'static str, String)> {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("workflow.json");
        std::fs::write(&path, workflow().to_string()).unwrap();
        vec![
            ("REKINDLE_PROVIDER", "comfyui".into()),
            ("COMFYUI_URL", self.base.clone()),
            ("COMFYUI_WORKFLOW", path.display().to_string()),
            ("COMFYUI_INPUT_NODE", "1".into()),
            ("COMFYUI_OUTPUT_NODE", "3".into()),
        ]
    }

    pub fn prompts(&self) -> Vec<Prompt> {
        self.inner.lock().unwrap().prompts.clone()
    }

    pub fn connections(&self) -> u32 {
        self.inner.lock().unwrap().connections
    }

    pub async fn wait_for_prompts(&self, count: usize) -> Vec<Prompt> {
        for _ in 0..400 {
            if self.prompts().len() >= count {
                return self.prompts();
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!(
            "only {} of {count} prompts were queued",
            self.prompts().len()
        );
    }

    pub async fn wait_for_socket(&self, connections: u32) {
        for _ in 0..400 {
            if self.connections() >= connections {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the server never opened WebSocket number {connections}");
    }

    /// While muted, events are lost, as they are when ComfyUI's socket is not connected.
    pub fn mute(&self, muted: bool) {
        self.inner.lock().unwrap().muted = muted;
    }

    /// Closes every socket.
    pub fn disconnect(&self) {
        self.inner.lock().unwrap().sockets.clear();
    }

    pub fn start_prompt(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(prompt) = inner.prompts.iter_mut().find(|p| p.id == id) {
            prompt.running = true;
        }
        send(
            &inner,
            id,
            json!({"type": "execution_start", "data": {"prompt_id": id, "timestamp": 1}}),
        );
        send(
            &inner,
            id,
            json!({"type": "executing", "data": {"node": "2", "display_node": "2", "prompt_id": id}}),
        );
    }

    pub fn progress(&self, id: &str, value: u32, max: u32) {
        let inner = self.inner.lock().unwrap();
        send(
            &inner,
            id,
            json!({"type": "progress", "data": {"value": value, "max": max, "prompt_id": id, "node": "2"}}),
        );
    }

    /// Saves the uploaded photo as the result, writes history, then says `executing: null`.
    pub fn succeed(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap();
        let prompt = inner
            .prompts
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .expect("known prompt");
        let input = prompt.graph["1"]["inputs"]["image"]
            .as_str()
            .unwrap()
            .to_string();
        let prefix = prompt.graph["3"]["inputs"]["filename_prefix"]
            .as_str()
            .unwrap()
            .to_string();
        let output = format!("{prefix}_00001_.png");
        let bytes = inner.files[&input].clone();
        inner.files.insert(output.clone(), bytes);
        inner.history.insert(id.into(), json!({
            "prompt": [0, id, prompt.graph, {}, ["3"]],
            "outputs": {"3": {"images": [{"filename": output, "subfolder": "", "type": "output"}]}},
            "status": {"status_str": "success", "completed": true, "messages": [["execution_success", {"prompt_id": id}]]},
            "meta": {}
        }));
        inner
            .prompts
            .iter_mut()
            .filter(|p| p.id == id)
            .for_each(|p| p.running = false);
        send(
            &inner,
            id,
            json!({"type": "executed", "data": {"node": "3", "output": {"images": []}, "prompt_id": id}}),
        );
        send(
            &inner,
            id,
            json!({"type": "execution_success", "data": {"prompt_id": id}}),
        );
        send(
            &inner,
            id,
            json!({"type": "executing", "data": {"node": null, "prompt_id": id}}),
        );
    }

    pub fn fail(&self, id: &str, message: &str) {
        let mut inner = self.inner.lock().unwrap();
        let error = json!({"prompt_id": id, "node_id": "2", "node_type": "ImageSharpen", "exception_message": message, "exception_type": "RuntimeError", "traceback": ["..."]});
        send(
            &inner,
            id,
            json!({"type": "execution_error", "data": error.clone()}),
        );
        inner.history.insert(id.into(), json!({
            "outputs": {},
            "status": {"status_str": "error", "completed": false, "messages": [["execution_error", error]]}
        }));
        inner
            .prompts
            .iter_mut()
            .filter(|p| p.id == id)
            .for_each(|p| p.running = false);
        send(
            &inner,
            id,
            json!({"type": "executing", "data": {"node": null, "prompt_id": id}}),
        );
    }
}

/// Sends a prompt's event to the socket of the client that queued it, as ComfyUI does.
fn send(inner: &Inner, prompt_id: &str, event: Value) {
    if inner.muted {
        return;
    }
    let Some(prompt) = inner.prompts.iter().find(|p| p.id == prompt_id) else {
        return;
    };
    if let Some(socket) = inner.sockets.get(&prompt.client_id) {
        let _ = socket.send(event.to_string());
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn upload(State(inner): Shared, mut form: Multipart) -> impl IntoResponse {
    let mut saved = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("image") {
            let name = field.file_name().unwrap_or("upload.png").to_string();
            let bytes = field.bytes().await.unwrap().to_vec();
            inner.lock().unwrap().files.insert(name.clone(), bytes);
            saved = Some(name);
        }
    }
    match saved {
        Some(name) => (
            StatusCode::OK,
            Json(json!({"name": name, "subfolder": "", "type": "input"})),
        ),
        None => (StatusCode::BAD_REQUEST, Json(json!({}))),
    }
}

async fn queue_prompt(State(inner): Shared, Json(body): Json<Value>) -> impl IntoResponse {
    let mut inner = inner.lock().unwrap();
    let image = body["prompt"]["1"]["inputs"]["image"]
        .as_str()
        .unwrap_or_default();
    if !inner.files.contains_key(image) {
        let error = json!({"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}});
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": error, "node_errors": {}})),
        );
    }
    let id = body["prompt_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    inner.prompts.push(Prompt {
        id: id.clone(),
        client_id: body["client_id"].as_str().unwrap_or_default().into(),
        graph: body["prompt"].clone(),
        running: false,
    });
    let number = inner.prompts.len();
    (
        StatusCode::OK,
        Json(json!({"prompt_id": id, "number": number, "node_errors": {}})),
    )
}

async fn read_queue(State(inner): Shared) -> Json<Value> {
    let inner = inner.lock().unwrap();
    let entries = |running: bool| -> Vec<Value> {
        inner
            .prompts
            .iter()
            .filter(|p| p.running == running && !inner.history.contains_key(&p.id))
            .map(|p| json!([0, p.id, {}, {}, ["3"]]))
            .collect()
    };
    Json(json!({"queue_running": entries(true), "queue_pending": entries(false)}))
}

async fn delete_from_queue(State(inner): Shared, Json(body): Json<Value>) -> Json<Value> {
    let ids: Vec<String> = serde_json::from_value(body["delete"].clone()).unwrap_or_default();
    inner
        .lock()
        .unwrap()
        .prompts
        .retain(|p| p.running || !ids.contains(&p.id));
    Json(json!({}))
}

async fn interrupt(State(inner): Shared, Json(body): Json<Value>) -> Json<Value> {
    let mut inner = inner.lock().unwrap();
    if let Some(id) = body["prompt_id"].as_str() {
        if inner.prompts.iter().any(|p| p.id == id && p.running) {
            inner.history.insert(id.into(), json!({
                "outputs": {},
                "status": {"status_str": "error", "completed": false, "messages": [["execution_interrupted", {"prompt_id": id}]]}
            }));
        }
    }
    Json(json!({}))
}

async fn history(State(inner): Shared, Path(id): Path<String>) -> Json<Value> {
    let inner = inner.lock().unwrap();
    match inner.history.get(&id) {
        Some(entry) => Json(json!({ id: entry })),
        None => Json(json!({})),
    }
}

async fn view(
    State(inner): Shared,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Vec<u8>, StatusCode> {
    let name = query.get("filename").ok_or(StatusCode::BAD_REQUEST)?;
    inner
        .lock()
        .unwrap()
        .files
        .get(name)
        .cloned()
        .ok_or(StatusCode::NOT_FOUND)
}

async fn socket(
    State(inner): Shared,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> impl IntoResponse {
    let client_id = query.get("clientId").cloned().unwrap_or_default();
    upgrade.on_upgrade(move |socket| forward(socket, inner, client_id))
}

async fn forward(mut socket: WebSocket, inner: Arc<Mutex<Inner>>, client_id: String) {
    let (sender, mut events) = mpsc::unbounded_channel();
    {
        let mut inner = inner.lock().unwrap();
        inner.connections += 1;
        let hello = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id}});
        let _ = sender.send(hello.to_string());
        inner.sockets.insert(client_id, sender);
    }
    while let Some(event) = events.recv().await {
        if socket.send(Message::Text(event.into())).await.is_err() {
            return;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
