//! A file sent as a message: an image inline as a thumbnail that opens a full-size viewer, anything
//! else as a download link with its size.

use leptos::prelude::*;

use crate::protocol::Attachment;

/// Thumbnails fit in this box (CSS pixels); the viewer shows the image as large as the window allows.
const THUMB_MAX: u32 = 320;

/// A message's file. Both kinds are plain links and images in the server's HTML, so without
/// JavaScript a picture still shows and a file still downloads; the viewer is the browser's extra.
#[component]
pub fn AttachmentView(file: Attachment) -> impl IntoView {
    let url = file.url();
    if file.is_image() {
        let viewing = RwSignal::new(false);
        // Reserve the thumbnail's box before the image loads, so the list does not jump. Never
        // scaled up: a picture smaller than the box keeps its own size.
        let (width, height) = match (file.width, file.height) {
            (Some(width), Some(height)) => {
                let scale = f64::from(THUMB_MAX) / f64::from(width.max(height).max(THUMB_MAX));
                (Some((f64::from(width) * scale).round() as u32), Some((f64::from(height) * scale).round() as u32))
            }
            _ => (None, None),
        };
        let name = file.name.clone();
        let full = url.clone();
        let thumb = NodeRef::<leptos::html::Button>::new();
        let close_button = NodeRef::<leptos::html::Button>::new();
        let close = move || {
            viewing.set(false);
            // Back where the reader was: on the thumbnail.
            if let Some(thumb) = thumb.get_untracked() {
                let _ = thumb.focus();
            }
        };
        // Escape closes the viewer wherever focus is, and the viewer takes focus when it opens.
        // Every picture on the page has such a listener; each acts only while its own viewer is
        // open.
        let escape = window_event_listener(leptos::ev::keydown, move |ev| {
            if viewing.get_untracked() && ev.key() == "Escape" {
                ev.prevent_default();
                close();
            }
        });
        // A line is drawn afresh on every edit or reaction: each drawing must take its window
        // listener with it, or the old ones would pile up for the page's life.
        on_cleanup(move || escape.remove());
        // The close button is the viewer's one control: with focus on it a keyboard user can
        // close at once, and a screen reader starts inside the dialog rather than behind it.
        Effect::new(move |_| {
            if let (true, Some(button)) = (viewing.get(), close_button.get()) {
                let _ = button.focus();
            }
        });
        // `loading="lazy"`: a long history full of pictures fetches only those scrolled near.
        // Clicking anywhere on the viewer closes it, as people expect of a full-screen picture.
        view! {
            <button type="button" class="thumb" node_ref=thumb aria-label=format!("View {}", file.name) on:click=move |_| viewing.set(true)>
                <img src=url alt=file.name.clone() width=width height=height loading="lazy"/>
            </button>
            <Show when=move || viewing.get()>
                <div
                    class="viewer"
                    role="dialog"
                    aria-modal="true"
                    aria-label=name.clone()
                    on:click=move |_| close()
                    on:keydown=move |ev| {
                        // One control inside: Tab stays on it.
                        if ev.key() == "Tab" {
                            ev.prevent_default();
                        }
                    }
                >
                    <img src=full.clone() alt=name.clone()/>
                    <button type="button" class="viewer-close" node_ref=close_button on:click=move |_| close()>"Close"</button>
                </div>
            </Show>
        }
        .into_any()
    } else {
        // `rel="external"`: `/files/{id}` is the server's, not one of the app's routes, so the
        // router leaves the click to the browser. `download` saves it under the sender's file
        // name rather than the id in the address.
        view! {
            <a class="file" href=url download=file.name.clone() rel="external">
                <span class="file-name">{file.name.clone()}</span>
                " "
                <span class="file-size">{human_size(file.size)}</span>
            </a>
        }
        .into_any()
    }
}

/// `532 B`, `14.2 KB`, `3.1 MB`. In whole numbers of tenths: formatting a float would bring Rust's
/// float printer (about 20 KB) into the browser bundle for this alone.
pub fn human_size(bytes: i64) -> String {
    let bytes = bytes.max(0);
    let tenths = |unit: i64| (bytes * 10 + unit / 2) / unit;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        let t = tenths(1024);
        format!("{}.{} KB", t / 10, t % 10)
    } else {
        let t = tenths(1024 * 1024);
        format!("{}.{} MB", t / 10, t % 10)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(super::human_size(532), "532 B");
        assert_eq!(super::human_size(14_540), "14.2 KB");
        assert_eq!(super::human_size(3_250_586), "3.1 MB");
        assert_eq!(super::human_size(1024), "1.0 KB");
        // The unit is chosen before rounding: a byte short of a MiB is still counted in KB.
        assert_eq!(super::human_size(1_048_575), "1024.0 KB");
        assert_eq!(super::human_size(26_214_400), "25.0 MB");
    }
}
