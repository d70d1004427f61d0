"""Demo data: the 恒大社区 red business circle with its people, merchants and issues.

``flask circle seed-demo`` (and ``bootstrap`` on an empty database) loads it so the panel can be
tried out straight away. The data follows the news story the product comes from
(济南日报, 2024-06-21): merchant 王连濛 keeps a hotline specialist's mobile as emergency
contact; his frozen-food shop's power kept tripping, the specialist was on site within half an
hour and the matter was settled before noon with a small breaker in the meter box.

Everything is built from the fixed lists below and a ``random.Random`` with a fixed seed, so
two runs produce the same names, phones, credit codes and work-order numbers. Times are relative
to the moment of seeding so that "overdue", "today" and "this month" always have something to
show.

This module holds the people, circles and merchants; :mod:`circle.demo_cases` holds the
issues' cases and :mod:`circle.demo_issues` plays them through the workflow engine.

:data:`DEMO_PASSWORD` is public on purpose (it is in the README): never seed a production
database with demo accounts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from circle.accounts.models import Role, User
from circle.extensions import db
from circle.merchants.models import EmergencyContact, Merchant
from circle.org.models import (
    BusinessCircle,
    CircleMember,
    Community,
    Department,
    DepartmentKind,
    MemberRole,
    Street,
)
from circle.reference import (
    install_reference_data,
)
from circle.timeutil import local_zone, utcnow
from circle.transaction import unit_of_work
from circle.validators import CREDIT_CODE_CHARS, credit_code_check_char, normalise_phone

DEMO_PASSWORD = "circle-demo-2024"
DEMO_COMMUNITY = "恒大社区"
# The street above both demo communities, and the second community (from the story: the
# resettled 滩区 villagers of 恒大绿洲第二社区).
DEMO_STREET = "孝里街道"
SECOND_COMMUNITY = "恒大绿洲第二社区"

# Any fixed value will do; the date of the news story is as good as any.
_SEED = 20240621

# (username, display name, role, phone, index of the circle a liaison works for, or of the
# community a specialist or staff member works for; the leader oversees the street).
DEMO_ACCOUNTS: list[tuple[str, str, str, str, int | None]] = [
    ("admin", "系统管理员", Role.ADMIN, "13905310001", None),
    ("zhuanyuan", "李晓静", Role.SPECIALIST, "13806412468", 0),
    ("lianluo1", "张海燕", Role.LIAISON, "15866712093", 0),
    ("lianluo2", "刘建国", Role.LIAISON, "13573104521", 1),
    ("huifang", "赵雪", Role.STAFF, "18653107736", 0),
    ("zhuanyuan2", "孟凡荣", Role.SPECIALIST, "13953126470", 1),
    ("lianluo3", "杜春梅", Role.LIAISON, "15153108862", 2),
    ("lingdao", "王振华", Role.LEADER, "13705316018", None),
]


def _by_name(model) -> dict:
    return {row.name: row for row in db.session.scalars(sa.select(model))}


# ---------------------------------------------------------------------------------------------
# Organisation, people and merchants
# ---------------------------------------------------------------------------------------------

# (name, street address, description, index of its community: 0 恒大社区, 1 the second).
_CIRCLES = (
    ("恒大红色商业圈·东街", "恒大绿洲商业街东区", "东区沿街商铺，以餐饮、食品和生活服务为主。", 0),
    ("恒大红色商业圈·西街", "恒大绿洲商业街西区", "西区沿街商铺，以超市、维修和便民服务为主。", 0),
    ("第二社区便民商街", "恒大绿洲第二社区沿街", "滩区迁建安置社区的便民商铺，以生活服务为主。", 1),
)

# (name, kind, contact person, phone). 王军利 is the power-supply station head in the story.
_DEPARTMENTS = (
    ("孝里街道供电所", "供电", "王军利", "0531-87281356"),
    ("长清区供水公司营业所", "供水", "陈立军", "0531-87223418"),
    ("长清区燃气公司服务站", "燃气", "孟庆华", "0531-87236620"),
    ("恒大物业服务中心", "物业公司", "杜文涛", "0531-87195532"),
    ("长清区市场监督管理局", "市场监管", "徐志宏", "0531-87212209"),
    ("长清区城管执法中队", "城市管理", "曹立新", "0531-87256718"),
    ("长清区消防救援大队", "消防", "邓振国", "0531-87219119"),
    ("长清区税务局办税服务厅", "税务", "彭丽娟", "0531-87202366"),
    ("长清区环卫服务中心", "环卫", "田玉梅", "0531-87241570"),
)

# (name, role, notes) per circle, in _CIRCLES order.
_MEMBERS = (
    (
        ("孙玉兰", MemberRole.ADVISOR, "商户代表，在东街经营服装店十余年。"),
        ("马德胜", MemberRole.ADVISOR, "退休党员，热心商圈公共事务。"),
        ("周晓梅", MemberRole.COLLECTOR, "负责东街商户微信群的日常民意收集。"),
        ("韩磊", MemberRole.COLLECTOR, ""),
    ),
    (
        ("高秀英", MemberRole.ADVISOR, "社区党员志愿者，常驻西街便民服务点。"),
        ("郑志强", MemberRole.ADVISOR, "商户代表，经营维修店。"),
        ("吴倩", MemberRole.COLLECTOR, "每周走访西街商户，收集意见建议。"),
        ("冯建华", MemberRole.COLLECTOR, ""),
    ),
    (
        ("燕庆利", MemberRole.ADVISOR, "迁建群众代表，原燕庄村民。"),
        ("邵丽华", MemberRole.COLLECTOR, "负责第二社区商户微信群的民意收集。"),
    ),
)

# (shop name, business category) per circle, in _CIRCLES order; owners are generated.
_SHOPS = (
    (
        ("连濛冷冻食品专卖店", "冷冻食品"),
        ("惠民生活超市", "超市"),
        ("绿洲鲜果坊", "水果"),
        ("剪艺理发店", "美容美发"),
        ("老济南把子肉快餐", "餐饮"),
        ("康泰大药房", "药店"),
        ("鑫达五金建材", "五金建材"),
        ("蜜语奶茶店", "饮品"),
        ("洁净洗衣店", "洗衣"),
        ("快修手机维修", "手机维修"),
        ("福满园饺子馆", "餐饮"),
        ("金穗粮油店", "粮油"),
        ("童趣母婴用品店", "母婴用品"),
        ("晨光文具店", "文具"),
        ("好运来烟酒店", "烟酒"),
        ("清泉桶装水站", "桶装水"),
        ("美丽佳美甲店", "美容美发"),
        ("兴旺早餐铺", "餐饮"),
    ),
    (
        ("万家福超市", "超市"),
        ("鲜丰水果店", "水果"),
        ("时尚造型理发店", "美容美发"),
        ("味香园快餐店", "餐饮"),
        ("百姓大药房", "药店"),
        ("宏达五金店", "五金建材"),
        ("茶语时光奶茶店", "饮品"),
        ("干净人家洗衣店", "洗衣"),
        ("数码通手机维修", "手机维修"),
        ("老长清烧饼铺", "餐饮"),
        ("惠客多便利店", "便利店"),
        ("宠爱有家宠物店", "宠物"),
        ("佳佳眼镜店", "眼镜"),
        ("好邻居生鲜店", "生鲜"),
        ("巧手裁缝铺", "裁缝"),
        ("万通快递驿站", "快递"),
        ("鑫源电动车维修", "电动车维修"),
        ("黄河鲜鱼馆", "餐饮"),
    ),
    (
        ("燕庄农家菜馆", "餐饮"),
        ("滩区放心粮油店", "粮油"),
        ("惠邻便利店", "便利店"),
        ("巧媳妇缝纫店", "裁缝"),
        ("安居家电维修", "家电维修"),
        ("第二社区药店", "药店"),
    ),
)

STORY_SHOP = "连濛冷冻食品专卖店"
STORY_OWNER = "王连濛"

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董袁"
_GIVEN_NAMES = ("建华", "秀英", "志强", "丽娟", "海燕", "文博", "玉梅", "国庆", "春霞", "明",
                "磊", "敏", "婷婷", "伟", "芳", "军", "静", "强", "晓东", "红梅", "德明", "桂兰",
                "立新", "凤英", "宏伟", "雪梅", "俊杰", "慧", "淑珍", "振国", "保华", "金凤")
# Relatives share the owner's surname; the others get one of their own.
_KIN = ("儿子", "女儿", "兄弟", "姐妹")
_RELATIONS = _KIN + ("配偶", "店长", "合伙人")
_MOBILE_PREFIXES = ("134", "135", "137", "138", "139", "150", "151", "152", "155", "156", "158",
                    "159", "176", "177", "181", "182", "186", "187", "188", "189", "199")
# 92 = individually-owned business (个体工商户), 370113 = 长清区; the rest is the serial.
_CREDIT_CODE_PREFIX = "92370113MA"


@dataclass
class _Cast:
    """The demo accounts the issue histories need as actors."""

    specialist: User
    staff: User
    liaisons: list[User]  # one per circle, in _CIRCLES order
    specialists: list[User]  # one per community
    leader: User


class _Generator:
    """Deterministic, collision-free phones, names, codes and work-order numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._used: set[str] = {phone for *_, phone, _circle in DEMO_ACCOUNTS}
        self._names: set[str] = {STORY_OWNER}

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self._used:
                self._used.add(value)
                return value

    def mobile(self) -> str:
        return normalise_phone(self._unique(
            lambda: self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
        ))

    def person(self, surname: str | None = None) -> str:
        """A full name; owners (no surname given) never repeat."""
        if surname:
            return surname + self.rng.choice(_GIVEN_NAMES)
        while True:
            name = self.rng.choice(_SURNAMES) + self.rng.choice(_GIVEN_NAMES)
            if name not in self._names:
                self._names.add(name)
                return name

    def credit_code(self) -> str:
        def make() -> str:
            serial = "".join(self.rng.choice(CREDIT_CODE_CHARS) for _ in range(7))
            first17 = _CREDIT_CODE_PREFIX + serial
            return first17 + credit_code_check_char(first17)
        return self._unique(make)

    def work_order_no(self, reported_at: datetime) -> str:
        """A 12345 work-order number: local date (YYMMDD) and a 7-digit serial."""
        day = reported_at.astimezone(local_zone()).strftime("%y%m%d")
        return self._unique(lambda: day + f"{self.rng.randrange(10**7):07d}")


