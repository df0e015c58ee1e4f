//! The event Channel: batching and coalescing (at most one message per 100 ms), and the
//! `events_subscribe` command streaming real engine events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_app::events::{forward, Pending};
use ferry_app::ipc::{ChannelControl, ChannelMessage};
use ferry_core::transfer::Phase;
use ferry_core::Event;
use serde_json::{json, Value};
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::Manager;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::support::{all_final, png, TestApp};

fn progress(id: i64, sent: u64) -> Event {
    Event::JobProgress {
        id,
        phase: Phase::Uploading,
        bytes_sent: sent,
        bytes_total: 1000,
        speed: 10,
        eta_secs: Some(1),
    }
}

#[test]
fn pending_events_keep_only_the_newest_progress_of_each_job_in_order() {
    let mut p = Pending::default();
    assert!(p.take().is_none());
    p.push(progress(1, 10));
    p.push(progress(2, 10));
    p.push(Event::LibraryChanged);
    p.push(progress(1, 20));
    let Some(ChannelMessage::Control(ChannelControl::Batch { events })) = p.take() else {
        panic!("several events travel as one batch");
    };
    let v = serde_json::to_value(&events).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[0]["type"], "jobProgress");
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[0]["bytesSent"], 20);
    assert_eq!(v[1]["id"], 2);
    assert_eq!(v[2]["type"], "libraryChanged");
    assert!(p.is_empty());

    p.push(Event::LibraryChanged);
    let one = serde_json::to_value(p.take().unwrap()).unwrap();
    assert_eq!(
        one,
        json!({ "type": "libraryChanged" }),
        "a lone event goes as is"
    );

    p.push(progress(1, 1));
    p.lagged(7);
    let lag = serde_json::to_value(p.take().unwrap()).unwrap();
    assert_eq!(lag, json!({ "type": "lagged", "missed": 7 }));
    assert!(
        p.take().is_none(),
        "events held across a lag are dropped: the UI reloads"
    );
}

#[test]
fn a_flood_of_progress_reaches_the_ui_as_at_most_ten_messages_a_second() {
    let (tx, rx) = broadcast::channel(100_000);
    let (_shell_tx, shell_rx) = broadcast::channel(8);
    let stop = CancellationToken::new();
    let got: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
    let sink = got.clone();
    let task = tauri::async_runtime::spawn(forward(rx, shell_rx, stop.clone(), move |m| {
        sink.lock()
            .unwrap()
            .push((Instant::now(), serde_json::to_value(m).unwrap()));
        true
    }));
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < Duration::from_millis(2000) {
        for id in 1..=4 {
            tx.send(progress(id, sent)).unwrap();
        }
        sent += 1;
        std::thread::sleep(Duration::from_micros(500));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.cancel();
    tauri::async_runtime::block_on(task).unwrap();
    let got = got.lock().unwrap();
    assert!(sent > 1000, "the flood was {sent} events per job");
    // Any one-second window holds at most 10 messages (+1 for the window's edge).
    for (i, (t0, _)) in got.iter().enumerate() {
        let in_window = got[i..]
            .iter()
            .take_while(|(t, _)| t.duration_since(*t0) < Duration::from_secs(1))
            .count();
        assert!(in_window <= 11, "{in_window} messages within a second");
    }
    assert!(
        got.len() >= 15,
        "progress kept flowing: {} messages",
        got.len()
    );
    // The newest progress of every job arrived.
    let (_, last) = got.last().unwrap();
    assert_eq!(last["type"], "batch");
    for e in last["events"].as_array().unwrap() {
        assert_eq!(e["bytesSent"], sent - 1);
    }
}

#[test]
fn events_subscribe_streams_the_engines_events_over_the_channel() {
    let t = TestApp::new();
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = got.clone();
    let channel: Channel<ChannelMessage> = Channel::new(move |body| {
        let InvokeResponseBody::Json(text) = body else {
            panic!("events travel as JSON");
        };
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(&text).unwrap());
        Ok(())
    });
    let state = t.app.state::<ferry_app::AppState>();
    ferry_app::commands::events::events_subscribe(t.webview.as_ref().clone(), state, channel)
        .unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "e.png", 4, 4);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "library", "origin": "drop" }),
    );
    t.wait_jobs(20, all_final);
    let deadline = Instant::now() + Duration::from_secs(5);
    let types = loop {
        let types: Vec<String> = got
            .lock()
            .unwrap()
            .iter()
            .flat_map(|m| match m["type"].as_str() {
                Some("batch") => m["events"].as_array().unwrap().clone(),
                _ => vec![m.clone()],
            })
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        if types.iter().any(|t| t == "jobSucceeded") || Instant::now() > deadline {
            break types;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        types.first().map(String::as_str),
        Some("jobAdded"),
        "{types:?}"
    );
    assert!(types.iter().any(|t| t == "jobSucceeded"), "{types:?}");
}

#[test]
fn events_subscribe_over_ipc_takes_a_channel_and_answers_null() {
    let t = TestApp::new();
    let res = t.ok("events_subscribe", json!({ "channel": "__CHANNEL__:7" }));
    assert_eq!(res, Value::Null);
    let (code, _) = t.err("queue_control", json!({ "action": "?", "id": null }));
    assert_eq!(code, "input.invalid");
}
