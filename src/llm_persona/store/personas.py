"""Persona versions as the database records them: numbered per name, idempotent by fingerprint, and labels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from llm_persona.errors import ConflictError, PersonaNotFoundError
from llm_persona.store.base import StoreBase, record_columns, to_record
from llm_persona.store.records import PersonaVersionRecord, utcnow
from llm_persona.store.tables import persona_labels, persona_versions

_RETRIES = 5
VERSION_FIELDS, VERSION_COLUMNS = record_columns(PersonaVersionRecord, persona_versions)


class PersonasRepo(StoreBase):
    """Recorded persona versions and the labels that point at them."""

    def record_persona_version(
        self, tenant: str, name: str, fingerprint: str, content: dict[str, Any]
    ) -> int:
        """The version number of this content: the existing one for a known fingerprint, else max+1."""
        pv = persona_versions
        for _ in range(_RETRIES):
            try:
                with self._write() as conn:
                    known = conn.execute(
                        select(pv.c.number).where(
                            pv.c.tenant == tenant, pv.c.name == name, pv.c.fingerprint == fingerprint
                        )
                    ).scalar_one_or_none()
                    if known is not None:
                        return int(known)
                    number = int(
                        conn.execute(
                            select(func.coalesce(func.max(pv.c.number), 0) + 1).where(
                                pv.c.tenant == tenant, pv.c.name == name
                            )
                        ).scalar_one()
                    )
                    conn.execute(
                        insert(pv).values(
                            tenant=tenant,
                            name=name,
                            number=number,
                            fingerprint=fingerprint,
                            content=content,
                            created_at=utcnow(),
                        )
                    )
                    return number
            except ConflictError as exc:  # a concurrent writer took the number or the fingerprint
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
        raise ConflictError(
            f"Could not record a version of persona {name!r} (tenant {tenant!r}) after {_RETRIES} tries: "
            "other writers kept taking the next number. Retry."
        )

    def get_persona_version(self, tenant: str, name: str, number: int) -> PersonaVersionRecord:
        """One recorded version, or PersonaNotFoundError."""
        pv = persona_versions
        with self._read() as conn:
            row = conn.execute(
                select(*VERSION_COLUMNS).where(
                    pv.c.tenant == tenant, pv.c.name == name, pv.c.number == number
                )
            ).first()
        if row is None:
            raise _version_not_found(tenant, name, number)
        return persona_version_from_row(row)

    def list_persona_versions(self, tenant: str, name: str) -> list[PersonaVersionRecord]:
        """Every recorded version of the persona, oldest first."""
        pv = persona_versions
        with self._read() as conn:
            rows = conn.execute(
                select(*VERSION_COLUMNS).where(pv.c.tenant == tenant, pv.c.name == name).order_by(pv.c.number)
            ).all()
        return [persona_version_from_row(row) for row in rows]

    def list_persona_names(self, tenant: str) -> list[str]:
        """Names of the personas with recorded versions, sorted."""
        pv = persona_versions
        with self._read() as conn:
            stmt = select(pv.c.name).where(pv.c.tenant == tenant).distinct().order_by(pv.c.name)
            return list(conn.execute(stmt).scalars())

    def set_persona_label(self, tenant: str, name: str, label: str, number: int) -> None:
        """Point `label` at version `number` (which must be recorded), moving it if it exists."""
        pv, pl = persona_versions, persona_labels
        with self._write() as conn:
            exists = conn.execute(
                select(pv.c.pk).where(pv.c.tenant == tenant, pv.c.name == name, pv.c.number == number)
            ).first()
            if exists is None:
                raise _version_not_found(tenant, name, number)
            row = {"tenant": tenant, "name": name, "label": label, "number": number, "updated_at": utcnow()}
            # Insert, or move the label if it exists: race-free when replicas set it at once.
            added = conn.execute(self._insert_or_skip(pl, row, unique=("tenant", "name", "label")))
            if added.rowcount != 1:  # skipped: the label exists (PostgreSQL may report -1)
                where = (pl.c.tenant == tenant, pl.c.name == name, pl.c.label == label)
                conn.execute(update(pl).where(*where).values(number=number, updated_at=row["updated_at"]))

    def get_persona_label(self, tenant: str, name: str, label: str) -> int:
        """The version number `label` points at, or PersonaNotFoundError."""
        pl = persona_labels
        with self._read() as conn:
            number = conn.execute(
                select(pl.c.number).where(pl.c.tenant == tenant, pl.c.name == name, pl.c.label == label)
            ).scalar_one_or_none()
        if number is None:
            raise PersonaNotFoundError(
                f"Persona {name!r} (tenant {tenant!r}) has no label {label!r}. "
                "Set it with set_persona_label() or `labels:` in the persona file."
            )
        return int(number)

    def persona_labels(self, tenant: str, name: str) -> dict[str, int]:
        """Every label of the persona -> version number."""
        pl = persona_labels
        with self._read() as conn:
            rows = conn.execute(
                select(pl.c.label, pl.c.number)
                .where(pl.c.tenant == tenant, pl.c.name == name)
                .order_by(pl.c.label)
            ).all()
        return {label: int(number) for label, number in rows}

    def delete_persona_label(self, tenant: str, name: str, label: str) -> None:
        """Remove the label; PersonaNotFoundError if it does not exist."""
        pl = persona_labels
        with self._write() as conn:
            gone = conn.execute(
                delete(pl).where(pl.c.tenant == tenant, pl.c.name == name, pl.c.label == label)
            )
            if gone.rowcount != 1:
                raise PersonaNotFoundError(f"Persona {name!r} (tenant {tenant!r}) has no label {label!r}.")


def _version_not_found(tenant: str, name: str, number: int) -> PersonaNotFoundError:
    return PersonaNotFoundError(
        f"Persona {name!r} (tenant {tenant!r}) has no recorded version {number}. "
        "List its versions with GET /v1/personas/{name}/versions."
    )


def persona_version_from_row(row: Row[Any]) -> PersonaVersionRecord:
    return to_record(PersonaVersionRecord, VERSION_FIELDS, row)
