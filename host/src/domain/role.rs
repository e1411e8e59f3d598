use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// What a caller may do. `Operator` runs the installation (creates tenants);
/// the others act inside one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Operator,
    /// The whole tenant.
    Admin,
    /// The team's leads, the pool, reports.
    Manager,
    /// Own leads and the pool.
    Rep,
    /// Plugins; no personal data outside plugin test runs.
    Integrator,
}

impl Role {
    pub const TENANT_ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::Rep, Role::Integrator];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Rep => "rep",
            Role::Integrator => "integrator",
        }
    }

    /// A role a tenant user can hold (not `operator`).
    pub fn parse_tenant_role(raw: &str) -> Result<Self, ParseError> {
        match raw.parse::<Role>() {
            Ok(role) if role != Role::Operator => Ok(role),
            _ => Err(ParseError(format!(
                "{raw:?} is not a role; use one of admin, manager, rep, integrator"
            ))),
        }
    }
}

impl FromStr for Role {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "rep" => Ok(Role::Rep),
            "integrator" => Ok(Role::Integrator),
            other => Err(ParseError(format!("unknown role {other:?}"))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
