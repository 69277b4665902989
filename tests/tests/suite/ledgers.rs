//! The ledgers through the service, on SQLite and PostgreSQL: stock under concurrent issues,
//! bookings that must not overlap, repairs with spares, licenses, purchasing, and the import and
//! export of Excel files (Shift_JIS CSV with bad rows, round trips, `.xlsx`).

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDate, Utc};
use entity::{
    AssetKind, AssetStatus, ConsumableCategory, InvoiceMatch, MovementKind, PurchaseOrderStatus,
    SupplyRequestStatus, asset, asset_event, mail_outbound, stock_level, stock_movement,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use service::ledger::assets::{
    self, AssetFilter, AssetInput, AssetOrderField, Evidence, Retirement,
};
use service::ledger::licenses::{self, LicenseInput};
use service::ledger::loans::{self, NewBooking};
use service::ledger::repairs::{self, DamageReport, NewRepair};
use service::ledger::sheets::{self, CsvEncoding, ImportOptions, Ledger};
use service::ledger::stock::{
    self, DeliveryLine, ItemInput, MovementRefs, NewMovement, NewRequest, PriceLine,
};
use service::page::Direction;
use service::{Role, ServiceError};
use std::sync::Arc;
use tests::{Backend, both_backends, test_db};

fn code_of(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Invalid(errs) => errs[0].code,
        ServiceError::Conflict(_) => "CONFLICT",
        ServiceError::NotFound => "NOT_FOUND",
        ServiceError::Forbidden(_) => "FORBIDDEN",
        _ => "OTHER",
    }
}

fn pc(tag: &str) -> AssetInput {
    AssetInput {
        asset_tag: tag.into(),
        kind: Some(AssetKind::Notebook),
        name: "ノートPC".into(),
        ..AssetInput::default()
    }
}

fn no_progress() -> impl Fn(u64, u64) + Sync {
    |_, _| {}
}

