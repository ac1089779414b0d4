//! Senders, assistants and price tables kept in memory. Every webhook POST looks up the sender
//! of its phone number id (a reply brings three status webhooks, so about four lookups per
//! message) and every turn reads its assistant and its workspace's prices: each read is a
//! round trip (to PostgreSQL, or to one of sqlx's SQLite connection threads) that under load
//! costs more than the query. These settings change rarely.
//!
//! Within the process: every write to `senders`, `assistants` or `price_tables` calls
//! [`SettingsCache::changed`] after its commit, which bumps a generation. An entry is kept only
//! if no change happened while it was read, and is used only while the generation it was read
//! under is current; so a read racing a change never outlives it, and a read after a change
//! answers the change. Across processes: entries expire after the time to live each backend
//! sets, so a change another process made is seen within it (on SQLite, where this process
//! makes every change, a CLI run on the same file, say; on PostgreSQL, the deployment's other
//! processes).

use confab_domain::{Assistant, AssistantId, Provider, Sender, SenderId, WorkspaceId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most entries of each kind; more and the kind starts over (settings are few).
const MAX_ENTRIES: usize = 4_096;

#[derive(Debug)]
pub(crate) struct SettingsCache {
    /// How long an entry is used before it is read again.
    time_to_live: Duration,
    generation: AtomicU64,
    senders_by_provider_id: Entries<(Provider, String), Option<Sender>>,
    senders: Entries<(WorkspaceId, SenderId), Sender>,
    assistants: Entries<(WorkspaceId, AssistantId), Assistant>,
    price_tables: Entries<WorkspaceId, Option<serde_json::Value>>,
}

/// When a lookup started: the generation to keep its result under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadStart(u64);

impl SettingsCache {
    pub fn new(time_to_live: Duration) -> Self {
        Self {
            time_to_live,
            generation: AtomicU64::new(0),
            senders_by_provider_id: Entries::default(),
            senders: Entries::default(),
            assistants: Entries::default(),
            price_tables: Entries::default(),
        }
    }

    /// Call before reading what may be kept.
    pub fn read_start(&self) -> ReadStart {
        ReadStart(self.generation.load(Ordering::Acquire))
    }

    /// Call after a write to `senders`, `assistants` or `price_tables` has committed.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn sender_by_provider_id(&self, provider: Provider, id: &str) -> Option<Option<Sender>> {
        self.senders_by_provider_id.get(&(provider, id.to_owned()), self.current(), self.time_to_live)
    }

    pub fn keep_sender_by_provider_id(&self, start: ReadStart, provider: Provider, id: &str, sender: Option<Sender>) {
        self.senders_by_provider_id.keep(start, self.current(), (provider, id.to_owned()), sender);
    }

    pub fn sender(&self, workspace_id: WorkspaceId, id: SenderId) -> Option<Sender> {
        self.senders.get(&(workspace_id, id), self.current(), self.time_to_live)
    }

    pub fn keep_sender(&self, start: ReadStart, sender: Sender) {
        self.senders.keep(start, self.current(), (sender.workspace_id, sender.id), sender);
    }

    pub fn assistant(&self, workspace_id: WorkspaceId, id: AssistantId) -> Option<Assistant> {
        self.assistants.get(&(workspace_id, id), self.current(), self.time_to_live)
    }

    pub fn keep_assistant(&self, start: ReadStart, assistant: Assistant) {
        self.assistants.keep(start, self.current(), (assistant.workspace_id, assistant.id), assistant);
    }

    pub fn price_table(&self, workspace_id: WorkspaceId) -> Option<Option<serde_json::Value>> {
        self.price_tables.get(&workspace_id, self.current(), self.time_to_live)
    }

    pub fn keep_price_table(&self, start: ReadStart, workspace_id: WorkspaceId, prices: Option<serde_json::Value>) {
        self.price_tables.keep(start, self.current(), workspace_id, prices);
    }

    fn current(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// One kind of entry: the value, the generation it was read under, and when.
struct Entries<K, V>(Mutex<HashMap<K, (V, u64, Instant)>>);

/// How many entries, not what they hold (senders carry tokens and phone numbers).
impl<K, V> std::fmt::Debug for Entries<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.0.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("Entries").field("entries", &entries).finish()
    }
}

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> Entries<K, V> {
    fn get(&self, key: &K, generation: u64, time_to_live: Duration) -> Option<V> {
        let entries = self.0.lock().ok()?;
        let (value, read_under, read_at) = entries.get(key)?;
        (*read_under == generation && read_at.elapsed() < time_to_live).then(|| value.clone())
    }

    fn keep(&self, start: ReadStart, generation: u64, key: K, value: V) {
        if start.0 != generation {
            // something changed while it was read: it may be stale already
            return;
        }
        let Ok(mut entries) = self.0.lock() else { return };
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (value, start.0, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A_MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn an_entry_lives_until_the_next_change() {
        let cache = SettingsCache::new(A_MINUTE);
        let entries: Entries<&str, i64> = Entries::default();
        entries.keep(cache.read_start(), cache.current(), "a", 1);
        assert_eq!(entries.get(&"a", cache.current(), A_MINUTE), Some(1));
        cache.changed();
        assert_eq!(entries.get(&"a", cache.current(), A_MINUTE), None);
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = SettingsCache::new(A_MINUTE);
        let entries: Entries<&str, i64> = Entries::default();
        let start = cache.read_start();
        cache.changed();
        entries.keep(start, cache.current(), "a", 1);
        assert_eq!(entries.get(&"a", cache.current(), A_MINUTE), None);
    }

    #[test]
    fn an_entry_past_its_time_to_live_is_read_again() {
        let cache = SettingsCache::new(A_MINUTE);
        let entries: Entries<&str, i64> = Entries::default();
        entries.keep(cache.read_start(), cache.current(), "a", 1);
        assert_eq!(entries.get(&"a", cache.current(), Duration::ZERO), None);
    }
}