def _add_communities() -> tuple[list[Community], list[BusinessCircle]]:
    street = db.session.scalar(sa.select(Street).where(Street.name == DEMO_STREET)) or Street(
        name=DEMO_STREET, description="长清区孝里街道办事处：统筹辖区社区的12345热线诉求办理，"
                                      "审批延期、退单，督办难点诉求。")
    communities = [
        Community(
            name=DEMO_COMMUNITY, street=street,
            address="山东省济南市长清区恒大绿洲",
            description="探索“红色商业圈”治理模式：商圈设立热线联络员、群众建议员和民意收集员，"
                        "形成“商铺四级闭环自治管理模式”，践行“小事不过晌、大事不过夜、难事不过周”。",
        ),
        Community(name=SECOND_COMMUNITY, street=street, address="山东省济南市长清区恒大绿洲",
                  description="滩区迁建安置社区，设有邻里调解茶室，“群众点单 专员摆摊”。"),
    ]
    circles = [
        BusinessCircle(name=name, community=communities[index], description=description)
        for name, _street, description, index in _CIRCLES
    ]
    db.session.add_all(communities)
    return communities, circles


def _add_departments() -> dict[str, Department]:
    """Create the demo departments, reusing any an administrator already entered."""
    kinds = _by_name(DepartmentKind)
    departments = _by_name(Department)
    for name, kind, contact, phone in _DEPARTMENTS:
        if name not in departments:
            departments[name] = Department(name=name, kind=kinds[kind], contact_person=contact,
                                           phone=normalise_phone(phone))
            db.session.add(departments[name])
    return departments


