"""The demo county's unit tree and the other counties its migrants come from and go to (pure data, no database).

青山县 is made up; its code 500230 is a real GB/T 2260 county code (丰都县, Chongqing) that python-stdnum's list
knows, so that the ID numbers generated under it validate. The tree is the same for every seed: 24 townships
(4 sub-districts 街道 001–004, 14 towns 镇 101–114, 6 townships 乡 201–206) and 300 villages and communities,
with 12-digit statistical codes (6 county + 3 township + 3 village digits; 001–199 communities 社区 / 居委会,
200–399 villages 村委会).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COUNTY_CODE = "500230"
COUNTY_NAME = "青山县"

# (name, township digits, unit type, number of communities, number of villages)
_TOWNSHIPS: tuple[tuple[str, int, str, int, int], ...] = (
    ("东城街道", 1, "subdistrict", 8, 0),
    ("西城街道", 2, "subdistrict", 8, 0),
    ("南城街道", 3, "subdistrict", 8, 0),
    ("北城街道", 4, "subdistrict", 8, 0),
    ("龙河镇", 101, "town", 1, 13),
    ("青石镇", 102, "town", 1, 13),
    ("白鹤镇", 103, "town", 1, 13),
    ("双龙镇", 104, "town", 1, 13),
    ("高峰镇", 105, "town", 1, 13),
    ("三合镇", 106, "town", 1, 13),
    ("兴隆镇", 107, "town", 1, 13),
    ("长岭镇", 108, "town", 1, 13),
    ("石桥镇", 109, "town", 1, 13),
    ("清溪镇", 110, "town", 1, 13),
    ("太平镇", 111, "town", 1, 13),
    ("永安镇", 112, "town", 1, 13),
    ("金竹镇", 113, "town", 1, 13),
    ("桂花镇", 114, "town", 1, 13),
    ("红岩乡", 201, "township", 0, 12),
    ("梨树乡", 202, "township", 0, 12),
    ("大坪乡", 203, "township", 0, 12),
    ("柏杨乡", 204, "township", 0, 12),
    ("青龙乡", 205, "township", 0, 12),
    ("松林乡", 206, "township", 0, 12),
)

_COMMUNITY_NAMES = (
    "东门 河滨 文化 人民 新华 建设 滨江 学府 平安 和平 解放 民主 光明 朝阳 桂园 翠湖 南苑 北苑 锦绣 玉带 花园 "
    "龙城 新城 春晖 育才 白塔 望江 金山 银杏 书院 双桥 石门"
).split()
_VILLAGE_FIRST = list("石柏桂竹松杨柳桃梨杏枣茶花龙凤鹤马牛金银铜青红白黄大小上下中前后新高双三五七九长平安兴永太福寿仁义和丰顺")
_VILLAGE_SECOND = list("坪坝湾沟岭坡溪河桥山林塘田垭岩冲堡口场寨井池园庙峰台嘴槽坳丘")

# Where out-migrants go (GB/T 2260 code, name, weight): the city districts of Chongqing and the coast.
DESTINATIONS: tuple[tuple[str, str, float], ...] = (
    ("500103", "重庆市渝中区", 3.0), ("500106", "重庆市沙坪坝区", 3.0), ("500107", "重庆市九龙坡区", 3.0),
    ("500108", "重庆市南岸区", 2.5), ("500113", "重庆市巴南区", 2.0), ("500102", "重庆市涪陵区", 2.0),
    ("500101", "重庆市万州区", 1.5), ("440106", "广州市天河区", 2.0), ("440305", "深圳市南山区", 1.5),
    ("440306", "深圳市宝安区", 3.0), ("440307", "深圳市龙岗区", 2.5), ("441900", "东莞市", 3.0),
    ("442000", "中山市", 1.5), ("330106", "杭州市西湖区", 1.0), ("330108", "杭州市滨江区", 0.8),
    ("310115", "上海市浦东新区", 1.5), ("310112", "上海市闵行区", 1.0), ("320583", "昆山市", 1.2),
    ("350203", "厦门市思明区", 0.8), ("510104", "成都市锦江区", 1.2), ("510107", "成都市武侯区", 1.2),
    ("420106", "武汉市武昌区", 0.6), ("610113", "西安市雁塔区", 0.5),
)
# Where in-migrants are registered: the neighbouring counties mostly.
ORIGINS: tuple[tuple[str, str, float], ...] = (
    ("500231", "垫江县", 3.0), ("500233", "忠县", 3.0), ("500235", "云阳县", 1.5), ("500236", "奉节县", 1.2),
    ("500243", "彭水苗族土家族自治县", 1.5), ("500241", "秀山土家族苗族自治县", 0.8),
    ("500242", "酉阳土家族苗族自治县", 1.0), ("500102", "涪陵区", 2.5), ("500101", "万州区", 2.0),
    ("500115", "长寿区", 1.5), ("422801", "恩施市", 1.0), ("511602", "广安市广安区", 0.8),
    ("510903", "遂宁市船山区", 0.6), ("520102", "贵阳市南明区", 0.5),
)
# Index 0 of the address-code table is the county itself; then the destinations, then the origins.
ADDRESS_CODES: tuple[str, ...] = tuple(dict.fromkeys(
    [COUNTY_CODE] + [c for c, _n, _w in DESTINATIONS] + [c for c, _n, _w in ORIGINS]))


def address_index(code: str) -> int:
    return ADDRESS_CODES.index(code)


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    level: int  # 1 county, 2 township, 3 village (orgunits.UnitLevel)
    unit_type: str  # orgunits.UnitType
    parent: int  # index of the parent in the list, -1 for the county


@dataclass(frozen=True)
class CountySpec:
    units: tuple[UnitSpec, ...]
    village_units: np.ndarray  # index into ``units`` of each village, in code order
    village_urban: np.ndarray  # bool: a community (社区), where registration is mostly urban
    village_weight: np.ndarray  # share of the county's people registered in each village (sums to 1)

    @property
    def n_villages(self) -> int:
        return len(self.village_units)

    def unit(self, village: int) -> UnitSpec:
        return self.units[int(self.village_units[village])]


def county_spec() -> CountySpec:
    """The county tree; the same for every seed (a fixed generator names the villages and sizes them)."""
    rng = np.random.Generator(np.random.PCG64(2260))
    pairs = [a + b for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND]
    village_names = [pairs[i] + "村" for i in rng.permutation(len(pairs))]
    community_names = iter(_COMMUNITY_NAMES)
    units = [UnitSpec(f"{COUNTY_CODE}000000", COUNTY_NAME, 1, "county", -1)]
    villages: list[int] = []
    urban: list[bool] = []
    weight: list[float] = []
    vnames = iter(village_names)
    for name, digits, unit_type, communities, n_villages in _TOWNSHIPS:
        t = len(units)
        units.append(UnitSpec(f"{COUNTY_CODE}{digits:03d}000", name, 2, unit_type, 0))
        for k in range(communities):
            cname = next(community_names) + "社区" if unit_type == "subdistrict" else name[:-1] + "社区"
            villages.append(len(units))
            units.append(UnitSpec(f"{COUNTY_CODE}{digits:03d}{k + 1:03d}", cname, 3, "community", t))
            urban.append(True)
            # Communities of the county seat are large; a town's own community is middling.
            weight.append(float(rng.lognormal(np.log(3.2 if unit_type == "subdistrict" else 1.8), 0.25)))
        for k in range(n_villages):
            villages.append(len(units))
            units.append(UnitSpec(f"{COUNTY_CODE}{digits:03d}{201 + k:03d}", next(vnames), 3, "village", t))
            urban.append(False)
            weight.append(float(rng.lognormal(0.0, 0.35)))
    w = np.array(weight)
    return CountySpec(
        units=tuple(units),
        village_units=np.array(villages, dtype=np.int32),
        village_urban=np.array(urban, dtype=bool),
        village_weight=w / w.sum(),
    )
