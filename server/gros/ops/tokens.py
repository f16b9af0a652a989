"""Update tokens: who may write.

Tokens come from `GROS_UPDATE_TOKEN` (one token, named "default") or from the file named by
`GROS_UPDATE_TOKEN_FILE`, which holds several named tokens, one per line:

    # comments and blank lines are ignored
    alice:3b1f...           # name:token; the name shows up in the log, the token never does
    harvester:9c07...

Revoking a token is removing its line. The file is read again when its modification time or
size changes (checked on each write request, a single stat call), so a revocation takes effect
on the next write without a restart. A file that cannot be read or parsed any more accepts no
token at all (fail closed) until it is fixed.

A presented token is compared with every known token in constant time (hmac.compare_digest),
and all of them are compared whatever the outcome, so the time taken says nothing about which
token, or how much of one, was right.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from gros.errors import GrosError

log = logging.getLogger("gros.tokens")

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Shorter tokens are refused: a token is a password that a script keeps, so there is no
#: reason for it to be guessable.
MIN_LENGTH = 16


class TokenFileError(GrosError, ValueError):
    """The token file cannot be read or has a line that is not `name:token`."""

    status = 500
    exit_code = 2


@dataclass(frozen=True)
class Token:
    name: str
    secret: bytes

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"Token({self.name!r})"


def parse(text: str, where: str = "token file") -> list[Token]:
    """The tokens of a token file; TokenFileError names the line that is wrong (never its token)."""
    tokens: list[Token] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, secret = line.partition(":")
        name, secret = name.strip(), secret.strip()
        if not colon or not secret:
            raise TokenFileError(f"{where}, line {number}: expected name:token")
        if not NAME.match(name):
            raise TokenFileError(f"{where}, line {number}: the name {name!r} should be 1-64 letters, digits, "
                                 f"'.', '_' or '-'")
        if name in seen:
            raise TokenFileError(f"{where}, line {number}: the name {name!r} is used twice")
        if len(secret) < MIN_LENGTH or any(c.isspace() for c in secret):
            raise TokenFileError(f"{where}, line {number}: the token of {name!r} should be at least "
                                 f"{MIN_LENGTH} characters without spaces")
        seen.add(name)
        tokens.append(Token(name, secret.encode("utf-8")))
    return tokens


class TokenSet:
    """The tokens that may write; `match(presented)` gives the name of the token, or None."""

    def __init__(self, tokens: list[Token], path: Path | None = None):
        self.tokens = tokens
        self.path = path
        self._stamp = self._file_stamp() if path else None
        self.broken: str | None = None  # why a reloaded file gave no tokens

    @classmethod
    def from_settings(cls, settings) -> "TokenSet":
        """From Settings.update_token_file (wins) or Settings.update_token; raises TokenFileError."""
        if settings.update_token_file:
            path = Path(settings.update_token_file)
            tokens = cls._read(path)
            if not tokens:
                raise TokenFileError(f"{path} holds no token; add a line name:token, or unset "
                                     f"GROS_UPDATE_TOKEN_FILE for a read-only service")
            cls._warn_if_readable(path)
            return cls(tokens, path)
        if settings.update_token:
            return cls([Token("default", settings.update_token.encode("utf-8"))])
        return cls([])

    @property
    def enabled(self) -> bool:
        """Whether updates are switched on at all (a token file, even one now broken, counts)."""
        return bool(self.tokens) or self.path is not None

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tokens]

    def match(self, presented: str) -> str | None:
        self._reload_if_changed()
        given = presented.encode("utf-8", errors="replace")
        found = None
        for token in self.tokens:  # no early exit: every token costs the same time
            if hmac.compare_digest(given, token.secret) and found is None:
                found = token.name
        return found

    # --- the file -------------------------------------------------------------------------------
    @staticmethod
    def _read(path: Path) -> list[Token]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise TokenFileError(f"cannot read the token file {path}: {err}") from None
        return parse(text, str(path))

    @staticmethod
    def _warn_if_readable(path: Path) -> None:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            log.warning("the token file %s can be read by other users; chmod 600 it", path)

    def _file_stamp(self):
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _reload_if_changed(self) -> None:
        if self.path is None:
            return
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            tokens = self._read(self.path)
        except TokenFileError as err:
            self.tokens, self.broken = [], str(err)
            log.error("%s; no update token is accepted until it is fixed", err)
            return
        before = set(self.names)
        self.tokens, self.broken = tokens, None
        after = set(self.names)
        log.info("token file %s reloaded: %d token(s)%s%s", self.path, len(tokens),
                 f", added {sorted(after - before)}" if after - before else "",
                 f", revoked {sorted(before - after)}" if before - after else "")
