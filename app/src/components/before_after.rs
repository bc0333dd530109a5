//! Before-and-after comparison: the restored photo over the original, split by a slider, or
//! the two side by side; both views zoom to 2× or 4× and pan to inspect details.
//!
//! The slider is a native range input (mouse, touch and keys for free); dragging or tapping on
//! the picture moves it too. When zoomed, the picture scrolls: drag with a mouse, swipe on a
//! touch screen, or focus it and use the arrow keys. Side by side, both halves pan together.

use crate::components::protected_image::ProtectedImage;
use crate::model::PhotoVariant;
use leptos::html;
use leptos::prelude::*;
use uuid::Uuid;

/// How the two versions are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Slider,
    SideBySide,
}

/// The zoom levels offered.
const ZOOMS: [u8; 3] = [1, 2, 4];

/// What a pointer held down on the picture is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Drag {
    None,
    /// Moving the split.
    Split,
    /// Panning a zoomed picture: where the pointer and the scroll position started.
    Pan {
        x: i32,
        y: i32,
        left: i32,
        top: i32,
    },
}

/// Compares an original with its restoration. `aspect` is the original's width and height, so
/// the frame keeps its shape at every zoom.
#[component]
pub fn BeforeAfter(before: Uuid, after: Uuid, aspect: (u32, u32)) -> impl IntoView {
    let split = RwSignal::new(50u8);
    let mode = RwSignal::new(Mode::Slider);
    let zoom = RwSignal::new(1u8);
    // The frame keeps the photo's shape and fits the screen's height, so the slider below it
    // stays in view.
    let (w, h) = (aspect.0.max(1), aspect.1.max(1));
    let aspect = format!("aspect-ratio: {w} / {h}; max-width: calc(70vh * {w} / {h});");

    let mode_button = move |which: Mode, label: &'static str, test_id: &'static str| {
        view! {
            <button
                type="button"
                class="segment"
                aria-pressed=move || (mode.get() == which).to_string()
                data-testid=test_id
                on:click=move |_| mode.set(which)
            >
                {label}
            </button>
        }
    };
    let zoom_buttons = ZOOMS
        .into_iter()
        .map(|level| {
            let label = if level == 1 {
                "Fit".to_string()
            } else {
                format!("{level}×")
            };
            let name = if level == 1 {
                "Zoom to fit".to_string()
            } else {
                format!("Zoom {level} times")
            };
            view! {
                <button
                    type="button"
                    class="segment"
                    aria-pressed=move || (zoom.get() == level).to_string()
                    aria-label=name
                    data-testid=format!("zoom-{level}x")
                    on:click=move |_| zoom.set(level)
                >
                    {label}
                </button>
            }
        })
        .collect_view();

    let aspect_slider = aspect.clone();
    view! {
        <figure
            class="before-after"
            data-testid="before-after"
            data-mode=move || if mode.get() == Mode::Slider { "slider" } else { "side-by-side" }
            data-zoom=move || zoom.get().to_string()
        >
            <div class="compare-toolbar">
                <div class="segmented" role="group" aria-label="Comparison view">
                    {mode_button(Mode::Slider, "Slider", "compare-mode-slider")}
                    {mode_button(Mode::SideBySide, "Side by side", "compare-mode-side")}
                </div>
                <div class="segmented" role="group" aria-label="Zoom">{zoom_buttons}</div>
            </div>
            {move || match mode.get() {
                Mode::Slider => view! { <SliderView before after split zoom aspect=aspect_slider.clone() /> }.into_any(),
                Mode::SideBySide => view! { <SideBySideView before after zoom aspect=aspect.clone() /> }.into_any(),
            }}
            <figcaption>
                {move || match (mode.get(), zoomed(zoom)) {
                    (Mode::Slider, false) => "Left of the line: original · right: restored. Drag the line or use the slider.",
                    (Mode::Slider, true) => "Zoomed in: drag, swipe or use the arrow keys on the picture to look around.",
                    (Mode::SideBySide, false) => "Original on the left, restored on the right.",
                    (Mode::SideBySide, true) => "Zoomed in: both sides move together as you look around.",
                }}
            </figcaption>
        </figure>
    }
}

