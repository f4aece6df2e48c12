"""outbox: on PostgreSQL an index in the claim's order, pending rows only

The sender claims `state = 'pending' AND due_at <= now ORDER BY priority DESC, due_at, id
LIMIT 200 FOR UPDATE SKIP LOCKED`. With no index in that order PostgreSQL read every due
pending row and sorted them for each claim: seen with EXPLAIN ANALYZE in the middle of a
100,000-fan broadcast at 1000 msg/s, 55 ms per claim at 92,200 pending (a sort spilling
to disk), and the broadcast reached 82 % of the rate. In this index the claim reads the
first due rows in order and stops. SQLite keeps up without it (it sorts in memory) and
could not use it partial (see 0011), so it is not made there.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade() -> None:
    if _on_postgresql():
        op.create_index(
            'ix_outbox_claim',
            'outbox',
            [sa.text('priority DESC'), 'due_at', 'id'],
            postgresql_where=sa.text("state = 'pending'"),
        )


def downgrade() -> None:
    if _on_postgresql():
        op.drop_index('ix_outbox_claim', table_name='outbox')
