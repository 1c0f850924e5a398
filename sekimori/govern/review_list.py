"""Every access review campaign of a register, for the faces that list them (the web's reviews page and
inbox): each campaign's status as :func:`sekimori.govern.review_status` gives it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.register import Register
from sekimori.govern.reviews import ReviewStatus, review_status
from sekimori.govern.tables import ReviewRow


def list_reviews(register: Register, today: date | None = None) -> list[ReviewStatus]:
    """The status on ``today`` of every campaign, oldest first (then by id)."""
    with Session(register.cases.engine) as session:
        rows = session.execute(select(ReviewRow.id, ReviewRow.started)).all()
    ordered = sorted(rows, key=lambda r: (r.started, r.id))
    return [review_status(register, r.id, today) for r in ordered]
