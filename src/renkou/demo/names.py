"""Chinese names for the demo county: surnames by their frequency, given names by sex and generation.

Pure data and numpy; no database. Children take their father's surname (their mother's when the father is
unknown); wives keep their own, as in China.
"""

from __future__ import annotations

import numpy as np

# The commonest surnames with their approximate shares (per cent) in China; a few are commoner in Chongqing.
_SURNAMES = (
    "王7.25 李7.19 张6.83 刘5.38 陈4.53 杨3.08 赵2.29 黄2.23 吴2.05 周1.95 徐1.45 孙1.38 马1.29 朱1.28 "
    "胡1.16 郭1.13 何1.06 林1.0 高1.0 罗0.87 郑0.78 梁0.72 谢0.6 宋0.6 唐0.6 许0.5 韩0.5 冯0.5 邓0.5 "
    "曹0.5 彭0.49 曾0.47 肖0.46 田0.43 董0.42 袁0.41 潘0.4 于0.4 蒋0.38 蔡0.37 余0.37 杜0.36 叶0.35 "
    "程0.34 苏0.33 魏0.32 吕0.32 丁0.31 任0.31 沈0.3 姚0.29 卢0.29 姜0.28 崔0.28 钟0.27 谭0.3 陆0.25 "
    "汪0.25 范0.25 金0.24 石0.24 廖0.23 贾0.23 夏0.22 韦0.22 付0.21 方0.21 白0.2 邹0.2 孟0.2 熊0.19 "
    "秦0.22 邱0.19 江0.18 尹0.18 薛0.17 闫0.17 段0.16 雷0.16 侯0.16 龙0.15 史0.15 陶0.14 黎0.14 贺0.14 "
    "顾0.13 毛0.13 郝0.13 龚0.13 邵0.12 万0.12 钱0.12 严0.12 覃0.11 武0.11 戴0.11 莫0.11 孔0.11 向0.2 "
    "汤0.1 冉0.12 牟0.08 况0.05 幸0.04"
).split()
SURNAMES: tuple[str, ...] = tuple(s[0] for s in _SURNAMES)
SURNAME_WEIGHTS = np.array([float(s[1:]) for s in _SURNAMES])
SURNAME_WEIGHTS = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()

# Characters of given names by sex and by the birth years in which they were popular.
_GIVEN = {
    (1, 0): "建国华明军德文志福贵学林春富成荣光清海山强平忠兴发祥永才昌顺",
    (1, 1): "伟勇军杰涛斌强磊波辉刚鹏健亮俊峰超明东林洪平华飞兵龙江红云建",
    (1, 2): "浩宇轩子梓睿博泽俊晨铭锦瑞逸昊然航杰熙宸奕鑫涵文一嘉思凯皓霖",
    (2, 0): "秀英兰桂芳珍玉淑凤华翠琴菊梅莲素云花金银群香荣德春秋爱美惠彩",
    (2, 1): "丽娟敏静燕艳红霞萍玲芳婷慧琳莉洁雪琼丹晶颖倩蓉莹瑶佳薇璐蕾娜",
    (2, 2): "欣怡涵梓萱诗雨思可语佳妍悦馨琪晨然彤一子若梦嘉瑶心艺紫依沐安",
}
# Generation of a birth year: before 1960, 1960–1989, from 1990.
_ERA_BOUNDS = np.array([1960, 1990])


def surnames_draw(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indexes into SURNAMES, drawn by frequency."""
    return rng.choice(len(SURNAMES), size=n, p=SURNAME_WEIGHTS).astype(np.int16)


def given_names(rng: np.random.Generator, sex: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """One given name of one or two characters for each person (``sex`` 1 or 2; about one in seven has one
    character)."""
    n = len(sex)
    era = np.searchsorted(_ERA_BOUNDS, birth_year, side="right")
    first = np.empty(n, dtype="<U1")
    second = np.empty(n, dtype="<U1")
    for (s, e), chars in _GIVEN.items():
        pool = np.array(list(chars))
        idx = np.flatnonzero((sex == s) & (era == e))
        first[idx] = pool[rng.integers(0, len(pool), len(idx))]
        second[idx] = pool[rng.integers(0, len(pool), len(idx))]
    single = rng.random(n) < 0.14
    second[single] = ""
    # No doubled character by accident (叠字 names exist, but rarely).
    same = first == second
    second[same & (rng.random(n) < 0.8)] = ""
    return np.strings.add(first, second)


def full_names(surname_idx: np.ndarray, given: np.ndarray) -> np.ndarray:
    return np.strings.add(np.array(SURNAMES)[surname_idx], given)
