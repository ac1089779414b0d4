//! One conformance suite for every storage backend: each case runs on SQLite always, and on
//! PostgreSQL when `CONFAB_TEST_POSTGRES_URL` is set (CI sets it; under `CI=true` a missing URL
//! fails the suite instead of skipping it).

// a case fails by panicking, with the store's error in the message
#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::*;
use confab_storage::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use support::*;
use time::{Duration, OffsetDateTime};

/// Runs each listed case as a test per backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, _dir) = super::support::sqlite_store().await;
                super::$case(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(store) = super::support::postgres_store().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    users_and_api_keys,
    assistants_and_senders_are_scoped_to_their_workspace,
    settings_read_again_after_a_change_are_the_changed_ones,
    ingest_creates_then_reuses_the_conversation,
    ingest_of_a_duplicate_changes_nothing,
    one_batch_is_stored_as_its_messages_one_by_one,
    concurrent_duplicates_store_exactly_one_message,
    concurrent_first_messages_share_one_conversation,
    window_is_anchored_on_the_newest_customer_timestamp,
    messages_that_want_no_reply_are_not_due,
    response_delay_postpones_the_claim,
    a_leased_conversation_cannot_be_claimed_twice,
    a_turns_messages_are_its_pending_ones_and_the_newest,
    a_stale_lease_cannot_commit,
    messages_arriving_during_a_turn_keep_the_conversation_due,
    concurrent_workers_never_share_a_conversation,
    many_due_conversations_are_claimed_at_once_each_with_its_own_lease,
    turns_committed_together_are_each_fenced_by_their_own_lease,
    replies_are_claimed_for_the_outbox_as_their_turns_commit,
    planner_statistics_follow_a_table_that_doubles,
    a_group_with_a_conversation_twice_commits_only_its_live_lease,
    send_results_recorded_together_are_each_applied,
    conversation_list_filters_and_pages,
    statuses_move_forward_once_each,
    statuses_for_unknown_messages_are_kept,
    a_batch_of_statuses_ends_like_the_same_statuses_one_by_one,
    webhook_events_are_kept_per_workspace,
    business_app_echoes_are_agent_messages_that_ask_nothing,
    a_stale_message_is_stored_with_a_note_and_not_answered,
    outbound_messages_leave_in_order_and_a_retry_holds_back_the_rest,
    a_status_reported_before_the_send_was_recorded_is_applied,
    failed_sends_are_final_and_senders_can_need_attention,
    dashboard_sessions_expire_and_log_out,
    a_setup_token_makes_one_owner_once,
    failed_deliveries_are_a_filter_and_conversations_can_be_ended,
    whatsapp_turn_replies_enter_the_outbox_other_channels_do_not,
    concurrent_overlapping_batches_store_each_message_once,
    a_status_racing_its_send_is_not_lost,
    concurrent_senders_send_each_message_once_in_order,
    a_turn_can_hand_the_conversation_to_a_person,
    api_conversations_start_explicitly_and_ai_can_be_handed_back,
    assistants_are_listed_updated_in_part_and_soft_deleted,
    an_assistant_a_sender_uses_cannot_be_deleted_and_deleting_ends_its_conversations,
    senders_are_listed_updated_and_deleted_only_without_conversations,
    metrics_aggregate_a_known_workload,
    metrics_of_an_empty_range_are_zero,
    metrics_rollup_counts_every_write_path_like_a_rebuild,
    ingest_counts_its_messages_in_the_rollup_like_a_rebuild,
    conversations_end_by_turn_or_after_inactivity,
    recent_messages_are_the_newest_oldest_first,
    the_message_export_pages_across_conversations_in_list_order,
    last_message_previews_are_read_for_a_page_at_once,
    conversation_variables_merge_from_turns_and_calls,
    price_tables_are_per_workspace_and_replaceable,
    channel_fees_reported_with_statuses_are_charged_once,
    ended_conversations_are_claimed_once_for_extraction,
    a_message_after_the_end_starts_anew_or_reopens_as_the_assistant_says,
    knowledge_bases_and_documents_are_scoped_to_their_workspace,
    knowledge_search_ranks_the_matching_passage_first,
    deleting_a_document_or_knowledge_base_removes_its_passages_from_search,
    odd_knowledge_queries_never_fail,
    assistants_keep_their_knowledge_mode,
    http_tools_are_scoped_to_their_workspace_and_named_once,
    assistants_keep_their_data_fields_and_availability,
    concurrent_bookings_of_one_slot_book_it_exactly_once,
    bookings_are_cancelled_and_moved_only_by_their_customer,
    seeded_batches_derive_conversation_totals_from_their_messages,
    templates_are_upserted_listed_and_reviewed_per_workspace,
    a_role_change_never_leaves_a_workspace_without_an_owner,
);

async fn migrations_are_idempotent(store: Arc<dyn Store>) {
    store.migrate().await.expect("second migrate");
    store.ping().await.expect("ping");
    let a = store.ensure_default_workspace("Default").await.unwrap();
    let b = store.ensure_default_workspace("Other name").await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(store.get_workspace(a.id).await.unwrap().name, "Default");
}

async fn users_and_api_keys(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap();
    let email = Email::parse("ana@example.com").unwrap();
    let new_user = NewUser {
        workspace_id: ws.id,
        email: email.clone(),
        role: UserRole::Admin,
        password_hash: "$argon2id$x".into(),
    };
    let user = store.create_user(new_user.clone()).await.unwrap();
    assert_eq!(store.user_by_email(&email).await.unwrap(), Some(user.clone()));
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(store.list_users(ws.id).await.unwrap().iter().map(|u| u.id).collect::<Vec<_>>(), [user.id]);
    let err = store.create_user(new_user).await.unwrap_err();
    assert!(err.is_conflict_on("users_email_key", "users.email"), "{err:?}");

    let secret = ApiKeySecret::from_random([7; 32]);
    let key = store.create_api_key(ws.id, "ci", &secret).await.unwrap();
    let found = store.api_key_by_hash(&secret.hash).await.unwrap().expect("key");
    assert_eq!(found.id, key.id);
    assert_eq!(found.workspace_id, ws.id);
    assert!(store.api_key_by_hash(&api_key::hash_api_key("cfk_wrong")).await.unwrap().is_none());
    store.revoke_api_key(ws.id, key.id).await.unwrap();
    assert!(store.api_key_by_hash(&secret.hash).await.unwrap().is_none());
    let listed = store.list_api_keys(ws.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].revoked_at.is_some()), (key.id, true), "revoked keys are listed as revoked");
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.list_api_keys(other.id).await.unwrap().is_empty());
}

async fn assistants_and_senders_are_scoped_to_their_workspace(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let other = store.create_workspace("Other").await.unwrap();
    assert!(matches!(store.get_assistant(other.id, fx.assistant.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.get_sender(other.id, fx.sender.id).await, Err(StoreError::NotFound(_))));
    let got = store.get_assistant(fx.ws, fx.assistant.id).await.unwrap();
    assert_eq!(got, fx.assistant);
    let routed = store.sender_by_provider_id(Provider::Meta, &fx.sender.provider_sender_id).await.unwrap().unwrap();
    assert_eq!(routed.id, fx.sender.id);
    assert_eq!(routed.access_token.expose(), "EAAG-token");
    let dup = store.create_sender(fx.new_sender()).await.unwrap_err();
    assert!(dup.is_conflict_on("senders_provider_sender_key", "senders.provider"), "{dup:?}");
    // a sender cannot point at another workspace's assistant
    let mut foreign = fx.new_sender();
    foreign.workspace_id = other.id;
    foreign.provider_sender_id = "999".into();
    assert!(matches!(store.create_sender(foreign).await, Err(StoreError::NotFound(_))));
}

async fn ingest_creates_then_reuses_the_conversation(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let first = store.ingest(&[fx.inbound("wamid.1", "+15550000001", "hi")], now).await.unwrap();
    let IngestOutcome::Stored { conversation_id, conversation_created: true, .. } = first[0] else {
        panic!("{first:?}")
    };
    let second = store.ingest(&[fx.inbound("wamid.2", "+15550000001", "are you there?")], now).await.unwrap();
    assert!(
        matches!(second[0], IngestOutcome::Stored { conversation_id: c, conversation_created: false, .. } if c == conversation_id)
    );
    let conv = store.get_conversation(fx.ws, conversation_id).await.unwrap();
    assert_eq!((conv.message_count, conv.customer_message_count), (2, 2));
    assert_eq!(conv.kind, ConversationType::Whatsapp);
    assert_eq!(conv.sender_id, Some(fx.sender.id));
    let messages = store.list_messages(fx.ws, conversation_id, None, 50).await.unwrap();
    let texts: Vec<_> = messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["hi", "are you there?"]);
    assert_eq!(messages[0].role, Role::User);
    assert_eq!(messages[0].provider_message_id.as_deref(), Some("wamid.1"));
    assert_eq!(messages[0].status, DeliveryStatus::Received);
    let after = store.list_messages(fx.ws, conversation_id, Some(messages[0].id), 50).await.unwrap();
    assert_eq!(after.len(), 1);
    // another customer gets another conversation; another workspace sees none of it
    let other = store.ingest(&[fx.inbound("wamid.3", "+15550000002", "hello")], now).await.unwrap();
    assert!(matches!(other[0], IngestOutcome::Stored { conversation_id: c, .. } if c != conversation_id));
    let ws2 = store.create_workspace("Other").await.unwrap();
    assert!(matches!(store.get_conversation(ws2.id, conversation_id).await, Err(StoreError::NotFound(_))));
}

async fn ingest_of_a_duplicate_changes_nothing(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let msg = fx.inbound("wamid.dup", "+15550000001", "once");
    // the same id twice inside one batch, then again in a later batch
    let outcomes = store.ingest(&[msg.clone(), msg.clone()], now).await.unwrap();
    assert!(matches!(outcomes[0], IngestOutcome::Stored { .. }));
    assert_eq!(outcomes[1], IngestOutcome::Duplicate);
    let IngestOutcome::Stored { conversation_id, .. } = outcomes[0] else { unreachable!() };
    let before = store.get_conversation(fx.ws, conversation_id).await.unwrap();
    assert_eq!(store.ingest(&[msg], now + Duration::minutes(5)).await.unwrap(), [IngestOutcome::Duplicate]);
    let after = store.get_conversation(fx.ws, conversation_id).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(store.list_messages(fx.ws, conversation_id, None, 50).await.unwrap().len(), 1);
}

/// A batch touching several customers and conversations ends as storing its messages one
/// after the other would: the first message opens the conversation, the next find it, a
/// repeat is a duplicate, the last name given wins, and a note follows its message.
async fn one_batch_is_stored_as_its_messages_one_by_one(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut renamed = fx.inbound("wamid.b4", "+15550000001", "it is Ana B.");
    renamed.customer_name = Some("Ana B.".into());
    let mut noted = fx.inbound("wamid.b5", "+15550000002", "late");
    noted.wants_reply = false;
    noted.system_note = Some("not answered".into());
    let batch = [
        fx.inbound("wamid.b1", "+15550000001", "hi"),
        fx.inbound("wamid.b2", "+15550000002", "hello"),
        fx.inbound("wamid.b3", "+15550000001", "still there?"),
        fx.inbound("wamid.b1", "+15550000001", "hi"),
        renamed,
        noted,
    ];
    let outcomes = store.ingest(&batch, now).await.unwrap();
    let seen: Vec<Option<(ConversationId, bool)>> = outcomes
        .iter()
        .map(|o| match o {
            IngestOutcome::Stored { conversation_id, conversation_created, .. } => {
                Some((*conversation_id, *conversation_created))
            }
            IngestOutcome::Duplicate => None,
        })
        .collect();
    let (ana, ben) = (seen[0].unwrap().0, seen[1].unwrap().0);
    assert_ne!(ana, ben);
    assert_eq!(
        seen,
        [Some((ana, true)), Some((ben, true)), Some((ana, false)), None, Some((ana, false)), Some((ben, false))]
    );
    let ana = store.get_conversation(fx.ws, ana).await.unwrap();
    assert_eq!((ana.message_count, ana.customer_message_count), (3, 3));
    let ben = store.get_conversation(fx.ws, ben).await.unwrap();
    assert_eq!((ben.message_count, ben.customer_message_count), (3, 2), "the note counts as a message");
    let roles: Vec<Role> = store.list_messages(fx.ws, ben.id, None, 50).await.unwrap().iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::User, Role::System]);
    let customer = store.customers_by_ids(fx.ws, &[ana.customer_id]).await.unwrap();
    assert_eq!(customer[0].name.as_deref(), Some("Ana B."));
    // both conversations are due: their customers' messages wait for a reply, seqs counted per conversation
    let mut due = Vec::new();
    while let Some(lease) = store.claim_due("w1", now + Duration::hours(1), Duration::seconds(30)).await.unwrap() {
        let pending = store.turn_messages(&lease, 0).await.unwrap().0;
        due.push((lease.conversation_id, pending.messages.len(), pending.through_seq));
    }
    due.sort_by_key(|(id, ..)| *id == ben.id);
    assert_eq!(due, [(ana.id, 3, 3), (ben.id, 1, 1)]);
}

async fn concurrent_duplicates_store_exactly_one_message(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let msg = fx.inbound("wamid.race", "+15550000009", "hello");
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, msg) = (store.clone(), msg.clone());
            tokio::spawn(async move { store.ingest(&[msg], OffsetDateTime::now_utc()).await })
        })
        .collect();
    let mut stored = Vec::new();
    for task in tasks {
        match task.await.unwrap().unwrap()[0] {
            IngestOutcome::Stored { conversation_id, .. } => stored.push(conversation_id),
            IngestOutcome::Duplicate => {}
        }
    }
    assert_eq!(stored.len(), 1, "exactly one ingest stores the message");
    let conv = store.get_conversation(fx.ws, stored[0]).await.unwrap();
    assert_eq!(conv.message_count, 1);
    assert_eq!(store.list_messages(fx.ws, stored[0], None, 50).await.unwrap().len(), 1);
}

async fn concurrent_first_messages_share_one_conversation(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, msg) = (store.clone(), fx.inbound(&format!("wamid.burst.{i}"), "+15550000010", "hey"));
            tokio::spawn(async move { store.ingest(&[msg], OffsetDateTime::now_utc()).await })
        })
        .collect();
    let mut conversations = HashSet::new();
    for task in tasks {
        if let IngestOutcome::Stored { conversation_id, .. } = task.await.unwrap().unwrap()[0] {
            conversations.insert(conversation_id);
        }
    }
    assert_eq!(conversations.len(), 1);
    let id = *conversations.iter().next().unwrap();
    assert_eq!(store.get_conversation(fx.ws, id).await.unwrap().message_count, 16);
}

async fn window_is_anchored_on_the_newest_customer_timestamp(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut newer = fx.inbound("wamid.w1", "+15550000001", "new");
    newer.sent_at = now - Duration::hours(1);
    let mut older = fx.inbound("wamid.w2", "+15550000001", "old, delivered late");
    older.sent_at = now - Duration::hours(30);
    let out = store.ingest(&[newer.clone(), older], now).await.unwrap();
    let IngestOutcome::Stored { conversation_id, .. } = out[0] else { panic!() };
    let conv = store.get_conversation(fx.ws, conversation_id).await.unwrap();
    assert_eq!(conv.last_customer_message_at.map(trunc), Some(trunc(newer.sent_at)));
    assert!(conv.window().is_open(now));
    assert!(!conv.window().is_open(now + Duration::hours(23) + Duration::minutes(1)));
}

async fn messages_that_want_no_reply_are_not_due(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut stale = fx.inbound("wamid.stale", "+15550000001", "from a replayed backlog");
    stale.wants_reply = false;
    assert!(matches!(store.ingest(&[stale], now).await.unwrap()[0], IngestOutcome::Stored { .. }));
    assert_eq!(store.claim_due("w1", now + Duration::hours(1), Duration::seconds(30)).await.unwrap(), None);
    assert_eq!(store.next_due_at().await.unwrap(), None);
}

async fn response_delay_postpones_the_claim(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut msg = fx.inbound("wamid.d1", "+15550000001", "hi");
    msg.response_delay = ResponseDelay::from_millis(5_000).unwrap();
    store.ingest(&[msg], now).await.unwrap();
    assert_eq!(store.claim_due("w1", now + Duration::seconds(4), Duration::seconds(30)).await.unwrap(), None);
    let next = store.next_due_at().await.unwrap().expect("due");
    assert_eq!(trunc(next), trunc(now + Duration::seconds(5)));
    assert!(store.claim_due("w1", now + Duration::seconds(5), Duration::seconds(30)).await.unwrap().is_some());
}

async fn a_leased_conversation_cannot_be_claimed_twice(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    store.ingest(&[fx.inbound("wamid.l1", "+15550000001", "hi")], now).await.unwrap();
    let lease = store.claim_due("w1", now, Duration::seconds(30)).await.unwrap().expect("claimed");
    assert_eq!(store.claim_due("w2", now + Duration::seconds(1), Duration::seconds(30)).await.unwrap(), None);
    let extended = store.extend_lease(&lease, now + Duration::seconds(20), Duration::seconds(30)).await.unwrap();
    assert_eq!(store.claim_due("w2", now + Duration::seconds(40), Duration::seconds(30)).await.unwrap(), None);
    store.release_lease(&extended).await.unwrap();
    let again =
        store.claim_due("w2", now + Duration::seconds(41), Duration::seconds(30)).await.unwrap().expect("released");
    assert!(again.token > lease.token);
    assert_eq!(again.conversation_id, lease.conversation_id);
}

async fn a_turns_messages_are_its_pending_ones_and_the_newest(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let start = OffsetDateTime::now_utc();
    let at = |s: i64| start + Duration::seconds(s);
    for (i, text) in ["one", "two"].into_iter().enumerate() {
        store.ingest(&[fx.inbound(&format!("wamid.tm{i}"), "+15554200001", text)], at(i as i64)).await.unwrap();
    }
    let first = store.claim_due("w", at(2), Duration::seconds(30)).await.unwrap().expect("due");
    let (pending, _) = store.turn_messages(&first, 10).await.unwrap();
    assert_eq!(pending.through_seq, 2);
    store.commit_turn(&first, reply(2, "answer"), at(3)).await.unwrap();
    for (i, text) in ["three", "four"].into_iter().enumerate() {
        store
            .ingest(&[fx.inbound(&format!("wamid.tm{}", i + 2), "+15554200001", text)], at(4 + i as i64))
            .await
            .unwrap();
    }
    let lease = store.claim_due("w", at(6), Duration::seconds(30)).await.unwrap().expect("due again");
    assert_eq!(lease.answered_seq, 2);

    let (pending, history) = store.turn_messages(&lease, 3).await.unwrap();
    let texts = |messages: &[Message]| messages.iter().map(|m| m.content.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&pending.messages), ["three", "four"], "the unanswered ones, oldest first");
    assert_eq!(pending.through_seq, 4);
    assert_eq!(texts(&history), ["answer", "three", "four"], "the newest three, oldest first");
    // the history is what `recent_messages` reads
    let recent = store.recent_messages(fx.ws, lease.conversation_id, 3).await.unwrap();
    assert_eq!(recent.iter().map(|m| m.id).collect::<Vec<_>>(), history.iter().map(|m| m.id).collect::<Vec<_>>());
    // a limit above the conversation's size gives all of it
    let (_, everything) = store.turn_messages(&lease, 50).await.unwrap();
    assert_eq!(texts(&everything), ["one", "two", "answer", "three", "four"]);
}

