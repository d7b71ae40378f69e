"""The campaign message above the reply: an index on ticketless messages by contact.

A campaign send is a message row without a ticket. When the customer's answer opens a ticket,
:func:`storage.tickets.find_or_create_ticket` moves the campaign messages recently sent to that
contact on that connection into the new ticket, so the attendant reads what the customer is
answering. The lookup runs once per new ticket, on the inbound path: this partial index keeps
it to the few ticketless rows (campaign sends only) instead of a scan of ``message``. Both
SQLite and PostgreSQL take the same ``CREATE INDEX … WHERE``.
"""


def up(migrator, db):
    db.execute_sql("CREATE INDEX IF NOT EXISTS message_ticketless_contact "
                   "ON message (contact_id, whatsapp_id, created_at) WHERE ticket_id IS NULL")
