//! First start and opening: create the data dir and database, the instance identity (id, epoch 1),
//! and the `admin` account with a random password that is returned once to be printed.

use std::path::Path;
use std::sync::Arc;

use redb::ReadableDatabase;

use crate::clock::Millis;
use crate::domain::credentials::{generate_password, hash_password};
use crate::domain::fact::{EpochReason, Fact};
use crate::domain::{Epoch, InstanceId};
use crate::error::{Error, Result};
use crate::log::Appender;
use crate::store::access::Access;
use crate::store::tables::META;
use crate::store::{self, InstanceMeta, access, apply, codec};

use super::commit::run_once;
use super::users;

pub struct Opened {
    pub db: Arc<redb::Database>,
    pub appender: Appender,
    pub meta: InstanceMeta,
    /// Set on first start only: the initial `admin` password, to be shown once.
    pub initial_password: Option<String>,
}

/// Create the empty store of a replica of `instance`: its log starts at that instance's genesis
/// and fills from the primary; nothing is written locally.
pub fn init_replica(data_dir: &Path, instance: &str, now: Millis) -> Result<()> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::Io(format!(
            "cannot create data dir {}: {e}",
            data_dir.display()
        ))
    })?;
    let path = data_dir.join(store::DB_FILE);
    if path.exists() {
        return Err(Error::Config(format!(
            "{} already has a database; a replica starts from an empty data dir",
            data_dir.display()
        )));
    }
    let db = store::open(&path)?;
    let w = db.begin_write()?;
    apply::ensure_tables(&w)?;
    let meta = InstanceMeta {
        instance_id: InstanceId(instance.to_string()),
        epoch: Epoch(1),
        role: "replica".into(),
        created_at: now,
    };
    w.open_table(META)?
        .insert("instance", codec::encode(&meta).as_slice())?;
    w.commit()?;
    Ok(())
}

/// The role the instance whose log this is was created with (its first entry): what a
/// replica of it becomes when promoted or restored — a hub's copy stays a hub.
pub fn origin_role(db: &redb::Database) -> Result<String> {
    origin_role_in(&db.begin_read()?)
}

/// `origin_role` within a transaction.
pub fn origin_role_in(a: &impl Access) -> Result<String> {
    let first = a
        .log_value(1)?
        .map(|s| crate::log::entry::decode_stored(&s))
        .transpose()?;
    Ok(match first.map(|e| e.fact) {
        Some(crate::domain::fact::Fact::InstanceCreated { role, .. }) if role == "hub" => {
            "hub".into()
        }
        _ => "county".into(),
    })
}

/// Begin a new epoch (after a restore, or to promote a replica): in one transaction META gets
/// the next epoch and `role`, and an `EpochBegan` entry — the first of the new history line —
/// names the position it continues from. Returns the new epoch and that entry's lsn.
pub fn begin_epoch(
    opened: &mut Opened,
    role: &str,
    reason: EpochReason,
    now: Millis,
) -> Result<(Epoch, crate::domain::Lsn)> {
    let head = access::log_head(&opened.db.begin_read()?)?;
    let (after_epoch, after_lsn, after_hash) = match head {
        Some(h) => (h.epoch, h.lsn, h.hash),
        None => {
            return Err(Error::Config(
                "the log is empty: nothing to continue".into(),
            ));
        }
    };
    let epoch = Epoch(after_epoch.0.max(opened.meta.epoch.0) + 1);
    let mut meta = opened.meta.clone();
    meta.epoch = epoch;
    meta.role = role.to_string();
    let mut appender = Appender::load(&opened.db.begin_read()?, &meta.instance_id, epoch)?;
    let m = meta.clone();
    let lsn = run_once(&opened.db, &mut appender, now, |w| {
        w.tx()
            .open_table(META)?
            .insert("instance", codec::encode(&m).as_slice())?;
        w.emit(
            None,
            Fact::EpochBegan {
                epoch,
                reason,
                after_lsn,
                after_hash,
            },
        )
    })?;
    opened.meta = meta;
    opened.appender = appender;
    Ok((epoch, lsn))
}

/// Open the data dir's database, initializing the instance on first start.
pub fn open_or_init(data_dir: &Path, role: &str, now: Millis) -> Result<Opened> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::Io(format!(
            "cannot create data dir {}: {e}",
            data_dir.display()
        ))
    })?;
    let db = store::open(&data_dir.join(store::DB_FILE))?;
    let existing = {
        let w = db.begin_write()?;
        apply::ensure_tables(&w)?;
        let meta = access::instance(&w)?;
        w.commit()?;
        meta
    };
    if let Some(meta) = existing {
        let mut appender = Appender::load(&db.begin_read()?, &meta.instance_id, meta.epoch)?;
        // Data written before review chains existed: give its outlets the default chain.
        // (A replica never writes its own entries: its primary does this.)
        let missing = meta.role != "replica"
            && !super::chains::outlets_without_chain(&db.begin_read()?)?.is_empty();
        if missing {
            run_once(&db, &mut appender, now, super::chains::ensure_defaults)?;
        }
        return Ok(Opened {
            db: Arc::new(db),
            appender,
            meta,
            initial_password: None,
        });
    }
    let meta = InstanceMeta {
        instance_id: InstanceId(uuid::Uuid::new_v4().to_string()),
        epoch: Epoch(1),
        role: role.to_string(),
        created_at: now,
    };
    let mut appender = Appender::load(&db.begin_read()?, &meta.instance_id, meta.epoch)?;
    let password = generate_password();
    let phc = hash_password(&password)?;
    let m = meta.clone();
    run_once(&db, &mut appender, now, |w| {
        w.tx()
            .open_table(META)?
            .insert("instance", codec::encode(&m).as_slice())?;
        w.emit(
            None,
            Fact::InstanceCreated {
                instance_id: m.instance_id.clone(),
                role: m.role.clone(),
            },
        )?;
        super::lexicons::ensure_builtin(w)?;
        users::create_initial_admin(w, &phc)
    })?;
    Ok(Opened {
        db: Arc::new(db),
        appender,
        meta,
        initial_password: Some(password),
    })
}
