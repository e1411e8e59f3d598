//! Browser tests: the real server's pages in headless Chromium (see
//! tests/src/browser.rs), on SQLite only. One test binary, so it links once;
//! the harness runs one browser at a time however many test threads cargo
//! uses.

mod admin;
mod form_page;
mod harness;
mod public_form;
mod workspace;
