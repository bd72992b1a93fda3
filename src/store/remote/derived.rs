//! Build records (`store/derived/<key>.json`) in the remote store, under `derived/<key>.json`:
//! a fleet machine with the same inputs finds the build there, fetches its output as an ordinary
//! node object (verified by its tree hash), and never runs the script. A record is untrusted:
//! bounded, parsed strictly, and used only when it is for exactly the inputs asked about.

use super::{Lookup, Remote, RemoteError, Result};
use crate::store::derived::{DerivedInputs, DerivedRecord};
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

/// A record larger than this is not one comfydock wrote.
const MAX_DERIVED_RECORD_BYTES: u64 = 64 * 1024;

impl Remote {
    fn derived_key(&self, inputs: &DerivedInputs) -> object_store::path::Path {
        self.keys.derived(&inputs.key())
    }

    /// Publishes a build record (kept when the remote has one already: same key, same inputs).
    pub fn put_derived(&self, record: &DerivedRecord) -> Result<()> {
        let key = self.derived_key(&record.inputs);
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| RemoteError::Corrupt {
            key: key.to_string(),
            reason: e.to_string(),
        })?;
        self.runtime.block_on(async {
            match self
                .store
                .put_opts(&key, PutPayload::from(bytes), PutOptions::from(PutMode::Create))
                .await
            {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(RemoteError::request("PUT", &key)(e)),
            }
        })
    }

    /// The remote's record of a build with these inputs.
    pub fn get_derived(&self, inputs: &DerivedInputs) -> Lookup<DerivedRecord> {
        let key = self.derived_key(inputs);
        let got = self.runtime.block_on(async {
            let got = match self.store.get(&key).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(RemoteError::request("GET", &key)(e)),
            };
            if got.meta.size > MAX_DERIVED_RECORD_BYTES {
                return Err(RemoteError::Corrupt {
                    key: key.to_string(),
                    reason: format!("a build record of {} bytes is too large", got.meta.size),
                });
            }
            let bytes = got.bytes().await.map_err(RemoteError::request("GET", &key))?;
            let record: DerivedRecord = serde_json::from_slice(&bytes).map_err(|e| RemoteError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            })?;
            if record.format_version != 1 || record.inputs != *inputs {
                return Err(RemoteError::Corrupt {
                    key: key.to_string(),
                    reason: "the record is not for the inputs its key names".into(),
                });
            }
            Ok(Some(record))
        });
        match got {
            Ok(Some(record)) => Lookup::Found(record),
            Ok(None) => Lookup::Absent,
            Err(e) => Lookup::Unusable(e),
        }
    }
}
