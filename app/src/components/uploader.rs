//! Uploading photos: drop them on the page or pick several at once; each file shows its own
//! progress bar, a Cancel button while its bytes are on the way, and the server's reason if it
//! is refused.
//!
//! `fetch` cannot report upload progress, so each file goes up through its own
//! `XMLHttpRequest`, whose `upload.onprogress` events drive the bar.

use leptos::prelude::*;

/// Where one file's upload is.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "uploads only start in the browser")
)]
enum UploadState {
    /// Bytes are on the way.
    Uploading,
    /// Every byte arrived; the server is checking and storing the photo.
    Processing,
    Done,
    Failed(String),
    Cancelled,
}

impl UploadState {
    /// The value of `data-state`, stable for tests and styles.
    fn as_str(&self) -> &'static str {
        match self {
            UploadState::Uploading => "uploading",
            UploadState::Processing => "processing",
            UploadState::Done => "done",
            UploadState::Failed(_) => "error",
            UploadState::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone)]
struct UploadItem {
    key: u32,
    name: String,
    state: RwSignal<UploadState>,
    /// Share of the bytes sent, 0–100.
    percent: RwSignal<u8>,
}

/// The drop zone and file picker; uploads start as soon as files are chosen or dropped.
/// `on_uploaded` runs after each success.
#[component]
pub fn Uploader(#[prop(into)] on_uploaded: Callback<()>) -> impl IntoView {
    let items = RwSignal::new(Vec::<UploadItem>::new());
    let next_key = StoredValue::new(0u32);
    // dragenter and dragleave fire for every child too: count them to know when the file has
    // really left the zone.
    let drag_depth = RwSignal::new(0i32);
    let dragging = move || drag_depth.get() > 0;

    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                if let Some(files) = input.files() {
                    start_uploads(&files, items, next_key, on_uploaded);
                }
                input.set_value("");
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, next_key, on_uploaded);
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        drag_depth.set(0);
        #[cfg(feature = "hydrate")]
        if let Some(files) = ev.data_transfer().and_then(|t| t.files()) {
            start_uploads(&files, items, next_key, on_uploaded);
        }
    };

    view! {
        <section class="uploader" aria-labelledby="upload-heading">
            <div
                class="upload-drop"
                class:dragging=dragging
                data-testid="upload-drop"
                on:dragenter=move |ev| {
                    ev.prevent_default();
                    drag_depth.update(|d| *d += 1);
                }
                on:dragover=move |ev| ev.prevent_default()
                on:dragleave=move |_| drag_depth.update(|d| *d = (*d - 1).max(0))
                on:drop=on_drop
            >
                <h2 class="upload-title" id="upload-heading">"Add photos"</h2>
                <p class="upload-hint">
                    {move || if dragging() { "Drop them here to upload." } else { "Drag photos here, or choose them from your device." }}
                </p>
                <label class="button primary upload-pick">
                    "Choose photos"
                    <input
                        class="visually-hidden"
                        type="file"
                        name="photo"
                        accept="image/jpeg,image/png,image/webp,image/gif,image/tiff"
                        multiple
                        data-testid="upload-input"
                        on:change=on_change
                    />
                </label>
                <p class="upload-hint">"JPEG, PNG, WebP, GIF or TIFF, up to 50 MB each."</p>
            </div>
            <ul class="upload-list" aria-label="Uploads">
                <For each=move || items.get() key=|item| item.key let:item>
                    <UploadRow item />
                </For>
            </ul>
        </section>
    }
}

#[component]
fn UploadRow(item: UploadItem) -> impl IntoView {
    let UploadItem {
        key,
        name,
        state,
        percent,
    } = item;
    let label = move || match state.get() {
        UploadState::Uploading => "Uploading…".to_string(),
        UploadState::Processing => "Checking the photo…".to_string(),
        UploadState::Done => "Uploaded".to_string(),
        UploadState::Failed(message) => message,
        UploadState::Cancelled => "Cancelled — nothing was kept.".to_string(),
    };
    let sending = move || state.with(|s| *s == UploadState::Uploading);
    let show_bar =
        move || state.with(|s| matches!(s, UploadState::Uploading | UploadState::Processing));
    let progress_label = format!("Uploading {name}");
    let cancel_label = format!("Cancel uploading {name}");

    view! {
        <li class="upload-item" data-testid="upload-item" data-state=move || state.with(UploadState::as_str)>
            <span class="upload-name">{name}</span>
            <span class="upload-state" role="status" data-testid="upload-status">{label}</span>
            <Show when=show_bar>
                <span class="upload-percent" aria-hidden="true">{move || format!("{}%", percent.get())}</span>
                <progress
                    class="upload-progress"
                    data-testid="upload-progress"
                    max="100"
                    value=move || percent.get().to_string()
                    aria-label=progress_label.clone()
                ></progress>
            </Show>
            <Show when=sending>
                <button
                    type="button"
                    class="button small"
                    data-testid="upload-cancel"
                    aria-label=cancel_label.clone()
                    on:click=move |_| cancel_upload(key)
                >
                    "Cancel"
                </button>
            </Show>
        </li>
    }
}

