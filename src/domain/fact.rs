//! Domain facts: the entries of the replication log. Each is a complete statement of what became
//! true (full snapshots, not diffs), so any follower — the store's own projection, the search index,
//! the DR replica, the hub — can apply it idempotently without reading anything else. The one
//! exception is a lexicon's entries, which change as a set of writes and removals (a list can hold
//! 200,000 terms); applying it twice still leaves the same state.

use serde::{Deserialize, Serialize};

use super::article::{Article, ArticleStatus};
use super::asset::Asset;
use super::comment::{Comment, Subject};
use super::credentials::ApiToken;
use super::instruction::{Answer, Down, Instruction};
use super::lexicon::{Entry as LexEntry, Lexicon};
use super::outlet::Outlet;
use super::provincial::{DecisionDown, ReviewRequest};
use super::review::{Chain, Review};
use super::screening::Screening;
use super::shared::{Adoption, SharedItem};
use super::topic::{Topic, TopicState};
use super::user::User;
use super::{ArticleId, AssetId, Epoch, InstanceId, Lsn, TokenId, TopicId, UserId};
use crate::clock::Millis;

mod tagged;

// The enum is written once; `tagged::facts!` makes `Fact` (serialized internally tagged:
// `{"type":"ArticleCreated", ...fields}`) and the deserializer that reads it without buffering.
tagged::facts! {
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    InstanceCreated {
        instance_id: InstanceId,
        role: String,
    },
    /// A new history line begins here (after a restore or a promotion). `after` is the position
    /// it continues from: entries of the old epoch beyond it are not part of this history.
    EpochBegan {
        epoch: Epoch,
        reason: EpochReason,
        after_lsn: Lsn,
        after_hash: String,
    },
    OutletCreated {
        outlet: Outlet,
    },
    OutletUpdated {
        outlet: Outlet,
    },
    UserCreated {
        user: User,
    },
    UserUpdated {
        user: User,
    },
    /// A new argon2id hash for a user's password.
    PasswordSet {
        user: UserId,
        phc: String,
    },
    TokenCreated {
        token: ApiToken,
    },
    TokenRevoked {
        id: TokenId,
        at: Millis,
    },
    ArticleCreated {
        article: Article,
    },
    ArticleUpdated {
        article: Article,
    },
    /// An older version saved again as the newest one (`article.restored_from` names it).
    ArticleRestored {
        article: Article,
    },
    AssetAdded {
        asset: Asset,
    },
    AssetDeleted {
        id: AssetId,
    },
    /// A new version of a review chain (or its first).
    ChainSaved {
        chain: Chain,
    },
    ArticleSubmitted(Step),
    ReviewApproved(Step),
    ReviewReturned(Step),
    /// Moved onto another (heavier) chain of the outlet, starting at its first level.
    ReviewEscalated(Step),
    ArticleWithdrawn(Step),
    ArticlePublished(Step),
    /// A published article got a new working revision; the live one is unchanged.
    CorrectionStarted(Step),
    ArticleRetracted(Step),
    /// A new topic (选题) proposal.
    TopicProposed {
        topic: Topic,
    },
    /// Fields, assignments or linked articles changed (`topic` is the state after).
    TopicUpdated {
        topic: Topic,
    },
    /// Moved between states on the board (approve, reject, start, complete, cancel, reopen).
    TopicMoved {
        topic: Topic,
        from: TopicState,
        comment: String,
    },
    /// A duplicate merged into another topic: both as they are afterwards.
    TopicMerged {
        source: Topic,
        target: Topic,
        comment: String,
    },
    CommentAdded {
        comment: Comment,
    },
    /// Edited, resolved, reopened or deleted.
    CommentUpdated {
        comment: Comment,
    },
    /// Someone took over another user's edit lock on an article.
    EditLockTaken {
        article: ArticleId,
        from: UserId,
        reason: String,
    },
    /// A user marked notifications read: the listed ones, or every one up to `up_to` (an lsn).
    NoticesRead {
        user: UserId,
        lsns: Vec<u64>,
        up_to: Option<u64>,
    },
    /// A lexicon created, or its settings changed (`lexicon` is the state after).
    LexiconSaved {
        lexicon: Lexicon,
    },
    /// Entries written (added or changed) and removed, e.g. by an import; `lexicon` after.
    LexiconEntriesChanged {
        lexicon: Lexicon,
        set: Vec<LexEntry>,
        removed: Vec<String>,
    },
    /// A lexicon and its entries removed (`lexicon` as it was, with the new generation).
    LexiconDeleted {
        lexicon: Lexicon,
    },
    /// What the lexicons found in one revision of an article (after every save).
    ArticleScreened {
        screening: Screening,
    },
    /// Blocked terms let through on an article, with the reason.
    ScreeningOverridden {
        article: ArticleId,
        revision: u32,
        terms: Vec<String>,
        reason: String,
        by: UserId,
        at: Millis,
    },
    /// A proofreading suggestion ignored on an article (by the one who may edit it).
    ProofIgnored {
        ignored: crate::domain::screening::Ignored,
    },
    /// An ignored suggestion is suggested again.
    ProofUnignored {
        article: ArticleId,
        rule: String,
        text: String,
    },
    /// A node was admitted with a certificate this instance's CA signed.
    PeerEnrolled {
        peer: crate::domain::peer::Peer,
    },
    /// A peer renewed its certificate: the new one is its own from now on, the old one is
    /// still accepted until it expires.
    PeerRenewed {
        id: String,
        fingerprint: String,
        not_after: Millis,
    },
    /// A peer's certificate is refused from now on.
    PeerRevoked {
        id: String,
        revocation: crate::domain::peer::Revocation,
    },
    /// A hub applied an entry of a county's log (one of `hub::SHIPPED`), received over
    /// federation from that county: the county's fact as it was, with its position there.
    CountyEntry {
        county: String,
        epoch: u64,
        lsn: u64,
        /// Hex of the entry's chained hash in the county's log.
        hash: String,
        received_at: Millis,
        fact: Box<Fact>,
    },
    /// A hub has every shipped entry of a county's log up to `through`.
    CountyThrough {
        county: String,
        through: u64,
    },
    /// A hub stopped applying a county's entries: they did not fit what it had received.
    CountyQuarantined {
        county: String,
        reason: String,
    },
    /// A hub issued a reporting instruction to its counties (`seq`: its message number in the
    /// outbox of each target county).
    InstructionIssued {
        instruction: Instruction,
        seq: u64,
    },
    /// A hub moved an instruction's deadline or called it off; `counties` get the news as
    /// message `seq`.
    InstructionChanged {
        id: u64,
        deadline: Millis,
        cancelled: Option<super::instruction::Cancellation>,
        counties: Vec<String>,
        seq: u64,
    },
    /// A county applied a message from its hub (shipped back up: the hub sees it delivered).
    HubMessageReceived {
        seq: u64,
        message: Down,
        received_at: Millis,
    },
    /// A county acknowledged an instruction from its hub.
    InstructionAcknowledged {
        instruction: u64,
        by: UserId,
        by_name: String,
        at: Millis,
    },
    /// A county linked one of its published articles to an instruction as (part of) its answer.
    InstructionAnswered {
        instruction: u64,
        by: UserId,
        answer: Answer,
    },
    /// A county's article reached a provincial level of its chain and goes up for review
    /// (shipped to the hub).
    ProvincialReviewRequested {
        request: ReviewRequest,
    },
    /// A hub's reviewer decided on a county's article (`seq`: the message number that takes the
    /// decision down to the county).
    ProvincialReviewDecided {
        county: String,
        decision: DecisionDown,
        seq: u64,
    },
    /// A hub shared an article with `counties` (`seq`: the message number that carries it).
    ContentShared {
        item: SharedItem,
        counties: Vec<String>,
        seq: u64,
    },
    /// A hub took a shared item back; `counties` get the news as message `seq`.
    SharedWithdrawn {
        item: u64,
        withdrawal: super::shared::Withdrawal,
        counties: Vec<String>,
        seq: u64,
    },
    /// A county offered one of its published articles to its hub's shared pool (shipped).
    ArticleOffered {
        article: Article,
        note: String,
        /// Its cover, images and video, uploaded to the hub ahead of this entry.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        media: Vec<super::hub::CarriedMedia>,
    },
    /// A county adopted a shared article as a draft of its own (shipped: a reprint).
    SharedAdopted {
        item: u64,
        adoption: Adoption,
    },
    /// A hub's provincial word list changed: `counties` fetch it (`seq`: the message number).
    LexiconPushed {
        lexicon: u64,
        counties: Vec<String>,
        seq: u64,
    },
    /// A reviewer acknowledged the `review` findings of the revision they approve.
    ScreeningAcknowledged {
        article: ArticleId,
        revision: u32,
        level: u8,
        terms: Vec<String>,
    },
}
}

