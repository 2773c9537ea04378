//! The `natter` server binary: see `natter --help`.

#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    natter::server::main().await
}

/// cargo-leptos builds the binary only with `ssr`; this keeps other builds compiling.
#[cfg(not(feature = "ssr"))]
fn main() {}
