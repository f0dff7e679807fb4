//! The events table: the feed's reads (its writes ride on the audit log's statements).

use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::Event;

const COLUMNS: &str = "e.id, e.type AS event_type, e.created_at AS timestamp, e.org_id AS organization_id, \
                       e.actor_type, e.actor_id, e.seq AS sequence, e.data";
/// An event's place in the feed ($2) within the organization ($1; NULL: the platform's feed).
const POSITION: &str = "SELECT e.xact_id::text AS xact, e.seq FROM events e
     WHERE e.id = $2 AND ($1::uuid IS NULL OR e.org_id = $1)";
/// Events after a place ($2, $3; NULL: from the start), of some types ($4; NULL: all), in feed
/// order: (transaction, sequence), and only those whose transaction is older than every one
/// still running, so an event that commits late is never passed over. A `webhook.test` event
/// is for its one endpoint, not the feed.
const PAGE: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM events e
      WHERE ($1::uuid IS NULL OR e.org_id = $1)
        AND e.xact_id < pg_snapshot_xmin(pg_current_snapshot())
        AND e.type <> 'webhook.test'
        AND ($2::text IS NULL OR (e.xact_id, e.seq) > ($2::text::xid8, $3::int8))
        AND ($4::text[] IS NULL OR e.type = ANY ($4))
      ORDER BY e.xact_id, e.seq
      LIMIT $5"
);
const PRUNE: &str = "DELETE FROM events WHERE created_at < now() - interval '30 days'";

/// Where an event stands in the feed of `org` (None: the platform's), if it is there.
#[track_caller]
pub fn position<'a, C: GenericClient>(db: &'a C, org: Option<Uuid>, id: &'a str) -> Read<'a, C, Option<Position>> {
    Read::new(db, POSITION, vec![Box::new(org), Box::new(id)])
}

/// An event's place in the feed: its transaction and its sequence number.
#[derive(Clone, Debug, PartialEq, Eq, postgres_from_row::FromRow)]
pub struct Position {
    /// The transaction that wrote it, as text.
    pub xact: String,
    /// Its number in the feed.
    pub seq: i64,
}

/// Up to `limit` events of `org` (None: every organization's and the accounts') after
/// `after`, of `types` if given.
#[track_caller]
pub fn page<'a, C: GenericClient>(
    db: &'a C,
    org: Option<Uuid>,
    after: Option<&'a Position>,
    types: Option<&'a [String]>,
    limit: i64,
) -> Read<'a, C, Vec<Event>> {
    let (xact, seq) = (after.map(|a| a.xact.as_str()), after.map(|a| a.seq));
    Read::new(db, PAGE, vec![Box::new(org), Box::new(xact), Box::new(seq), Box::new(types), Box::new(limit)])
}

/// Forgets events older than 30 days; how many.
pub async fn prune(db: &impl GenericClient) -> Result<u64, DbError> {
    cached::execute(db, PRUNE, &[]).await
}
