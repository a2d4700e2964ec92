"""Request bodies: encoding and JSON shape are checked on the raw bytes, before parsing.

The size limit itself is Flask's MAX_CONTENT_LENGTH: Werkzeug answers 413 as soon as a
body (declared or streamed) grows past it, so everything here works on a bounded input.
"""

import json
import re
from itertools import accumulate
from urllib.parse import parse_qsl

from flask import abort, current_app, request

from .validation import bounded_decimal, bounded_int

# A product is one flat object; anything this deep is not a product.
JSON_MAX_DEPTH = 32
# JSON string literals, so brackets inside strings are not counted as nesting.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPENERS = frozenset("[{")


class BodyError(ValueError):
    """The body cannot be read as what the endpoint expects; the message says why."""


def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed")


def json_depth(text):
    """How deeply arrays and objects nest in ``text``, found without recursion."""
    skeleton = _JSON_STRING.sub("", text)
    opens = skeleton.count("[") + skeleton.count("{")
    if opens <= JSON_MAX_DEPTH:
        return opens
    steps = (1 if c in _OPENERS else -1 for c in skeleton if c in "[]{}")
    return max(accumulate(steps), default=0)


def parse_json_object(raw):
    """Decode ``raw`` (bytes) as a JSON object; every failure is a BodyError with a reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"The request body is not valid UTF-8 (bad byte at offset {exc.start}).") from None
    if json_depth(text) > JSON_MAX_DEPTH:
        raise BodyError(f"The request body nests arrays or objects more than {JSON_MAX_DEPTH} levels deep.")
    try:
        data = json.loads(text, parse_int=bounded_int, parse_float=bounded_decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BodyError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BodyError("The request body must be a JSON object.")
    return data


def limit_text(limit):
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


def too_large_message():
    return f"The request body is larger than the limit of {limit_text(current_app.config['MAX_CONTENT_LENGTH'])}."


def check_form_encoding():
    """Refuse a urlencoded form whose bytes are not UTF-8 (400), before anything parses it.

    Werkzeug would otherwise drop such a form silently, or keep "%FF" as literal text.
    Runs ahead of CSRFProtect, which reads the form; the cached bytes are parsed again there.
    """
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    raw = request.get_data(cache=True)
    try:
        parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        abort(400, description="The form data is not valid UTF-8; send it from the page's own form.")
