"""``mlcask models verify|sign`` and ``mlcask keys``: integrity, signatures and trust."""

from __future__ import annotations

import os
from typing import Any

import click

from mlcask.cli_store import check_store_for

ALLOW_PICKLE_HELP = ("Load formats that can run code (pickle, cloudpickle, custom python models, code_paths) "
                     "even from a model not signed by a trusted key. Only for models you trust.")


def allow_pickle_option(command: Any) -> Any:
    """``--allow-pickle``: sets MLCASK_ALLOW_PICKLE=1 for this process (and server workers)."""

    def apply(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            os.environ["MLCASK_ALLOW_PICKLE"] = "1"
        return value

    return click.option("--allow-pickle", is_flag=True, expose_value=False, callback=apply,
                        help=ALLOW_PICKLE_HELP)(command)


def _resolve(tracking_uri: str | None, model_uri: str) -> Any:
    from mlcask.models.uri import resolve_model_path

    check_store_for(model_uri, tracking_uri)  # verifying or signing never creates a store
    if tracking_uri:
        from mlcask.tracking import fluent

        fluent.set_tracking_uri(tracking_uri)
    return resolve_model_path(model_uri)


def _describe_signature(verification: Any) -> str:
    if verification.trusted:
        return f"signed by trusted key {verification.trusted_signer} ({verification.signer_source})"
    if verification.signed_by:
        return (f"signed by key {verification.signed_by}, which is not trusted here: it loads as an unsigned "
                "model (no pickle, no recorded skops types)")
    return "not signed: it loads as an unsigned model (no pickle, no recorded skops types)"


def register(models: click.Group, cli: click.Group, tracking_uri_option: Any) -> None:
    """Add the commands to the ``models`` group and a ``keys`` group to ``cli``."""

    @models.command("verify")
    @tracking_uri_option
    @click.option("--model-uri", "-m", required=True, help="A path, runs:/ or models:/ URI.")
    def models_verify(tracking_uri: str | None, model_uri: str) -> None:
        """Check a model's files against its integrity manifest and its signature."""
        from mlcask.models.integrity import verify_model

        path = _resolve(tracking_uri, model_uri)
        verification = verify_model(path)
        if verification.files_checked is None:
            raise click.ClickException(f"'{path}' has no integrity manifest (saved by MLflow, or by an older "
                                       "mlcask): nothing to verify. `mlcask models sign` seals and signs it.")
        click.echo(f"OK: {verification.files_checked} files of {path} match their SHA-256 and size; "
                   f"{_describe_signature(verification)}.")

    @models.command("sign")
    @tracking_uri_option
    @click.option("--model-uri", "-m", required=True, help="A path, runs:/ or models:/ URI.")
    def models_sign(tracking_uri: str | None, model_uri: str) -> None:
        """Seal and sign a model with your signing key, so it loads as trusted.

        Signing vouches for everything in the folder, code and pickles included: review a
        model from elsewhere first.
        """
        from mlcask.models.metadata import sign_model

        path = _resolve(tracking_uri, model_uri)
        verification = sign_model(path)
        click.echo(f"Signed {path} ({verification.files_checked} files) with key {verification.signed_by} "
                   f"({verification.signer_source}).")

    @cli.group("keys", cls=type(models))
    def keys() -> None:
        """Show signing and trusted keys; make an Ed25519 key pair."""

    @keys.command("show")
    def keys_show() -> None:
        """The key that signs saved models and the keys trusted when loading."""
        from mlcask.models.signing import signing_key, trusted_keys

        key = signing_key()
        click.echo(f"signing key: {key.key_id} ({key.algorithm}, {key.source})" if key else
                   "signing key: none (MLCASK_SIGNING=0)")
        for trusted in trusted_keys().values():
            click.echo(f"trusted:     {trusted.key_id} ({trusted.algorithm}, {trusted.source})")

    @keys.command("generate")
    @click.option("--private-key", required=True, type=click.Path(dir_okay=False),
                  help="Where to write the PEM private key (mode 0600); point MLCASK_SIGNING_KEY_FILE at it.")
    @click.option("--public-key", required=True, type=click.Path(dir_okay=False),
                  help="Where to write the PEM public key; list it in MLCASK_TRUSTED_KEYS where models load.")
    def keys_generate(private_key: str, public_key: str) -> None:
        """Make a new Ed25519 key pair (needs the cryptography package)."""
        from mlcask.models.signing import generate_ed25519_key

        if os.path.exists(private_key):
            raise click.ClickException(f"'{private_key}' already exists; not overwriting a key.")
        key = generate_ed25519_key(private_key, public_key)
        click.echo(f"Wrote {private_key} and {public_key}: key {key.key_id}.")
