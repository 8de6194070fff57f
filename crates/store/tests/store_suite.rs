//! One suite, run against SQLite by default and against PostgreSQL when
//! `HEARTH_TEST_DATABASE_URL` names one (CI runs both).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::outbox::{NewOutboxMessage, OutboxChannel, OutboxStatus};
use hearth_core::Timestamp;
use hearth_store::testkit::{test_db, TestDb};
use hearth_store::*;

fn account(id: &str, email: &str) -> NewAccount {
    NewAccount {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$stub".into(),
        recovery_phone: None,
        locale: "en".into(),
        role: Role::Member,
        created_at: Timestamp(1_000),
    }
}

fn session(id: &str, account: &str, token: u8, now: i64) -> NewSession {
    NewSession {
        id: id.into(),
        account_id: account.into(),
        token_hash: vec![token; 32],
        device_id: format!("dev-{id}"),
        device_type: "tv".into(),
        name: format!("TV {id}"),
        ip: "203.0.113.7".into(),
        user_agent: Some("Hearth-Test/1".into()),
        location: Some("Lisbon, PT".into()),
        device_key_hash: Some(vec![token; 16]),
        audit: None,
        now: Timestamp(now),
    }
}

#[tokio::test]
async fn accounts_are_unique_by_email_and_updatable() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    let a = s
        .create_account(&account("a1", "owner@example.com"))
        .await
        .unwrap();
    assert_eq!(a.email, "owner@example.com");
    assert!(!a.must_change_password);
    let dup = s.create_account(&account("a2", "owner@example.com")).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("account"))),
        "{dup:?}"
    );

    s.set_password("a1", "$argon2id$new", Timestamp(2_000), true)
        .await
        .unwrap();
    s.set_recovery_phone("a1", Some("+351912345678"))
        .await
        .unwrap();
    let a = s
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.password_hash, "$argon2id$new");
    assert_eq!(a.password_changed_at, Timestamp(2_000));
    assert!(a.must_change_password);
    assert_eq!(a.recovery_phone.as_deref(), Some("+351912345678"));
    s.set_recovery_phone("a1", None).await.unwrap();
    assert_eq!(
        s.account_by_id("a1").await.unwrap().unwrap().recovery_phone,
        None
    );
    assert!(s.account_by_id("nobody").await.unwrap().is_none());
    assert!(matches!(
        s.set_password("nobody", "x", Timestamp(1), false).await,
        Err(StoreError::NotFound(_))
    ));

    s.flag_account("a1", "this_wasnt_me", Timestamp(3_000))
        .await
        .unwrap();
    let flagged = s.flagged_accounts(10).await.unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].flagged_reason.as_deref(), Some("this_wasnt_me"));
    assert_eq!(s.count_accounts().await.unwrap(), 1);
    db.cleanup().await;
}

#[tokio::test]
async fn sessions_list_rename_and_sign_out() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.create_account(&account("a1", "o@example.com"))
        .await
        .unwrap();
    s.create_account(&account("a2", "p@example.com"))
        .await
        .unwrap();
    s.create_session(&session("s1", "a1", 1, 10)).await.unwrap();
    s.create_session(&session("s2", "a1", 2, 20)).await.unwrap();
    s.create_session(&session("s3", "a1", 3, 30)).await.unwrap();
    s.create_session(&session("t1", "a2", 4, 30)).await.unwrap();

    let found = s.session_by_token(&[2; 32]).await.unwrap().unwrap();
    assert_eq!(found.id, "s2");
    s.touch_session("s1", "198.51.100.1", Timestamp(40))
        .await
        .unwrap();
    let list = s.list_sessions("a1").await.unwrap();
    assert_eq!(
        list.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        ["s1", "s3", "s2"]
    );
    assert_eq!(list[0].ip, "198.51.100.1");

    assert!(s.rename_session("a1", "s1", "Living room").await.unwrap());
    assert!(!s.rename_session("a2", "s1", "Not yours").await.unwrap());
    assert_eq!(
        s.session("a1", "s1").await.unwrap().unwrap().name,
        "Living room"
    );

    assert!(s
        .revoke_session("a1", "s2", "owner", Timestamp(50))
        .await
        .unwrap());
    assert!(!s
        .revoke_session("a1", "s2", "owner", Timestamp(51))
        .await
        .unwrap());
    assert!(s.session_by_token(&[2; 32]).await.unwrap().is_none());
    assert!(s.device_known("a1", "dev-s2").await.unwrap());
    assert!(
        s.device_key_known("a1", &[2; 16]).await.unwrap(),
        "signed out, still known"
    );
    assert!(
        !s.device_key_known("a2", &[2; 16]).await.unwrap(),
        "another account's key"
    );

    let n = s
        .revoke_all_sessions("a1", Some("s1"), "password_changed", Timestamp(60))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(s.list_sessions("a1").await.unwrap().len(), 1);
    assert_eq!(
        s.revoke_all_sessions("a1", None, "all", Timestamp(61))
            .await
            .unwrap(),
        1
    );
    assert!(s.list_sessions("a1").await.unwrap().is_empty());
    // The other account is untouched.
    assert_eq!(s.list_sessions("a2").await.unwrap().len(), 1);
    db.cleanup().await;
}

