//! Golden encodings: stored formats must not change by accident. To accept an intended change
//! (with a migration step in `store::codec::upgrade`), run with RONGMEI_BLESS=1 and commit.

use std::collections::BTreeMap;

use rongmei::domain::article::{Article, ArticleStatus};
use rongmei::domain::asset::{Asset, AssetKind};
use rongmei::domain::comment::{Anchor, Comment, Subject};
use rongmei::domain::fact::Fact;
use rongmei::domain::lexicon::{Entry as LexEntry, Lexicon, LexiconKind};
use rongmei::domain::notice::{Notice, NoticeKind};
use rongmei::domain::outlet::{Outlet, OutletKind};
use rongmei::domain::review::{Chain, Quorum, Review, Site};
use rongmei::domain::screening::{Field, Finding, Ignored, Override, Screening};
use rongmei::domain::topic::{Assignment, Duty, Topic, TopicState};
use rongmei::domain::user::{Role, User};
use rongmei::domain::*;
use rongmei::screen::Severity;
use rongmei::store::codec;

fn outlet() -> Outlet {
    Outlet {
        id: OutletId(3),
        slug: "county-tv".into(),
        name: "县电视台".into(),
        kind: OutletKind::Tv,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_500,
    }
}

fn user() -> User {
    User {
        id: UserId(7),
        username: "zhangsan".into(),
        display_name: "张三".into(),
        instance_admin: false,
        roles: BTreeMap::from([
            (OutletId(3), Role::Reporter),
            (OutletId(4), Role::ChiefEditor),
        ]),
        disabled: false,
        session_generation: 2,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_100_000,
    }
}

fn article() -> Article {
    Article {
        id: ArticleId(42),
        outlet: OutletId(3),
        revision: 2,
        status: ArticleStatus::Draft,
        title: "春节前夕走访困难群众".into(),
        subtitle: "副题".into(),
        summary: "摘要".into(),
        body: "<p>第一段</p><figure><img src=\"/api/v1/assets/5/content\"></figure>".into(),
        byline: "记者 张三".into(),
        authors: vec![UserId(7)],
        category: "民生".into(),
        tags: vec!["春节".into()],
        cover: Some(AssetId(5)),
        source_id: Some("19980101-01-001".into()),
        source_date: Some(883_612_800_000),
        created_by: UserId(7),
        created_at: 1_700_000_000_000,
        updated_by: UserId(8),
        updated_at: 1_700_000_200_000,
        restored_from: Some(1),
        published_revision: None,
        published_at: None,
        retraction: None,
    }
}

fn chain() -> Chain {
    let mut c = Chain::default_for(ChainId(2), OutletId(3), 1_700_000_000_000);
    c.levels[1].site = Site::Outlet {
        outlet: OutletId(4),
    };
    c.levels[1].quorum = Quorum::AtLeast { k: 2 };
    c.levels[2].users = vec![UserId(9)];
    c
}

fn review() -> Review {
    let c = chain();
    let mut r = Review::start(ArticleId(42), &c, UserId(7), 1_700_000_300_000, 1);
    r.approve(&c, UserId(8), 2, 3, 1_700_000_400_000);
    r
}

fn asset() -> Asset {
    Asset {
        id: AssetId(5),
        outlet: OutletId(3),
        sha256: "ab".repeat(32),
        name: "夜景.png".into(),
        mime: "image/png".into(),
        kind: AssetKind::Image,
        size: 12345,
        width: Some(640),
        height: Some(480),
        thumb_sha256: Some("cd".repeat(32)),
        uploaded_by: UserId(7),
        created_at: 1_700_000_000_000,
    }
}

