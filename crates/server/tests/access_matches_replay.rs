//! `POST /v1/access` decides exactly as `hearth replay` on the same event stream:
//! the server and the batch tool call the same engine function.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::engine::{Engine, EngineConfig};
use hearth_events::geo::Enricher;
use hearth_events::simulate::SimOptions;
use hearth_server::testkit::TestServer;
use serde_json::Value;

#[tokio::test]
async fn the_api_and_replay_give_the_same_decisions() {
    let opts = SimOptions {
        accounts: 16,
        days: 2,
        seed: 7,
        ..Default::default()
    };
    let (mut events, mut truth) = (Vec::new(), Vec::new());
    hearth_events::simulate::run(&opts, &mut events, &mut truth).unwrap();
    let mut replayed = Vec::new();
    let engine = Engine::new(EngineConfig::default());
    hearth_events::replay::run(
        &engine,
        &Enricher::none(),
        &events[..],
        &mut replayed,
        None::<Vec<u8>>,
        false,
    )
    .unwrap();
    let replayed: Vec<Value> = String::from_utf8(replayed)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<&str> = std::str::from_utf8(&events).unwrap().lines().collect();
    assert_eq!(replayed.len(), lines.len());
    assert!(
        lines.len() > 200,
        "a meaningful stream: {} events",
        lines.len()
    );

    let s = TestServer::start(|_| {}).await;
    let c = reqwest::Client::new();
    let mut verdicts = std::collections::BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let r = c
            .post(s.url("/v1/access"))
            .bearer_auth(&s.api_key)
            .header("content-type", "application/json")
            .body(line.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "event {i}");
        let got: Value = r.json().await.unwrap();
        assert_eq!(got, replayed[i], "event {i}: {line}");
        *verdicts
            .entry(got["decision"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert!(
        verdicts.len() >= 2,
        "the stream exercises more than one outcome: {verdicts:?}"
    );
    s.stop().await;
}
