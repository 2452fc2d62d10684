"""Client input errors: data or configuration faults that no retry can fix.

A ClientApp that meets one (a missing or corrupt file, a partition that does not
fit, a bad run or node config) replies with an error message whose reason starts
with :data:`INPUT_ERROR_PREFIX` and names the client. The server tells such a
reply from a transient failure (a crash, a lost node) with
:func:`parse_input_error` and can end a run that cannot learn anything
(:mod:`fedvideo.strategies.run_health`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from fedvideo.config import ConfigError
from fedvideo.data.errors import DatasetError
from fedvideo.fl.client_info import NodeConfigError

__all__ = [
    "INPUT_ERRORS",
    "INPUT_ERROR_PREFIX",
    "InputError",
    "check_once",
    "input_error_reason",
    "parse_input_error",
]

#: Exceptions that mean the client's data or configuration is at fault.
INPUT_ERRORS: tuple[type[Exception], ...] = (ConfigError, DatasetError, NodeConfigError)
INPUT_ERROR_PREFIX = "fedvideo input error"
_REASON = re.compile(rf"^{re.escape(INPUT_ERROR_PREFIX)} \[(?P<client>[^\]]*)\]: ")

_verdicts: dict[Hashable, Exception | None] = {}


@dataclass(frozen=True)
class InputError:
    """A client's input error as the server reads it from a reply."""

    client: str  # e.g. "partition 1 of 4"
    message: str  # "DatasetError: cannot read frame file ..."


def input_error_reason(client: str, error: BaseException) -> str:
    """Return the reason of an error reply for ``error``, met by ``client``.

    Parameters
    ----------
    client : str
        Who met it, e.g. ``"partition 1 of 4"``.
    error : BaseException
        One of :data:`INPUT_ERRORS`.
    """
    return f"{INPUT_ERROR_PREFIX} [{client}]: {type(error).__name__}: {error}"


def parse_input_error(reason: str) -> InputError | None:
    """Read an error reply's reason; None when it is no input error."""
    match = _REASON.match(reason)
    if match is None:
        return None
    return InputError(match["client"], reason[match.end() :])


def check_once(key: Hashable, check: Callable[[], None]) -> None:
    """Run ``check`` the first time ``key`` is seen in this process.

    The verdict is kept: later calls with the same key return at once, or
    raise the first call's input error again without repeating the check.
    Errors other than :data:`INPUT_ERRORS` are not kept.
    """
    if key not in _verdicts:
        try:
            check()
        except INPUT_ERRORS as err:
            _verdicts[key] = err
        else:
            _verdicts[key] = None
    error = _verdicts[key]
    if error is not None:
        raise error
