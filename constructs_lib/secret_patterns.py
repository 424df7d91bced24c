"""What a secret looks like, for refusing one in the deployment file or the synthesized JSON.

Values written into the deployment file end up in instance metadata, in the
synthesized JSON and in Terraform state, all readable by far more people than
should hold a credential. Secrets belong in Secret Manager; the file names the
secret (``auth.secret``, ``server.hf_token_secret``) and each VM reads it at boot.
"""

from __future__ import annotations

import re

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an API key (sk-...)", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}")),
    ("a Hugging Face token (hf_...)", re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")),
    ("a private key (-----BEGIN ...)", re.compile(r"-----BEGIN")),
    ("a Google API key (AIza...)", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}")),
    ("an AWS access key (AKIA...)", re.compile(r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}")),
    ("a GitHub token (ghp_...)", re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}")),
    ("a credential (--api-key)", re.compile(r"--api-key[= ]+[^\s-]")),
    ("a credential (--hf-token)", re.compile(r"--hf-token[= ]+[^\s-]")),
)
"""(what it is, how to recognise it): well-known credential formats."""

SECRET_FLAGS = ("--api-key", "--hf-token")
"""Server flags whose value is a credential whatever it looks like."""

WHERE_INSTEAD = (
    "keep secrets out of the deployment file: store the value in Secret Manager and name the secret "
    "in auth.secret (the server's API key) or server.hf_token_secret (a Hugging Face token)"
)


def secret_kind(value: str) -> str | None:
    """What kind of secret ``value`` contains, or None when it looks like none."""
    for kind, pattern in SECRET_PATTERNS:
        if pattern.search(value):
            return kind
    flag = value.split("=", 1)[0]
    if flag in SECRET_FLAGS:
        return f"a credential ({flag})"
    return None
