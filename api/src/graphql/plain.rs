//! Ticket lists resolved without a future per field.
//!
//! async-graphql resolves every field of every object as its own boxed future, polled through
//! a `FuturesUnordered` per object. A console page (50 tickets × 13 fields, with requester,
//! assignee, category and SLA objects) is about 1,000 such futures: 0.76 ms of CPU a request,
//! more than the database's share (bench/RESULTS.md). Yet every one of those fields is a plain
//! read of the row already in hand or of a directory row already cached.
//!
//! So [`TicketList`] first plans the selection once per list and, when every field is one the
//! plan knows and every row it needs is at hand, builds the list's value synchronously. Anything
//! else sends the whole list down async-graphql's own path, unchanged: a field with arguments
//! or a custom directive, a fragment on another type, a response key given twice, a nested
//! object beyond people, categories and the SLA clock, a column the list did not read, or a
//! person or category not in the directory cache (the loader then fetches and caches it).
//! Values are made by the same `ScalarType`/enum conversions the derived resolvers use, and
//! `tests/tests/suite/plain_lists.rs` runs selections both ways and compares the answers.
//! The schema has no extensions; one that wraps each field's resolution (tracing, say) would
//! see a plainly built list as its one `nodes` field.

use super::context::{AppState, Session};
use super::enums::*;
use super::ids::{NodeType, encode_into};
use super::json_text;
use super::types::Ticket;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    ContextSelectionSet, EnumType, Name, OutputType, Positioned, ServerError, ServerResult, Value,
};
use chrono::{DateTime, Utc};
use entity::{person, ticket, ticket_category};
use service::directory;
use service::tickets::{self, TicketColumns};
use std::borrow::Cow;
use std::sync::Arc;

/// Request data that fixes which path ticket lists take, for the tests and the benchmark that
/// compare the two; without it a list takes the plain path when it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPath {
    /// async-graphql's own: a future per field.
    FieldFutures,
    /// The plain path only: a list it cannot take answers an error instead.
    PlainOnly,
}

/// `[Ticket!]!`, resolved synchronously when the selection allows (see the module docs).
pub struct TicketList<'a>(pub Vec<&'a Ticket>);

impl OutputType for TicketList<'_> {
    fn type_name() -> Cow<'static, str> {
        <Vec<&Ticket> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<&Ticket> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<&Ticket> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let path = ctx.data_opt::<ListPath>().copied();
        if path != Some(ListPath::FieldFutures) {
            if let Some(value) = plain_tickets(ctx, &self.0) {
                return Ok(value);
            }
            if path == Some(ListPath::PlainOnly) {
                return Err(ServerError::new(
                    "this ticket list cannot be resolved plainly",
                    Some(field.pos),
                ));
            }
        }
        resolve_list(ctx, field, self.0.iter().copied(), Some(self.0.len())).await
    }
}

