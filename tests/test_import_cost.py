"""What starting mcp_ref imports: each command and the client library load only what they need.

Import time is most of a server's startup (issue 7: spawn -> initialized, and the cost of
``import mcp_ref.client``). Which modules get imported is deterministic, so that is what is
checked here, never a time: ``python3 -X importtime`` names every module a fresh interpreter
imports, in a real process, with the same start-up as a desktop client's.
"""

import logging
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: A session that logs nothing: a handshake, a ping (answered with id 2), then EOF.
HANDSHAKE = ('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
             '"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
             '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
             '{"jsonrpc":"2.0","id":2,"method":"ping"}\n')
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)\s*$", re.MULTILINE)


def _python(*args, input=None):
    """``python3 ARGS`` in a fresh interpreter, mcp_ref importable, ``input`` on its stdin
    (None: at EOF at once); text in and out, bounded."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, input=input,
                          stdin=subprocess.DEVNULL if input is None else None,
                          env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                          text=True, timeout=60)


def _logged(code):
    """What ``code`` writes to stderr, run in a fresh interpreter after ``import sys`` and
    ``from mcp_ref._logging import LazyLogger, basic_config``; it must exit 0."""
    done = _python("-c", "import sys; from mcp_ref._logging import LazyLogger, basic_config;"
                   + code)
    assert done.returncode == 0, done.stderr
    return done.stderr


def imported_modules(*args):
    """The modules ``python3 -X importtime ARGS`` imports, stdin at EOF (a server exits)."""
    done = _python("-X", "importtime", *args)
    assert done.returncode == 0, done.stderr
    modules = set(_IMPORTED.findall(done.stderr))
    assert "mcp_ref" in modules, done.stderr          # the parse itself works
    return modules


def test_serve_does_not_import_the_other_commands():
    modules = imported_modules("-m", "mcp_ref", "serve")
    assert "mcp_ref.reference" in modules
    unwanted = {"mcp_ref.check", "dataclasses", "mcp_ref.cli", "mcp_ref.client", "difflib"}
    assert not modules & unwanted
    assert "argparse" not in modules            # a bare serve has nothing to parse
    assert "subprocess" not in modules          # nor anything to spawn


def test_serve_with_options_still_parses_them():
    modules = imported_modules("-m", "mcp_ref", "serve", "--trace", os.devnull)
    assert {"argparse", "mcp_ref.reference"} <= modules and "mcp_ref.check" not in modules


def test_the_client_library_imports_no_command_line_machinery():
    modules = imported_modules("-c", "import mcp_ref.client")
    assert not modules & {"argparse", "difflib", "dataclasses", "mcp_ref.check", "mcp_ref.cli"}
    assert "queue" not in modules       # made with the first server request (D-29)


def test_the_client_library_imports_logging_only_to_emit_a_record():
    assert "logging" not in imported_modules("-c", "import mcp_ref.client")
    code = ("import sys; from mcp_ref._logging import LazyLogger; log = LazyLogger('mcp_ref.x');"
            "log.info('dropped, as unconfigured logging would');"
            "assert 'logging' not in sys.modules; log.warning('to stderr, through logging')")
    done = _python("-c", code)
    assert done.returncode == 0 and done.stderr == "to stderr, through logging\n", done.stderr


def test_serve_imports_logging_only_to_emit_a_record():
    """D-73: serve's logging configuration waits for the first record. A session that logs
    nothing (here: a handshake, a ping, EOF) starts and ends without importing logging."""
    done = _python("-X", "importtime", "-m", "mcp_ref", "serve", input=HANDSHAKE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 2 and '"id":2,"result":{}' in done.stdout
    modules = set(_IMPORTED.findall(done.stderr))
    assert "mcp_ref.reference" in modules and "logging" not in modules


def test_nothing_imports_typing_at_run_time():
    """D-105: the hints' names are imported for type checkers only (``TYPE_CHECKING = False``),
    so a server's whole session (a handshake, a ping, EOF), the client library and the whole
    package start without typing: ~3 ms of every start on a stock interpreter (D-72). ``-S``:
    no site, so no ``.pth`` hook can import typing first (the benchmark's machine has one).
    serve is started through ``main``, not ``-m``: before 3.11, ``-m`` itself imports typing
    (runpy -> importlib.util -> importlib.abc), which no package can avoid."""
    serve = "import sys; from mcp_ref.__main__ import main; sys.exit(main(['serve']))"
    done = _python("-S", "-X", "importtime", "-c", serve, input=HANDSHAKE)
    assert done.returncode == 0 and '"id":2,"result":{}' in done.stdout, done.stderr
    modules = set(_IMPORTED.findall(done.stderr))
    assert "mcp_ref.reference" in modules and "typing" not in modules
    assert "typing" not in imported_modules("-S", "-c", "import mcp_ref.client")
    package = sorted("mcp_ref." + name[:-3] for name in os.listdir(os.path.join(ROOT, "mcp_ref"))
                     if name.endswith(".py") and name != "__main__.py")
    every = imported_modules("-S", "-c", "import " + ", ".join(package))
    assert {"mcp_ref.check", "mcp_ref.supervisor"} <= every and "typing" not in every


def test_serve_still_formats_its_first_warning():
    """D-73: the deferred configuration is applied before the first record is handled: a
    serve warning (a line that is not JSON, BP-01) has serve's format, and stdout only the
    -32700."""
    done = _python("-m", "mcp_ref", "serve", input="not json\n")
    assert done.returncode == 0, done.stderr
    assert '"code":-32700' in done.stdout
    assert re.search(r"^mcp_ref serve: WARNING mcp_ref\.\w+: peer broke a protocol rule "
                     r"\(BP-01\)", done.stderr, re.MULTILINE), done.stderr


def test_basic_config_waits_for_a_record():
    """D-73: at WARNING, basic_config is applied by the first record that reaches logging;
    an INFO record before it is dropped without importing logging, and a second call
    changes nothing, as with logging.basicConfig."""
    code = ("basic_config(stream=sys.stderr, level=30, format='configured %(levelname)s: "
            "%(message)s'); assert 'logging' not in sys.modules;"
            "basic_config(stream=sys.stderr, level=30, format='second %(message)s');"
            "LazyLogger('mcp_ref.x').info('dropped'); assert 'logging' not in sys.modules;"
            "LazyLogger('mcp_ref.x').warning('first'); assert 'logging' in sys.modules;"
            "LazyLogger('mcp_ref.y').error('second')")
    assert _logged(code) == "configured WARNING: first\nconfigured ERROR: second\n"


def test_a_pending_basic_config_holds_when_logging_is_imported_before_a_second_call():
    """D-73, as with basicConfig the first configuration holds: a second call, made once other
    code has imported logging, used to apply itself at once while the first still waited."""
    code = ("basic_config(stream=sys.stderr, level=30, format='first %(message)s');"
            "import logging; basic_config(stream=sys.stderr, level=30, format='second "
            "%(message)s'); LazyLogger('mcp_ref.x').warning('record')")
    assert _logged(code) == "first record\n"


def test_basic_config_below_warning_keeps_the_records_it_lets_through():
    """basic_config(level=INFO) is logging.basicConfig(level=INFO): applied at once, so an
    INFO record, which a LazyLogger drops while logging is not imported, reaches it."""
    code = ("basic_config(stream=sys.stderr, level=20, format='configured %(levelname)s: "
            "%(message)s'); LazyLogger('mcp_ref.x').info('first');"
            "LazyLogger('mcp_ref.x').debug('dropped')")
    assert _logged(code) == "configured INFO: first\n"


def test_a_lazy_logger_record_is_the_callers(caplog):
    from mcp_ref._logging import LazyLogger
    log = LazyLogger("mcp_ref.test")
    caplog.set_level(logging.DEBUG, logger="mcp_ref.test")
    log.debug("a %s", "debug")
    line = sys._getframe().f_lineno - 1
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("an exception")
    log.log(logging.WARNING, "a warning", extra={"server_pid": 7})
    first, second, third = caplog.records
    assert (first.getMessage(), first.levelno, first.name) == ("a debug", 10, "mcp_ref.test")
    assert (first.pathname, first.lineno) == (__file__, line)
    assert first.funcName == "test_a_lazy_logger_record_is_the_callers"
    assert second.levelno == logging.ERROR and second.exc_info[0] is ValueError
    assert second.funcName == first.funcName and third.server_pid == 7


def test_the_supervisor_imports_logging_only_to_emit_a_record():
    """D-86: supervisor.py imported logging itself (D-29's LazyLogger is for every module)."""
    assert "logging" not in imported_modules("-c", "import mcp_ref.supervisor")