async fn a_stale_lease_cannot_commit(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    store.ingest(&[fx.inbound("wamid.s1", "+15550000001", "hi")], now).await.unwrap();
    let slow = store.claim_due("slow", now, Duration::seconds(30)).await.unwrap().unwrap();
    let pending = store.turn_messages(&slow, 0).await.unwrap().0;
    assert_eq!(pending.messages.len(), 1);
    // the slow worker stalls past its lease; another takes over
    let later = now + Duration::seconds(31);
    let fast =
        store.claim_due("fast", later, Duration::seconds(30)).await.unwrap().expect("expired lease is claimable");
    assert!(fast.token > slow.token);
    let late_commit = store.commit_turn(&slow, reply(pending.through_seq, "late"), later).await;
    assert!(matches!(late_commit, Err(StoreError::LeaseLost)), "{late_commit:?}");
    assert!(matches!(store.extend_lease(&slow, later, Duration::seconds(30)).await, Err(StoreError::LeaseLost)));
    // even before another worker claims, an expired lease cannot commit
    let ids =
        store.commit_turn(&fast, reply(pending.through_seq, "on time"), later + Duration::seconds(1)).await.unwrap();
    assert_eq!(ids.len(), 1);
    let messages = store.list_messages(fx.ws, fast.conversation_id, None, 50).await.unwrap();
    let texts: Vec<_> = messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["hi", "on time"]);
    assert_eq!(messages[1].status, DeliveryStatus::Queued);
    assert_eq!(messages[1].cost, MicroUsd(120));
    assert_eq!(messages[1].usage.unwrap().output_tokens, 5);
    let conv = store.get_conversation(fx.ws, fast.conversation_id).await.unwrap();
    assert_eq!((conv.message_count, conv.total_cost, conv.total_tokens), (2, MicroUsd(120), 15));
    assert_eq!(
        store.claim_due("w", later + Duration::hours(1), Duration::seconds(30)).await.unwrap(),
        None,
        "answered: no longer due"
    );

    store.ingest(&[fx.inbound("wamid.s2", "+15550000001", "again")], later).await.unwrap();
    let lease = store.claim_due("w", later, Duration::seconds(30)).await.unwrap().unwrap();
    let expired_at = lease.until + Duration::milliseconds(1);
    assert!(matches!(store.commit_turn(&lease, reply(1, "x"), expired_at).await, Err(StoreError::LeaseLost)));
}

async fn messages_arriving_during_a_turn_keep_the_conversation_due(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    store
        .ingest(&[fx.inbound("wamid.t1", "+15550000001", "one"), fx.inbound("wamid.t2", "+15550000001", "two")], now)
        .await
        .unwrap();
    let lease = store.claim_due("w", now, Duration::seconds(30)).await.unwrap().unwrap();
    let pending = store.turn_messages(&lease, 0).await.unwrap().0;
    let texts: Vec<_> = pending.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["one", "two"], "a burst becomes one turn");
    // a third message lands while the turn runs
    store.ingest(&[fx.inbound("wamid.t3", "+15550000001", "three")], now + Duration::seconds(1)).await.unwrap();
    store
        .commit_turn(&lease, reply(pending.through_seq, "answer to one and two"), now + Duration::seconds(2))
        .await
        .unwrap();
    let next =
        store.claim_due("w", now + Duration::seconds(2), Duration::seconds(30)).await.unwrap().expect("still due");
    let pending = store.turn_messages(&next, 0).await.unwrap().0;
    let texts: Vec<_> = pending.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["three"]);
}

async fn concurrent_workers_never_share_a_conversation(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let conversations = 24;
    let batch: Vec<_> =
        (0..conversations).map(|i| fx.inbound(&format!("wamid.c{i}"), &format!("+1555100{i:04}"), "hi")).collect();
    store.ingest(&batch, now).await.unwrap();
    let held = Arc::new(Mutex::new(HashSet::new()));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (store, held, answered) = (store.clone(), held.clone(), answered.clone());
            tokio::spawn(async move {
                let owner = format!("worker-{w}");
                while let Some(lease) =
                    store.claim_due(&owner, OffsetDateTime::now_utc(), Duration::seconds(60)).await.unwrap()
                {
                    assert!(held.lock().unwrap().insert(lease.conversation_id), "two workers hold one conversation");
                    let pending = store.turn_messages(&lease, 0).await.unwrap().0;
                    tokio::task::yield_now().await;
                    held.lock().unwrap().remove(&lease.conversation_id);
                    store
                        .commit_turn(&lease, reply(pending.through_seq, "hello"), OffsetDateTime::now_utc())
                        .await
                        .unwrap();
                    answered.lock().unwrap().push(lease.conversation_id);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = answered.lock().unwrap();
    assert_eq!(answered.len(), conversations, "every conversation answered once");
    assert_eq!(answered.iter().collect::<HashSet<_>>().len(), conversations);
}

async fn many_due_conversations_are_claimed_at_once_each_with_its_own_lease(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    // five conversations, due one second apart, the oldest first
    let mut conversations = Vec::new();
    for i in 0..5 {
        let message = fx.inbound(&format!("wamid.b{i}"), &format!("+1555300{i:04}"), "hi");
        let out = store.ingest(&[message], now + Duration::seconds(i)).await.unwrap();
        let IngestOutcome::Stored { conversation_id, .. } = out[0] else { panic!("{out:?}") };
        conversations.push(conversation_id);
    }
    let later = now + Duration::seconds(10);
    let lease_for = Duration::seconds(30);
    let first = store.claim_due_batch("w1", later, lease_for, 3).await.unwrap();
    assert_eq!(first.iter().map(|l| l.conversation_id).collect::<Vec<_>>(), conversations[..3], "longest-due first");
    for lease in &first {
        assert_eq!((lease.owner.as_str(), lease.workspace_id, lease.answered_seq), ("w1", fx.ws, 0));
        assert_eq!(trunc(lease.until), trunc(later + lease_for));
    }
    let rest = store.claim_due_batch("w2", later, lease_for, 10).await.unwrap();
    assert_eq!(rest.iter().map(|l| l.conversation_id).collect::<Vec<_>>(), conversations[3..], "the rest, once");
    assert!(store.claim_due_batch("w3", later, lease_for, 10).await.unwrap().is_empty(), "all leased");
    assert_eq!(store.claim_due("w3", later, lease_for).await.unwrap(), None);

    // each lease is a lease of its own: one commits, the others expire and are claimed anew
    let pending = store.turn_messages(&first[0], 0).await.unwrap().0;
    store.commit_turn(&first[0], reply(pending.through_seq, "hello"), later).await.unwrap();
    let expired = later + lease_for + Duration::seconds(1);
    let again = store.claim_due_batch("w4", expired, lease_for, 10).await.unwrap();
    assert_eq!(again.len(), 4, "answered: no longer due");
    for lease in &again {
        let before = first.iter().chain(&rest).find(|l| l.conversation_id == lease.conversation_id).unwrap();
        assert!(lease.token > before.token, "a new claim fences the old one");
    }
    let commit = store.commit_turn(&first[1], reply(1, "late"), expired).await;
    assert!(matches!(commit, Err(StoreError::LeaseLost)), "{commit:?}");
}

/// `count` customers each ask a question (wamids tagged `tag`), and `owner` leases their
/// conversations.
async fn leased_conversations(
    store: &Arc<dyn Store>,
    fx: &Fixture,
    tag: &str,
    count: usize,
    owner: &str,
    now: OffsetDateTime,
    lease_for: Duration,
) -> Vec<Lease> {
    let batch: Vec<_> =
        (0..count).map(|i| fx.inbound(&format!("wamid.{tag}{i}"), &format!("+1555400{i:04}"), "question")).collect();
    store.ingest(&batch, now).await.unwrap();
    let leases = store.claim_due_batch(owner, now, lease_for, u32::try_from(count).unwrap()).await.unwrap();
    assert_eq!(leases.len(), count);
    leases
}

async fn turns_committed_together_are_each_fenced_by_their_own_lease(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let lease_for = Duration::seconds(30);
    let leases = leased_conversations(&store, &fx, "g", 3, "slow", now, lease_for).await;
    // the first stalls past its lease and another worker takes its conversation over
    let later = now + lease_for + Duration::seconds(1);
    let taken_over = store.claim_due("fast", later, lease_for).await.unwrap().expect("expired lease");
    let stale = leases.iter().find(|l| l.conversation_id == taken_over.conversation_id).unwrap();
    let fresh: Vec<_> = leases.iter().filter(|l| l.conversation_id != stale.conversation_id).collect();
    let extended = [
        store.extend_lease(fresh[0], now + Duration::seconds(20), lease_for).await.unwrap(),
        store.extend_lease(fresh[1], now + Duration::seconds(20), lease_for).await.unwrap(),
    ];
    let turns = vec![
        FencedTurn { lease: extended[0].clone(), turn: reply(1, "answer one"), now: later },
        FencedTurn { lease: stale.clone(), turn: reply(1, "too late"), now: later },
        FencedTurn { lease: extended[1].clone(), turn: reply(1, "answer two"), now: later },
    ];
    let outcomes = store.commit_turns(&turns).await.unwrap();
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0].as_ref().map(Vec::len), Some(1));
    assert_eq!(outcomes[1], None, "the stale lease writes nothing");
    assert_eq!(outcomes[2].as_ref().map(Vec::len), Some(1));
    for (lease, text) in [(&extended[0], "answer one"), (&extended[1], "answer two")] {
        let messages = store.list_messages(fx.ws, lease.conversation_id, None, 10).await.unwrap();
        let texts: Vec<_> = messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["question", text]);
        let conv = store.get_conversation(fx.ws, lease.conversation_id).await.unwrap();
        assert_eq!((conv.message_count, conv.total_cost), (2, MicroUsd(120)));
    }
    let messages = store.list_messages(fx.ws, stale.conversation_id, None, 10).await.unwrap();
    assert_eq!(messages.len(), 1, "only the question");
    // the worker that took over still commits, and nothing else is due
    store.commit_turn(&taken_over, reply(1, "on time"), later).await.unwrap();
    assert_eq!(store.claim_due("w", later + Duration::hours(1), lease_for).await.unwrap(), None);
    // an empty group is fine
    assert!(store.commit_turns(&[]).await.unwrap().is_empty());
}

async fn replies_are_claimed_for_the_outbox_as_their_turns_commit(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let lease_for = Duration::seconds(30);
    let leases = leased_conversations(&store, &fx, "h", 4, "w", now, lease_for).await;
    // a person's message still unsent in the first conversation is first in its line
    let queued = store.enqueue_outbound(fx.ws, leases[0].conversation_id, &texts(&["from a person"]), now).await;
    let queued = queued.unwrap()[0];
    let mut two_parts = reply(1, "part one");
    two_parts.messages.push(NewMessage::text(Role::Assistant, "part two"));
    let mut note_only = TurnCommit::nothing(1);
    note_only.messages.push(NewMessage::text(Role::System, "a note, not for the customer"));
    let stale = Lease { token: leases[3].token - 1, ..leases[3].clone() };
    let turns = vec![
        FencedTurn { lease: leases[0].clone(), turn: reply(1, "behind the person's"), now },
        FencedTurn { lease: leases[1].clone(), turn: two_parts, now },
        FencedTurn { lease: leases[2].clone(), turn: note_only, now },
        FencedTurn { lease: stale, turn: reply(1, "lost"), now },
    ];
    let outbox_lease = Duration::seconds(20);
    let committed = store.commit_turns_claiming_sends(&turns, Some(outbox_lease)).await.unwrap();
    let stored: Vec<_> = committed.outcomes.iter().map(|o| o.as_ref().map(Vec::len)).collect();
    assert_eq!(stored, [Some(1), Some(2), Some(1), None]);
    let first_part = committed.outcomes[1].as_ref().unwrap()[0];
    // the first in line of each conversation the turns wrote to, whoever queued it
    let mut claimed = committed.claimed.clone();
    claimed.sort_by_key(|c| c.message_id.as_uuid());
    let person = ClaimedSend { message_id: queued, conversation_id: leases[0].conversation_id, attempts: 0 };
    let reply_part = ClaimedSend { message_id: first_part, conversation_id: leases[1].conversation_id, attempts: 0 };
    assert_eq!(claimed, [person, reply_part], "and nothing behind them");
    let jobs = store.load_claimed(&[reply_part]).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!((job.message.id, job.message.content.as_str()), (first_part, "part one"));
    assert_eq!((job.message.status, job.attempts), (DeliveryStatus::Queued, 0));
    assert_eq!(job.conversation.id, leases[1].conversation_id);
    assert_eq!(job.customer.id, job.conversation.customer_id);
    assert_eq!(job.sender.as_ref().map(|s| s.id), Some(fx.sender.id));

    // the claim at commit lasts the lease it was given, then the messages are claimed anew
    let before_end = now + outbox_lease - Duration::seconds(1);
    assert!(store.claim_outbound(before_end, lease_for, 10).await.unwrap().is_empty(), "claimed once");
    let after_end = now + outbox_lease + Duration::seconds(1);
    let mut again: Vec<_> = store.claim_outbound(after_end, lease_for, 10).await.unwrap();
    again.sort_by_key(|j| j.message.id.as_uuid());
    assert_eq!(again.iter().map(|j| j.message.id).collect::<Vec<_>>(), [queued, first_part]);

    // a recorded result claims the next in line of a conversation whose message left
    let later = after_end + Duration::seconds(1);
    let sent = SendResult::Sent { provider_message_id: "wamid.part1".into() };
    let next = store.record_send_results_claiming_next(&[(first_part, sent)], later, Some(outbox_lease)).await;
    let second_part = committed.outcomes[1].as_ref().unwrap()[1];
    assert_eq!(next.unwrap().iter().map(|c| c.message_id).collect::<Vec<_>>(), [second_part]);
    let failed = SendResult::Failed { error: DeliveryError { code: None, title: "Refused".into(), details: None } };
    let next = store.record_send_results_claiming_next(&[(queued, failed)], later, Some(outbox_lease)).await;
    let behind = committed.outcomes[0].as_ref().unwrap()[0];
    assert_eq!(next.unwrap().iter().map(|c| c.message_id).collect::<Vec<_>>(), [behind], "after a failure too");
    // a retry keeps its place: nothing after it is claimed
    let retry = SendResult::Retry {
        at: later + Duration::minutes(1),
        error: DeliveryError { code: Some(130429), title: "Rate limit hit".into(), details: None },
    };
    let next = store.record_send_results_claiming_next(&[(second_part, retry)], later, Some(outbox_lease)).await;
    assert!(next.unwrap().is_empty());
    assert!(store.claim_outbound(later, lease_for, 10).await.unwrap().is_empty(), "all claimed or waiting");

    // without a lease to claim for, a commit claims nothing
    let other = fx.inbound("wamid.h9", "+15554109999", "question");
    store.ingest(&[other], now).await.unwrap();
    let lease = store.claim_due("w", now, lease_for).await.unwrap().unwrap();
    let turn = FencedTurn { lease, turn: reply(1, "sent by a claim"), now };
    let committed = store.commit_turns_claiming_sends(&[turn], None).await.unwrap();
    assert!(committed.outcomes[0].is_some() && committed.claimed.is_empty());
}

async fn a_group_with_a_conversation_twice_commits_only_its_live_lease(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let lease_for = Duration::seconds(30);
    let mut now = OffsetDateTime::now_utc();
    let mut conversation = None;
    // the stale lease first in the group, then (asked again) the live one first
    for (round, stale_first) in [(1, true), (2, false)] {
        store.ingest(&[fx.inbound(&format!("wamid.twice.{round}"), "+15554100001", "question")], now).await.unwrap();
        let stale = store.claim_due("slow", now, lease_for).await.unwrap().expect("due");
        now += lease_for + Duration::seconds(1);
        let live = store.claim_due("fast", now, lease_for).await.unwrap().expect("expired lease");
        assert_eq!(live.conversation_id, stale.conversation_id);
        conversation = Some(live.conversation_id);
        let stale_turn = FencedTurn { lease: stale, turn: reply(round, "too late"), now };
        let live_turn = FencedTurn { lease: live, turn: reply(round, "on time"), now };
        let (turns, expected) = if stale_first {
            (vec![stale_turn, live_turn], [false, true])
        } else {
            (vec![live_turn, stale_turn], [true, false])
        };
        let outcomes = store.commit_turns(&turns).await.unwrap();
        assert_eq!(outcomes.iter().map(Option::is_some).collect::<Vec<_>>(), expected, "round {round}");
    }
    let conversation = conversation.unwrap();
    let texts: Vec<String> =
        store.list_messages(fx.ws, conversation, None, 10).await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(texts, ["question", "on time", "question", "on time"]);
    let conv = store.get_conversation(fx.ws, conversation).await.unwrap();
    assert_eq!(conv.message_count, 4, "each reply counted once");
    assert_eq!(store.claim_due("w", now + Duration::hours(1), lease_for).await.unwrap(), None, "nothing left due");
}

async fn planner_statistics_follow_a_table_that_doubles(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    assert!(store.refresh_statistics().await.unwrap().is_empty(), "small tables need none");
    let now = OffsetDateTime::now_utc();
    for round in 0..4 {
        let batch: Vec<_> = (0..500)
            .map(|i| fx.inbound(&format!("wamid.st{round}.{i}"), &format!("+1555{round}{i:06}"), "a question"))
            .collect();
        store.ingest(&batch, now).await.unwrap();
    }
    let refreshed = store.refresh_statistics().await.unwrap();
    match store.backend() {
        "postgres" => {
            for table in ["conversations", "customers", "messages"] {
                assert!(refreshed.iter().any(|t| t == table), "{table} grew from nothing: {refreshed:?}");
            }
            assert!(store.refresh_statistics().await.unwrap().is_empty(), "gathered: none doubled since");
        }
        _ => assert!(refreshed.is_empty(), "{refreshed:?}"),
    }
}

