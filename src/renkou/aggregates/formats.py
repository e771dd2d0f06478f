"""Exchange formats, with no database: DHIS2 dataValueSet (JSON) and IHE ADX (XML, urn:ihe:qrph:adx:2015).

Both take any iterable of *value rows* (``{"data_element", "category_option_combo", "org_unit", "period",
"value"}``, renkou codes) and a :class:`Mapper` that turns renkou codes into the receiving system's ids (and
back on import). A code without a mapping is sent as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from xml.etree import ElementTree as ET

from renkou.orgunits.periods import Period, PeriodError, PeriodType

ADX_NS = "urn:ihe:qrph:adx:2015"
#: The id DHIS2 gives its default category option combo (the total); used when "" has no mapping.
DHIS2_DEFAULT_COC = "HllvX50cXC0"

_DURATION = {
    PeriodType.YEAR: "P1Y", PeriodType.FP_YEAR: "P1Y", PeriodType.FP_HALF: "P6M", PeriodType.HALF: "P6M",
    PeriodType.QUARTER: "P3M", PeriodType.MONTH: "P1M",
}
_ADX_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})/P(?:(\d+)Y|(\d+)M)$")


def period_to_adx(period: Period | str) -> str:
    """``2025`` → ``2025-01-01/P1Y``; ``FP2025`` → ``2024-10-01/P1Y``; ``202507`` → ``2025-07-01/P1M``."""
    p = Period.parse(period) if isinstance(period, str) else period
    return f"{p.start.isoformat()}/{_DURATION[p.type]}"


def period_from_adx(text: str) -> Period:
    """The renkou period of an ADX ``start/duration``; raises PeriodError when renkou has no such period."""
    m = _ADX_PERIOD_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise PeriodError(f"“{text}” is not an ADX period (YYYY-MM-DD/PnY or PnM).")
    try:
        start = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise PeriodError(f"“{text}”: no such date.") from None
    months = int(m.group(4)) * 12 if m.group(4) else int(m.group(5))
    candidates = {12: [PeriodType.YEAR, PeriodType.FP_YEAR], 6: [PeriodType.HALF, PeriodType.FP_HALF],
                  3: [PeriodType.QUARTER], 1: [PeriodType.MONTH]}.get(months, [])
    for ptype in candidates:
        p = Period.containing(ptype, start)
        if p.start == start:
            return p
    raise PeriodError(f"“{text}” is not a period renkou uses.")


@dataclass
class Mapper:
    """renkou code ↔ external id, per kind ("element", "coc", "unit", "data_set")."""

    out: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str, str]]) -> Mapper:
        """From (kind, renkou_code, external_id) triples."""
        mapper = cls()
        for kind, code, external in pairs:
            mapper.out.setdefault(kind, {})[code] = external
        return mapper

    def to_external(self, kind: str, code: str) -> str:
        return self.out.get(kind, {}).get(code, code)

    def to_renkou(self, kind: str, external: str) -> str:
        back = {v: k for k, v in self.out.get(kind, {}).items()}
        return back.get(external, external)


def _value_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def dhis2_export(rows: Iterable[Mapping], *, mapper: Mapper | None = None, data_set: str = "",
                 complete_date: str = "") -> dict:
    """A DHIS2 dataValueSet. The header names the data set, and the period and unit when all rows share one."""
    mapper = mapper or Mapper()
    values = []
    for row in rows:
        coc = row.get("category_option_combo") or ""
        item = {"dataElement": mapper.to_external("element", row["data_element"]),
                "period": Period.parse(str(row["period"])).dhis2,
                "orgUnit": mapper.to_external("unit", row["org_unit"]),
                "value": _value_text(row["value"])}
        mapped_coc = mapper.to_external("coc", coc)
        item["categoryOptionCombo"] = mapped_coc or DHIS2_DEFAULT_COC
        values.append(item)
    body: dict = {}
    if data_set:
        body["dataSet"] = mapper.to_external("data_set", data_set)
    if complete_date:
        body["completeDate"] = complete_date
    periods = {v["period"] for v in values}
    units = {v["orgUnit"] for v in values}
    if len(periods) == 1:
        body["period"] = next(iter(periods))
    if len(units) == 1:
        body["orgUnit"] = next(iter(units))
    body["dataValues"] = values
    return body


def adx_export(rows: Iterable[Mapping], *, mapper: Mapper | None = None, data_set: str = "",
               exported: str = "") -> bytes:
    """IHE ADX XML: one ``group`` per unit and period, one ``dataValue`` per figure; an option combo other than
    the total is given as the disaggregation attribute ``categoryOptionCombo``."""
    mapper = mapper or Mapper()
    ET.register_namespace("", ADX_NS)
    root = ET.Element(f"{{{ADX_NS}}}adx")
    if exported:
        root.set("exported", exported)
    groups: dict[tuple[str, str], ET.Element] = {}
    for row in rows:
        key = (row["org_unit"], str(row["period"]))
        group = groups.get(key)
        if group is None:
            group = ET.SubElement(root, f"{{{ADX_NS}}}group")
            group.set("orgUnit", mapper.to_external("unit", row["org_unit"]))
            group.set("period", period_to_adx(str(row["period"])))
            if data_set:
                group.set("dataSet", mapper.to_external("data_set", data_set))
            groups[key] = group
        dv = ET.SubElement(group, f"{{{ADX_NS}}}dataValue")
        dv.set("dataElement", mapper.to_external("element", row["data_element"]))
        coc = row.get("category_option_combo") or ""
        if coc:
            dv.set("categoryOptionCombo", mapper.to_external("coc", coc))
        value = row["value"]
        if isinstance(value, int | float):
            dv.set("value", _value_text(value))
        else:  # ADX carries text in an annotation; the value attribute stays numeric
            dv.set("value", "0")
            ET.SubElement(dv, f"{{{ADX_NS}}}annotation").text = str(value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def adx_parse(data: bytes | str, *, mapper: Mapper | None = None) -> list[dict]:
    """Value rows (renkou codes) from an ADX document."""
    mapper = mapper or Mapper()
    # expat (>= 2.4.1 in CPython 3.11) resolves no external entities and limits entity expansion
    root = ET.fromstring(data)  # noqa: S314
    if root.tag != f"{{{ADX_NS}}}adx":
        raise ValueError(f"The root element is {root.tag}, not adx in {ADX_NS}.")
    rows = []
    for group in root.findall(f"{{{ADX_NS}}}group"):
        period = period_from_adx(group.get("period", "")).code
        unit = mapper.to_renkou("unit", group.get("orgUnit", ""))
        for dv in group.findall(f"{{{ADX_NS}}}dataValue"):
            note = dv.find(f"{{{ADX_NS}}}annotation")
            raw = dv.get("value", "")
            value: float | int | str = (note.text or "") if note is not None else (
                int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw))
            coc = dv.get("categoryOptionCombo", "")
            rows.append({"data_element": mapper.to_renkou("element", dv.get("dataElement", "")),
                         "category_option_combo": mapper.to_renkou("coc", coc) if coc else "",
                         "org_unit": unit, "period": period, "value": value})
    return rows


@dataclass
class IncomingValue:
    """One dataValue of a DHIS2 payload after header defaults and mappings, before any check against the
    database. ``problem`` is set when the entry itself is malformed."""

    index: int
    data_element: str
    category_option_combo: str
    org_unit: str
    period: str
    value: str
    problem: str = ""


def dhis2_parse(payload: Mapping, *, mapper: Mapper | None = None) -> tuple[str, str, list[IncomingValue]]:
    """(data set code or "", complete date or "", values) of a DHIS2 dataValueSet; periods become renkou codes."""
    mapper = mapper or Mapper()
    if not isinstance(payload, Mapping):
        raise ValueError("A dataValueSet must be a JSON object.")
    entries = payload.get("dataValues", [])
    if not isinstance(entries, list):
        raise ValueError("dataValues must be a list.")
    data_set = mapper.to_renkou("data_set", str(payload.get("dataSet", "") or ""))
    header_period = payload.get("period", "")
    header_unit = payload.get("orgUnit", "")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            out.append(IncomingValue(i, "", "", "", "", "", problem="not an object"))
            continue
        element = str(entry.get("dataElement", "") or "")
        coc = str(entry.get("categoryOptionCombo", "") or "")
        unit = str(entry.get("orgUnit", "") or header_unit or "")
        period_id = str(entry.get("period", "") or header_period or "")
        value = entry.get("value", "")
        problem = ""
        try:
            period = Period.from_dhis2(period_id).code
        except PeriodError as exc:
            period, problem = period_id, str(exc)
        coc_code = mapper.to_renkou("coc", coc) if coc else ""
        if coc_code == DHIS2_DEFAULT_COC:
            coc_code = ""
        if not element:
            problem = problem or "dataElement is missing"
        if not unit:
            problem = problem or "orgUnit is missing"
        out.append(IncomingValue(i, mapper.to_renkou("element", element), coc_code, mapper.to_renkou("unit", unit),
                                 period, "" if value is None else _value_text(value), problem))
    return data_set, str(payload.get("completeDate", "") or ""), out


ADX_MAX_BYTES = 20 * 1024 * 1024


def is_xml(content: bytes) -> bool:
    """An ADX document (XML) rather than a DHIS2 dataValueSet (JSON): the first character is ``<``."""
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def adx_parse_incoming(data: bytes | str, *, mapper: Mapper | None = None) -> tuple[str, str, list[IncomingValue]]:
    """(data set code or "", complete date or "", values) of an ADX document for the import: like
    :func:`dhis2_parse`, each dataValue becomes an IncomingValue (renkou codes through the mappings) and a
    malformed one (no dataElement, a period that is not ADX's, a value that is not a number) carries its
    ``problem`` instead of stopping the import. Raises ValueError when the document itself is not ADX (not XML,
    another root, groups of different data sets or complete dates)."""
    mapper = mapper or Mapper()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > ADX_MAX_BYTES:
        raise ValueError(f"The document is larger than {ADX_MAX_BYTES // (1024 * 1024)} MB.")
    try:
        # expat (>= 2.4.1 in CPython 3.11) resolves no external entities and limits entity expansion
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise ValueError(f"The document is not well-formed XML: {exc}") from None
    if root.tag != f"{{{ADX_NS}}}adx":
        raise ValueError(f"The root element is {root.tag}, not adx in {ADX_NS}.")
    groups = root.findall(f"{{{ADX_NS}}}group")
    data_sets = {g.get("dataSet", "") for g in groups}
    if len(data_sets) > 1:
        raise ValueError("The groups name different data sets; import one data set per document.")
    completes = {g.get("completeDate", "") for g in groups}
    if len(completes) > 1:
        raise ValueError("The groups give different complete dates.")
    data_set = next(iter(data_sets), "")
    out: list[IncomingValue] = []
    index = 0
    for group in groups:
        period_text = group.get("period", "")
        problem_of_group = ""
        try:
            period = period_from_adx(period_text).code
        except PeriodError as exc:
            period, problem_of_group = period_text, str(exc)
        unit_id = group.get("orgUnit", "")
        if not unit_id:
            problem_of_group = problem_of_group or "orgUnit is missing"
        unit = mapper.to_renkou("unit", unit_id) if unit_id else ""
        for dv in group.findall(f"{{{ADX_NS}}}dataValue"):
            problem = problem_of_group
            element_id = dv.get("dataElement", "")
            if not element_id:
                problem = problem or "dataElement is missing"
            coc = dv.get("categoryOptionCombo", "")
            note = dv.find(f"{{{ADX_NS}}}annotation")
            raw = dv.get("value")
            if note is not None:
                value = note.text or ""
            elif raw is None:
                value, problem = "", problem or "value is missing"
            else:
                value = raw.strip()
                try:
                    float(value)
                except ValueError:
                    problem = problem or f"value “{raw}” is not a number (ADX carries text in an annotation)"
            out.append(IncomingValue(index, mapper.to_renkou("element", element_id) if element_id else "",
                                     mapper.to_renkou("coc", coc) if coc else "", unit, period, value, problem))
            index += 1
    return mapper.to_renkou("data_set", data_set) if data_set else "", next(iter(completes), ""), out
