"""The Flower internals fedvideo uses, in one place.

Everything else in fedvideo and its tests uses Flower's public API only
(``flwr.app``, ``flwr.clientapp``, ``flwr.serverapp``,
``flwr.serverapp.strategy``, ``flwr.common.logger.log`` and the ``flwr`` CLI);
``tests/fl/test_flower_compat.py`` checks it. Four things fedvideo needs have no
public home. Each is looked up, when first used, in every module Flower has
kept it in, newest first, so that a Flower release that moves one breaks
nothing until the moved name is used, and this module is the one place to
adapt: add the new location to the front of its tuple below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

__all__ = [
    "INTERNAL_MODULES",
    "add_exit_handler",
    "aggregate_arrayrecords",
    "client_app_error_code",
    "find_attribute",
    "task_identity_class",
]

#: Where ``add_exit_handler`` lives (``flwr.common.exit`` in earlier releases).
EXIT_HANDLER_MODULES = ("flwr.supercore.exit", "flwr.common.exit")
#: Where ``ErrorCode`` (the codes of an error reply) lives.
ERROR_CODE_MODULES = ("flwr.common.constant",)
#: Where ``TaskIdentity`` (the run / node / task ids of a process) lives.
TASK_IDENTITY_MODULES = ("flwr.supercore.task_identity",)
#: Where the strategies' weighted average of ``ArrayRecord``s lives.
STRATEGY_UTILS_MODULES = ("flwr.serverapp.strategy.strategy_utils",)

#: Flower modules that only this module may import.
INTERNAL_MODULES = tuple(
    sorted(
        {
            "flwr.supercore",
            *EXIT_HANDLER_MODULES,
            *ERROR_CODE_MODULES,
            *STRATEGY_UTILS_MODULES,
        }
    )
)


@cache
def find_attribute(name: str, modules: Sequence[str]) -> Any:
    """``name`` from the first of ``modules`` that can be imported and has it.

    Parameters
    ----------
    name : str
        The attribute to look up, e.g. ``"add_exit_handler"``.
    modules : Sequence[str]
        Dotted module names to try, in order (newest Flower location first).

    Returns
    -------
    Any
        The attribute.

    Raises
    ------
    ImportError
        When no module of ``modules`` has ``name``; the message names every
        module tried, the installed Flower version and this module.
    """
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise ImportError(
        f"{name} is in none of {', '.join(modules)} in flwr {_flower_version()}: "
        "add its new location to fedvideo/fl/flower_compat.py"
    )


def _flower_version() -> str:
    try:
        return importlib.import_module("flwr").__version__
    except (ImportError, AttributeError):
        return "(not installed)"


def add_exit_handler(
    handler: Callable[[], None], *, run_before_force_exit: bool = False
) -> None:
    """Run ``handler`` when Flower ends the process (``flwr stop``, SIGINT, SIGTERM).

    Parameters
    ----------
    handler : Callable[[], None]
        Called once, before the process exits.
    run_before_force_exit : bool, default False
        Whether Flower runs it also when it forces the exit.
    """
    register = find_attribute("add_exit_handler", EXIT_HANDLER_MODULES)
    register(handler, run_before_force_exit=run_before_force_exit)


def client_app_error_code() -> int:
    """Return the code of an error reply whose ClientApp raised an exception."""
    error_code = find_attribute("ErrorCode", ERROR_CODE_MODULES)
    return int(error_code.CLIENT_APP_RAISED_EXCEPTION)


def task_identity_class() -> type:
    """Flower's ``TaskIdentity``: the run, node and task ids of this process.

    Tests set them to build Messages outside a Flower process.
    """
    return find_attribute("TaskIdentity", TASK_IDENTITY_MODULES)


def aggregate_arrayrecords(records: list[Any], weighting_key: str) -> Any:
    """Flower's weighted average of the ``ArrayRecord`` in each ``RecordDict``.

    Parameters
    ----------
    records : list of RecordDict
        One per client reply, each with one ArrayRecord and one MetricRecord
        holding ``weighting_key``.
    weighting_key : str
        The metric that weights each record.

    Returns
    -------
    ArrayRecord
        The average, as Flower's strategies compute it.
    """
    average = find_attribute("aggregate_arrayrecords", STRATEGY_UTILS_MODULES)
    return average(records, weighting_key)
