//! Uploading photos: pick or drop several files; each shows its own state and error.

use leptos::prelude::*;

/// Where one file's upload is.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "uploads only start in the browser")
)]
enum UploadState {
    Uploading,
    Done,
    Failed(String),
}

#[derive(Debug, Clone)]
struct UploadItem {
    key: u32,
    name: String,
    state: RwSignal<UploadState>,
}

/// A file picker that uploads what is chosen at once; `on_uploaded` runs after each success.
#[component]
pub fn Uploader(#[prop(into)] on_uploaded: Callback<()>) -> impl IntoView {
    let items = RwSignal::new(Vec::<UploadItem>::new());
    let next_key = StoredValue::new(0u32);
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        start_uploads(&ev, items, next_key, on_uploaded);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, next_key, on_uploaded);
    };

    view! {
        <section class="uploader">
            <label class="upload-drop">
                <span class="upload-title">"Add photos"</span>
                <span class="upload-hint">"JPEG, PNG, WebP, GIF or TIFF, up to 50 MB each. Choose several at once."</span>
                <input
                    type="file"
                    name="photo"
                    accept="image/jpeg,image/png,image/webp,image/gif,image/tiff"
                    multiple
                    data-testid="upload-input"
                    on:change=on_change
                />
            </label>
            <ul class="upload-list">
                <For each=move || items.get() key=|item| item.key let:item>
                    <UploadRow item />
                </For>
            </ul>
        </section>
    }
}

#[component]
fn UploadRow(item: UploadItem) -> impl IntoView {
    let state = item.state;
    let label = move || match state.get() {
        UploadState::Uploading => "Uploading…".to_string(),
        UploadState::Done => "Uploaded".to_string(),
        UploadState::Failed(message) => message,
    };
    let data_state = move || match state.get() {
        UploadState::Uploading => "uploading",
        UploadState::Done => "done",
        UploadState::Failed(_) => "error",
    };

    view! {
        <li class="upload-item" data-testid="upload-item" data-state=data_state>
            <span class="upload-name">{item.name}</span>
            <span class="upload-state" role="status">{label}</span>
        </li>
    }
}

#[cfg(feature = "hydrate")]
fn start_uploads(
    ev: &leptos::ev::Event,
    items: RwSignal<Vec<UploadItem>>,
    next_key: StoredValue<u32>,
    on_uploaded: Callback<()>,
) {
    use wasm_bindgen::JsCast;

    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    let Some(files) = input.files() else { return };
    for index in 0..files.length() {
        let Some(file) = files.item(index) else {
            continue;
        };
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        let item = UploadItem {
            key,
            name: file.name(),
            state: RwSignal::new(UploadState::Uploading),
        };
        let state = item.state;
        items.update(|list| list.push(item));
        leptos::task::spawn_local(async move {
            match upload_file(file).await {
                Ok(()) => {
                    state.set(UploadState::Done);
                    on_uploaded.run(());
                }
                Err(message) => state.set(UploadState::Failed(message)),
            }
        });
    }
    input.set_value("");
}

#[cfg(feature = "hydrate")]
async fn upload_file(file: web_sys::File) -> Result<(), String> {
    use crate::model::ErrorBody;

    let offline = || "The upload did not reach the server. Check your connection.".to_string();
    let form = web_sys::FormData::new().map_err(|_| offline())?;
    form.append_with_blob_and_filename("photo", &file, &file.name())
        .map_err(|_| offline())?;
    let response = gloo_net::http::Request::post("/api/photos")
        .body(form)
        .map_err(|_| offline())?
        .send()
        .await
        .map_err(|_| offline())?;
    if response.ok() {
        return Ok(());
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(body.message),
        Err(_) => Err(format!(
            "The server refused the file (HTTP {}).",
            response.status()
        )),
    }
}