#[tokio::test]
async fn a_session_and_its_audit_record_commit_together() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.create_account(&account("a1", "o@example.com"))
        .await
        .unwrap();
    let with_audit = |id: &str, token: u8| NewSession {
        audit: Some(NewAudit {
            account_id: Some("a1".into()),
            at: Timestamp(10),
            kind: "sign_in_succeeded".into(),
            ip: Some("203.0.113.7".into()),
            device_id: Some(format!("dev-{id}")),
            detail: format!(r#"{{"session":"{id}"}}"#),
        }),
        ..session(id, "a1", token, 10)
    };
    s.create_session(&with_audit("s1", 1)).await.unwrap();
    let log = s.audit_for_account("a1", 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].kind, "sign_in_succeeded");
    assert_eq!(log[0].detail["session"], "s1");

    // A session refused (its id is taken) leaves no audit record behind.
    let refused = s.create_session(&with_audit("s1", 2)).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(s.audit_for_account("a1", 10).await.unwrap().len(), 1);
    assert!(s.session_by_token(&[2; 32]).await.unwrap().is_none());
    db.cleanup().await;
}

#[tokio::test]
async fn idle_sessions_are_signed_out() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.create_account(&account("a1", "o@example.com"))
        .await
        .unwrap();
    s.create_session(&session("old", "a1", 1, 100))
        .await
        .unwrap();
    s.create_session(&session("new", "a1", 2, 900))
        .await
        .unwrap();
    let gone = s
        .revoke_idle_sessions(Timestamp(500), Timestamp(1_000))
        .await
        .unwrap();
    assert_eq!(gone, vec![("a1".to_owned(), "old".to_owned())]);
    let left = s.list_sessions("a1").await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, "new");
    db.cleanup().await;
}

#[tokio::test]
async fn counters_count_within_a_window_and_reset() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    for i in 1..=3 {
        let c = s
            .bump_counter("acct:x", Timestamp(i * 10), 1_000)
            .await
            .unwrap();
        assert_eq!(c.count, i as u32);
        assert_eq!(c.first_at, Timestamp(10));
    }
    // After a quiet window the count starts again.
    let c = s
        .bump_counter("acct:x", Timestamp(2_000), 1_000)
        .await
        .unwrap();
    assert_eq!((c.count, c.first_at), (1, Timestamp(2_000)));
    assert_eq!(s.counter("acct:x").await.unwrap().count, 1);
    s.clear_counter("acct:x").await.unwrap();
    assert_eq!(s.counter("acct:x").await.unwrap().count, 0);
    db.cleanup().await;
}

#[tokio::test]
async fn audit_is_append_only_and_searchable() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    for (i, kind) in ["sign_in_failed", "sign_in_succeeded", "password_changed"]
        .iter()
        .enumerate()
    {
        s.append_audit(&NewAudit {
            account_id: Some("a1".into()),
            at: Timestamp(i as i64),
            kind: (*kind).into(),
            ip: Some("203.0.113.7".into()),
            device_id: None,
            detail: r#"{"n":1}"#.into(),
        })
        .await
        .unwrap();
    }
    let all = s.audit_for_account("a1", 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].kind, "password_changed", "newest first");
    assert_eq!(all[0].detail["n"], 1);
    let q = AuditQuery {
        kind: Some("sign_in_failed".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.search_audit(&q).await.unwrap().len(), 1);
    let page = AuditQuery {
        before_id: Some(all[0].id),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        s.search_audit(&page).await.unwrap()[0].kind,
        "sign_in_succeeded"
    );

    // The database itself refuses to rewrite history.
    let sql = "DELETE FROM audit";
    let refused = match db.store.backend() {
        "sqlite" => {
            let st = SqliteStore::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(st.pool()).await.is_err()
        }
        _ => {
            let st = PgStore::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(st.pool()).await.is_err()
        }
    };
    assert!(refused);
    db.cleanup().await;
}

