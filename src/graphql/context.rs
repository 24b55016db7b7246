//! What a resolver can ask of its request: the services, the caller, and the
//! request's DataLoaders.

use std::sync::{Arc, OnceLock};

use async_graphql::Context;

use super::loaders::Loaders;
use crate::auth::Principal;
use crate::db::Reads;
use crate::error::AppError;
use crate::facades::{Services, identity};

/// Per-operation data: who is calling, where the operation reads, and its
/// DataLoaders.
pub struct RequestData {
    /// The authenticated caller, if a valid token came with the request.
    pub caller: Option<Principal>,
    /// Where the operation's reads run (one shared connection for a query).
    pub reads: Arc<Reads>,
    /// Batching loaders, fresh per operation so nothing is cached across
    /// users; made at the first field that needs them (most operations,
    /// and most subscription updates, need none).
    loaders: OnceLock<Loaders>,
    /// The caller's user id, once a field asked for it: the fields that
    /// ask at once (the orders of a `nodes` or `_entities` call, each
    /// checking its owner) wait on one lookup rather than each making its
    /// own when the caller is new to this instance.
    caller_id: tokio::sync::OnceCell<i64>,
}

impl RequestData {
    /// The data of one operation of `caller`, reading through `reads`.
    pub fn new(caller: Option<Principal>, reads: Reads) -> Self {
        let reads = Arc::new(reads);
        Self {
            caller,
            loaders: OnceLock::new(),
            caller_id: tokio::sync::OnceCell::new(),
            reads,
        }
    }
}

impl RequestData {
    /// The operation's DataLoaders.
    pub fn loaders(&self) -> &Loaders {
        self.loaders.get_or_init(|| Loaders::new(&self.reads))
    }
}

/// The services shared by every request.
pub fn services<'a>(ctx: &Context<'a>) -> Result<&'a Services, AppError> {
    ctx.data::<Services>()
        .map_err(|_| AppError::Internal("Services missing from schema data".into()))
}

/// This request's data.
pub fn request<'a>(ctx: &Context<'a>) -> Result<&'a Arc<RequestData>, AppError> {
    ctx.data::<Arc<RequestData>>()
        .map_err(|_| AppError::Internal("RequestData missing".into()))
}

/// Where this operation reads: take a connection, read, and drop it before
/// awaiting anything else that reads.
pub fn reads<'a>(ctx: &Context<'a>) -> Result<&'a Reads, AppError> {
    Ok(&request(ctx)?.reads)
}

/// The authenticated caller, or `UNAUTHENTICATED`.
pub fn caller<'a>(ctx: &Context<'a>) -> Result<&'a Principal, AppError> {
    request(ctx)?
        .caller
        .as_ref()
        .ok_or(AppError::Unauthenticated)
}

/// The caller, if any (public fields work without a token).
pub fn maybe_caller<'a>(ctx: &Context<'a>) -> Option<&'a Principal> {
    request(ctx).ok().and_then(|r| r.caller.as_ref())
}

/// The request's DataLoaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, AppError> {
    Ok(request(ctx)?.loaders())
}

/// The caller's user id, creating the user on first sight.
pub async fn viewer_id(ctx: &Context<'_>) -> Result<i64, AppError> {
    user_id_of(ctx, caller(ctx)?).await
}

/// The user id of `caller` (this request's), looked up once per request.
async fn user_id_of(ctx: &Context<'_>, caller: &Principal) -> Result<i64, AppError> {
    let services = services(ctx)?;
    let id = request(ctx)?
        .caller_id
        .get_or_try_init(|| identity::user_id(services, caller))
        .await?;
    Ok(*id)
}

/// Whether the caller may see what user `owner_id` owns: their own things,
/// or anything for an admin. Nobody without a token.
pub async fn can_see(ctx: &Context<'_>, owner_id: i64) -> Result<bool, AppError> {
    match maybe_caller(ctx) {
        None => Ok(false),
        Some(caller) if caller.is_admin => Ok(true),
        Some(caller) => Ok(user_id_of(ctx, caller).await? == owner_id),
    }
}
