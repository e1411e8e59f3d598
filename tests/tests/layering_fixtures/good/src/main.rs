//! main is its own crate and names the library by its crate name.
fn main() {
    leadhost::cli::run(leadhost::app::App::new());
}
