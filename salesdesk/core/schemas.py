"""Output shapes shared across apps: small references to related records."""

import datetime

from ninja import Schema


class UserRef(Schema):
    id: int
    email: str
    full_name: str


class TeamRef(Schema):
    id: int
    name: str


class UserOut(UserRef):
    role: str
    team: TeamRef | None
    timezone: str
    is_active: bool


class NamedRef(Schema):
    id: int
    name: str


class CompanyRef(NamedRef):
    pass


class StageRef(NamedRef):
    probability: int


class ContactRef(Schema):
    id: int
    full_name: str


class AuditEntryOut(Schema):
    id: int
    at: datetime.datetime
    actor: UserRef | None
    action: str
    changes: dict
