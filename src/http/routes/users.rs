//! Users and their roles per outlet.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ts;
use crate::domain::credentials::generate_password;
use crate::domain::user::{Role, User, validate_password};
use crate::domain::{OutletId, UserId};
use crate::error::{Error, Resource, Result};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::{Json, parse_id};
use crate::workflow::{sessions, users};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(reset_password))
        .routes(routes!(revoke_sessions))
}

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: u64,
    pub username: String,
    pub display_name: String,
    pub instance_admin: bool,
    /// Role per outlet id.
    pub roles: BTreeMap<String, Role>,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.0,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            instance_admin: u.instance_admin,
            roles: u.roles.iter().map(|(o, r)| (o.0.to_string(), *r)).collect(),
            disabled: u.disabled,
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
        }
    }
}

fn parse_roles(r: &BTreeMap<String, Role>) -> Result<BTreeMap<OutletId, Role>> {
    r.iter()
        .map(|(k, v)| {
            k.parse::<u64>()
                .map(|id| (OutletId(id), *v))
                .map_err(|_| Error::invalid("roles", format!("{k:?} is not an outlet id")))
        })
        .collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    /// Omit to have a password generated and returned once.
    pub password: Option<String>,
    #[serde(default)]
    pub instance_admin: bool,
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserDto,
    /// Present when the server generated the password: shown once.
    pub initial_password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchInput {
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
    pub instance_admin: Option<bool>,
    pub roles: Option<BTreeMap<String, Role>>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<UserDto>)))]
async fn list(State(s): State<AppState>, auth: Auth) -> Result<Json<Vec<UserDto>>> {
    Ok(Json(
        users::list(&s.core.reader()?, &auth.actor)?
            .iter()
            .map(UserDto::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserInput, responses((status = 201, body = CreatedUser)))]
async fn create(
    State(s): State<AppState>,
    auth: Auth,
    Json(n): Json<NewUserInput>,
) -> Result<(StatusCode, Json<CreatedUser>)> {
    let generated = n.password.is_none().then(generate_password);
    let password = n
        .password
        .clone()
        .or_else(|| generated.clone())
        .unwrap_or_default();
    validate_password(&password)?;
    let roles = parse_roles(&n.roles)?;
    let phc = sessions::hash_off_thread(&s.core, password).await?;
    let new = users::NewUser {
        username: n.username.trim().to_string(),
        display_name: n.display_name,
        instance_admin: n.instance_admin,
        roles,
        phc,
    };
    let u = s
        .core
        .committer
        .write(move |w| users::create(w, &auth.actor, &new))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user: UserDto::from(&u),
            initial_password: generated,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = u64, Path)), responses((status = 200, body = UserDto)))]
async fn get_one(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<UserDto>> {
    let id = UserId(parse_id(&id, Resource::User)?);
    Ok(Json(UserDto::from(&users::get_visible(
        &s.core.reader()?.0,
        &auth.actor,
        id,
    )?)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = u64, Path)), request_body = UserPatchInput, responses((status = 200, body = UserDto)))]
async fn update(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(p): Json<UserPatchInput>,
) -> Result<Json<UserDto>> {
    let id = UserId(parse_id(&id, Resource::User)?);
    let patch = users::UserPatch {
        display_name: p.display_name,
        disabled: p.disabled,
        instance_admin: p.instance_admin,
        roles: p.roles.as_ref().map(parse_roles).transpose()?,
    };
    let u = s
        .core
        .committer
        .write(move |w| users::update(w, &auth.actor, id, &patch))
        .await?;
    Ok(Json(UserDto::from(&u)))
}

#[derive(Serialize, ToSchema)]
pub struct NewPassword {
    /// The generated password, shown once.
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "users", params(("id" = u64, Path)), responses((status = 200, body = NewPassword)))]
async fn reset_password(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<NewPassword>> {
    let id = UserId(parse_id(&id, Resource::User)?);
    auth.actor.require_instance_admin()?;
    users::get_visible(&s.core.reader()?.0, &auth.actor, id)?;
    let password = generate_password();
    let phc = sessions::hash_off_thread(&s.core, password.clone()).await?;
    let actor = auth.actor.id();
    s.core
        .committer
        .write(move |w| users::set_password(w, Some(actor), id, &phc))
        .await?;
    Ok(Json(NewPassword { password }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/revoke-sessions", tag = "users", params(("id" = u64, Path)), responses((status = 204)))]
async fn revoke_sessions(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = UserId(parse_id(&id, Resource::User)?);
    s.core
        .committer
        .write(move |w| users::revoke_sessions(w, &auth.actor, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
