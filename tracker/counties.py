"""Counties and who sees which townships: the one place the county scope is decided.

Every service narrows what it reads and checks what it touches with the functions below:
- a township user sees one township;
- county admins and staff see the townships of their county (another county's task, report, evidence
  or section is absent: 404, exactly like another township's);
- the city (市级) sees every county, read-only; `county_id` narrows it to one;
- `actor=None` is the local operator of the CLI, who names a county (or gets the default one).

There is always a default county: the one with the lowest id, created as 本县 by the migration (and
here, should the table ever be empty). Installations with one county never name it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracker import audit
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.models import County, CountyPublic, Township, User
from tracker.vocabulary import COUNTY_ROLES, Role

DEFAULT_COUNTY = "本县"
_SUFFIXES = ("自治县", "县", "区", "市", "旗")


# ---------------------------------------------------------------------------------------------------
# The scope
# ---------------------------------------------------------------------------------------------------


def sees_all(actor: User | None) -> bool:
    """The city and the CLI's operator are not bound to a county."""
    return actor is None or actor.role == Role.city


def township_conds(actor: User | None, column, *, county_id: int | None = None) -> list:
    """WHERE clauses on a township-id `column` (Task.township_id, Report.township_id, Township.id, …) for
    what `actor` may see, narrowed to `county_id` when given (the city's or the operator's choice)."""
    conds = []
    if actor is not None and actor.role == Role.township:
        conds.append(column == actor.township_id)
    elif actor is not None and actor.role != Role.city:  # county roles; an unknown role sees nothing
        conds.append(column.in_(_county_townships(_own_sql(actor) if actor.role in COUNTY_ROLES else -1)))
    if county_id is not None:
        conds.append(column.in_(_county_townships(county_id)))
    return conds


def _county_townships(county_id):
    return select(Township.id).where(Township.county_id == county_id)


def _own_sql(actor: User):
    """A county user's county in SQL (an account made before counties, without one: the default county)."""
    if actor.county_id is not None:
        return actor.county_id
    return select(func.min(County.id)).scalar_subquery()


def own_county_id(session: Session, actor: User) -> int:
    """A county or township user's county (without one recorded: the default county)."""
    if actor.county_id is not None:
        return actor.county_id
    if actor.role == Role.township and actor.township_id is not None:
        return session.get(Township, actor.township_id).county_id
    return default_county(session).id


def county_conds(actor: User | None, column, *, county_id: int | None = None) -> list:
    """WHERE clauses on a county-id `column` (Channel.county_id, Township.county_id): `actor`'s county."""
    conds = []
    if actor is not None and actor.role != Role.city:
        conds.append(column == (_own_sql(actor) if actor.role in COUNTY_ROLES else -1))
    if county_id is not None:
        conds.append(column == county_id)
    return conds


def can_see_township(session: Session, actor: User | None, township_id: int) -> bool:
    if sees_all(actor):
        return True
    if actor.role == Role.township:
        return actor.township_id == township_id
    if actor.role in COUNTY_ROLES:
        township = session.get(Township, township_id)
        return township is not None and township.county_id == own_county_id(session, actor)
    return False


def can_see_county(session: Session, actor: User | None, county_id: int | None) -> bool:
    return sees_all(actor) or (actor.role in COUNTY_ROLES and own_county_id(session, actor) == county_id)


def require_reader(actor: User | None) -> None:
    """The county views (ledger of many townships, dashboards, summaries, outbox): county users and the city."""
    if actor is not None and actor.role not in (*COUNTY_ROLES, Role.city):
        raise Forbidden("无权执行此操作")


def acting_county_id(session: Session, actor: User | None, county: str | None = None) -> int | None:
    """The county a county-wide view is for: a county user's own (naming another one is 404), the
    city's choice (None: all counties), the operator's choice or the default county."""
    if actor is not None and actor.role in (*COUNTY_ROLES, Role.township):
        own = own_county_id(session, actor)
        if county and county_named(session, county).id != own:
            raise NotFound(f"县（区）“{county}”不存在")
        return own
    if actor is not None:  # the city
        return county_named(session, county).id if county else None
    return resolve_county(session, county).id


