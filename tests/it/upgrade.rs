//! A store written by an older binary (articles copied into ARTICLES / ARTICLE_VERSIONS) is
//! upgraded when opened: the pointer tables are rebuilt from the log, the copies are dropped,
//! `check` passes and every version reads as before.

use redb::{ReadableDatabase, ReadableTable, TableHandle};
use reqwest::StatusCode;
use rongmei::store::tables::{
    ARTICLE_HEADS, ARTICLE_REVISIONS, LEGACY_ARTICLE_VERSIONS, LEGACY_ARTICLES,
};
use serde_json::{Value, json};

use crate::harness::{TestServer, create_article, create_user, newsroom, run_check};

/// Rewrite a stopped store into the layout of the previous release.
fn make_legacy(db_file: &std::path::Path) {
    let db = redb::Database::create(db_file).unwrap();
    let w = db.begin_write().unwrap();
    {
        let heads = w.open_table(ARTICLE_HEADS).unwrap();
        let revs = w.open_table(ARTICLE_REVISIONS).unwrap();
        let mut old = w.open_table(LEGACY_ARTICLES).unwrap();
        for row in heads.iter().unwrap() {
            let (k, v) = row.unwrap();
            let a = rongmei::store::access::article_at(&w, v.value()).unwrap();
            old.insert(k.value(), rongmei::store::codec::encode(&a).as_slice())
                .unwrap();
        }
        let mut old = w.open_table(LEGACY_ARTICLE_VERSIONS).unwrap();
        for row in revs.iter().unwrap() {
            let (k, v) = row.unwrap();
            let a = rongmei::store::access::article_at(&w, v.value()).unwrap();
            old.insert(k.value(), rongmei::store::codec::encode(&a).as_slice())
                .unwrap();
        }
    }
    w.delete_table(ARTICLE_HEADS).unwrap();
    w.delete_table(ARTICLE_REVISIONS).unwrap();
    w.commit().unwrap();
}

/// The sections of a content stream: (table name, rows as (key, value)).
type Sections = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

fn parse(stream: &[u8]) -> Sections {
    let (mut out, mut i) = (Vec::new(), 0);
    let take = |i: &mut usize, n: usize| {
        *i += n;
        stream[*i - n..*i].to_vec()
    };
    while i < stream.len() {
        assert_eq!(take(&mut i, 1), b"T");
        let n = take(&mut i, 2);
        let name =
            String::from_utf8(take(&mut i, u16::from_be_bytes([n[0], n[1]]) as usize)).unwrap();
        let mut rows = Vec::new();
        while take(&mut i, 1) == b"R" {
            let n = take(&mut i, 4);
            let k = take(&mut i, u32::from_be_bytes(n.try_into().unwrap()) as usize);
            let n = take(&mut i, 4);
            let v = take(&mut i, u32::from_be_bytes(n.try_into().unwrap()) as usize);
            rows.push((k, v));
        }
        out.push((name, rows));
    }
    out
}

