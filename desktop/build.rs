//! Tauri's build step: reads tauri.conf.json and the capabilities for the app.
fn main() {
    tauri_build::build();
}
