//! The application's pages and the roles that may open them. Navigation (client), page guards
//! (SSR) and the HTTP status middleware (server) all read this one table.

use crate::role::{Access, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpec {
    pub path: &'static str,
    pub title: &'static str,
    /// Shown in the navigation bar.
    pub nav_label: &'static str,
    pub access: Access,
}

pub const SOC: PageSpec = PageSpec { path: "/soc", title: "SOC console", nav_label: "SOC", access: Access::SOC };
pub const PLAYBOOKS: PageSpec = PageSpec { path: "/playbooks", title: "Playbooks", nav_label: "Playbooks", access: Access::PLAYBOOKS };
pub const REPORT: PageSpec = PageSpec { path: "/report", title: "Report something suspicious", nav_label: "Report", access: Access::SIGNED_IN };
pub const EXEC: PageSpec = PageSpec { path: "/exec", title: "Security KPIs", nav_label: "KPIs", access: Access::EXEC };
pub const ASSETS: PageSpec = PageSpec { path: "/assets", title: "Asset inventory", nav_label: "Assets", access: Access::ASSETS };
pub const MODELS: PageSpec = PageSpec { path: "/models", title: "Detection models", nav_label: "Models", access: Access::MODELS };
pub const ADMIN: PageSpec = PageSpec { path: "/admin", title: "Administration", nav_label: "Admin", access: Access::ADMIN };

/// Every protected page, in navigation order.
pub const PROTECTED: [PageSpec; 7] = [SOC, PLAYBOOKS, REPORT, EXEC, ASSETS, MODELS, ADMIN];

/// The protected page a path belongs to (exact match or a sub-path such as `/soc/alerts/7`).
pub fn page_for_path(path: &str) -> Option<PageSpec> {
    PROTECTED.into_iter().find(|p| {
        path == p.path
            || path
                .strip_prefix(p.path)
                .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
    })
}

/// The pages a role sees in its navigation.
pub fn pages_for(role: Role) -> impl Iterator<Item = PageSpec> {
    PROTECTED.into_iter().filter(move |p| p.access.allows(role))
}

/// Where a role lands after signing in.
pub fn home_for(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Analyst | Role::Responder => SOC.path,
        Role::Executive => EXEC.path,
        Role::Employee => REPORT.path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_paths_map_to_their_page_but_lookalikes_do_not() {
        assert_eq!(page_for_path("/soc"), Some(SOC));
        assert_eq!(page_for_path("/soc/alerts/1"), Some(SOC));
        assert_eq!(page_for_path("/socks"), None);
        assert_eq!(page_for_path("/login"), None);
    }

    #[test]
    fn every_role_lands_on_a_page_it_may_open() {
        for r in Role::ALL {
            let home = page_for_path(home_for(r)).unwrap();
            assert!(home.access.allows(r), "{r} lands on {}", home.path);
            assert!(pages_for(r).any(|p| p.path == home.path));
        }
        assert_eq!(pages_for(Role::Employee).map(|p| p.path).collect::<Vec<_>>(), vec!["/report"]);
    }
}
