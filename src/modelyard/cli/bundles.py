"""``modelyard keys ...`` and ``modelyard bundle export|import``."""

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli import output
from modelyard.cli.common import EnvOpt, JsonOpt, client

keys_app = typer.Typer(help="Ed25519 keys that sign bundles, and the keys trusted here.")
bundle_app = typer.Typer(help="Signed bundles: a version carried between installations.")


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Key name.")],
    json: JsonOpt = False,
) -> None:
    """Create a signing key (kept in the home, mode 0600); prints its public key, which
    the importing installation trusts with `keys trust`."""
    with client() as c:
        k = c.create_key(name)
    if json:
        output.emit_json(k)
    else:
        output.console.print(f"key {k.name} ({k.key_id}) created; its public key:")
        output.console.print(k.public_key, markup=False)


@keys_app.command("trust")
def trust_key(
    name: Annotated[str, typer.Argument(help="A name for the key here.")],
    public_key: Annotated[str, typer.Argument(help="The public key (base64).")],
    json: JsonOpt = False,
) -> None:
    """Trust another installation's public key: its bundles can be imported here."""
    with client() as c:
        k = c.trust_key(name, public_key)
    if json:
        output.emit_json(k)
    else:
        output.console.print(f"trusting key {k.name} ({k.key_id})")


@keys_app.command("list")
def list_keys(json: JsonOpt = False) -> None:
    """Trusted keys (this installation's own signing keys are among them)."""
    with client() as c:
        found = c.list_keys()
    if json:
        output.emit_json(found)
        return
    output.table(
        "trusted keys",
        ["name", "key id", "public key", "by"],
        [[k.name, k.key_id, k.public_key, k.created_by] for k in found],
    )


@bundle_app.command("export")
def export(
    ref: Annotated[str, typer.Argument(help="NAME:VER to export.")],
    output_file: Annotated[Path, typer.Option("--output", "-o", help="The bundle file.")],
    key: Annotated[str, typer.Option("--key", "-k", help="Signing key name.")],
    json: JsonOpt = False,
) -> None:
    """Write a version (package, metadata, evaluations, baseline) as one signed file."""
    with client() as c:
        info = c.export_bundle(ref, output_file, key=key)
    if json:
        output.emit_json({**info, "output": str(output_file)})
    else:
        output.console.print(
            f"wrote {output_file} ({output_file.stat().st_size:,} bytes): {info['source']}, "
            f"signed with key {info['key_id']}"
        )


@bundle_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A bundle file.")],
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Verify a bundle (every digest, the signature against trusted keys) and import its
    version, locked. Importing the same bundle again changes nothing."""
    with client() as c:
        found = c.import_bundle(file, environment=env)
    if json:
        output.emit_json(
            {
                "version": found.version,
                "created": found.created,
                "source": found.source,
                "key_id": found.key_id,
            }
        )
    elif found.created:
        output.console.print(
            f"imported [bold]{found.version.ref}[/] from {found.source} (key {found.key_id}); "
            "it is locked"
        )
    else:
        output.console.print(f"already imported as {found.version.ref}: nothing changed")
