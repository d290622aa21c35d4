"""Request validation errors as one Chinese sentence naming each field and what is wrong with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.vocabulary import FIELD_LABELS

# The task's fields are named as everywhere else (tracker.vocabulary); the rest are the requests' own.
FIELD_LABELS = FIELD_LABELS | {
    "file": "文件",
    "name": "用户名",
    "password": "密码",
    "role": "角色",
    "township": "乡镇",
    "active": "启用状态",
    "page": "页码",
    "per_page": "每页条数",
    "year": "年度",
    "q": "搜索词",
    "owner": "责任单位/人",
    "id": "编号",
    "evidence_id": "佐证材料编号",
    "submit": "提交销号申请",
}

REASONS = {
    "missing": "必须填写",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_from_datetime_parsing": "日期格式应为 2024-06-30",
    "date_parsing": "日期格式应为 2024-06-30",
    "date_type": "日期格式应为 2024-06-30",
    "enum": "取值无效",
    "literal_error": "取值无效",
    "string_too_short": "不能为空",
    "string_too_long": "太长",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "greater_than": "数值太小",
    "less_than": "数值太大",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "string_type": "应为文本",
    "model_attributes_type": "格式不正确",
    "json_invalid": "不是有效的 JSON",
    "too_short": "至少需要一项",
}


def _field(loc: Sequence[Any]) -> str:
    names = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header", "cookie")]
    if not names:
        return "请求内容"
    label = FIELD_LABELS.get(names[0], names[0])
    return label + "".join(f"[{n}]" for n in names[1:])


def validation_message(errors: Sequence[dict]) -> str:
    parts = []
    for e in errors:
        reason = REASONS.get(e.get("type", ""), "格式不正确")
        if e.get("type") == "enum" and e.get("ctx", {}).get("expected"):
            reason += f"（可选：{e['ctx']['expected']}）"
        part = f"{_field(e.get('loc', ()))}{reason}"
        if part not in parts:
            parts.append(part)
    return "请求参数有误：" + "；".join(parts)
