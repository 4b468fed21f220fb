"""The one table of HTTP routes -> Lambda functions, read by the local runtime (and by infra/).

A function is the folder name under ``functions/``; its ``handler.lambda_handler`` serves every
method under the path prefix (API Gateway proxy resource ``{prefix}/{proxy+}``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    function: str
    description: str


ROUTES: tuple[Route, ...] = (
    Route(
        "/xapi",
        "xapi_api",
        "xAPI 1.0.3 resources (statements, state, activity/agent profiles, activities, agents,"
        " about)",
    ),
)


def route_for(path: str) -> Route | None:
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None
