//! Every redb table, in one place. Values marked `enc<T>` are `codec::encode`d (format byte +
//! JSON). "Replicated" tables are pure functions of the log: `log::check` rebuilds them from the
//! log in memory and compares them byte for byte. "Local" tables are per-installation state that
//! is never shipped (sessions) or describes the log itself (meta).

use redb::{Key, TableDefinition, Value};

use crate::error::Result;

/// Local. key: name; value: bytes. Keys: `instance` → enc<InstanceMeta>; `log_head` →
/// enc<LogHead>. Invariant: `log_head` equals the last LOG entry's position and hash.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Local (it *is* the log, with LOG_BLOCKS; `logtable` keeps both). key: lsn; value: 32-byte
/// chained hash ‖ entry bytes (see `log`). Invariants: every lsn from 1 to the head is a key
/// here or inside one LOG_BLOCKS row, never both; an entry is never rewritten or deleted.
pub const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

/// Local (the rest of the log). key: lsn of the first of a run of consecutive entries written
/// in one transaction; value: for each entry of the run, `u32 BE length ‖ hash ‖ entry bytes`.
pub const LOG_BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("log_blocks");

/// Where a LOG value's entry format byte is (after the 32-byte hash), and where its fact (JSON)
/// starts: after the entry header (format byte, epoch, lsn, time, actor). `log::entry` asserts
/// both.
pub const LOG_FORMAT_AT: usize = 32;
pub const LOG_FACT_OFFSET: usize = LOG_FORMAT_AT + 33;
/// The entry format byte `LOG_FACT_OFFSET` is valid for.
pub const LOG_ENTRY_FORMAT: u8 = 1;

/// Replicated. key: id kind (`outlet`, `user`, `article`, `asset`, `token`); value: highest id
/// used. Invariant: ≥ every id of that kind in its table.
pub const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

/// Replicated. key: OutletId; value: enc<Outlet>.
pub const OUTLETS: TableDefinition<u64, &[u8]> = TableDefinition::new("outlets");

/// Replicated. key: outlet slug; value: OutletId. Invariant: one entry per OUTLETS row.
pub const OUTLET_SLUGS: TableDefinition<&str, u64> = TableDefinition::new("outlet_slugs");

/// Replicated. key: UserId; value: enc<User>.
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");

/// Replicated. key: username; value: UserId. Invariant: one entry per USERS row.
pub const USERNAMES: TableDefinition<&str, u64> = TableDefinition::new("usernames");

/// Replicated. key: UserId; value: argon2id PHC string (UTF-8).
pub const PASSWORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("passwords");

/// Replicated. key: TokenId; value: enc<ApiToken> (the secret is stored only as SHA-256).
pub const TOKENS: TableDefinition<u64, &[u8]> = TableDefinition::new("tokens");

/// Replicated. key: ArticleId; value: lsn of the LOG entry whose fact carries the article's
/// newest state. Every fact that saves an article carries all of it, so each version is stored
/// once, in the log, and the tables only point at it (a create writes the body once, not three
/// times). Invariant: the entry's fact is one for which `Fact::article` is this article.
pub const ARTICLE_HEADS: TableDefinition<u64, u64> = TableDefinition::new("article_heads");

/// Replicated. key: (ArticleId, revision); value: lsn of the LOG entry carrying that revision's
/// last state. Invariants: revisions 1..=current all present; the current revision's row equals
/// the ARTICLE_HEADS row.
pub const ARTICLE_REVISIONS: TableDefinition<(u64, u32), u64> =
    TableDefinition::new("article_revisions");

/// Stores written before ARTICLE_HEADS / ARTICLE_REVISIONS held each version's encoded article
/// here. Only `store::upgrade` (and the backup loader) know these names: on open they are
/// replaced by the pointer tables, rebuilt from the log.
pub const LEGACY_ARTICLES: TableDefinition<u64, &[u8]> = TableDefinition::new("articles");
pub const LEGACY_ARTICLE_VERSIONS: TableDefinition<(u64, u32), &[u8]> =
    TableDefinition::new("article_versions");

/// Replicated. key: (updated_at ms, ArticleId); value: OutletId. Invariant: exactly one entry per
/// article, at its current `updated_at`. Serves listing by update time.
pub const ARTICLES_BY_UPDATED: TableDefinition<(i64, u64), u64> =
    TableDefinition::new("articles_by_updated");

/// Replicated. key: (OutletId, source id); value: ArticleId. Makes imports idempotent.
pub const ARTICLE_SOURCES: TableDefinition<(u64, &str), u64> =
    TableDefinition::new("article_sources");

/// Replicated. key: AssetId; value: enc<Asset>.
pub const ASSETS: TableDefinition<u64, &[u8]> = TableDefinition::new("assets");

/// Replicated. key: (AssetId, ArticleId); value: (). Invariant: present iff the article's current
/// version references the asset; an asset with any entry cannot be deleted.
pub const ASSET_REFS: TableDefinition<(u64, u64), ()> = TableDefinition::new("asset_refs");

/// Replicated. key: ChainId; value: enc<Chain>, the newest version.
pub const CHAINS: TableDefinition<u64, &[u8]> = TableDefinition::new("chains");

