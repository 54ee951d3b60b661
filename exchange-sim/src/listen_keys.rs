//! Listen keys for private websocket streams: create, list, keep alive, delete, expire.

use std::collections::HashMap;
use std::sync::Mutex;

use lifecycle_core::WallClock;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::accounts::AccountId;
use crate::config::ListenKeyConfig;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
struct Entry {
    account: AccountId,
    /// Wall-clock ms (the venue's clock): survives a restart of the venue.
    expires_at: i64,
}

/// All listen keys of the venue.
#[derive(Debug)]
pub struct ListenKeys {
    config: ListenKeyConfig,
    keys: Mutex<HashMap<String, Entry>>,
    clock: Mutex<WallClock>,
    /// Seeded generator of new keys (`None`: the OS's randomness).
    seeded: Mutex<Option<StdRng>>,
}

impl ListenKeys {
    /// An empty store.
    pub fn new(config: ListenKeyConfig) -> Self {
        Self {
            seeded: Mutex::new(config.seed.map(StdRng::seed_from_u64)),
            config,
            keys: Mutex::new(HashMap::new()),
            clock: Mutex::new(WallClock::system()),
        }
    }

    /// Expiry is judged on `clock` from now on (the clock of the venue now serving).
    pub(crate) fn set_clock(&self, clock: WallClock) {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = clock;
    }

    fn now(&self) -> i64 {
        self.clock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .now_ms()
    }

    fn validity_ms(&self) -> i64 {
        i64::try_from(self.config.validity.as_millis()).unwrap_or(i64::MAX)
    }

    fn new_key(&self) -> String {
        let mut seeded = self.seeded.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: [u8; 32] = match seeded.as_mut() {
            Some(rng) => rng.random(),
            None => rand::rng().random(),
        };
        hex::encode(bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Create a key for `account` (at most `max_per_account` live keys).
    pub fn create(&self, account: AccountId) -> Result<String, ApiError> {
        let now = self.now();
        let mut keys = self.lock();
        keys.retain(|_, e| e.expires_at > now);
        if keys.values().filter(|e| e.account == account).count() >= self.config.max_per_account {
            return Err(ApiError::bad_request(
                730_001,
                format!(
                    "The maximum number of listen keys ({}) has been reached",
                    self.config.max_per_account
                ),
            ));
        }
        let key = self.new_key();
        keys.insert(
            key.clone(),
            Entry {
                account,
                expires_at: now.saturating_add(self.validity_ms()),
            },
        );
        Ok(key)
    }

    /// Live keys of an account.
    pub fn list(&self, account: AccountId) -> Vec<String> {
        let now = self.now();
        let mut list: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, e)| e.account == account && e.expires_at > now)
            .map(|(k, _)| k.clone())
            .collect();
        list.sort();
        list
    }

    /// Extend a key of `account` by the full validity.
    pub fn keep_alive(&self, account: AccountId, key: &str) -> Result<(), ApiError> {
        let now = self.now();
        let mut keys = self.lock();
        match keys.get_mut(key) {
            Some(e) if e.account == account && e.expires_at > now => {
                e.expires_at = now.saturating_add(self.validity_ms());
                Ok(())
            }
            _ => Err(ApiError::invalid_listen_key()),
        }
    }

    /// Delete a key of `account`.
    pub fn delete(&self, account: AccountId, key: &str) -> Result<(), ApiError> {
        let mut keys = self.lock();
        match keys.get(key) {
            Some(e) if e.account == account => {
                keys.remove(key);
                Ok(())
            }
            _ => Err(ApiError::invalid_listen_key()),
        }
    }

    /// The account of a live key.
    pub fn lookup(&self, key: &str) -> Option<AccountId> {
        let now = self.now();
        self.lock()
            .get(key)
            .filter(|e| e.expires_at > now)
            .map(|e| e.account)
    }

    /// Expire a key now; whether it existed.
    pub fn expire(&self, key: &str) -> bool {
        self.lock().remove(key).is_some()
    }

    /// Expire every key now and return them (in order).
    pub fn expire_all(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().drain().map(|(k, _)| k).collect();
        keys.sort();
        keys
    }

    /// Remove expired keys and return them.
    pub fn sweep(&self) -> Vec<String> {
        let now = self.now();
        let mut expired = Vec::new();
        self.lock().retain(|k, e| {
            let live = e.expires_at > now;
            if !live {
                expired.push(k.clone());
            }
            live
        });
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lifecycle_and_limit() {
        let store = ListenKeys::new(ListenKeyConfig {
            max_per_account: 2,
            ..ListenKeyConfig::default()
        });
        let a = AccountId(0);
        let k1 = store.create(a).unwrap();
        let k2 = store.create(a).unwrap();
        assert_eq!(k1.len(), 64);
        assert_eq!(store.create(a).unwrap_err().code, 730_001);
        assert!(store.create(AccountId(1)).is_ok());
        assert_eq!(store.list(a).len(), 2);
        assert!(store.keep_alive(a, &k1).is_ok());
        assert_eq!(
            store.keep_alive(AccountId(1), &k1).unwrap_err().msg,
            "listen key information error"
        );
        store.delete(a, &k2).unwrap();
        assert_eq!(store.lookup(&k2), None);
        assert_eq!(store.lookup(&k1), Some(a));
        assert!(store.expire(&k1));
        assert_eq!(store.lookup(&k1), None);
    }

    #[test]
    fn keys_expire_without_keep_alive() {
        let store = ListenKeys::new(ListenKeyConfig {
            validity: Duration::ZERO,
            ..ListenKeyConfig::default()
        });
        let k = store.create(AccountId(0)).unwrap();
        assert_eq!(store.lookup(&k), None);
        assert_eq!(store.sweep(), vec![k.clone()]);
        assert_eq!(
            store.keep_alive(AccountId(0), &k).unwrap_err().code,
            730_708
        );
    }
}
