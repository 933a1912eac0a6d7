"""offer counters (issue 16): places held and the waitlist sequence per offer, maintained in
the sign-up's transaction so that a write costs the same whatever the offer's size

Revision ID: f5a6b7c8d940
Revises: e4a5b6c7d839
Create Date: 2026-12-05 00:45:00
"""

from collections.abc import Sequence

revision: str = "f5a6b7c8d940"
down_revision: str | None = "e4a5b6c7d839"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
