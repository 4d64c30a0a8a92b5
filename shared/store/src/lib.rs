//! The one store (SPEC.md §8): a single-table DynamoDB adapter over `aws-sdk-dynamodb` that
//! keeps integrations, feed progress, contacts with their lookup items, and opportunities, every
//! item under its workspace's partition. Lambdas point it at DynamoDB, the CLI and tests at
//! dynoxide-rs served in-process on loopback (module `embedded`, feature `embedded`), CI also at a moto
//! server; it is the same code in every case (no test-only path). What does not belong here:
//! mapping ServiceTitan records (crate `opportunity`), deciding what to sync and when (crate
//! `sync`), and HTTP.
//!
//! # Table
//!
//! One table, on-demand billing. Every attribute used in a key is a string (`S`).
//!
//! | what | `pk` | `sk` | other key attributes |
//! |---|---|---|---|
//! | integration | `WS#<workspace>` | `INTEGRATION` | `gsi2pk = INTEGRATION`, `gsi2sk = <workspace>` |
//! | feed progress | `WS#<workspace>` | `PROGRESS#<feed>` | |
//! | backfill state | `WS#<workspace>` | `BACKFILL#<model>` | (module `backfill`) |
//! | contact | `WS#<workspace>` | `CONTACT#<uuid>` | |
//! | e-mail lookup | `WS#<workspace>` | `EMAIL#<normalized email>` | |
//! | phone lookup | `WS#<workspace>` | `PHONE#<E.164>` | |
//! | customer → contact link | `WS#<workspace>` | `CUST#<customer id>` | |
//! | lease | `WS#<workspace>` | `LEASE#<name>` | `owner`, `expiresAt` (epoch ms), `ttl` |
//! | webhook claim | `WS#<workspace>` | `HOOK#<sha256(source, event id)>` | `state`, `token`, `expiresAt` (epoch ms), `ttl` (see module `webhooks`) |
//! | note claim / outcome | `WS#<workspace>` | `NOTE#<event id>` | `state`, `owner`, `leaseUntil` (epoch ms), `ttl` (see module `notes`) |
//! | opportunity | `WS#<workspace>` | `OPP#<model>#<external id>` | `gsi1pk = WS#<workspace>#CUST#<customer id>`, `gsi1sk = <its sk>` (only when it has an External Contact ID) |
//!
//! - Key schema: `pk` HASH, `sk` RANGE.
//! - GSI `gsi1`: `gsi1pk` HASH, `gsi1sk` RANGE, projection `KEYS_ONLY`. Customer →
//!   opportunities of a workspace ([`Store::opportunities_for_customer`], SPEC.md §3: a customer
//!   change finds its opportunities through an index, never a scan).
//! - GSI `gsi2`: `gsi2pk` HASH, `gsi2sk` RANGE, projection `ALL`. Sparse: only integration
//!   items carry `gsi2pk`, so [`Store::list_integrations`] is one Query.
//! - GSI `gsi3`: `contactId` HASH, `externalUpdatedAt` RANGE, projection `KEYS_ONLY`. Sparse:
//!   only opportunities have both attributes. Contact → its opportunities, newest first
//!   ([`Store::contact_opportunities`], the note pusher's routing; see module `notes`).
//! - TTL attribute `ttl` (epoch seconds, `N`), for items that expire (note claims, leases; none of
//!   the items above set it).
//! - Every item also has `entity` (`integration`, `progress`, `contact`, `lookup`,
//!   `opportunity`) for people reading the table.
//!
//! As a SAM resource:
//!
//! ```yaml
//! AttributeDefinitions: [pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, contactId, externalUpdatedAt]   # all S
//! KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
//! GlobalSecondaryIndexes:
//!   - {IndexName: gsi1, KeySchema: [gsi1pk HASH, gsi1sk RANGE], Projection: {ProjectionType: KEYS_ONLY}}
//!   - {IndexName: gsi2, KeySchema: [gsi2pk HASH, gsi2sk RANGE], Projection: {ProjectionType: ALL}}
//!   - {IndexName: gsi3, KeySchema: [contactId HASH, externalUpdatedAt RANGE], Projection: {ProjectionType: KEYS_ONLY}}
//! BillingMode: PAY_PER_REQUEST
//! TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
//! ```
//!
//! # Lookups ("indexes for email, phone and customer-id lookups", SPEC.md §8)
//!
//! E-mail → contact, phone → contact and customer id → contact are lookup *items* in the main
//! table (`EMAIL#`, `PHONE#`, `CUST#`), not GSIs: a GetItem on them is strongly consistent, and a
//! put conditioned on `attribute_not_exists(pk)` makes each value belong to one contact, which is
//! what keeps concurrent resolutions from creating duplicate contacts. Customer id →
//! opportunities is the GSI `gsi1` (many items per customer; eventually consistent, which is
//! fine for finding what to rebuild).
//!
//! # Workspace isolation (SPEC.md §1)
//!
//! Every method takes the workspace, validates it (non-empty, at most 128 bytes, no `#`, no
//! whitespace or control characters) and only builds keys under `WS#<workspace>`; the only
//! cross-workspace read is [`Store::list_integrations`].
//!
//! # Opportunity items
//!
//! Attributes (camelCase): `workspaceId`, `contactId`, `syncedAt`, `contentHash`, `model`,
//! `externalId`, `externalContactId`, `standard` (a map), `details` (the details map as one JSON
//! text, so numbers round-trip exactly: DynamoDB would turn `1.0` into `1`; stored raw-deflated
//! as a binary attribute, and read as a string from items written before that), `sources` (the
//! engine's source records, JSON text, stored the same way; optional), and
//! `externalUpdatedAt`, the External Updated At as a fixed-width sortable string
//! (`2024-05-01T12:00:00.000000000Z`) that the upsert's condition compares. See
//! [`Store::upsert_opportunities`].
//!
//! # Engines
//!
//! dynoxide validates like DynamoDB (table names need at least 3 characters) and serializes
//! writes, so conditions and transactions are atomic as in DynamoDB. moto is more lenient
//! (1-character table names pass) and, as of 5.2, not atomic under concurrent requests: a
//! condition check and its write can interleave with another request, and a cancelled
//! transaction restores a snapshot of the whole table, erasing concurrent writes. The races the
//! store guards against are therefore tested on dynoxide only. [`Store::ensure_table`] creates
//! the table for the CLI and tests; in AWS the SAM template does.

mod backfill;
mod contacts;
#[cfg(feature = "embedded")]
pub mod embedded;
mod error;
pub mod keys;
mod lease;
mod notes;
mod opportunities;
mod opportunities_read;
mod store;
mod webhooks;

pub use backfill::BackfillState;
pub use contacts::{Contact, ContactResolution, MatchedBy};
pub use error::{BoxError, DynamoError, StoreError};
pub use lease::Lease;
pub use notes::{NoteClaim, NoteClaimOutcome, NoteRecord, NoteState, NOTE_RETENTION_DAYS, SK_NOTE};
pub use opportunities::{
    content_hash, content_hash_with_sources, item_size, sortable_time, StoredOpportunity, Upsert,
    UpsertFailure, UpsertReport, MAX_ITEM_BYTES,
};
pub use store::{aws_client, FeedProgress, Store, StoreStats, QUERY_PAGE_ITEMS};
pub use webhooks::{sk_webhook, ClaimOutcome, WebhookClaim, WEBHOOK_CLAIM_RETENTION};
