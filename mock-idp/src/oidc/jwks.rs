//! `GET /oidc/jwks`: the public keys, with Logto's content type and cache headers.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::state::IdpState;

pub(crate) async fn jwks(State(state): State<IdpState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/jwk-set+json; charset=utf-8",
            ),
            (
                header::CACHE_CONTROL,
                "no-cache, max-age=0, must-revalidate",
            ),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        state.keys().jwks(state.clock.now()).into_owned(),
    )
        .into_response()
}
