//! `admin reset-password`.

use std::process::ExitCode;

use redb::ReadableDatabase;

use crate::config::Config;
use crate::domain::credentials::{generate_password, hash_password};
use crate::store::access;
use crate::workflow::{commit::run_once, users};

pub fn reset_password(cfg: &Config, username: &str) -> anyhow::Result<ExitCode> {
    let mut opened = super::open_offline(cfg)?;
    let user = access::user_by_name(&opened.db.begin_read()?, username)?
        .ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))?;
    let password = generate_password();
    let phc = hash_password(&password)?;
    run_once(
        &opened.db,
        &mut opened.appender,
        crate::clock::system().now(),
        |w| users::set_password(w, None, user.id, &phc),
    )?;
    println!("new password for {username} (shown once): {password}");
    println!("all sessions of {username} have been ended");
    Ok(ExitCode::SUCCESS)
}