fn topic() -> Topic {
    Topic {
        id: TopicId(11),
        outlets: vec![OutletId(3), OutletId(4)],
        title: "春运首日客流".into(),
        angle: "车站、高速两条线".into(),
        channels: vec!["短视频".into()],
        deadline: Some(1_700_100_000_000),
        publish_at: Some(1_700_200_000_000),
        attachments: vec![AssetId(5)],
        state: TopicState::InProgress,
        assignments: vec![Assignment {
            user: UserId(7),
            duty: Duty::Photo,
            deadline: Some(1_700_050_000_000),
            note: "候车厅".into(),
        }],
        articles: vec![ArticleId(42)],
        merged_into: None,
        merged_from: vec![TopicId(12)],
        reason: String::new(),
        proposed_by: UserId(7),
        proposed_at: 1_700_000_000_000,
        updated_by: UserId(8),
        updated_at: 1_700_000_100_000,
        revision: 4,
    }
}

fn comment() -> Comment {
    Comment {
        id: CommentId(9),
        on: Subject::Article(ArticleId(42)),
        author: UserId(8),
        body: "@zhangsan 数字请核实".into(),
        mentions: vec![UserId(7)],
        anchor: Some(Anchor {
            revision: 2,
            start: 3,
            end: 6,
            quote: "第一段".into(),
        }),
        reply_to: None,
        created_at: 1_700_000_000_000,
        edited_at: None,
        resolved_by: Some(UserId(7)),
        resolved_at: Some(1_700_000_500_000),
        deleted: false,
    }
}

fn notice() -> Notice {
    Notice {
        kind: NoticeKind::Mention,
        actor: Some(UserId(8)),
        at: 1_700_000_000_000,
        on: Subject::Topic(TopicId(11)).into(),
        title: "春运首日客流".into(),
        excerpt: "@zhangsan 看一下".into(),
        state: None,
        read: false,
    }
}

fn lexicon() -> Lexicon {
    Lexicon {
        id: LexiconId(3),
        name: "广告法禁用词".into(),
        kind: LexiconKind::Screen,
        category: "advertising".into(),
        description: "极限用语".into(),
        source: "市场监管局".into(),
        default_severity: Severity::Review,
        enabled: true,
        disabled_outlets: vec![OutletId(2)],
        entries: 2,
        revision: 4,
        generation: 9,
        created_by: Some(UserId(1)),
        created_at: 1_700_000_000_000,
        updated_by: None,
        updated_at: 1_700_000_100_000,
        provincial: false,
        province_id: None,
    }
}

fn lex_entry() -> LexEntry {
    LexEntry {
        text: "按装".into(),
        severity: Severity::Hint,
        replacement: Some("安装".into()),
        note: "常见错字".into(),
    }
}

fn screening() -> Screening {
    Screening {
        article: ArticleId(5),
        revision: 2,
        generation: 9,
        at: 1_700_000_000_000,
        findings: vec![Finding {
            field: Field::Alt,
            index: 1,
            start: 3,
            end: 7,
            matched: "博^彩網站".into(),
            term: "博彩网站".into(),
            category: "gambling_drugs".into(),
            severity: Severity::Block,
            lexicon: LexiconId(3),
        }],
    }
}

fn an_override() -> Override {
    Override {
        article: ArticleId(5),
        term: "博彩网站".into(),
        revision: 2,
        by: UserId(4),
        at: 1_700_000_000_000,
        reason: "报道打击行动".into(),
    }
}

fn an_ignore() -> Ignored {
    Ignored {
        article: ArticleId(5),
        rule: "spelling".into(),
        text: "放".into(),
        by: UserId(4),
        at: 1_700_000_000_000,
    }
}

fn check(name: &str, bytes: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/golden")
        .join(format!("{name}.hex"));
    let hex_now = hex::encode(bytes);
    if std::env::var("RONGMEI_BLESS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{hex_now}\n")).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}: run with RONGMEI_BLESS=1", path.display()));
    assert_eq!(
        want.trim(),
        hex_now,
        "encoding of {name} changed: add a migration step, then re-bless"
    );
}

