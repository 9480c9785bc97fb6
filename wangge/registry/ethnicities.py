"""民族 names and codes of GB/T 3304-1991 (中国各民族名称的罗马字母拼写法和代码). Framework-free.

A national standard that does not change with local policy, so it is a constant here rather than a
table officials edit. People are stored with the name (what ledgers contain), not the number.
"""

from __future__ import annotations

ETHNIC_GROUPS: tuple[tuple[str, str], ...] = (
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("31", "达斡尔族"),
    ("32", "仫佬族"),
    ("33", "羌族"),
    ("34", "布朗族"),
    ("35", "撒拉族"),
    ("36", "毛南族"),
    ("37", "仡佬族"),
    ("38", "锡伯族"),
    ("39", "阿昌族"),
    ("40", "普米族"),
    ("41", "塔吉克族"),
    ("42", "怒族"),
    ("43", "乌孜别克族"),
    ("44", "俄罗斯族"),
    ("45", "鄂温克族"),
    ("46", "德昂族"),
    ("47", "保安族"),
    ("48", "裕固族"),
    ("49", "京族"),
    ("50", "塔塔尔族"),
    ("51", "独龙族"),
    ("52", "鄂伦春族"),
    ("53", "赫哲族"),
    ("54", "门巴族"),
    ("55", "珞巴族"),
    ("56", "基诺族"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
)

ETHNIC_NAMES = frozenset(name for _code, name in ETHNIC_GROUPS)
_BY_CODE = dict(ETHNIC_GROUPS)


def normalize_ethnicity(text: str) -> str:
    """The standard name for a name, a short name without 族 (``"汉"``) or a code (``"01"``).

    Raises ``ValueError`` for anything else; ``""`` stays ``""`` (not recorded).
    """
    value = text.strip()
    if not value:
        return ""
    if value in ETHNIC_NAMES:
        return value
    if value in _BY_CODE:
        return _BY_CODE[value]
    if f"{value}族" in ETHNIC_NAMES:
        return f"{value}族"
    raise ValueError(f"{value!r} is not an ethnic group of GB/T 3304")
