//! Pushes sharing one transaction (group commit) are decided as if committed one after the
//! other: each sees what the ones before it wrote, and a refusal skips later appends of its
//! stream within its own push only.

mod support;

use annals::core::{AppendRequest, AppendResult, Chaining, Error, EventInput, ExpectedVersion, Outcome, Uuid, Value};
use annals_server::pg;

fn request(stream: &str, n: u32, expected: ExpectedVersion) -> AppendRequest {
    let id = format!("00000000-0000-4000-8000-{n:012x}");
    let events = vec![EventInput::new("T", Value::from(n as i64)).with_id(id)];
    AppendRequest::new(stream, events, expected, 1 << 20, 1.0, Uuid::nil).unwrap()
}

#[test]
fn batches_in_one_transaction_decide_in_order_each_with_its_own_skips() {
    support::block_on(async {
        let pool = pg::pool(support::database(), 2).unwrap();
        let mut client = pool.get().await.unwrap();
        let tenant = pg::ensure_tenant(&**client, &support::unique("g")).await.unwrap();
        use ExpectedVersion::*;
        let first = [request("a", 1, NoStream), request("b", 2, Exact(3)), request("b", 3, Any)];
        let second = [request("b", 4, Any), request("a", 5, Exact(1)), request("a", 1, NoStream)];
        let third = [request("c", 6, Any), request("c", 5, Any)];
        let results = pg::append_batches(&mut client, tenant, &[&first, &second, &third], Chaining::ByStream).await.unwrap();
        let written = |v, p| Outcome::Written(AppendResult { next_expected_version: v, position: p });
        assert_eq!(
            results[0].outcomes,
            vec![
                written(1, 1),
                Outcome::Refused(Error::WrongExpectedVersion { stream: "b".into(), expected: Exact(3), actual: 0 }),
                Outcome::Skipped,
            ]
        );
        // The second push sees the first's write of a, and b is not skipped in it.
        assert_eq!(
            results[1].outcomes,
            vec![
                written(1, 2),
                written(2, 3),
                Outcome::Repeated(AppendResult { next_expected_version: 1, position: 1 }),
            ]
        );
        assert_eq!(
            results[2].outcomes,
            vec![written(1, 4), Outcome::Refused(Error::DuplicateEventId { id: "00000000-0000-4000-8000-000000000005".into() })]
        );
        assert!(results.iter().all(|r| r.head == 4));
        let page = pg::pull(&client, tenant, 0, 100).await.unwrap();
        let positions: Vec<u64> = page.events().map(|e| e.unwrap().position).collect();
        assert_eq!((positions, page.head), (vec![1, 2, 3, 4], 4));
    });
}
