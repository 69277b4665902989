//! Black-box: work a ticket end to end over HTTP, and watch it over WebSocket.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{Backend, both_backends, error_code, gid, spawn_app};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CREATE: &str = r#"mutation($input: CreateTicketInput!) {
  createTicket(input: $input) {
    clientMutationId
    ticket { id number title status statusLabel priority kind channel
             requester { displayName } orgUnit { name } sla { responseDueAt resolutionDueAt breached } }
    userErrors { field message code }
  }
}"#;

both_backends!(
    agent_works_a_phone_ticket_from_intake_to_close,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let agent = app.token(&fx.slug, fx.agent, &["agent"]);
        let requester = app.token(&fx.slug, fx.requester, &["requester"]);

        // Arrange: a phone call typed in by the agent for the requester.
        let body = app
        .gql(&agent, CREATE, json!({"input": {
            "clientMutationId": "c1", "kind": "INCIDENT", "channel": "PHONE", "priority": "HIGH",
            "title": "住民記録システムにログインできない", "description": "窓口の端末3台で発生",
            "requesterId": gid("Person", fx.requester), "categoryId": gid("TicketCategory", fx.category)
        }}))
        .await;
        let p = &body["data"]["createTicket"];
        assert_eq!(p["clientMutationId"], "c1");
        assert_eq!(p["userErrors"], json!([]));
        let t = &p["ticket"];
        assert!(t["number"].as_str().unwrap().starts_with("HD-20"), "{t}");
        assert_eq!(t["status"], "NEW");
        assert_eq!(t["statusLabel"], "新規");
        assert_eq!(t["requester"]["displayName"], "山田 太郎");
        assert_eq!(
            t["orgUnit"]["name"], "さくら東小学校",
            "org unit defaults to the requester's"
        );
        assert!(t["sla"]["responseDueAt"].is_string() && t["sla"]["resolutionDueAt"].is_string());
        let id = t["id"].as_str().unwrap().to_owned();
        let number = t["number"].as_str().unwrap().to_owned();

        // Act: assign, work, ask the requester, requester replies, resolve, requester closes.
        let assign = app
        .gql(&agent, r#"mutation($i: AssignTicketInput!) { assignTicket(input: $i) { ticket { assignee { displayName } } userErrors { code } } }"#,
            json!({"i": {"ticketId": id, "assigneeId": gid("Person", fx.agent)}}))
        .await;
        assert_eq!(
            assign["data"]["assignTicket"]["ticket"]["assignee"]["displayName"],
            "鈴木 一郎"
        );

        let status =
            |to: &'static str| json!({"i": {"ticketId": id, "status": to, "note": "対応"}});
        const CHANGE: &str = r#"mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { status sla { pausedAt firstRespondedAt } } userErrors { code message } } }"#;
        let r = app.gql(&agent, CHANGE, status("IN_PROGRESS")).await;
        assert_eq!(
            r["data"]["changeTicketStatus"]["ticket"]["status"],
            "IN_PROGRESS"
        );
        assert!(r["data"]["changeTicketStatus"]["ticket"]["sla"]["firstRespondedAt"].is_string());
        let r = app
            .gql(&agent, CHANGE, status("WAITING_ON_REQUESTER"))
            .await;
        assert!(
            r["data"]["changeTicketStatus"]["ticket"]["sla"]["pausedAt"].is_string(),
            "{r}"
        );

        let reply = app
        .gql(&requester, r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { body internal author { displayName } } ticket { status sla { pausedAt } } userErrors { code } } }"#,
            json!({"i": {"ticketId": id, "body": "再起動しても同じです"}}))
        .await;
        let c = &reply["data"]["addTicketComment"];
        assert_eq!(c["comment"]["internal"], false);
        assert_eq!(
            c["ticket"]["status"], "IN_PROGRESS",
            "a requester reply resumes the ticket"
        );
        assert_eq!(c["ticket"]["sla"]["pausedAt"], Value::Null);

        let internal = app
        .gql(&agent, r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { internal } userErrors { code } } }"#,
            json!({"i": {"ticketId": id, "body": "一次切り分け: 端末側ではない", "internal": true}}))
        .await;
        assert_eq!(
            internal["data"]["addTicketComment"]["comment"]["internal"],
            true
        );

        let r = app.gql(&agent, CHANGE, status("RESOLVED")).await;
        assert_eq!(
            r["data"]["changeTicketStatus"]["ticket"]["status"],
            "RESOLVED"
        );
        let r = app.gql(&requester, CHANGE, status("CLOSED")).await;
        assert_eq!(
            r["data"]["changeTicketStatus"]["ticket"]["status"], "CLOSED",
            "{r}"
        );

        // Assert: the requester sees the public history only; the desk sees everything, in order.
        const HISTORY: &str = r#"query($n: String!) { ticket(number: $n) {
        failureReport { dueAt }
        comments { totalCount nodes { body internal } }
        events { nodes { kind actor { displayName } payload internal } } } }"#;
        let mine = app.gql(&requester, HISTORY, json!({"n": number})).await;
        let desk = app.gql(&agent, HISTORY, json!({"n": number})).await;
        assert_eq!(mine["data"]["ticket"]["comments"]["totalCount"], 1);
        assert_eq!(desk["data"]["ticket"]["comments"]["totalCount"], 2);
        assert!(
            desk["data"]["ticket"]["failureReport"]["dueAt"].is_string(),
            "incidents owe a failure report"
        );
        let kinds: Vec<&str> = desk["data"]["ticket"]["events"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "CREATED",
                "ASSIGNED",
                "STATUS_CHANGED",
                "STATUS_CHANGED",
                "COMMENTED",
                "STATUS_CHANGED",
                "COMMENTED",
                "STATUS_CHANGED",
                "STATUS_CHANGED"
            ]
        );
        let mine_kinds = mine["data"]["ticket"]["events"]["nodes"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            mine_kinds,
            kinds.len() - 1,
            "the internal comment's event is hidden from the requester"
        );
    }
);