/// Replicated. key: (ChainId, version); value: enc<Chain>. Invariant: versions 1..=newest all
/// present and never rewritten (reviews keep the version they started with).
pub const CHAIN_VERSIONS: TableDefinition<(u64, u32), &[u8]> =
    TableDefinition::new("chain_versions");

/// Replicated. key: (OutletId, chain slug); value: ChainId. One entry per CHAINS row.
pub const CHAIN_SLUGS: TableDefinition<(u64, &str), u64> = TableDefinition::new("chain_slugs");

/// Replicated. key: ArticleId; value: enc<Review>, the article's current review cycle.
pub const REVIEWS: TableDefinition<u64, &[u8]> = TableDefinition::new("reviews");

/// Replicated. The "my reviews" queues. key: (scope, role code, sort, ArticleId); value:
/// enc<QueueEntry>. For a level that names roles there is one entry per role, scope = the
/// level's outlet and role code = `Role::code`; for each named user, scope = UserId and role
/// code = `USER_SCOPE`. sort = due time, or `NO_DUE + level_since` without a deadline.
/// Invariant: entries exist exactly for open reviews, for their current level.
pub const REVIEW_QUEUE: TableDefinition<(u64, u8, i64, u64), &[u8]> =
    TableDefinition::new("review_queue");

/// Replicated. key: (ArticleId, lsn); value: (). Every log entry about the article.
pub const AUDIT_BY_ARTICLE: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("audit_by_article");

/// Replicated. key: (UserId of the actor, lsn); value: (). Every log entry a user caused.
pub const AUDIT_BY_USER: TableDefinition<(u64, u64), ()> = TableDefinition::new("audit_by_user");

/// Replicated. key: TopicId; value: enc<Topic>.
pub const TOPICS: TableDefinition<u64, &[u8]> = TableDefinition::new("topics");

/// Replicated. The planning board. key: (OutletId, state code, sort, TopicId); value: (). One
/// entry per outlet of a topic that is not merged. sort = deadline (or `NO_DUE` + proposed_at)
/// for open states, `-updated_at` for closed ones (newest first).
pub const TOPIC_BOARD: TableDefinition<(u64, u8, i64, u64), ()> =
    TableDefinition::new("topic_board");

/// Replicated. The planning calendar. key: (OutletId, time, TopicId, date kind code); value: ().
/// Entries exist for each outlet of an open topic and each of its `Topic::dates`.
pub const TOPIC_DATES: TableDefinition<(u64, i64, u64, u8), ()> =
    TableDefinition::new("topic_dates");

/// Replicated. key: ArticleId; value: TopicId it is linked to (an article has at most one).
pub const ARTICLE_TOPIC: TableDefinition<u64, u64> = TableDefinition::new("article_topic");

/// Replicated. key: (TopicId, lsn); value: (). Every log entry about the topic.
pub const AUDIT_BY_TOPIC: TableDefinition<(u64, u64), ()> = TableDefinition::new("audit_by_topic");

/// Replicated. key: CommentId; value: enc<Comment>.
pub const COMMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("comments");

/// Replicated. key: (subject kind, subject id, CommentId); value: (). A thread in order.
pub const COMMENTS_BY_SUBJECT: TableDefinition<(u8, u64, u64), ()> =
    TableDefinition::new("comments_by_subject");

/// Replicated. key: (UserId, lsn of the entry that caused it); value: enc<Notice>.
pub const NOTICES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("notices");

/// Replicated. key: UserId; value: number of unread NOTICES rows of the user (absent = 0).
pub const UNREAD: TableDefinition<u64, u64> = TableDefinition::new("unread");

/// Replicated. key: LexiconId; value: enc<Lexicon>. COUNTERS `lexicon_gen` ≥ every row's
/// generation (a deleted list's generation too).
pub const LEXICONS: TableDefinition<u64, &[u8]> = TableDefinition::new("lexicons");

/// Replicated. key: (LexiconId, entry text); value: enc<Entry>. Invariant: rows exist only for
/// LEXICONS rows, and their count is the lexicon's `entries`.
pub const LEXICON_ENTRIES: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("lexicon_entries");

/// Replicated. key: (ArticleId, revision); value: enc<Screening>, the newest check of that
/// revision.
pub const SCREENINGS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("screenings");

/// Replicated. key: (ArticleId, term); value: enc<Override>. A blocked term with a row here no
/// longer stops the article.
pub const SCREEN_OVERRIDES: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("screen_overrides");

/// Replicated. key: (ArticleId, "rule|text"); value: enc<Ignored>. Proofreading does not suggest
/// that rule on that text in that article again.
pub const PROOF_IGNORES: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("proof_ignores");

/// Replicated. key: peer id; value: enc<Peer>. Federation accepts a certificate only if its
/// peer is here, unrevoked, with the same fingerprint.
pub const PEERS: TableDefinition<&str, &[u8]> = TableDefinition::new("peers");

/// Replicated (hub). key: county id; value: enc<CountyCursor>. Written with every county entry
/// applied, so entries and cursor commit together.
pub const COUNTY_CURSORS: TableDefinition<&str, &[u8]> = TableDefinition::new("county_cursors");