async fn send_results_recorded_together_are_each_applied(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for i in 0..4 {
        let phone = PhoneNumber::parse(&format!("+1555500{i:04}")).unwrap();
        let conv = store.open_whatsapp_conversation(&fx.sender, &phone, now).await.unwrap();
        ids.push(store.enqueue_outbound(fx.ws, conv.id, &texts(&["first", "second"]), now).await.unwrap());
    }
    let lease = Duration::seconds(30);
    let jobs = store.claim_outbound(now, lease, 10).await.unwrap();
    let mut claimed: Vec<_> = jobs.iter().map(|j| j.message.id).collect();
    claimed.sort_by_key(|id| id.as_uuid());
    let mut firsts: Vec<_> = ids.iter().map(|i| i[0]).collect();
    firsts.sort_by_key(|id| id.as_uuid());
    assert_eq!(claimed, firsts, "the oldest of each conversation, loaded with what goes with it");
    for job in &jobs {
        assert_eq!(job.conversation.id, job.message.conversation_id);
        assert_eq!(job.customer.id, job.conversation.customer_id);
        assert_eq!(job.sender.as_ref().map(|s| s.id), Some(fx.sender.id));
    }
    // "delivered" arrived before the send was recorded, and so did another send's failure
    store.apply_statuses(&[status(&fx, "wamid.r0", DeliveryStatus::Delivered)], now).await.unwrap();
    let reported =
        DeliveryError { code: Some(131049), title: "Not delivered".into(), details: Some("ecosystem".into()) };
    let mut early_failure = status(&fx, "wamid.r3", DeliveryStatus::Failed);
    early_failure.error = Some(reported.clone());
    store.apply_statuses(&[early_failure], now).await.unwrap();
    let error = DeliveryError { code: Some(131026), title: "Message undeliverable".into(), details: None };
    let retry = DeliveryError { code: Some(130429), title: "Rate limit hit".into(), details: None };
    store
        .record_send_results(
            &[
                (ids[0][0], SendResult::Sent { provider_message_id: "wamid.r0".into() }),
                (ids[1][0], SendResult::Failed { error }),
                (ids[2][0], SendResult::Retry { at: now + Duration::seconds(10), error: retry }),
                (ids[3][0], SendResult::Sent { provider_message_id: "wamid.r3".into() }),
            ],
            now,
        )
        .await
        .unwrap();
    let sent = store.message_by_provider_id(fx.ws, "wamid.r0").await.unwrap().unwrap();
    assert_eq!((sent.id, sent.status), (ids[0][0], DeliveryStatus::Delivered), "the early status folded in");
    assert_eq!(sent.error, None);
    let undelivered = store.message_by_provider_id(fx.ws, "wamid.r3").await.unwrap().unwrap();
    assert_eq!((undelivered.id, undelivered.status), (ids[3][0], DeliveryStatus::Failed), "the early failure too");
    assert_eq!(undelivered.error, Some(reported), "with the provider's error");
    let next: Vec<_> = store.claim_outbound(now, lease, 10).await.unwrap().iter().map(|j| j.message.id).collect();
    assert_eq!(next.len(), 3, "{next:?}");
    assert!(
        next.contains(&ids[0][1]) && next.contains(&ids[1][1]) && next.contains(&ids[3][1]),
        "after a send or a failure, the next goes"
    );
    let conversation_of = |id: MessageId| jobs.iter().find(|j| j.message.id == id).unwrap().conversation.id;
    let (sent_conv, failed_conv) = (conversation_of(ids[0][0]), conversation_of(ids[1][0]));
    let undelivered_conv = conversation_of(ids[3][0]);
    let mut failed =
        store.conversations_with_failed_deliveries(fx.ws, &[sent_conv, failed_conv, undelivered_conv]).await.unwrap();
    failed.sort_by_key(|id| id.as_uuid());
    let mut expected = [failed_conv, undelivered_conv];
    expected.sort_by_key(|id| id.as_uuid());
    assert_eq!(failed, expected);
    let retried = store.claim_outbound(now + Duration::seconds(10), lease, 10).await.unwrap();
    assert_eq!(retried.iter().map(|j| (j.message.id, j.attempts)).collect::<Vec<_>>(), [(ids[2][0], 1)]);
    store.record_send_results(&[], now).await.unwrap();
}

async fn conversation_list_filters_and_pages(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let start = OffsetDateTime::now_utc();
    for i in 0..25 {
        let msg = fx.inbound(&format!("wamid.p{i}"), &format!("+1555200{i:04}"), "hi");
        store.ingest(&[msg], start + Duration::seconds(i)).await.unwrap();
    }
    let mut api = fx.inbound("api-1", "+15550000001", "hello from the API");
    api.conversation_type = ConversationType::Api;
    api.sender_id = None;
    api.customer = CustomerIdentity::External("crm-42".into());
    store.ingest(&[api], start + Duration::seconds(30)).await.unwrap();

    let all = ConversationFilter::default();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(10);
    loop {
        let got = store.list_conversations(fx.ws, &all, page).await.unwrap();
        seen.extend(got.items.iter().map(|c| (c.created_at, c.id)));
        match got.next {
            Some(cursor) => page = PageRequest { limit: 10, after: Some(Cursor::decode(&cursor.encode()).unwrap()) },
            None => break,
        }
    }
    assert_eq!(seen.len(), 26);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");

    let whatsapp = ConversationFilter { kind: Some(ConversationType::Whatsapp), ..Default::default() };
    assert_eq!(store.list_conversations(fx.ws, &whatsapp, PageRequest::first(100)).await.unwrap().items.len(), 25);
    let by_customer = ConversationFilter { customer: Some("crm-42".into()), ..Default::default() };
    let found = store.list_conversations(fx.ws, &by_customer, PageRequest::first(100)).await.unwrap().items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, ConversationType::Api);
    let by_phone = ConversationFilter { customer: Some("+15552000003".into()), ..Default::default() };
    assert_eq!(store.list_conversations(fx.ws, &by_phone, PageRequest::first(100)).await.unwrap().items.len(), 1);
    let window = ConversationFilter {
        from: Some(start + Duration::seconds(10)),
        to: Some(start + Duration::seconds(20)),
        sender_id: Some(fx.sender.id),
        assistant_id: Some(fx.assistant.id),
        status: Some(ConversationStatus::Active),
        ..Default::default()
    };
    assert_eq!(store.list_conversations(fx.ws, &window, PageRequest::first(100)).await.unwrap().items.len(), 10);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.list_conversations(other.id, &all, PageRequest::first(100)).await.unwrap().items.is_empty());
}

/// An agent message with a provider id, as a WhatsApp Business app echo stores it.
async fn sent_message(store: &Arc<dyn Store>, fx: &Fixture, wamid: &str) -> MessageId {
    let mut echo = fx.inbound(wamid, "+15550000001", "sent from the app");
    echo.role = Role::Agent;
    echo.wants_reply = false;
    match store.ingest(&[echo], OffsetDateTime::now_utc()).await.unwrap()[0] {
        IngestOutcome::Stored { message_id, .. } => message_id,
        other => panic!("{other:?}"),
    }
}

fn status(fx: &Fixture, wamid: &str, status: DeliveryStatus) -> StatusInput {
    StatusInput {
        workspace_id: fx.ws,
        provider_message_id: wamid.into(),
        status,
        occurred_at: OffsetDateTime::now_utc(),
        error: None,
        pricing: serde_json::json!({ "billable": true, "category": "service" }),
        fee: None,
    }
}

async fn statuses_move_forward_once_each(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let id = sent_message(&store, &fx, "wamid.out1").await;
    let now = OffsetDateTime::now_utc();
    use DeliveryStatus::*;
    // out of order, and twice
    let updates =
        [status(&fx, "wamid.out1", Read), status(&fx, "wamid.out1", Delivered), status(&fx, "wamid.out1", Read)];
    let outcomes = store.apply_statuses(&updates, now).await.unwrap();
    let conversation_id = store.message_by_provider_id(fx.ws, "wamid.out1").await.unwrap().unwrap().conversation_id;
    assert_eq!(outcomes[0], StatusOutcome::Applied { message_id: id, conversation_id, status: Read });
    assert_eq!(
        outcomes[1],
        StatusOutcome::Applied { message_id: id, conversation_id, status: Read },
        "a late delivered changes nothing"
    );
    assert_eq!(outcomes[2], StatusOutcome::Duplicate);
    let mut failed = status(&fx, "wamid.out1", Failed);
    failed.error = Some(DeliveryError { code: Some(131047), title: "Re-engagement message".into(), details: None });
    store.apply_statuses(&[failed.clone()], now).await.unwrap();
    let message = store.message_by_provider_id(fx.ws, "wamid.out1").await.unwrap().unwrap();
    assert_eq!(message.status, Read, "a read message never becomes failed");
    assert_eq!(message.error, None);

    sent_message(&store, &fx, "wamid.out2").await;
    failed.provider_message_id = "wamid.out2".into();
    store.apply_statuses(&[status(&fx, "wamid.out2", Delivered), failed], now).await.unwrap();
    store.apply_statuses(&[status(&fx, "wamid.out2", Read)], now).await.unwrap();
    let message = store.message_by_provider_id(fx.ws, "wamid.out2").await.unwrap().unwrap();
    assert_eq!(message.status, Failed);
    assert_eq!(message.error.as_ref().and_then(|e| e.code), Some(131047));
    assert_eq!(message.error.unwrap().title, "Re-engagement message");
}

async fn a_batch_of_statuses_ends_like_the_same_statuses_one_by_one(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    use DeliveryStatus::*;
    // about messages p.a, p.b, p.c and an unknown p.x: out of order, repeated, failing with and
    // without codes, with fees on two statuses of one message
    let reports = |p: &str| {
        let report = |m: &str, s| status(&fx, &format!("{p}.{m}"), s);
        let failed = |m: &str, code: Option<i64>, title: &str| {
            let mut r = report(m, Failed);
            r.error = Some(DeliveryError { code, title: title.into(), details: code.map(|c| format!("see {c}")) });
            r
        };
        let with_fee = |mut r: StatusInput| {
            r.fee = Some(MicroUsd(4_000));
            r
        };
        vec![
            with_fee(report("a", Sent)),
            report("b", Sent),
            with_fee(report("a", Delivered)),
            report("a", Read),
            report("a", Delivered),
            failed("b", None, "first failure"),
            failed("b", None, "first failure"),
            report("b", Read),
            report("x", Sent),
            failed("c", Some(131047), "Re-engagement message"),
            failed("c", Some(131026), "Undeliverable"),
            report("c", Sent),
            report("a", Read),
        ]
    };
    for p in ["batch", "single"] {
        for m in ["a", "b", "c"] {
            sent_message(&store, &fx, &format!("{p}.{m}")).await;
        }
    }
    let shape = |outcomes: Vec<StatusOutcome>| -> Vec<String> {
        outcomes
            .into_iter()
            .map(|o| match o {
                StatusOutcome::Applied { status, .. } => format!("applied {}", status.as_str()),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let batch = shape(store.apply_statuses(&reports("batch"), now).await.unwrap());
    let mut single = Vec::new();
    for report in reports("single") {
        single.extend(store.apply_statuses(&[report], now).await.unwrap());
    }
    assert_eq!(batch, shape(single));
    let expected = [
        "applied sent",
        "applied sent",
        "applied delivered",
        "applied read",
        "Duplicate",
        "applied failed",
        "Duplicate",
        "applied failed",
        "UnknownMessage",
        "applied failed",
        "Duplicate",
        "applied failed",
        "Duplicate",
    ];
    assert_eq!(batch, expected);
    for m in ["a", "b", "c"] {
        let read = |p: &str| {
            let store = store.clone();
            let wamid = format!("{p}.{m}");
            async move { store.message_by_provider_id(fx.ws, &wamid).await.unwrap().unwrap() }
        };
        let (batched, one_by_one) = (read("batch").await, read("single").await);
        assert_eq!(
            (batched.status, &batched.error, batched.cost),
            (one_by_one.status, &one_by_one.error, one_by_one.cost),
            "message {m}"
        );
    }
    let batched = |m: &str| {
        let store = store.clone();
        let wamid = format!("batch.{m}");
        async move { store.message_by_provider_id(fx.ws, &wamid).await.unwrap().unwrap() }
    };
    let a = batched("a").await;
    assert_eq!((a.status, a.error, a.cost), (Read, None, MicroUsd(4_000)), "a fee is charged once");
    let b = batched("b").await;
    assert_eq!(b.status, Failed, "a failed message stays failed");
    assert_eq!(b.error, Some(DeliveryError { code: None, title: "first failure".into(), details: None }));
    let c = batched("c").await;
    let first =
        DeliveryError { code: Some(131047), title: "Re-engagement message".into(), details: Some("see 131047".into()) };
    assert_eq!((c.status, c.error), (Failed, Some(first)), "the first failure is the one kept");
    let again = shape(store.apply_statuses(&reports("batch"), now).await.unwrap());
    assert!(again.iter().all(|o| o == "Duplicate"), "{again:?}");
}

async fn statuses_for_unknown_messages_are_kept(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let update = status(&fx, "wamid.unknown", DeliveryStatus::Sent);
    assert_eq!(
        store.apply_statuses(std::slice::from_ref(&update), now).await.unwrap(),
        [StatusOutcome::UnknownMessage]
    );
    assert_eq!(store.apply_statuses(&[update], now).await.unwrap(), [StatusOutcome::Duplicate]);
}

async fn webhook_events_are_kept_per_workspace(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let event = |workspace_id, kind, body: &[u8]| NewWebhookEvent {
        workspace_id,
        provider: Provider::Meta,
        kind,
        field: Some("account_update".into()),
        phone_number_id: Some("123".into()),
        reason: Some("kept".into()),
        body: body.to_vec(),
    };
    let raw = b"{not json \xff".to_vec();
    store
        .record_webhook_events(
            &[
                event(Some(fx.ws), WebhookEventKind::Event, b"{}"),
                event(None, WebhookEventKind::DeadLetter, &raw),
                event(None, WebhookEventKind::Unrouted, b"{\"a\":1}"),
            ],
            now,
        )
        .await
        .unwrap();
    let mine = store.list_webhook_events(Some(fx.ws), None, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].field.as_deref(), Some("account_update"));
    let dead = store.list_webhook_events(None, Some(WebhookEventKind::DeadLetter), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, raw, "kept byte for byte");
    assert_eq!(store.list_webhook_events(None, None, 10).await.unwrap().len(), 2);
}

async fn business_app_echoes_are_agent_messages_that_ask_nothing(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let id = sent_message(&store, &fx, "wamid.echo").await;
    let message = store.message_by_provider_id(fx.ws, "wamid.echo").await.unwrap().unwrap();
    assert_eq!((message.id, message.role, message.status), (id, Role::Agent, DeliveryStatus::Sent));
    let conv = store.get_conversation(fx.ws, message.conversation_id).await.unwrap();
    assert_eq!((conv.message_count, conv.customer_message_count), (1, 0));
    assert_eq!(conv.last_customer_message_at, None, "only the customer opens the window");
    assert_eq!(
        store.claim_due("w", OffsetDateTime::now_utc() + Duration::hours(1), Duration::seconds(30)).await.unwrap(),
        None
    );
}

async fn a_stale_message_is_stored_with_a_note_and_not_answered(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut stale = fx.inbound("wamid.old", "+15550000001", "sent during the outage");
    stale.sent_at = now - Duration::hours(2);
    stale.wants_reply = false;
    stale.system_note = Some("Not answered: the message is 2 hours old".into());
    let IngestOutcome::Stored { conversation_id, .. } = store.ingest(&[stale], now).await.unwrap()[0] else { panic!() };
    let messages = store.list_messages(fx.ws, conversation_id, None, 10).await.unwrap();
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::System]);
    assert!(messages[1].content.contains("Not answered"));
    let conv = store.get_conversation(fx.ws, conversation_id).await.unwrap();
    assert_eq!((conv.message_count, conv.customer_message_count), (2, 1));
    assert_eq!(store.claim_due("w", now + Duration::hours(1), Duration::seconds(30)).await.unwrap(), None);
}

fn texts(contents: &[&str]) -> Vec<NewMessage> {
    contents.iter().map(|c| NewMessage::text(Role::Agent, *c)).collect()
}

async fn outbound_messages_leave_in_order_and_a_retry_holds_back_the_rest(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let phone = PhoneNumber::parse("+15550000001").unwrap();
    let conv = store.open_whatsapp_conversation(&fx.sender, &phone, now).await.unwrap();
    assert_eq!(
        store.open_whatsapp_conversation(&fx.sender, &phone, now).await.unwrap().id,
        conv.id,
        "found again, not doubled"
    );
    let ids = store.enqueue_outbound(fx.ws, conv.id, &texts(&["a", "b", "c"]), now).await.unwrap();
    let lease = Duration::seconds(30);

    let jobs = store.claim_outbound(now, lease, 10).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.message.id).collect::<Vec<_>>(), [ids[0]], "only the oldest of a conversation");
    let job = &jobs[0];
    assert_eq!(job.customer.phone.as_ref(), Some(&phone));
    assert_eq!(job.sender.as_ref().map(|s| s.id), Some(fx.sender.id));
    assert_eq!((job.attempts, job.message.status), (0, DeliveryStatus::Queued));
    assert!(store.claim_outbound(now, lease, 10).await.unwrap().is_empty(), "leased: not claimed twice");

    let error = DeliveryError { code: Some(130429), title: "Rate limit hit".into(), details: None };
    store.record_send_result(ids[0], SendResult::Retry { at: now + Duration::seconds(10), error }, now).await.unwrap();
    assert!(
        store.claim_outbound(now + Duration::seconds(5), lease, 10).await.unwrap().is_empty(),
        "b waits behind a's retry"
    );
    let retry = store.claim_outbound(now + Duration::seconds(10), lease, 10).await.unwrap();
    assert_eq!((retry[0].message.id, retry[0].attempts), (ids[0], 1));
    store.record_send_result(ids[0], SendResult::Sent { provider_message_id: "wamid.a".into() }, now).await.unwrap();
    let next = store.claim_outbound(now + Duration::seconds(10), lease, 10).await.unwrap();
    assert_eq!(next.iter().map(|j| j.message.id).collect::<Vec<_>>(), [ids[1]]);
    let sent = store.message_by_provider_id(fx.ws, "wamid.a").await.unwrap().unwrap();
    assert_eq!((sent.id, sent.status, sent.role), (ids[0], DeliveryStatus::Sent, Role::Agent));
    let conv = store.get_conversation(fx.ws, conv.id).await.unwrap();
    assert_eq!(conv.message_count, 3);
}

async fn a_status_reported_before_the_send_was_recorded_is_applied(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let conv =
        store.open_whatsapp_conversation(&fx.sender, &PhoneNumber::parse("+15550000001").unwrap(), now).await.unwrap();
    let ids = store.enqueue_outbound(fx.ws, conv.id, &texts(&["hello"]), now).await.unwrap();
    store.claim_outbound(now, Duration::seconds(30), 10).await.unwrap();
    // Meta's "delivered" webhook lands before our own send call returned
    let early = status(&fx, "wamid.fast", DeliveryStatus::Delivered);
    assert_eq!(store.apply_statuses(&[early], now).await.unwrap(), [StatusOutcome::UnknownMessage]);
    store.record_send_result(ids[0], SendResult::Sent { provider_message_id: "wamid.fast".into() }, now).await.unwrap();
    let message = store.message_by_provider_id(fx.ws, "wamid.fast").await.unwrap().unwrap();
    assert_eq!(message.status, DeliveryStatus::Delivered);
    // and later ones keep applying
    store.apply_statuses(&[status(&fx, "wamid.fast", DeliveryStatus::Read)], now).await.unwrap();
    assert_eq!(store.message_by_provider_id(fx.ws, "wamid.fast").await.unwrap().unwrap().status, DeliveryStatus::Read);
}

