"""mcp_ref's loggers: :mod:`logging`, imported only once a record could be emitted.

``import logging`` costs about 5 ms on a stock interpreter (it pulls in ``traceback``,
``tokenize``, ``string``...), a fifth of what ``import mcp_ref.client`` adds to a bare one
(decisions D-29, D-72, D-73). Until some code has imported logging,
nothing can have configured it: the root logger's level is WARNING, so logging would drop a
DEBUG or INFO record anyway. A :class:`LazyLogger` drops those itself; anything else, or
anything at all once logging has been imported (by the application, pytest, ``basicConfig``),
goes to ``logging.getLogger(name)`` exactly as before.

The command line configures logging the same way: :func:`basic_config` is
``logging.basicConfig``, applied once a record reaches logging (at once for a level below
WARNING, whose records a LazyLogger would otherwise drop), so that a ``serve`` that logs
nothing starts without importing logging at all (D-73).
"""

from __future__ import annotations

import sys
import threading

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

#: logging's own level numbers, so that callers need not import logging for them.
DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50

#: The arguments of a :func:`basic_config` not yet applied, and the lock that applies them.
_pending_config: Optional[Dict[str, Any]] = None
_config_lock = threading.Lock()


def basic_config(**kwargs: Any) -> None:
    """``logging.basicConfig(**kwargs)``: now if logging is imported already or the level is
    below WARNING, otherwise when a :class:`LazyLogger` first hands logging a record. Until
    then nothing has been logged, so nothing could have used the configuration. (A record
    logged meanwhile through logging itself, by code that imported it, is not ours: it meets
    logging unconfigured.)"""
    global _pending_config
    level = kwargs.get("level", WARNING)
    with _config_lock:
        if _pending_config is not None:
            return                      # as with basicConfig, the first configuration holds
        if "logging" in sys.modules or not (isinstance(level, int) and level >= WARNING):
            # A lower level (or a level name) wants records a LazyLogger would drop while
            # logging is not imported: configured at once, as logging.basicConfig would be.
            import logging
            logging.basicConfig(**kwargs)
        else:
            _pending_config = kwargs


def _apply_pending_config() -> None:
    global _pending_config
    with _config_lock:          # a second thread's first record waits until it is applied
        if _pending_config is not None:
            import logging
            logging.basicConfig(**_pending_config)
            _pending_config = None


class LazyLogger:
    """Stands for ``logging.getLogger(name)``: ``debug``/``info``/``warning``/``error``/
    ``exception``/``log``, with the same arguments."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Already imported: take the logger now, as ``logging.getLogger`` at import time did.
        self._logger: Optional[Any] = (sys.modules["logging"].getLogger(name)
                                       if "logging" in sys.modules else None)

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        self._emit(level, msg, args, kwargs)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._emit(DEBUG, msg, args, kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._emit(INFO, msg, args, kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._emit(WARNING, msg, args, kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._emit(ERROR, msg, args, kwargs)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._emit(ERROR, msg, args, dict(kwargs, exc_info=True))

    def _emit(self, level: int, msg: str, args: Any, kwargs: Any) -> None:
        if self._logger is None:
            if level < WARNING and "logging" not in sys.modules:
                return                    # unconfigured logging would drop it too
            import logging
            self._logger = logging.getLogger(self.name)
        if _pending_config is not None:
            _apply_pending_config()
        # stacklevel 3: the record names our caller (file, line, function), not this module.
        self._logger.log(level, msg, *args, stacklevel=3, **kwargs)
