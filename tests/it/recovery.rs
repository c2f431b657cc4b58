//! Backup, restore, point-in-time recovery and promotion, with real binaries on loopback: an
//! online backup taken under write load restores to the same content digest and serves its
//! media; segments roll a restore forward to a chosen lsn or to the end; damaged backups are
//! refused; a promoted replica begins a new epoch and the old primary's later entries are
//! refused there (`history_diverged`) and kept by `log quarantine export`, never deleted.

use serde_json::json;

use crate::crash::{spawn, stop};
use crate::harness::{checked_digest, content_digest, run_check, run_offline};
use crate::replica::{api, caught_up, head, kill, pair, start_primary};

/// The value after `label` on the output line that has it.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.split(label).nth(1))
        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches([',', ')', ';'])
        .to_string()
}

async fn run(args: Vec<String>, dir: std::path::PathBuf) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run_offline(&a, &dir)
    })
    .await
    .unwrap()
}

async fn titles(a: &crate::replica::Api) -> Vec<String> {
    let v = a.get("/api/v1/articles?limit=200").await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_restore_to_the_same_digest_and_roll_forward_to_a_chosen_point() {
    rongmei::fed::tls::install_provider();
    let (pdir, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut primary, token) = start_primary(pdir.path()).await;
    let p = api(&primary.base, &token);
    let (asset, _) = p.upload_png(64).await;
    p.article("备份之前").await;

    // An online backup while another client keeps writing.
    let writer = {
        let p = api(&primary.base, &token);
        tokio::spawn(async move {
            for i in 0..40 {
                p.article(&format!("并发{i}")).await;
            }
        })
    };
    let bak = work.path().join("b1.rmbak");
    let (ok, out) = run(
        vec!["backup".into(), "--out".into(), bak.display().to_string()],
        pdir.path().into(),
    )
    .await;
    assert!(ok && out.contains("taken from the running server"), "{out}");
    let backup_lsn: u64 = field(&out, "lsn ").parse().unwrap();
    let backup_digest = content_digest(&out);
    writer.await.unwrap();
    let (ok, out) = run(
        vec!["backup".into(), "--out".into(), bak.display().to_string()],
        pdir.path().into(),
    )
    .await;
    assert!(!ok && out.contains("never overwritten"), "{out}");

    // Later work: a point to recover to, then more.
    p.article("时间点").await;
    let point = head(&p).await;
    p.article("时间点之后").await;
    let end = head(&p).await;
    let segs = work.path().join("segs");
    let (ok, out) = run(
        vec![
            "log".into(),
            "export".into(),
            "--out".into(),
            segs.display().to_string(),
        ],
        pdir.path().into(),
    )
    .await;
    assert!(ok && out.contains("from the running server"), "{out}");
    assert!(out.contains("2 media files carried"), "{out}");
    stop(&mut primary);

    // Restore: same content digest as the backup, the media back, a new epoch.
    let r1 = work.path().join("r1");
    let (ok, out) = run_offline(
        &[
            "restore",
            bak.to_str().unwrap(),
            "--assets",
            pdir.path().to_str().unwrap(),
        ],
        &r1,
    );
    assert!(ok, "{out}");
    assert_eq!(content_digest(&out), backup_digest, "{out}");
    assert!(out.contains("new epoch 2"), "{out}");
    assert!(out.contains("2 files taken in, 0 missing"), "{out}");
    let (good, out) = run_check(&r1);
    assert!(good, "{out}");
    let (ok, out) = run_offline(&["restore", bak.to_str().unwrap()], &r1);
    assert!(!ok && out.contains("already has a database"), "{out}");
    let mut restored = spawn(&r1);
    let r = api(&restored.base, &token);
    let t = titles(&r).await;
    assert!(t.contains(&"备份之前".to_string()), "{t:?}");
    assert!(!t.contains(&"时间点".to_string()), "{t:?}");
    assert_eq!(head(&r).await, backup_lsn + 1, "the EpochBegan entry");
    let png = r.content(asset).await;
    assert!(png.starts_with(b"\x89PNG"));
    let (s, _) = r
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "恢复后新写"}),
        )
        .await;
    assert_eq!(s, 201, "a restored store takes writes");
    kill(&mut restored);

    // Point in time: roll forward to `point`, not past it.
    let r2 = work.path().join("r2");
    let (ok, out) = run_offline(
        &[
            "restore",
            bak.to_str().unwrap(),
            "--segments",
            segs.to_str().unwrap(),
            "--to-lsn",
            &point.to_string(),
        ],
        &r2,
    );
    assert!(ok, "{out}");
    assert!(out.contains(&format!("to lsn {point}")), "{out}");
    let mut pitr = spawn(&r2);
    let r = api(&pitr.base, &token);
    let t = titles(&r).await;
    assert!(t.contains(&"时间点".to_string()), "{t:?}");
    assert!(!t.contains(&"时间点之后".to_string()), "{t:?}");
    assert!(t.contains(&"并发39".to_string()), "{t:?}");
    kill(&mut pitr);
    let (good, out) = run_check(&r2);
    assert!(good, "{out}");

    // All the way: the primary's whole log, then the new epoch.
    let r3 = work.path().join("r3");
    let (ok, out) = run_offline(
        &[
            "restore",
            bak.to_str().unwrap(),
            "--segments",
            segs.to_str().unwrap(),
        ],
        &r3,
    );
    assert!(ok, "{out}");
    assert!(out.contains(&format!("to lsn {end}")), "{out}");
    // The primary, checked now, has the digest its backup named for the same content: a
    // second, offline backup of the stopped primary names the digest `check` computes.
    let (good, pout) = run_check(pdir.path());
    assert!(good, "{pout}");
    let b2 = work.path().join("b2.rmbak");
    let (ok, out) = run_offline(&["backup", "--out", b2.to_str().unwrap()], pdir.path());
    assert!(ok && out.contains("server stopped"), "{out}");
    assert_eq!(content_digest(&out), content_digest(&pout));

    // Damaged backups are refused and leave no database behind.
    let bytes = std::fs::read(&bak).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    let bad = work.path().join("flipped.rmbak");
    std::fs::write(&bad, &flipped).unwrap();
    let r4 = work.path().join("r4");
    let (ok, out) = run_offline(&["restore", bad.to_str().unwrap()], &r4);
    assert!(!ok && out.contains("checksum mismatch"), "{out}");
    std::fs::write(&bad, &bytes[..bytes.len() - 100]).unwrap();
    let (ok, out) = run_offline(&["restore", bad.to_str().unwrap()], &r4);
    assert!(!ok && out.contains("truncated"), "{out}");
    assert!(!r4.join("rongmei.redb").exists());
    let (ok, out) = run_offline(
        &[
            "restore",
            bak.to_str().unwrap(),
            "--segments",
            segs.to_str().unwrap(),
            "--to-lsn",
            &(backup_lsn - 1).to_string(),
        ],
        &r4,
    );
    assert!(!ok && out.contains("past the target"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_replica_fences_the_old_primary() {
    rongmei::fed::tls::install_provider();
    let (pdir, rdir, r3dir, work) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (mut primary, token) = start_primary(pdir.path()).await;
    let p = api(&primary.base, &token);
    pair(&p, rdir.path()).await;
    let mut replica = spawn(rdir.path());
    let r = api(&replica.base, &token);
    for i in 0..5 {
        p.article(&format!("共同{i}")).await;
    }
    caught_up(&r, head(&p).await).await;

    // The primary dies; the replica is promoted.
    kill(&mut primary);
    stop(&mut replica);
    // Before anything else: the replica's content is the primary's, byte for byte.
    assert_eq!(
        checked_digest(pdir.path()),
        checked_digest(rdir.path()),
        "primary and replica differ"
    );
    let (ok, out) = run_offline(&["promote"], rdir.path());
    assert!(ok, "{out}");
    assert!(out.contains("epoch 2"), "{out}");
    let fork: u64 = field(&out, "entries up to lsn ").parse().unwrap();
    let (ok, out) = run_offline(&["promote"], rdir.path());
    assert!(!ok && out.contains("not a replica"), "{out}");

    let mut promoted = crate::crash::spawn_env(rdir.path(), &crate::replica::FED_ENV);
    let n = api(&promoted.base, &token);
    let (s, v) = n
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "提升之后"}),
        )
        .await;
    assert_eq!(s, 201, "the promoted replica takes writes: {v}");

    // The old primary comes back and takes a write nobody should have sent it.
    let mut old = crate::crash::spawn_env(pdir.path(), &crate::replica::FED_ENV);
    let o = api(&old.base, &token);
    o.article("旧主库分叉").await;
    let old_head = head(&o).await;
    stop(&mut old);

    // A new replica of the promoted primary follows across the epoch boundary.
    pair(&n, r3dir.path()).await;
    let mut r3 = spawn(r3dir.path());
    let f = api(&r3.base, &token);
    caught_up(&f, head(&n).await).await;
    let t = titles(&f).await;
    assert!(t.contains(&"提升之后".to_string()) && t.contains(&"共同4".to_string()));
    assert!(!t.contains(&"旧主库分叉".to_string()), "{t:?}");
    kill(&mut r3);
    stop(&mut promoted);

    // The old primary's entries after the fork are refused by the new primary ...
    let q = work.path().join("q");
    let (ok, out) = run_offline(
        &[
            "log",
            "export",
            "--from",
            &(fork + 1).to_string(),
            "--out",
            q.to_str().unwrap(),
        ],
        pdir.path(),
    );
    assert!(ok, "{out}");
    let (ok, out) = run_offline(&["log", "import", q.to_str().unwrap()], rdir.path());
    assert!(!ok, "{out}");
    assert!(out.contains("not on this instance's history"), "{out}");
    assert!(out.contains(&format!("lsn {}", fork + 1)), "{out}");
    let (good, out) = run_check(rdir.path());
    assert!(good, "{out}");

    // ... and kept, not deleted, by quarantine export on the old primary.
    let kept = work.path().join("kept");
    let (ok, out) = run_offline(
        &[
            "log",
            "quarantine",
            "export",
            "--after",
            &fork.to_string(),
            "--out",
            kept.to_str().unwrap(),
        ],
        pdir.path(),
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("kept entries {}–{old_head}", fork + 1)),
        "{out}"
    );
    let jsonl = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(jsonl).unwrap();
    assert!(text.contains("旧主库分叉"), "{text}");
    let (good, out) = run_check(pdir.path());
    assert!(good, "{out}");
    assert!(
        out.contains(&format!("{old_head} log entries verified")),
        "{out}"
    );
}
