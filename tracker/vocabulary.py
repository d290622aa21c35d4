"""The ledger's vocabulary: every coded value with its Chinese label, declared once.

Each enum member is the value stored in the database and sent by the API (a `str`), and carries
`.label`, the word pages, messages, the CLI and documents show for it. Statuses and categories are
stored in Chinese already, so their label is their value. Field names shown to people (the journal,
validation errors) are in FIELD_LABELS. notifications/models.py declares its own (channel kind,
channel role, message kind, outbox status) on the same base.
"""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A StrEnum whose members are declared as `name = value, label` (or `name = value`: label = value)."""

    label: str

    def __new__(cls, value: str, label: str | None = None):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """value → label, in declaration order (for choices offered to people)."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, value: str | None, default: str | None = None) -> str:
        """The label of a stored value; an unknown value is shown as itself (or `default`)."""
        try:
            return cls(value).label
        except ValueError:
            return value if default is None else default

    @classmethod
    def choices(cls) -> str:
        """The values, for a refusal: 立行立改、限期整改、长期坚持."""
        return "、".join(m.value for m in cls)


class Kind(Labelled):
    shortcoming = "shortcoming", "问题"
    cause = "cause", "原因"
    rectification = "rectification", "整改情况"
    plan = "plan", "计划"


TRACKED_KINDS = (Kind.shortcoming, Kind.plan)  # kinds that become tasks


class Status(Labelled):
    unassigned = "待分派"
    in_progress = "整改中"
    pending_review = "待审核"
    closed = "已销号"
    withdrawn = "已撤销"  # its item vanished on re-import; kept, out of the counts


OPEN_STATUSES = (Status.unassigned, Status.in_progress, Status.pending_review)  # the ones with a light


class Category(Labelled):
    immediate = "立行立改"
    deadline = "限期整改"
    ongoing = "长期坚持"


class Role(Labelled):
    county_admin = "county_admin", "县级管理员"
    county_staff = "county_staff", "县级工作人员"
    township = "township", "乡镇用户"
    city = "city", "市级用户"


COUNTY_ROLES = (Role.county_admin, Role.county_staff)  # belong to one county, work on its ledger
READER_ROLES = (*COUNTY_ROLES, Role.city)  # read the county views (ledger, dashboards, summaries, outbox)


class Light(Labelled):
    red = "red", "红灯"
    yellow = "yellow", "黄灯"
    green = "green", "绿灯"


# How a task's fields (and the forms' and API's parameters for them) are named to people.
FIELD_LABELS = {
    "title": "标题",
    "kind": "类型",
    "status": "状态",
    "owner_unit": "责任单位",
    "owner_person": "责任人",
    "deadline": "整改时限",
    "category": "整改类别",
    "progress_percent": "完成进度",
    "percent": "完成进度",
    "stage_done_year": "阶段性完成",
    "progress_note": "进展说明",
    "note": "进展说明",
    "evidence": "佐证材料",
    "files": "佐证材料",
    "reject_reason": "退回原因",
    "light": "预警灯",
    "version": "版本号",
    "versions": "版本号",
    "task_ids": "任务编号",
    "task_id": "任务编号",
}
