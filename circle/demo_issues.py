"""The demo's issues: the cases of the news story and how they are played.

Each :class:`_Case` says who reported what, when, and how far it got in the loop;
:class:`_Timeline` plays it through the workflow engine with ``now=`` set to the story's
clock, so the timelines, clocks and figures are what people using the panel would have
produced. :func:`add_issues` is called by :func:`circle.demo.seed_demo`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from circle.accounts.models import User
from circle.demo import _CIRCLES, _SHOPS, STORY_SHOP, _by_name, _Cast, _Generator
from circle.issues import workcalendar, workflow
from circle.issues.lifecycle_models import ContactChannel, ReturnBasis
from circle.issues.models import (
    Issue,
    IssueCategory,
    IssueSource,
    Rating,
    Severity,
    Status,
    VisitOutcome,
)
from circle.merchants.models import Merchant
from circle.org.models import Department
from circle.reference import HOTLINE, LIAISON_REPORT, MEMBER_REPORT, WALK_IN
from circle.timeutil import local_zone

# The service promise: (response, resolution) per severity.

_DAY = 24 * 60
# Typical minutes from the previous step to this one, per severity.
_PACE = {
    Severity.SMALL: {"escalate": 10, "accept": 5, "contact": 5, "arrive": 15, "joint_office": 180,
                     "symposium": _DAY, "resolve": 90, "hold": 30, "resume": 20 * 60,
                     "callback": 20 * 60, "close": 3, "rehandle": 15, "withdraw": 40},
    Severity.BIG: {"escalate": 30, "accept": 10, "contact": 10, "arrive": 25, "joint_office": 300,
                   "symposium": 2 * _DAY, "resolve": 240, "hold": 60, "resume": _DAY,
                   "callback": 21 * 60, "close": 3, "rehandle": 15, "withdraw": 60},
    Severity.HARD: {"escalate": 60, "accept": 15, "contact": 15, "arrive": 30, "joint_office": _DAY,
                    "symposium": 2 * _DAY, "resolve": 3 * _DAY, "hold": 60, "resume": _DAY,
                    "callback": 22 * 60, "close": 3, "rehandle": 15, "withdraw": 60},
}

_REGISTER_NOTES = {
    HOTLINE: "接12345热线工单{no}，登记诉求。",
    LIAISON_REPORT: "联络员巡查商圈时发现，登记诉求。",
    WALK_IN: "商户到联络员处反映，登记诉求。",
    MEMBER_REPORT: "群众建议员/民意收集员反映，联络员登记诉求。",
}


@dataclass(frozen=True)
class _Rehandle:
    """A first resolution the merchant rejected at the callback, and the second round."""

    complaint: str
    findings: str
    summary: str


@dataclass(frozen=True)
class _Case:
    """One demo issue: who, what, when, and how far it got in the loop."""

    shop: str
    category: str
    source: str
    severity: str
    description: str
    status: str
    peak: int = 1  # the highest level the issue reaches
    days_ago: int = 1  # reported on this local day ...
    clock: str = "09:00"  # ... at this local time,
    minutes_ago: int = 0  # ... unless reported this many minutes before seeding.
    findings: str = ""  # level-2 site visit
    joint_findings: str = ""  # level-3 joint on-site office
    departments: tuple[str, ...] = ()
    minutes: str = ""  # level-4 symposium
    deadline_days: int = 7
    hold_from: str = ""  # on-hold issues: the status they were held in
    hold_reason: str = ""
    held_then_resumed: bool = False  # a finished issue that once waited on a third party
    summary: str = ""
    rating: str = Rating.SATISFIED
    comment: str = ""
    unreachable: bool = False  # the first callback attempt got no answer
    rehandle: _Rehandle | None = None
    withdraw_reason: str = ""
    visit_outcome: str = VisitOutcome.RESOLVED  # of the last site visit, if it settled things
    # The 12345 lifecycle: the merchant phoned after the issue was signed for (先行联系);
    # an extension (reason, days added) approved by the street leader; a return (basis,
    # reason) approved by the leader; a supervision order (note, days to its deadline); a
    # registration in the wrong circle (its index), transferred to the merchant's own.
    phoned: bool = True
    extension: tuple[str, int, bool] | None = None  # (reason, days, approved yet)
    returned: tuple[str, str] | None = None
    supervision: tuple[str, int] | None = None
    registered_in: int | None = None
    pace: dict[str, int] = field(default_factory=dict)  # exact minutes, no jitter
    notes: dict[str, str] = field(default_factory=dict)  # event notes replacing the defaults


_STORY = _Case(
    shop=STORY_SHOP, category="供电用电", source=HOTLINE, severity=Severity.SMALL,
    status=Status.CLOSED, peak=2, days_ago=12, clock="10:20",
    description="品牌门店近期出现几次不供电的现象，频繁跳闸。冰箱里存放着大量冷冻商品，如果长时间"
                "没电肯定会变质。希望热线、社区尽快出面协商，帮助解决问题。",
    findings="门店使用的电线过粗、功率过大，再加上其他商铺用电，导致频繁跳闸。商户认为2016年电力"
             "增容后一直正常用电，应是供电设备老化需及时更新；物业和商户双方僵持不下。经现场协调、"
             "沟通，梳理问题和责任，双方同意先采取临时措施。",
    visit_outcome=VisitOutcome.TEMPORARY,
    summary="暂时由商户购买小刀闸安装到电表箱，保证门店正常用电；如后期再出现问题，物业再进行调整，"
            "满足门店的用电需求。",
    rating=Rating.SATISFIED,
    comment="半天时间就把问题解决了！但凡是涉及辖区商户和企业的经营问题，热线和社区会格外重视。",
    pace={"escalate": 3, "accept": 4, "arrive": 18, "resolve": 60, "callback": 22 * 60},
    notes={
        "register": "商户王连濛拨打12345热线（工单{no}），同时直接联系其紧急联系人——社区热线专员。",
        "escalate": "涉及物业与商户用电责任划分，联络员无法自行解决，上报社区热线专员。",
        "accept": "热线专员接单，电话告知商户马上到场。",
        "arrive": "热线专员和社区工作人员上门查看，召集物业与商户现场协商。",
    },
)

_CASES: tuple[_Case, ...] = (
    _STORY,
    # --- registered: the liaison is still on it ------------------------------------------
    _Case(shop="万家福超市", category="环境卫生", source=LIAISON_REPORT, severity=Severity.SMALL,
          status=Status.REGISTERED, minutes_ago=20,
          description="超市门前垃圾桶满溢，异味较大，影响顾客进店，请协调及时清运。"),
    _Case(shop="晨光文具店", category="市容秩序", source=WALK_IN, severity=Severity.SMALL,
          status=Status.REGISTERED, days_ago=1, clock="16:10",
          description="门店外人行道有流动摊贩占道经营，遮挡店铺招牌和出入口，顾客进出不便。"),
    _Case(shop="佳佳眼镜店", category="噪音扰民", source=MEMBER_REPORT, severity=Severity.SMALL,
          status=Status.REGISTERED, minutes_ago=90,
          description="隔壁商铺促销音响音量过大，整天循环播放，影响验光和顾客休息。"),
    # --- escalated: waiting for the specialist ---------------------------------------------
    _Case(shop="鑫达五金建材", category="市容秩序", source=LIAISON_REPORT, severity=Severity.BIG,
          status=Status.ESCALATED, peak=2, days_ago=2, clock="10:30",
          description="店门前停车位被长期占用堆放杂物，送货车辆无法停靠卸货，联络员协调未果。"),
    _Case(shop="老长清烧饼铺", category="燃气", source=HOTLINE, severity=Severity.BIG,
          status=Status.ESCALATED, peak=2, minutes_ago=75,
          description="燃气表读数异常，近期燃气费用明显增高，怀疑表具故障，需燃气公司上门检测。"),
    _Case(shop="福满园饺子馆", category="供水", source=WALK_IN, severity=Severity.SMALL,
          status=Status.ESCALATED, peak=2, days_ago=1, clock="11:05",
          description="店内水压偏低，中午用餐高峰后厨用水不足，影响正常经营。"),
    # --- dispatched: accepted, not yet on site ---------------------------------------------
    _Case(shop="干净人家洗衣店", category="供电用电", source=HOTLINE, severity=Severity.BIG,
          status=Status.DISPATCHED, peak=2, minutes_ago=100,
          description="店内洗衣设备启动时电压不稳，烘干机多次自动停机，衣物无法按时交付。"),
    _Case(shop="童趣母婴用品店", category="物业纠纷", source=LIAISON_REPORT,
          severity=Severity.BIG, status=Status.DISPATCHED, peak=2, days_ago=3, clock="14:20",
          extension=("需物业出具广告位收费的备案文件，物业总部审核需数个工作日。", 6, True),
          description="物业要求商户缴纳门头广告位管理费，商户认为收费没有依据，双方各执一词。"),
    # --- on site: the specialist is there ----------------------------------------------------
    _Case(shop="快修手机维修", category="供电用电", source=WALK_IN, severity=Severity.SMALL,
          status=Status.ON_SITE, peak=2, minutes_ago=150,
          description="店内插座冒火花后已断电，维修设备无法使用。",
          findings="插座老化烧蚀，已断开故障回路并临时改用安全插排，等待物业电工更换插座。"),
    _Case(shop="黄河鲜鱼馆", category="环境卫生", source=MEMBER_REPORT, severity=Severity.BIG,
          status=Status.ON_SITE, peak=2, days_ago=2, clock="15:00",
          supervision=("污水外溢影响公共通道通行，请明日下班前完成疏通并反馈。", 1),
          description="餐馆后门排污管道堵塞，污水外溢至公共通道，气味较大，行人反映强烈。",
          findings="排污管道被油污堵塞，已联系物业安排疏通；餐馆需加装隔油池，正在商议费用分担。"),
    # --- joint on-site office (level 3) --------------------------------------------------
    _Case(shop="宏达五金店", category="消防安全", source=MEMBER_REPORT, severity=Severity.HARD,
          status=Status.JOINT_OFFICE, peak=3, days_ago=3, clock="09:30",
          extension=("可燃物需分批清运，物业协调临时仓储空间尚需时日，申请延长办理期限。", 5,
                     False),
          description="五金店后院堆放大量包装纸箱和油漆桶，紧邻配电箱，存在火灾隐患，店主表示"
                      "没有其他地方存放。",
          findings="后院可燃物堆放确实紧邻配电箱，商户无处存放，需消防和物业共同研究。",
          joint_findings="消防、物业与商户联合现场办公：责令限期清理可燃物，物业协调提供临时仓储"
                         "空间，商户正在分批清运。",
          departments=("长清区消防救援大队", "恒大物业服务中心")),
    _Case(shop="绿洲鲜果坊", category="证照办理", source=WALK_IN, severity=Severity.HARD,
          status=Status.JOINT_OFFICE, peak=3, days_ago=5, clock="10:00",
          description="门店拟增加预包装食品销售，办理食品经营许可时被告知经营场所用途与登记信息"
                      "不符，不知如何处理。",
          findings="经营场所登记信息与房屋用途证明不一致，需市场监管部门和物业共同确认。",
          joint_findings="市场监管所现场核实经营场所，物业出具房屋用途证明，商户按要求补充材料，"
                         "许可正在办理中。",
          departments=("长清区市场监督管理局", "恒大物业服务中心")),
    # --- symposium (level 4) -------------------------------------------------------------
    _Case(shop="好邻居生鲜店", category="物业纠纷", source=HOTLINE, severity=Severity.HARD,
          status=Status.SYMPOSIUM, peak=4, days_ago=8, clock="09:20",
          description="西街多家商户反映物业上调商铺物业费，事先未公示，商户集体不认可，要求说明"
                      "收费依据。",
          findings="涉及西街多家商户，物业坚持按新标准收费，需相关部门共同参与。",
          joint_findings="市场监管部门现场查看物业收费公示情况，物业与商户代表意见分歧较大，现场"
                         "未能达成一致。",
          departments=("恒大物业服务中心", "长清区市场监督管理局"),
          minutes="社区组织物业、商户代表座谈：物业公开收费构成和测算依据；约定物业在期限内完成"
                  "收费标准公示并听取商户意见，期间暂按原标准收取。",
          deadline_days=10),
    _Case(shop="洁净洗衣店", category="供水", source=LIAISON_REPORT, severity=Severity.HARD,
          status=Status.SYMPOSIUM, peak=4, days_ago=6, clock="08:50",
          description="商业街东区雨污水管网混接，雨天店铺门前积水倒灌，多家商户受影响。",
          findings="东区管网雨污混接，积水倒灌涉及多家商户，需供水、城管和物业共同处理。",
          joint_findings="供水公司、城管和物业现场勘查管网走向，确认需局部改造，责任划分意见不一。",
          departments=("长清区供水公司营业所", "长清区城管执法中队", "恒大物业服务中心"),
          minutes="明确管网改造分工：供水公司负责管网勘测和方案，物业负责施工组织，城管协调施工"
                  "期间占道；约定在期限内完成改造，期间物业配备抽水设备应急。",
          deadline_days=14),
    # --- on hold -----------------------------------------------------------------------------
    _Case(shop="美丽佳美甲店", category="证照办理", source=WALK_IN, severity=Severity.BIG,
          status=Status.ON_HOLD, hold_from=Status.DISPATCHED, peak=2, days_ago=4, clock="15:40",
          description="营业执照经营范围需增加美甲培训项目，不清楚需要准备哪些材料。",
          hold_reason="办理需提供房屋租赁合同原件，商户外出进货，待商户返回后继续办理。"),
    _Case(shop="宠爱有家宠物店", category="噪音扰民", source=MEMBER_REPORT,
          severity=Severity.BIG, status=Status.ON_HOLD, hold_from=Status.ON_SITE, peak=2,
          days_ago=2, clock="17:30",
          description="楼上住户反映宠物店夜间寄养犬只吠叫，影响休息。",
          findings="寄养犬只较多，商户同意调整寄养区位置并加装隔音棉。",
          hold_reason="等待商户购买的隔音材料到货后施工。"),
    # --- resolved, awaiting the callback -------------------------------------------------
    _Case(shop="茶语时光奶茶店", category="供水", source=LIAISON_REPORT, severity=Severity.SMALL,
          status=Status.RESOLVED, peak=1, days_ago=1, clock="09:15",
          description="店内水龙头漏水，物业报修电话无人接听。",
          summary="联络员联系物业维修工上门更换水龙头阀芯，已恢复正常。"),
    _Case(shop="康泰大药房", category="市容秩序", source=HOTLINE, severity=Severity.BIG,
          status=Status.RESOLVED, peak=2, days_ago=3, clock="10:40", unreachable=True,
          description="药店门前共享单车乱停乱放，堵塞店门和无障碍通道。",
          findings="店门前堆放共享单车约二十辆，已联系运营企业清运。",
          summary="运营企业已清运车辆并在路口施划停放区，城管队员加强巡查。"),
    _Case(shop="鑫源电动车维修", category="消防安全", source=MEMBER_REPORT,
          severity=Severity.BIG, status=Status.RESOLVED, peak=2, days_ago=2, clock="14:00",
          description="维修店在店内为电动车电池集中充电，存在安全隐患。",
          findings="店内同时充电电池十余块，周边堆放纸箱等可燃物。",
          summary="指导商户将充电区移至室外专用充电桩，清理店内可燃物，配备灭火器两具。"),
    # --- closed --------------------------------------------------------------------------
    _Case(shop="惠民生活超市", category="其他", source=WALK_IN, severity=Severity.SMALL,
          status=Status.CLOSED, peak=1, days_ago=15, clock="10:10",
          description="咨询小规模纳税人增值税减免政策及发票申领流程。",
          summary="联络员对接税务部门，为商户讲解政策，并协助在电子税务局完成发票申领。",
          rating=Rating.VERY_SATISFIED, comment="联络员跑前跑后，省了我们不少事。"),
    _Case(shop="兴旺早餐铺", category="市容秩序", source=LIAISON_REPORT, severity=Severity.SMALL,
          status=Status.CLOSED, peak=1, days_ago=22, clock="07:20",
          description="早餐铺门前路灯不亮，清晨出摊光线差，存在安全隐患。",
          summary="联络员报物业更换路灯灯泡，当天恢复照明。",
          rating=Rating.BASICALLY_SATISFIED, comment="灯修好了，希望以后坏了能早点发现。"),
    _Case(shop="时尚造型理发店", category="物业纠纷", source=WALK_IN, severity=Severity.BIG,
          status=Status.CLOSED, peak=3, days_ago=20, clock="09:40",
          description="物业要求移除理发店空调外机，商户认为影响正常经营。",
          findings="外机安装位置不统一，物业与商户各执一词，需城管参与确定规范位置。",
          joint_findings="城管、物业和商户联合现场办公，确定统一外机安装位置，物业提供支架。",
          departments=("恒大物业服务中心", "长清区城管执法中队"),
          summary="外机已按统一位置移装，不影响营业，物业承担支架费用。",
          rating=Rating.SATISFIED, comment="几家单位一起到现场，一次就说清楚了。"),
    _Case(shop="好运来烟酒店", category="证照办理", source=WALK_IN, severity=Severity.HARD,
          status=Status.CLOSED, peak=4, days_ago=26, clock="09:00",
          description="商铺房产证与营业执照地址门牌号不一致，影响烟草专卖零售许可证续期。",
          findings="门牌号在商业街改造后重新编排，房产登记未同步更新。",
          joint_findings="市场监管部门和物业现场核对门牌编号，需开发商和多部门出具证明，现场无法"
                         "办结。",
          departments=("长清区市场监督管理局", "恒大物业服务中心"),
          minutes="座谈会商定：物业协调开发商出具门牌变更证明，市场监管部门开通绿色通道，约定"
                  "期限内完成地址变更和许可续期。",
          deadline_days=7,
          summary="地址变更登记已完成，烟草专卖零售许可证顺利续期。",
          rating=Rating.VERY_SATISFIED, comment="本来以为要跑好几个月，没想到一周就办下来了。"),
    _Case(shop="数码通手机维修", category="环境卫生", source=LIAISON_REPORT,
          severity=Severity.BIG, status=Status.CLOSED, peak=2, days_ago=18, clock="13:30",
          description="店铺门前下水道井盖破损，气味大且有绊倒行人的隐患。",
          findings="井盖边缘碎裂，已设置警示标识。",
          summary="物业临时加盖钢板并设置警示标识。",
          rehandle=_Rehandle(
              complaint="钢板没固定，走上去咣当响，问题没有彻底解决。",
              findings="临时钢板松动，需要更换新井盖。",
              summary="物业更换新井盖并固定，清理了周边淤积。",
          ),
          rating=Rating.SATISFIED, comment="新井盖装好了，这回踏实了。"),
    _Case(shop="清泉桶装水站", category="市容秩序", source=MEMBER_REPORT, severity=Severity.BIG,
          status=Status.CLOSED, peak=2, days_ago=14, clock="11:15", held_then_resumed=True,
          description="送水三轮车没有地方停放，多次被提醒占道，影响送水。",
          findings="商业街缺少非机动车临时停放点，需物业确认可用区域。",
          hold_reason="等待物业确认商业街后侧可用的停放区域。",
          summary="物业在商业街后侧划定三轮车临时停放点，商户按规定停放。",
          rating=Rating.BASICALLY_SATISFIED, comment="停车点离店有点远，不过总算有地方放了。"),
    _Case(shop="味香园快餐店", category="燃气", source=HOTLINE, severity=Severity.BIG,
          status=Status.CLOSED, peak=2, days_ago=9, clock="10:50",
          description="后厨燃气灶点火困难，有轻微燃气味，担心安全。",
          findings="燃气软管老化，减压阀工作不稳定，已关闭总阀，通知燃气公司到场。",
          summary="燃气公司维修人员到场检测，更换老化软管和减压阀，检测无泄漏。",
          rating=Rating.VERY_SATISFIED, comment="处理得很及时，中午没耽误营业。"),
    # --- the 12345 lifecycle: returned, transferred -----------------------------------------
    _Case(shop="巧手裁缝铺", category="其他", source=HOTLINE, severity=Severity.BIG,
          status=Status.RETURNED, peak=2, days_ago=4, clock="10:15",
          description="商户与房东因店面转租发生纠纷，房东要求收回店面并扣除押金，商户要求社区"
                      "判定谁对谁错。",
          returned=("应通过司法、仲裁等途径解决",
                    "属租赁合同民事纠纷，已告知商户可向长清区人民法院起诉或申请人民调解。")),
    _Case(shop="惠邻便利店", category="供电用电", source=WALK_IN, severity=Severity.SMALL,
          status=Status.DISPATCHED, peak=2, minutes_ago=130, registered_in=0,
          description="店门口路灯不亮，晚上顾客看不清台阶，已有老人差点摔倒。",
          notes={"transfer": "该店位于恒大绿洲第二社区，误登记在东街商圈，转至第二社区办理。"}),
    # --- withdrawn ---------------------------------------------------------------------------
    _Case(shop="万通快递驿站", category="市容秩序", source=LIAISON_REPORT,
          severity=Severity.SMALL, status=Status.WITHDRAWN, days_ago=6, clock="15:20",
          description="快递车辆在驿站门前临时停靠卸货，被邻近商户投诉占道。",
          withdraw_reason="经核实为重复登记的同一事项，已合并到先前登记的诉求中处理，撤回本条。"),
    _Case(shop="金穗粮油店", category="其他", source=WALK_IN, severity=Severity.SMALL,
          status=Status.WITHDRAWN, days_ago=10, clock="09:45",
          description="房东要求提前解除租赁合同，商户希望社区出面协调。",
          withdraw_reason="商户与房东已自行协商一致，申请撤回诉求。"),
)


class _Timeline:
    """Plays one issue forward in time through the workflow engine.

    Every step is a call of a :mod:`circle.issues.workflow` step function with ``now=`` set
    to the story's clock, so the demo's timelines, clocks (held issues pause theirs) and
    figures are exactly what people using the panel would have produced.
    """

    def __init__(self, case: _Case, cast: _Cast, liaison: User,
                 departments: dict[str, Department], rng: random.Random, now: datetime,
                 reported_at: datetime, specialist: User):
        self.case, self.cast, self.liaison = case, cast, liaison
        self.specialist = specialist  # of the community the issue is in
        self.departments = [departments[name] for name in case.departments]
        self.rng, self.now = rng, now
        self.at = reported_at
        self.issue: Issue | None = None

    # -- mechanics ------------------------------------------------------------------------

    def _advance(self, step: str) -> None:
        minutes = self.case.pace.get(step)
        if minutes is None:
            base = _PACE[self.case.severity][step]
            minutes = base + self.rng.randint(0, max(1, base // 5))
        # A safety net: whatever the hour of seeding, no demo event lies in the future.
        self.at = min(self.at + timedelta(minutes=minutes), self.now)

    def _note(self, step: str, default: str) -> str:
        return self.case.notes.get(step, default).format(no=self.issue.work_order_no)

    def _visit(self, level: int, findings: str, outcome: str, summary: str = "") -> None:
        specialist = self.specialist
        workflow.record_site_visit(
            self.issue, specialist, arrived_at=self.at, outcome=outcome, findings=findings,
            summary=summary, attendees=[specialist, self.liaison] if level == 3 else [specialist],
            departments=list(self.departments) if level == 3 or outcome == VisitOutcome.ESCALATE
            else [], expected_version=None, now=self.at)

    # -- steps ----------------------------------------------------------------------------

    def register(self, merchant: Merchant, category, source, work_order_no) -> Issue:
        case = self.case
        note = case.notes.get("register", _REGISTER_NOTES[case.source]).format(no=work_order_no)
        self.issue = workflow.register_issue(
            self.liaison, merchant=merchant, category=category, source=source,
            severity=case.severity, description=case.description,
            work_order_no=work_order_no, note=note, now=self.at)
        return self.issue

    def escalate(self) -> None:
        self._advance("escalate")
        workflow.escalate_to_community(
            self.issue, self.liaison, expected_version=None, now=self.at,
            note=self._note("escalate", "联络员协调未能解决，上报社区热线专员。"))

    def accept(self) -> None:
        self._advance("accept")
        workflow.accept_issue(self.issue, self.specialist, expected_version=None,
                              now=self.at,
                              note=self._note("accept", "热线专员接单，已电话联系商户。"))

    def phone_merchant(self) -> None:
        """先行联系: the specialist phones the merchant soon after signing for it."""
        self._advance("contact")
        workflow.record_first_contact(self.issue, self.specialist, contacted_at=self.at,
                                      channel=ContactChannel.PHONE, note="电话联系商户，了解情况。",
                                      expected_version=None, now=self.at)

    def transfer(self, circle, specialist: User) -> None:
        """转办 to the merchant's own circle in another community; its specialist signs."""
        self._advance("accept")
        workflow.transfer_issue(self.issue, self.specialist, circle=circle, move_merchant=True,
                                note=self._note("transfer", ""), expected_version=None,
                                now=self.at)
        self.specialist = specialist

    def extend(self, reason: str, days: int, approved: bool) -> None:
        """延期申请 before the deadline, approved by the street leader two hours later (or
        still waiting for the leader)."""
        self._advance("contact")
        new = self.issue.resolution_due_at + timedelta(days=days)
        workflow.request_extension(self.issue, self.specialist, reason=reason,
                                   new_deadline=new, expected_version=None, now=self.at)
        if not approved:
            return
        self.at = min(self.at + timedelta(hours=2), self.now)
        workflow.decide_extension(self.issue, self.cast.leader, approve=True,
                                  note="同意延期，请按新期限办结。", expected_version=None,
                                  now=self.at)

    def give_back(self, basis: str, reason: str) -> None:
        """退单: not the community's remit; the leader approves the return."""
        self._advance("contact")
        basis_row = _by_name(ReturnBasis)[basis]
        workflow.request_return(self.issue, self.specialist, basis=basis_row, reason=reason,
                                expected_version=None, now=self.at)
        self.at = min(self.at + timedelta(hours=3), self.now)
        workflow.decide_return(self.issue, self.cast.leader, approve=True,
                               note="同意退回12345平台重新派单。", expected_version=None,
                               now=self.at)

    def supervise(self, note: str, days: int) -> None:
        """督办 by the street leader, with a deadline ``days`` later (end of that day)."""
        self._advance("contact")
        workflow.supervise_issue(self.issue, self.cast.leader, note=note,
                                 deadline=_local_evening(self.at, days), expected_version=None,
                                 now=self.at)

    def arrive(self, findings: str, outcome: str, summary: str = "") -> None:
        self._advance("arrive")
        self._visit(2, findings, outcome, summary)

    def joint_office(self, outcome: str, summary: str = "") -> None:
        """The joint on-site office the last visit convened (its outcome chained level 3)."""
        self._advance("joint_office")
        self._visit(3, self.case.joint_findings, outcome, summary)

    def symposium(self) -> None:
        self._advance("symposium")
        case, specialist = self.case, self.specialist
        names = "、".join(d.name for d in self.departments)
        workflow.record_symposium(
            self.issue, specialist, held_at=self.at,
            agreed_deadline=_local_evening(self.at, case.deadline_days),
            participants=f"社区党委、热线专员{specialist.display_name}、"
                         f"商圈联络员{self.liaison.display_name}、{names}、商户代表",
            minutes=case.minutes, departments=list(self.departments),
            expected_version=None, now=self.at)

    def hold(self, reason: str) -> None:
        self._advance("hold")
        workflow.put_on_hold(self.issue, self.specialist, reason=reason,
                             expected_version=None, now=self.at)

    def resume(self) -> None:
        self._advance("resume")
        workflow.resume_issue(self.issue, self.specialist, note="等待事项已落实，恢复办理。",
                              expected_version=None, now=self.at)

    def resolve(self, summary: str) -> None:
        self._advance("resolve")
        if self.issue.level == 1:
            workflow.resolve_at_level1(self.issue, self.liaison, expected_version=None,
                                       now=self.at, summary=summary)
        else:
            workflow.resolve_issue(self.issue, self.specialist, expected_version=None,
                                   now=self.at, summary=summary)

    def callback(self, *, reached: bool, rating: str | None = None, comment: str = "") -> None:
        """One call: not reached, or reached with a rating (closing or re-opening the issue)."""
        self._advance("callback")
        satisfied = rating not in (Rating.DISSATISFIED, Rating.VERY_DISSATISFIED)
        workflow.record_callback(
            self.issue, self.cast.staff, reached=reached,
            resolved=satisfied if reached else None, rating=rating if reached else None,
            comments=comment, called_at=self.at, expected_version=None, now=self.at)

    def withdraw(self, reason: str) -> None:
        self._advance("withdraw")
        workflow.withdraw_issue(self.issue, self.liaison, reason=reason,
                                expected_version=None, now=self.at)