async fn failed_sends_are_final_and_senders_can_need_attention(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let conv =
        store.open_whatsapp_conversation(&fx.sender, &PhoneNumber::parse("+15550000001").unwrap(), now).await.unwrap();
    let ids = store.enqueue_outbound(fx.ws, conv.id, &texts(&["one", "two"]), now).await.unwrap();
    store.claim_outbound(now, Duration::seconds(30), 10).await.unwrap();
    let error = DeliveryError {
        code: Some(190),
        title: "Access token has expired".into(),
        details: Some("Session has expired".into()),
    };
    store.record_send_result(ids[0], SendResult::Failed { error }, now).await.unwrap();
    store.set_sender_status(fx.sender.id, SenderStatus::NeedsAttention).await.unwrap();
    let messages = store.list_messages(fx.ws, conv.id, None, 10).await.unwrap();
    assert_eq!(messages[0].status, DeliveryStatus::Failed);
    assert_eq!(messages[0].error.as_ref().and_then(|e| e.code), Some(190));
    assert_eq!(store.get_sender(fx.ws, fx.sender.id).await.unwrap().status, SenderStatus::NeedsAttention);
    let next = store.claim_outbound(now + Duration::minutes(1), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(
        next.iter().map(|j| j.message.id).collect::<Vec<_>>(),
        [ids[1]],
        "a failure does not hold back the rest"
    );
    let missing = store.enqueue_outbound(fx.ws, ConversationId::new(), &texts(&["x"]), now).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

async fn whatsapp_turn_replies_enter_the_outbox_other_channels_do_not(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    store.ingest(&[fx.inbound("wamid.q", "+15550000001", "question")], now).await.unwrap();
    let mut api = fx.inbound("api-q", "+15550000002", "question");
    api.conversation_type = ConversationType::Api;
    api.sender_id = None;
    api.customer = CustomerIdentity::External("crm-1".into());
    store.ingest(&[api], now).await.unwrap();
    for _ in 0..2 {
        let lease = store.claim_due("w", now, Duration::seconds(30)).await.unwrap().unwrap();
        let pending = store.turn_messages(&lease, 0).await.unwrap().0;
        store.commit_turn(&lease, reply(pending.through_seq, "answer"), now).await.unwrap();
    }
    let jobs = store.claim_outbound(now, Duration::seconds(30), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].conversation.kind, ConversationType::Whatsapp);
    assert_eq!(jobs[0].message.content, "answer");
}

/// Batches that share customers and messages, each in another order, from many connections
/// at once: every message is stored once, each customer gets one conversation whose inbound
/// seqs count its messages, and no batch fails (on PostgreSQL: no deadlock escapes).
async fn concurrent_overlapping_batches_store_each_message_once(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let messages: Vec<_> = (0..24)
        .map(|i| fx.inbound(&format!("wamid.o{i}"), &format!("+1555300{:04}", i % 8), &format!("m{i}")))
        .collect();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let mut batch = messages.clone();
            batch.rotate_left(t * 5 % 24);
            if t % 2 == 1 {
                batch.reverse();
            }
            let store = store.clone();
            tokio::spawn(async move { store.ingest(&batch, OffsetDateTime::now_utc()).await })
        })
        .collect();
    let mut stored = HashSet::new();
    let mut conversations = HashSet::new();
    for task in tasks {
        for outcome in task.await.unwrap().unwrap() {
            if let IngestOutcome::Stored { conversation_id, message_id, .. } = outcome {
                assert!(stored.insert(message_id));
                conversations.insert(conversation_id);
            }
        }
    }
    assert_eq!(stored.len(), 24, "every message stored exactly once");
    assert_eq!(conversations.len(), 8, "one conversation per customer");
    for id in conversations {
        let conv = store.get_conversation(fx.ws, id).await.unwrap();
        assert_eq!((conv.message_count, conv.customer_message_count), (3, 3));
        let lease = Lease {
            conversation_id: id,
            workspace_id: fx.ws,
            owner: "check".into(),
            token: 0,
            until: OffsetDateTime::now_utc(),
            answered_seq: 0,
        };
        assert_eq!(store.turn_messages(&lease, 0).await.unwrap().0.through_seq, 3);
    }
}

/// A delivery report and the send result that names its message, at the same moment: which
/// ever lands second sees the first, so the message always ends up delivered.
async fn a_status_racing_its_send_is_not_lost(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let conv =
        store.open_whatsapp_conversation(&fx.sender, &PhoneNumber::parse("+15550000001").unwrap(), now).await.unwrap();
    for i in 0..20 {
        let id = store.enqueue_outbound(fx.ws, conv.id, &texts(&["hi"]), now).await.unwrap()[0];
        let wamid = format!("wamid.race{i}");
        let report = {
            let (store, update) = (store.clone(), status(&fx, &wamid, DeliveryStatus::Delivered));
            tokio::spawn(async move { store.apply_statuses(&[update], now).await })
        };
        let send = {
            let (store, wamid) = (store.clone(), wamid.clone());
            tokio::spawn(async move {
                store.record_send_result(id, SendResult::Sent { provider_message_id: wamid }, now).await
            })
        };
        report.await.unwrap().unwrap();
        send.await.unwrap().unwrap();
        let message = store.message_by_provider_id(fx.ws, &wamid).await.unwrap().unwrap();
        assert_eq!(message.status, DeliveryStatus::Delivered, "round {i}");
    }
}

