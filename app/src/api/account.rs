//! The signed-in person's own account: changing their password.

use crate::error::AppError;
use leptos::prelude::*;

/// Changes the signed-in user's password: `current` must be right, `new` typed twice (`confirm`).
/// Every other session of the user ends; this one stays. Open to a user who must change their
/// password (the middleware lets `/api/account/…` through for them).
#[server(endpoint = "account/change_password", output = crate::json::Reply)]
pub async fn change_password(current: String, new: String, confirm: String) -> Result<(), AppError> {
    use super::ssr::*;
    use anomalyforge::auth::PasswordChange;
    let (st, me) = authorize(anomalyforge::role::Access::SIGNED_IN).await?;
    let auth = request_auth().await?;
    let token = auth.token.unwrap_or_default();
    let change = PasswordChange { current, new, confirm };
    anomalyforge::auth::change_own_password(&st.db, &st.login_policy, &me, &token, &auth.client, &change).await?;
    // Without JavaScript the form posts here: back to the account page.
    leptos_axum::redirect(anomalyforge::pages::ACCOUNT.path);
    Ok(())
}
