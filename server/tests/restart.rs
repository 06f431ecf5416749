//! PostgreSQL going away and coming back: health says so, requests fail as `server` errors
//! and recover, and notices resume by themselves, with the commits made meanwhile announced.
//! A cluster of its own: the others' tests must not see it restart.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::client::{append, event, push_of, Client, Reply};
use support::{migrate, unique, Cluster, ServerProcess};

/// Pushes `body` until the server answers 200: right after a restart a pooled connection
/// may still be the broken one (`503`/`500`), and the client retries, as the sync engine
/// does. Bounded: fails after 100 tries.
async fn push_until_accepted(client: &Client, body: &serde_json::Value) -> Reply {
    for _ in 0..100 {
        let reply = client.push(body).await;
        if reply.status == 200 {
            return reply;
        }
        assert!(reply.status >= 500 && reply.json["error"] == "server", "{}", reply.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not recover");
}

#[tokio::test]
async fn the_server_rides_out_a_postgresql_restart() {
    let cluster = Cluster::start(&[("fsync", "off")]);
    migrate(&cluster.url);
    let tenant = unique("r");
    let a = ServerProcess::start(&cluster.url, &[("s", &tenant)], &[]);
    let b = ServerProcess::start(&cluster.url, &[("s", &tenant)], &[]);
    let (client_a, client_b) = (Client::new(&a.url, Some("s")), Client::new(&b.url, Some("s")));
    let health = |client: &Client| {
        let client = client.clone();
        async move { client.send(client.build(Method::GET, "/v1/health")).await }
    };
    let mut notices = client_b.notices().await;
    assert_eq!(notices.next_head().await, Some(0));

    cluster.pause();
    let down = health(&client_a).await;
    assert_eq!((down.status, down.json["error"].as_str()), (503, Some("server")), "{}", down.text);
    let refused = client_a.push(&push_of(vec![append("s", json!("any"), vec![event(1, json!(1))])])).await;
    assert!(refused.status >= 500 && refused.json["error"] == "server", "{}", refused.text);
    cluster.resume();

    // A commit while B's notice connection may still be reconnecting: announced either way.
    let reply = push_until_accepted(&client_a, &push_of(vec![append("s", json!("any"), vec![event(2, json!(2))])])).await;
    assert_eq!(reply.json["head"], 1);
    assert_eq!(notices.wait_for(1).await, 1);
    assert_eq!(health(&client_a).await.status, 200);

    // Once more, with a restart in one step; later commits are announced too.
    cluster.restart();
    let reply = push_until_accepted(&client_a, &push_of(vec![append("s", json!("any"), vec![event(3, json!(3))])])).await;
    assert_eq!(reply.json["head"], 2);
    assert_eq!(notices.wait_for(2).await, 2);
    let (events, head) = client_b.pull_all().await;
    assert_eq!((events.len(), head), (2, 2), "the refused push wrote nothing");
}