#[tokio::test]
async fn engine_state_uses_optimistic_concurrency() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    assert!(s.engine_state("a1").await.unwrap().is_none());
    assert!(s
        .put_engine_state("a1", 0, "{\"v\":1}", Timestamp(1))
        .await
        .unwrap());
    assert!(
        !s.put_engine_state("a1", 0, "{\"v\":1}", Timestamp(1))
            .await
            .unwrap(),
        "second insert loses"
    );
    let st = s.engine_state("a1").await.unwrap().unwrap();
    assert_eq!(st.version, 1);
    assert!(s
        .put_engine_state("a1", 1, "{\"v\":2}", Timestamp(2))
        .await
        .unwrap());
    assert!(
        !s.put_engine_state("a1", 1, "{\"v\":3}", Timestamp(3))
            .await
            .unwrap(),
        "stale writer loses"
    );
    assert_eq!(
        s.engine_state("a1").await.unwrap().unwrap().state,
        "{\"v\":2}"
    );
    db.cleanup().await;
}

fn write(account: &str, expected: i64, state: &str) -> StateWrite {
    StateWrite {
        account: account.into(),
        expected,
        state: state.into(),
        effects: None,
    }
}

fn with_effects(mut w: StateWrite, id: &str, body: &str) -> StateWrite {
    w.effects = Some(PendingEffects {
        id: id.into(),
        account: w.account.clone(),
        body: body.into(),
    });
    w
}

