//! The statements authentication runs, each written and decoded by one [`Projection`]
//! ([`super::projection`]), one file per concern.

mod api_key;
mod oauth;
mod organization_role;
mod session;
mod user;
mod user_state;

pub use api_key::{ApiKeyUse, accepted_config};
pub use oauth::{OAuthSubjectQuery, OAuthTokenLookup};
pub use organization_role::OrganizationRoleLookup;
pub use session::{SessionLookup, SessionRefresh};
pub use user::MembershipLookup;
pub use user_state::{BanLookup, KeyLookup};
