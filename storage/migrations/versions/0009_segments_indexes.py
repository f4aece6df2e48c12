"""segments: covering indexes for the set form of segment queries

fan_origins(origin_id, is_first, fan_id) and consents(purpose, granted, fan_id) replace
their two-column prefixes, so `fans.id IN (SELECT fan_id ...)` reads the index only;
keyword_hits(fan_id, keyword, created_at) answers the per-fan "said X within" probe.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_fan_origins_origin_first', table_name='fan_origins')
    op.create_index(
        'ix_fan_origins_origin_first_fan', 'fan_origins', ['origin_id', 'is_first', 'fan_id']
    )
    op.drop_index('ix_consents_purpose_granted', table_name='consents')
    op.create_index(
        'ix_consents_purpose_granted_fan', 'consents', ['purpose', 'granted', 'fan_id']
    )
    op.create_index(
        'ix_keyword_hits_fan_keyword_time', 'keyword_hits', ['fan_id', 'keyword', 'created_at']
    )


def downgrade() -> None:
    op.drop_index('ix_keyword_hits_fan_keyword_time', table_name='keyword_hits')
    op.drop_index('ix_consents_purpose_granted_fan', table_name='consents')
    op.create_index('ix_consents_purpose_granted', 'consents', ['purpose', 'granted'])
    op.drop_index('ix_fan_origins_origin_first_fan', table_name='fan_origins')
    op.create_index('ix_fan_origins_origin_first', 'fan_origins', ['origin_id', 'is_first'])
