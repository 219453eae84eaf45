"""Sign-in and changes to who may do what, each written to the audit trail.

Above both ``synthgov.accounts`` (organisations, roles, permissions) and
``synthgov.trail`` (which reads the permissions to decide who sees an event):
it changes the former and records in the latter, so neither imports it.
"""