#[tokio::test]
async fn effects_commit_with_their_state_and_wait_their_turn() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    assert!(s
        .put_engine_state("lost", 0, "elsewhere", Timestamp(1))
        .await
        .unwrap());
    let lost = s
        .commit_engine_states(
            &[
                with_effects(write("won", 0, "w1"), "f-won", "[1]"),
                // Expected version 0 but another writer made one: neither the state
                // nor its effects are written.
                with_effects(write("lost", 0, "l1"), "f-lost", "[2]"),
            ],
            Timestamp(1_000),
        )
        .await
        .unwrap();
    assert_eq!(lost, vec!["lost".to_owned()]);
    let grace = hearth_store::EFFECTS_GRACE_MS;
    assert_eq!(s.effects_backlog(Timestamp(1_000)).await.unwrap(), (1, 0));
    assert_eq!(
        s.effects_backlog(Timestamp(1_000 + grace)).await.unwrap(),
        (1, 1)
    );

    // Not claimable while the committing node has its grace period.
    assert!(s
        .claim_effects(Timestamp(1_000 + grace - 1), 10)
        .await
        .unwrap()
        .is_empty());
    let claimed = s.claim_effects(Timestamp(1_000 + grace), 10).await.unwrap();
    assert_eq!(
        claimed,
        vec![PendingEffects {
            id: "f-won".into(),
            account: "won".into(),
            body: "[1]".into()
        }]
    );
    // A claim holds them for another grace period, then they are due again.
    assert!(s
        .claim_effects(Timestamp(1_000 + 2 * grace - 1), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.claim_effects(Timestamp(1_000 + 2 * grace), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.forget_effects(&["f-won".into(), "f-none".into()])
            .await
            .unwrap(),
        1
    );
    assert!(s
        .claim_effects(Timestamp(i64::MAX / 2), 10)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}

#[tokio::test]
async fn engine_batches_commit_the_winners() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    let lost = s
        .commit_engine_states(&[write("b", 0, "b1"), write("a", 0, "a1")], Timestamp(10))
        .await
        .unwrap();
    assert!(lost.is_empty(), "{lost:?}");
    let mut states = s
        .engine_states(&["a".into(), "b".into(), "none".into()])
        .await
        .unwrap();
    states.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(states.len(), 2, "an account without state is left out");
    assert_eq!((states[0].1.version, states[0].1.state.as_str()), (1, "a1"));
    assert_eq!((states[1].1.version, states[1].1.state.as_str()), (1, "b1"));

    // "a" moved on under another writer: its write is refused, while "b" in the
    // same batch commits.
    assert!(s
        .put_engine_state("a", 1, "a2-elsewhere", Timestamp(11))
        .await
        .unwrap());
    let lost = s
        .commit_engine_states(&[write("a", 1, "a2"), write("b", 1, "b2")], Timestamp(20))
        .await
        .unwrap();
    assert_eq!(lost, vec!["a".to_owned()]);
    assert_eq!(
        s.engine_state("a").await.unwrap().unwrap().state,
        "a2-elsewhere"
    );
    let b = s.engine_state("b").await.unwrap().unwrap();
    assert_eq!((b.version, b.state.as_str()), (2, "b2"));
    // Nothing is written to the old table of applied ids.
    assert!(!s.any_applied_events().await.unwrap());
    db.cleanup().await;
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_commits_every_winner() {
    // More accounts and ids than one statement binds: the store splits the batch and
    // still reports exactly the account another writer had changed.
    let db = test_db().await.unwrap();
    let s = &db.store;
    let n = 4_500;
    let first: Vec<StateWrite> = (0..n)
        .map(|i| write(&format!("acct-{i:05}"), 0, "s1"))
        .collect();
    assert!(s
        .commit_engine_states(&first, Timestamp(1))
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .put_engine_state("acct-04242", 1, "elsewhere", Timestamp(2))
        .await
        .unwrap());
    let second: Vec<StateWrite> = (0..n)
        .map(|i| write(&format!("acct-{i:05}"), 1, "s2"))
        .collect();
    let lost = s.commit_engine_states(&second, Timestamp(3)).await.unwrap();
    assert_eq!(lost, vec!["acct-04242".to_owned()]);
    let accounts: Vec<String> = (0..n).map(|i| format!("acct-{i:05}")).collect();
    let states = s.engine_states(&accounts).await.unwrap();
    assert_eq!(states.len(), n);
    for (account, st) in &states {
        let want = if account == "acct-04242" {
            (2, "elsewhere")
        } else {
            (2, "s2")
        };
        assert_eq!((st.version, st.state.as_str()), want, "{account}");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_batch_that_fails_is_rolled_back_whole() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.commit_engine_states(
        &[with_effects(write("a", 0, "a1"), "f-1", "[]")],
        Timestamp(1),
    )
    .await
    .unwrap();
    // A row of effects whose id is taken fails the commit: the batch, including the
    // other account's write, is rolled back.
    let r = s
        .commit_engine_states(
            &[
                write("c", 0, "c1"),
                with_effects(write("a", 1, "a2"), "f-1", "[]"),
            ],
            Timestamp(2),
        )
        .await;
    assert!(r.is_err(), "{r:?}");
    assert!(s.engine_state("c").await.unwrap().is_none());
    let a = s.engine_state("a").await.unwrap().unwrap();
    assert_eq!((a.version, a.state.as_str()), (1, "a1"));
    // Nothing of the failed batch lingers on a pooled connection: later commits,
    // whatever connection they get, are seen by every other.
    for i in 0..20 {
        let account = format!("later-{i}");
        let lost = s
            .commit_engine_states(&[write(&account, 0, "l1")], Timestamp(3))
            .await
            .unwrap();
        assert!(lost.is_empty());
        assert_eq!(s.engine_state(&account).await.unwrap().unwrap().state, "l1");
    }
    db.cleanup().await;
}

fn mail(to: &str, key: Option<&str>) -> NewOutboxMessage {
    NewOutboxMessage {
        channel: OutboxChannel::Email,
        to: to.into(),
        subject: Some("Your code".into()),
        body_text: "123456".into(),
        body_html: None,
        purpose: "device_verification".into(),
        dedupe_key: key.map(str::to_owned),
    }
}

#[tokio::test]
async fn outbox_claims_leases_retries_and_dead_letters() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    let a = s
        .enqueue(&mail("a@example.com", Some("k1")), Timestamp(100))
        .await
        .unwrap();
    let again = s
        .enqueue(&mail("a@example.com", Some("k1")), Timestamp(101))
        .await
        .unwrap();
    assert_eq!(a, again, "same dedupe key, same message");
    let b = s
        .enqueue(&mail("b@example.com", None), Timestamp(100))
        .await
        .unwrap();
    assert_eq!(s.outbox_backlog().await.unwrap(), 2);

    let claimed = s
        .claim_outbox(Timestamp(100), Timestamp(200), 10)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a, b]);
    assert!(claimed.iter().all(|m| m.status == OutboxStatus::Sending));
    // Leased: nobody else gets them before the lease ends.
    assert!(s
        .claim_outbox(Timestamp(150), Timestamp(250), 10)
        .await
        .unwrap()
        .is_empty());

    s.outbox_sent(a, Timestamp(160)).await.unwrap();
    s.outbox_retry(b, 1, Timestamp(300), "421 try later")
        .await
        .unwrap();
    assert!(s
        .claim_outbox(Timestamp(299), Timestamp(400), 10)
        .await
        .unwrap()
        .is_empty());
    // A worker that dies mid-send leaves a lease that expires: the message comes back.
    let c = s
        .claim_outbox(Timestamp(300), Timestamp(400), 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].last_error.as_deref(), Some("421 try later"));
    let c = s
        .claim_outbox(Timestamp(400), Timestamp(500), 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1, "expired lease is claimable again");
    s.outbox_dead(b, 8, "550 no such user").await.unwrap();
    assert_eq!(s.outbox_backlog().await.unwrap(), 0);
    let list = s.outbox_list(10).await.unwrap();
    assert_eq!(
        list.iter().find(|m| m.id == b).unwrap().status,
        OutboxStatus::Dead
    );
    let sent = list.iter().find(|m| m.id == a).unwrap();
    assert_eq!(sent.status, OutboxStatus::Sent);
    // A sent message keeps its envelope but not its text (which may hold a code).
    assert!(sent.body_text.is_empty() && sent.body_html.is_none());
    let counts = s.outbox_counts().await.unwrap();
    assert!(counts.contains(&("dead".to_owned(), 1)), "{counts:?}");
    assert!(counts.contains(&("sent".to_owned(), 1)), "{counts:?}");
    db.cleanup().await;
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_remigrate() {
    let db = test_db().await.unwrap();
    db.store
        .create_account(&account("a1", "o@example.com"))
        .await
        .unwrap();
    let again = open(&db.url).await.unwrap();
    assert!(again.account_by_id("a1").await.unwrap().is_some());
    assert!(matches!(
        open("mysql://x").await.err(),
        Some(StoreError::BadUrl(_))
    ));
    db.cleanup().await;
}

