"""The ``modelyard`` command's entry point: user mistakes are one line and exit code 1.

It imports nothing heavy before ``main`` runs (``import modelyard`` is lazy too), so
``modelyard server`` takes over its stop signals before the seconds its imports take.
"""

from __future__ import annotations

import sys

from modelyard.cli import stopping


def main(argv: list[str] | None = None) -> None:
    """Run the command tree; ``argv`` None means the process's own command line."""
    if argv is None and stopping.command(sys.argv[1:]) == "server":
        stopping.stop_at_once()  # an in-process caller (tests) keeps its own handlers
    import typer
    from typer.exceptions import TyperException

    from modelyard.cli import output
    from modelyard.cli.root import app
    from modelyard.domain.errors import ModelyardError

    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ModelyardError as e:
        output.error(e.message)
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


if __name__ == "__main__":
    main()
