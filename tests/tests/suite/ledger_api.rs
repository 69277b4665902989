//! The ledgers through GraphQL over HTTP: assets tied to tickets, scope by tenant and role,
//! typed errors, uploads of Excel CSV files, download links, and the supply-request flow.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tests::{Backend, both_backends, error_code, gid, spawn_app};

const ASSET_FIELDS: &str = "id assetTag kind kindLabel name macAddress status statusLabel version
    orgUnit { name } user { displayName } location";

both_backends!(
    assets_are_worked_through_graphql_within_scope,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = &app.fixture.city;
        let desk = app.token(&fx.slug, fx.agent, &["agent"]);
        let create = format!(
            "mutation($i: CreateAssetInput!) {{ createAsset(input: $i) {{ clientMutationId asset {{ {ASSET_FIELDS} }} userErrors {{ field code message }} }} }}"
        );
        let body = app
            .gql(
                &desk,
                &create,
                json!({ "i": {
                    "clientMutationId": "c1",
                    "assetTag": "NB-0001", "kind": "NOTEBOOK", "name": "業務用ノートPC",
                    "macAddress": "00-1a-2b-3c-4d-5e", "userId": gid("Person", fx.requester),
                    "orgUnitId": gid("OrgUnit", fx.child_unit), "location": "さくら東小 職員室"
                }}),
            )
            .await;
        let a = &body["data"]["createAsset"]["asset"];
        assert_eq!(body["data"]["createAsset"]["clientMutationId"], "c1");
        assert_eq!(a["macAddress"], "00:1A:2B:3C:4D:5E");
        assert_eq!(
            (a["kindLabel"].as_str(), a["statusLabel"].as_str()),
            (Some("ノートPC"), Some("使用中"))
        );
        assert_eq!(a["orgUnit"]["name"], "さくら東小学校");
        let asset_id = a["id"].as_str().unwrap().to_owned();
        // Bad input: typed userErrors, every field at once, nothing written.
        let bad = app
        .gql(&desk, &create, json!({ "i": { "assetTag": "NB-0001", "kind": "NOTEBOOK", "name": "", "macAddress": "00:1a", "ipAddress": "1.2.3" } }))
        .await;
        let codes: Vec<&str> = bad["data"]["createAsset"]["userErrors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec!["REQUIRED", "INVALID_MAC", "INVALID_IP"]);
        assert!(bad["data"]["createAsset"]["asset"].is_null());
        let dup = app
            .gql(
                &desk,
                &create,
                json!({ "i": { "assetTag": "NB-0001", "kind": "NOTEBOOK", "name": "二台目" } }),
            )
            .await;
        assert_eq!(
            dup["data"]["createAsset"]["userErrors"][0]["code"],
            "DUPLICATE"
        );
        let wrong_id = app
            .post(
                Some(&desk),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": gid("Ticket", uuid::Uuid::now_v7()).replace('T', "X") }),
            )
            .await;
        assert_eq!(error_code(&wrong_id.1).as_deref(), Some("INVALID_ID"));
        // A school move (学校間移設) and a ticket about the device.
        let moved = app
        .gql(
            &desk,
            "mutation($i: UpdateAssetInput!) { updateAsset(input: $i) { asset { version orgUnit { name } location } userErrors { code } } }",
            json!({ "i": { "assetId": asset_id, "expectedVersion": 1, "orgUnitId": gid("OrgUnit", fx.unit), "location": null } }),
        )
        .await;
        assert_eq!(
            moved["data"]["updateAsset"]["asset"]["orgUnit"]["name"],
            "教育委員会"
        );
        assert!(moved["data"]["updateAsset"]["asset"]["location"].is_null());
        let stale = app
            .post(
                Some(&desk),
                "mutation($i: UpdateAssetInput!) { updateAsset(input: $i) { asset { version } } }",
                json!({ "i": { "assetId": asset_id, "expectedVersion": 1, "name": "古い版" } }),
            )
            .await;
        assert_eq!(error_code(&stale.1).as_deref(), Some("CONFLICT"));
        let ticket = app
        .gql(&desk, "mutation { createTicket(input: {kind: INCIDENT, title: \"キーボードが反応しない\"}) { ticket { id number } } }", json!({}))
        .await;
        let ticket_id = ticket["data"]["createTicket"]["ticket"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let linked = app
        .gql(
            &desk,
            "mutation($i: AssetTicketInput!) { linkAssetToTicket(input: $i) { asset { tickets { id } } userErrors { code } } }",
            json!({ "i": { "assetId": asset_id, "ticketId": ticket_id } }),
        )
        .await;
        assert_eq!(
            linked["data"]["linkAssetToTicket"]["asset"]["tickets"][0]["id"],
            ticket_id.as_str()
        );
        let view = app
        .gql(
            &desk,
            "query($id: ID!, $t: ID!) {
                a: node(id: $id) { ... on Asset { assetTag timeline(first: 10) { edges { node { kind actor { displayName } ticket { number } } } } } }
                t: node(id: $t) { ... on Ticket { assets { assetTag } events { edges { node { kind } } } } }
            }",
            json!({ "id": asset_id, "t": ticket_id }),
        )
        .await;
        let kinds: Vec<&str> = view["data"]["a"]["timeline"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["registered", "moved", "ticket_linked"]);
        assert_eq!(
            view["data"]["a"]["timeline"]["edges"][0]["node"]["actor"]["displayName"],
            "鈴木 一郎"
        );
        assert_eq!(view["data"]["t"]["assets"][0]["assetTag"], "NB-0001");
        let ticket_events: Vec<&str> = view["data"]["t"]["events"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["kind"].as_str().unwrap())
            .collect();
        assert!(ticket_events.contains(&"ASSET_LINKED"), "{ticket_events:?}");
        // Scope: the requester who uses it sees it (not the desk's license seats); others do not.
        let mine = app.token(&fx.slug, fx.requester, &["requester"]);
        let list = "query { assets(first: 10) { totalCount nodes { assetTag licenses { id } } } }";
        let seen = app.gql(&mine, list, json!({})).await;
        assert_eq!(seen["data"]["assets"]["totalCount"], 1);
        assert_eq!(seen["data"]["assets"]["nodes"][0]["assetTag"], "NB-0001");
        let other = app.token(&fx.slug, fx.other_requester, &["requester"]);
        assert_eq!(
            app.gql(&other, list, json!({})).await["data"]["assets"]["totalCount"],
            0
        );
        let vendor = app.token(&fx.slug, fx.vendor_person, &["vendor"]);
        assert_eq!(
            app.gql(&vendor, list, json!({})).await["data"]["assets"]["totalCount"],
            0
        );
        let edu = &app.fixture.edu;
        let foreign = app.token(&edu.slug, edu.agent, &["agent"]);
        let node = app
            .gql(
                &foreign,
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": asset_id }),
            )
            .await;
        assert!(
            node["data"]["node"].is_null(),
            "another tenant's desk sees nothing"
        );
        let forbidden = app
            .post(
                Some(&mine),
                &create,
                json!({ "i": { "assetTag": "X-1", "kind": "OTHER", "name": "私物" } }),
            )
            .await;
        assert_eq!(error_code(&forbidden.1).as_deref(), Some("FORBIDDEN"));
        // Filtering and keyset pages.
        for n in 2..=5 {
            app.gql(&desk, &create, json!({ "i": { "assetTag": format!("NB-000{n}"), "kind": "NOTEBOOK", "name": "予備機", "status": "SPARE" } })).await;
        }
        let q = "query($after: String) { assets(first: 2, after: $after, filterBy: {status: [SPARE]}, orderBy: {field: ASSET_TAG, direction: ASC}) {
        totalCount pageInfo { hasNextPage endCursor } nodes { assetTag } } }";
        let p1 = app.gql(&desk, q, json!({})).await;
        assert_eq!(p1["data"]["assets"]["totalCount"], 4);
        let p2 = app
            .gql(
                &desk,
                q,
                json!({ "after": p1["data"]["assets"]["pageInfo"]["endCursor"] }),
            )
            .await;
        let tags: Vec<&str> = p1["data"]["assets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p2["data"]["assets"]["nodes"].as_array().unwrap())
            .map(|n| n["assetTag"].as_str().unwrap())
            .collect();
        assert_eq!(tags, vec!["NB-0002", "NB-0003", "NB-0004", "NB-0005"]);
        assert_eq!(p2["data"]["assets"]["pageInfo"]["hasNextPage"], false);
    }
);