fn unparse(sections: &Sections) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, rows) in sections {
        out.push(b'T');
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        for (k, v) in rows {
            out.push(b'R');
            out.extend_from_slice(&(k.len() as u32).to_be_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
        out.push(b'E');
    }
    out
}

/// A backup's content stream of the older layout (article copies where the pointer tables
/// are now) loads into pointer tables equal to the store's.
fn legacy_backups_load(db_file: &std::path::Path) {
    let db = redb::Database::open(db_file).unwrap();
    let r = db.begin_read().unwrap();
    let mut stream = Vec::new();
    rongmei::store::snapshot::write(&r, &mut stream).unwrap();
    let mut sections = parse(&stream);
    assert_eq!(
        unparse(&sections),
        stream,
        "the test's reading of the stream"
    );
    let copies = |name: &str, sections: &Sections| -> Vec<(Vec<u8>, Vec<u8>)> {
        let (_, rows) = sections.iter().find(|(n, _)| n == name).unwrap();
        rows.iter()
            .map(|(k, v)| {
                let lsn = u64::from_le_bytes(v.as_slice().try_into().unwrap());
                let a = rongmei::store::access::article_at(&r, lsn).unwrap();
                (k.clone(), rongmei::store::codec::encode(&a))
            })
            .collect()
    };
    let (heads, revs) = (
        copies("article_heads", &sections),
        copies("article_revisions", &sections),
    );
    assert!(!heads.is_empty() && revs.len() > heads.len());
    for (name, rows) in &mut sections {
        match name.as_str() {
            "article_heads" => (*name, *rows) = ("articles".into(), heads.clone()),
            "article_revisions" => (*name, *rows) = ("article_versions".into(), revs.clone()),
            _ => {}
        }
    }
    let legacy = unparse(&sections);
    let tmp = tempfile::tempdir().unwrap();
    let loaded = rongmei::store::open(&tmp.path().join("x.redb")).unwrap();
    let w = loaded.begin_write().unwrap();
    rongmei::store::apply::ensure_tables(&w).unwrap();
    w.commit().unwrap();
    rongmei::store::snapshot::load(&loaded, &mut legacy.as_slice()).unwrap();
    let mut again = Vec::new();
    rongmei::store::snapshot::write(&loaded.begin_read().unwrap(), &mut again).unwrap();
    assert!(again == stream, "a legacy stream loads to the same content");
}

fn table_names(db_file: &std::path::Path) -> Vec<String> {
    let db = redb::Database::open(db_file).unwrap();
    let r = db.begin_read().unwrap();
    r.list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect()
}

async fn history(s: &TestServer, id: u64) -> (Value, Value, Value) {
    let admin = s.login("admin", &s.admin_password).await;
    let (st, a) = admin.get(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let (_, versions) = admin.get(&format!("/api/v1/articles/{id}/versions")).await;
    let (_, v1) = admin
        .get(&format!("/api/v1/articles/{id}/versions/1"))
        .await;
    (a, versions, v1)
}

#[tokio::test]
async fn an_older_store_is_upgraded_on_open_and_reads_the_same() {
    let (s, admin, tv) = newsroom("tv").await;
    let (_, pw) = create_user(&admin, "wangwu", tv, "reporter").await;
    let rep = s.login("wangwu", &pw).await;
    let a = create_article(&rep, "tv", "县城新闻").await;
    let id = a["id"].as_u64().unwrap();
    let (st, _) = rep
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 1, "title": "县城新闻（更新）", "body": "<p>改写</p>"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let other = create_article(&rep, "tv", "第二篇").await["id"]
        .as_u64()
        .unwrap();
    let before = history(&s, id).await;
    let (dir, pw) = s.stop_keep().await;

    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
    let db_file = dir.path().join("rongmei.redb");
    legacy_backups_load(&db_file);
    make_legacy(&db_file);
    let names = table_names(&db_file);
    assert!(names.contains(&"articles".to_string()), "{names:?}");
    assert!(!names.contains(&"article_heads".to_string()), "{names:?}");

    // `check` opens (and so upgrades) the store, then proves every table against the log.
    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
    let names = table_names(&db_file);
    assert!(!names.contains(&"articles".to_string()), "{names:?}");
    assert!(
        !names.contains(&"article_versions".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"article_heads".to_string()), "{names:?}");

    let s = TestServer::restart_in(dir, pw).await;
    assert_eq!(history(&s, id).await, before);
    let admin = s.login("admin", &s.admin_password).await;
    let (st, b) = admin.get(&format!("/api/v1/articles/{other}")).await;
    assert_eq!((st, b["title"].as_str()), (StatusCode::OK, Some("第二篇")));
    // Writing after the upgrade goes on from the restored pointers.
    let (st, a3) = admin
        .put(
            &format!("/api/v1/articles/{id}"),
            json!({"base_revision": 2, "title": "第三版"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a3}");
    assert_eq!(a3["revision"], 3);
    let (_, versions) = admin.get(&format!("/api/v1/articles/{id}/versions")).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(3));
    let dir = s.stop().await;
    let (good, out) = run_check(dir.path());
    assert!(good, "{out}");
}
