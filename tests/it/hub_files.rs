//! Files sent with reporting instructions (real binaries on loopback): the hub uploads them
//! (type sniffed from the bytes, a lying type refused), an instruction names them, each target
//! county fetches them from its hub over mTLS and serves them to its users byte for byte, a
//! county the instruction was not for cannot fetch them, and a file that went missing at a
//! county is `attachment_pending` until it is fetched again. The county's DR replica follows
//! them.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::crash::{spawn, stop};
use crate::harness::checked_digest;
use crate::hub_support::{Province, county_client, province, until};
use crate::replica::{FED_ENV, api, caught_up, head, pair};

async fn upload(base: &str, token: &str, name: &str, ctype: &str, bytes: &[u8]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/api/v1/instructions/attachments?name={}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        ))
        .bearer_auth(token)
        .header("content-type", ctype)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn download(base: &str, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn pdf() -> Vec<u8> {
    let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    v.extend("% 关于做好防汛报道的通知\n".as_bytes());
    v.extend(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instruction_files_reach_their_counties_and_only_them() {
    let Province {
        hdir,
        adir,
        bdir,
        mut hub,
        htoken,
        h,
        a: (mut aproc, atoken, _a_id),
        b: (mut bproc, btoken, _b_id),
    } = province(
        ("西湖区融媒体中心", "330106", &FED_ENV),
        ("安吉县融媒体中心", "330523", &FED_ENV),
    )
    .await;
    let a = api(&aproc.base, &atoken);

    // Uploads: the type comes from the bytes; a lying type is refused.
    let photo = crate::api_assets::png(64, 48);
    let notice = pdf();
    let (s, v) = upload(&hub.base, &htoken, "现场照片.png", "image/png", &photo).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["sha256"], hex::encode(Sha256::digest(&photo)));
    assert_eq!(
        (v["kind"].as_str(), v["size"].as_u64()),
        (Some("image"), Some(photo.len() as u64))
    );
    let (s, v2) = upload(&hub.base, &htoken, "通知.pdf", "application/pdf", &notice).await;
    assert_eq!(s, 201, "{v2}");
    assert_eq!(v2["mime"], "application/pdf");
    let (s, e) = upload(&hub.base, &htoken, "假的.pdf", "application/pdf", &photo).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (415, Some("asset_type_mismatch")),
        "{e}"
    );
    let (s, e) = upload(&a.base_url(), &atoken, "x.png", "image/png", &photo).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("wrong_role")), "{e}");

    // An instruction names files that were uploaded here, and at most ten.
    let base = json!({"title": "防汛防台专题报道", "brief": "请按附件通知要求报道。",
        "deadline": "2099-06-30", "target": {"kind": "region", "code": "330106"}});
    let with = |atts: Value| {
        let mut b = base.clone();
        b["attachments"] = atts;
        b
    };
    let (s, e) = h
        .post(
            "/api/v1/instructions",
            with(json!([{"sha256": "ab".repeat(32), "name": "x.pdf"}])),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_input")), "{e}");
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"sha256": v["sha256"], "name": format!("{i}.png")}))
        .collect();
    let (s, e) = h.post("/api/v1/instructions", with(json!(eleven))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_input")), "{e}");
    let (s, ins) = h
        .post(
            "/api/v1/instructions",
            with(json!([
                {"sha256": v["sha256"], "name": "现场照片.png"},
                // The hub describes the file from its bytes, whatever the name says.
                {"sha256": v2["sha256"], "name": "关于做好防汛报道的通知.pdf"}
            ])),
        )
        .await;
    assert_eq!(s, 201, "{ins}");
    let iid = ins["id"].as_u64().unwrap();
    assert_eq!(ins["attachments"][1]["kind"], "document");
    let (s, got) = download(
        &hub.base,
        &htoken,
        &format!("/api/v1/instructions/{iid}/attachments/1"),
    )
    .await;
    assert_eq!((s, got), (200, notice.clone()));

    // County A (the region's) gets the instruction and then its files, byte for byte.
    let inbox = until(&a, "/api/v1/inbox", "the files at the county", |l| {
        l[0]["attachments"]
            .as_array()
            .is_some_and(|v| v.len() == 2 && v.iter().all(|x| x["ready"] == true))
    })
    .await;
    let cid = inbox[0]["id"].as_u64().unwrap();
    assert_eq!(
        inbox[0]["attachments"][1]["name"],
        "关于做好防汛报道的通知.pdf"
    );
    for (n, want) in [(0, &photo), (1, &notice)] {
        let (s, got) = download(
            &a.base_url(),
            &atoken,
            &format!("/api/v1/inbox/{cid}/attachments/{n}"),
        )
        .await;
        assert_eq!((s, &got), (200, want), "file {n}");
    }
    let (s, _) = download(
        &a.base_url(),
        &atoken,
        &format!("/api/v1/inbox/{cid}/attachments/2"),
    )
    .await;
    assert_eq!(s, 404);

    // Over the federation listener a county gets only the files of instructions sent to it.
    let b = api(&bproc.base, &btoken);
    assert_eq!(b.get("/api/v1/inbox").await, json!([]));
    let sha = v["sha256"].as_str().unwrap();
    let (ca, cbase) = county_client(adir.path());
    let r = ca
        .get(format!("{cbase}/fed/v1/blob/{sha}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (cb, bbase) = county_client(bdir.path());
    let r = cb
        .get(format!("{bbase}/fed/v1/blob/{sha}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // The county's DR replica follows the files with the rest.
    let rdir = tempfile::tempdir().unwrap();
    pair(&a, rdir.path()).await;
    let mut rproc = spawn(rdir.path());
    let r = api(&rproc.base, &atoken);
    // The token is known at the replica once it has copied the token's entry.
    caught_up(&r, head(&a).await).await;
    until(&r, "/api/v1/inbox", "the files at the replica", |l| {
        l[0]["attachments"]
            .as_array()
            .is_some_and(|v| v.len() == 2 && v.iter().all(|x| x["ready"] == true))
    })
    .await;
    let (s, got) = download(
        &r.base_url(),
        &atoken,
        &format!("/api/v1/inbox/{cid}/attachments/1"),
    )
    .await;
    assert_eq!((s, got), (200, notice.clone()));
    stop(&mut rproc);

    // A file lost at the county is pending, and fetched again (here: at the next start).
    let blob = adir
        .path()
        .join("media/sha256")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(sha);
    std::fs::remove_file(&blob).unwrap();
    let (s, body) = download(
        &a.base_url(),
        &atoken,
        &format!("/api/v1/inbox/{cid}/attachments/0"),
    )
    .await;
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("attachment_pending")),
        "{e}"
    );
    stop(&mut aproc);
    let mut aproc = spawn(adir.path());
    let a = api(&aproc.base, &atoken);
    until(&a, "/api/v1/inbox", "the file fetched again", |l| {
        l[0]["attachments"][0]["ready"] == true
    })
    .await;
    let (s, got) = download(
        &a.base_url(),
        &atoken,
        &format!("/api/v1/inbox/{cid}/attachments/0"),
    )
    .await;
    assert_eq!((s, got), (200, photo.clone()));

    for p in [&mut aproc, &mut bproc, &mut hub] {
        stop(p);
    }
    for d in [hdir.path(), adir.path(), bdir.path()] {
        checked_digest(d);
    }
}