both_backends!(
    escalation_lets_the_vendor_see_and_comment,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let agent = app.token(&fx.slug, fx.agent, &["agent"]);
        let vendor = app.token(&fx.slug, fx.vendor_person, &["vendor"]);
        let body = app
        .gql(&agent, CREATE, json!({"input": {"kind": "INCIDENT", "title": "基幹系バッチ異常終了", "channel": "MONITORING"}}))
        .await;
        let id = body["data"]["createTicket"]["ticket"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let number = body["data"]["createTicket"]["ticket"]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        const GET: &str =
            r#"query($n: String!) { ticket(number: $n) { status escalationTarget { name } } }"#;

        let before = app.gql(&vendor, GET, json!({"n": number})).await;
        assert_eq!(
            error_code(&before).as_deref(),
            Some("NOT_FOUND"),
            "not escalated yet: {before}"
        );

        let esc = app
        .gql(&agent, r#"mutation($i: EscalateTicketInput!) { escalateTicket(input: $i) { ticket { status escalationTarget { name } } userErrors { code } } }"#,
            json!({"i": {"ticketId": id, "vendorId": gid("Vendor", fx.vendor), "note": "ログ採取をお願いします"}}))
        .await;
        assert_eq!(
            esc["data"]["escalateTicket"]["ticket"]["status"], "ESCALATED",
            "{esc}"
        );

        let after = app.gql(&vendor, GET, json!({"n": number})).await;
        assert_eq!(
            after["data"]["ticket"]["escalationTarget"]["name"],
            "統合運用管理補助事業者"
        );
        let list = app
            .gql(
                &vendor,
                "{ tickets(first: 10) { totalCount nodes { number } } }",
                json!({}),
            )
            .await;
        assert_eq!(list["data"]["tickets"]["totalCount"], 1);

        let c = app
        .gql(&vendor, r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { body } userErrors { code } } }"#,
            json!({"i": {"ticketId": id, "body": "ジョブを再実行しました"}}))
        .await;
        assert_eq!(
            c["data"]["addTicketComment"]["comment"]["body"],
            "ジョブを再実行しました"
        );
        let forbidden = app
        .gql(&vendor, r#"mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { status } } }"#,
            json!({"i": {"ticketId": id, "status": "RESOLVED"}}))
        .await;
        assert_eq!(error_code(&forbidden).as_deref(), Some("FORBIDDEN"));
    }
);

