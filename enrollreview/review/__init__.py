"""Clerk workflow: flag statuses, assignment, notes, corrected values and the hash-chained audit trail.

- `statuses`: the statuses, allowed transitions, reason codes and a member's roll-up
- `workflow`: every change (audited in the same transaction), bulk actions with undo, and the hooks
  the rules engine calls (`on_flags_resolved`, `on_flags_reopened`)
- `history`: a member's flags, notes, corrections and status across files
- `audit`: `record()`, `verify()`, the OS account
"""
