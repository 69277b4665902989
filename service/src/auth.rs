//! Who is acting: the [`Actor`] every service function takes, and the roles it carries.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A helpdesk role. A person may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Staff, teachers, students: ask and follow their own tickets.
    Requester,
    /// Helpdesk operator (一次受付): works every ticket of the tenant.
    Agent,
    /// The DX division: everything an agent can, plus oversight.
    Supervisor,
    /// Tenant administrator: configuration, calendars, people.
    Admin,
    /// Escalation target: sees only tickets escalated to its vendor.
    Vendor,
}

impl Role {
    /// All roles, in a stable order.
    pub const ALL: [Role; 5] = [
        Role::Requester,
        Role::Agent,
        Role::Supervisor,
        Role::Admin,
        Role::Vendor,
    ];

    /// Returns the role's wire name (`agent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Vendor => "vendor",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Role::Requester => 1,
            Role::Agent => 2,
            Role::Supervisor => 4,
            Role::Admin => 8,
            Role::Vendor => 16,
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles, stored as a comma-separated list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    /// Returns whether the set holds `role`.
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Returns the set with `role` added.
    pub fn with(self, role: Role) -> Self {
        Self(self.0 | role.bit())
    }

    /// Returns whether the set holds any helpdesk-side role (agent, supervisor, admin).
    pub fn is_desk(self) -> bool {
        self.has(Role::Agent) || self.has(Role::Supervisor) || self.has(Role::Admin)
    }

    /// Returns whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Iterates the roles in the set.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }

    /// Parses a comma-separated list; unknown names are an error so a typo never grants nothing silently.
    pub fn parse_list(s: &str) -> Result<Self, String> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .try_fold(RoleSet::default(), |set, p| Ok(set.with(p.parse()?)))
    }

    /// Returns the comma-separated form.
    pub fn to_list(self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<T: IntoIterator<Item = Role>>(iter: T) -> Self {
        iter.into_iter().fold(RoleSet::default(), RoleSet::with)
    }
}

/// The authenticated caller of a service function: who, in which tenant, with which roles.
///
/// Built by `api` from a verified token (and checked against the database there); service
/// functions enforce scope from it and never trust anything else the client says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub person_id: Uuid,
    pub tenant_id: Uuid,
    pub roles: RoleSet,
    /// The vendor a vendor-role person works for.
    pub vendor_id: Option<Uuid>,
}

impl Actor {
    /// Returns whether the actor works the desk (agent, supervisor or admin).
    pub fn is_desk(&self) -> bool {
        self.roles.is_desk()
    }

    /// Returns whether the actor has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.has(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_lists_round_trip_and_refuse_unknown_names() {
        let set = RoleSet::parse_list("requester, agent").unwrap();
        assert!(set.has(Role::Requester) && set.has(Role::Agent) && !set.has(Role::Admin));
        assert_eq!(set.to_list(), "requester,agent");
        assert!(RoleSet::parse_list("agent,root").is_err());
        assert!(RoleSet::parse_list("").unwrap().is_empty());
    }
}