fn sjis(s: &str) -> Vec<u8> {
    service::ledger::sheets::encode_sjis(s).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledgers_are_uploaded_and_downloaded_as_excel_files() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = &app.fixture.city;
    let desk = app.token(&fx.slug, fx.agent, &["agent"]);
    let csv = sjis(
        "管理番号,製品名,バージョン,保有数,契約名,本調達,有効期限,備考\r\n\
         L-001,Microsoft Office,2024,1150,令和8年度 運用保守,○,令和9年3月31日,㈱髙島屋経由 ①\r\n\
         L-002,ウイルス対策ソフト,,1250,令和8年度 運用保守,○,2027/3/31,\r\n\
         L-003,Visio Professional,2024,たくさん,,,,\r\n\
         L-004,Adobe Acrobat Pro,,5,別調達,,R9.13.1,\r\n",
    );
    let import = "mutation($i: ImportLedgerInput!) { importLedger(input: $i) {
        report { encoding rows created updated unchanged applied errors { line column code message } } userErrors { code } } }";
    let (status, dry) = app
        .upload(
            &desk,
            import,
            json!({ "i": { "ledger": "LICENSES", "file": null, "dryRun": true } }),
            &[("variables.i.file", "ライセンス.csv", &csv)],
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    let r = &dry["data"]["importLedger"]["report"];
    assert_eq!(
        (
            r["encoding"].as_str(),
            r["rows"].as_i64(),
            r["created"].as_i64(),
            r["applied"].as_bool()
        ),
        (Some("Shift_JIS"), Some(4), Some(2), Some(false))
    );
    let errors: Vec<(i64, &str, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["column"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (4, "保有数", "INVALID_NUMBER"),
            (5, "有効期限", "INVALID_DATE")
        ]
    );
    let licenses = "query { licenses(first: 10) { edges { node { code product seats mainContract expiresOn notes assigned overAllocated } } } }";
    assert_eq!(
        app.gql(&desk, licenses, json!({})).await["data"]["licenses"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "dry run wrote nothing"
    );
    let (_, real) = app
        .upload(
            &desk,
            import,
            json!({ "i": { "ledger": "LICENSES", "file": null } }),
            &[("variables.i.file", "ライセンス.csv", &csv)],
        )
        .await;
    assert_eq!(real["data"]["importLedger"]["report"]["created"], 2);
    let list = app.gql(&desk, licenses, json!({})).await;
    let first = &list["data"]["licenses"]["edges"][0]["node"];
    assert_eq!(
        (
            first["code"].as_str(),
            first["seats"].as_i64(),
            first["expiresOn"].as_str()
        ),
        (Some("L-001"), Some(1150), Some("2027-03-31"))
    );
    assert_eq!(first["notes"], "㈱髙島屋経由 ①");
    // Requesters may not import.
    let mine = app.token(&fx.slug, fx.requester, &["requester"]);
    let (_, refused) = app
        .upload(
            &mine,
            import,
            json!({ "i": { "ledger": "LICENSES", "file": null } }),
            &[("variables.i.file", "x.csv", &csv)],
        )
        .await;
    assert_eq!(error_code(&refused).as_deref(), Some("FORBIDDEN"));
    // A download link: the file, named in Japanese, without a token; unknown links are 404.
    let export = "mutation($i: CreateLedgerExportInput!) { createLedgerExport(input: $i) { url expiresAt } }";
    for (format, kind) in [
        ("CSV_SHIFT_JIS", "text/csv; charset=Shift_JIS"),
        ("CSV_UTF8", "text/csv; charset=UTF-8"),
        ("XLSX", "application/vnd.openxmlformats"),
    ] {
        let link = app
            .gql(
                &desk,
                export,
                json!({ "i": { "ledger": "LICENSES", "format": format } }),
            )
            .await;
        let url = link["data"]["createLedgerExport"]["url"]
            .as_str()
            .unwrap_or_else(|| panic!("{link}"))
            .to_owned();
        assert!(url.starts_with("/exports/"));
        let res = app.get(&url).await;
        assert_eq!(res.status(), 200);
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(kind), "{ct}");
        let cd = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            cd.contains("filename*=UTF-8''%E3%83%A9%E3%82%A4%E3%82%BB%E3%83%B3%E3%82%B9"),
            "{cd}"
        );
        let bytes = res.bytes().await.unwrap().to_vec();
        if format == "XLSX" {
            assert_eq!(&bytes[..2], b"PK");
        } else {
            let (text, _) = service::ledger::sheets::decode(&bytes).unwrap();
            assert!(text.starts_with("管理番号,製品名"));
            assert!(text.contains("L-001,Microsoft Office,2024,,1150,,令和8年度 運用保守,○,,,2027/03/31,㈱髙島屋経由 ①,0"), "{text}");
        }
    }
    assert_eq!(app.get("/exports/0123456789abcdef").await.status(), 404);
    let refused = app
        .post(
            Some(&mine),
            export,
            json!({ "i": { "ledger": "ASSETS", "format": "XLSX" } }),
        )
        .await;
    assert_eq!(error_code(&refused.1).as_deref(), Some("FORBIDDEN"));
    // Retirement with its erasure evidence uploaded, and the evidence downloaded again.
    let made = app.gql(&desk, "mutation { createAsset(input: {assetTag: \"NB-OLD\", kind: NOTEBOOK, name: \"旧端末\"}) { asset { id } } }", json!({})).await;
    let asset = made["data"]["createAsset"]["asset"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let photo: &[u8] = b"\x89PNG\r\n\x1a\n disk destroyed";
    let (status, retired) = app
        .upload(
            &desk,
            "mutation($i: RetireAssetInput!) { retireAsset(input: $i) { asset { status timeline { edges { node { kind evidence { filename size url } } } } } userErrors { code } } }",
            json!({ "i": { "assetId": asset, "reason": "リース満了", "erasureMethod": "物理破壊", "evidence": [null] } }),
            &[("variables.i.evidence.0", "破壊写真.png", photo)],
        )
        .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(
        retired["data"]["retireAsset"]["asset"]["status"], "RETIRED",
        "{retired}"
    );
    let edges = retired["data"]["retireAsset"]["asset"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let evidence = &edges
        .iter()
        .find(|e| e["node"]["kind"] == "retired")
        .unwrap()["node"]["evidence"][0];
    assert_eq!(
        (evidence["filename"].as_str(), evidence["size"].as_i64()),
        (Some("破壊写真.png"), Some(photo.len() as i64))
    );
    let url = format!("{}{}", app.address, evidence["url"].as_str().unwrap());
    let got = app
        .client
        .get(&url)
        .bearer_auth(&desk)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("%E7%A0%B4%E5%A3%8A")
    );
    assert_eq!(got.bytes().await.unwrap().as_ref(), photo);
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        401,
        "a token is needed"
    );
    let foreign = app.token(&app.fixture.edu.slug, app.fixture.edu.agent, &["agent"]);
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth(&foreign)
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "another tenant"
    );
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth(&mine)
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "not the requester's device"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_requests_toner_and_the_desk_issues_it() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = &app.fixture.city;
    let desk = app.token(&fx.slug, fx.agent, &["agent"]);
    let boss = app.token(&fx.slug, fx.supervisor, &["supervisor"]);
    let mine = app.token(&fx.slug, fx.requester, &["requester"]);
    let item = app
        .gql(
            &desk,
            "mutation($i: ConsumableItemInput!) { createConsumableItem(input: $i) { item { id code compatibleModels } userErrors { code } } }",
            json!({ "i": { "code": "TN-K", "name": "トナー 黒", "category": "TONER", "unitPrice": 4800, "reorderPoint": 2, "reorderQuantity": 5, "compatibleModels": ["MF-4500"] } }),
        )
        .await;
    let item_id = item["data"]["createConsumableItem"]["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        item["data"]["createConsumableItem"]["item"]["compatibleModels"],
        json!(["MF-4500"])
    );
    let mv = "mutation($i: RecordStockMovementInput!) { recordStockMovement(input: $i) { movement { balanceAfter delta } userErrors { code message } } }";
    let received = app.gql(&desk, mv, json!({ "i": { "itemId": item_id, "location": "本庁舎 倉庫", "kind": "RECEIVE", "quantity": 3 } })).await;
    assert_eq!(
        received["data"]["recordStockMovement"]["movement"]["balanceAfter"],
        3
    );
    // The requester sees the catalogue and files a request.
    let fits = app.gql(&mine, "query { consumableItems(filterBy: {fitsModel: \"MF-4500\"}) { edges { node { code totalStock } } } }", json!({})).await;
    assert_eq!(
        fits["data"]["consumableItems"]["edges"][0]["node"]["code"],
        "TN-K"
    );
    let file = "mutation($i: FileSupplyRequestInput!) { fileSupplyRequest(input: $i) { request { id number status } userErrors { code } } }";
    let filed = app
        .gql(
            &mine,
            file,
            json!({ "i": { "itemId": item_id, "quantity": 2, "note": "3階複合機用" } }),
        )
        .await;
    let req = &filed["data"]["fileSupplyRequest"]["request"];
    assert!(req["number"].as_str().unwrap().starts_with("SR-"));
    let req_id = req["id"].as_str().unwrap().to_owned();
    let decide = "mutation($i: SupplyRequestInput!) { decideSupplyRequest(input: $i) { request { status decidedBy { displayName } } userErrors { code } } }";
    let self_approve = app
        .post(
            Some(&mine),
            decide,
            json!({ "i": { "requestId": req_id, "approve": true } }),
        )
        .await;
    assert_eq!(error_code(&self_approve.1).as_deref(), Some("FORBIDDEN"));
    let early = app
        .gql(&desk, "mutation($i: SupplyRequestInput!) { issueSupplyRequest(input: $i) { request { status } userErrors { code } } }", json!({ "i": { "requestId": req_id, "location": "本庁舎 倉庫" } }))
        .await;
    assert_eq!(
        early["data"]["issueSupplyRequest"]["userErrors"][0]["code"],
        "INVALID_TRANSITION"
    );
    let ok = app
        .gql(
            &boss,
            decide,
            json!({ "i": { "requestId": req_id, "approve": true } }),
        )
        .await;
    assert_eq!(
        ok["data"]["decideSupplyRequest"]["request"]["status"],
        "APPROVED"
    );
    let issued = app
        .gql(&desk, "mutation($i: SupplyRequestInput!) { issueSupplyRequest(input: $i) { request { status issuedLocation } userErrors { code } } }", json!({ "i": { "requestId": req_id, "location": "本庁舎 倉庫" } }))
        .await;
    assert_eq!(
        issued["data"]["issueSupplyRequest"]["request"]["status"],
        "ISSUED"
    );
    let receipt = app
        .gql(
            &desk,
            "mutation($i: SupplyRequestInput!) { recordSupplyReceipt(input: $i) { request { receiptSignedBy receiptOn } } }",
            json!({ "i": { "requestId": req_id, "signedBy": "総務課 髙橋", "receivedOn": "2026-12-01" } }),
        )
        .await;
    assert_eq!(
        receipt["data"]["recordSupplyReceipt"]["request"]["receiptSignedBy"],
        "総務課 髙橋"
    );
    // 1 left, at or below the reorder point: suggested.
    let s = app
        .gql(
            &desk,
            "query { reorderSuggestions { item { code } onHand suggested } }",
            json!({}),
        )
        .await;
    assert_eq!(
        s["data"]["reorderSuggestions"],
        json!([{ "item": { "code": "TN-K" }, "onHand": 1, "suggested": 5 }])
    );
    let short = app.gql(&desk, mv, json!({ "i": { "itemId": item_id, "location": "本庁舎 倉庫", "kind": "ISSUE", "quantity": 2 } })).await;
    assert_eq!(
        short["data"]["recordStockMovement"]["userErrors"][0]["code"],
        "INSUFFICIENT_STOCK"
    );
    // Each requester sees their own requests only.
    let q =
        "query { supplyRequests(first: 10) { edges { node { number status item { code } } } } }";
    assert_eq!(
        app.gql(&mine, q, json!({})).await["data"]["supplyRequests"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let other = app.token(&fx.slug, fx.other_requester, &["requester"]);
    assert_eq!(
        app.gql(&other, q, json!({})).await["data"]["supplyRequests"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let movements: Value = app.gql(&desk, "query($id: ID!) { node(id: $id) { ... on ConsumableItem { movements { edges { node { kind delta request { number } } } } } } }", json!({ "id": item_id })).await;
    let kinds: Vec<&str> = movements["data"]["node"]["movements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["ISSUE", "RECEIVE"]);
}

/// Who asks, in the ledger matrix.
struct Caller {
    label: &'static str,
    token: Option<String>,
}

both_backends!(
    every_ledger_field_is_scoped_by_tenant_and_role,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let (city, edu) = (&app.fixture.city, &app.fixture.edu);
        let desk = app.token(&city.slug, city.agent, &["agent"]);
        let made = app
        .gql(
            &desk,
            "mutation { a: createAsset(input: {assetTag: \"NB-1\", kind: NOTEBOOK, name: \"PC\", loanable: true, status: SPARE}) { asset { id } }
                        l: createLicense(input: {code: \"L-1\", product: \"Office\", seats: 5}) { license { id } }
                        i: createConsumableItem(input: {code: \"T-1\", name: \"トナー\", category: TONER}) { item { id } } }",
            json!({}),
        )
        .await;
        let asset = made["data"]["a"]["asset"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let license = made["data"]["l"]["license"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let item = made["data"]["i"]["item"]["id"].as_str().unwrap().to_owned();
        let req = app.token(&city.slug, city.requester, &["requester"]);
        let filed = app
        .gql(&req, "mutation($i: FileSupplyRequestInput!) { fileSupplyRequest(input: $i) { request { id } } }", json!({ "i": { "itemId": item, "quantity": 1 } }))
        .await;
        let request = filed["data"]["fileSupplyRequest"]["request"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let callers = [
            Caller {
                label: "requester",
                token: Some(req.clone()),
            },
            Caller {
                label: "agent",
                token: Some(desk.clone()),
            },
            Caller {
                label: "supervisor",
                token: Some(app.token(&city.slug, city.supervisor, &["supervisor"])),
            },
            Caller {
                label: "vendor",
                token: Some(app.token(&city.slug, city.vendor_person, &["vendor"])),
            },
            Caller {
                label: "other tenant's admin",
                token: Some(app.token(&edu.slug, edu.admin, &["admin", "agent", "supervisor"])),
            },
            Caller {
                label: "nobody",
                token: None,
            },
        ];
        // (operation, expected code per caller in the order above; "OK" = no error).
        let cases: Vec<(String, Value, [&str; 6])> = vec![
        ("query { assets { totalCount } }".into(), json!({}), ["OK", "OK", "OK", "OK", "OK", "UNAUTHENTICATED"]),
        (
            "mutation($i: UpdateAssetInput!) { updateAsset(input: $i) { asset { id } userErrors { code } } }".into(),
            json!({ "i": { "assetId": asset, "name": "改名" } }),
            // Out of scope reads as absent, as for tickets: nobody learns the asset exists.
            ["NOT_FOUND", "OK", "OK", "NOT_FOUND", "NOT_FOUND", "UNAUTHENTICATED"],
        ),
        (
            "mutation($i: RecordAssetInspectionInput!) { recordAssetInspection(input: $i) { event { kind } userErrors { code } } }".into(),
            json!({ "i": { "assetId": asset, "result": "異常なし" } }),
            ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"],
        ),
        ("query { licenses { edges { node { id } } } }".into(), json!({}), ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "OK", "UNAUTHENTICATED"]),
        (
            "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { assignment { id } userErrors { code } } }".into(),
            json!({ "i": { "licenseId": license, "personId": gid("Person", city.requester) } }),
            ["FORBIDDEN", "OK", "USER_ERROR", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"],
        ),
        ("query { repairs { edges { node { id } } } }".into(), json!({}), ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "OK", "UNAUTHENTICATED"]),
        ("query { purchaseOrders { edges { node { id } } } }".into(), json!({}), ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "OK", "UNAUTHENTICATED"]),
        ("query { reorderSuggestions { suggested } }".into(), json!({}), ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "OK", "UNAUTHENTICATED"]),
        ("query { consumableItems { edges { node { id } } } }".into(), json!({}), ["OK", "OK", "OK", "OK", "OK", "UNAUTHENTICATED"]),
        (
            "mutation($i: SupplyRequestInput!) { decideSupplyRequest(input: $i) { request { status } userErrors { code } } }".into(),
            json!({ "i": { "requestId": request, "approve": false } }),
            ["FORBIDDEN", "FORBIDDEN", "OK", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"],
        ),
        (
            "mutation($i: RecordStockMovementInput!) { recordStockMovement(input: $i) { movement { id } userErrors { code } } }".into(),
            json!({ "i": { "itemId": item, "location": "倉庫", "kind": "RECEIVE", "quantity": 1 } }),
            ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"],
        ),
        (
            "mutation($i: CreateLedgerExportInput!) { createLedgerExport(input: $i) { url } }".into(),
            json!({ "i": { "ledger": "ASSETS", "format": "XLSX" } }),
            ["FORBIDDEN", "OK", "OK", "FORBIDDEN", "OK", "UNAUTHENTICATED"],
        ),
        (
            "mutation($i: BookAssetInput!) { reserveAsset(input: $i) { booking { id } userErrors { code } } }".into(),
            json!({ "i": { "assetId": asset, "startsAt": "2030-01-06T00:00:00Z", "dueAt": "2030-01-07T00:00:00Z" } }),
            // The requester books first; the desk may book too but the week is taken.
            ["OK", "USER_ERROR", "USER_ERROR", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"],
        ),
    ];
        let mut failures = Vec::new();
        for (query, vars, want) in &cases {
            for (who, want) in callers.iter().zip(want) {
                let (status, body) = app.post(who.token.as_deref(), query, vars.clone()).await;
                let field = body["data"]
                    .as_object()
                    .and_then(|o| o.values().next().cloned())
                    .unwrap_or(Value::Null);
                let got = if let Some(code) = error_code(&body) {
                    code
                } else if status != 200 {
                    format!("HTTP {status}")
                } else if field
                    .get("userErrors")
                    .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()))
                {
                    "USER_ERROR".to_owned()
                } else {
                    "OK".to_owned()
                };
                if got != *want {
                    failures.push(format!(
                        "{} → {}: want {want}, got {got} ({body})",
                        who.label,
                        query.split('{').nth(1).unwrap_or(query).trim()
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // What each sees is also scoped: nobody outside the desk counts the city's asset.
        let count = |t: &str| {
            let t = t.to_owned();
            let app = &app;
            async move {
                app.gql(&t, "query { assets { totalCount } }", json!({}))
                    .await["data"]["assets"]["totalCount"]
                    .as_i64()
                    .unwrap()
            }
        };
        assert_eq!(count(&desk).await, 1);
        assert_eq!(count(callers[0].token.as_ref().unwrap()).await, 0);
        assert_eq!(count(callers[3].token.as_ref().unwrap()).await, 0);
        assert_eq!(count(callers[4].token.as_ref().unwrap()).await, 0);
        let node = app
            .gql(
                callers[4].token.as_ref().unwrap(),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": license }),
            )
            .await;
        assert!(node["data"]["node"].is_null());
    }
);
