"""outbox: on PostgreSQL the (state, due_at) index holds only the queue (pending, sending)

The sender counts each fan's recent sends (`state = 'sent' AND fan_id IN (...)`) for the
caps. Before the outbox's statistics showed many sent rows (a new database, a first big
broadcast), PostgreSQL planned that count by an index led by the state: every sent row
read, again for every batch (a generic plan chose (source, source_ref, state); planned
for the values, it chose (state, due_at)). A 100,000-fan broadcast at 1000 msg/s fell
from 980 to 370 msg/s as it went. Limited to the rows waiting or going out, this index
cannot serve a query about sent rows, so the per-fan indexes do, and it stays as small
as the queue; the sender plans its statements for their values
(storage.database.plan_for_these_values), so no generic plan scans the other either.
SQLite planned the count by the per-fan index all along and cannot use a partial index
for `state = 'pending'` (its rules need the same term), so its index stays whole.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE = sa.text("state IN ('pending', 'sending')")


def upgrade() -> None:
    op.drop_index('ix_outbox_state_due', table_name='outbox')
    op.create_index('ix_outbox_queue', 'outbox', ['state', 'due_at'], postgresql_where=QUEUE)


def downgrade() -> None:
    op.drop_index('ix_outbox_queue', table_name='outbox')
    op.create_index('ix_outbox_state_due', 'outbox', ['state', 'due_at'])