/// The list's value, or `None` when it must take the per-field path. The list is written as
/// JSON text (a raw value, [`json_text::raw`]): a page of 50 tickets as a value tree was about
/// 700 maps, names and strings made, hashed, serialized and dropped again.
fn plain_tickets(ctx: &ContextSelectionSet<'_>, list: &[&Ticket]) -> Option<Value> {
    let actor = ctx.data_opt::<Session>()?.actor.as_ref()?;
    let directory = &ctx.data_opt::<AppState>()?.directory;
    let plan = TicketPlan::new(ctx, &ctx.item.node)?;
    let mut out = String::with_capacity(64 + list.len() * 64 * plan.fields.len());
    out.push('[');
    for (i, t) in list.iter().enumerate() {
        let (row, loaded) = t.parts();
        if !loaded.contains(plan.columns) {
            return None;
        }
        if i > 0 {
            out.push(',');
        }
        object(&mut out, &plan.fields, |out, f| {
            match f {
                TicketField::Typename => json_text::push_str(out, "Ticket"),
                TicketField::Id => push_id(out, NodeType::Ticket, row.id),
                TicketField::Number => json_text::push_str(out, &row.number),
                TicketField::Title => json_text::push_str(out, &row.title),
                TicketField::Description => json_text::push_str(out, &row.description),
                TicketField::Kind => push_enum(out, TicketKind::from(row.kind)),
                TicketField::Channel => push_enum(out, Channel::from(row.channel)),
                TicketField::Status => push_enum(out, TicketStatus::from(row.status)),
                TicketField::StatusLabel => {
                    json_text::push_str(out, tickets::workflow::label_ja(row.status));
                }
                TicketField::Priority => push_enum(out, Priority::from(row.priority)),
                TicketField::Severity => match row.severity {
                    Some(v) => push_enum(out, Severity::from(v)),
                    None => out.push_str("null"),
                },
                TicketField::Impact => match row.impact {
                    Some(v) => push_enum(out, Impact::from(v)),
                    None => out.push_str("null"),
                },
                TicketField::OutOfScope => push_bool(out, row.out_of_scope),
                TicketField::OutOfScopeSystem => {
                    json_text::push_opt_str(out, row.out_of_scope_system.as_deref());
                }
                TicketField::ResolvedAt => push_time(out, row.resolved_at),
                TicketField::ClosedAt => push_time(out, row.closed_at),
                TicketField::CreatedAt => push_time(out, Some(row.created_at)),
                TicketField::UpdatedAt => push_time(out, Some(row.updated_at)),
                TicketField::Version => json_text::push_int(out, row.version.into()),
                TicketField::Sla(sub) => sla(out, sub, row)?,
                TicketField::Requester(sub) => match row.requester_id {
                    None => out.push_str("null"),
                    Some(id) => person_value(out, sub, &directory.people.get(actor, id)?, actor)?,
                },
                TicketField::Assignee(sub) => match row.assignee_id {
                    None => out.push_str("null"),
                    Some(id) => person_value(out, sub, &directory.people.get(actor, id)?, actor)?,
                },
                TicketField::Category(sub) => match row.category_id {
                    None => out.push_str("null"),
                    Some(id) => {
                        category_value(out, sub, &*directory.categories.get(actor, id)?)?;
                    }
                },
            }
            Some(())
        })?;
    }
    out.push(']');
    Some(json_text::raw(out))
}

/// Writes an object of the selected fields in response order, each written by `value`;
/// `None` as soon as one cannot be made plainly (what was written is then thrown away).
fn object<F>(
    out: &mut String,
    fields: &[(Name, F)],
    mut value: impl FnMut(&mut String, &F) -> Option<()>,
) -> Option<()> {
    out.push('{');
    for (i, (key, f)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_text::push_str(out, key);
        out.push(':');
        value(out, f)?;
    }
    out.push('}');
    Some(())
}

fn push_bool(out: &mut String, v: bool) {
    out.push_str(if v { "true" } else { "false" });
}

/// An enum as its GraphQL name, the item `enum_value` would name.
fn push_enum<T: EnumType>(out: &mut String, value: T) {
    match T::items().iter().find(|item| item.value == value) {
        Some(item) => json_text::push_str(out, item.name),
        // Every value of a derived enum is an item.
        None => out.push_str("null"),
    }
}

fn push_id(out: &mut String, t: NodeType, id: uuid::Uuid) {
    out.push('"');
    encode_into(t, id, out);
    out.push('"');
}

