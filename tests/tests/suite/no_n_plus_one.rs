//! A list of tickets with their people, comments and history, and the ledgers' lists with their
//! references, cost a fixed number of queries however many rows they show.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::graphql::context::{AppState, Session};
use api::graphql::loaders::Loaders;
use service::Db;
use service::directory_cache::DirectoryCache;
use service::tickets::{self, NewTicket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tests::{Backend, test_db};

const LIST: &str = r#"query($n: Int) { tickets(first: $n) { nodes {
    number requester { displayName orgUnit { name } } assignee { displayName } category { name }
    comments(first: 5) { totalCount nodes { body author { displayName } } }
    events(first: 5) { nodes { kind actor { displayName } } } } } }"#;

/// Runs `query` with `{"n": n}` through the schema, counting the statements on the read pool.
async fn count_queries(
    db: &Db,
    actor: &service::Actor,
    query: &str,
    n: usize,
) -> (usize, serde_json::Value) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut read = db.read.clone();
    let c = counter.clone();
    read.set_metric_callback(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    let counted = Db {
        read,
        write: db.write.clone(),
    };
    let (live, _) = tokio::sync::broadcast::channel(16);
    // No directory cache: every lookup must reach the database, batched.
    let directory = Arc::new(DirectoryCache::new(std::time::Duration::ZERO));
    let state = AppState {
        db: counted.clone(),
        live,
        directory: directory.clone(),
        search: Arc::new(service::search::Search::in_memory().unwrap()),
    };
    let schema = api::graphql::build(state, &api::config::GraphqlConfig::default());
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(
            serde_json::json!({ "n": n }),
        ))
        .data(Session {
            actor: Some(actor.clone()),
        })
        .data(Loaders::new(&counted, actor, &directory));
    let response = schema.execute(request).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    (
        counter.load(Ordering::SeqCst),
        response.data.into_json().unwrap(),
    )
}

async fn queries_for(db: &Db, actor: &service::Actor, n: usize) -> usize {
    let (count, json) = count_queries(db, actor, LIST, n).await;
    let nodes = json["tickets"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), n);
    assert!(nodes.iter().all(|t| t["comments"]["totalCount"] == 3
        && t["comments"]["nodes"].as_array().unwrap().len() == 3));
    assert!(
        nodes
            .iter()
            .all(|t| t["events"]["nodes"].as_array().unwrap().len() == 4)
    );
    count
}

