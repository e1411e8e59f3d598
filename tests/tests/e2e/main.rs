//! End-to-end tests: the real server binary over HTTP, on SQLite and on
//! PostgreSQL. All in one test binary so it links once.

mod access;
mod admin_pages;
mod dashboard;
mod dashboard_page;
mod dashboard_rebuild;
mod followup;
mod form_designer;
mod form_page_capture;
mod forms;
mod intake;
mod languages;
mod leads;
mod nurture;
mod page;
mod plugin_pages;
mod plugins;
mod routing;
mod sandbox;
mod scaffold;
mod scoring;
mod workflow_pages;
mod workflows;
mod workspace;