/// A lifecycle step: the article and its review cycle as they are after it, and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub article: Article,
    pub review: Option<Review>,
    pub from: ArticleStatus,
    /// The level decided on (approve, return, escalate), 0-based, and its name.
    pub level: Option<u8>,
    pub level_name: Option<String>,
    /// The reviewer's comment, or a withdrawal's or retraction's reason.
    pub comment: String,
}

/// Why a new epoch began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpochReason {
    /// `rongmei restore` brought a backup (and perhaps later segments) back.
    Restore,
    /// `rongmei promote` made a replica the primary.
    Promote,
}

impl Fact {
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::InstanceCreated { .. } => "InstanceCreated",
            Fact::EpochBegan { .. } => "EpochBegan",
            Fact::OutletCreated { .. } => "OutletCreated",
            Fact::OutletUpdated { .. } => "OutletUpdated",
            Fact::UserCreated { .. } => "UserCreated",
            Fact::UserUpdated { .. } => "UserUpdated",
            Fact::PasswordSet { .. } => "PasswordSet",
            Fact::TokenCreated { .. } => "TokenCreated",
            Fact::TokenRevoked { .. } => "TokenRevoked",
            Fact::ArticleCreated { .. } => "ArticleCreated",
            Fact::ArticleUpdated { .. } => "ArticleUpdated",
            Fact::ArticleRestored { .. } => "ArticleRestored",
            Fact::AssetAdded { .. } => "AssetAdded",
            Fact::AssetDeleted { .. } => "AssetDeleted",
            Fact::ChainSaved { .. } => "ChainSaved",
            Fact::ArticleSubmitted(_) => "ArticleSubmitted",
            Fact::ReviewApproved(_) => "ReviewApproved",
            Fact::ReviewReturned(_) => "ReviewReturned",
            Fact::ReviewEscalated(_) => "ReviewEscalated",
            Fact::ArticleWithdrawn(_) => "ArticleWithdrawn",
            Fact::ArticlePublished(_) => "ArticlePublished",
            Fact::CorrectionStarted(_) => "CorrectionStarted",
            Fact::ArticleRetracted(_) => "ArticleRetracted",
            Fact::TopicProposed { .. } => "TopicProposed",
            Fact::TopicUpdated { .. } => "TopicUpdated",
            Fact::TopicMoved { .. } => "TopicMoved",
            Fact::TopicMerged { .. } => "TopicMerged",
            Fact::CommentAdded { .. } => "CommentAdded",
            Fact::CommentUpdated { .. } => "CommentUpdated",
            Fact::EditLockTaken { .. } => "EditLockTaken",
            Fact::NoticesRead { .. } => "NoticesRead",
            Fact::LexiconSaved { .. } => "LexiconSaved",
            Fact::LexiconEntriesChanged { .. } => "LexiconEntriesChanged",
            Fact::LexiconDeleted { .. } => "LexiconDeleted",
            Fact::ArticleScreened { .. } => "ArticleScreened",
            Fact::ScreeningOverridden { .. } => "ScreeningOverridden",
            Fact::ScreeningAcknowledged { .. } => "ScreeningAcknowledged",
            Fact::ProofIgnored { .. } => "ProofIgnored",
            Fact::PeerEnrolled { .. } => "PeerEnrolled",
            Fact::PeerRevoked { .. } => "PeerRevoked",
            Fact::ProofUnignored { .. } => "ProofUnignored",
            Fact::CountyEntry { .. } => "CountyEntry",
            Fact::CountyQuarantined { .. } => "CountyQuarantined",
            Fact::CountyThrough { .. } => "CountyThrough",
            Fact::InstructionIssued { .. } => "InstructionIssued",
            Fact::InstructionChanged { .. } => "InstructionChanged",
            Fact::HubMessageReceived { .. } => "HubMessageReceived",
            Fact::InstructionAcknowledged { .. } => "InstructionAcknowledged",
            Fact::InstructionAnswered { .. } => "InstructionAnswered",
            Fact::ProvincialReviewRequested { .. } => "ProvincialReviewRequested",
            Fact::ProvincialReviewDecided { .. } => "ProvincialReviewDecided",
            Fact::ContentShared { .. } => "ContentShared",
            Fact::SharedWithdrawn { .. } => "SharedWithdrawn",
            Fact::LexiconPushed { .. } => "LexiconPushed",
            Fact::PeerRenewed { .. } => "PeerRenewed",
            Fact::ArticleOffered { .. } => "ArticleOffered",
            Fact::SharedAdopted { .. } => "SharedAdopted",
        }
    }

    pub fn step(&self) -> Option<&Step> {
        match self {
            Fact::ArticleSubmitted(s)
            | Fact::ReviewApproved(s)
            | Fact::ReviewReturned(s)
            | Fact::ReviewEscalated(s)
            | Fact::ArticleWithdrawn(s)
            | Fact::ArticlePublished(s)
            | Fact::CorrectionStarted(s)
            | Fact::ArticleRetracted(s) => Some(s),
            _ => None,
        }
    }

    /// The article state this fact leaves behind, if it is about an article.
    pub fn article(&self) -> Option<&Article> {
        match self {
            Fact::ArticleCreated { article }
            | Fact::ArticleUpdated { article }
            | Fact::ArticleRestored { article } => Some(article),
            _ => self.step().map(|s| &s.article),
        }
    }

    /// The article whose audit trail this fact belongs to.
    pub fn article_id(&self) -> Option<ArticleId> {
        match self {
            Fact::CommentAdded { comment } | Fact::CommentUpdated { comment } => match comment.on {
                Subject::Article(a) => Some(a),
                Subject::Topic(_) => None,
            },
            Fact::EditLockTaken { article, .. }
            | Fact::ScreeningOverridden { article, .. }
            | Fact::ScreeningAcknowledged { article, .. }
            | Fact::ProofUnignored { article, .. } => Some(*article),
            Fact::ProofIgnored { ignored } => Some(ignored.article),
            Fact::ProvincialReviewRequested { request } => Some(request.article.id),
            _ => self.article().map(|a| a.id),
        }
    }

    /// The topics whose audit trail this fact belongs to.
    pub fn topic_ids(&self) -> Vec<TopicId> {
        match self {
            Fact::TopicProposed { topic }
            | Fact::TopicUpdated { topic }
            | Fact::TopicMoved { topic, .. } => vec![topic.id],
            Fact::TopicMerged { source, target, .. } => vec![source.id, target.id],
            Fact::CommentAdded { comment } | Fact::CommentUpdated { comment } => match comment.on {
                Subject::Topic(t) => vec![t],
                Subject::Article(_) => vec![],
            },
            _ => vec![],
        }
    }

    /// Does this fact belong in the acting user's audit trail? (Reading one's notifications
    /// is bookkeeping, not an action; a screening follows the save that caused it.)
    pub fn is_action(&self) -> bool {
        !matches!(
            self,
            Fact::NoticesRead { .. } | Fact::ArticleScreened { .. }
        )
    }
}