#[component]
fn SliderView(
    before: Uuid,
    after: Uuid,
    split: RwSignal<u8>,
    zoom: RwSignal<u8>,
    aspect: String,
) -> impl IntoView {
    let viewport = NodeRef::<html::Div>::new();
    let canvas = NodeRef::<html::Div>::new();
    let drag = StoredValue::new(Drag::None);
    keep_centred_on_zoom(zoom, vec![viewport]);

    let on_down = move |ev: leptos::ev::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        let next = if zoom.get_untracked() == 1 {
            set_split_from_pointer(&ev, canvas, split);
            Drag::Split
        } else if ev.pointer_type() == "mouse" {
            pan_start(&ev, viewport)
        } else {
            // Touch screens pan a zoomed picture natively.
            Drag::None
        };
        if next != Drag::None {
            ev.prevent_default();
            capture_pointer(&ev);
        }
        drag.set_value(next);
    };
    let on_move = move |ev: leptos::ev::PointerEvent| match drag.get_value() {
        Drag::None => {}
        Drag::Split => set_split_from_pointer(&ev, canvas, split),
        pan @ Drag::Pan { .. } => pan_to(&ev, pan, &[viewport]),
    };
    let on_up = move |_: leptos::ev::PointerEvent| drag.set_value(Drag::None);

    view! {
        <div
            class="compare-viewport"
            class:zoomed=move || zoomed(zoom)
            style=aspect
            node_ref=viewport
            tabindex=move || zoomed(zoom).then_some("0")
            role="group"
            aria-label=move || if zoomed(zoom) { "Zoomed comparison; use the arrow keys to look around" } else { "Comparison" }
            data-testid="compare-viewport"
            on:pointerdown=on_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:pointercancel=on_up
        >
            <div class="compare-canvas" node_ref=canvas style=move || format!("width: {}%", u32::from(zoom.get()) * 100)>
                // Each image in its own element: hydration needs the boundary.
                <div class="compare-before">
                    <ProtectedImage photo_id=before variant=PhotoVariant::Full alt="Original photo" test_id="before-image" />
                </div>
                <div class="compare-after" style=move || format!("clip-path: inset(0 0 0 {}%)", split.get())>
                    <ProtectedImage photo_id=after variant=PhotoVariant::Full alt="Restored photo" test_id="after-image" />
                </div>
                <div class="compare-divider" aria-hidden="true" style=move || format!("left: {}%", split.get())></div>
            </div>
        </div>
        <label class="before-after-slider">
            <span class="slider-label">"Original"</span>
            <input
                type="range"
                min="0"
                max="100"
                step="1"
                aria-label="Compare original and restored"
                aria-valuetext=move || format!("{}% original, {}% restored", split.get(), 100 - split.get())
                prop:value=move || split.get().to_string()
                on:input=move |ev| {
                    if let Ok(value) = event_target_value(&ev).parse::<u8>() {
                        split.set(value.min(100));
                    }
                }
                data-testid="compare-slider"
            />
            <span class="slider-label">"Restored"</span>
        </label>
    }
}

