"""Why a running campaign is not sending: ``campaign.waiting_for`` and ``next_send_at``.

Written by the campaign's actor when it starts a long wait — ``window`` (the daily window is
closed), ``dailyCap`` (the connection reached its cap for the local day) or ``startAt`` (the
start time is ahead) — and cleared when it sends again, pauses or ends, so the dashboard can
say "waiting for the window, opens 08:00" instead of showing a silent "running".
"""
from peewee import CharField, DateTimeField


def up(migrator, db):
    migrator.add_column("campaign", "waiting_for", CharField(max_length=16, null=True)).run()
    migrator.add_column("campaign", "next_send_at", DateTimeField(null=True)).run()
