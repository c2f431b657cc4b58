//! Who users are, for display: one lookup per user per response, however many rows name them.

use std::collections::HashMap;

use crate::domain::UserId;
use crate::domain::user::User;
use crate::error::Result;
use crate::store::{Reader, access};

pub struct Names<'r> {
    r: &'r Reader,
    cache: HashMap<UserId, Option<User>>,
}

impl<'r> Names<'r> {
    pub fn new(r: &'r Reader) -> Self {
        Self {
            r,
            cache: HashMap::new(),
        }
    }

    pub fn user(&mut self, u: UserId) -> Result<Option<&User>> {
        if !self.cache.contains_key(&u) {
            let x = access::user(&self.r.0, u)?;
            self.cache.insert(u, x);
        }
        Ok(self.cache.get(&u).and_then(Option::as_ref))
    }

    /// The display name ("" for a user that does not exist).
    pub fn name(&mut self, u: UserId) -> Result<String> {
        Ok(self
            .user(u)?
            .map(|x| x.display_name.clone())
            .unwrap_or_default())
    }
}