#[component]
fn SideBySideView(before: Uuid, after: Uuid, zoom: RwSignal<u8>, aspect: String) -> impl IntoView {
    let left = NodeRef::<html::Div>::new();
    let right = NodeRef::<html::Div>::new();
    keep_centred_on_zoom(zoom, vec![left, right]);

    let pane = move |own: NodeRef<html::Div>,
                     other: NodeRef<html::Div>,
                     photo_id: Uuid,
                     title: &'static str,
                     alt: &'static str,
                     test_id: &'static str,
                     pane_id: &'static str| {
        let drag = StoredValue::new(Drag::None);
        let on_down = move |ev: leptos::ev::PointerEvent| {
            if ev.button() != 0 || zoom.get_untracked() == 1 || ev.pointer_type() != "mouse" {
                return;
            }
            ev.prevent_default();
            capture_pointer(&ev);
            drag.set_value(pan_start(&ev, own));
        };
        let on_move = move |ev: leptos::ev::PointerEvent| {
            if let pan @ Drag::Pan { .. } = drag.get_value() {
                pan_to(&ev, pan, &[own]);
            }
        };
        let on_up = move |_: leptos::ev::PointerEvent| drag.set_value(Drag::None);
        let title_id = format!("compare-{pane_id}-title");
        view! {
            <div class="compare-side">
                <p class="compare-side-title" id=title_id.clone()>{title}</p>
                <div
                    class="compare-viewport"
                    class:zoomed=move || zoomed(zoom)
                    style=aspect.clone()
                    node_ref=own
                    tabindex=move || zoomed(zoom).then_some("0")
                    role="group"
                    aria-labelledby=title_id
                    data-testid=format!("compare-pane-{pane_id}")
                    on:scroll=move |_| sync_scroll(own, other)
                    on:pointerdown=on_down
                    on:pointermove=on_move
                    on:pointerup=on_up
                    on:pointercancel=on_up
                >
                    <div class="compare-canvas" style=move || format!("width: {}%", u32::from(zoom.get()) * 100)>
                        <ProtectedImage photo_id variant=PhotoVariant::Full alt test_id />
                    </div>
                </div>
            </div>
        }
    };

    view! {
        <div class="compare-sides">
            {pane(left, right, before, "Original", "Original photo", "before-image", "before")}
            {pane(right, left, after, "Restored", "Restored photo", "after-image", "after")}
        </div>
    }
}

fn zoomed(zoom: RwSignal<u8>) -> bool {
    zoom.get() > 1
}

/// After a zoom change, scrolls each viewport so the middle of the picture stays in view.
fn keep_centred_on_zoom(zoom: RwSignal<u8>, viewports: Vec<NodeRef<html::Div>>) {
    Effect::new(move |previous: Option<u8>| {
        let level = zoom.get();
        if previous.is_some_and(|p| p != level) {
            let viewports = viewports.clone();
            request_animation_frame(move || {
                for viewport in &viewports {
                    if let Some(el) = viewport.get_untracked() {
                        el.set_scroll_left((el.scroll_width() - el.client_width()) / 2);
                        el.set_scroll_top((el.scroll_height() - el.client_height()) / 2);
                    }
                }
            });
        }
        level
    });
}

/// Copies one viewport's scroll position to the other, so both halves show the same detail.
fn sync_scroll(from: NodeRef<html::Div>, to: NodeRef<html::Div>) {
    if let (Some(from), Some(to)) = (from.get_untracked(), to.get_untracked()) {
        if to.scroll_left() != from.scroll_left() {
            to.set_scroll_left(from.scroll_left());
        }
        if to.scroll_top() != from.scroll_top() {
            to.set_scroll_top(from.scroll_top());
        }
    }
}

fn capture_pointer(ev: &leptos::ev::PointerEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

fn pan_start(ev: &leptos::ev::PointerEvent, viewport: NodeRef<html::Div>) -> Drag {
    match viewport.get_untracked() {
        Some(el) => Drag::Pan {
            x: ev.client_x(),
            y: ev.client_y(),
            left: el.scroll_left(),
            top: el.scroll_top(),
        },
        None => Drag::None,
    }
}

fn pan_to(ev: &leptos::ev::PointerEvent, pan: Drag, viewports: &[NodeRef<html::Div>]) {
    if let Drag::Pan { x, y, left, top } = pan {
        for viewport in viewports {
            if let Some(el) = viewport.get_untracked() {
                el.set_scroll_left(left - (ev.client_x() - x));
                el.set_scroll_top(top - (ev.client_y() - y));
            }
        }
    }
}

/// Puts the split where the pointer is across the picture.
fn set_split_from_pointer(
    ev: &leptos::ev::PointerEvent,
    canvas: NodeRef<html::Div>,
    split: RwSignal<u8>,
) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = canvas.get_untracked() {
        let rect = el.get_bounding_client_rect();
        if rect.width() > 0.0 {
            let share = (f64::from(ev.client_x()) - rect.left()) / rect.width() * 100.0;
            split.set(share.round().clamp(0.0, 100.0) as u8);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, canvas, split);
}
