"""The demo's cases: the news story's issue and the ones around it, as data.

Each :class:`_Case` says who reported what, when, and how far it got in the loop (with the
12345 lifecycle: first contact, extensions, returns, transfers, supervision);
:data:`_CASES` lists them all, the story first. :mod:`circle.demo_issues` plays them through
the workflow engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from circle.demo import STORY_SHOP
from circle.issues.models import Rating, Severity, Status, VisitOutcome
from circle.reference import HOTLINE, LIAISON_REPORT, MEMBER_REPORT, WALK_IN


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