# ---------------------------------------------------------------------------------------------------
# Counties
# ---------------------------------------------------------------------------------------------------


def default_county(session: Session) -> County:
    """The county used wherever none is named (created as 本县 if there is none at all)."""
    county = session.execute(select(County).order_by(County.id).limit(1)).scalars().first()
    if county is not None:
        return county
    try:
        with session.begin_nested():
            session.add(County(name=DEFAULT_COUNTY))
    except IntegrityError:  # created concurrently
        pass
    return session.execute(select(County).order_by(County.id).limit(1)).scalars().one()


def county_named(session: Session, name: str) -> County:
    county = session.execute(select(County).where(County.name == (name or "").strip())).scalars().first()
    if county is None:
        raise NotFound(f"县（区）“{name}”不存在（rectify counties list 列出已有的县）")
    return county


def resolve_county(session: Session, name: str | None) -> County:
    """The county named, or the default county when no name is given."""
    return county_named(session, name) if name and name.strip() else default_county(session)


def county_name(session: Session, county_id: int | None) -> str | None:
    county = session.get(County, county_id) if county_id is not None else None
    return county.name if county is not None else None


def same_county(named: str | None, addressee: str | None) -> bool:
    """Whether a report addressed to `addressee` (the extraction's county) fits the county `named`:
    equal names, or equal but for the suffix (青岚县 / 青岚)."""
    if not named or not addressee:
        return True

    def core(s: str) -> str:
        s = s.strip()
        for suffix in _SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                return s[: -len(suffix)]
        return s

    return named.strip() == addressee.strip() or core(named) == core(addressee)


def _require_city(actor: User | None) -> None:
    if actor is not None and actor.role != Role.city:
        raise Forbidden("只有市级用户可以管理县（区）")


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("县（区）名称不能为空")
    if len(name) > 64:
        raise ValidationFailed("县（区）名称不能超过 64 个字符")
    return name


def list_counties(session: Session, *, actor: User | None = None) -> list[CountyPublic]:
    """Counties with their township and user counts, the default first; a county user gets their own."""
    default_id = default_county(session).id
    townships = (select(Township.county_id, func.count().label("n")).group_by(Township.county_id)).subquery()
    people = (select(User.county_id, func.count().label("n")).group_by(User.county_id)).subquery()
    q = (
        select(County.id, County.name, func.coalesce(townships.c.n, 0), func.coalesce(people.c.n, 0))
        .outerjoin(townships, townships.c.county_id == County.id)
        .outerjoin(people, people.c.county_id == County.id)
        .where(*county_conds(actor, County.id))
        .order_by(County.id)
    )
    return [
        CountyPublic(id=i, name=n, default=i == default_id, townships=t, users=u) for i, n, t, u in session.execute(q)
    ]


def add_county(session: Session, *, name: str, actor: User | None = None) -> County:
    _require_city(actor)
    name = _check_name(name)
    default_county(session)  # the default stays the first one
    if session.execute(select(County.id).where(County.name == name)).scalar() is not None:
        raise ValidationFailed(f"县（区）“{name}”已存在")
    county = County(name=name)
    session.add(county)
    session.flush()
    audit.record(
        session,
        actor=actor.name if actor else "命令行",
        action="create",
        entity="county",
        entity_id=county.id,
        after={"name": name},
    )
    return county


def rename_county(session: Session, *, old: str, new: str, actor: User | None = None) -> County:
    _require_city(actor)
    county = county_named(session, old)
    new = _check_name(new)
    if new != county.name and session.execute(select(County.id).where(County.name == new)).scalar() is not None:
        raise ValidationFailed(f"县（区）“{new}”已存在")
    before = county.name
    county.name = new
    session.flush()
    audit.record(
        session,
        actor=actor.name if actor else "命令行",
        action="rename",
        entity="county",
        entity_id=county.id,
        before={"name": before},
        after={"name": new},
    )
    return county


def county_choices(session: Session, *, actor: User | None) -> list[str]:
    """County names to offer in a filter: every county for the city (and the operator), none for others."""
    if not sees_all(actor):
        return []
    return list(session.execute(select(County.name).order_by(County.id)).scalars())
