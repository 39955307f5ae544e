"""Chinese labels shown first, English beside them (as in the emails)."""

from __future__ import annotations

from models.directory import COUNTY_NAMES_ZH, FIELD_NAMES_ZH, County, Field, Role

FIELD_LABELS_ZH = {
    "checklist": "认定条件核对", "lead_unit_kind": "牵头单位类型", "independent_legal_person": "独立法人",
    "innovation_functions": "创新功能", "resource_integration": "资源整合", "compliance": "合规情况",
    "met": "是否满足", "evidence": "证明材料", "commitment_letter": "诚信承诺书", "signed_by": "签署单位",
    "signed_on": "签署日期", "document_ref": "文件编号", "materials": "申报材料", "partner_agreements": "合作协议",
    "operating_status": "运营情况", "credit": "信用情况", "materials_authentic": "材料真实性", "ok": "是否通过",
    "note": "说明", "recommend": "是否推荐", "reasons": "推荐理由", "evaluator_kind": "评审方式",
    "evaluator": "评审方", "score": "评分", "opinion": "评审意见", "propose": "是否建议认定",
    "report_ref": "报告编号", "evaluated_on": "评审日期", "published_on": "公示日期", "reference": "公示文号",
    "objector": "异议人", "contact": "联系方式", "grounds": "异议理由", "objection_id": "异议编号",
    "outcome": "处理结果", "finding": "核实结论", "reason": "原因", "year": "年度", "amount_yuan": "金额（元）",
    "payment_ref": "拨付凭证", "amount_due_yuan": "应拨金额（元）", "assessment_ref": "考核文号",
    "receipt_ref": "收款凭证", "grade": "等级", "passed": "是否通过", "kind": "类别", "happened_on": "发生日期",
    "description": "说明", "change_id": "变更编号", "still_eligible": "是否仍符合条件", "ground": "撤销事由",
}

ACTION_ZH = {
    "submit_application": "提交申报", "record_county_review": "县区审核推荐", "record_city_evaluation": "市级综合评审",
    "publish_notice": "发布公示", "file_objection": "提出异议", "resolve_objection": "处理异议", "withdraw": "撤回申请",
    "grant_advance": "预拨补助", "settle_subsidy": "清算补助", "record_repayment": "登记退款",
    "submit_annual_report": "提交年度报告", "record_annual_evaluation": "年度评价", "record_rectification_result":
    "整改结果", "report_major_change": "报告重大变更", "record_major_change_review": "重大变更审核", "revoke": "撤销认定",
}

PHASE_ZH = {
    "preparing": "申报准备", "county_review": "县区审核", "city_evaluation": "市级评审", "public_notice": "公示中",
    "designated": "已认定", "rectifying": "整改中", "rejected": "未予认定", "withdrawn": "已撤回",
    "delisted": "已摘牌", "revoked": "已撤销", "cancelled": "已取消",
}

ROLE_ZH = {Role.CITY_BUREAU: "市科技局", Role.COUNTY_DEPARTMENT: "县区科技部门",
           Role.IMPLEMENTING_ENTITY: "实施主体", Role.PUBLIC: "公众"}


def label_zh(name: str) -> str | None:
    return FIELD_LABELS_ZH.get(name)


def county_zh(value: str | None) -> str:
    try:
        return COUNTY_NAMES_ZH[County(value)] if value else ""
    except ValueError:
        return ""


def field_zh(value: str | None) -> str:
    try:
        return FIELD_NAMES_ZH.get(Field(value), "其他海洋产业") if value else ""
    except ValueError:
        return ""