both_backends!(
    stock_never_goes_negative_under_50_concurrent_issues,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let boss = fx.actor(fx.supervisor, &[Role::Supervisor]);
        let requester = fx.requester_actor();
        let db = &t.db.write;
        let mut toner = ItemInput::new("TN-C1", "トナー（黒）C-1", ConsumableCategory::Toner);
        toner.models = vec!["MF-4500".into()];
        let item = stock::create_item(db, &desk, toner).await.unwrap();
        let place = "本庁舎3階 倉庫";
        stock::record_movement(
            db,
            &desk,
            NewMovement {
                item_id: item.id,
                location: place.into(),
                kind: MovementKind::Receive,
                quantity: 40,
                refs: MovementRefs::default(),
            },
        )
        .await
        .unwrap();
        // 50 approved department requests asking 1–3 each (100 in all) against a stock of 40.
        let mut ids = Vec::new();
        for i in 0..50 {
            let r = stock::file_request(
                db,
                &requester,
                NewRequest {
                    item_id: item.id,
                    quantity: 1 + (i % 3),
                    requested_by: None,
                    printer_asset_id: None,
                    note: None,
                },
            )
            .await
            .unwrap();
            stock::decide(db, &boss, r.id, true, None).await.unwrap();
            ids.push((r.id, r.quantity));
        }
        let db = Arc::new(t.db.write.clone());
        let tasks: Vec<_> = ids
            .iter()
            .map(|(id, q)| {
                let (db, desk, id, q) = (db.clone(), desk.clone(), *id, *q);
                tokio::spawn(async move { (q, stock::issue_request(&db, &desk, id, place).await) })
            })
            .collect();
        let mut issued = 0i64;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                (q, Ok(r)) => {
                    assert_eq!(r.status, SupplyRequestStatus::Issued);
                    issued += i64::from(q);
                }
                (_, Err(e)) => {
                    assert_eq!(code_of(&e), "INSUFFICIENT_STOCK", "{e:?}");
                    refused += 1;
                }
            }
        }
        let level = stock_level::Entity::find_by_id((item.id, place.to_owned()))
            .one(&*db)
            .await
            .unwrap()
            .unwrap();
        assert!(level.quantity >= 0);
        assert_eq!(
            level.quantity,
            40 - issued,
            "stock is exactly what was received minus what was issued"
        );
        assert!(
            level.quantity < 3,
            "requests were refused only when stock could not cover them: {} left",
            level.quantity
        );
        assert!(refused > 0 && issued <= 40);
        let moves = stock_movement::Entity::find()
            .filter(stock_movement::Column::ItemId.eq(item.id))
            .order_by_asc(stock_movement::Column::Id)
            .all(&*db)
            .await
            .unwrap();
        let issues: Vec<_> = moves
            .iter()
            .filter(|m| m.kind == MovementKind::Issue)
            .collect();
        assert_eq!(
            issues.iter().map(|m| -i64::from(m.delta)).sum::<i64>(),
            issued
        );
        assert_eq!(
            moves.iter().map(|m| i64::from(m.delta)).sum::<i64>(),
            level.quantity,
            "movements account for the stock"
        );
        // Each issue's balance is the previous balance minus what it took: no lost update.
        let mut chain: Vec<(i64, i32)> =
            issues.iter().map(|m| (m.balance_after, m.delta)).collect();
        chain.sort_by_key(|(b, _)| std::cmp::Reverse(*b));
        let mut running = 40;
        for (b, d) in &chain {
            assert_eq!(running + i64::from(*d), *b);
            running = *b;
        }
        // Asking for more than is left is refused and changes nothing.
        let err = stock::record_movement(
            &db,
            &desk,
            NewMovement {
                item_id: item.id,
                location: place.into(),
                kind: MovementKind::Issue,
                quantity: 10,
                refs: MovementRefs::default(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(code_of(&err), "INSUFFICIENT_STOCK");
        // A request issued once cannot be issued again.
        let mut done = None;
        for (id, _) in &ids {
            if stock::request(&*db, &desk, *id).await.unwrap().status == SupplyRequestStatus::Issued
            {
                done = Some(*id);
                break;
            }
        }
        assert_eq!(
            code_of(
                &stock::issue_request(&db, &desk, done.unwrap(), place)
                    .await
                    .unwrap_err()
            ),
            "INVALID_TRANSITION"
        );
    }
);

both_backends!(
    overlapping_bookings_are_refused_even_when_concurrent,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let requester = fx.requester_actor();
        let db = &t.db.write;
        let mut kit = pc("KIT-WEB-01");
        kit.kind = Some(AssetKind::LoanKit);
        kit.name = "Web会議セット（カメラ・スピーカー）".into();
        kit.loanable = true;
        kit.status = Some(AssetStatus::Spare);
        let kit = assets::create(db, &desk, kit).await.unwrap();
        let day = |d: i64| Utc::now() + Duration::days(d);
        let b = loans::reserve(
            db,
            &requester,
            NewBooking {
                asset_id: kit.id,
                borrower_id: None,
                starts_at: day(1),
                due_at: day(3),
                purpose: Some("庁内研修".into()),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            b.borrower_id, fx.requester,
            "requesters book for themselves"
        );
        let clash = loans::reserve(
            db,
            &requester,
            NewBooking {
                asset_id: kit.id,
                borrower_id: None,
                starts_at: day(2),
                due_at: day(4),
                purpose: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(code_of(&clash), "OVERLAPPING_BOOKING");
        // Back to back is fine: one ends when the next starts.
        let next = loans::reserve(
            db,
            &desk,
            NewBooking {
                asset_id: kit.id,
                borrower_id: Some(fx.other_requester),
                starts_at: b.due_at,
                due_at: day(5),
                purpose: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(next.borrower_id, fx.other_requester);
        // A requester may not book in someone else's name.
        let err = loans::reserve(
            db,
            &requester,
            NewBooking {
                asset_id: kit.id,
                borrower_id: Some(fx.other_requester),
                starts_at: day(10),
                due_at: day(11),
                purpose: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(code_of(&err), "FORBIDDEN");
        // Ten people book the same week at once: exactly one wins.
        let db2 = Arc::new(t.db.write.clone());
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (db, desk, id) = (db2.clone(), desk.clone(), kit.id);
                tokio::spawn(async move {
                    loans::reserve(
                        &db,
                        &desk,
                        NewBooking {
                            asset_id: id,
                            borrower_id: None,
                            starts_at: day(20),
                            due_at: day(27),
                            purpose: None,
                        },
                    )
                    .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert_eq!(code_of(&e), "OVERLAPPING_BOOKING"),
            }
        }
        assert_eq!(won, 1);
        // Check out, overdue once, return.
        let out = loans::check_out(db, &desk, b.id, None).await.unwrap();
        assert_eq!(
            assets::get(db, &desk, kit.id).await.unwrap().status,
            AssetStatus::OnLoan
        );
        let later = out.due_at + Duration::hours(1);
        let overdue = loans::notify_overdue(db, later, 100).await.unwrap();
        assert_eq!(overdue.iter().map(|b| b.id).collect::<Vec<_>>(), vec![b.id]);
        assert!(
            loans::notify_overdue(db, later + Duration::hours(1), 100)
                .await
                .unwrap()
                .is_empty(),
            "told once"
        );
        let mails = mail_outbound::Entity::find()
            .filter(mail_outbound::Column::Kind.eq("loan_overdue"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(mails.len(), 1);
        assert!(
            mails[0].subject.contains("返却期限を過ぎています")
                && mails[0].to_address.starts_with("requester@")
        );
        let back = loans::give_back(db, &desk, b.id, None).await.unwrap();
        assert!(back.returned_at.is_some());
        assert_eq!(
            assets::get(db, &desk, kit.id).await.unwrap().status,
            AssetStatus::Spare
        );
        let kinds: Vec<String> = assets::events(db, &desk, kit.id, 50, None)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.kind)
            .collect();
        for k in [
            "registered",
            "reserved",
            "loaned",
            "loan_overdue",
            "returned",
        ] {
            assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
        }
        // Not loanable, not bookable.
        let plain = assets::create(db, &desk, pc("PC-0001")).await.unwrap();
        let err = loans::reserve(
            db,
            &desk,
            NewBooking {
                asset_id: plain.id,
                borrower_id: None,
                starts_at: day(1),
                due_at: day(2),
                purpose: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(code_of(&err), "NOT_LOANABLE");
    }
);

both_backends!(
    assets_keep_their_history_through_moves_repairs_and_retirement,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        let mut input = pc("NB-2026-0001");
        input.mac_address = Some("00-1a-2b-3c-4d-5e".into());
        input.ip_address = Some("１０．１．２．３".into());
        input.user_id = Some(fx.requester);
        input.org_unit_id = Some(fx.child_unit);
        let a = assets::create(db, &desk, input.clone()).await.unwrap();
        assert_eq!(a.mac_address.as_deref(), Some("00:1A:2B:3C:4D:5E"));
        assert_eq!(a.ip_address.as_deref(), Some("10.1.2.3"));
        // Same MAC on another device is refused; so is a bad one.
        let mut dup = pc("NB-2026-0002");
        dup.mac_address = Some("001A.2B3C.4D5E".into());
        assert_eq!(
            code_of(&assets::create(db, &desk, dup.clone()).await.unwrap_err()),
            "DUPLICATE"
        );
        dup.mac_address = Some("00:1A:2B".into());
        dup.ip_address = Some("999.1.1.1".into());
        match assets::create(db, &desk, dup).await.unwrap_err() {
            ServiceError::Invalid(errs) => {
                let codes: Vec<_> = errs.iter().map(|e| e.code).collect();
                assert_eq!(
                    codes,
                    vec!["INVALID_MAC", "INVALID_IP"],
                    "every problem at once"
                );
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(
            code_of(
                &assets::create(db, &desk, pc("NB-2026-0001"))
                    .await
                    .unwrap_err()
            ),
            "DUPLICATE"
        );
        // A mouse attached to the notebook.
        let mut mouse = pc("MS-0001");
        mouse.kind = Some(AssetKind::Peripheral);
        mouse.name = "マウス".into();
        mouse.parent_id = Some(a.id);
        let mouse = assets::create(db, &desk, mouse).await.unwrap();
        // 学校間移設: another school, another user.
        let mut moved = AssetInput::from(&a);
        moved.org_unit_id = Some(fx.unit);
        moved.location = Some("教育委員会 2階".into());
        moved.user_id = Some(fx.other_requester);
        let a = assets::update(db, &desk, a.id, moved, Some(a.version))
            .await
            .unwrap();
        assert_eq!(a.version, 2);
        assert_eq!(
            code_of(
                &assets::update(db, &desk, a.id, AssetInput::from(&a), Some(1))
                    .await
                    .unwrap_err()
            ),
            "CONFLICT"
        );
        // The requester who uses it now sees it; the one who used it before does not.
        let now_user = fx.actor(fx.other_requester, &[Role::Requester]);
        assert!(assets::get(db, &now_user, a.id).await.is_ok());
        assert!(matches!(
            assets::get(db, &fx.requester_actor(), a.id).await,
            Err(ServiceError::NotFound)
        ));
        assert!(
            matches!(
                assets::get(db, &t.fixture.edu.agent_actor(), a.id).await,
                Err(ServiceError::NotFound)
            ),
            "other tenant"
        );
        assert_eq!(
            code_of(
                &assets::update(db, &now_user, a.id, AssetInput::from(&a), None)
                    .await
                    .unwrap_err()
            ),
            "FORBIDDEN"
        );
        // Broken: a ticket, a spare swapped in, the damage report, the vendor.
        let ticket = service::tickets::create(
            db,
            &desk,
            service::tickets::NewTicket::new(entity::TicketKind::Incident, "画面割れ", "落下"),
        )
        .await
        .unwrap()
        .ticket;
        let mut spare = pc("NB-SPARE-01");
        spare.status = Some(AssetStatus::Spare);
        let spare = assets::create(db, &desk, spare).await.unwrap();
        let report = DamageReport {
            submitted_on: NaiveDate::from_ymd_opt(2026, 11, 30),
            submitted_by: "髙橋 ①課長".into(),
            circumstances: "机から落下し液晶が割れた".into(),
            hearing: None,
        };
        let r = repairs::open(
            db,
            &desk,
            NewRepair {
                asset_id: a.id,
                ticket_id: Some(ticket.id),
                fault: Some("液晶破損".into()),
                spare_asset_id: Some(spare.id),
                damage_report: Some(report.clone()),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            DamageReport::from_json(r.damage_report.as_ref().unwrap()),
            report,
            "the 損傷始末書 reads back as written"
        );
        let spare_now = assets::get(db, &desk, spare.id).await.unwrap();
        assert_eq!(
            (spare_now.status, spare_now.user_id),
            (AssetStatus::InUse, Some(fx.other_requester)),
            "the spare went to the user"
        );
        assert_eq!(
            assets::get(db, &desk, a.id).await.unwrap().status,
            AssetStatus::InRepair
        );
        assert_eq!(
            assets::of_ticket(db, &desk, ticket.id)
                .await
                .unwrap()
                .iter()
                .map(|x| x.id)
                .collect::<Vec<_>>(),
            vec![a.id]
        );
        assert_eq!(
            assets::tickets_of(db, &desk, a.id).await.unwrap()[0].id,
            ticket.id
        );
        let vendor_actor = fx.actor(fx.vendor_person, &[Role::Vendor]);
        assert!(
            assets::get(db, &vendor_actor, a.id).await.is_err(),
            "not dispatched yet"
        );
        repairs::dispatch(db, &desk, r.id, fx.vendor, Some("RMA-778".into()))
            .await
            .unwrap();
        assert!(
            assets::get(db, &vendor_actor, a.id).await.is_ok(),
            "the vendor sees what was dispatched to it"
        );
        assert!(assets::get(db, &vendor_actor, spare.id).await.is_err());
        repairs::receive_back(db, &desk, r.id, None).await.unwrap();
        assert!(
            assets::get(db, &vendor_actor, a.id).await.is_err(),
            "and no longer once it is back"
        );
        let closed = repairs::close(db, &desk, r.id, true, true).await.unwrap();
        assert!(closed.rekitted_at.is_some());
        let back = assets::get(db, &desk, a.id).await.unwrap();
        assert_eq!(
            (back.status, back.user_id),
            (AssetStatus::InUse, Some(fx.other_requester))
        );
        let spare_after = assets::get(db, &desk, spare.id).await.unwrap();
        assert_eq!(
            (spare_after.status, spare_after.user_id),
            (AssetStatus::Spare, None)
        );
        // A license seat on it is released when it is retired with its erasure evidence.
        let office = licenses::create(
            db,
            &desk,
            LicenseInput {
                code: "LIC-1".into(),
                product: "Microsoft Office".into(),
                seats: 2,
                ..LicenseInput::default()
            },
        )
        .await
        .unwrap();
        licenses::assign(db, &desk, office.id, Some(a.id), None, false)
            .await
            .unwrap();
        let photo = b"\x89PNG\r\n\x1a\n erased disk".to_vec();
        let retired = assets::retire(
            db,
            &desk,
            a.id,
            Retirement {
                reason: "リース満了".into(),
                erasure_method: Some("物理破壊".into()),
                erased_on: NaiveDate::from_ymd_opt(2026, 11, 30),
                certificate_number: Some("ER-0001".into()),
                evidence: vec![Evidence {
                    filename: "破壊写真.png".into(),
                    content_type: "image/png".into(),
                    data: photo.clone(),
                }],
            },
        )
        .await
        .unwrap();
        assert_eq!(retired.status, AssetStatus::Retired);
        assert!(
            licenses::assignments(db, &desk, Some(office.id), None, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            assets::get(db, &desk, mouse.id).await.unwrap().parent_id,
            None,
            "peripherals detached"
        );
        let events = assets::events(db, &desk, a.id, 100, None)
            .await
            .unwrap()
            .items;
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        for k in [
            "registered",
            "peripheral_attached",
            "moved",
            "assigned",
            "ticket_linked",
            "sent_to_repair",
            "spare_swapped_in",
            "damage_report_received",
            "dispatched_to_vendor",
            "returned_from_repair",
            "rekitted",
            "peripheral_detached",
            "retired",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        let retired_ev = events.iter().find(|e| e.kind == "retired").unwrap();
        let sha = retired_ev.payload["evidence"][0]["sha256"]
            .as_str()
            .unwrap();
        assert_eq!(
            service::mail::blob_data(db, sha).await.unwrap().unwrap(),
            photo,
            "the evidence is stored"
        );
        // History is append-only in the database itself.
        let raw = asset_event::Entity::delete_many()
            .filter(asset_event::Column::AssetId.eq(a.id))
            .exec(db)
            .await;
        assert!(raw.is_err(), "asset history cannot be deleted");
        // Lists: filtered by kind and status, keyset pages, text search by MAC in any notation.
        let page = assets::list(
            db,
            &desk,
            &AssetFilter {
                statuses: vec![AssetStatus::Spare],
                ..AssetFilter::default()
            },
            AssetOrderField::AssetTag,
            Direction::Asc,
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            page.items
                .iter()
                .map(|x| x.asset_tag.as_str())
                .collect::<Vec<_>>(),
            vec!["NB-SPARE-01"]
        );
        let by_mac = assets::list(
            db,
            &desk,
            &AssetFilter {
                text_contains: Some("001a2b3c4d5e".into()),
                ..AssetFilter::default()
            },
            AssetOrderField::AssetTag,
            Direction::Asc,
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(by_mac.items.len(), 1);
        let search = |text: &'static str| {
            let desk = desk.clone();
            async move {
                assets::list(
                    db,
                    &desk,
                    &AssetFilter {
                        text_contains: Some(text.into()),
                        ..AssetFilter::default()
                    },
                    AssetOrderField::AssetTag,
                    Direction::Asc,
                    10,
                    None,
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|a| a.asset_tag)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            search("nb-2026").await,
            vec!["NB-2026-0001"],
            "the start of a tag, in any case"
        );
        assert_eq!(
            search("ＮＢ－ＳＰＡＲＥ").await,
            vec!["NB-SPARE-01"],
            "typed in full width"
        );
        assert_eq!(
            search("10.1.").await,
            vec!["NB-2026-0001"],
            "the start of an IP address"
        );
        assert_eq!(
            search("マウス").await,
            vec!["MS-0001"],
            "Japanese words of the name"
        );
        assert!(
            search("2026-0001").await.is_empty(),
            "codes match from their start"
        );
        assert!(search("100%_").await.is_empty(), "wildcards are literal");
    }
);

both_backends!(
    licenses_are_counted_against_their_seats_and_alerted_before_expiry,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        let today = Utc::now()
            .with_timezone(&chrono_tz::Asia::Tokyo)
            .date_naive();
        let input = LicenseInput {
            code: "LIC-ACRO".into(),
            product: "Adobe Acrobat Pro".into(),
            seats: 1,
            contract_name: Some("令和8年度 運用保守業務委託".into()),
            main_contract: true,
            expires_on: today.checked_add_days(chrono::Days::new(45)),
            ..LicenseInput::default()
        };
        let l = licenses::create(db, &desk, input.clone()).await.unwrap();
        assert_eq!(
            code_of(&licenses::create(db, &desk, input).await.unwrap_err()),
            "DUPLICATE"
        );
        licenses::assign(db, &desk, l.id, None, Some(fx.requester), false)
            .await
            .unwrap();
        assert_eq!(
            code_of(
                &licenses::assign(db, &desk, l.id, None, Some(fx.requester), true)
                    .await
                    .unwrap_err()
            ),
            "ALREADY_ASSIGNED"
        );
        assert_eq!(
            code_of(
                &licenses::assign(db, &desk, l.id, None, Some(fx.other_requester), false)
                    .await
                    .unwrap_err()
            ),
            "NO_FREE_SEAT"
        );
        let over = licenses::assign(db, &desk, l.id, None, Some(fx.other_requester), true)
            .await
            .unwrap();
        let counts = licenses::assigned_counts(db, fx.id, &[l.id]).await.unwrap();
        let c = licenses::Compliance {
            seats: l.seats,
            assigned: counts[&l.id],
        };
        assert!(c.over_allocated() && c.available() == -1);
        licenses::release(db, &desk, over.id).await.unwrap();
        assert_eq!(
            licenses::assigned_counts(db, fx.id, &[l.id]).await.unwrap()[&l.id],
            1
        );
        // 45 days out: the 60-day alert, once; at 25 days the 30-day one, once.
        let sent = licenses::alert_expiring(db, Utc::now()).await.unwrap();
        assert_eq!(
            sent.iter().map(|(x, d)| (x.id, *d)).collect::<Vec<_>>(),
            vec![(l.id, 60)]
        );
        assert!(
            licenses::alert_expiring(db, Utc::now())
                .await
                .unwrap()
                .is_empty()
        );
        let sent = licenses::alert_expiring(db, Utc::now() + Duration::days(20))
            .await
            .unwrap();
        assert_eq!(
            sent.iter().map(|(x, d)| (x.id, *d)).collect::<Vec<_>>(),
            vec![(l.id, 30)]
        );
        let mails = mail_outbound::Entity::find()
            .filter(mail_outbound::Column::Kind.eq("license_expiry"))
            .all(db)
            .await
            .unwrap();
        // Supervisor and admin, twice.
        assert_eq!(
            mails.len(),
            4,
            "{:?}",
            mails.iter().map(|m| &m.to_address).collect::<Vec<_>>()
        );
        assert!(
            mails
                .iter()
                .all(|m| m.subject.contains("Adobe Acrobat Pro"))
        );
        assert_eq!(
            code_of(
                &licenses::get(db, &fx.requester_actor(), l.id)
                    .await
                    .unwrap_err()
            ),
            "FORBIDDEN"
        );
    }
);

both_backends!(
    orders_deliveries_and_invoices_are_matched,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        let mut black = ItemInput::new("TN-K", "トナー 黒", ConsumableCategory::Toner);
        black.unit_price = 4800;
        black.reorder_point = 5;
        black.reorder_quantity = 10;
        black.models = vec!["MF-4500".into(), "MF-4600".into()];
        let black = stock::create_item(db, &desk, black).await.unwrap();
        let mut cyan = ItemInput::new("TN-C", "トナー シアン", ConsumableCategory::Toner);
        cyan.unit_price = 6200;
        cyan.reorder_point = 2;
        cyan.reorder_quantity = 4;
        let cyan = stock::create_item(db, &desk, cyan).await.unwrap();
        let fits = stock::items(
            db,
            &fx.requester_actor(),
            &stock::ItemFilter {
                fits_model: Some("MF-4600".into()),
                ..Default::default()
            },
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            fits.items
                .iter()
                .map(|i| i.code.as_str())
                .collect::<Vec<_>>(),
            vec!["TN-K"]
        );
        // Nothing in stock: both are suggested for reorder.
        let s = stock::reorder_suggestions(db, &desk).await.unwrap();
        assert_eq!(
            s.iter()
                .map(|s| (s.item.code.as_str(), s.suggested))
                .collect::<Vec<_>>(),
            vec![("TN-K", 10), ("TN-C", 4)]
        );
        let po = stock::place_order(
            db,
            &desk,
            "㈱事務機販売",
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            vec![
                PriceLine {
                    item_id: black.id,
                    quantity: 10,
                    unit_price: 4800,
                },
                PriceLine {
                    item_id: cyan.id,
                    quantity: 4,
                    unit_price: 6200,
                },
            ],
            None,
        )
        .await
        .unwrap();
        assert!(po.number.starts_with("PO-2026-"));
        // On order counts: no suggestion while the order is open.
        assert!(
            stock::reorder_suggestions(db, &desk)
                .await
                .unwrap()
                .is_empty()
        );
        let slip = |lines| {
            stock::record_delivery(
                db,
                &desk,
                po.id,
                "DN-001",
                NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
                "本庁舎3階 倉庫",
                lines,
            )
        };
        let d = slip(vec![
            DeliveryLine {
                item_id: black.id,
                quantity: 10,
            },
            DeliveryLine {
                item_id: cyan.id,
                quantity: 3,
            },
        ])
        .await
        .unwrap();
        let again = slip(vec![DeliveryLine {
            item_id: black.id,
            quantity: 10,
        }])
        .await
        .unwrap();
        assert_eq!(again.id, d.id, "the same slip is received once");
        let level = stock_level::Entity::find_by_id((black.id, "本庁舎3階 倉庫".to_owned()))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(level.quantity, 10);
        assert_eq!(
            stock::order(db, &desk, po.id).await.unwrap().status,
            PurchaseOrderStatus::PartiallyDelivered
        );
        // The invoice bills 4 cyan at a higher price: two discrepancies.
        let inv = stock::record_invoice(
            db,
            &desk,
            po.id,
            "INV-9",
            NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            vec![
                PriceLine {
                    item_id: black.id,
                    quantity: 10,
                    unit_price: 4800,
                },
                PriceLine {
                    item_id: cyan.id,
                    quantity: 4,
                    unit_price: 6500,
                },
            ],
        )
        .await
        .unwrap();
        assert_eq!(inv.match_status, InvoiceMatch::Discrepancy);
        assert_eq!(inv.total, 10 * 4800 + 4 * 6500);
        let fields: Vec<&str> = inv
            .discrepancies
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec!["quantity", "unit_price"]);
        stock::record_delivery(
            db,
            &desk,
            po.id,
            "DN-002",
            NaiveDate::from_ymd_opt(2026, 12, 12).unwrap(),
            "本庁舎3階 倉庫",
            vec![DeliveryLine {
                item_id: cyan.id,
                quantity: 1,
            }],
        )
        .await
        .unwrap();
        assert_eq!(
            stock::order(db, &desk, po.id).await.unwrap().status,
            PurchaseOrderStatus::Delivered
        );
        let ok = stock::record_invoice(
            db,
            &desk,
            po.id,
            "INV-10",
            NaiveDate::from_ymd_opt(2026, 12, 15).unwrap(),
            vec![
                PriceLine {
                    item_id: black.id,
                    quantity: 10,
                    unit_price: 4800,
                },
                PriceLine {
                    item_id: cyan.id,
                    quantity: 4,
                    unit_price: 6200,
                },
            ],
        )
        .await
        .unwrap();
        assert_eq!(ok.match_status, InvoiceMatch::Matched);
        assert_eq!(
            stock::order(db, &desk, po.id).await.unwrap().status,
            PurchaseOrderStatus::Closed
        );
        // Issuing below the reorder point brings the suggestion back.
        stock::record_movement(
            db,
            &desk,
            NewMovement {
                item_id: black.id,
                location: "本庁舎3階 倉庫".into(),
                kind: MovementKind::Issue,
                quantity: 6,
                refs: MovementRefs::default(),
            },
        )
        .await
        .unwrap();
        let s = stock::reorder_suggestions(db, &desk).await.unwrap();
        assert_eq!(
            s.iter()
                .map(|s| (s.item.code.as_str(), s.on_hand))
                .collect::<Vec<_>>(),
            vec![("TN-K", 4)]
        );
        // Used toner is collected without touching stock.
        let used = stock::record_movement(
            db,
            &desk,
            NewMovement {
                item_id: black.id,
                location: "本庁舎3階 倉庫".into(),
                kind: MovementKind::CollectUsed,
                quantity: 3,
                refs: MovementRefs::default(),
            },
        )
        .await
        .unwrap();
        assert_eq!((used.delta, used.balance_after), (0, 4));
    }
);

/// A 10,000-row asset ledger as Excel saves it (Shift_JIS, CRLF) with 20 bad rows at known lines.
fn big_ledger(slug: &str) -> (Vec<u8>, Vec<u64>) {
    let mut out = String::from(
        "資産番号,種別,品名,メーカー,型番,製造番号,コンピュータ名,IPアドレス,MACアドレス,所属,設置場所,利用者,状態,リース開始日,リース終了日,備考\r\n",
    );
    let mut bad = Vec::new();
    for i in 0..10_000u32 {
        let line = u64::from(i) + 2;
        let mut tag = format!("NB-{i:06}");
        let mut kind = "ノートブックパソコン".to_owned();
        let mut name = format!("業務用ノートPC {}号機", i + 1);
        let mut ip = format!("10.{}.{}.{}", 20 + i / 65_536, (i / 256) % 256, i % 256);
        let mut mac = format!(
            "02:00:00:{:02X}:{:02X}:{:02X}",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        );
        let mut unit = if i % 2 == 0 {
            "school-1"
        } else {
            "教育委員会"
        }
        .to_owned();
        let mut user = format!("requester@{slug}.example.jp");
        let mut start = "令和6年4月1日".to_owned();
        let mut status = if i % 10 == 0 { "予備" } else { "使用中" }.to_owned();
        if i % 500 == 7 {
            bad.push(line);
            match (i / 500) % 10 {
                0 => mac = "02:00:00:ZZ:00:01".into(),
                1 => ip = "10.0.0.256".into(),
                2 => kind = "冷蔵庫".into(),
                3 => unit = "存在しない課".into(),
                4 => start = "令和6年13月1日".into(),
                5 => name = String::new(),
                6 => tag = "NB-000000".into(),
                7 => mac = "02:00:00:00:00:00".into(),
                8 => user = "nobody@example.jp".into(),
                _ => status = "紛失".into(),
            }
        }
        out.push_str(&format!(
            "{tag},{kind},{name},㈱富士通,FMV-A{},SN{i:08},PC{i:05},{ip},{mac},{unit},髙田馬場 ①倉庫,{user},{status},{start},2029/3/31,\"備考～{i}\"\r\n",
            i % 7
        ));
    }
    let (bytes, lost) = sheets::encode_sjis(&out);
    assert_eq!(lost, 0);
    (bytes, bad)
}

both_backends!(
    a_10000_row_shift_jis_ledger_imports_all_but_its_20_bad_rows,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        let (file, bad) = big_ledger(&fx.slug);
        assert_eq!(bad.len(), 20);
        let count = || async {
            asset::Entity::find()
                .filter(asset::Column::TenantId.eq(fx.id))
                .count(db)
                .await
                .unwrap()
        };
        // Strict: nothing is written, every bad row is reported.
        let strict = sheets::import(
            db,
            &desk,
            Ledger::Assets,
            &file,
            ImportOptions {
                strict: true,
                dry_run: false,
            },
            &no_progress(),
        )
        .await
        .unwrap();
        assert_eq!(strict.encoding, "Shift_JIS");
        assert_eq!(strict.error_lines(), bad);
        assert!(!strict.applied);
        assert_eq!(count().await, 0);
        // Dry run: the same report, nothing written.
        let dry = sheets::import(
            db,
            &desk,
            Ledger::Assets,
            &file,
            ImportOptions {
                dry_run: true,
                strict: false,
            },
            &no_progress(),
        )
        .await
        .unwrap();
        assert_eq!(
            (dry.created, dry.error_lines().len(), dry.applied),
            (9_980, 20, false)
        );
        assert_eq!(count().await, 0);
        // For real: the rest goes in.
        let progress = std::sync::Mutex::new(Vec::new());
        let r = sheets::import(
            db,
            &desk,
            Ledger::Assets,
            &file,
            ImportOptions::default(),
            &|done, total| progress.lock().unwrap().push((done, total)),
        )
        .await
        .unwrap();
        assert_eq!(
            (r.rows, r.created, r.updated, r.unchanged),
            (10_000, 9_980, 0, 0)
        );
        assert_eq!(r.error_lines(), bad);
        assert!(r.applied);
        assert_eq!(count().await, 9_980);
        let p = progress.into_inner().unwrap();
        assert_eq!(
            p.last().map(|(d, t)| d == t),
            Some(true),
            "progress ends at 100%"
        );
        // Each error names its line and the column as the file has it.
        let first = &r.errors[0];
        assert_eq!(
            (first.line, first.column.as_str(), first.code),
            (9, "MACアドレス", "INVALID_MAC")
        );
        let by_code: Vec<(&str, &str)> = r
            .errors
            .iter()
            .map(|e| (e.column.as_str(), e.code))
            .collect();
        for expected in [
            ("IPアドレス", "INVALID_IP"),
            ("種別", "INVALID_VALUE"),
            ("所属", "UNKNOWN_REFERENCE"),
            ("リース開始日", "INVALID_DATE"),
            ("品名", "REQUIRED"),
            ("資産番号", "DUPLICATE"),
            ("MACアドレス", "DUPLICATE"),
            ("利用者", "UNKNOWN_REFERENCE"),
            ("状態", "INVALID_VALUE"),
        ] {
            assert!(by_code.contains(&expected), "{expected:?} in {by_code:?}");
        }
        // Japanese survives: 髙, ①, ～, ㈱, 和暦.
        let a = assets::get_by_tag(db, &desk, "NB-000001").await.unwrap();
        assert_eq!(a.location.as_deref(), Some("髙田馬場 ①倉庫"));
        assert_eq!(a.maker.as_deref(), Some("㈱富士通"));
        assert_eq!(a.notes.as_deref(), Some("備考～1"));
        assert_eq!(a.lease_start, NaiveDate::from_ymd_opt(2024, 4, 1));
        assert_eq!(a.status, AssetStatus::InUse);
        assert_eq!(
            assets::get_by_tag(db, &desk, "NB-000010")
                .await
                .unwrap()
                .status,
            AssetStatus::Spare
        );
        // Importing the same file again changes nothing.
        let again = sheets::import(
            db,
            &desk,
            Ledger::Assets,
            &file,
            ImportOptions::default(),
            &no_progress(),
        )
        .await
        .unwrap();
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (0, 0, 9_980)
        );
        assert_eq!(count().await, 9_980);
        let events = asset_event::Entity::find()
            .filter(asset_event::Column::TenantId.eq(fx.id))
            .count(db)
            .await
            .unwrap();
        assert_eq!(
            events, 9_980,
            "one registration each, nothing for the unchanged re-import"
        );
    }
);

both_backends!(
    ledgers_round_trip_through_csv_and_xlsx,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let (city, edu) = (&t.fixture.city, &t.fixture.edu);
        let desk = city.agent_actor();
        let db = &t.db.write;
        let mut a = pc("NB-髙-001");
        a.name = "①号機 ～予備～".into();
        a.maker = Some("㈱日本電気".into());
        a.mac_address = Some("AA:BB:CC:00:11:22".into());
        a.lease_start = NaiveDate::from_ymd_opt(2024, 4, 1);
        a.loanable = true;
        a.org_unit_id = Some(city.child_unit);
        let terminal = assets::create(db, &desk, a).await.unwrap();
        let mut m = pc("MON-001");
        m.kind = Some(AssetKind::Peripheral);
        m.name = "モニター 23.8型".into();
        m.parent_id = Some(terminal.id);
        assets::create(db, &desk, m).await.unwrap();
        licenses::create(
            db,
            &desk,
            LicenseInput {
                code: "L-1".into(),
                product: "ウイルス対策ソフト".into(),
                seats: 1250,
                main_contract: true,
                ..LicenseInput::default()
            },
        )
        .await
        .unwrap();
        let mut usb = ItemInput::new("USB-1", "セキュリティUSB 32GB", ConsumableCategory::Usb);
        usb.unit_price = 9800;
        usb.models = vec!["全機種".into()];
        stock::create_item(db, &desk, usb).await.unwrap();
        for ledger in [Ledger::Assets, Ledger::Licenses, Ledger::Consumables] {
            let table = sheets::table(db, &desk, ledger).await.unwrap();
            for enc in [CsvEncoding::ShiftJis, CsvEncoding::Utf8Bom] {
                let (bytes, lost) = table.to_csv(enc);
                assert_eq!(lost, 0);
                // Back into the same tenant: nothing changes.
                let same = sheets::import(
                    db,
                    &desk,
                    ledger,
                    &bytes,
                    ImportOptions::default(),
                    &no_progress(),
                )
                .await
                .unwrap();
                assert!(
                    same.errors.is_empty(),
                    "{ledger:?} {enc:?}: {:?}",
                    same.errors
                );
                assert_eq!((same.created, same.updated), (0, 0), "{ledger:?} {enc:?}");
                assert!(same.unchanged > 0);
            }
            // Into the other tenant (the same org-unit codes exist there): created, and exported alike.
            let (bytes, _) = table.to_csv(CsvEncoding::ShiftJis);
            let other = edu.agent_actor();
            let r = sheets::import(
                db,
                &other,
                ledger,
                &bytes,
                ImportOptions::default(),
                &no_progress(),
            )
            .await
            .unwrap();
            assert!(r.errors.is_empty(), "{:?}", r.errors);
            let copy = sheets::table(db, &other, ledger).await.unwrap();
            assert_eq!(copy.rows, table.rows, "{ledger:?}");
            let xlsx = table.to_xlsx().unwrap();
            assert_eq!(&xlsx[..2], b"PK", "a zip container");
            assert!(xlsx.len() > 2000);
        }
        let csv = sheets::table(db, &desk, Ledger::Assets)
            .await
            .unwrap()
            .to_csv(CsvEncoding::Utf8Bom)
            .0;
        let text = String::from_utf8(csv[3..].to_vec()).unwrap();
        assert!(text.starts_with("資産番号,種別,品名"));
        assert!(text.contains("NB-髙-001,ノートPC,①号機 ～予備～,㈱日本電気"));
        assert!(
            text.contains("MON-001,周辺機器,モニター 23.8型") && text.contains(",NB-髙-001,"),
            "the peripheral names its terminal"
        );
        assert!(text.contains("2024/04/01") && text.contains("\r\n"));
        assert!(matches!(
            sheets::table(db, &city.requester_actor(), Ledger::Assets).await,
            Err(ServiceError::Forbidden(_))
        ));
        // The MAC list for RADIUS registration: the user-name form and the readable one.
        let radius = sheets::table(db, &desk, Ledger::RadiusMacs).await.unwrap();
        assert_eq!(radius.rows.len(), 1, "only devices with a MAC");
        let (bytes, _) = radius.to_csv(CsvEncoding::Utf8Bom);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(
            text.contains("aabbcc001122,AA:BB:CC:00:11:22,,NB-髙-001,school-1,使用中"),
            "{text}"
        );
        let refused = sheets::import(
            db,
            &desk,
            Ledger::RadiusMacs,
            text.as_bytes(),
            ImportOptions::default(),
            &no_progress(),
        )
        .await;
        assert_eq!(code_of(&refused.unwrap_err()), "EXPORT_ONLY");
    }
);

both_backends!(
    a_peripheral_whose_terminal_row_is_refused_is_reported_not_dropped,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        let file = "資産番号,種別,品名,MACアドレス,接続先資産番号\n\
                NB-1,ノートPC,端末,00:11:22:33:44:ZZ,\n\
                MS-1,周辺機器,マウス,,NB-1\n\
                NB-2,ノートPC,端末,,\n\
                MS-2,周辺機器,マウス,,NB-2\n\
                MS-3,周辺機器,ケーブル,,MS-2\n";
        let r = sheets::import(
            db,
            &desk,
            Ledger::Assets,
            file.as_bytes(),
            ImportOptions::default(),
            &no_progress(),
        )
        .await
        .unwrap();
        let errors: Vec<(u64, &str, &str)> = r
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str(), e.code))
            .collect();
        assert_eq!(
            errors,
            vec![
                (2, "MACアドレス", "INVALID_MAC"),
                (3, "接続先資産番号", "PARENT_REFUSED"),
                (6, "接続先資産番号", "INVALID_VALUE")
            ],
            "every refused row is reported"
        );
        assert_eq!(r.created, 2, "NB-2 and MS-2");
        assert!(assets::get_by_tag(db, &desk, "MS-1").await.is_err());
        assert_eq!(
            assets::get_by_tag(db, &desk, "MS-2")
                .await
                .unwrap()
                .parent_id,
            Some(assets::get_by_tag(db, &desk, "NB-2").await.unwrap().id)
        );
    }
);
