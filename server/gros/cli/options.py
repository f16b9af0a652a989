"""Click options made from the settings' declarations (settings.py), so that a flag's name, type,
limits, default and help are written once, next to the setting they set."""
from __future__ import annotations

from pathlib import Path

import click

from gros.settings import Settings, declarations, default_text, kind


def _type(name: str):
    declared, target = declarations()[name], kind(name)
    if target is Path:
        return click.Path(file_okay=False, path_type=Path)
    if target is int:
        return click.IntRange(min=declared.minimum) if declared.minimum is not None else int
    if target is float:
        return click.FloatRange(min=declared.minimum) if declared.minimum is not None else float
    return str


def setting_option(name: str, flag: str | None = None):
    """The click option of one setting. Its default is None ("not given"), so that the environment
    variable and then the declared default apply (Settings.from_env)."""
    declared = declarations()[name]
    help_text = f"{declared.help} [default: {default_text(name)}"
    help_text += f"; or {declared.env}]" if declared.env else "]"
    return click.option(flag or declared.flag, name, type=_type(name), default=None, metavar=declared.metavar,
                        multiple=kind(name) is tuple, help=help_text)


def setting_options(*names: str):
    """Decorate a command with the options of several settings, in the order given."""
    def decorate(command):
        for name in reversed(names):
            command = setting_option(name)(command)
        return command
    return decorate


def given(flags: dict) -> dict:
    """The flags a user gave (a repeatable option that was not given is an empty tuple)."""
    return {k: v for k, v in flags.items() if v is not None and v != ()}


#: Every command takes --root: the content folder.
ROOT_OPTION = setting_option("root", "--root")


def command_settings(root: Path | None, **overrides) -> Settings:
    """The settings of one command: declared defaults, the environment, then its flags."""
    return Settings.from_env(root=root.resolve() if root else None, **overrides)
