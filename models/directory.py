"""Directories the bureau maintains: counties and functional zones of Zhoushan, key fields (D2)."""

from __future__ import annotations

from enum import StrEnum


class County(StrEnum):
    """Zhoushan's counties, districts and functional zones, each with its own S&T department (D5)."""

    DINGHAI = "dinghai"
    PUTUO = "putuo"
    DAISHAN = "daishan"
    SHENGSI = "shengsi"
    XINCHENG = "xincheng"
    PUTUOSHAN_ZHUJIAJIAN = "putuoshan_zhujiajian"
    ECONOMIC_DEVELOPMENT_ZONE = "economic_development_zone"
    HIGH_TECH_ZONE = "high_tech_zone"


COUNTY_NAMES_ZH: dict[County, str] = {
    County.DINGHAI: "定海区",
    County.PUTUO: "普陀区",
    County.DAISHAN: "岱山县",
    County.SHENGSI: "嵊泗县",
    County.XINCHENG: "舟山新城管委会",
    County.PUTUOSHAN_ZHUJIAJIAN: "普陀山-朱家尖管委会",
    County.ECONOMIC_DEVELOPMENT_ZONE: "舟山经济开发区",
    County.HIGH_TECH_ZONE: "舟山高新技术产业开发区",
}


class Field(StrEnum):
    """D2: the key industries; OTHER_MARINE covers the rest of the modern marine industry system."""

    NEW_MATERIALS = "new_materials"
    SHIPS_OFFSHORE = "ships_offshore"
    MARINE_BIOMEDICINE = "marine_biomedicine"
    OTHER_MARINE = "other_marine"


FIELD_NAMES_ZH: dict[Field, str] = {
    Field.NEW_MATERIALS: "新材料",
    Field.SHIPS_OFFSHORE: "船舶和海工装备",
    Field.MARINE_BIOMEDICINE: "海洋生物医药",
}

KEY_FIELDS = (Field.NEW_MATERIALS, Field.SHIPS_OFFSHORE, Field.MARINE_BIOMEDICINE)
"""D2: every key industry is to be covered by 2027."""


class Route(StrEnum):
    """D1: how a center comes into being."""

    DIRECTED = "directed"  # 定向布局
    MERIT = "merit"  # 择优认定


class Role(StrEnum):
    """Who sends an action (INTERFACE.md)."""

    IMPLEMENTING_ENTITY = "implementing_entity"
    COUNTY_DEPARTMENT = "county_department"
    CITY_BUREAU = "city_bureau"
    PUBLIC = "public"
