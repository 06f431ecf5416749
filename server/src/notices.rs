//! Head notices: PostgreSQL `NOTIFY` → every `GET /v1/notices` stream of the tenant.
//!
//! One `LISTEN` connection per process feeds a `watch` channel per tenant that has listeners
//! (several moves may fold into one: a notice only says "pull"). The connection reconnects by
//! itself with backoff when it breaks (a PostgreSQL restart), and once listening again re-reads
//! the heads of every watched tenant, so a commit made while it was away is still announced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::pg::{DbError, TenantId, HEAD_CHANNEL};

/// Per-tenant heads, as last announced. Cheap to clone: clones share the channels.
#[derive(Clone, Debug, Default)]
pub struct Notices {
    tenants: Arc<Mutex<HashMap<TenantId, watch::Sender<u64>>>>,
}

impl Notices {
    /// A receiver of `tenant`'s head as announced from now on. Its first value may be stale:
    /// read the head after subscribing and [`Notices::advance`] to it.
    pub fn subscribe(&self, tenant: TenantId) -> watch::Receiver<u64> {
        let mut tenants = self.tenants.lock().expect("notices lock");
        tenants.entry(tenant).or_insert_with(|| watch::channel(0).0).subscribe()
    }

    /// Announces that `tenant`'s head is at least `head`. Heads only move up; a tenant nobody
    /// listens to is forgotten.
    pub fn advance(&self, tenant: TenantId, head: u64) {
        let mut tenants = self.tenants.lock().expect("notices lock");
        if let Some(sender) = tenants.get(&tenant) {
            if sender.receiver_count() == 0 {
                tenants.remove(&tenant);
                return;
            }
            sender.send_if_modified(|known| {
                let moved = head > *known;
                if moved {
                    *known = head;
                }
                moved
            });
        }
    }

    /// The tenants someone listens to.
    pub fn watched(&self) -> Vec<TenantId> {
        let tenants = self.tenants.lock().expect("notices lock");
        tenants.iter().filter(|(_, s)| s.receiver_count() > 0).map(|(t, _)| *t).collect()
    }
}

/// The shortest and longest wait before reconnecting.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Listens to head notices on `url` until `stop` turns true, feeding `notices`; reconnects
/// with exponential backoff whenever the connection cannot be made or breaks.
pub async fn listen(url: String, notices: Notices, mut stop: watch::Receiver<bool>) {
    let mut wait = BACKOFF.0;
    loop {
        let session = listen_once(&url, &notices, &mut wait);
        tokio::select! {
            result = session => {
                if let Err(e) = result {
                    eprintln!("annals-server: notices: {e}; reconnecting in {} ms", wait.as_millis());
                }
            }
            _ = stop.wait_for(|s| *s) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        wait = (wait * 2).min(BACKOFF.1);
    }
}

/// One connection's life: `LISTEN`, catch up the watched heads, then relay notifications
/// until the connection ends. Resets `wait` once listening.
async fn listen_once(url: &str, notices: &Notices, wait: &mut Duration) -> Result<(), DbError> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (sender, mut received) = mpsc::unbounded_channel();
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let driver = tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if sender.send(n).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {HEAD_CHANNEL}")).await?;
    // Listening now: anything committed from here on is notified. Catch up on the rest.
    let watched: Vec<i64> = notices.watched().iter().map(|t| t.0).collect();
    if !watched.is_empty() {
        for row in client.query("SELECT id, head FROM tenants WHERE id = ANY($1)", &[&watched]).await? {
            notices.advance(TenantId(row.get(0)), u64::try_from(row.get::<_, i64>(1)).unwrap_or(0));
        }
    }
    *wait = BACKOFF.0;
    while let Some(notification) = received.recv().await {
        if let Some((tenant, head)) = parse(notification.payload()) {
            notices.advance(tenant, head);
        }
    }
    drop(client);
    match driver.await {
        Ok(Err(e)) => Err(e.into()),
        _ => Err(DbError::Closed),
    }
}

/// `"<tenant id> <head>"`.
fn parse(payload: &str) -> Option<(TenantId, u64)> {
    let (tenant, head) = payload.split_once(' ')?;
    Some((TenantId(tenant.parse().ok()?), head.parse().ok()?))
}