/// Several senders draining the outbox at once: each message is claimed once, and a
/// conversation never has two messages out at the same time, so they leave in order.
async fn concurrent_senders_send_each_message_once_in_order(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut expected = Vec::new();
    for c in 0..8 {
        let phone = PhoneNumber::parse(&format!("+1555400{c:04}")).unwrap();
        let conv = store.open_whatsapp_conversation(&fx.sender, &phone, now).await.unwrap();
        let ids = store.enqueue_outbound(fx.ws, conv.id, &texts(&["one", "two", "three"]), now).await.unwrap();
        expected.push((conv.id, ids));
    }
    let held = Arc::new(Mutex::new(HashSet::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (store, held, sent) = (store.clone(), held.clone(), sent.clone());
            tokio::spawn(async move {
                let mut idle = 0;
                while idle < 20 {
                    let jobs = store.claim_outbound(OffsetDateTime::now_utc(), Duration::seconds(60), 3).await.unwrap();
                    if jobs.is_empty() {
                        idle += 1;
                        tokio::task::yield_now().await;
                        continue;
                    }
                    idle = 0;
                    for job in &jobs {
                        assert!(
                            held.lock().unwrap().insert(job.conversation.id),
                            "two messages of one conversation out at once"
                        );
                    }
                    tokio::task::yield_now().await;
                    for job in jobs {
                        sent.lock().unwrap().push((job.conversation.id, job.message.id));
                        held.lock().unwrap().remove(&job.conversation.id);
                        let result = SendResult::Sent { provider_message_id: format!("wamid.{}", job.message.id) };
                        store.record_send_result(job.message.id, result, OffsetDateTime::now_utc()).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 24, "every message sent once");
    for (conversation_id, ids) in expected {
        let order: Vec<_> = sent.iter().filter(|(c, _)| *c == conversation_id).map(|(_, m)| *m).collect();
        assert_eq!(order, ids, "in order");
    }
}

async fn a_turn_can_hand_the_conversation_to_a_person(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    store.ingest(&[fx.inbound("wamid.h1", "+15550000001", "I want a person")], now).await.unwrap();
    let lease = store.claim_due("w", now, Duration::seconds(30)).await.unwrap().unwrap();
    let pending = store.turn_messages(&lease, 0).await.unwrap().0;
    let mut turn = reply(pending.through_seq, "A colleague will take over.");
    turn.messages.push(NewMessage::text(Role::System, "Handed over to a person"));
    turn.hand_over = true;
    store.commit_turn(&lease, turn, now).await.unwrap();
    let conv = store.get_conversation(fx.ws, lease.conversation_id).await.unwrap();
    assert!(!conv.ai_enabled);
    // later messages are stored, but nobody is due to answer them
    store.ingest(&[fx.inbound("wamid.h2", "+15550000001", "hello?")], now).await.unwrap();
    assert_eq!(store.claim_due("w", now + Duration::minutes(1), Duration::seconds(30)).await.unwrap(), None);
    assert_eq!(store.get_conversation(fx.ws, lease.conversation_id).await.unwrap().customer_message_count, 2);
}

async fn api_conversations_start_explicitly_and_ai_can_be_handed_back(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let mut variables = serde_json::Map::new();
    variables.insert("plan".into(), serde_json::json!("gold"));
    let new = NewConversation {
        workspace_id: fx.ws,
        assistant_id: fx.assistant.id,
        kind: ConversationType::Api,
        customer_identifier: Some("crm-7".into()),
        variables,
        first_message: Some("Hi! How can I help?".into()),
    };
    let conv = store.create_conversation(new.clone(), now).await.unwrap();
    assert_eq!(
        (conv.kind, conv.message_count, conv.variables["plan"].as_str()),
        (ConversationType::Api, 1, Some("gold"))
    );
    let opening = store.list_messages(fx.ws, conv.id, None, 10).await.unwrap();
    assert_eq!(
        (opening[0].role, opening[0].status),
        (Role::Assistant, DeliveryStatus::Delivered),
        "handed over in the API answer"
    );
    let again = store.create_conversation(new, now).await.unwrap();
    assert_eq!(again.customer_id, conv.customer_id, "the same identifier is the same customer");
    let customers = store.customers_by_ids(fx.ws, &[conv.customer_id]).await.unwrap();
    assert_eq!(customers[0].external_identifier.as_deref(), Some("crm-7"));
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.customers_by_ids(other.id, &[conv.customer_id]).await.unwrap().is_empty());

    // a person takes over; messages arrive; handing back does not make the AI answer them
    let IngestOutcome::Stored { conversation_id, .. } =
        store.ingest(&[fx.inbound("wamid.t1", "+15550000001", "hi")], now).await.unwrap()[0]
    else {
        panic!()
    };
    assert!(!store.set_conversation_ai(fx.ws, conversation_id, false).await.unwrap().ai_enabled);
    store.ingest(&[fx.inbound("wamid.t2", "+15550000001", "still there?")], now).await.unwrap();
    assert_eq!(store.claim_due("w", now + Duration::minutes(1), Duration::seconds(30)).await.unwrap(), None);
    assert!(store.set_conversation_ai(fx.ws, conversation_id, true).await.unwrap().ai_enabled);
    assert_eq!(store.claim_due("w", now + Duration::minutes(1), Duration::seconds(30)).await.unwrap(), None);
    store.ingest(&[fx.inbound("wamid.t3", "+15550000001", "new question")], now).await.unwrap();
    let lease = store.claim_due("w", now + Duration::minutes(1), Duration::seconds(30)).await.unwrap().unwrap();
    let pending = store.turn_messages(&lease, 0).await.unwrap().0;
    assert_eq!(pending.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["new question"]);
    assert!(matches!(store.set_conversation_ai(other.id, conversation_id, false).await, Err(StoreError::NotFound(_))));
}

async fn assistants_are_listed_updated_in_part_and_soft_deleted(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let other = store.create_workspace("Other").await.unwrap();
    let mut new = NewAssistant::new(fx.ws, "Sales", "You sell.");
    new.first_message = Some("Hello!".into());
    new.temperature = Some(Temperature::new(0.5).unwrap());
    let sales = store.create_assistant(new).await.unwrap();
    store.create_assistant(NewAssistant::new(other.id, "Theirs", "x")).await.unwrap();
    let listed: Vec<_> = store.list_assistants(fx.ws).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(listed, vec![fx.assistant.id, sales.id], "oldest first, this workspace only");

    let changes = AssistantChanges {
        name: Some("Sales team".into()),
        first_message: Some(None),
        response_delay: Some(ResponseDelay::from_millis(2000).unwrap()),
        tools: Some(vec![ToolName::parse("transfer_to_human").unwrap()]),
        ..AssistantChanges::default()
    };
    let updated = store.update_assistant(fx.ws, sales.id, changes.clone()).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.first_message.as_deref(), updated.response_delay.as_millis()),
        ("Sales team", None, 2000)
    );
    assert_eq!(updated.tools.len(), 1);
    // what was not named stays as it was
    assert_eq!((updated.system_prompt.as_str(), updated.temperature), ("You sell.", sales.temperature));
    assert_eq!(updated.created_at, sales.created_at);
    assert!(updated.updated_at > sales.updated_at, "updated_at moves on");
    assert_eq!(store.get_assistant(fx.ws, sales.id).await.unwrap(), updated);
    assert!(matches!(store.update_assistant(other.id, sales.id, changes.clone()).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_assistant(other.id, sales.id).await, Err(StoreError::NotFound(_))));

    store.delete_assistant(fx.ws, sales.id).await.unwrap();
    assert!(matches!(store.get_assistant(fx.ws, sales.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.update_assistant(fx.ws, sales.id, changes).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_assistant(fx.ws, sales.id).await, Err(StoreError::NotFound(_))));
    let listed: Vec<_> = store.list_assistants(fx.ws).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(listed, vec![fx.assistant.id]);
    // a deleted assistant cannot be linked to a sender
    let mut sender = fx.new_sender();
    sender.provider_sender_id = "777".into();
    sender.assistant_id = sales.id;
    assert!(matches!(store.create_sender(sender).await, Err(StoreError::NotFound("assistant"))));
    let relink = SenderChanges { assistant_id: Some(sales.id), ..SenderChanges::default() };
    assert!(matches!(store.update_sender(fx.ws, fx.sender.id, relink).await, Err(StoreError::NotFound("assistant"))));
}

async fn an_assistant_a_sender_uses_cannot_be_deleted_and_deleting_ends_its_conversations(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let err = store.delete_assistant(fx.ws, fx.assistant.id).await.unwrap_err();
    assert!(err.is_conflict_on(ASSISTANT_IN_USE, ASSISTANT_IN_USE), "{err:?}");
    assert!(store.get_assistant(fx.ws, fx.assistant.id).await.is_ok(), "still there");

    // a customer is waiting for an answer from the fixture's assistant
    let outcome = store.ingest(&[fx.inbound("wamid.del1", "+34600000001", "hola")], OffsetDateTime::now_utc()).await;
    let conversation_id = match outcome.unwrap()[0] {
        IngestOutcome::Stored { conversation_id, .. } => conversation_id,
        other => panic!("{other:?}"),
    };
    // the number moves to another assistant; the old one can go now
    let next = store.create_assistant(NewAssistant::new(fx.ws, "Next", "You help.")).await.unwrap();
    let relink = SenderChanges { assistant_id: Some(next.id), ..SenderChanges::default() };
    assert_eq!(store.update_sender(fx.ws, fx.sender.id, relink).await.unwrap().assistant_id, next.id);
    store.delete_assistant(fx.ws, fx.assistant.id).await.unwrap();
    let conversation = store.get_conversation(fx.ws, conversation_id).await.unwrap();
    assert_eq!(conversation.status, ConversationStatus::Ended);
    assert!(conversation.ended_at.is_some());
    let later = OffsetDateTime::now_utc() + Duration::hours(1);
    assert!(store.claim_due("w", later, Duration::minutes(1)).await.unwrap().is_none(), "nothing left to answer");
}

/// Senders, assistants and prices are read on every webhook and turn, and a backend may keep
/// them in memory: whatever it keeps, a read after a change answers the change.
async fn settings_read_again_after_a_change_are_the_changed_ones(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let read_all = || async {
        (
            store.get_sender(fx.ws, fx.sender.id).await.unwrap(),
            store.sender_by_provider_id(Provider::Meta, &fx.sender.provider_sender_id).await.unwrap(),
            store.get_assistant(fx.ws, fx.assistant.id).await.unwrap(),
        )
    };
    let (sender, by_provider_id, assistant) = read_all().await;
    assert_eq!(by_provider_id.as_ref(), Some(&sender));
    // read twice, so anything kept in memory is what answers next
    assert_eq!(read_all().await, (sender.clone(), by_provider_id, assistant.clone()));

    store.set_sender_status(fx.sender.id, SenderStatus::NeedsAttention).await.unwrap();
    let (sender, by_provider_id, _) = read_all().await;
    assert_eq!(sender.status, SenderStatus::NeedsAttention);
    assert_eq!(by_provider_id.map(|s| s.status), Some(SenderStatus::NeedsAttention));

    let next = store.create_assistant(NewAssistant::new(fx.ws, "Next", "You help.")).await.unwrap();
    let changes = SenderChanges { assistant_id: Some(next.id), ai_enabled: Some(false), ..SenderChanges::default() };
    store.update_sender(fx.ws, fx.sender.id, changes).await.unwrap();
    let (sender, by_provider_id, _) = read_all().await;
    assert_eq!((sender.assistant_id, sender.ai_enabled), (next.id, false));
    assert_eq!(by_provider_id.map(|s| (s.assistant_id, s.ai_enabled)), Some((next.id, false)));

    let renamed = AssistantChanges { name: Some("Renamed".into()), ..AssistantChanges::default() };
    store.update_assistant(fx.ws, fx.assistant.id, renamed).await.unwrap();
    assert_eq!(store.get_assistant(fx.ws, fx.assistant.id).await.unwrap().name, "Renamed");
    store.delete_assistant(fx.ws, fx.assistant.id).await.unwrap();
    assert!(matches!(store.get_assistant(fx.ws, fx.assistant.id).await, Err(StoreError::NotFound(_))));

    // a number nobody has linked, then linked
    assert!(store.sender_by_provider_id(Provider::Meta, "333").await.unwrap().is_none());
    let mut linked = fx.new_sender();
    linked.provider_sender_id = "333".into();
    linked.assistant_id = next.id;
    let linked = store.create_sender(linked).await.unwrap();
    assert_eq!(store.sender_by_provider_id(Provider::Meta, "333").await.unwrap().map(|s| s.id), Some(linked.id));
    assert_eq!(store.get_sender(fx.ws, linked.id).await.unwrap().id, linked.id);
    store.delete_sender(fx.ws, linked.id).await.unwrap();
    assert!(store.sender_by_provider_id(Provider::Meta, "333").await.unwrap().is_none());
    assert!(matches!(store.get_sender(fx.ws, linked.id).await, Err(StoreError::NotFound(_))));

    // the workspace's prices, read by every turn
    assert_eq!(store.price_table(fx.ws).await.unwrap(), None);
    let prices = serde_json::json!({ "currency": "USD", "first": 1 });
    store.set_price_table(fx.ws, &prices).await.unwrap();
    assert_eq!(store.price_table(fx.ws).await.unwrap(), Some(prices));
    let prices = serde_json::json!({ "currency": "USD", "second": 2 });
    store.set_price_table(fx.ws, &prices).await.unwrap();
    assert_eq!(store.price_table(fx.ws).await.unwrap(), Some(prices));
    store.delete_price_table(fx.ws).await.unwrap();
    assert_eq!(store.price_table(fx.ws).await.unwrap(), None);
}

async fn senders_are_listed_updated_and_deleted_only_without_conversations(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let other = store.create_workspace("Other").await.unwrap();
    let theirs = store.create_assistant(NewAssistant::new(other.id, "Theirs", "x")).await.unwrap();
    let mut second = fx.new_sender();
    second.provider_sender_id = "222".into();
    let second = store.create_sender(second).await.unwrap();
    let listed: Vec<_> = store.list_senders(fx.ws).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![fx.sender.id, second.id]);
    assert!(store.list_senders(other.id).await.unwrap().is_empty());

    let changes = SenderChanges {
        display_phone: Some(PhoneNumber::parse("+15550000002").unwrap()),
        access_token: Some(Secret::new("EAAG-rotated")),
        ai_enabled: Some(false),
        status: Some(SenderStatus::Offline),
        ..SenderChanges::default()
    };
    let updated = store.update_sender(fx.ws, second.id, changes.clone()).await.unwrap();
    assert_eq!(
        (updated.display_phone.as_str(), updated.access_token.expose(), updated.ai_enabled, updated.status),
        ("+15550000002", "EAAG-rotated", false, SenderStatus::Offline)
    );
    assert_eq!((updated.assistant_id, updated.provider_sender_id.as_str()), (fx.assistant.id, "222"));
    assert_eq!(store.get_sender(fx.ws, second.id).await.unwrap(), updated);
    assert!(matches!(store.update_sender(other.id, second.id, changes).await, Err(StoreError::NotFound("sender"))));
    let foreign = SenderChanges { assistant_id: Some(theirs.id), ..SenderChanges::default() };
    assert!(matches!(store.update_sender(fx.ws, second.id, foreign).await, Err(StoreError::NotFound("assistant"))));

    // a sender with a conversation keeps it: deleting is refused
    store.ingest(&[fx.inbound("wamid.s1", "+34600000002", "hi")], OffsetDateTime::now_utc()).await.unwrap();
    let err = store.delete_sender(fx.ws, fx.sender.id).await.unwrap_err();
    assert!(err.is_conflict_on(SENDER_IN_USE, SENDER_IN_USE), "{err:?}");
    assert!(store.get_sender(fx.ws, fx.sender.id).await.is_ok());

    // one without conversations goes, and its number can be linked again
    assert!(matches!(store.delete_sender(other.id, second.id).await, Err(StoreError::NotFound(_))));
    store.delete_sender(fx.ws, second.id).await.unwrap();
    assert!(matches!(store.get_sender(fx.ws, second.id).await, Err(StoreError::NotFound(_))));
    assert!(store.sender_by_provider_id(Provider::Meta, "222").await.unwrap().is_none());
    assert!(matches!(store.delete_sender(fx.ws, second.id).await, Err(StoreError::NotFound(_))));
    let mut again = fx.new_sender();
    again.provider_sender_id = "222".into();
    store.create_sender(again).await.unwrap();
}

/// An assistant reply as a turn would commit it.
fn answer(text: &str, cost: i64, response_time_ms: i64, payload: serde_json::Value) -> NewMessage {
    let mut message = NewMessage::text(Role::Assistant, text);
    message.cost = MicroUsd(cost);
    message.response_time_ms = Some(response_time_ms);
    message.payload = payload;
    message
}

/// Claims the one due conversation at `at` and commits `messages` `after` later.
async fn turn(store: &Arc<dyn Store>, at: OffsetDateTime, after: Duration, messages: Vec<NewMessage>, hand_over: bool) {
    let lease = store.claim_due("w", at, Duration::seconds(30)).await.unwrap().expect("a due conversation");
    let pending = store.turn_messages(&lease, 0).await.unwrap().0;
    let commit = TurnCommit { messages, hand_over, ..TurnCommit::nothing(pending.through_seq) };
    store.commit_turn(&lease, commit, at + after).await.unwrap();
}

/// Four conversations over two days (numbers worked out by hand in the comments).
async fn metrics_aggregate_a_known_workload(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let other_assistant = store.create_assistant(NewAssistant::new(fx.ws, "API desk", "Help.")).await.unwrap();
    let t0 = time::macros::datetime!(2026-03-10 09:00 UTC);
    let t1 = t0 + Duration::days(1);
    let quiet = |mut m: InboundMessage| {
        m.wants_reply = false;
        m
    };

    // conversation 0: started two days before the range; one unanswered message inside it
    store.ingest(&[quiet(fx.inbound("wamid.m0a", "+15550000004", "old"))], t0 - Duration::days(2)).await.unwrap();
    store
        .ingest(&[quiet(fx.inbound("wamid.m0b", "+15550000004", "back again"))], t0 + Duration::minutes(2))
        .await
        .unwrap();

    // conversation 1 (day 1): two questions, answered in 2 s and 4 s; the first reply fails
    store.ingest(&[fx.inbound("wamid.m1a", "+15550000001", "hi")], t0).await.unwrap();
    let latency = |ms: i64| serde_json::json!({ "model": "m", "llm_latency_ms": ms });
    turn(&store, t0, Duration::seconds(2), vec![answer("hello", 120, 2_000, latency(800))], false).await;
    let jobs = store.claim_outbound(t0 + Duration::seconds(2), Duration::seconds(30), 10).await.unwrap();
    let error = DeliveryError { code: Some(131026), title: "Message undeliverable".into(), details: None };
    store
        .record_send_result(jobs[0].message.id, SendResult::Failed { error }, t0 + Duration::seconds(3))
        .await
        .unwrap();
    store.ingest(&[fx.inbound("wamid.m1b", "+15550000001", "thanks")], t0 + Duration::seconds(60)).await.unwrap();
    turn(
        &store,
        t0 + Duration::seconds(60),
        Duration::seconds(4),
        vec![answer("welcome", 120, 4_000, latency(1_000))],
        false,
    )
    .await;

    // conversation 3 (day 1): an API conversation of the other assistant, answered in 8 s
    let mut api = fx.inbound("api-m3", "+15550000003", "question");
    api.conversation_type = ConversationType::Api;
    api.sender_id = None;
    api.assistant_id = other_assistant.id;
    api.customer = CustomerIdentity::External("crm-m3".into());
    store.ingest(&[api], t0 + Duration::seconds(30)).await.unwrap();
    turn(
        &store,
        t0 + Duration::seconds(30),
        Duration::seconds(8),
        vec![answer("answer", 300, 8_000, latency(1_200))],
        false,
    )
    .await;

    // conversation 2 (day 2): the LLM timed out; fallback in 6 s, handed over, a later message unanswered
    store.ingest(&[fx.inbound("wamid.m2a", "+15550000002", "help")], t1).await.unwrap();
    let fallback = answer("A person will answer.", 60, 6_000, serde_json::json!({ "llm_error": "timeout" }));
    let note = NewMessage::text(Role::System, "The assistant could not reach its LLM");
    turn(&store, t1, Duration::seconds(6), vec![fallback, note], true).await;
    store.ingest(&[fx.inbound("wamid.m2b", "+15550000002", "hello?")], t1 + Duration::seconds(10)).await.unwrap();

    let range = MetricsFilter {
        from: time::macros::datetime!(2026-03-10 00:00 UTC),
        to: time::macros::datetime!(2026-03-12 00:00 UTC),
        kind: None,
        assistant_id: None,
    };
    let m = store.metrics(fx.ws, &range).await.unwrap();
    assert_eq!(m.conversations, 3, "0 started before the range");
    assert_eq!(m.active_conversations, 4);
    // c0: 1, c1: 4, c3: 2, c2: 4 (with the system note)
    assert_eq!(m.messages, 11);
    assert_eq!(m.messages_per_conversation, Some(11.0 / 4.0));
    // c0's and c2's last go unanswered
    assert_eq!((m.customer_messages, m.answered_customer_messages), (6, 4));
    assert_eq!(m.response_rate, Some(4.0 / 6.0));
    assert_eq!(m.responses_timed, 4);
    assert_eq!(m.avg_response_time_ms, Some(5_000.0));
    assert_eq!(m.p90_response_time_ms, Some(8_000), "nearest rank: the 4th of 4");
    assert_eq!(m.total_cost_micros, 600);
    assert_eq!(m.cost_per_conversation_micros, Some(150));
    assert_eq!(m.avg_llm_latency_ms, Some(1_000.0));
    assert_eq!((m.llm_failures, m.timeouts), (1, 1));
    assert_eq!(m.failed_deliveries, 1);
    let daily: Vec<_> =
        m.daily.iter().map(|d| (d.date.to_string(), d.conversations, d.messages, d.cost_micros)).collect();
    assert_eq!(daily, [("2026-03-10".to_string(), 2, 7, 540), ("2026-03-11".to_string(), 1, 4, 60)]);

    // filters: the API conversation alone
    let api_only = MetricsFilter { kind: Some(ConversationType::Api), ..range };
    let by_assistant = MetricsFilter { assistant_id: Some(other_assistant.id), ..range };
    for filter in [api_only, by_assistant] {
        let m = store.metrics(fx.ws, &filter).await.unwrap();
        assert_eq!((m.conversations, m.messages, m.customer_messages, m.answered_customer_messages), (1, 2, 1, 1));
        assert_eq!((m.avg_response_time_ms, m.p90_response_time_ms), (Some(8_000.0), Some(8_000)));
        assert_eq!((m.total_cost_micros, m.cost_per_conversation_micros), (300, Some(300)));
        assert_eq!((m.llm_failures, m.failed_deliveries), (0, 0));
    }
    // WhatsApp of the first assistant: everything else
    let whatsapp =
        MetricsFilter { kind: Some(ConversationType::Whatsapp), assistant_id: Some(fx.assistant.id), ..range };
    let m = store.metrics(fx.ws, &whatsapp).await.unwrap();
    assert_eq!((m.conversations, m.active_conversations, m.messages), (2, 3, 9));
    // 2000, 4000, 6000: nearest-rank p90 is the 3rd
    assert_eq!((m.responses_timed, m.avg_response_time_ms, m.p90_response_time_ms), (3, Some(4_000.0), Some(6_000)));
    assert_eq!((m.total_cost_micros, m.cost_per_conversation_micros), (300, Some(100)));

    // the second day alone
    let day2 = MetricsFilter { from: time::macros::datetime!(2026-03-11 00:00 UTC), ..range };
    let m = store.metrics(fx.ws, &day2).await.unwrap();
    assert_eq!((m.conversations, m.messages, m.total_cost_micros, m.timeouts), (1, 4, 60, 1));
    assert_eq!(m.response_rate, Some(0.5));
    assert_eq!(m.daily.len(), 1);

    // another workspace sees none of it
    let other = store.create_workspace("Other").await.unwrap();
    let m = store.metrics(other.id, &range).await.unwrap();
    assert_eq!((m.conversations, m.messages), (0, 0));

    assert_rollup_matches_a_rebuild(&store, fx.ws, &[range, api_only, by_assistant, whatsapp, day2]).await;
}

/// The metrics of every filter agree: as counted by the writes (deltas pending), after
/// compaction (twice: the second folds nothing), and after a rebuild from the raw history.
async fn assert_rollup_matches_a_rebuild(store: &Arc<dyn Store>, ws: WorkspaceId, filters: &[MetricsFilter]) {
    let incremental = metrics_of(store, ws, filters).await;
    store.compact_metrics().await.unwrap();
    assert_eq!(metrics_of(store, ws, filters).await, incremental, "after compaction");
    assert_eq!(store.compact_metrics().await.unwrap(), 0, "nothing left to fold");
    assert_eq!(metrics_of(store, ws, filters).await, incremental, "after compacting again");
    store.rebuild_metrics_rollup(Some(ws)).await.unwrap();
    assert_eq!(metrics_of(store, ws, filters).await, incremental, "after a rebuild");
    store.rebuild_metrics_rollup(None).await.unwrap();
    assert_eq!(metrics_of(store, ws, filters).await, incremental, "after a rebuild of all");
}

async fn metrics_of(store: &Arc<dyn Store>, ws: WorkspaceId, filters: &[MetricsFilter]) -> Vec<Metrics> {
    let mut all = Vec::with_capacity(filters.len());
    for filter in filters {
        all.push(store.metrics(ws, filter).await.unwrap());
    }
    all
}

/// Every write path that changes a counted quantity keeps the rollup exact: ingest (and a
/// re-delivery), turns with response times, latency and an LLM failure, an agent reply, a
/// failed delivery, a channel fee, a template start, an API conversation of a second
/// assistant, a widget conversation with an opening message, over two days.
async fn metrics_rollup_counts_every_write_path_like_a_rebuild(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let desk = store.create_assistant(NewAssistant::new(fx.ws, "API desk", "Help.")).await.unwrap();
    let t0 = time::macros::datetime!(2026-05-04 10:00 UTC);
    let t1 = t0 + Duration::days(1);
    let latency = |ms: i64| serde_json::json!({ "model": "m", "llm_latency_ms": ms });

    // c1 (WhatsApp, day 1): answered in 3 s, delivered at a fee, then failed; the re-delivery counts nothing
    store.ingest(&[fx.inbound("wamid.r1", "+15550000001", "hi")], t0).await.unwrap();
    let again = store.ingest(&[fx.inbound("wamid.r1", "+15550000001", "hi")], t0 + Duration::seconds(1)).await;
    assert_eq!(again.unwrap(), [IngestOutcome::Duplicate]);
    turn(&store, t0, Duration::seconds(3), vec![answer("hello", 100, 3_000, latency(900))], false).await;
    let c1 = store.claim_outbound(t0 + Duration::seconds(3), Duration::seconds(30), 10).await.unwrap();
    let sent = SendResult::Sent { provider_message_id: "wamid.o1".into() };
    store.record_send_result(c1[0].message.id, sent, t0 + Duration::seconds(4)).await.unwrap();
    let fee = StatusInput { fee: Some(MicroUsd(25_000)), ..status(&fx, "wamid.o1", DeliveryStatus::Sent) };
    store.apply_statuses(std::slice::from_ref(&fee), t0 + Duration::seconds(5)).await.unwrap();
    store.apply_statuses(&[fee], t0 + Duration::seconds(5)).await.unwrap();
    store.apply_statuses(&[status(&fx, "wamid.o1", DeliveryStatus::Failed)], t0 + Duration::seconds(6)).await.unwrap();

    // c2 (API, the other assistant, day 1): answered in 150 ms
    let mut api = fx.inbound("api-r3", "+15550000002", "question");
    api.conversation_type = ConversationType::Api;
    api.sender_id = None;
    api.assistant_id = desk.id;
    api.customer = CustomerIdentity::External("crm-r3".into());
    store.ingest(&[api], t0 + Duration::seconds(30)).await.unwrap();
    let quick = answer("answer", 300, 150, latency(400));
    turn(&store, t0 + Duration::seconds(30), Duration::milliseconds(150), vec![quick], false).await;

    // c1 again: a question a person answers
    let mut r2 = fx.inbound("wamid.r2", "+15550000001", "and?");
    r2.wants_reply = false;
    let conv1 = match store.ingest(&[r2], t0 + Duration::seconds(60)).await.unwrap()[0] {
        IngestOutcome::Stored { conversation_id, .. } => conversation_id,
        ref other => panic!("{other:?}"),
    };
    store.enqueue_outbound(fx.ws, conv1, &texts(&["A person here."]), t0 + Duration::seconds(90)).await.unwrap();

    // c3 (WhatsApp, day 2): a template start; the LLM times out on the reply (7.777 s), then silence
    let phone = PhoneNumber::parse("+15550000003").unwrap();
    let c3 = store.open_whatsapp_conversation(&fx.sender, &phone, t1).await.unwrap();
    store.enqueue_outbound(fx.ws, c3.id, &[NewMessage::text(Role::Assistant, "Your order shipped")], t1).await.unwrap();
    store.ingest(&[fx.inbound("wamid.r4", "+15550000003", "where?")], t1 + Duration::minutes(10)).await.unwrap();
    let fallback = answer("A person will answer.", 50, 7_777, serde_json::json!({ "llm_error": "timeout" }));
    let note = NewMessage::text(Role::System, "The assistant could not reach its LLM");
    turn(&store, t1 + Duration::minutes(10), Duration::milliseconds(7_777), vec![fallback, note], true).await;
    store.ingest(&[fx.inbound("wamid.r5", "+15550000003", "hello?")], t1 + Duration::minutes(20)).await.unwrap();

    // c4 (widget, day 2): an opening message, then a customer message nobody answers
    let opened = NewConversation {
        workspace_id: fx.ws,
        assistant_id: fx.assistant.id,
        kind: ConversationType::Widget,
        customer_identifier: Some("visitor-4".into()),
        variables: serde_json::Map::new(),
        first_message: Some("How can I help?".into()),
    };
    let c4 = store.create_conversation(opened, t1 + Duration::hours(1)).await.unwrap();
    let mut visitor = fx.inbound("widget-r6", "+15550000004", "just looking");
    visitor.conversation_type = ConversationType::Widget;
    visitor.sender_id = None;
    visitor.conversation_id = Some(c4.id);
    visitor.customer = CustomerIdentity::External("visitor-4".into());
    visitor.wants_reply = false;
    store.ingest(&[visitor], t1 + Duration::hours(1) + Duration::minutes(1)).await.unwrap();

    let range = MetricsFilter {
        from: time::macros::datetime!(2026-05-04 00:00 UTC),
        to: time::macros::datetime!(2026-05-06 00:00 UTC),
        kind: None,
        assistant_id: None,
    };
    let m = store.metrics(fx.ws, &range).await.unwrap();
    assert_eq!((m.conversations, m.active_conversations), (4, 4));
    // c1: r1, hello, r2, the person's; c2: 2; c3: template, r4, fallback, note, r5; c4: opening, visitor's
    assert_eq!(m.messages, 13);
    // r1, r2, r3, r4 answered; r5 and the visitor's not
    assert_eq!((m.customer_messages, m.answered_customer_messages), (6, 4));
    // 3000, 150, 7777: the mean is exact, the p90 (the 3rd of 3) to two significant digits
    assert_eq!((m.responses_timed, m.avg_response_time_ms), (3, Some(10_927.0 / 3.0)));
    assert_eq!(m.p90_response_time_ms, Some(7_700));
    assert_eq!((m.total_cost_micros, m.cost_per_conversation_micros), (25_450, Some(6_363)));
    assert_eq!(m.avg_llm_latency_ms, Some(650.0));
    assert_eq!((m.llm_failures, m.timeouts, m.failed_deliveries), (1, 1, 1));
    let daily: Vec<_> =
        m.daily.iter().map(|d| (d.date.to_string(), d.conversations, d.messages, d.cost_micros)).collect();
    assert_eq!(daily, [("2026-05-04".to_string(), 2, 6, 25_400), ("2026-05-05".to_string(), 2, 7, 50)]);

    // a range counts the whole UTC days it touches
    let partial = MetricsFilter { from: t0 + Duration::hours(5), to: t1 + Duration::hours(1), ..range };
    assert_eq!(store.metrics(fx.ws, &partial).await.unwrap(), m);

    let api_only = MetricsFilter { kind: Some(ConversationType::Api), ..range };
    let by_desk = MetricsFilter { assistant_id: Some(desk.id), ..range };
    for filter in [api_only, by_desk] {
        let m = store.metrics(fx.ws, &filter).await.unwrap();
        assert_eq!((m.conversations, m.active_conversations, m.messages, m.answered_customer_messages), (1, 1, 2, 1));
        assert_eq!((m.p90_response_time_ms, m.total_cost_micros), (Some(150), 300));
    }
    let whatsapp = MetricsFilter { kind: Some(ConversationType::Whatsapp), ..range };
    let m = store.metrics(fx.ws, &whatsapp).await.unwrap();
    assert_eq!((m.conversations, m.active_conversations, m.messages), (2, 2, 9));
    assert_eq!((m.customer_messages, m.answered_customer_messages, m.total_cost_micros), (4, 3, 25_150));
    assert_eq!((m.responses_timed, m.p90_response_time_ms), (2, Some(7_700)));
    let day2 = MetricsFilter { from: time::macros::datetime!(2026-05-05 00:00 UTC), ..range };
    let m = store.metrics(fx.ws, &day2).await.unwrap();
    assert_eq!((m.conversations, m.active_conversations, m.messages), (2, 2, 7));
    assert_eq!((m.customer_messages, m.answered_customer_messages, m.failed_deliveries), (3, 1, 0));

    let widget = MetricsFilter { kind: Some(ConversationType::Widget), ..range };
    let mine = MetricsFilter { assistant_id: Some(fx.assistant.id), ..range };
    assert_rollup_matches_a_rebuild(&store, fx.ws, &[range, partial, api_only, by_desk, whatsapp, day2, widget, mine])
        .await;
}

/// Ingest counts what it stores in the rollup exactly as a rebuild would, in the cases that
/// depend on more than the batch: a customer message stored after a reply created later than
/// it (a clock ahead) is answered; a note is a message; a batch with a business-app echo
/// answers its own customer message and the one stored before; first messages of two
/// customers in one batch start two conversations.
async fn ingest_counts_its_messages_in_the_rollup_like_a_rebuild(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t0 = time::macros::datetime!(2026-06-01 10:00 UTC);
    let quiet = |mut m: InboundMessage| {
        m.wants_reply = false;
        m
    };

    let first = store.ingest(&[quiet(fx.inbound("wamid.a1", "+15550000001", "hi"))], t0).await.unwrap();
    let IngestOutcome::Stored { conversation_id, .. } = first[0] else { panic!("{first:?}") };
    store.enqueue_outbound(fx.ws, conversation_id, &texts(&["Hello!"]), t0 + Duration::seconds(10)).await.unwrap();
    store.ingest(&[quiet(fx.inbound("wamid.a2", "+15550000001", "thanks"))], t0 + Duration::seconds(5)).await.unwrap();

    let mut stale = quiet(fx.inbound("wamid.b1", "+15550000002", "old"));
    stale.system_note = Some("Not answered automatically".into());
    store.ingest(&[stale], t0 + Duration::seconds(20)).await.unwrap();
    let mut echo = quiet(fx.inbound("wamid.b2", "+15550000002", "We are on it"));
    echo.role = Role::Agent;
    store
        .ingest(&[quiet(fx.inbound("wamid.b3", "+15550000002", "?")), echo], t0 + Duration::seconds(30))
        .await
        .unwrap();

    let batch = [
        quiet(fx.inbound("wamid.c1", "+15550000003", "a")),
        quiet(fx.inbound("wamid.c2", "+15550000004", "b")),
        quiet(fx.inbound("wamid.c3", "+15550000003", "c")),
        quiet(fx.inbound("wamid.c1", "+15550000003", "a")),
    ];
    store.ingest(&batch, t0 + Duration::seconds(40)).await.unwrap();
    store.ingest(&batch[..2], t0 + Duration::seconds(50)).await.unwrap();

    let range = MetricsFilter {
        from: time::macros::datetime!(2026-06-01 00:00 UTC),
        to: time::macros::datetime!(2026-06-02 00:00 UTC),
        kind: None,
        assistant_id: None,
    };
    let m = store.metrics(fx.ws, &range).await.unwrap();
    assert_eq!(m.conversations, 4);
    // a1, the reply, a2; b1, its note, b3, the echo; c1, c2, c3
    assert_eq!(m.messages, 10);
    // a1 and a2 by the reply, b1 and b3 by the echo
    assert_eq!((m.customer_messages, m.answered_customer_messages), (7, 4));
    assert_rollup_matches_a_rebuild(&store, fx.ws, &[range]).await;
}

async fn metrics_of_an_empty_range_are_zero(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let range = MetricsFilter {
        from: time::macros::datetime!(2026-01-01 00:00 UTC),
        to: time::macros::datetime!(2026-01-03 12:00 UTC),
        kind: None,
        assistant_id: None,
    };
    let m = store.metrics(fx.ws, &range).await.unwrap();
    assert_eq!((m.conversations, m.active_conversations, m.messages, m.total_cost_micros), (0, 0, 0, 0));
    assert_eq!((m.messages_per_conversation, m.response_rate, m.cost_per_conversation_micros), (None, None, None));
    assert_eq!((m.avg_response_time_ms, m.p90_response_time_ms, m.avg_llm_latency_ms), (None, None, None));
    assert_eq!((m.llm_failures, m.timeouts, m.failed_deliveries), (0, 0, 0));
    let days: Vec<_> = m.daily.iter().map(|d| (d.date.to_string(), d.messages)).collect();
    assert_eq!(days, [("2026-01-01".into(), 0), ("2026-01-02".into(), 0), ("2026-01-03".to_string(), 0)]);
}

async fn conversations_end_by_turn_or_after_inactivity(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t = OffsetDateTime::now_utc();
    // ended by a turn: the next message starts a new conversation
    store.ingest(&[fx.inbound("wamid.e1", "+15550000001", "bye")], t).await.unwrap();
    let lease = store.claim_due("w", t, Duration::seconds(30)).await.unwrap().unwrap();
    let pending = store.turn_messages(&lease, 0).await.unwrap().0;
    let mut turn = reply(pending.through_seq, "Goodbye!");
    turn.end = true;
    store.commit_turn(&lease, turn, t).await.unwrap();
    let ended = store.get_conversation(fx.ws, lease.conversation_id).await.unwrap();
    assert_eq!(ended.status, ConversationStatus::Ended);
    assert!(ended.ended_at.is_some());
    let next = store.ingest(&[fx.inbound("wamid.e2", "+15550000001", "one more thing")], t).await.unwrap();
    assert!(
        matches!(next[0], IngestOutcome::Stored { conversation_id, conversation_created: true, .. } if conversation_id != lease.conversation_id)
    );

    // ended after the assistant's inactivity timeout (30 min), unless work is due
    let mut quiet = fx.inbound("wamid.q1", "+15550000002", "thanks");
    quiet.wants_reply = false;
    let IngestOutcome::Stored { conversation_id: quiet_id, .. } = store.ingest(&[quiet], t).await.unwrap()[0] else {
        panic!()
    };
    assert!(store.end_inactive(t + Duration::minutes(29), 100).await.unwrap().is_empty());
    let swept = store.end_inactive(t + Duration::minutes(31), 100).await.unwrap();
    assert!(swept.contains(&quiet_id), "{swept:?}");
    assert!(!swept.contains(&lease.conversation_id), "already ended");
    let due_conversation = match next[0] {
        IngestOutcome::Stored { conversation_id, .. } => conversation_id,
        _ => unreachable!(),
    };
    assert!(!swept.contains(&due_conversation), "work is due: not ended under it");
    assert_eq!(store.get_conversation(fx.ws, quiet_id).await.unwrap().status, ConversationStatus::Ended);
}

async fn recent_messages_are_the_newest_oldest_first(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t = OffsetDateTime::now_utc();
    let batch: Vec<_> = (0..7).map(|i| fx.inbound(&format!("wamid.r{i}"), "+15550000001", &format!("m{i}"))).collect();
    let IngestOutcome::Stored { conversation_id, .. } = store.ingest(&batch, t).await.unwrap()[0] else { panic!() };
    let recent = store.recent_messages(fx.ws, conversation_id, 3).await.unwrap();
    assert_eq!(recent.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["m4", "m5", "m6"]);
    assert_eq!(store.recent_messages(fx.ws, conversation_id, 100).await.unwrap().len(), 7);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.recent_messages(other.id, conversation_id, 100).await.unwrap().is_empty());
}

async fn the_message_export_pages_across_conversations_in_list_order(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t = OffsetDateTime::now_utc();
    // conversation i has i messages, all stored at one instant (so ids break the ties)
    for i in 1..=5 {
        let batch: Vec<_> = (0..i)
            .map(|m| {
                fx.inbound(&format!("wamid.e{i}-{m}"), &format!("+1555300{i:04}"), &format!("c{i} m{m}, \"q\"\n✓\\"))
            })
            .collect();
        store.ingest(&batch, t + Duration::seconds(i)).await.unwrap();
    }
    // one without messages, and one of another type
    let new_conversation = |kind| NewConversation {
        workspace_id: fx.ws,
        assistant_id: fx.assistant.id,
        kind,
        customer_identifier: None,
        variables: serde_json::Map::new(),
        first_message: None,
    };
    store.create_conversation(new_conversation(ConversationType::Test), t + Duration::seconds(7)).await.unwrap();
    let mut api = new_conversation(ConversationType::Api);
    api.first_message = Some("Welcome".into());
    let api = store.create_conversation(api, t + Duration::seconds(3)).await.unwrap();

    // what the export must give: the list's order, each conversation's messages in order, each
    // message exactly as it is read on its own
    let all = ConversationFilter::default();
    let listed = store.list_conversations(fx.ws, &all, PageRequest::first(100)).await.unwrap().items;
    let mut expected = Vec::new();
    for c in &listed {
        for m in store.list_messages(fx.ws, c.id, None, 100).await.unwrap() {
            expected.push((c.id, c.kind, m));
        }
    }
    assert_eq!(expected.len(), 1 + 2 + 3 + 4 + 5 + 1);

    let export = |filter: ConversationFilter, workspace: WorkspaceId, limit: u32| {
        let store = store.clone();
        async move {
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let batch = store.export_messages(workspace, &filter, after, limit).await.unwrap();
                assert!(batch.len() <= limit as usize);
                after = batch.last().map(ExportedMessage::cursor);
                let done = batch.len() < limit as usize;
                got.extend(batch.into_iter().map(|e| (e.message.conversation_id, e.conversation_type, e.message)));
                if done {
                    return got;
                }
            }
        }
    };
    // batches that end inside conversations, at their ends, and hold them all
    for limit in [1, 2, 3, 4, 16, 100] {
        assert_eq!(export(all.clone(), fx.ws, limit).await, expected, "batches of {limit}");
    }
    let api_only = ConversationFilter { kind: Some(ConversationType::Api), ..Default::default() };
    let got = export(api_only, fx.ws, 2).await;
    assert_eq!(
        got.iter().map(|e| (e.0, e.1, e.2.content.as_str())).collect::<Vec<_>>(),
        [(api.id, ConversationType::Api, "Welcome")]
    );
    let recent = ConversationFilter { from: Some(t + Duration::seconds(4)), ..Default::default() };
    assert_eq!(export(recent, fx.ws, 3).await.len(), 4 + 5);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(export(all, other.id, 10).await.is_empty());
}

