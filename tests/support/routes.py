"""Every route of the API function, as the app itself declares it (``api_handler.app``:
its static and dynamic routes after the routers are included), for the tests that must
cover every route: the generated bad input, and the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

import api_handler
import request_gate


@dataclass(frozen=True, slots=True)
class RouteShape:
    """What the app declares for one route: method, path rule, path parameters (name:
    whether it is a number), query parameters and the body model (or that it takes a
    CSV file instead), and whether the OpenAPI document describes it (the document's
    own routes it does not)."""

    method: str
    path: str
    path_params: tuple[tuple[str, bool], ...]
    query_params: tuple[str, ...]
    body_model: type[BaseModel] | None
    takes_csv: bool = False
    in_schema: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def app_routes() -> list[RouteShape]:
    shapes = []
    for route in [*api_handler.app._static_routes, *api_handler.app._dynamic_routes]:
        dependant = route.dependant
        bodies = [param.type_ for param in dependant.body_params]
        shapes.append(
            RouteShape(
                method=route.method.upper(),
                path=route.path,
                path_params=tuple((param.name, param.type_ is int) for param in dependant.path_params),
                query_params=tuple(param.alias for param in dependant.query_params),
                body_model=bodies[0] if bodies else None,
                takes_csv=route.method.upper() == "POST" and route.path in request_gate.CSV_UPLOADS,
                in_schema=route.include_in_schema,
            )
        )
    return sorted(shapes, key=lambda shape: shape.key)
