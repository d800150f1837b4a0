//! Logto's sign-in experience with email verification codes: one interaction engine
//! ([`engine`]) behind two faces, the JSON Experience API ([`api`], what Logto's experience
//! app calls) and server-rendered pages ([`pages`], what a browser or a scripted client sees).

pub(crate) mod api;
pub(crate) mod engine;
pub(crate) mod errors;
pub(crate) mod pages;
pub(crate) mod password;
pub(crate) mod password_policy;
pub(crate) mod profile;
pub(crate) mod sentinel;

use axum::Router;
use axum::routing::{get, post, put};

use crate::state::IdpState;

/// The experience's routes: the API under `/api/experience`, the pages at Logto's paths.
pub(crate) fn router() -> Router<IdpState> {
    Router::new()
        .route("/api/experience", put(api::start))
        .route("/api/experience/interaction-event", put(api::switch_event))
        .route("/api/experience/interaction", get(api::interaction))
        .route(
            "/api/experience/verification/verification-code",
            post(api::send_code),
        )
        .route(
            "/api/experience/verification/verification-code/verify",
            post(api::verify),
        )
        .route(
            "/api/experience/verification/password",
            post(api::verify_password),
        )
        .route(
            "/api/experience/verification/new-password-identity",
            post(api::new_password_identity),
        )
        .route("/api/experience/profile", post(api::profile))
        .route("/api/experience/profile/password", put(api::reset_password))
        .route("/api/experience/identification", post(api::identify))
        .route("/api/experience/submit", post(api::submit))
        .route("/sign-in", get(pages::sign_in).post(pages::sign_in_post))
        .route("/identifier-sign-in", get(pages::sign_in))
        .route("/register", get(pages::register).post(pages::register_post))
        .route("/identifier-register", get(pages::register))
        .route(
            "/sign-in/verification-code",
            get(pages::sign_in_code).post(pages::sign_in_code_post),
        )
        .route(
            "/register/verification-code",
            get(pages::register_code).post(pages::register_code_post),
        )
        .route(
            "/sign-in/verification-code/resend",
            post(pages::sign_in_resend),
        )
        .route(
            "/register/verification-code/resend",
            post(pages::register_resend),
        )
        .route(
            "/sign-in/password",
            get(pages::sign_in_password).post(pages::sign_in_password_post),
        )
        .route(
            "/register/password",
            get(pages::register_password).post(pages::register_password_post),
        )
        .route(
            "/continue/password",
            get(pages::continue_password).post(pages::continue_password_post),
        )
        .route(
            "/forgot-password",
            get(pages::forgot_password).post(pages::forgot_password_post),
        )
        .route(
            "/forgot-password/verification-code",
            get(pages::forgot_password_code).post(pages::forgot_password_code_post),
        )
        .route(
            "/forgot-password/verification-code/resend",
            post(pages::forgot_password_resend),
        )
        .route(
            "/forgot-password/reset",
            get(pages::reset).post(pages::reset_post),
        )
        .route("/sign-in/create-account", post(pages::create_account))
        .route("/register/sign-in-instead", post(pages::sign_in_instead))
        .route("/reset-password", get(pages::reset_password))
        .route("/single-sign-on", get(pages::single_sign_on))
        .route("/experience.js", get(pages::script))
}