async fn last_message_previews_are_read_for_a_page_at_once(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t = OffsetDateTime::now_utc();
    let IngestOutcome::Stored { conversation_id: long, .. } =
        store.ingest(&[fx.inbound("wamid.v1", "+15550000001", "older")], t).await.unwrap()[0]
    else {
        panic!()
    };
    store.ingest(&[fx.inbound("wamid.v2", "+15550000001", "ñandú, newest")], t + Duration::seconds(1)).await.unwrap();
    let IngestOutcome::Stored { conversation_id: short, .. } =
        store.ingest(&[fx.inbound("wamid.v3", "+15550000002", "hi")], t).await.unwrap()[0]
    else {
        panic!()
    };
    let empty = NewConversation {
        workspace_id: fx.ws,
        assistant_id: fx.assistant.id,
        kind: ConversationType::Test,
        customer_identifier: None,
        variables: serde_json::Map::new(),
        first_message: None,
    };
    let empty = store.create_conversation(empty, t).await.unwrap().id;
    let mut previews = store.last_message_previews(fx.ws, &[long, short, empty], 5).await.unwrap();
    previews.sort_by_key(|(id, _)| *id != long);
    assert_eq!(previews, [(long, "ñandú".to_string()), (short, "hi".to_string())]);
    assert!(store.last_message_previews(fx.ws, &[], 5).await.unwrap().is_empty());
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.last_message_previews(other.id, &[long, short], 5).await.unwrap().is_empty());
}

async fn dashboard_sessions_expire_and_log_out(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap();
    let user = store
        .create_user(NewUser {
            workspace_id: ws.id,
            email: Email::parse("agent@example.com").unwrap(),
            role: UserRole::Agent,
            password_hash: "$argon2id$x".into(),
        })
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let session = NewSession {
        token_hash: "hash-1".into(),
        user_id: user.id,
        csrf_token: "csrf-1".into(),
        expires_at: now + Duration::hours(1),
    };
    store.create_session(&session, now).await.unwrap();
    let found = store.session_by_hash("hash-1", now).await.unwrap().expect("live session");
    assert_eq!(found.user, user);
    assert_eq!(found.csrf_token, "csrf-1");
    assert!(store.session_by_hash("hash-1", now + Duration::hours(2)).await.unwrap().is_none(), "expired");
    assert!(store.session_by_hash("other", now).await.unwrap().is_none());
    store.delete_session("hash-1").await.unwrap();
    assert!(store.session_by_hash("hash-1", now).await.unwrap().is_none(), "logged out");
}

async fn a_setup_token_makes_one_owner_once(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap();
    let now = OffsetDateTime::now_utc();
    store.create_setup_token("setup-a", now + Duration::hours(1), now).await.unwrap();
    store.create_setup_token("setup-b", now + Duration::hours(1), now).await.unwrap();
    store.create_setup_token("setup-old", now - Duration::seconds(1), now - Duration::hours(1)).await.unwrap();
    assert!(store.setup_token_is_usable("setup-a", now).await.unwrap());
    assert!(!store.setup_token_is_usable("setup-old", now).await.unwrap(), "expired");
    assert!(!store.setup_token_is_usable("unknown", now).await.unwrap());
    let owner = |email: &str| NewUser {
        workspace_id: ws.id,
        email: Email::parse(email).unwrap(),
        role: UserRole::Owner,
        password_hash: "$argon2id$x".into(),
    };
    let made = store.redeem_setup_token("setup-a", owner("owner@example.com"), now).await.unwrap().expect("owner");
    assert_eq!(made.role, UserRole::Owner);
    assert!(store.redeem_setup_token("setup-a", owner("again@example.com"), now).await.unwrap().is_none(), "once");
    assert!(
        store.redeem_setup_token("setup-b", owner("second@example.com"), now).await.unwrap().is_none(),
        "once a user exists no token works"
    );
    assert!(!store.setup_token_is_usable("setup-b", now).await.unwrap());
    assert_eq!(store.count_users().await.unwrap(), 1);
}

async fn failed_deliveries_are_a_filter_and_conversations_can_be_ended(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let failing =
        store.open_whatsapp_conversation(&fx.sender, &PhoneNumber::parse("+15550000001").unwrap(), now).await.unwrap();
    let fine =
        store.open_whatsapp_conversation(&fx.sender, &PhoneNumber::parse("+15550000002").unwrap(), now).await.unwrap();
    let ids = store.enqueue_outbound(fx.ws, failing.id, &texts(&["one"]), now).await.unwrap();
    store.enqueue_outbound(fx.ws, fine.id, &texts(&["two"]), now).await.unwrap();
    store.claim_outbound(now, Duration::seconds(30), 10).await.unwrap();
    let error = DeliveryError { code: Some(131047), title: "Re-engagement message".into(), details: None };
    store.record_send_result(ids[0], SendResult::Failed { error }, now).await.unwrap();

    let filter = ConversationFilter { with_failed_deliveries: true, ..Default::default() };
    let found = store.list_conversations(fx.ws, &filter, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [failing.id]);
    let marked = store.conversations_with_failed_deliveries(fx.ws, &[failing.id, fine.id]).await.unwrap();
    assert_eq!(marked, [failing.id]);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.conversations_with_failed_deliveries(other.id, &[failing.id]).await.unwrap().is_empty());
    assert!(store.conversations_with_failed_deliveries(fx.ws, &[]).await.unwrap().is_empty());

    let ended = store.end_conversation(fx.ws, fine.id, now).await.unwrap();
    assert_eq!(ended.status, ConversationStatus::Ended);
    assert!(ended.ended_at.is_some());
    let again = store.end_conversation(fx.ws, fine.id, now + Duration::minutes(1)).await.unwrap();
    assert_eq!(again.ended_at, ended.ended_at, "ending twice changes nothing");
    assert!(matches!(store.end_conversation(other.id, failing.id, now).await, Err(StoreError::NotFound(_))));
}

/// Variables merge as a JSON merge patch, from a turn's commit and from a direct call; `null`
/// removes one; another workspace's conversation is not found.
async fn conversation_variables_merge_from_turns_and_calls(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    store.ingest(&[fx.inbound("wamid.v1", "+15550000001", "hi")], now).await.unwrap();
    let lease = store.claim_due("w", now, Duration::seconds(30)).await.unwrap().expect("due");
    let mut commit = reply(1, "hello");
    commit.variables.insert("email".into(), serde_json::json!("ana@example.com"));
    commit.variables.insert("party_size".into(), serde_json::json!(4));
    store.commit_turn(&lease, commit, now).await.unwrap();
    let c = store.get_conversation(fx.ws, lease.conversation_id).await.unwrap();
    assert_eq!(c.variables["email"], "ana@example.com");
    assert_eq!(c.variables["party_size"], 4);

    let patch = serde_json::json!({ "party_size": null, "plan": "pro" });
    let patch = patch.as_object().unwrap();
    let c = store.merge_conversation_variables(fx.ws, c.id, patch).await.unwrap();
    assert_eq!(c.variables.len(), 2, "{:?}", c.variables);
    assert_eq!(c.variables["plan"], "pro");
    assert_eq!(c.variables["email"], "ana@example.com");
    assert!(!c.variables.contains_key("party_size"));

    let other = store.create_workspace("Other").await.unwrap();
    let err = store.merge_conversation_variables(other.id, c.id, patch).await;
    assert!(matches!(err, Err(StoreError::NotFound(_))), "{err:?}");
}

/// A workspace's price table: none until set, replaced whole, its own, forgotten on delete.
async fn price_tables_are_per_workspace_and_replaceable(store: Arc<dyn Store>) {
    let a = store.create_workspace("A").await.unwrap().id;
    let b = store.create_workspace("B").await.unwrap().id;
    assert_eq!(store.price_table(a).await.unwrap(), None);
    let first = serde_json::json!({ "models": { "m": { "input_per_million": 1, "cached_input_per_million": 0, "output_per_million": 2 } } });
    let second = serde_json::json!({ "models": {}, "channel_fees": { "widget": 10 } });
    store.set_price_table(a, &first).await.unwrap();
    store.set_price_table(a, &second).await.unwrap();
    assert_eq!(store.price_table(a).await.unwrap(), Some(second));
    assert_eq!(store.price_table(b).await.unwrap(), None);
    store.delete_price_table(a).await.unwrap();
    store.delete_price_table(a).await.unwrap();
    assert_eq!(store.price_table(a).await.unwrap(), None);
}

