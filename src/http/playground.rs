//! The GraphiQL playground at `GET /` (development only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

/// Serves GraphiQL with the Authorization header ready to fill in (in
/// development, already filled with the demo user's token).
pub async fn page(State(state): State<AppState>) -> Response {
    let Some(authorization) = &state.playground_authorization else {
        return StatusCode::NOT_FOUND.into_response();
    };
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Commerce API")
            .header("Authorization", authorization)
            .finish(),
    )
    .into_response()
}