def _add_accounts(communities: list[Community], circles: list[BusinessCircle]) -> _Cast:
    """Create the demo accounts.

    An account whose username already exists (typically ``admin``, made with
    ``create-user`` before seeding) is reused untouched: the demo must never reset a real
    password.
    """
    existing = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_([a[0] for a in DEMO_ACCOUNTS]))
    )}
    users: dict[str, User] = {}
    for username, name, role, phone, index in DEMO_ACCOUNTS:
        user = existing.get(username)
        if user is None:
            user = User(username=username, display_name=name, role=role,
                        phone=normalise_phone(phone), active=True)
            if role in (Role.SPECIALIST, Role.STAFF):
                user.community = communities[index]
            if role == Role.LIAISON:
                user.circles = [circles[index]]
            if role == Role.LEADER:
                user.street = communities[0].street
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        users[role + (str(index) if index is not None else "")] = user
    return _Cast(specialist=users[f"{Role.SPECIALIST}0"], staff=users[f"{Role.STAFF}0"],
                 liaisons=[users[f"{Role.LIAISON}{i}"] for i in range(len(circles))],
                 specialists=[users[f"{Role.SPECIALIST}{i}"] for i in range(len(communities))],
                 leader=users[Role.LEADER])


def _add_circle_members(circles: list[BusinessCircle], gen: _Generator) -> None:
    for circle, members in zip(circles, _MEMBERS, strict=True):
        for name, role, notes in members:
            db.session.add(CircleMember(name=name, role=role, phone=gen.mobile(),
                                        circle=circle, notes=notes))


