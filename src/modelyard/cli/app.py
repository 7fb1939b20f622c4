"""The ``modelyard`` command's entry point: user mistakes are one line and exit code 1.

It imports nothing heavy before ``main`` runs (``import modelyard`` is lazy too), so
``modelyard server`` takes over its stop signals before the seconds its imports take.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from modelyard.cli import stopping


def main(argv: list[str] | None = None) -> None:
    """Run the command tree; ``argv`` None means the process's own command line."""
    if argv is None and stopping.command(sys.argv[1:]) in ("server", "serve"):
        stopping.stop_at_once()  # an in-process caller (tests) keeps its own handlers
    import typer
    from pydantic import ValidationError
    from typer.exceptions import TyperException

    from modelyard.cli import output
    from modelyard.cli.root import command_tree
    from modelyard.domain.errors import ModelyardError

    try:
        args = hoist_root_options(sys.argv[1:] if argv is None else argv)
        with one_line_warnings(output.warning):
            code = command_tree().main(args=args, prog_name="modelyard", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ModelyardError as e:
        output.error(e.message)
        sys.exit(1)
    except ValidationError as e:  # a setting from the environment that does not parse
        output.error(invalid_settings(e))
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        output.error("aborted")
        sys.exit(1)
    except TyperException as e:  # usage errors: missing argument, bad option value...
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        # A bare group (`modelyard models`) asks for its help: shown on stdout, exit 0.
        # Click names that case by class (its ``NoArgsIsHelpError``), not by a public flag.
        if type(e).__name__ == "NoArgsIsHelpError":
            print(message)
            sys.exit(0)
        if not message:  # help was shown already
            sys.exit(0)
        output.error(message)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def invalid_settings(e: Any) -> str:
    """One line naming the first setting that does not parse (a pydantic error)."""
    first = e.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    name = f"MODELYARD_{field.upper()}" if e.title == "Settings" else field
    return f"invalid {name}: {first['msg'].removeprefix('Value error, ')}"


@contextlib.contextmanager
def one_line_warnings(write: Callable[[str], None]) -> Iterator[None]:
    """Show each ``ModelyardWarning`` as one ``warning:`` line (no file name, no source
    line), every time it is issued; other warnings as Python shows them."""
    from modelyard.domain.errors import ModelyardWarning

    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always", ModelyardWarning)
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
            if issubclass(category, ModelyardWarning):
                write(str(message))
            else:
                shown(message, category, *args, **kw)

        warnings.showwarning = show
        yield


def hoist_root_options(args: list[str]) -> list[str]:
    """Move ``--home DIR`` (or ``--home=DIR``) to the front, where Click reads it, so
    ``modelyard models list --home h`` means ``modelyard --home h models list``. Nothing
    after a ``--`` moves."""
    front: list[str] = []
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest += [arg, *items]
        elif arg in stopping.ROOT_OPTIONS_WITH_VALUE:
            value = next(items, None)
            if value is None:  # left where it is, for Click to report
                rest.append(arg)
            else:
                front += [arg, value]
        elif arg.partition("=")[0] in stopping.ROOT_OPTIONS_WITH_VALUE:
            front.append(arg)
        else:
            rest.append(arg)
    return front + rest


if __name__ == "__main__":
    main()
