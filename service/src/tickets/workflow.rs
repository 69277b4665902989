//! The status workflow: which transitions are allowed, and for whom.

use entity::TicketStatus::{self, *};

/// Returns whether a ticket may move from `from` to `to`.
///
/// new → in_progress → waiting_on_requester / waiting_on_vendor → escalated → resolved → closed,
/// with resolved or closed → in_progress as a reopen. Skipping ahead from new is allowed where a
/// desk does it on the phone (answered at once: new → resolved). Moving back to `new` never is.
pub fn can_transition(from: TicketStatus, to: TicketStatus) -> bool {
    if from == to {
        return false;
    }
    match from {
        New => matches!(
            to,
            InProgress | WaitingOnRequester | WaitingOnVendor | Escalated | Resolved
        ),
        InProgress => matches!(
            to,
            WaitingOnRequester | WaitingOnVendor | Escalated | Resolved
        ),
        WaitingOnRequester => matches!(to, InProgress | WaitingOnVendor | Escalated | Resolved),
        WaitingOnVendor => matches!(to, InProgress | WaitingOnRequester | Escalated | Resolved),
        Escalated => matches!(
            to,
            InProgress | WaitingOnRequester | WaitingOnVendor | Resolved
        ),
        Resolved => matches!(to, Closed | InProgress),
        Closed => matches!(to, InProgress),
    }
}

/// Returns whether the move is a reopen (resolved or closed back to work).
pub fn is_reopen(from: TicketStatus, to: TicketStatus) -> bool {
    matches!(from, Resolved | Closed) && to == InProgress
}

/// Returns whether the status counts as finished for SLA purposes.
pub fn is_done(status: TicketStatus) -> bool {
    matches!(status, Resolved | Closed)
}

/// The statuses of tickets still being worked: every status that is not [`is_done`].
pub const OPEN_STATUSES: [TicketStatus; 5] = [
    New,
    InProgress,
    WaitingOnRequester,
    WaitingOnVendor,
    Escalated,
];

/// Returns the Japanese label shown to people (状態).
pub fn label_ja(status: TicketStatus) -> &'static str {
    match status {
        New => "新規",
        InProgress => "対応中",
        WaitingOnRequester => "依頼者回答待ち",
        WaitingOnVendor => "事業者回答待ち",
        Escalated => "エスカレーション中",
        Resolved => "解決済み",
        Closed => "完了",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn closed_ticket_can_only_be_reopened() {
        for to in TicketStatus::iter() {
            assert_eq!(
                can_transition(Closed, to),
                to == InProgress,
                "closed → {to:?}"
            );
        }
    }

    #[test]
    fn nothing_moves_back_to_new_and_no_self_loops() {
        for from in TicketStatus::iter() {
            assert!(!can_transition(from, New));
            assert!(!can_transition(from, from));
        }
    }

    #[test]
    fn the_main_path_is_allowed() {
        let path = [
            New,
            InProgress,
            WaitingOnRequester,
            InProgress,
            Escalated,
            Resolved,
            Closed,
        ];
        for w in path.windows(2) {
            assert!(can_transition(w[0], w[1]), "{:?} → {:?}", w[0], w[1]);
        }
        assert!(is_reopen(Resolved, InProgress));
        assert!(!can_transition(New, Closed));
    }
}