fn code(id: &str, subject: &str, at: i64) -> CodeRow {
    CodeRow {
        id: id.into(),
        account_id: "a1".into(),
        purpose: "device_verification".into(),
        subject: subject.into(),
        hash: vec![9; 32],
        channel: Some("email".into()),
        created_at: Timestamp(at),
        expires_at: Timestamp(at + 600_000),
        attempts: 0,
        max_attempts: 3,
        used: false,
    }
}

#[tokio::test]
async fn a_resend_voids_the_old_code_and_attempts_are_bounded() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.issue_code(&code("c1", "tv-1", 10)).await.unwrap();
    s.issue_code(&code("other", "tv-2", 11)).await.unwrap();
    s.issue_code(&code("c2", "tv-1", 20)).await.unwrap();
    let live = s
        .latest_code("a1", "device_verification", "tv-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.id, "c2", "the resend replaced the first code");
    assert_eq!(live.hash, vec![9; 32]);
    assert_eq!(s.reserve_code_attempt("c1").await.unwrap(), None, "voided");
    assert!(
        s.latest_code("a1", "device_verification", "tv-2")
            .await
            .unwrap()
            .is_some(),
        "another device's code lives on"
    );

    assert_eq!(s.reserve_code_attempt("c2").await.unwrap(), Some(1));
    assert_eq!(s.reserve_code_attempt("c2").await.unwrap(), Some(2));
    assert_eq!(s.reserve_code_attempt("c2").await.unwrap(), Some(3));
    assert_eq!(
        s.reserve_code_attempt("c2").await.unwrap(),
        None,
        "max_attempts reached"
    );

    assert!(s.consume_code("other").await.unwrap());
    assert!(!s.consume_code("other").await.unwrap(), "single use");
    let used = s
        .latest_code("a1", "device_verification", "tv-2")
        .await
        .unwrap()
        .unwrap();
    assert!(
        used.used,
        "kept, marked used, so a reuse is told apart from no code"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn send_history_is_kept_per_key() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    let roomy = hearth_core::codes::SendLimit {
        per_hour: 10,
        per_day: 10,
    };
    s.reserve_send(&["acct:a1".into(), "dest:x".into()], Timestamp(100), roomy)
        .await
        .unwrap()
        .unwrap();
    s.reserve_send(&["acct:a1".into(), "dest:y".into()], Timestamp(200), roomy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.sends_since("acct:a1", Timestamp(0)).await.unwrap(),
        vec![Timestamp(100), Timestamp(200)]
    );
    assert_eq!(
        s.sends_since("acct:a1", Timestamp(150)).await.unwrap(),
        vec![Timestamp(200)]
    );
    assert_eq!(
        s.sends_since("dest:x", Timestamp(0)).await.unwrap().len(),
        1
    );
    db.cleanup().await;
}

fn sharing(account: &str, kind: &str, rank: f64, at: i64) -> SharingRow {
    SharingRow {
        account: account.into(),
        sharing: kind.into(),
        households: 5,
        devices: 40,
        evidence: serde_json::json!(["households=5"]),
        rank,
        first_flagged_at: Timestamp(at),
        updated_at: Timestamp(at),
    }
}

#[tokio::test]
async fn the_sharing_queue_ranks_and_remembers_when_flagged() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    s.put_sharing(&sharing("a-1", "shared", 2.0, 10))
        .await
        .unwrap();
    s.put_sharing(&sharing("a-2", "resold", 9.0, 20))
        .await
        .unwrap();
    s.put_sharing(&sharing("a-1", "resold", 12.0, 30))
        .await
        .unwrap();
    let q = s.sharing_queue(10).await.unwrap();
    assert_eq!(
        q.iter().map(|r| r.account.as_str()).collect::<Vec<_>>(),
        ["a-1", "a-2"]
    );
    assert_eq!(q[0].sharing, "resold");
    assert_eq!(
        q[0].first_flagged_at,
        Timestamp(10),
        "first flagged time is kept"
    );
    assert_eq!(q[0].updated_at, Timestamp(30));
    assert_eq!(q[0].evidence[0], "households=5");
    s.clear_sharing("a-1").await.unwrap();
    assert!(s.sharing_of("a-1").await.unwrap().is_none());
    assert_eq!(s.sharing_of("a-2").await.unwrap().unwrap().devices, 40);
    db.cleanup().await;
}