/// Returns the next `ticketEvents` payload, or `None` if none arrives within `ms`.
async fn next_payload_within(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    ms: u64,
) -> Option<Value> {
    let msg = tokio::time::timeout(std::time::Duration::from_millis(ms), ws.next())
        .await
        .ok()??
        .ok()?;
    let v: Value = serde_json::from_str(msg.to_text().ok()?).ok()?;
    (v["type"] == "next").then(|| v["payload"]["data"]["ticketEvents"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_streams_events_the_viewer_may_see() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = app.fixture.city.clone();
    let agent = app.token(&fx.slug, fx.agent, &["agent"]);
    let requester = app.token(&fx.slug, fx.requester, &["requester"]);
    let other_tenant_agent = app.token(&app.fixture.edu.slug, app.fixture.edu.agent, &["agent"]);

    async fn connect(
        port: u16,
        token: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        let mut req = format!("ws://127.0.0.1:{port}/graphql/ws")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connects");
        ws.send(Message::text(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}).to_string()))
            .await
            .unwrap();
        let ack = ws.next().await.unwrap().unwrap();
        assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
        ws.send(Message::text(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { ticketEvents { kind internal ticket { number } } }"}}).to_string()))
            .await
            .unwrap();
        ws
    }
    let mut desk_ws = connect(app.port, &agent).await;
    let mut req_ws = connect(app.port, &requester).await;
    let mut foreign_ws = connect(app.port, &other_tenant_agent).await;

    // The protocol does not acknowledge a subscription, so probe until each one is live,
    // then drain the probes: no sleeps that a slow CI machine could outrun.
    let edu = app.fixture.edu.clone();
    let edu_agent = app.token(&edu.slug, edu.agent, &["agent"]);
    for (ws, token) in [
        (&mut req_ws, &requester),
        (&mut desk_ws, &requester),
        (&mut foreign_ws, &edu_agent),
    ] {
        let mut live = false;
        for _ in 0..50 {
            app.gql(
                token,
                CREATE,
                json!({"input": {"kind": "INQUIRY", "title": "probe"}}),
            )
            .await;
            if next_payload_within(ws, 200).await.is_some() {
                live = true;
                break;
            }
        }
        assert!(live, "subscription never became live");
    }
    for ws in [&mut desk_ws, &mut req_ws, &mut foreign_ws] {
        while next_payload_within(ws, 300).await.is_some() {}
    }

    let body = app
        .gql(
            &requester,
            CREATE,
            json!({"input": {"kind": "INQUIRY", "title": "Teamsにサインインできない"}}),
        )
        .await;
    let id = body["data"]["createTicket"]["ticket"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql(&agent, r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { id } } }"#,
        json!({"i": {"ticketId": id, "body": "内部メモ", "internal": true}})).await;
    app.gql(&agent, r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { id } } }"#,
        json!({"i": {"ticketId": id, "body": "確認します"}})).await;

    async fn next_payload(
        ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    ) -> Option<Value> {
        next_payload_within(ws, 3000).await
    }
    let mut desk = vec![];
    for _ in 0..3 {
        desk.push(
            next_payload(&mut desk_ws)
                .await
                .expect("desk gets every event"),
        );
    }
    assert_eq!(
        desk.iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["CREATED", "COMMENTED", "COMMENTED"]
    );
    assert_eq!(desk[1]["internal"], true);
    let mut mine = vec![];
    for _ in 0..2 {
        mine.push(
            next_payload(&mut req_ws)
                .await
                .expect("requester gets public events"),
        );
    }
    assert!(mine.iter().all(|e| e["internal"] == false), "{mine:?}");
    assert!(
        next_payload(&mut req_ws).await.is_none(),
        "no internal event reaches the requester"
    );
    assert!(
        next_payload(&mut foreign_ws).await.is_none(),
        "another tenant sees nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_without_a_valid_token_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut req = format!("ws://127.0.0.1:{}/graphql/ws", app.port)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connects");
    ws.send(Message::text(json!({"type": "connection_init", "payload": {"Authorization": "Bearer forged.token.here"}}).to_string()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(3), ws.next())
        .await
        .expect("server answers");
    match reply {
        Some(Ok(Message::Close(Some(frame)))) => assert_ne!(u16::from(frame.code), 1000),
        Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {}
        other => panic!("expected the connection to be closed, got {other:?}"),
    }
}