/// Aborts the upload with this key, if its bytes are still on the way.
fn cancel_upload(key: u32) {
    #[cfg(feature = "hydrate")]
    browser::abort(key);
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}

#[cfg(feature = "hydrate")]
fn start_uploads(
    files: &web_sys::FileList,
    items: RwSignal<Vec<UploadItem>>,
    next_key: StoredValue<u32>,
    on_uploaded: Callback<()>,
) {
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
            percent: RwSignal::new(0),
        };
        items.update(|list| list.push(item.clone()));
        browser::send(file, item, on_uploaded);
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{UploadItem, UploadState};
    use crate::model::ErrorBody;
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{ProgressEvent, XmlHttpRequest};

    type Handler = Closure<dyn FnMut(ProgressEvent)>;

    thread_local! {
        /// Uploads whose bytes are still on the way, by item key, so Cancel can abort them.
        static IN_FLIGHT: RefCell<HashMap<u32, XmlHttpRequest>> = RefCell::new(HashMap::new());
    }

    pub fn abort(key: u32) {
        // Taken out first: `abort()` runs the abort handler at once, which looks here too.
        let request = IN_FLIGHT.with_borrow_mut(|map| map.remove(&key));
        if let Some(request) = request {
            let _ = request.abort();
        }
    }

    fn offline() -> String {
        "The upload did not reach the server. Check your connection and try again.".to_string()
    }

    /// Sends one file as the multipart field `photo` and reports into `item`.
    pub fn send(file: web_sys::File, item: UploadItem, on_uploaded: Callback<()>) {
        let UploadItem {
            key,
            state,
            percent,
            ..
        } = item;
        let fail = |message: String| {
            state.set(UploadState::Failed(message));
        };
        let Ok(form) = web_sys::FormData::new() else {
            return fail(offline());
        };
        if form
            .append_with_blob_and_filename("photo", &file, &file.name())
            .is_err()
        {
            return fail(offline());
        }
        let Ok(request) = XmlHttpRequest::new() else {
            return fail(offline());
        };
        if request
            .open_with_async("POST", "/api/photos", true)
            .is_err()
        {
            return fail(offline());
        }
        let Ok(upload) = request.upload() else {
            return fail(offline());
        };

        // The handlers live until the request ends, then drop themselves (after the event that
        // ended it has returned).
        let handlers: Rc<RefCell<Vec<Handler>>> = Rc::default();
        let finish = {
            let handlers = handlers.clone();
            move || {
                IN_FLIGHT.with_borrow_mut(|map| map.remove(&key));
                let done = std::mem::take(&mut *handlers.borrow_mut());
                wasm_bindgen_futures::spawn_local(async move { drop(done) });
            }
        };

        let on_progress = Handler::new(move |event: ProgressEvent| {
            if event.length_computable() && event.total() > 0.0 {
                let share = (event.loaded() / event.total() * 100.0).floor();
                percent.try_set(share.clamp(0.0, 100.0) as u8);
            }
        });
        let on_sent = Handler::new(move |_| {
            percent.try_set(100);
            if state.try_get_untracked() == Some(UploadState::Uploading) {
                state.try_set(UploadState::Processing);
            }
            // Past this point the server stores the photo whatever happens to the request.
            IN_FLIGHT.with_borrow_mut(|map| map.remove(&key));
        });
        let on_load = {
            let request = request.clone();
            let finish = finish.clone();
            Handler::new(move |_| {
                let status = request.status().unwrap_or(0);
                if (200..300).contains(&status) {
                    if state.try_set(UploadState::Done).is_none() {
                        on_uploaded.try_run(());
                    }
                } else {
                    let text = request.response_text().ok().flatten().unwrap_or_default();
                    let message = serde_json::from_str::<ErrorBody>(&text)
                        .map(|body| body.message)
                        .unwrap_or_else(|_| {
                            format!("The server refused the file (HTTP {status}).")
                        });
                    state.try_set(UploadState::Failed(message));
                }
                finish();
            })
        };
        let on_error = {
            let finish = finish.clone();
            Handler::new(move |_| {
                state.try_set(UploadState::Failed(offline()));
                finish();
            })
        };
        let on_abort = Handler::new(move |_| {
            state.try_set(UploadState::Cancelled);
            finish();
        });

        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        upload.set_onload(Some(on_sent.as_ref().unchecked_ref()));
        request.set_onload(Some(on_load.as_ref().unchecked_ref()));
        request.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        request.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
        handlers
            .borrow_mut()
            .extend([on_progress, on_sent, on_load, on_error, on_abort]);

        IN_FLIGHT.with_borrow_mut(|map| map.insert(key, request.clone()));
        if request.send_with_opt_form_data(Some(&form)).is_err() {
            IN_FLIGHT.with_borrow_mut(|map| map.remove(&key));
            handlers.borrow_mut().clear();
            fail(offline());
        }
    }
}
