"""The default ledger templates: Chinese headers, the other headers ledgers in use carry, notes.

Data, edited afterwards in the admin; this migration only creates templates that are missing.
"""

from django.db import migrations

# kind: (name, notes, [(field, header, aliases, required, note)])
TEMPLATES = {
    "people": (
        "人员台账",
        "一行一人。公民身份号码是人员的唯一标识：再次导入同一人员不会重复登记。",
        [
            ("name", "姓名", "", True, ""),
            ("sex", "性别", "", False, "男/女；留空时取自身份证号"),
            (
                "id_number",
                "公民身份号码",
                "身份证号|身份证号码|证件号码|身份证",
                True,
                "18位，末位可为X；请以文本格式填写",
            ),
            (
                "phone",
                "联系电话",
                "手机号|手机号码|电话|联系方式",
                False,
                "手机号或带区号的固定电话",
            ),
            ("ethnicity", "民族", "", False, "如：汉族、回族"),
            ("hukou_address", "户籍地址", "户籍地|户籍所在地", False, ""),
            ("residency_type", "人员类型", "人口类型|人员类别", True, "户籍/常住/流动"),
            ("grid", "网格编码", "网格代码|所属网格", True, "15位社会网格编码，须在本人管辖范围内"),
            (
                "building_address",
                "楼栋地址",
                "楼栋|标准地址|地址",
                True,
                "楼栋的标准地址；不存在时自动建立",
            ),
            ("building_name", "楼栋名称", "", False, "如：3号楼"),
            ("unit", "单元", "单元号", False, ""),
            ("room", "房号", "门牌号|房间号|室", True, ""),
            ("relation", "居住关系", "与户主关系|与房屋关系|人房关系", True, "业主/租户/家属/其他"),
            (
                "moved_in_on",
                "入住日期",
                "入住时间|居住日期|来本地日期",
                False,
                "流动人口必填，如 2024-05-01",
            ),
            ("occupation", "职业", "", False, ""),
            ("workplace", "工作单位", "服务处所|工作单位或学校", False, ""),
        ],
    ),
    "houses": (
        "房屋台账",
        "一行一户房屋。楼栋地址+单元+房号是房屋的唯一标识。",
        [
            ("grid", "网格编码", "网格代码|所属网格", True, "15位社会网格编码"),
            (
                "building_address",
                "楼栋地址",
                "楼栋|标准地址|地址",
                True,
                "楼栋的标准地址；不存在时自动建立",
            ),
            ("building_name", "楼栋名称", "", False, ""),
            ("unit", "单元", "单元号", False, ""),
            ("room", "房号", "门牌号|房间号|室", True, ""),
            ("floor", "楼层", "所在楼层", False, ""),
            ("area_m2", "建筑面积", "面积|面积(平方米)", False, "平方米"),
            ("use", "房屋用途", "用途", False, "住宅/商铺/办公/仓储/商住/其他"),
            ("ownership", "产权性质", "产权", False, "私产/公产/单位产/集体产/其他"),
            ("rented", "是否出租", "出租", False, "是/否"),
            ("has_lease_contract", "租赁合同", "", False, "是/否"),
            ("has_responsibility_letter", "治安责任书", "", False, "是/否"),
            ("has_rental_filing", "备案登记表", "", False, "是/否"),
        ],
    ),
    "organizations": (
        "单位台账",
        "一行一个单位。统一社会信用代码是单位的唯一标识。",
        [
            ("name", "单位名称", "名称|企业名称", True, ""),
            (
                "org_type",
                "单位类型",
                "类型",
                True,
                "企业/个体工商户/学校/机关/事业单位/社会组织/医院/其他",
            ),
            ("credit_code", "统一社会信用代码", "信用代码|社会信用代码", True, "18位"),
            ("grid", "网格编码", "网格代码|所属网格", True, "15位社会网格编码"),
            ("address", "地址", "单位地址|经营地址", False, ""),
            ("industry", "行业", "所属行业", False, ""),
            ("legal_representative", "法定代表人", "法人|负责人", False, ""),
            ("contact_name", "联系人", "", False, ""),
            ("contact_phone", "联系电话", "电话|手机号", False, ""),
            ("employees", "从业人数", "员工人数", False, ""),
            ("operating_status", "经营状态", "状态", False, "在营/停业/注销"),
            ("safety_key_unit", "安全生产重点单位", "", False, "是/否"),
            ("fire_key_unit", "消防重点单位", "", False, "是/否"),
            ("hazardous_chemicals", "涉及危险化学品", "危险化学品", False, "是/否"),
            ("fire_risk", "火灾风险", "", False, "未评定/低/中/高"),
            ("safety_officer", "安全员", "安全负责人", False, ""),
            ("last_safety_check_on", "最近安全检查日期", "检查日期", False, ""),
        ],
    ),
    "components": (
        "部件台账",
        "GB/T 47678.5 城市部件。17位部件标识码是部件的唯一标识。",
        [
            (
                "component_id",
                "部件标识码",
                "GLBJBSM|部件编码",
                True,
                "17位：6位区划+5位小类+6位顺序码",
            ),
            ("name", "部件名称", "GLBJMC|名称", True, ""),
            ("grid", "单元网格编码", "SZDYWGBSM|网格编码", True, "所在万米单元网格的15位编码"),
            ("status", "部件状态", "GLBJZT|状态", False, "完好/破损/丢失/废弃/移除"),
            ("competent_unit_code", "主管部门代码", "ZGBMDM", True, "统一社会信用代码"),
            ("competent_unit_name", "主管部门名称", "ZGBMMC", True, ""),
            ("owner_unit_code", "权属单位代码", "QSDWDM", False, ""),
            ("owner_unit_name", "权属单位名称", "QSDWMC", False, ""),
            ("maintainer_unit_code", "养护单位代码", "YHDWDM", False, ""),
            ("maintainer_unit_name", "养护单位名称", "YHDWMC", False, ""),
            ("surveyed_on", "初始日期", "CSRQ|普查日期", True, ""),
            ("changed_on", "变更日期", "BGRQ", False, ""),
            ("data_source", "数据来源", "SJLY", False, "实测/地形图/基础地理数据/其他"),
            ("lng", "经度", "X|横坐标", False, "WGS-84"),
            ("lat", "纬度", "Y|纵坐标", False, "WGS-84"),
            ("remark", "备注", "BZ", False, ""),
        ],
    ),
}


def seed(apps, schema_editor):
    LedgerTemplate = apps.get_model("registry", "LedgerTemplate")
    LedgerColumn = apps.get_model("registry", "LedgerColumn")
    for kind, (name, notes, columns) in TEMPLATES.items():
        template, created = LedgerTemplate.objects.get_or_create(
            kind=kind, defaults={"name": name, "notes": notes}
        )
        if not created:
            continue
        LedgerColumn.objects.bulk_create(
            LedgerColumn(
                template=template,
                field=field,
                header=header,
                aliases=aliases,
                required=required,
                note=note,
                position=position,
            )
            for position, (field, header, aliases, required, note) in enumerate(columns, start=1)
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_ledger_templates_and_imports")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
