//! Lease behaviour (SPEC.md §3 "Concurrency").

use chrono::Duration;
use store::Store;

use super::t0;

pub async fn leases_exclude_other_owners_until_expiry(store: &Store) {
    let before = store.stats();
    let a = store
        .acquire_lease("ws-lease", "sync:job", "inv-a", t0(), Duration::minutes(15))
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert_eq!(a.expires_at, t0() + Duration::minutes(15));
    // Another invocation is kept out while it is held...
    let b = store
        .acquire_lease(
            "ws-lease",
            "sync:job",
            "inv-b",
            t0() + Duration::minutes(5),
            Duration::minutes(15),
        )
        .await
        .unwrap();
    assert!(b.is_none(), "held by inv-a");
    // ...but another lease name or workspace is independent.
    assert!(store
        .acquire_lease(
            "ws-lease",
            "sync:membership",
            "inv-b",
            t0(),
            Duration::minutes(15)
        )
        .await
        .unwrap()
        .is_some());
    assert!(store
        .acquire_lease("ws-other", "sync:job", "inv-b", t0(), Duration::minutes(15))
        .await
        .unwrap()
        .is_some());
    // The holder may renew.
    let renewed = store
        .acquire_lease(
            "ws-lease",
            "sync:job",
            "inv-a",
            t0() + Duration::minutes(10),
            Duration::minutes(15),
        )
        .await
        .unwrap()
        .expect("renewal by the holder");
    assert_eq!(renewed.expires_at, t0() + Duration::minutes(25));
    // After expiry someone else takes it; the old holder's release then leaves it alone.
    let c = store
        .acquire_lease(
            "ws-lease",
            "sync:job",
            "inv-c",
            t0() + Duration::minutes(26),
            Duration::minutes(15),
        )
        .await
        .unwrap()
        .expect("an expired lease is taken over");
    store.release_lease(&renewed).await.unwrap();
    assert!(
        store
            .acquire_lease(
                "ws-lease",
                "sync:job",
                "inv-d",
                t0() + Duration::minutes(27),
                Duration::minutes(15)
            )
            .await
            .unwrap()
            .is_none(),
        "inv-c still holds it"
    );
    // Released by its holder, it is free at once.
    store.release_lease(&c).await.unwrap();
    assert!(store
        .acquire_lease(
            "ws-lease",
            "sync:job",
            "inv-d",
            t0() + Duration::minutes(27),
            Duration::minutes(15)
        )
        .await
        .unwrap()
        .is_some());
    let after = store.stats();
    assert_eq!(
        after.item_writes, before.item_writes,
        "leases are not data writes"
    );
    assert_eq!(after.lease_writes - before.lease_writes, 7);
}
