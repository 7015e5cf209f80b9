"""churn_assets: a churn model trained, validated and promoted as Dagster assets.

``churn_assets.defs`` (the Dagster definitions) is loaded on first use, not on import: a
process that needs one plain function (a Dask worker running a partition step, the command
line) does not pay for Dagster, every asset and MLflow. ``dagster ... -m churn_assets``
still finds ``defs``: Dagster's module loader walks ``dir(module)`` and reads each name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from churn_assets.definitions import defs

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from churn_assets.definitions import defs

        # Importing the definitions imports the subpackage churn_assets/defs/, which Python
        # binds to this same name: bind the Definitions back, as the eager import used to.
        globals()["defs"] = defs
        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
