//! Media assets: streamed upload, sniffing, limits, Range download, thumbnails, reference counts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub async fn upload(
    c: &Client,
    outlet: &str,
    name: &str,
    ct: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let r = c
        .request(
            Method::POST,
            &format!("/api/v1/assets?outlet={outlet}&name={}", urlencode(name)),
        )
        .header("content-type", ct)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn tmp_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("media/tmp"))
        .map(|r| r.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn upload_download_range_and_thumbnail() {
    let (s, admin, _) = newsroom("tv").await;
    let bytes = png(640, 480);
    let (st, a) = upload(&admin, "tv", "县城夜景.png", "image/png", bytes.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(
        (
            a["kind"].as_str(),
            a["mime"].as_str(),
            a["width"].as_u64(),
            a["height"].as_u64()
        ),
        (Some("image"), Some("image/png"), Some(640), Some(480))
    );
    assert_eq!(a["size"].as_u64(), Some(bytes.len() as u64));
    let url = a["url"].as_str().unwrap().to_string();

    let full = admin.request(Method::GET, &url).send().await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["content-type"], "image/png");
    assert!(
        full.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("UTF-8''")
    );
    assert_eq!(full.bytes().await.unwrap().to_vec(), bytes);

    let part = admin
        .request(Method::GET, &url)
        .header("range", "bytes=10-29")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 10-29/{}", bytes.len())
    );
    assert_eq!(part.bytes().await.unwrap().to_vec(), bytes[10..30].to_vec());

    let thumb = admin
        .request(Method::GET, a["thumbnail_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), StatusCode::OK);
    let t = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((t.width(), t.height()), (320, 240));

    let (_, list) = admin.get("/api/v1/assets?kind=image&q=夜景").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, none) = admin.get("/api/v1/assets?kind=video").await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    s.stop().await;
}

#[tokio::test]
async fn lies_oversize_and_traversal_are_refused_and_leave_nothing() {
    let (s, admin, _) = newsroom("tv").await;
    let e = upload(&admin, "tv", "photo.jpg", "image/jpeg", png(8, 8)).await;
    assert_eq!(
        (e.0.as_u16(), e.1["code"].as_str()),
        (415, Some("asset_type_mismatch")),
        "{}",
        e.1
    );
    let e = upload(
        &admin,
        "tv",
        "setup.png",
        "image/png",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".repeat(50),
    )
    .await;
    assert_eq!(
        (e.0.as_u16(), e.1["code"].as_str()),
        (415, Some("asset_type_not_allowed"))
    );
    let e = upload(&admin, "tv", "../../etc/passwd", "image/png", png(8, 8)).await;
    assert_eq!(
        (e.0.as_u16(), e.1["code"].as_str()),
        (400, Some("invalid_name"))
    );
    let e = upload(
        &admin,
        "tv",
        "big.png",
        "image/png",
        vec![0u8; 1024 * 1024 + 1],
    )
    .await;
    assert_eq!(
        (e.0.as_u16(), e.1["code"].as_str()),
        (413, Some("asset_too_large"))
    );
    // A chunked upload without Content-Length is cut off while streaming.
    let stream = futures_util::stream::iter(
        (0..40).map(|_| Ok::<_, std::io::Error>(vec![0x89u8; 32 * 1024])),
    );
    let r = admin
        .request(Method::POST, "/api/v1/assets?outlet=tv&name=s.png")
        .header("content-type", "image/png")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let (_, list) = admin.get("/api/v1/assets").await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let dir = s.stop().await;
    assert_eq!(
        tmp_files(dir.path()),
        0,
        "rejected uploads leave no temp files"
    );
}

#[tokio::test]
async fn an_asset_in_use_cannot_be_deleted() {
    let (s, admin, _) = newsroom("tv").await;
    let (_, a) = upload(&admin, "tv", "cover.png", "image/png", png(32, 32)).await;
    let aid = a["id"].as_u64().unwrap();
    let body = format!(
        "<p>图</p><figure><img src=\"/api/v1/assets/{aid}/content\"><figcaption>说明</figcaption></figure>"
    );
    let (st, art) = admin
        .post(
            "/api/v1/articles",
            json!({"outlet": "tv", "title": "带图", "body": body, "cover": aid}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{art}");
    let (_, detail) = admin.get(&format!("/api/v1/assets/{aid}")).await;
    assert_eq!(detail["used_by_articles"], 1);
    let e = admin.delete(&format!("/api/v1/assets/{aid}")).await;
    assert_err(&e, 409, "asset_in_use");
    assert_err(
        &admin
            .post(
                "/api/v1/articles",
                json!({"outlet": "tv", "title": "x", "cover": 9999}),
            )
            .await,
        400,
        "invalid_input",
    );
    admin
        .put(
            &format!("/api/v1/articles/{}", art["id"]),
            json!({"base_revision": 1, "title": "去图"}),
        )
        .await;
    assert_eq!(
        admin.delete(&format!("/api/v1/assets/{aid}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_err(
        &admin.get(&format!("/api/v1/assets/{aid}/content")).await,
        404,
        "asset_not_found",
    );
    // Restoring the version that used the deleted asset is refused, not half-done.
    let e = admin
        .post(
            &format!("/api/v1/articles/{}/restore", art["id"]),
            json!({"revision": 1, "base_revision": 2}),
        )
        .await;
    assert_err(&e, 400, "invalid_input");
    s.stop().await;
}