#[test]
fn value_encodings_are_stable_and_decodable() {
    check("outlet_v1", &codec::encode(&outlet()));
    check("user_v1", &codec::encode(&user()));
    check("article_v1", &codec::encode(&article()));
    check("asset_v1", &codec::encode(&asset()));
    check("chain_v1", &codec::encode(&chain()));
    check("review_v1", &codec::encode(&review()));
    check("topic_v1", &codec::encode(&topic()));
    check("comment_v1", &codec::encode(&comment()));
    check("notice_v1", &codec::encode(&notice()));
    check("lexicon_v1", &codec::encode(&lexicon()));
    check("lexicon_entry_v1", &codec::encode(&lex_entry()));
    check("screening_v1", &codec::encode(&screening()));
    check("override_v1", &codec::encode(&an_override()));
    check("ignored_v1", &codec::encode(&an_ignore()));
    // The stored goldens decode to the same values (old data stays readable).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden");
    let read = |n: &str| {
        hex::decode(
            std::fs::read_to_string(dir.join(format!("{n}.hex")))
                .unwrap()
                .trim(),
        )
        .unwrap()
    };
    assert_eq!(
        codec::decode::<Outlet>(&read("outlet_v1")).unwrap(),
        outlet()
    );
    assert_eq!(codec::decode::<User>(&read("user_v1")).unwrap(), user());
    assert_eq!(
        codec::decode::<Article>(&read("article_v1")).unwrap(),
        article()
    );
    assert_eq!(codec::decode::<Asset>(&read("asset_v1")).unwrap(), asset());
    assert_eq!(codec::decode::<Chain>(&read("chain_v1")).unwrap(), chain());
    assert_eq!(
        codec::decode::<Review>(&read("review_v1")).unwrap(),
        review()
    );
    assert_eq!(codec::decode::<Topic>(&read("topic_v1")).unwrap(), topic());
    assert_eq!(
        codec::decode::<Comment>(&read("comment_v1")).unwrap(),
        comment()
    );
    assert_eq!(
        codec::decode::<Notice>(&read("notice_v1")).unwrap(),
        notice()
    );
    assert_eq!(
        codec::decode::<Lexicon>(&read("lexicon_v1")).unwrap(),
        lexicon()
    );
    assert_eq!(
        codec::decode::<LexEntry>(&read("lexicon_entry_v1")).unwrap(),
        lex_entry()
    );
    assert_eq!(
        codec::decode::<Screening>(&read("screening_v1")).unwrap(),
        screening()
    );
    assert_eq!(
        codec::decode::<Override>(&read("override_v1")).unwrap(),
        an_override()
    );
    assert_eq!(
        codec::decode::<Ignored>(&read("ignored_v1")).unwrap(),
        an_ignore()
    );
}

#[test]
fn articles_stored_before_source_date_still_decode() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/golden/article_v1_without_source_date.hex");
    let old = hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap();
    let a = codec::decode::<Article>(&old).unwrap();
    assert_eq!(a.source_date, None);
    assert_eq!(
        Article {
            source_date: None,
            ..article()
        },
        a
    );
}

#[test]
fn log_entry_encoding_is_stable() {
    let fact = Fact::ArticleUpdated { article: article() };
    let entry = rongmei::log::entry::encode_entry(
        Epoch(1),
        Lsn(9),
        1_700_000_200_000,
        Some(UserId(8)),
        &fact,
    );
    let prev =
        rongmei::log::entry::genesis(&InstanceId("00000000-0000-4000-8000-000000000001".into()));
    let hash = rongmei::log::entry::chain(&prev, &entry);
    let mut stored = hash.to_vec();
    stored.extend_from_slice(&entry);
    check("log_entry_v1", &stored);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden");
    let golden = hex::decode(
        std::fs::read_to_string(dir.join("log_entry_v1.hex"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let e = rongmei::log::entry::decode_stored(&golden).unwrap();
    assert_eq!(
        (e.epoch, e.lsn, e.actor, e.fact),
        (Epoch(1), Lsn(9), Some(UserId(8)), fact)
    );
}