/// Replicated (hub). key: (county id, the county's article id); value: enc<CountyArticle>.
pub const COUNTY_ARTICLES: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("county_articles");

/// Replicated (hub). key: instruction id; value: enc<Instruction>.
pub const INSTRUCTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("instructions");

/// Replicated (hub). key: (county id, instruction id); value: enc<Progress>. A row for each
/// target county, written when the instruction is issued and then from the county's entries.
pub const INSTRUCTION_PROGRESS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("instruction_progress");

/// Replicated (hub). key: (county id, message number); value: enc<Down>. What each county
/// fetches from its hub, after the last number it applied.
pub const COUNTY_OUTBOX: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("county_outbox");

/// Replicated (hub). key: (county id, the county's article id); value: enc<ProvincialReview>.
pub const PROVINCIAL_REVIEWS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("provincial_reviews");

/// Replicated (hub). key: (county id, day of publication (days since the epoch, China time),
/// the county's article id). A set: articles a county published, by day, for the dashboard.
pub const COUNTY_PUBLISHED: TableDefinition<(&str, u64, u64), ()> =
    TableDefinition::new("county_published");

/// Replicated (hub). key: shared item id; value: enc<SharedItem>.
pub const SHARED: TableDefinition<u64, &[u8]> = TableDefinition::new("shared");

/// Replicated (hub). key: (shared item id, county id); value: enc<Adoption>. Reprints.
pub const SHARED_ADOPTIONS: TableDefinition<(u64, &str), &[u8]> =
    TableDefinition::new("shared_adoptions");

/// Replicated (county). key: shared item id (the hub's); value: enc<PoolItem>.
pub const POOL: TableDefinition<u64, &[u8]> = TableDefinition::new("pool");

/// Replicated (county). key: the hub's instruction id; value: enc<InboxItem>.
pub const INBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("inbox");

/// Local. key: SHA-256 of a pairing token; value: enc<Pairing>. Removed when used.
pub const PAIRINGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pairings");

/// Local. key: SHA-256 of the session cookie; value: enc<Session>.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");

/// Something done to each of a set of tables in turn (check, digest, backup, restore).
pub trait Visit {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        t: TableDefinition<'static, K, V>,
    ) -> Result<()>;
}

/// Visit every replicated table, always in this order (backups depend on it).
pub fn replicated(v: &mut impl Visit) -> Result<()> {
    v.table(COUNTERS)?;
    v.table(OUTLETS)?;
    v.table(OUTLET_SLUGS)?;
    v.table(USERS)?;
    v.table(USERNAMES)?;
    v.table(PASSWORDS)?;
    v.table(TOKENS)?;
    v.table(ARTICLE_HEADS)?;
    v.table(ARTICLE_REVISIONS)?;
    v.table(ARTICLES_BY_UPDATED)?;
    v.table(ARTICLE_SOURCES)?;
    v.table(ASSETS)?;
    v.table(ASSET_REFS)?;
    v.table(CHAINS)?;
    v.table(CHAIN_VERSIONS)?;
    v.table(CHAIN_SLUGS)?;
    v.table(REVIEWS)?;
    v.table(REVIEW_QUEUE)?;
    v.table(AUDIT_BY_ARTICLE)?;
    v.table(AUDIT_BY_USER)?;
    v.table(TOPICS)?;
    v.table(TOPIC_BOARD)?;
    v.table(TOPIC_DATES)?;
    v.table(ARTICLE_TOPIC)?;
    v.table(AUDIT_BY_TOPIC)?;
    v.table(COMMENTS)?;
    v.table(COMMENTS_BY_SUBJECT)?;
    v.table(NOTICES)?;
    v.table(UNREAD)?;
    v.table(LEXICONS)?;
    v.table(LEXICON_ENTRIES)?;
    v.table(SCREENINGS)?;
    v.table(SCREEN_OVERRIDES)?;
    v.table(PROOF_IGNORES)?;
    v.table(PEERS)?;
    v.table(COUNTY_CURSORS)?;
    v.table(COUNTY_ARTICLES)?;
    v.table(INSTRUCTIONS)?;
    v.table(INSTRUCTION_PROGRESS)?;
    v.table(COUNTY_OUTBOX)?;
    v.table(INBOX)?;
    v.table(PROVINCIAL_REVIEWS)?;
    v.table(COUNTY_PUBLISHED)?;
    v.table(SHARED)?;
    v.table(SHARED_ADOPTIONS)?;
    v.table(POOL)?;
    Ok(())
}

/// Visit the log and then every replicated table: everything a backup carries besides META.
pub fn log_and_replicated(v: &mut impl Visit) -> Result<()> {
    v.table(LOG)?;
    replicated(v)
}

/// Visit every table (creating them all in a new database).
pub fn all(v: &mut impl Visit) -> Result<()> {
    v.table(META)?;
    log_and_replicated(v)?;
    v.table(LOG_BLOCKS)?;
    v.table(PAIRINGS)?;
    v.table(SESSIONS)?;
    Ok(())
}
