"""Read the body of ``POST /v1/entities`` into a list of texts, or a small, bounded error.

The request is ``{"text": "..."}`` or ``{"texts": ["...", ...]}``, nothing else. Checking it by
hand rather than with a generic model keeps the cost of a bad request proportional to the
first few problems, not to its size: the shape (an object, one known key, a list not longer
than the limit) is checked before any item is looked at, at most :data:`MAX_ERRORS` problems
are listed, and no answer quotes the input (a 2 MB body of a million numbers once came back as
a 112 MB list of errors, each echoing its item). The checks are the same ones a good client
makes anyway, so an accepted request costs one ``json.loads`` and a loop over its texts.

Errors keep FastAPI's shape, ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``
(422), or ``{"detail": "..."}`` for 400 (the body is not UTF-8) and 413 (a limit).
"""

from __future__ import annotations

import json
from typing import Any

from nerkit.server.settings import ServeSettings

#: The most problems one 422 answer lists; the rest are counted.
MAX_ERRORS = 10
#: The longest unknown key name quoted in an error.
MAX_NAME = 40
KEYS = ("text", "texts")
EXPECTED = 'send a JSON object with exactly one of "text" (a string) or "texts" (a list of strings)'


class RequestProblem(Exception):
    """A request the server refuses: the HTTP status and the ``detail`` to answer with."""

    def __init__(self, status: int, detail: str | list[dict[str, Any]]) -> None:
        super().__init__(detail if isinstance(detail, str) else detail[0]["msg"])
        self.status = status
        self.detail = detail


def problem(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}


def invalid(*problems: dict[str, Any]) -> RequestProblem:
    return RequestProblem(422, list(problems))


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; 400 for bytes that are not UTF-8, 422 for bad JSON."""
    if not body.strip():
        raise invalid(problem([], f"the body is empty; {EXPECTED}", "missing"))
    try:
        return json.loads(body)
    except UnicodeDecodeError as err:
        raise RequestProblem(
            400,
            f"the body is not UTF-8 (byte 0x{body[err.start]:02x} at offset {err.start}); "
            "send JSON encoded as UTF-8",
        ) from None
    except json.JSONDecodeError as err:
        raise invalid(problem(
            [err.pos], f"JSON decode error: {err.msg} at line {err.lineno} column {err.colno}",
            "json_invalid",
        )) from None
    except (ValueError, RecursionError) as err:  # nested too deeply, a 5,000-digit number
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise invalid(problem([], f"JSON decode error: {reason}", "json_invalid")) from None


def texts_of(body: bytes, settings: ServeSettings) -> tuple[list[str], bool]:
    """The texts a request asks to tag, and whether it was one ``text`` (not ``texts``)."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise invalid(problem([], f"the body is a JSON {_kind(data)}; {EXPECTED}", "dict_type"))
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        names = ", ".join(json.dumps(k[:MAX_NAME]) for k in unknown[:5])
        more = f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
        raise invalid(problem([], f"unknown key(s) {names}{more} (Extra inputs are not "
                                  f"permitted); {EXPECTED}", "extra_forbidden"))
    if len(data) != 1:
        given = "both keys are" if data else "no key is"
        raise invalid(problem([], f"{given} given; {EXPECTED}", "exactly_one"))
    if "text" in data:
        text = data["text"]
        if not isinstance(text, str):
            raise invalid(problem(["text"], f'"text" must be a valid string, not a JSON '
                                            f"{_kind(text)}; {EXPECTED}", "string_type"))
        check_texts([text], settings, "text", body)
        return [text], True
    texts = data["texts"]
    if not isinstance(texts, list):
        raise invalid(problem(["texts"], f'"texts" must be a valid list of strings, not a JSON '
                                         f"{_kind(texts)}; {EXPECTED}", "list_type"))
    if len(texts) > settings.max_batch:
        raise RequestProblem(
            413,
            f"batch has {len(texts):,} texts, more than this server's limit of "
            f"{settings.max_batch:,} per request; split it, or start the server with "
            "--max-batch N to raise the limit",
        )
    check_texts(texts, settings, "texts", body)
    return texts, False


def check_texts(texts: list[Any], settings: ServeSettings, key: str, body: bytes) -> None:
    """Each item a string of valid Unicode within the length limit (413 over it)."""
    errors = []
    n_errors = 0
    for i, text in enumerate(texts):
        loc: list[str | int] = [key] if key == "text" else [key, i]
        if not isinstance(text, str):
            n_errors += 1
            if len(errors) < MAX_ERRORS:
                errors.append(problem(loc, f"{_where(loc)} must be a valid string, not a JSON "
                                           f"{_kind(text)}", "string_type"))
        elif len(text) > settings.max_text_chars:
            raise RequestProblem(
                413,
                f"{_where(loc)} has {len(text):,} characters, more than this server's limit of "
                f"{settings.max_text_chars:,}; split it, or start the server with "
                "--max-text-chars N to raise the limit",
            )
    if n_errors > MAX_ERRORS:
        errors.append(problem([key], f"and {n_errors - MAX_ERRORS:,} more items that are not "
                                     "strings", "too_many_errors"))
    if errors:
        raise invalid(*errors)
    if b"\\u" in body or b"\\U" in body:  # only an escape can make a lone surrogate
        for i, text in enumerate(texts):
            _check_unicode(text, [key] if key == "text" else [key, i])


def _check_unicode(text: str, loc: list[str | int]) -> None:
    """JSON may carry lone surrogates (``"\\ud800"``) that no UTF-8 answer can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise invalid(problem(
            loc, f"{_where(loc)} has a lone surrogate U+{ord(text[err.start]):04X} at character "
                 f"{err.start}; send valid Unicode (pair the surrogates or drop them)",
            "string_unicode",
        )) from None


def _where(loc: list[str | int]) -> str:
    return loc[0] if len(loc) == 1 else f"{loc[0]}[{loc[1]}]"  # type: ignore[return-value]


def _kind(value: Any) -> str:
    """The JSON type of a parsed value, in words (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def request_schema(settings: ServeSettings) -> dict[str, Any]:
    """The JSON schema of what :func:`texts_of` accepts, for ``/openapi.json``."""
    text = {"type": "string", "maxLength": settings.max_text_chars,
            "description": "a text to tag (valid Unicode: no lone surrogates)"}
    return {
        "title": "TagRequest",
        "description": 'Exactly one of "text" (one document) or "texts" (a batch, answered in '
                       f"order). The whole body may be at most {settings.max_body_bytes:,} bytes.",
        "type": "object",
        "properties": {
            "text": {**text, "description": "one text to tag"},
            "texts": {"type": "array", "items": text, "maxItems": settings.max_batch,
                      "description": "several texts, answered in order"},
        },
        "additionalProperties": False,
        "oneOf": [{"required": ["text"]}, {"required": ["texts"]}],
    }