/// A fee reported with a status is added to the message's cost and the conversation's total
/// once, however many statuses repeat it, also when it arrived before the send was recorded.
async fn channel_fees_reported_with_statuses_are_charged_once(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let now = OffsetDateTime::now_utc();
    let conv =
        store.open_whatsapp_conversation(&fx.sender, &PhoneNumber::parse("+15550000001").unwrap(), now).await.unwrap();
    let ids = store.enqueue_outbound(fx.ws, conv.id, &texts(&["template", "another"]), now).await.unwrap();
    store.claim_outbound(now, Duration::seconds(30), 10).await.unwrap();
    let charged = |wamid: &str, s: DeliveryStatus| StatusInput { fee: Some(MicroUsd(25_000)), ..status(&fx, wamid, s) };

    // the first: sent, then its statuses (each repeating the fee)
    store.record_send_result(ids[0], SendResult::Sent { provider_message_id: "wamid.t1".into() }, now).await.unwrap();
    let statuses = [
        charged("wamid.t1", DeliveryStatus::Sent),
        charged("wamid.t1", DeliveryStatus::Delivered),
        charged("wamid.t1", DeliveryStatus::Read),
    ];
    store.apply_statuses(&statuses, now).await.unwrap();
    store.apply_statuses(&statuses[..1], now).await.unwrap();
    // the second: its status beat the send result
    store.apply_statuses(&[charged("wamid.t2", DeliveryStatus::Delivered)], now).await.unwrap();
    store.record_send_result(ids[1], SendResult::Sent { provider_message_id: "wamid.t2".into() }, now).await.unwrap();
    store.apply_statuses(&[charged("wamid.t2", DeliveryStatus::Read)], now).await.unwrap();

    let messages = store.list_messages(fx.ws, conv.id, None, 10).await.unwrap();
    let costs: Vec<_> = messages.iter().map(|m| m.cost).collect();
    assert_eq!(costs, [MicroUsd(25_000), MicroUsd(25_000)]);
    let conversation = store.get_conversation(fx.ws, conv.id).await.unwrap();
    assert_eq!(conversation.total_cost, MicroUsd(50_000));
}

/// Ended conversations (and only those) are claimed for extraction, one claimant at a time
/// until the claim expires; the result and its cost are kept.
async fn ended_conversations_are_claimed_once_for_extraction(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t = OffsetDateTime::now_utc();
    store.ingest(&[fx.inbound("wamid.x1", "+15550000001", "bye")], t).await.unwrap();
    store.ingest(&[fx.inbound("wamid.x2", "+15550000002", "still here")], t).await.unwrap();
    let lease = store.claim_due("w", t, Duration::seconds(30)).await.unwrap().unwrap();
    let mut turn = reply(1, "Goodbye!");
    turn.end = true;
    store.commit_turn(&lease, turn, t).await.unwrap();
    let ended = lease.conversation_id;
    assert_eq!(store.get_conversation(fx.ws, ended).await.unwrap().extraction, ExtractionStatus::Pending);

    let claimed = store.claim_extractions(t, Duration::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [ended], "only the ended one");
    assert!(store.claim_extractions(t + Duration::minutes(1), Duration::minutes(5), 10).await.unwrap().is_empty());
    let again = store.claim_extractions(t + Duration::minutes(6), Duration::minutes(5), 10).await.unwrap();
    assert_eq!(again.len(), 1, "an expired claim comes back");

    let before = store.get_conversation(fx.ws, ended).await.unwrap();
    let extracted = serde_json::json!({ "status": "resolved", "summary": "Said goodbye." });
    let result = ExtractionResult {
        status: ExtractionStatus::Done,
        extracted: extracted.as_object().unwrap().clone(),
        cost: MicroUsd(300),
        tokens: 50,
    };
    store.finish_extraction(ended, result).await.unwrap();
    let after = store.get_conversation(fx.ws, ended).await.unwrap();
    assert_eq!(after.extraction, ExtractionStatus::Done);
    assert_eq!(after.extracted["summary"], "Said goodbye.");
    assert_eq!(after.total_cost, before.total_cost + MicroUsd(300));
    assert_eq!(after.total_tokens, before.total_tokens + 50);
    assert!(store.claim_extractions(t + Duration::hours(1), Duration::minutes(5), 10).await.unwrap().is_empty());
}

fn chunk(heading: &str, text: &str) -> NewChunk {
    NewChunk { heading: heading.into(), text: text.into() }
}

fn document(kb: KnowledgeBaseId, title: &str, chunks: Vec<NewChunk>) -> NewDocument {
    let content = chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n\n");
    NewDocument { knowledge_base_id: kb, title: title.into(), format: DocumentFormat::Md, content, chunks }
}

