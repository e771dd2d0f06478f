"""The data sets renkou ships (aggregate-only figures the register does not hold), as data. Loaded by migration
0002; kept here so that tests and docs read the same definitions."""

from __future__ import annotations

COMBOS = [
    ("SEX", "性别", [("MALE", "男"), ("FEMALE", "女")]),
    ("SPECIAL_TYPE", "特别扶助类别", [("DEATH", "独生子女死亡"), ("DISABILITY", "独生子女伤残")]),
]

# code, Chinese name, English name, value type, combo, unit of measure
ELEMENTS = [
    ("PUBLICITY_EVENTS", "开展宣传教育活动场次", "Publicity and education events held", "non_negative_integer", None, "场"),
    ("CONSULTATIONS", "提供咨询服务人次", "Consultations given", "non_negative_integer", "SEX", "人次"),
    ("PREPREG_CHECKUPS", "免费孕前优生健康检查人数", "Free pre-pregnancy check-ups given", "non_negative_integer",
     None, "人"),
    ("PREPREG_HIGH_RISK", "孕前检查发现风险人群人数", "Check-ups that found a risk", "non_negative_integer", None, "人"),
    ("FOLIC_ACID", "增补叶酸服务人数", "Women given folic acid", "non_negative_integer", None, "人"),
    ("REWARD_PERSONS", "奖励扶助对象人数", "Persons paid reward and assistance", "non_negative_integer", None, "人"),
    ("REWARD_AMOUNT", "奖励扶助发放金额", "Reward and assistance paid", "non_negative_number", None, "元"),
    ("SPECIAL_PERSONS", "特别扶助对象人数", "Persons paid special assistance", "non_negative_integer", "SPECIAL_TYPE",
     "人"),
    ("SPECIAL_AMOUNT", "特别扶助发放金额", "Special assistance paid", "non_negative_number", None, "元"),
]

# code, name, period type, due days, unit level, element codes
DATA_SETS = [
    ("FAMSVC_M", "计划生育家庭服务月报", "month", 15, 2,
     ["PUBLICITY_EVENTS", "CONSULTATIONS", "PREPREG_CHECKUPS", "PREPREG_HIGH_RISK", "FOLIC_ACID"]),
    ("REWARD_Q", "奖励扶助和特别扶助发放季报", "quarter", 20, 2,
     ["REWARD_PERSONS", "REWARD_AMOUNT", "SPECIAL_PERSONS", "SPECIAL_AMOUNT"]),
]

# code, name, instruction, left, operator, right, importance, missing values
RULES = [
    ("BIRTHS_BY_SEX", "男婴数 + 女婴数 = 活产数", "按性别分的活产数之和应等于活产总数，请核对出生登记的性别。",
     "#{LIVE_BIRTHS.MALE} + #{LIVE_BIRTHS.FEMALE}", "==", "#{LIVE_BIRTHS}", "high", "skip_if_all"),
    ("PREPREG_RISK_LE_CHECKUPS", "风险人群人数 ≤ 孕前检查人数", "发现风险的人数不能多于接受检查的人数。",
     "#{PREPREG_HIGH_RISK}", "<=", "#{PREPREG_CHECKUPS}", "high", "skip_if_any"),
    ("REWARD_AMOUNT_MIN", "奖励扶助金额 ≥ 对象人数 × 240 元", "奖励扶助每人每年不低于960元（每季度240元），请核对发放金额。",
     "#{REWARD_AMOUNT}", ">=", "#{REWARD_PERSONS} * 240", "medium", "skip_if_any"),
]


def load(apps) -> None:
    combo_model = apps.get_model("aggregates", "CategoryCombo")
    coc_model = apps.get_model("aggregates", "CategoryOptionCombo")
    element_model = apps.get_model("aggregates", "DataElement")
    ds_model = apps.get_model("aggregates", "DataSet")
    member_model = apps.get_model("aggregates", "DataSetElement")
    rule_model = apps.get_model("aggregates", "ValidationRule")
    combos = {}
    for code, name, options in COMBOS:
        combos[code], _ = combo_model.objects.get_or_create(code=code, defaults={"name": name})
        for i, (oc, on) in enumerate(options):
            coc_model.objects.get_or_create(combo=combos[code], code=oc, defaults={"name": on, "sort_order": i})
    elements = {}
    for code, zh, en, vt, combo, uom in ELEMENTS:
        elements[code], _ = element_model.objects.get_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "value_type": vt,
                                 "combo": combos[combo] if combo else None, "unit_of_measure": uom})
    for code, name, ptype, due, level, codes in DATA_SETS:
        ds, _ = ds_model.objects.get_or_create(code=code, defaults={"name": name, "period_type": ptype,
                                                                    "due_days": due, "unit_level": level})
        for i, ec in enumerate(codes):
            member_model.objects.get_or_create(data_set=ds, element=elements[ec], defaults={"sort_order": i})
    for code, name, instruction, left, op, right, importance, missing in RULES:
        rule_model.objects.get_or_create(code=code, defaults={
            "name": name, "instruction": instruction, "left": left, "operator": op, "right": right,
            "importance": importance, "missing_values": missing})