def _play(t: _Timeline, case: _Case) -> None:
    """Take an issue through the four-level loop as far as its case says."""
    # An on-hold issue is played to where it was held, then held.
    target = case.hold_from if case.status == Status.ON_HOLD else case.status
    if case.status == Status.WITHDRAWN:
        t.withdraw(case.withdraw_reason)
        return
    # A visit that settles the matter resolves it on the spot, unless the case waited on a
    # third party first (then it is resolved after the wait).
    resolves_on_site = (case.status in (Status.RESOLVED, Status.CLOSED)
                        and not case.held_then_resumed)
    if case.peak >= 2:
        t.escalate()
        if target == Status.ESCALATED:
            return
        if case.registered_in is not None:
            t.transfer(*t.home)
        t.accept()
        if case.phoned:
            t.phone_merchant()
        if case.returned:
            return t.give_back(*case.returned)
        if case.extension:
            t.extend(*case.extension)
        if case.supervision:
            t.supervise(*case.supervision)
        if target == Status.DISPATCHED:
            return _finish_open(t, case)
        if case.peak >= 3:
            t.arrive(case.findings, VisitOutcome.ESCALATE)
        elif target == Status.ON_SITE:
            t.arrive(case.findings, VisitOutcome.TEMPORARY)
            return _finish_open(t, case)
        elif resolves_on_site and case.visit_outcome == VisitOutcome.RESOLVED:
            t.arrive(case.findings, VisitOutcome.RESOLVED, case.summary)
        else:
            t.arrive(case.findings, VisitOutcome.TEMPORARY)
        if case.peak >= 3:
            joint_open = target == Status.JOINT_OFFICE
            if case.peak == 4:
                t.joint_office(VisitOutcome.ESCALATE)
            elif joint_open or not resolves_on_site:
                t.joint_office(VisitOutcome.TEMPORARY)
            else:
                t.joint_office(VisitOutcome.RESOLVED, case.summary)
            if joint_open:
                return
        if case.peak == 4:
            t.symposium()
            if target == Status.SYMPOSIUM:
                return
    if target in Status.OPEN:
        return _finish_open(t, case)
    if case.held_then_resumed:
        t.hold(case.hold_reason)
        t.resume()
    if t.issue.status != Status.RESOLVED:
        t.resolve(case.summary)
    if case.rehandle:
        _play_rehandle(t, case.rehandle)
    if case.unreachable:
        t.callback(reached=False)
    if case.status == Status.CLOSED:
        t.callback(reached=True, rating=case.rating, comment=case.comment)


