"""Roster import and reconciliation (issue 6): find people the exchange says are enrolled whose 834
never arrived (MISS-01), people we hold that the exchange no longer lists (MISS-02), field-by-field
differences (MISS-03) and enrolments never effectuated (MISS-07).

Modules: `mapping` (column names -> fields, saved per sender), `roster` (read and import a roster
file), `reconcile` (match and flag, set-based SQL), `views` (what the CLI and GUI show).
"""