async fn knowledge_bases_and_documents_are_scoped_to_their_workspace(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap().id;
    let other = store.create_workspace("Other").await.unwrap().id;
    let faq = store.create_knowledge_base(ws, "FAQ").await.unwrap();
    let policies = store.create_knowledge_base(ws, "Policies").await.unwrap();
    let theirs = store.create_knowledge_base(other, "Theirs").await.unwrap();
    let listed: Vec<_> = store.list_knowledge_bases(ws).await.unwrap().into_iter().map(|kb| kb.id).collect();
    assert_eq!(listed, vec![faq.id, policies.id], "oldest first, this workspace only");
    assert_eq!(store.get_knowledge_base(ws, faq.id).await.unwrap(), faq);
    assert!(matches!(store.get_knowledge_base(other, faq.id).await, Err(StoreError::NotFound(_))));
    let renamed = store.rename_knowledge_base(ws, faq.id, "Questions").await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at), ("Questions", faq.created_at));
    assert!(matches!(store.rename_knowledge_base(other, faq.id, "x").await, Err(StoreError::NotFound(_))));

    let doc = store
        .add_document(
            ws,
            document(faq.id, "Hours", vec![chunk("Hours", "We open at nine."), chunk("", "Closed on Sundays.")]),
        )
        .await
        .unwrap();
    assert_eq!((doc.status, doc.chunk_count, doc.format), (DocumentStatus::Ready, 2, DocumentFormat::Md));
    assert_eq!(doc.content_chars, "We open at nine.\n\nClosed on Sundays.".chars().count() as i64);
    // a document can only go into the workspace's own knowledge base
    assert!(matches!(
        store.add_document(other, document(faq.id, "Sneaky", vec![chunk("", "x")])).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.add_document(ws, document(theirs.id, "Sneaky", vec![chunk("", "x")])).await,
        Err(StoreError::NotFound(_))
    ));
    let listed = store.list_documents(ws, faq.id).await.unwrap();
    assert_eq!(listed, vec![doc.clone()]);
    assert!(matches!(store.list_documents(other, faq.id).await, Err(StoreError::NotFound(_))));
    assert!(store.list_documents(ws, policies.id).await.unwrap().is_empty());
    let full = store.get_document(ws, faq.id, doc.id).await.unwrap();
    assert_eq!((full.document, full.content.as_str()), (doc.clone(), "We open at nine.\n\nClosed on Sundays."));
    assert!(matches!(store.get_document(other, faq.id, doc.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.get_document(ws, policies.id, doc.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_document(other, faq.id, doc.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_document(ws, policies.id, doc.id).await, Err(StoreError::NotFound(_))));
    // another workspace's knowledge bases are never searched
    assert!(store.search_knowledge(other, &[faq.id], "sundays", 5).await.unwrap().is_empty());
    assert_eq!(store.search_knowledge(ws, &[faq.id, theirs.id], "sundays", 5).await.unwrap().len(), 1);
    assert!(matches!(store.delete_knowledge_base(other, faq.id).await, Err(StoreError::NotFound(_))));

    // deleting a knowledge base detaches it from the assistants that used it
    let mut new = NewAssistant::new(ws, "Desk", "x");
    new.knowledge_base_ids = vec![faq.id, policies.id];
    let assistant = store.create_assistant(new).await.unwrap();
    store.delete_knowledge_base(ws, faq.id).await.unwrap();
    assert!(matches!(store.get_knowledge_base(ws, faq.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.get_document(ws, faq.id, doc.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.get_assistant(ws, assistant.id).await.unwrap().knowledge_base_ids, vec![policies.id]);
    assert!(matches!(store.delete_knowledge_base(ws, faq.id).await, Err(StoreError::NotFound(_))));
}

async fn knowledge_search_ranks_the_matching_passage_first(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap().id;
    let kb = store.create_knowledge_base(ws, "FAQ").await.unwrap();
    let other_kb = store.create_knowledge_base(ws, "Other").await.unwrap();
    store
        .add_document(
            ws,
            document(
                kb.id,
                "Store guide",
                vec![
                    chunk("Opening hours", "We are open Monday to Friday from 9:00 to 18:00 and on Saturday mornings."),
                    chunk("Returns", "You can return any item within 30 days with the receipt for a full refund."),
                    chunk(
                        "Shipping",
                        "Orders ship within two working days. Shipping to the Canary Islands takes a week.",
                    ),
                ],
            ),
        )
        .await
        .unwrap();
    store
        .add_document(
            ws,
            document(
                kb.id,
                "Contact",
                vec![
                    chunk("Phone", "Call us on weekdays; the line is busiest on Monday mornings."),
                    chunk("E-mail", "Write to the help desk and we answer within a day."),
                ],
            ),
        )
        .await
        .unwrap();
    store
        .add_document(ws, document(other_kb.id, "Elsewhere", vec![chunk("", "Refund policy of elsewhere.")]))
        .await
        .unwrap();

    let found = store.search_knowledge(ws, &[kb.id], "How do I get a refund?", 5).await.unwrap();
    assert!(!found.is_empty());
    assert!(found[0].text.contains("full refund"), "{found:?}");
    assert_eq!((found[0].document_title.as_str(), found[0].heading.as_str()), ("Store guide", "Returns"));
    assert_eq!(found[0].knowledge_base_id, kb.id, "only the knowledge bases asked for");
    assert!(found.iter().all(|p| p.knowledge_base_id == kb.id));
    assert!(found.windows(2).all(|w| w[0].score >= w[1].score), "best first: {found:?}");

    // prefixes match ("open" finds "opening"); accents fold on SQLite, match as typed on PostgreSQL
    let found = store.search_knowledge(ws, &[kb.id], "when do you OPEN on saturday", 5).await.unwrap();
    assert_eq!(found[0].heading, "Opening hours", "{found:?}");
    let found = store.search_knowledge(ws, &[kb.id], "shipping canary islands", 1).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].heading, "Shipping");
    assert!(store.search_knowledge(ws, &[kb.id], "bicycle", 5).await.unwrap().is_empty());
    assert!(store.search_knowledge(ws, &[], "refund", 5).await.unwrap().is_empty());
    let both = store.search_knowledge(ws, &[kb.id, other_kb.id], "refund", 5).await.unwrap();
    assert_eq!(both.len(), 2);
}

async fn deleting_a_document_or_knowledge_base_removes_its_passages_from_search(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap().id;
    let kb = store.create_knowledge_base(ws, "FAQ").await.unwrap();
    let keep = store
        .add_document(ws, document(kb.id, "Keep", vec![chunk("", "Parking is free for customers.")]))
        .await
        .unwrap();
    let drop = store
        .add_document(
            ws,
            document(kb.id, "Drop", vec![chunk("", "Parking costs two euros."), chunk("", "Valet parking.")]),
        )
        .await
        .unwrap();
    assert_eq!(store.search_knowledge(ws, &[kb.id], "parking", 10).await.unwrap().len(), 3);
    store.delete_document(ws, kb.id, drop.id).await.unwrap();
    let found = store.search_knowledge(ws, &[kb.id], "parking", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].document_id, keep.id);
    assert!(matches!(store.delete_document(ws, kb.id, drop.id).await, Err(StoreError::NotFound(_))));
    // a new document after deletions is indexed as usual
    store.add_document(ws, document(kb.id, "Again", vec![chunk("", "Bike parking at the back.")])).await.unwrap();
    assert_eq!(store.search_knowledge(ws, &[kb.id], "parking", 10).await.unwrap().len(), 2);
    store.delete_knowledge_base(ws, kb.id).await.unwrap();
    assert!(store.search_knowledge(ws, &[kb.id], "parking", 10).await.unwrap().is_empty());
}

async fn odd_knowledge_queries_never_fail(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap().id;
    let kb = store.create_knowledge_base(ws, "FAQ").await.unwrap();
    store
        .add_document(
            ws,
            document(kb.id, "Quotes", vec![chunk("Near", "The \"near\" store is NEAR the station - open*.")]),
        )
        .await
        .unwrap();
    for query in [
        "",
        "   ",
        "\"",
        "\"unbalanced",
        "*",
        "open*",
        "-",
        "-open",
        "NEAR",
        "NEAR(store station)",
        "store NEAR/2 station",
        "AND OR NOT",
        "a:b",
        "heading:near",
        "(((",
        "'; DROP TABLE documents; --",
        "!@#$%^&*()_+{}|:<>?",
        "^open",
        "ñandú café 東京",
        "x",
    ] {
        let result = store.search_knowledge(ws, &[kb.id], query, 5).await;
        assert!(result.is_ok(), "query {query:?}: {result:?}");
    }
    assert!(store.search_knowledge(ws, &[kb.id], "\"", 5).await.unwrap().is_empty());
    assert_eq!(store.search_knowledge(ws, &[kb.id], "NEAR(station)", 5).await.unwrap().len(), 1);
    assert_eq!(store.search_knowledge(ws, &[kb.id], "-open*", 5).await.unwrap().len(), 1);
}

async fn assistants_keep_their_knowledge_mode(store: Arc<dyn Store>) {
    let ws = store.create_workspace("Acme").await.unwrap().id;
    let created = store.create_assistant(NewAssistant::new(ws, "Desk", "x")).await.unwrap();
    assert_eq!(created.knowledge_mode, KnowledgeMode::Tool);
    let mut new = NewAssistant::new(ws, "Prompted", "x");
    new.knowledge_mode = KnowledgeMode::Prompt;
    assert_eq!(store.create_assistant(new).await.unwrap().knowledge_mode, KnowledgeMode::Prompt);
    let changes = AssistantChanges { knowledge_mode: Some(KnowledgeMode::Prompt), ..AssistantChanges::default() };
    let updated = store.update_assistant(ws, created.id, changes).await.unwrap();
    assert_eq!(updated.knowledge_mode, KnowledgeMode::Prompt);
    assert_eq!(store.get_assistant(ws, created.id).await.unwrap().knowledge_mode, KnowledgeMode::Prompt);
}

fn http_tool_definition(name: &str) -> HttpToolDefinition {
    HttpToolDefinition {
        name: ToolName::parse(name).unwrap(),
        description: "Looks up an order".into(),
        method: HttpMethod::Get,
        url: UrlTemplate::parse("https://api.example.com/orders/{order_id}").unwrap(),
        headers: HttpToolHeaders::parse([("Authorization".to_string(), "Bearer sk-1".to_string())].into()).unwrap(),
        parameters: ParameterSchema::parse(serde_json::json!({
            "type": "object",
            "properties": { "order_id": { "type": "string" } },
            "required": ["order_id"],
        }))
        .unwrap(),
        timeout: HttpToolTimeout::from_secs(5).unwrap(),
    }
}

async fn http_tools_are_scoped_to_their_workspace_and_named_once(store: Arc<dyn Store>) {
    let acme = store.create_workspace("Acme").await.unwrap();
    let other = store.create_workspace("Other").await.unwrap();
    let tool = store.create_http_tool(acme.id, http_tool_definition("get_order")).await.unwrap();
    assert_eq!(tool.workspace_id, acme.id);
    assert_eq!(tool.definition, http_tool_definition("get_order"), "stored as given, header values included");
    assert_eq!(store.get_http_tool(acme.id, tool.id).await.unwrap(), tool);

    let err = store.create_http_tool(acme.id, http_tool_definition("get_order")).await.unwrap_err();
    assert!(err.is_conflict_on(HTTP_TOOL_NAME_TAKEN, "http_tools.workspace_id, http_tools.name"), "{err:?}");
    // the same name in another workspace is a different tool
    let theirs = store.create_http_tool(other.id, http_tool_definition("get_order")).await.unwrap();

    assert!(matches!(store.get_http_tool(other.id, tool.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        store.update_http_tool(other.id, tool.id, http_tool_definition("x")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(store.delete_http_tool(other.id, tool.id).await, Err(StoreError::NotFound(_))));

    let second = store.create_http_tool(acme.id, http_tool_definition("cancel_order")).await.unwrap();
    let names: Vec<_> =
        store.list_http_tools(acme.id).await.unwrap().into_iter().map(|t| t.definition.name.to_string()).collect();
    assert_eq!(names, ["cancel_order", "get_order"]);

    let mut changed = http_tool_definition("get_order_v2");
    changed.method = HttpMethod::Post;
    changed.headers = HttpToolHeaders::default();
    changed.timeout = HttpToolTimeout::from_secs(30).unwrap();
    let updated = store.update_http_tool(acme.id, tool.id, changed.clone()).await.unwrap();
    assert_eq!(updated.definition, changed);
    assert_eq!(updated.created_at, tool.created_at);
    assert!(updated.updated_at > tool.updated_at);
    let err = store.update_http_tool(acme.id, second.id, changed).await.unwrap_err();
    assert!(err.is_conflict_on(HTTP_TOOL_NAME_TAKEN, "http_tools.workspace_id, http_tools.name"), "{err:?}");

    store.delete_http_tool(acme.id, tool.id).await.unwrap();
    assert!(matches!(store.get_http_tool(acme.id, tool.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.list_http_tools(acme.id).await.unwrap().len(), 1);
    assert_eq!(store.list_http_tools(other.id).await.unwrap(), [theirs]);
}

async fn assistants_keep_their_data_fields_and_availability(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let fields = confab_domain::data_field::parse_data_fields(&serde_json::json!([
        {"name": "email", "type": "email", "required": true, "description": "Where we send the confirmation"},
        {"name": "size", "type": "enum", "options": ["S", "M"]},
    ]))
    .unwrap();
    let hours = Availability::parse(&serde_json::json!({
        "working_hours": {"mon": [["09:00", "17:00"]]}, "slot_minutes": 45, "timezone": "Europe/Madrid"
    }))
    .unwrap();
    let mut new = NewAssistant::new(fx.ws, "Bookings", "You book visits.");
    new.data_fields = fields.clone();
    new.availability = Some(hours.clone());
    let created = store.create_assistant(new).await.unwrap();
    assert_eq!((&created.data_fields, &created.availability), (&fields, &Some(hours.clone())));
    let read = store.get_assistant(fx.ws, created.id).await.unwrap();
    assert_eq!((read.data_fields, read.availability), (fields.clone(), Some(hours)));
    // the default assistant has neither
    assert_eq!((fx.assistant.data_fields.len(), fx.assistant.availability.clone()), (0, None));

    let cleared = store
        .update_assistant(
            fx.ws,
            created.id,
            AssistantChanges { availability: Some(None), name: Some("Renamed".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((cleared.name.as_str(), cleared.availability, cleared.data_fields), ("Renamed", None, fields));
}

/// Two API conversations of the fixture's assistant, for two customers.
async fn two_customers(store: &Arc<dyn Store>, fx: &Fixture) -> (Conversation, Conversation) {
    let mut conversations = Vec::new();
    for who in ["crm-ana", "crm-ben"] {
        let new = NewConversation {
            workspace_id: fx.ws,
            assistant_id: fx.assistant.id,
            kind: ConversationType::Api,
            customer_identifier: Some(who.into()),
            variables: serde_json::Map::new(),
            first_message: None,
        };
        conversations.push(store.create_conversation(new, OffsetDateTime::now_utc()).await.unwrap());
    }
    let ben = conversations.pop().unwrap();
    (conversations.pop().unwrap(), ben)
}

fn booking_for(fx: &Fixture, conversation: &Conversation, starts_at: OffsetDateTime) -> NewBooking {
    NewBooking {
        workspace_id: fx.ws,
        assistant_id: fx.assistant.id,
        conversation_id: Some(conversation.id),
        customer_id: Some(conversation.customer_id),
        customer_name: Some("Ana".into()),
        notes: None,
        starts_at,
        ends_at: starts_at + Duration::minutes(30),
    }
}

async fn concurrent_bookings_of_one_slot_book_it_exactly_once(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let (ana, ben) = two_customers(&store, &fx).await;
    let slot = time::macros::datetime!(2030-06-03 09:00 UTC);
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            let booking = booking_for(&fx, if i % 2 == 0 { &ana } else { &ben }, slot);
            tokio::spawn(async move { store.create_booking(booking, OffsetDateTime::now_utc()).await })
        })
        .collect();
    let (mut booked, mut refused) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(booking) => booked.push(booking),
            Err(StoreError::Conflict { constraint }) if constraint == BOOKING_SLOT_TAKEN => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((booked.len(), refused), (1, 23), "exactly one booking holds the slot");
    let held = store.bookings_between(fx.ws, fx.assistant.id, slot, slot + Duration::hours(1)).await.unwrap();
    assert_eq!(held, booked);
    assert_eq!((held[0].status, trunc(held[0].starts_at)), (BookingStatus::Booked, trunc(slot)));
    // the next slot is free
    store
        .create_booking(booking_for(&fx, &ana, slot + Duration::minutes(30)), OffsetDateTime::now_utc())
        .await
        .unwrap();
}

async fn bookings_are_cancelled_and_moved_only_by_their_customer(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let (ana, ben) = two_customers(&store, &fx).await;
    let now = OffsetDateTime::now_utc();
    let nine = time::macros::datetime!(2030-06-03 09:00 UTC);
    let ten = nine + Duration::hours(1);
    let mine = store.create_booking(booking_for(&fx, &ana, nine), now).await.unwrap();
    let his = store.create_booking(booking_for(&fx, &ben, ten), now).await.unwrap();

    // ranges see bookings that overlap them, and only live ones
    let day = store.bookings_between(fx.ws, fx.assistant.id, nine - Duration::hours(9), nine + Duration::hours(15));
    assert_eq!(day.await.unwrap().iter().map(|b| b.id).collect::<Vec<_>>(), [mine.id, his.id]);
    let inside = store.bookings_between(fx.ws, fx.assistant.id, nine + Duration::minutes(10), ten).await.unwrap();
    assert_eq!(inside.iter().map(|b| b.id).collect::<Vec<_>>(), [mine.id]);
    let ana_bookings = store.customer_bookings(fx.ws, fx.assistant.id, ana.customer_id, now).await.unwrap();
    assert_eq!(ana_bookings.iter().map(|b| b.id).collect::<Vec<_>>(), [mine.id]);
    let other = store.create_workspace("Other").await.unwrap();
    assert!(store.conversation_bookings(other.id, ana.id).await.unwrap().is_empty());
    assert!(store.bookings_between(other.id, fx.assistant.id, nine, ten).await.unwrap().is_empty());

    // another customer can neither cancel nor move it
    for result in [
        store.cancel_booking(fx.ws, mine.id, ben.customer_id, now).await,
        store.reschedule_booking(fx.ws, mine.id, ben.customer_id, ten, ten, now).await,
        store.cancel_booking(other.id, mine.id, ana.customer_id, now).await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound("booking"))), "{result:?}");
    }

    // moving onto a taken slot is refused and changes nothing
    let onto_taken =
        store.reschedule_booking(fx.ws, mine.id, ana.customer_id, ten, ten + Duration::minutes(30), now).await;
    assert!(
        matches!(&onto_taken, Err(StoreError::Conflict { constraint }) if constraint == BOOKING_SLOT_TAKEN),
        "{onto_taken:?}"
    );
    let eleven = ten + Duration::hours(1);
    let moved =
        store.reschedule_booking(fx.ws, mine.id, ana.customer_id, eleven, eleven + Duration::minutes(30), now).await;
    let moved = moved.unwrap();
    assert_eq!((moved.id, trunc(moved.starts_at)), (mine.id, trunc(eleven)));
    // nine is free again; another customer takes it
    store.create_booking(booking_for(&fx, &ben, nine), now).await.unwrap();

    // a cancelled booking frees its slot and cannot be cancelled twice
    let cancelled = store.cancel_booking(fx.ws, mine.id, ana.customer_id, now).await.unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert!(matches!(store.cancel_booking(fx.ws, mine.id, ana.customer_id, now).await, Err(StoreError::NotFound(_))));
    assert!(store.reschedule_booking(fx.ws, mine.id, ana.customer_id, nine, ten, now).await.is_err());
    store.create_booking(booking_for(&fx, &ben, eleven), now).await.unwrap();
    assert!(store.customer_bookings(fx.ws, fx.assistant.id, ana.customer_id, now).await.unwrap().is_empty());

    // the conversation keeps its history, cancelled bookings included
    let history = store.conversation_bookings(fx.ws, ana.id).await.unwrap();
    assert_eq!(history.iter().map(|b| (b.id, b.status)).collect::<Vec<_>>(), [(mine.id, BookingStatus::Cancelled)]);
}

/// After the end, a customer's message starts a new conversation by default; with
/// `after_end = reopen` it reopens the last ended one, whose extraction then runs again.
async fn a_message_after_the_end_starts_anew_or_reopens_as_the_assistant_says(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t = OffsetDateTime::now_utc();
    let end_it = |wamid: &'static str, phone: &'static str| {
        let store = store.clone();
        let inbound = fx.inbound(wamid, phone, "hello");
        async move {
            let IngestOutcome::Stored { conversation_id, .. } = store.ingest(&[inbound], t).await.unwrap()[0] else {
                panic!("stored")
            };
            let lease = store.claim_due("w", t, Duration::seconds(30)).await.unwrap().unwrap();
            let mut turn = TurnCommit::nothing(lease.answered_seq + 1);
            turn.end = true;
            store.commit_turn(&lease, turn, t).await.unwrap();
            conversation_id
        }
    };
    let first = end_it("wamid.a1", "+15550000001").await;
    let next = store.ingest(&[fx.inbound("wamid.a2", "+15550000001", "again")], t).await.unwrap();
    assert!(
        matches!(next[0], IngestOutcome::Stored { conversation_id, conversation_created: true, .. } if conversation_id != first)
    );

    let changes = AssistantChanges { after_end: Some(AfterEnd::Reopen), ..AssistantChanges::default() };
    assert_eq!(store.update_assistant(fx.ws, fx.assistant.id, changes).await.unwrap().after_end, AfterEnd::Reopen);
    let second = end_it("wamid.b1", "+15550000002").await;
    store.claim_extractions(t, Duration::minutes(5), 10).await.unwrap();
    let back = store.ingest(&[fx.inbound("wamid.b2", "+15550000002", "one more thing")], t).await.unwrap();
    assert!(
        matches!(back[0], IngestOutcome::Stored { conversation_id, conversation_created: false, .. } if conversation_id == second)
    );
    let reopened = store.get_conversation(fx.ws, second).await.unwrap();
    assert_eq!(reopened.status, ConversationStatus::Active);
    assert!(reopened.ended_at.is_none());
    assert_eq!(reopened.extraction, ExtractionStatus::Pending);
    assert_eq!(reopened.message_count, 2);
    // the extraction claimed before the reopening is dropped when it finishes
    let stale = ExtractionResult {
        status: ExtractionStatus::Done,
        extracted: serde_json::Map::new(),
        cost: MicroUsd(0),
        tokens: 0,
    };
    store.finish_extraction(second, stale).await.unwrap();
    assert_eq!(store.get_conversation(fx.ws, second).await.unwrap().extraction, ExtractionStatus::Pending);
}

async fn seeded_batches_derive_conversation_totals_from_their_messages(store: Arc<dyn Store>) {
    let fx = Fixture::new(&store).await;
    let t0 = trunc_time(OffsetDateTime::now_utc() - Duration::days(3));
    let customer = SeedCustomer {
        id: CustomerId::new(),
        workspace_id: fx.ws,
        phone: Some(PhoneNumber::parse("+34600111222").unwrap()),
        external_identifier: None,
        name: Some("Ana".into()),
        created_at: t0,
    };
    let conversation = SeedConversation {
        id: ConversationId::new(),
        workspace_id: fx.ws,
        kind: ConversationType::Whatsapp,
        status: ConversationStatus::Ended,
        assistant_id: fx.assistant.id,
        sender_id: Some(fx.sender.id),
        customer_id: customer.id,
        variables: serde_json::Map::new(),
        created_at: t0,
        ended_at: Some(t0 + Duration::hours(1)),
    };
    let message = |role: Role, n: i64, content: &str| SeedMessage {
        id: MessageId::new(),
        conversation_id: conversation.id,
        role,
        kind: MessageKind::Text,
        content: content.into(),
        payload: serde_json::Value::Null,
        provider_message_id: Some(format!("wamid.seed.{n}")),
        status: if role == Role::User { DeliveryStatus::Received } else { DeliveryStatus::Read },
        error: None,
        created_at: t0 + Duration::seconds(n),
        cost: MicroUsd(if role == Role::User { 0 } else { 150 }),
        usage: (role != Role::User).then_some(Usage { input_tokens: 100, output_tokens: 20, cached_input_tokens: 0 }),
        tool_call: None,
        response_time_ms: (role != Role::User).then_some(1200),
        llm_latency_ms: None,
    };
    let mut failed = message(Role::Assistant, 4, "Your order ships today.");
    failed.status = DeliveryStatus::Failed;
    failed.error = Some(DeliveryError { code: Some(131_026), title: "Message undeliverable".into(), details: None });
    let batch = SeedBatch {
        customers: vec![customer.clone()],
        conversations: vec![conversation.clone()],
        messages: vec![
            message(Role::User, 1, "Where is my order?"),
            message(Role::Assistant, 2, "Let me check."),
            message(Role::User, 3, "Thanks"),
            failed,
        ],
    };
    store.begin_bulk_load().await.unwrap();
    store.seed_batch(&batch).await.unwrap();
    store.end_bulk_load().await.unwrap();

    let c = store.get_conversation(fx.ws, conversation.id).await.unwrap();
    assert_eq!((c.message_count, c.customer_message_count, c.total_tokens, c.total_cost.0), (4, 2, 240, 300));
    assert_eq!(trunc(c.last_message_at), trunc(t0 + Duration::seconds(4)));
    assert_eq!(c.last_customer_message_at.map(trunc), Some(trunc(t0 + Duration::seconds(3))));
    assert_eq!(c.status, ConversationStatus::Ended);
    let messages = store.list_messages(fx.ws, c.id, None, 10).await.unwrap();
    assert_eq!(
        messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>()[..2],
        ["Where is my order?", "Let me check."]
    );
    assert_eq!(messages[3].error.as_ref().and_then(|e| e.code), Some(131_026));
    assert!(store.message_by_provider_id(fx.ws, "wamid.seed.3").await.unwrap().is_some());
    let found = store
        .list_conversations(
            fx.ws,
            &ConversationFilter { customer: Some("+34600111222".into()), ..Default::default() },
            PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    // nothing is due: the seeded history is answered
    assert!(store.claim_due("w", OffsetDateTime::now_utc(), Duration::seconds(30)).await.unwrap().is_none());
    // nor extracted after the fact
    assert_eq!(c.extraction, ExtractionStatus::Skipped);
    assert!(store.claim_extractions(OffsetDateTime::now_utc(), Duration::minutes(5), 10).await.unwrap().is_empty());
    let m = store
        .metrics(fx.ws, &MetricsFilter { from: t0, to: t0 + Duration::hours(1), kind: None, assistant_id: None })
        .await
        .unwrap();
    assert_eq!(
        (m.conversations, m.messages, m.customer_messages, m.total_cost_micros, m.failed_deliveries),
        (1, 4, 2, 300, 1)
    );

    // a message naming a conversation outside its batch is refused
    let stray = SeedBatch { messages: vec![message(Role::User, 9, "lost")], ..Default::default() };
    assert!(store.seed_batch(&stray).await.is_err());
}

fn trunc_time(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap()
}

fn template_definition(name: &str, language: &str, status: TemplateStatus) -> TemplateDefinition {
    TemplateDefinition {
        name: TemplateName::parse(name).unwrap(),
        language: language.into(),
        category: TemplateCategory::Utility,
        status,
        components: Template::body_components("Hi {{1}}, order {{2}} ships today."),
        twilio_content_sid: None,
    }
}

async fn templates_are_upserted_listed_and_reviewed_per_workspace(store: Arc<dyn Store>) {
    let acme = store.create_workspace("Acme").await.unwrap();
    let other = store.create_workspace("Other").await.unwrap();
    let shipped = store
        .upsert_template(acme.id, template_definition("order_shipped", "en_US", TemplateStatus::Approved))
        .await
        .unwrap();
    assert_eq!((shipped.workspace_id, shipped.body_text()), (acme.id, "Hi {{1}}, order {{2}} ships today."));
    assert_eq!(store.get_template(acme.id, shipped.id).await.unwrap(), shipped);
    let spanish = store
        .upsert_template(acme.id, template_definition("order_shipped", "es", TemplateStatus::Pending))
        .await
        .unwrap();
    assert_ne!(spanish.id, shipped.id, "another language is another template");
    let theirs = store
        .upsert_template(other.id, template_definition("order_shipped", "en_US", TemplateStatus::Approved))
        .await
        .unwrap();

    // the same name and language again replaces it, keeping its id
    let mut changed = template_definition("order_shipped", "en_US", TemplateStatus::Approved);
    changed.category = TemplateCategory::Marketing;
    changed.components = Template::body_components("Your order {{1}} is on its way.");
    changed.twilio_content_sid = Some("HXb5b62575e6e4ff6129ad7c8efe1f983e".into());
    let replaced = store.upsert_template(acme.id, changed).await.unwrap();
    assert_eq!((replaced.id, replaced.category), (shipped.id, TemplateCategory::Marketing));
    assert_eq!(replaced.twilio_content_sid.as_deref(), Some("HXb5b62575e6e4ff6129ad7c8efe1f983e"));
    assert_eq!(store.get_template(acme.id, shipped.id).await.unwrap(), replaced);
    assert_eq!(store.list_templates(acme.id, false).await.unwrap(), [replaced.clone(), spanish.clone()]);
    assert_eq!(
        store.list_templates(acme.id, true).await.unwrap(),
        std::slice::from_ref(&replaced),
        "only the approved"
    );

    // Meta's review applies to the workspace's template of that name and language only
    let name = TemplateName::parse("order_shipped").unwrap();
    let approved = store.set_template_status(acme.id, &name, "es", TemplateStatus::Approved).await.unwrap();
    assert_eq!(approved.map(|t| (t.id, t.status)), Some((spanish.id, TemplateStatus::Approved)));
    let unknown = TemplateName::parse("never_saved").unwrap();
    assert_eq!(store.set_template_status(acme.id, &unknown, "es", TemplateStatus::Rejected).await.unwrap(), None);
    store.set_template_status(acme.id, &name, "en_US", TemplateStatus::Paused).await.unwrap();
    assert_eq!(store.get_template(other.id, theirs.id).await.unwrap().status, TemplateStatus::Approved);
    let approved_ids: Vec<_> = store.list_templates(acme.id, true).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(approved_ids, [spanish.id]);

    assert!(matches!(store.get_template(other.id, shipped.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_template(other.id, shipped.id).await, Err(StoreError::NotFound(_))));
    store.delete_template(acme.id, shipped.id).await.unwrap();
    assert!(matches!(store.get_template(acme.id, shipped.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.list_templates(acme.id, false).await.unwrap().len(), 1);
    assert_eq!(store.list_templates(other.id, false).await.unwrap(), [theirs]);
}

async fn a_role_change_never_leaves_a_workspace_without_an_owner(store: Arc<dyn Store>) {
    let acme = store.create_workspace("Acme").await.unwrap();
    let other = store.create_workspace("Other").await.unwrap();
    let user = |ws: WorkspaceId, email: &str, role: UserRole| NewUser {
        workspace_id: ws,
        email: Email::parse(email).unwrap(),
        role,
        password_hash: "$argon2id$x".into(),
    };
    let owner = store.create_user(user(acme.id, "owner@acme.test", UserRole::Owner)).await.unwrap();
    let agent = store.create_user(user(acme.id, "agent@acme.test", UserRole::Agent)).await.unwrap();
    let outsider = store.create_user(user(other.id, "owner@other.test", UserRole::Owner)).await.unwrap();

    let err = store.set_user_role(acme.id, owner.id, UserRole::Admin).await.unwrap_err();
    assert!(err.is_conflict_on(LAST_OWNER, LAST_OWNER), "{err:?}");
    assert!(matches!(store.set_user_role(acme.id, outsider.id, UserRole::Viewer).await, Err(StoreError::NotFound(_))));

    let promoted = store.set_user_role(acme.id, agent.id, UserRole::Owner).await.unwrap();
    assert_eq!((promoted.id, promoted.role), (agent.id, UserRole::Owner));
    // with a second owner, the first may step down; then the second is the last one
    assert_eq!(store.set_user_role(acme.id, owner.id, UserRole::Viewer).await.unwrap().role, UserRole::Viewer);
    assert!(store
        .set_user_role(acme.id, agent.id, UserRole::Agent)
        .await
        .unwrap_err()
        .is_conflict_on(LAST_OWNER, LAST_OWNER));
    // an owner may be "changed" to owner, and the other workspace's owner is untouched
    assert_eq!(store.set_user_role(acme.id, agent.id, UserRole::Owner).await.unwrap().role, UserRole::Owner);
    assert_eq!(store.list_users(other.id).await.unwrap()[0].role, UserRole::Owner);
}