def _finish_open(t: _Timeline, case: _Case) -> None:
    if case.status == Status.ON_HOLD:
        t.hold(case.hold_reason)


def _play_rehandle(t: _Timeline, rehandle: _Rehandle) -> None:
    """The merchant rejects the first resolution; the specialist goes back and fixes it."""
    t.callback(reached=True, rating=Rating.DISSATISFIED, comment=rehandle.complaint)
    t.arrive(rehandle.findings, VisitOutcome.RESOLVED, rehandle.summary)


def _community_of(circle_index: int) -> int:
    return _CIRCLES[circle_index][3]


def _local_evening(at: datetime, days: int) -> datetime:
    """18:00 local time, ``days`` days after ``at``: deadlines are agreed as whole days."""
    zone = local_zone()
    day = at.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(18, 0), tzinfo=zone).astimezone(timezone.utc)


def _reported_at(case: _Case, now: datetime) -> datetime:
    if case.minutes_ago:
        return now - timedelta(minutes=case.minutes_ago)
    # Anchor on a local working hour of an earlier day, so times look like office hours.
    zone = local_zone()
    day = now.astimezone(zone).date() - timedelta(days=case.days_ago)
    calendar = workcalendar.load_calendar(zone)  # office hours fall on working days
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    hour, minute = (int(part) for part in case.clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(timezone.utc)


def add_issues(merchants: dict[str, Merchant], cast: _Cast,
                departments: dict[str, Department], gen: _Generator, now: datetime) -> None:
    """Play every case through the workflow engine, oldest first."""
    categories, sources = _by_name(IssueCategory), _by_name(IssueSource)
    # Oldest first, so that issue numbers grow with time as they would in real use.
    for reported_at, case in sorted(((_reported_at(c, now), c) for c in _CASES),
                                    key=lambda pair: pair[0]):
        merchant = merchants[case.shop]
        home = next(i for i, shops in enumerate(_SHOPS)
                    if case.shop in (name for name, _ in shops))
        circle_index = home if case.registered_in is None else case.registered_in
        home_circle = merchant.circle
        if circle_index != home:
            # Registered in the wrong circle by its liaison (and transferred later).
            wrong = cast.liaisons[circle_index].circles[0]
            merchant.circle, merchant.circle_id = wrong, wrong.id
        source = sources[case.source]
        liaison = cast.liaisons[circle_index]
        timeline = _Timeline(case, cast, liaison, departments, gen.rng, now, reported_at,
                             cast.specialists[_community_of(circle_index)])
        timeline.home = (home_circle, cast.specialists[_community_of(home)])
        timeline.register(merchant, categories[case.category], source,
                          gen.work_order_no(reported_at) if source.is_hotline else None)
        _play(timeline, case)
    # 催办: the supervision orders whose deadline has passed are chased today.
    workflow.chase_overdue_supervisions(now=now)
