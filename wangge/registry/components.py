"""The standard attributes of a city component (GB/T 47678.5-2026 表2), for exports and checks.

Fourteen are columns of ``Component``; the four street and community ones follow from its grid's
code and the region tree, so they are derived, never stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wangge.registry.models import Component


@dataclass(frozen=True, slots=True)
class Attribute:
    abbr: str  # the standard's field abbreviation, the column header of exchange files
    name: str
    requirement: str  # M mandatory, C conditional, O optional
    source: str  # the Component field, or "derived"


STANDARD_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("GLBJBSM", "管理部件标识码", "M", "component_id"),
    Attribute("GLBJMC", "管理部件名称", "M", "name"),
    Attribute("ZGBMDM", "主管部门代码", "M", "competent_unit_code"),
    Attribute("ZGBMMC", "主管部门名称", "M", "competent_unit_name"),
    Attribute("QSDWDM", "权属单位代码", "O", "owner_unit_code"),
    Attribute("QSDWMC", "权属单位名称", "O", "owner_unit_name"),
    Attribute("YHDWDM", "养护单位代码", "O", "maintainer_unit_code"),
    Attribute("YHDWMC", "养护单位名称", "O", "maintainer_unit_name"),
    Attribute("SZDYWGBSM", "所在单元网格标识码", "M", "grid"),
    Attribute("GLBJZT", "管理部件状态", "M", "status"),
    Attribute("CSRQ", "初始日期", "M", "surveyed_on"),
    Attribute("BGRQ", "变更日期", "C", "changed_on"),
    Attribute("SJLY", "数据来源", "O", "data_source"),
    Attribute("BZ", "备注", "O", "remark"),
    Attribute("SZJDDM", "所在街道（镇、乡）代码", "O", "derived"),
    Attribute("SZJDMC", "所在街道（镇、乡）名称", "O", "derived"),
    Attribute("SZSQDM", "所在社区（村）代码", "O", "derived"),
    Attribute("SZSQMC", "所在社区（村）名称", "O", "derived"),
)

# The standard writes statuses and sources as Chinese words.
STATUS_WORDS = {
    Component.Status.INTACT: "完好",
    Component.Status.DAMAGED: "破损",
    Component.Status.LOST: "丢失",
    Component.Status.ABANDONED: "废弃",
    Component.Status.REMOVED: "移除",
}
DATA_SOURCE_WORDS = {
    Component.DataSource.SURVEYED: "实测",
    Component.DataSource.TOPOGRAPHIC_MAP: "地形图",
    Component.DataSource.BASE_GEODATA: "基础地理数据",
    Component.DataSource.OTHER: "其他",
}


def standard_attributes(component: Component, region_names: Mapping[str, str]) -> dict[str, str]:
    """The 18 attributes by abbreviation, as text (dates YYYYMMDD); ``region_names`` maps street
    and community codes to names (missing ones give "")."""
    street, community = component.region_code[:9], component.region_code[:12]
    unit_grid_code = component.grid.code
    values: dict[str, str] = {}
    for attribute in STANDARD_ATTRIBUTES:
        if attribute.abbr == "SZJDDM":
            values[attribute.abbr] = street
        elif attribute.abbr == "SZJDMC":
            values[attribute.abbr] = region_names.get(street, "")
        elif attribute.abbr == "SZSQDM":
            values[attribute.abbr] = community
        elif attribute.abbr == "SZSQMC":
            values[attribute.abbr] = region_names.get(community, "")
        elif attribute.abbr == "SZDYWGBSM":
            values[attribute.abbr] = unit_grid_code
        elif attribute.abbr == "GLBJZT":
            values[attribute.abbr] = STATUS_WORDS[Component.Status(component.status)]
        elif attribute.abbr == "SJLY":
            source = component.data_source
            values[attribute.abbr] = (
                DATA_SOURCE_WORDS[Component.DataSource(source)] if source else ""
            )
        else:
            value = getattr(component, attribute.source)
            if hasattr(value, "strftime"):
                value = value.strftime("%Y%m%d")
            values[attribute.abbr] = "" if value is None else str(value)
    return values