fn push_time(out: &mut String, t: Option<DateTime<Utc>>) {
    match t {
        Some(t) => {
            out.push('"');
            rfc3339(t, out);
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

/// The text async-graphql's `DateTime<Utc>` scalar writes (`to_rfc3339`: seconds with as
/// many fractional digits as the value needs, 3, 6 or 9, and `+00:00`), put together digit
/// by digit: a list writes three a row, and `write!`'s formatting was most of their cost.
/// Years outside 0–9999 and leap seconds take chrono's path.
fn rfc3339(t: DateTime<Utc>, out: &mut String) {
    use chrono::{Datelike, Timelike};
    let (year, nano) = (t.year(), t.nanosecond());
    let (Ok(year @ 0..=9999), 0..=999_999_999) = (u32::try_from(year), nano) else {
        out.push_str(&t.to_rfc3339());
        return;
    };
    // "YYYY-MM-DDTHH:MM:SS" "." up to 9 digits "+00:00"
    let mut b = *b"0000-00-00T00:00:00.000000000+00:00";
    let two = |b: &mut [u8], at: usize, v: u32| {
        b[at] = b'0' + (v / 10 % 10) as u8;
        b[at + 1] = b'0' + (v % 10) as u8;
    };
    two(&mut b, 0, year / 100);
    two(&mut b, 2, year % 100);
    two(&mut b, 5, t.month());
    two(&mut b, 8, t.day());
    two(&mut b, 11, t.hour());
    two(&mut b, 14, t.minute());
    two(&mut b, 17, t.second());
    let (digits, mut frac) = match nano {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (3, n / 1_000_000),
        n if n % 1_000 == 0 => (6, n / 1_000),
        n => (9, n),
    };
    let mut end = 19;
    if digits > 0 {
        for i in (0..digits).rev() {
            b[20 + i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        end = 20 + digits;
    }
    out.push_str(std::str::from_utf8(&b[..end]).unwrap_or_default());
    out.push_str("+00:00");
}

fn sla(out: &mut String, sub: &[(Name, SlaField)], t: &ticket::Model) -> Option<()> {
    object(out, sub, |out, f| {
        match f {
            SlaField::Typename => json_text::push_str(out, "TicketSla"),
            SlaField::ResponseDueAt => push_time(out, t.response_due_at),
            SlaField::ResolutionDueAt => push_time(out, t.resolution_due_at),
            SlaField::FirstRespondedAt => push_time(out, t.first_responded_at),
            SlaField::PausedAt => push_time(out, t.sla_paused_at),
            SlaField::PausedSeconds => json_text::push_int(out, t.sla_paused_secs),
            SlaField::ResponseBreachedAt => push_time(out, t.response_breached_at),
            SlaField::ResolutionBreachedAt => push_time(out, t.resolution_breached_at),
            SlaField::Breached => push_bool(
                out,
                t.response_breached_at.is_some() || t.resolution_breached_at.is_some(),
            ),
        }
        Some(())
    })
}

fn person_value(
    out: &mut String,
    sub: &[(Name, PersonField)],
    p: &Arc<person::Model>,
    actor: &service::Actor,
) -> Option<()> {
    object(out, sub, |out, f| {
        match f {
            PersonField::Typename => json_text::push_str(out, "Person"),
            PersonField::Id => push_id(out, NodeType::Person, p.id),
            PersonField::DisplayName => json_text::push_str(out, &p.display_name),
            PersonField::DisplayNameKana => {
                json_text::push_opt_str(out, p.display_name_kana.as_deref());
            }
            PersonField::Email => json_text::push_opt_str(
                out,
                directory::can_see_contact(actor, p).then_some(p.email.as_str()),
            ),
            PersonField::EmployeeNumber => json_text::push_opt_str(
                out,
                directory::can_see_contact(actor, p)
                    .then_some(p.employee_number.as_deref())
                    .flatten(),
            ),
            PersonField::Kind => push_enum(out, PersonKind::from(p.kind)),
            PersonField::Active => push_bool(out, p.active),
        }
        Some(())
    })
}

fn category_value(
    out: &mut String,
    sub: &[(Name, CategoryField)],
    c: &ticket_category::Model,
) -> Option<()> {
    object(out, sub, |out, f| {
        match f {
            CategoryField::Typename => json_text::push_str(out, "TicketCategory"),
            CategoryField::Id => push_id(out, NodeType::TicketCategory, c.id),
            CategoryField::Code => json_text::push_str(out, &c.code),
            CategoryField::Name => json_text::push_str(out, &c.name),
        }
        Some(())
    })
}

/// What a list's selection asks of each ticket, in response order, and the columns it reads.
struct TicketPlan {
    fields: Vec<(Name, TicketField)>,
    columns: TicketColumns,
}

enum TicketField {
    Typename,
    Id,
    Number,
    Title,
    Description,
    Kind,
    Channel,
    Status,
    StatusLabel,
    Priority,
    Severity,
    Impact,
    OutOfScope,
    OutOfScopeSystem,
    ResolvedAt,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
    Version,
    Sla(Vec<(Name, SlaField)>),
    Requester(Vec<(Name, PersonField)>),
    Assignee(Vec<(Name, PersonField)>),
    Category(Vec<(Name, CategoryField)>),
}

enum SlaField {
    Typename,
    ResponseDueAt,
    ResolutionDueAt,
    FirstRespondedAt,
    PausedAt,
    PausedSeconds,
    ResponseBreachedAt,
    ResolutionBreachedAt,
    Breached,
}

enum PersonField {
    Typename,
    Id,
    DisplayName,
    DisplayNameKana,
    Email,
    EmployeeNumber,
    Kind,
    Active,
}

enum CategoryField {
    Typename,
    Id,
    Code,
    Name,
}

impl TicketPlan {
    fn new(ctx: &ContextSelectionSet<'_>, set: &SelectionSet) -> Option<Self> {
        let mut columns = TicketColumns::id_only();
        let fields = plan(ctx, set, &["Ticket", "Node"], |name, field| {
            if name != "id" && name != "__typename" {
                columns = columns.union(super::types::ticket_field_columns(name)?);
            }
            let sub = &field.selection_set.node;
            Some(match name {
                "__typename" => TicketField::Typename,
                "id" => TicketField::Id,
                "number" => TicketField::Number,
                "title" => TicketField::Title,
                "description" => TicketField::Description,
                "kind" => TicketField::Kind,
                "channel" => TicketField::Channel,
                "status" => TicketField::Status,
                "statusLabel" => TicketField::StatusLabel,
                "priority" => TicketField::Priority,
                "severity" => TicketField::Severity,
                "impact" => TicketField::Impact,
                "outOfScope" => TicketField::OutOfScope,
                "outOfScopeSystem" => TicketField::OutOfScopeSystem,
                "resolvedAt" => TicketField::ResolvedAt,
                "closedAt" => TicketField::ClosedAt,
                "createdAt" => TicketField::CreatedAt,
                "updatedAt" => TicketField::UpdatedAt,
                "version" => TicketField::Version,
                "sla" => TicketField::Sla(sla_plan(ctx, sub)?),
                "requester" => TicketField::Requester(person_plan(ctx, sub)?),
                "assignee" => TicketField::Assignee(person_plan(ctx, sub)?),
                "category" => TicketField::Category(category_plan(ctx, sub)?),
                _ => return None,
            })
        })?;
        Some(Self { fields, columns })
    }
}

fn sla_plan(ctx: &ContextSelectionSet<'_>, set: &SelectionSet) -> Option<Vec<(Name, SlaField)>> {
    plan(ctx, set, &["TicketSla"], |name, _| {
        Some(match name {
            "__typename" => SlaField::Typename,
            "responseDueAt" => SlaField::ResponseDueAt,
            "resolutionDueAt" => SlaField::ResolutionDueAt,
            "firstRespondedAt" => SlaField::FirstRespondedAt,
            "pausedAt" => SlaField::PausedAt,
            "pausedSeconds" => SlaField::PausedSeconds,
            "responseBreachedAt" => SlaField::ResponseBreachedAt,
            "resolutionBreachedAt" => SlaField::ResolutionBreachedAt,
            "breached" => SlaField::Breached,
            _ => return None,
        })
    })
}

fn person_plan(
    ctx: &ContextSelectionSet<'_>,
    set: &SelectionSet,
) -> Option<Vec<(Name, PersonField)>> {
    plan(ctx, set, &["Person", "Node"], |name, _| {
        Some(match name {
            "__typename" => PersonField::Typename,
            "id" => PersonField::Id,
            "displayName" => PersonField::DisplayName,
            "displayNameKana" => PersonField::DisplayNameKana,
            "email" => PersonField::Email,
            "employeeNumber" => PersonField::EmployeeNumber,
            "kind" => PersonField::Kind,
            "active" => PersonField::Active,
            _ => return None,
        })
    })
}

fn category_plan(
    ctx: &ContextSelectionSet<'_>,
    set: &SelectionSet,
) -> Option<Vec<(Name, CategoryField)>> {
    plan(ctx, set, &["TicketCategory", "Node"], |name, _| {
        Some(match name {
            "__typename" => CategoryField::Typename,
            "id" => CategoryField::Id,
            "code" => CategoryField::Code,
            "name" => CategoryField::Name,
            _ => return None,
        })
    })
}

/// The fields of `set` (fragments on one of `on` spread in place), each mapped by `field`, in
/// response order; `None` when anything is beyond a plain read (see the module docs).
fn plan<F>(
    ctx: &ContextSelectionSet<'_>,
    set: &SelectionSet,
    on: &[&str],
    mut field: impl FnMut(&str, &Field) -> Option<F>,
) -> Option<Vec<(Name, F)>> {
    let mut fields = Vec::new();
    flatten(ctx, set, on, &mut fields)?;
    let mut out: Vec<(Name, F)> = Vec::with_capacity(fields.len());
    for f in fields {
        let f = &f.node;
        if !f.arguments.is_empty() || !f.directives.is_empty() {
            return None;
        }
        let key = &f.response_key().node;
        if out.iter().any(|(k, _)| k == key) {
            return None;
        }
        out.push((key.clone(), field(f.name.node.as_str(), f)?));
    }
    Some(out)
}

fn flatten<'s>(
    ctx: &'s ContextSelectionSet<'_>,
    set: &'s SelectionSet,
    on: &[&str],
    out: &mut Vec<&'s Positioned<Field>>,
) -> Option<()> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(f) => out.push(f),
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                let condition = fragment.node.type_condition.node.on.node.as_str();
                if !spread.node.directives.is_empty()
                    || !fragment.node.directives.is_empty()
                    || !on.contains(&condition)
                {
                    return None;
                }
                flatten(ctx, &fragment.node.selection_set.node, on, out)?;
            }
            Selection::InlineFragment(inline) => {
                let applies = inline
                    .node
                    .type_condition
                    .as_ref()
                    .is_none_or(|c| on.contains(&c.node.on.node.as_str()));
                if !inline.node.directives.is_empty() || !applies {
                    return None;
                }
                flatten(ctx, &inline.node.selection_set.node, on, out)?;
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::rfc3339;
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use rand::Rng;

    #[test]
    fn times_read_as_the_scalar_writes_them() {
        let at = |y, mo, d, h, mi, s, nano| {
            Utc.from_utc_datetime(
                &NaiveDate::from_ymd_opt(y, mo, d)
                    .unwrap()
                    .and_hms_nano_opt(h, mi, s, nano)
                    .unwrap(),
            )
        };
        let mut cases = vec![
            at(2026, 12, 1, 9, 0, 0, 0),
            at(2026, 4, 1, 0, 0, 0, 120_000_000),
            at(2026, 1, 4, 8, 30, 5, 123_456_000),
            at(1999, 12, 31, 23, 59, 59, 999_999_999),
            at(0, 1, 1, 0, 0, 0, 1),
            at(9999, 12, 31, 23, 59, 59, 1_000),
            at(-1, 1, 1, 0, 0, 0, 0),
            at(10000, 1, 1, 0, 0, 0, 0),
            // A leap second.
            at(2016, 12, 31, 23, 59, 59, 1_500_000_000),
        ];
        let mut rng = rand::rng();
        for _ in 0..10_000 {
            let secs = rng.random_range(-62_000_000_000i64..260_000_000_000);
            let nano = match rng.random_range(0..4) {
                0 => 0,
                1 => rng.random_range(0..1_000) * 1_000_000,
                2 => rng.random_range(0..1_000_000) * 1_000,
                _ => rng.random_range(0..1_000_000_000),
            };
            cases.push(DateTime::from_timestamp(secs, nano).unwrap());
        }
        for t in cases {
            let mut out = String::new();
            rfc3339(t, &mut out);
            assert_eq!(out, t.to_rfc3339(), "{t:?}");
        }
    }
}
