"""factory_boy factories for test data (unique fields from sequences)."""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from circle.extensions import db
from circle.models import (
    BusinessCircle,
    Community,
    EmergencyContact,
    Issue,
    IssueCategory,
    IssueSource,
    Merchant,
    Street,
    User,
)

TEST_PASSWORD = "correct-horse-battery"


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class StreetFactory(Base):
    class Meta:
        model = Street

    name = factory.Sequence(lambda n: f"测试街道{n}")


class CommunityFactory(Base):
    class Meta:
        model = Community

    name = factory.Sequence(lambda n: f"测试社区{n}")


class CircleFactory(Base):
    class Meta:
        model = BusinessCircle

    name = factory.Sequence(lambda n: f"测试商圈{n}")
    community = factory.SubFactory(CommunityFactory)


class UserFactory(Base):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: f"测试{o.username}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    role = "admin"
    active = True
    password_hash = ""

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or TEST_PASSWORD)


class MerchantFactory(Base):
    class Meta:
        model = Merchant

    shop_name = factory.Sequence(lambda n: f"测试商铺{n}")
    owner_name = "张三"
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    address = "恒大绿洲商业街1号"
    circle = factory.SubFactory(CircleFactory)


class EmergencyContactFactory(Base):
    class Meta:
        model = EmergencyContact

    merchant = factory.SubFactory(MerchantFactory)
    priority = 1
    name = "李四"
    phone = factory.Sequence(lambda n: f"137{n:08d}")


class IssueFactory(Base):
    class Meta:
        model = Issue

    merchant = factory.SubFactory(MerchantFactory)
    circle = factory.LazyAttribute(lambda o: o.merchant.circle)
    category = factory.LazyFunction(lambda: db.session.scalars(db.select(IssueCategory)).first())
    source = factory.LazyFunction(
        lambda: db.session.scalars(db.select(IssueSource).where(~IssueSource.is_hotline)).first()
    )
    description = "门店频繁跳闸"
    severity = "small"


def use_fixed_durations() -> None:
    """Put every SLA policy back on the fixed durations of before the deadline rules
    (30 min / 4 h, 2 h / 24 h, 24 h / 7 days, calendar time), for tests whose arithmetic
    was written in them."""
    from circle.issues.models import Clock, DeadlineRule
    from circle.issues.sla_models import SlaPolicy
    from circle.reference import LEGACY_SLA_MINUTES

    for policy in db.session.scalars(db.select(SlaPolicy)):
        policy.respond_minutes, policy.resolve_minutes = LEGACY_SLA_MINUTES[policy.severity]
        policy.respond_clock, policy.rule = Clock.CALENDAR, DeadlineRule.DURATION
        policy.amount = None
        policy.working_days = False
    db.session.flush()
