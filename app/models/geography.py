"""Jalisco's regions and municipalities (INEGI codes, IIEG 2014 regionalisation)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class Region(db.Model):
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    municipalities: Mapped[list[Municipality]] = relationship(
        back_populates="region", order_by="Municipality.code"
    )

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name}"


class Municipality(db.Model):
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    region_number: Mapped[int] = mapped_column(ForeignKey("region.number"), index=True)
    metro: Mapped[bool] = mapped_column(default=False)
    population: Mapped[int] = mapped_column(Integer)

    region: Mapped[Region] = relationship(back_populates="municipalities")