// The server resolves each request on one actix worker thread (a current-thread runtime), so a
// DataLoader's batch task cannot start before every field of the request has asked for its
// key. These tests run the same way; on a multi-threaded runtime the batch could start early.
#[tokio::test]
async fn a_list_costs_the_same_queries_for_5_or_25_tickets_on_sqlite() {
    a_list_costs_the_same_queries_for_5_or_25_tickets(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_list_costs_the_same_queries_for_5_or_25_tickets_on_postgres() {
    a_list_costs_the_same_queries_for_5_or_25_tickets(Backend::Postgres).await;
}

async fn a_list_costs_the_same_queries_for_5_or_25_tickets(backend: Backend) {
    let t = test_db(backend).await;
    let fx = &t.fixture.city;
    let desk = fx.agent_actor();
    for i in 0..25 {
        let mut n = NewTicket::new(entity::TicketKind::Inquiry, format!("問い合わせ{i}"), "");
        n.requester_id = Some(if i % 2 == 0 {
            fx.requester
        } else {
            fx.other_requester
        });
        n.category_id = Some(fx.category);
        n.assignee_id = Some(fx.agent);
        let id = tickets::create(&t.db.write, &desk, n)
            .await
            .unwrap()
            .ticket
            .id;
        for body in ["一報", "確認中", "回答"] {
            tickets::add_comment(&t.db.write, &desk, id, body, false)
                .await
                .unwrap();
        }
    }
    let few = queries_for(&t.db, &desk, 5).await;
    let many = queries_for(&t.db, &desk, 25).await;
    // A person asked for again while the first batch naming them is still in flight costs one
    // more lookup (the loader caches only finished batches): at most one, whatever the list size.
    assert!(
        many <= few + 1,
        "queries grew with the list: {few} for 5 tickets, {many} for 25"
    );
    assert!(
        few <= 12 && many <= 12,
        "{few} / {many} queries for one list"
    );
}

const LEDGER_LIST: &str = r#"query($n: Int) {
    assets(first: $n, filterBy: {kind: [PERIPHERAL]}) { nodes { assetTag orgUnit { name } user { displayName } parent { assetTag } } }
    terminals: assets(first: $n, filterBy: {kind: [NOTEBOOK]}) { nodes { assetTag peripherals { assetTag } tickets { number } } }
    licenses(first: $n) { edges { node { code assigned available overAllocated } } }
    consumableItems(first: $n) { edges { node { code totalStock stock { location quantity } compatibleModels } } } }"#;

#[tokio::test]
async fn ledger_lists_cost_the_same_queries_for_5_or_25_rows() {
    use service::ledger::{assets, licenses, stock};
    let t = test_db(Backend::Sqlite).await;
    let fx = &t.fixture.city;
    let desk = fx.agent_actor();
    let db = &t.db.write;
    for i in 0..25 {
        let a = assets::AssetInput {
            asset_tag: format!("NB-{i:03}"),
            kind: Some(entity::AssetKind::Notebook),
            name: "ノートPC".into(),
            org_unit_id: Some(fx.unit),
            user_id: Some(if i % 2 == 0 {
                fx.requester
            } else {
                fx.other_requester
            }),
            ..assets::AssetInput::default()
        };
        let terminal = assets::create(db, &desk, a).await.unwrap();
        let mouse = assets::AssetInput {
            asset_tag: format!("MS-{i:03}"),
            kind: Some(entity::AssetKind::Peripheral),
            name: "マウス".into(),
            parent_id: Some(terminal.id),
            ..assets::AssetInput::default()
        };
        assets::create(db, &desk, mouse).await.unwrap();
        let ticket = service::tickets::create(
            db,
            &desk,
            NewTicket::new(entity::TicketKind::Incident, format!("故障{i}"), ""),
        )
        .await
        .unwrap()
        .ticket;
        assets::link_ticket(db, &desk, terminal.id, ticket.id)
            .await
            .unwrap();
        let l = licenses::create(
            db,
            &desk,
            licenses::LicenseInput {
                code: format!("L-{i:03}"),
                product: "Office".into(),
                seats: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        licenses::assign(db, &desk, l.id, None, Some(fx.requester), false)
            .await
            .unwrap();
        let mut item = stock::ItemInput::new(
            format!("T-{i:03}"),
            "トナー",
            entity::ConsumableCategory::Toner,
        );
        item.models = vec!["MF-1".into(), "MF-2".into()];
        let item = stock::create_item(db, &desk, item).await.unwrap();
        for place in ["倉庫A", "倉庫B"] {
            stock::record_movement(
                db,
                &desk,
                stock::NewMovement {
                    item_id: item.id,
                    location: place.into(),
                    kind: entity::MovementKind::Receive,
                    quantity: 3,
                    refs: Default::default(),
                },
            )
            .await
            .unwrap();
        }
    }
    let (few, _) = count_queries(&t.db, &desk, LEDGER_LIST, 5).await;
    let (many, json) = count_queries(&t.db, &desk, LEDGER_LIST, 25).await;
    let terminals = json["terminals"]["nodes"].as_array().unwrap();
    assert!(
        terminals.len() == 25
            && terminals
                .iter()
                .all(|t| t["peripherals"].as_array().unwrap().len() == 1
                    && t["tickets"].as_array().unwrap().len() == 1)
    );
    let mice = json["assets"]["nodes"].as_array().unwrap();
    assert!(
        mice.len() == 25
            && mice
                .iter()
                .all(|m| m["parent"]["assetTag"].as_str().unwrap().starts_with("NB-"))
    );
    let items = json["consumableItems"]["edges"].as_array().unwrap();
    assert_eq!(items.len(), 25);
    assert!(items.iter().all(|i| i["node"]["totalStock"] == 6
        && i["node"]["compatibleModels"].as_array().unwrap().len() == 2));
    assert!(
        json["licenses"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["node"]["assigned"] == 1 && l["node"]["available"] == 1)
    );
    assert!(
        many <= few + 1,
        "queries grew with the lists: {few} for 5 rows, {many} for 25"
    );
}