fn phish_report(id: &str, at: i64, lang: &str) -> NewPhishReport {
    NewPhishReport {
        id: id.into(),
        received_at: Timestamp(at),
        reporter_account: Some("a-1".into()),
        source: "api".into(),
        channel: Some("sms".into()),
        sender: Some("+351910000000".into()),
        subject: None,
        text: format!("Your payment failed ({id}), update at https://nflx-pay.com"),
        urls: vec!["https://nflx-pay.com".into()],
        verdict: "phishing".into(),
        score: 0.97,
        reasons: vec!["brand_link_mismatch".into(), "payment_problem".into()],
        language: lang.into(),
        fingerprint: format!("{{\"report\":\"{id}\"}}"),
    }
}

fn langs(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn phishing_reports_start_and_join_campaigns_with_optimistic_versions() {
    const DAY: i64 = 86_400_000;
    let db = test_db().await.unwrap();
    let s = &db.store;
    let t0 = 20_000 * DAY + 5_000;
    let new = CampaignWrite::New {
        id: "cmp-1".into(),
        fingerprint: "{\"state\":1}".into(),
        domains: vec!["nflx-pay.com".into()],
        label: "phishing".into(),
        languages: langs(&[("en", 1)]),
    };
    assert!(s
        .record_phish_report(&phish_report("r-1", t0, "en"), &new)
        .await
        .unwrap());
    // A second campaign under the same id is refused, and its report not written.
    assert!(!s
        .record_phish_report(&phish_report("r-x", t0, "en"), &new)
        .await
        .unwrap());
    assert!(s.phish_report("r-x").await.unwrap().is_none());

    let c = s.campaign("cmp-1").await.unwrap().unwrap();
    assert_eq!((c.reports, c.version), (1, 1));
    assert_eq!(c.first_seen, Timestamp(t0));
    let join = |version: i64, at_lang: &[(&str, u64)]| CampaignWrite::Join {
        id: "cmp-1".into(),
        expected_version: version,
        fingerprint: "{\"state\":2}".into(),
        domains: vec!["nflx-pay.com".into(), "nflx-pay.net".into()],
        label: "phishing".into(),
        languages: langs(at_lang),
    };
    assert!(s
        .record_phish_report(
            &phish_report("r-2", t0 + DAY, "fr"),
            &join(1, &[("en", 1), ("fr", 1)])
        )
        .await
        .unwrap());
    // Another writer read version 1 too: refused, nothing written.
    assert!(!s
        .record_phish_report(
            &phish_report("r-3", t0 + DAY, "pt"),
            &join(1, &[("en", 1), ("pt", 1)])
        )
        .await
        .unwrap());
    assert!(s.phish_report("r-3").await.unwrap().is_none());
    assert!(s
        .record_phish_report(
            &phish_report("r-3", t0 + 2 * DAY, "fr"),
            &join(2, &[("en", 1), ("fr", 2)])
        )
        .await
        .unwrap());

    let c = s.campaign("cmp-1").await.unwrap().unwrap();
    assert_eq!((c.reports, c.version), (3, 3));
    assert_eq!(c.first_seen, Timestamp(t0));
    assert_eq!(c.last_seen, Timestamp(t0 + 2 * DAY));
    assert_eq!(c.fingerprint, "{\"state\":2}");
    assert_eq!(c.domains, ["nflx-pay.com", "nflx-pay.net"]);
    assert_eq!(c.languages, langs(&[("en", 1), ("fr", 2)]));

    // A smaller, older campaign ranks below it.
    let other = CampaignWrite::New {
        id: "cmp-2".into(),
        fingerprint: "{}".into(),
        domains: vec![],
        label: "suspicious".into(),
        languages: langs(&[("es", 1)]),
    };
    let mut lone = phish_report("r-9", t0 - 30 * DAY, "es");
    lone.reporter_account = None;
    lone.channel = None;
    lone.sender = None;
    lone.subject = Some("Premio".into());
    assert!(s.record_phish_report(&lone, &other).await.unwrap());

    let recent = s.recent_campaigns(Timestamp(t0), 10).await.unwrap();
    assert_eq!(
        recent.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["cmp-1"]
    );
    let ranked = s.list_campaigns(Timestamp(t0 + DAY), 10, 0).await.unwrap();
    assert_eq!(
        ranked
            .iter()
            .map(|c| (c.id.as_str(), c.recent_reports))
            .collect::<Vec<_>>(),
        [("cmp-1", 2), ("cmp-2", 0)]
    );
    assert_eq!(
        s.list_campaigns(Timestamp(0), 1, 1).await.unwrap()[0].id,
        "cmp-2"
    );

    let days = s
        .campaign_daily_counts(&["cmp-1".into(), "cmp-2".into()], Timestamp(t0 - DAY))
        .await
        .unwrap();
    assert_eq!(
        days,
        [
            ("cmp-1".to_owned(), 20_000, 1),
            ("cmp-1".to_owned(), 20_001, 1),
            ("cmp-1".to_owned(), 20_002, 1)
        ]
    );
    assert!(s
        .campaign_daily_counts(&[], Timestamp(0))
        .await
        .unwrap()
        .is_empty());

    let reports = s.campaign_reports("cmp-1", 2).await.unwrap();
    assert_eq!(
        reports.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r-3", "r-2"]
    );
    let r = s.phish_report("r-9").await.unwrap().unwrap();
    assert_eq!(r.campaign_id, "cmp-2");
    assert_eq!(r.reporter_account, None);
    assert_eq!(r.subject.as_deref(), Some("Premio"));
    assert_eq!(r.urls, ["https://nflx-pay.com"]);
    assert_eq!(r.reasons, ["brand_link_mismatch", "payment_problem"]);
    assert!((r.score - 0.97).abs() < 1e-9);
    assert_eq!(r.language, "es");
    assert!(s.campaign("cmp-nope").await.unwrap().is_none());
    db.cleanup().await;
}

fn notice(kind: &str, at: i64, delivered: bool) -> NewNotification {
    NewNotification {
        account_id: "a1".into(),
        kind: kind.into(),
        at: Timestamp(at),
        device_name: Some("TV".into()),
        device_type: Some("tv".into()),
        place: Some("Lisbon, PT".into()),
        count: 1,
        delivered,
    }
}

#[tokio::test]
async fn notifications_list_read_and_preferences() {
    let db = test_db().await.unwrap();
    let s = &db.store;
    let a = s
        .add_notification(&notice("new_device_away", 10, true))
        .await
        .unwrap();
    s.add_notification(&notice("new_device_away", 20, false))
        .await
        .unwrap();
    let b = s
        .add_notification(&notice("password_changed", 30, true))
        .await
        .unwrap();
    let shown = s.notifications("a1", Timestamp(0), true, 10).await.unwrap();
    assert_eq!(
        shown.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![b, a],
        "newest first, delivered only"
    );
    assert_eq!(
        s.notifications("a1", Timestamp(15), false, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.mark_notifications_read("a1", Some(a), Timestamp(40))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.mark_notifications_read("a2", None, Timestamp(40))
            .await
            .unwrap(),
        0,
        "not another account's"
    );
    assert_eq!(
        s.mark_notifications_read("a1", None, Timestamp(41))
            .await
            .unwrap(),
        1
    );
    let shown = s.notifications("a1", Timestamp(0), true, 10).await.unwrap();
    assert_eq!(shown[1].read_at, Some(Timestamp(40)));

    assert!(s.notification_prefs("a1").await.unwrap().is_none());
    let prefs = NotificationPrefs {
        account_id: "a1".into(),
        email: true,
        sms: true,
        off: vec!["new_device_home".into()],
    };
    s.set_notification_prefs(&prefs).await.unwrap();
    assert_eq!(s.notification_prefs("a1").await.unwrap().unwrap(), prefs);
    let none_off = NotificationPrefs {
        off: vec![],
        ..prefs
    };
    s.set_notification_prefs(&none_off).await.unwrap();
    assert_eq!(
        s.notification_prefs("a1").await.unwrap().unwrap().off,
        Vec::<String>::new()
    );
    db.cleanup().await;
}

/// Ten requests race for a limit of three sends an hour on one key: exactly three
/// are recorded and the rest are told how long to wait, whether the store's tables
/// or Redis count them.
async fn race_for_the_send_limit(counters: std::sync::Arc<dyn Counters>, at: Timestamp) {
    let limit = hearth_core::codes::SendLimit {
        per_hour: 3,
        per_day: 10,
    };
    let racers: Vec<_> = (0..10)
        .map(|i| {
            let c = counters.clone();
            tokio::spawn(async move {
                let keys = ["acct:race".to_owned(), format!("dest:{i}")];
                c.reserve_send(&keys, at, limit).await
            })
        })
        .collect();
    let (mut sent, mut waits) = (0, Vec::new());
    for r in racers {
        match r.await.unwrap().unwrap() {
            Ok(()) => sent += 1,
            Err(wait) => waits.push(wait.ms),
        }
    }
    assert_eq!(sent, 3, "{}: {waits:?}", counters.backend());
    assert!(waits.iter().all(|&w| w == 3_600_000), "{waits:?}");
    let history = counters
        .sends_since("acct:race", Timestamp(0))
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "refused sends record nothing");
    // An hour later the window has room again.
    let later = Timestamp(at.0 + 3_600_000);
    let again = counters
        .reserve_send(&["acct:race".to_owned()], later, limit)
        .await
        .unwrap();
    assert!(again.is_ok(), "{again:?}");
}

/// The store's counters and Redis's (under keys of this test's own), to run one
/// check on both.
fn both_counters(db: &TestDb, test: &str) -> [std::sync::Arc<dyn Counters>; 2] {
    let redis = RedisCounters::new(&RedisConfig {
        url: "redis://127.0.0.1:6379".into(),
        key_prefix: format!(
            "hearth-store-test-{test}-{}-{}:",
            std::process::id(),
            hearth_store::unique_token()
        ),
        ..RedisConfig::default()
    })
    .unwrap();
    [
        std::sync::Arc::new(hearth_store::counters::StoreCounters(db.store.clone())),
        std::sync::Arc::new(redis),
    ]
}

#[tokio::test]
async fn racing_sends_never_pass_the_limit() {
    let db = test_db().await.unwrap();
    for counters in both_counters(&db, "race") {
        race_for_the_send_limit(counters, Timestamp(1_700_000_000_000)).await;
    }
    db.cleanup().await;
}

/// Several counters come back in the order asked, a missing one as zero, and are
/// cleared together, whether the store's tables or Redis count them.
async fn counters_in_one_call(counters: std::sync::Arc<dyn Counters>, at: Timestamp) {
    let name = counters.backend();
    for key in ["acct:a", "acct:a", "ip:c"] {
        counters.bump_counter(key, at, 60_000).await.unwrap();
    }
    let keys = ["acct:a", "acct:b", "ip:c"].map(str::to_owned);
    let counts = || async {
        let got = counters.counters(&keys).await.unwrap();
        got.iter().map(|c| c.count).collect::<Vec<u32>>()
    };
    assert_eq!(counts().await, [2, 0, 1], "{name}");
    assert_eq!(counters.counters(&[]).await.unwrap(), Vec::new(), "{name}");
    counters
        .clear_counters(&["acct:a".to_owned(), "ip:c".to_owned()])
        .await
        .unwrap();
    assert_eq!(counts().await, [0, 0, 0], "{name}");
}

#[tokio::test]
async fn several_counters_are_read_and_cleared_in_one_call() {
    let db = test_db().await.unwrap();
    for counters in both_counters(&db, "many") {
        counters_in_one_call(counters, Timestamp(1_700_000_000_000)).await;
    }
    db.cleanup().await;
}
