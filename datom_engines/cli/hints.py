"""Library hints in shell terms: the Python calls a hint names, rewritten as the datom commands to run.

The library's errors and warnings carry hints written for Python users ("list the versions with
history()", "force=True"). The command line shows them through :func:`for_shell`, which applies
:data:`RULES` in order. Each rule matches a whole phrase, not a bare word, so a table or project that
happens to be called ``pull()`` is never rewritten; a phrase with no rule is shown unchanged.
``tests/test_cli.py`` checks that every hint the command line can meet comes out without Python
syntax, so a new library hint without a rule fails a test instead of reaching users.
"""

from __future__ import annotations

import re

# (pattern, replacement), applied in this order to every hint (and to the messages in MESSAGE_RULES).
RULES: tuple[tuple[str, str], ...] = (
    # versions
    (r"history\(\) \(or `datom history`\)", "`datom history TABLE`"),
    (r"(with|from|by) history\(\)", r"\1 `datom history TABLE`"),
    (r'\bas_of="([^"]*)"', r"--as-of \1"),
    (r"^version picks an id, as_of picks", "--version picks a version id, --as-of picks"),
    (r"pass an as_of at or after", "pass an --as-of at or after"),
    (r"select (a|the) version by id", r"select \1 version by id with --version"),
    # a hint naming both forms, "f() (or `datom x`)": keep the command
    (r"\b[A-Za-z_][\w.]*\([^()]*\) \((?:or )?(`datom [^`]+`)\)", r"\1"),
    (r"(`datom [^`]+`) \(or [A-Za-z_][\w.]*\([^()]*\)\)", r"\1"),
    # tags
    (r"make one with tag\(\)", "make one with `datom tag NAME`"),
    (r", or do not sign$", ", or pass --no-sign"),
    # git: pull, clone, remotes, credentials
    (r"^pull\(\) (first|to merge)", r"run `datom pull` \1"),
    (r"use datom_engines\.clone\(remote_url, path\) and write through it",
     "clone the data repo with `datom clone REMOTE DIR` and run the command inside DIR (or with --repo DIR); "
     "--store alone only reads"),
    (r"clone it with clone_repo\(remote, path\) and work in the clone",
     "clone it with `datom clone REMOTE DIR` and work in the clone"),
    (r"clone it with clone\(remote, path\) instead", "clone it with `datom clone REMOTE DIR` instead"),
    (r"pass the root of a datom data clone, or create one with clone\(\)/init\(\)",
     "pass the root of a datom data clone with --repo PATH, or create one with `datom clone` or `datom init`"),
    (r"open it with open_repo\(\) or pick another path", "pick another path"),
    (r"add a remote \(init with a remote_url\) first", "add a remote first (`git remote add origin URL`)"),
    (r"pass GitCredentials\(username, token\) \(R uses username 'git' and a personal access token\)",
     "use a personal access token"),
    # projects and stores
    (r"open it with open_project\(path\)", "use it: run datom inside it, or pass --repo PATH"),
    (r"reopen the project \(open_project\(path\)\) so writes go to the new store",
     "run the command again without --store (each command reopens the project) so writes go to the new store"),
    (r"open it first \(datom_engines\.open_project\(path\), clone\(\.\.\.\) or connect\(store\)\), "
     r"or register it in the governance store \(register_project\)",
     "pass --store URL (or --repo CLONE), or set DATOM_GOVERNANCE to a governance store where it is "
     "registered (`datom gov register`)"),
    (r"a project is created with datom_engines\.init\(\.\.\.\)", "a project is created with `datom init`"),
    (r"^use another prefix for this project", "use another --prefix for this project"),
    (r", or force=True$", ", or pass --force"),
    (r"^pass store=$", "pass --store URL"),
    (r"\bin storage_options\b", "in --storage-option KEY=VALUE (or the AWS_* environment variables)"),
    # validation and repair
    (r"with validate\(repair=True\)", "with `datom validate --fix`"),
    (r"; validate\(\) lists missing objects", "; `datom validate` lists missing objects"),
    (r"^run validate\(deep=True\) again$", "run `datom validate --deep --fix` again"),
    (r", or pass sources=\[a store holding a copy\]$", ", or pass --source STORE (a store holding a copy) to --fix"),
    (r"^pass project=<name> to read its tables by name", "name the table PROJECT.TABLE to read it by name"),
    # sync
    (r"narrow the files with a pattern", "narrow the files with --pattern"),
    (r"or continue on errors", "or sync with --continue-on-error"),
    # governance
    (r"use migrate_project\(\) to move its data, or register\(\.\.\., force=True\) to overwrite",
     "use `datom gov migrate` to move its data, or `datom gov register --force` to overwrite"),
    (r"register it first with register_project\(\)", "register it first with `datom gov register`"),
    (r"run migrate_project again", "run `datom gov migrate` again"),
    (r"migrate_project\(\.\.\., project=clone\) does it", "`datom gov migrate --repo CLONE` does it"),
    (r"^call use_governance\(url\) or set (\w+), or pass governance=$",
     r"set \1 to the governance store URL (the `datom gov` commands take --gov URL)"),
    (r"^pass remote= \(a git URL or path\)$", "pass --remote URL (a git URL or path)"),
    (r"^clone it and pass repo=$", "clone it and pass --gov-repo PATH"),
)  # fmt: skip

# Library messages (not hints) that tell Python users what to call.
MESSAGE_RULES: tuple[tuple[str, str], ...] = (
    (r"convert it to CSV or parquet, or read it yourself and write the frame with Project\.write\(\)",
     "convert it to CSV or parquet and write that file"),
)  # fmt: skip

_COMPILED = tuple((re.compile(p), r) for p, r in RULES)
_COMPILED_MESSAGES = tuple((re.compile(p), r) for p, r in MESSAGE_RULES)


def for_shell(hint: str | None) -> str | None:
    """``hint`` with the Python calls it names replaced by the command-line equivalents."""
    if not hint:
        return hint
    for pattern, replacement in _COMPILED:
        hint = pattern.sub(replacement, hint)
    return hint


def message_for_shell(message: str) -> str:
    """An error message with the few Python-only suggestions messages make rewritten for the shell."""
    for pattern, replacement in _COMPILED_MESSAGES:
        message = pattern.sub(replacement, message)
    return message
