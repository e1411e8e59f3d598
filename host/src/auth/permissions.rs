//! The permission table: every API route and the roles that may call it.
//! A route missing here is refused for everyone, so a new route cannot be
//! reachable by accident.

use axum::http::Method;

use crate::domain::Role::{self, *};

const STAFF: &[Role] = &[Admin, Manager, Rep, Integrator];
const LEAD_READERS: &[Role] = &[Admin, Manager, Rep];
const PLUGIN_STAFF: &[Role] = &[Admin, Integrator];

/// The roles allowed to call `method` on the route pattern `path` (as axum's
/// `MatchedPath` spells it, e.g. `/api/v1/leads/{id}` or `/app/leads/{id}`):
/// one table for the API and the pages.
pub fn allowed(method: &Method, path: &str) -> &'static [Role] {
    // API routes are listed without their prefix; pages keep theirs.
    let route = path.strip_prefix("/api/v1").unwrap_or(path);
    match (method.as_str(), route) {
        ("GET" | "POST", "/tenants") => &[Operator],
        ("GET", "/me") => &[Admin, Manager, Rep, Integrator, Operator],
        ("GET", "/users") => &[Admin, Manager],
        ("POST", "/users" | "/users/{id}/deactivate" | "/users/{id}/password-reset")
        | ("PUT", "/users/{id}/password") => &[Admin],
        // Reps may only say whether they take leads (checked in the handler).
        ("PATCH", "/users/{id}") => LEAD_READERS,
        ("GET", "/teams" | "/teams/{name}" | "/routing/rules") => LEAD_READERS,
        ("POST", "/teams") | ("PUT", "/teams/{name}" | "/routing/rules") => &[Admin],
        ("GET", "/pool" | "/pool/settings") => LEAD_READERS,
        ("PUT", "/pool/settings") => &[Admin],
        ("POST", "/leads/{id}/claim") => &[Rep],
        ("POST", "/leads/{id}/release") => LEAD_READERS,
        ("POST", "/leads/{id}/assign") => &[Admin, Manager],
        ("GET" | "POST", "/leads/{id}/activities") => LEAD_READERS,
        ("GET", "/sla/policy") => LEAD_READERS,
        ("PUT", "/sla/policy") => &[Admin],
        ("POST", "/tasks" | "/tasks/{id}/done") | ("GET", "/agenda") => LEAD_READERS,
        ("GET" | "POST", "/webhooks") | ("DELETE", "/webhooks/{id}") | ("GET", "/webhooks/{id}/deliveries") => {
            PLUGIN_STAFF
        }
        ("POST", "/tokens") => &[Admin],
        ("GET", "/forms" | "/forms/{slug}" | "/forms/{slug}/versions/{version}") => STAFF,
        ("POST", "/forms") | ("PUT" | "PATCH", "/forms/{slug}") => &[Admin],
        ("POST", "/forms/{slug}/leads") => LEAD_READERS,
        ("GET", "/leads" | "/leads/{id}") => LEAD_READERS,
        ("POST", "/leads/{id}/stage" | "/leads/{id}/events" | "/leads/{id}/tags") => LEAD_READERS,
        ("DELETE", "/leads/{id}/tags/{tag}") => LEAD_READERS,
        // Tracking scripts send events with an integrator's token; the
        // answer carries the lead's id and score, no personal data.
        ("POST", "/events") => &[Admin, Manager, Rep, Integrator],
        ("GET", "/scoring/model" | "/scoring/rescores" | "/scoring/rescores/{id}") => &[Admin, Manager, Integrator],
        ("PUT", "/scoring/model") | ("POST", "/scoring/rescores") => &[Admin],
        ("GET", "/clock") => &[Admin, Manager, Rep, Integrator, Operator],
        ("POST", "/clock") => &[Operator],
        ("GET" | "POST", "/plugins") | ("GET" | "PUT" | "PATCH" | "DELETE", "/plugins/{name}") => PLUGIN_STAFF,
        ("POST", "/plugins/{name}/run") => PLUGIN_STAFF,
        ("GET", "/settings") => PLUGIN_STAFF,
        ("PATCH", "/settings") => &[Admin],
        ("GET", "/workflows" | "/workflows/{slug}" | "/workflows/{slug}/versions/{version}") => &[Admin, Manager],
        ("PUT" | "PATCH", "/workflows/{slug}") => &[Admin],
        ("POST", "/workflows/{slug}/enrolments") => &[Admin, Manager],
        ("GET", "/workflows/{slug}/steps" | "/emails" | "/emails/{id}" | "/suppressions") => &[Admin, Manager],
        ("GET", "/leads/{id}/runs" | "/leads/{id}/emails") => LEAD_READERS,
        ("GET", "/dashboard" | "/dashboard/{file}") => &[Admin, Manager],
        ("GET", "/notifications" | "/me/notifications")
        | ("POST", "/notifications/read" | "/notifications/{id}/read")
        | ("PUT", "/me/notifications") => LEAD_READERS,
        // The pages (`http::pages`): the workspace is the lead readers';
        // every signed-in user has an account page.
        ("GET", "/app") => STAFF,
        ("GET", "/app/agenda" | "/app/leads" | "/app/leads/{id}" | "/app/pool") => LEAD_READERS,
        (
            "POST",
            "/app/leads/{id}/activities"
            | "/app/leads/{id}/stage"
            | "/app/leads/{id}/tags"
            | "/app/leads/{id}/tags/remove"
            | "/app/leads/{id}/tasks",
        ) => LEAD_READERS,
        ("POST", "/app/leads/{id}/claim") => &[Rep],
        ("GET", "/app/notifications") | ("POST", "/app/notifications/read") => LEAD_READERS,
        ("GET", "/app/account") | ("POST", "/app/account/password" | "/app/account/preferences" | "/app/logout") => {
            STAFF
        }
        // The admin pages: the same roles as the API routes they stand for.
        ("GET" | "POST", "/app/admin/setup/{setting}" | "/app/admin/users" | "/app/admin/teams")
        | ("GET" | "POST", "/app/admin/forms" | "/app/admin/forms/{slug}")
        | ("POST", "/app/admin/forms/{slug}/preview")
        | ("POST", "/app/admin/users/{id}" | "/app/admin/users/{id}/reset" | "/app/admin/users/{id}/deactivate") => {
            &[Admin]
        }
        (
            "GET",
            "/app/admin/workflows" | "/app/admin/workflows/{slug}" | "/app/dashboard" | "/app/dashboard/{file}",
        ) => &[Admin, Manager],
        // POST /app/admin/plugins uploads, as POST/PUT /plugins.
        ("GET", "/app/admin/plugins" | "/app/admin/plugins/{name}")
        | ("POST", "/app/admin/plugins" | "/app/admin/plugins/{name}/enabled") => PLUGIN_STAFF,
        ("GET" | "POST", "/app/admin/workflows/new")
        | ("POST", "/app/admin/workflows/{slug}" | "/app/admin/workflows/{slug}/status") => &[Admin],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrators_see_no_personal_data() {
        assert!(!allowed(&Method::GET, "/api/v1/leads").contains(&Integrator));
        assert!(!allowed(&Method::GET, "/api/v1/leads/{id}").contains(&Integrator));
    }

    #[test]
    fn only_admins_design_forms_and_only_operators_make_tenants() {
        assert_eq!(allowed(&Method::PUT, "/api/v1/forms/{slug}"), &[Admin]);
        assert_eq!(allowed(&Method::POST, "/api/v1/tenants"), &[Operator]);
        assert!(!allowed(&Method::GET, "/api/v1/leads").contains(&Operator));
    }

    #[test]
    fn workflow_pages_match_the_api() {
        assert_eq!(
            allowed(&Method::GET, "/app/admin/workflows/{slug}"),
            allowed(&Method::GET, "/api/v1/workflows/{slug}")
        );
        assert_eq!(
            allowed(&Method::POST, "/app/admin/workflows/{slug}"),
            allowed(&Method::PUT, "/api/v1/workflows/{slug}")
        );
        assert_eq!(allowed(&Method::POST, "/app/admin/workflows/new"), &[Admin]);
    }

    #[test]
    fn unknown_routes_are_closed() {
        assert!(allowed(&Method::DELETE, "/api/v1/leads/{id}").is_empty());
    }
}
