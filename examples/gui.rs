//! Opens the window without going through the CLI: `cargo run --release --example gui [PATH]`.
fn main() -> anyhow::Result<()> {
    pretext::app::run_gui(std::env::args().nth(1).map(Into::into), None)
}