def _add_merchants(circles: list[BusinessCircle], cast: _Cast, gen: _Generator,
                   now: datetime) -> dict[str, Merchant]:
    """About 36 shops; every other one has a credit code, all have emergency contacts."""
    merchants: dict[str, Merchant] = {}
    for circle_index, (circle, shops) in enumerate(zip(circles, _SHOPS, strict=True)):
        street_address = _CIRCLES[circle_index][1]
        for number, (shop, category) in enumerate(shops, start=1):
            story = shop == STORY_SHOP
            merchant = Merchant(
                shop_name=shop,
                owner_name=STORY_OWNER if story else gen.person(),
                phone=gen.mobile(),
                address=f"{street_address}{number * 2 + circle_index}号",
                circle=circle,
                business_category=category,
                credit_code=gen.credit_code() if number % 2 == 1 else None,
                active=True,
                # Registered well before the oldest demo issue.
                created_at=now - timedelta(days=gen.rng.randint(45, 120)),
            )
            if story:
                _story_contacts(merchant, cast, gen)
            else:
                _ordinary_contacts(merchant, cast.liaisons[circle_index], gen)
            db.session.add(merchant)
            merchants[shop] = merchant
    return merchants


def _story_contacts(merchant: Merchant, cast: _Cast, gen: _Generator) -> None:
    # The story's point: the specialist's own mobile is the merchant's first call.
    specialist = cast.specialist
    merchant.emergency_contacts = [
        EmergencyContact(priority=1, name=specialist.display_name, phone=specialist.phone,
                         relation="社区热线专员", user=specialist),
        EmergencyContact(priority=2, name=gen.person(), phone=gen.mobile(), relation="配偶"),
    ]


def _ordinary_contacts(merchant: Merchant, liaison: User, gen: _Generator) -> None:
    relation = gen.rng.choice(_RELATIONS)
    surname = merchant.owner_name[0] if relation in _KIN else None
    contacts = [EmergencyContact(priority=1, name=gen.person(surname), phone=gen.mobile(),
                                 relation=relation)]
    if gen.rng.random() < 0.5:
        contacts.append(EmergencyContact(priority=2, name=liaison.display_name,
                                         phone=liaison.phone, relation="商圈热线联络员",
                                         user=liaison))
    merchant.emergency_contacts = contacts


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def seed_demo() -> bool:
    """Load the demo community with its people, merchants and issues.

    Returns ``False`` and changes nothing when the demo community already exists; otherwise
    adds everything (the missing reference data of :mod:`circle.reference` included) in one
    transaction, commits and returns ``True``.
    """
    exists = db.session.scalar(sa.select(Community.id).where(Community.name == DEMO_COMMUNITY))
    if exists is not None:
        return False
    from circle.demo_issues import add_issues

    now = utcnow()
    gen = _Generator(random.Random(_SEED))
    with unit_of_work():
        install_reference_data()
        communities, circles = _add_communities()
        departments = _add_departments()
        cast = _add_accounts(communities, circles)
        _add_circle_members(circles, gen)
        merchants = _add_merchants(circles, cast, gen, now)
        # Accounts and merchants need ids before the workflow checks who may act where.
        db.session.flush()
        add_issues(merchants, cast, departments, gen, now)
    return True
