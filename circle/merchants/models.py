"""Merchants (商户) and their emergency contacts (紧急联系人)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.accounts.models import User
from circle.extensions import db
from circle.org.models import BusinessCircle
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned


class Merchant(Versioned, db.Model):
    """A shop or small business in a business circle."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "merchant"
    # One merchant per circle, shop name and phone: concurrent registrations of the same new
    # merchant (API, import) end in one row, the others retry or are refused.
    __table_args__ = (sa.Index("uq_merchant_circle_shop_phone", "circle_id", "shop_name",
                               "phone", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_name: Mapped[str] = mapped_column(sa.String(100), index=True)
    owner_name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(20), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    circle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("business_circle.id", ondelete="RESTRICT"), index=True
    )
    business_category: Mapped[str] = mapped_column(sa.String(50), default="")
    # 统一社会信用代码: optional, but one code names one business.
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The merchant's own report link (the QR sticker): secrets.token_urlsafe, 192 bits, so
    # it cannot be guessed. Kept (not hashed) so that the sticker can be printed again;
    # revoking it clears it, reissuing makes a new one and the old sticker stops working.
    report_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True,
                                                          index=True)
    report_token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    circle: Mapped[BusinessCircle] = relationship()
    emergency_contacts: Mapped[list[EmergencyContact]] = relationship(
        back_populates="merchant",
        order_by="EmergencyContact.priority",
        cascade="all, delete-orphan",
    )

    def __str__(self) -> str:
        return self.shop_name


class EmergencyContact(Versioned, db.Model):
    """Someone a merchant calls first when something goes wrong, in priority order."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "emergency_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("merchant.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(20))
    relation: Mapped[str] = mapped_column(sa.String(50), default="")
    # The seed story: a merchant keeps a hotline specialist's mobile as emergency contact.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )

    merchant: Mapped[Merchant] = relationship(back_populates="emergency_contacts")
    user: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.name} {self.phone}"
