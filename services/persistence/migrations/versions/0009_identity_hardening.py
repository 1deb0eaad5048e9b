"""Identity hardening: e-mail domain claims that an operator approves (owned by the identity area).

A network's e-mail domains used to be a free list on its upstream provider, and any verified
e-mail in that list was linked to the existing account with that address: a network admin
could list someone else's domain and take over their account. Domains are now claims: they
link nothing until a federation operator approves them, and a domain is approved for at most
one network. Existing domains become *pending* claims, so nothing links by e-mail until an
operator has looked at them.

Revision ID: 0009_identity_hardening
Revises: 0008_identity_cleanup
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0009_identity_hardening"
down_revision: str | None = "0008_identity_cleanup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
UUID = pg.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "email_domain_claims",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("requested_by", UUID),
        sa.Column("requested_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("decided_by", UUID),
        sa.Column("decided_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_email_domain_claims"),
        sa.UniqueConstraint("network_id", "domain", name="uq_email_domain_claims_network_domain"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="ck_email_domain_claims_status"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name="fk_email_domain_claims_network_id_networks", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["accounts.id"], name="fk_email_domain_claims_requested_by_accounts", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], name="fk_email_domain_claims_decided_by_accounts", ondelete="SET NULL"
        ),
    )
    # One domain, at most one network that may link by it.
    op.create_index(
        "uq_email_domain_claims_approved_domain",
        "email_domain_claims",
        ["domain"],
        unique=True,
        postgresql_where=sa.text("status = 'approved'"),
    )
    # Domains listed before this change were never checked by anyone: they become pending claims.
    op.execute(
        """
        INSERT INTO email_domain_claims (id, network_id, domain, status)
        SELECT DISTINCT ON (p.network_id, lower(d)) gen_random_uuid(), p.network_id, lower(d), 'pending'
        FROM upstream_providers p, unnest(p.email_domains) AS d
        """
    )
    op.drop_column("upstream_providers", "email_domains")


def downgrade() -> None:
    op.add_column(
        "upstream_providers",
        sa.Column("email_domains", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    # Only approved claims go back into the list (the old code linked by every listed domain).
    op.execute(
        """
        UPDATE upstream_providers p SET email_domains = coalesce(
            (SELECT array_agg(c.domain ORDER BY c.domain) FROM email_domain_claims c
             WHERE c.network_id = p.network_id AND c.status = 'approved'), '{}')
        """
    )
    op.drop_index("uq_email_domain_claims_approved_domain", table_name="email_domain_claims")
    op.drop_table("email_domain_claims")
