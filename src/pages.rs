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
    /// Listed in the navigation bar (the account page is reached from the user's name instead).
    pub in_nav: bool,
}

const fn page(path: &'static str, title: &'static str, nav_label: &'static str, access: Access) -> PageSpec {
    PageSpec { path, title, nav_label, access, in_nav: true }
}

pub const SOC: PageSpec = page("/soc", "SOC console", "SOC", Access::SOC);
pub const HUNT: PageSpec = page("/hunt", "Hunt", "Hunt", Access::SOC);
/// Analyse a file without raising alerts.
pub const ANALYZE: PageSpec = page("/analyze", "Analyse a file", "Analyse", Access::SOC);
pub const INTEL: PageSpec = page("/intel", "Threat intel", "Intel", Access::SOC);
pub const PLAYBOOKS: PageSpec = page("/playbooks", "Playbooks", "Playbooks", Access::PLAYBOOKS);
pub const REPORT: PageSpec = page("/report", "Report something suspicious", "Report", Access::SIGNED_IN);
pub const EXEC: PageSpec = page("/exec", "Security KPIs", "KPIs", Access::EXEC);
pub const ASSETS: PageSpec = page("/assets", "Asset inventory", "Assets", Access::ASSETS);
pub const MODELS: PageSpec = page("/models", "Detection models", "Models", Access::MODELS);
pub const ADMIN: PageSpec = page("/admin", "Administration", "Admin", Access::ADMIN);
/// Every signed-in person's own account: their password.
pub const ACCOUNT: PageSpec =
    PageSpec { in_nav: false, ..page("/account", "Your account", "Account", Access::SIGNED_IN) };

/// Every protected page, in navigation order.
pub const PROTECTED: [PageSpec; 11] =
    [SOC, HUNT, ANALYZE, INTEL, PLAYBOOKS, REPORT, EXEC, ASSETS, MODELS, ADMIN, ACCOUNT];

/// The protected page a path belongs to (exact match or a sub-path such as `/soc/alerts/7`).
pub fn page_for_path(path: &str) -> Option<PageSpec> {
    PROTECTED.into_iter().find(|p| {
        path == p.path || path.strip_prefix(p.path).is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
    })
}

/// The pages a role sees in its navigation.
pub fn pages_for(role: Role) -> impl Iterator<Item = PageSpec> {
    PROTECTED.into_iter().filter(move |p| p.in_nav && p.access.allows(role))
}

/// Where a user lands after signing in: their role's home, or the account page while they must
/// choose their own password.
pub fn landing_for(user: &crate::user::CurrentUser) -> &'static str {
    if user.must_change_password {
        ACCOUNT.path
    } else {
        home_for(user.role)
    }
}

/// Whether a request may go ahead while its user must still choose a password: the account page,
/// signing in and out, "who am I", the password change itself, and static files.
pub fn open_before_password_change(path: &str) -> bool {
    let page = page_for_path(path).is_some() || path == "/";
    if page {
        return path == ACCOUNT.path;
    }
    match path.strip_prefix("/api/") {
        Some(rest) => rest.starts_with("auth/") || rest.starts_with("account/"),
        None => !path.starts_with("/metrics") && !path.ends_with(".csv"),
    }
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

    #[test]
    fn a_user_who_must_change_the_password_reaches_only_the_account_page() {
        for open in [
            "/account",
            "/api/account/change_password",
            "/api/auth/logout",
            "/api/auth/me",
            "/pkg/anomalyforge.js",
            "/favicon.svg",
        ] {
            assert!(open_before_password_change(open), "{open}");
        }
        for closed in [
            "/",
            "/soc",
            "/soc/alerts/1",
            "/report",
            "/admin",
            "/api/admin/list_users",
            "/api/v1/alerts",
            "/api/v1/stream",
            "/metrics",
            "/exec/export.csv",
        ] {
            assert!(!open_before_password_change(closed), "{closed}");
        }
    }
}
