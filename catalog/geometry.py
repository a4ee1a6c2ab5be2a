"""One geometry column type that takes and gives shapely geometries.

PostgreSQL: a PostGIS ``geometry(<type>, 4326)``; its GiST index is created explicitly by the migration
(``catalog.ddl``). SQLite: WKB in a BLOB. Coordinates are WGS-84 lon/lat (EPSG:4326).
"""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2 import Geometry as PostGISGeometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SRID = 4326


class GeometryType(TypeDecorator[shapely.Geometry]):
    impl = LargeBinary
    cache_ok = True
    # Read by geoalchemy2's DDL hooks on PostgreSQL: the migration makes the index, not them.
    spatial_index = False
    use_N_D_index = False

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type

    def __repr__(self) -> str:
        return f"GeometryType({self.geometry_type!r})"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # geoalchemy2's DDL hooks probe with no dialect; answering "not spatial" keeps them out of our way
        # (the migration creates the GiST index itself).
        if dialect is not None and dialect.name == "postgresql":
            return dialect.type_descriptor(
                PostGISGeometry(self.geometry_type, srid=SRID, spatial_index=False)
            )
        return LargeBinary()

    def process_bind_param(self, value: shapely.Geometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            # extended WKB (with its SRID), hex: geoalchemy2 passes it on as it is; a plain WKB element it would
            # parse back into a shape and send as EWKT text (a third of a pushed plot's write)
            ewkb = shapely.to_wkb(shapely.set_srid(value, SRID), hex=True, include_srid=True)
            return WKBElement(ewkb, srid=SRID, extended=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> shapely.Geometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = value.data
        if isinstance(value, str):  # hex EWKB
            return shapely.from_wkb(bytes.fromhex(value))
        return shapely.from_wkb(bytes(value))
