//! The hot paths of a message's trip, one at a time (`cargo bench --features ssr`): decoding the
//! sender's frame, encoding the broadcast, fanning it out to 1, 100 and 10,000 subscribers, storing
//! it (one at a time and in concurrent batches that group commit shares), and reading a history page
//! from a room of 1,000,000 messages. Results are recorded in docs/benchmarks.md.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use natter::protocol::{
    decode_client_frame, ChatMessage, MessageId, MessageKind, Revision, ServerFrame, UserId, GENERAL_ROOM_ID,
};
use natter::server::hub::Hub;
use natter::server::store::{self, NewMessage, Store, StoreLocation};
use tokio::runtime::Runtime;

fn sample_message(id: i64) -> ChatMessage {
    ChatMessage {
        id: MessageId(id),
        room_id: GENERAL_ROOM_ID,
        author_id: UserId(7),
        nickname: "alice".into(),
        body: "The quick brown fox jumps over the lazy dog, again and again, until lunch.".into(),
        sent_at: 1_764_000_000_000,
        client_msg_id: "c-0a1b2c3d4e5f".into(),
        kind: MessageKind::Chat,
        deleted: false,
        edited_at: None,
        rev: Revision::UNCHANGED,
        reactions: Vec::new(),
        file: None,
    }
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let send = r#"{"type":"send","room_id":1,"client_msg_id":"c-0a1b2c3d4e5f","body":"The quick brown fox jumps over the lazy dog, again and again, until lunch."}"#;
    group.bench_function("decode send", |b| b.iter(|| decode_client_frame(black_box(send))));
    let message = ServerFrame::Message { message: sample_message(1) };
    group.bench_function("encode message", |b| b.iter(|| black_box(&message).to_json()));
    group.finish();
}

/// One message published, then taken by every subscriber as its connection task would: receive,
/// check the audience, and clone the shared bytes it would write.
fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub fan-out");
    for subscribers in [1_usize, 100, 10_000] {
        let hub = Hub::new(1_024);
        let mut receivers: Vec<_> = (0..subscribers).map(|_| hub.subscribe()).collect();
        let mut next_id = 0;
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(BenchmarkId::from_parameter(subscribers), &subscribers, |b, _| {
            b.iter(|| {
                next_id += 1;
                hub.publish_messages(&[sample_message(next_id)]);
                for receiver in &mut receivers {
                    let batch = receiver.try_recv().expect("published just now");
                    for frame in batch.iter().filter(|frame| frame.is_for(UserId(7), |room| room == GENERAL_ROOM_ID)) {
                        black_box(frame.text.clone());
                    }
                }
            });
        });
    }
    group.finish();
}

fn new_message(author_id: UserId, n: u64) -> NewMessage {
    NewMessage {
        room_id: GENERAL_ROOM_ID,
        author_id,
        nickname: "bench".into(),
        body: "a message of ordinary length, as people write them in a busy room".into(),
        mentions: Vec::new(),
        client_msg_id: format!("bench-{n}"),
        kind: MessageKind::Chat,
        members_only: true,
        file: None,
    }
}

async fn bench_user(store: &dyn Store) -> UserId {
    let nickname = natter::server::identity::nickname("bench").expect("a valid nickname");
    store.create_user(nickname, vec![0; 32], i64::MAX).await.expect("user").id
}

/// Committed messages per second, with `synchronous=FULL` on a real file: one at a time (a commit
/// and an fsync each), and 200 at once from concurrent senders (group commit: one each per batch).
fn store_insert(c: &mut Criterion) {
    let runtime = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = runtime
        .block_on(store::open(&StoreLocation::Sqlite(dir.path().join("bench.db")), Box::new(|_| {})))
        .expect("store");
    let author = runtime.block_on(bench_user(store.as_ref()));
    let mut n = 0_u64;
    let mut group = c.benchmark_group("store insert");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(store.insert(new_message(author, n))).expect("insert")
        });
    });
    const CONCURRENT: u64 = 200;
    group.throughput(Throughput::Elements(CONCURRENT));
    group.bench_function("200 concurrent (group commit)", |b| {
        b.iter(|| {
            let inserts: Vec<_> = (0..CONCURRENT)
                .map(|_| {
                    n += 1;
                    let store = store.clone();
                    let message = new_message(author, n);
                    runtime.spawn(async move { store.insert(message).await })
                })
                .collect();
            runtime.block_on(async {
                for insert in inserts {
                    insert.await.expect("task").expect("insert");
                }
            });
        });
    });
    group.finish();
    runtime.block_on(store.shutdown());
}

const ROOM_SIZE: i64 = 1_000_000;

/// Fills `general` with a million messages directly through SQLite (the writer would take minutes at
/// one fsync per batch, and what is measured here is reading).
fn million_message_room(path: &Path, runtime: &Runtime) {
    let store =
        runtime.block_on(store::open(&StoreLocation::Sqlite(path.to_owned()), Box::new(|_| {}))).expect("store");
    let author = runtime.block_on(bench_user(store.as_ref()));
    runtime.block_on(store.shutdown());
    let mut conn = rusqlite::Connection::open(path).expect("open");
    let tx = conn.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO messages (room_id, author_id, nickname, body, sent_at, client_msg_id)
                 VALUES (?1, ?2, 'bench', ?3, ?4, ?5)",
            )
            .expect("statement");
        for n in 0..ROOM_SIZE {
            let body = format!("message number {n} in a very long-lived room");
            insert.execute((GENERAL_ROOM_ID, author, body, 1_700_000_000_000 + n, format!("seed-{n}"))).expect("row");
        }
    }
    tx.commit().expect("commit");
}

/// A page of 50 from a room of a million messages: the newest page, and one from the middle (a
/// reader scrolled far back), through the same read pool the server uses.
fn history_page(c: &mut Criterion) {
    let runtime = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("million.db");
    let filling = Instant::now();
    million_message_room(&path, &runtime);
    eprintln!("filled a room with {ROOM_SIZE} messages in {:.1?}", filling.elapsed());
    let store =
        runtime.block_on(store::open(&StoreLocation::Sqlite(path.to_owned()), Box::new(|_| {}))).expect("store");
    let mut group = c.benchmark_group("history page of 50 in a 1,000,000-message room");
    group.measurement_time(Duration::from_secs(5));
    for (name, before) in [("newest", None), ("middle", Some(MessageId(ROOM_SIZE / 2)))] {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(store.history(GENERAL_ROOM_ID, before, 50)).expect("page"));
        });
    }
    group.finish();
    runtime.block_on(store.shutdown());
}

criterion_group!(benches, frames, fan_out, store_insert, history_page);
criterion_main!(benches);
