"""Product input rules, shared by the HTML form and the JSON API.

Every value is bounded by cheap checks (type, length, digit count, exponent) before any
conversion whose cost grows with the input, so hostile input is refused in microseconds.
"""

import math
import re
from decimal import Decimal, InvalidOperation

NAME_MAX = 255
# A page of the list (the list page, GET /api/products) holds at most this many products.
MAX_PAGE_SIZE = 200
# Query parameters are ASCII digits only (str.isdigit also takes other scripts' digits and
# superscripts), ten at most, so no conversion ever sees a long or foreign number.
WHOLE_PARAM = re.compile("[0-9]{1,10}")
PRICE_MAX = Decimal("99999999.99")  # DECIMAL(10,2)
STOCK_MAX = 2**31 - 1  # INT
# Longest price or stock text (or JSON number literal) looked at; "99999999.99" needs 11.
NUMBER_TEXT_MAX = 40
# Surrogates cannot be stored in utf8mb4; control characters (NUL, C0, DEL, C1) are never a name.
NAME_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class OversizedNumber:
    """A JSON number literal too long to convert; the API's parser yields it instead of a value."""

    __slots__ = ("length",)

    def __init__(self, length):
        self.length = length


def bounded_int(text):
    """``parse_int`` for json.loads: int() of a long literal is slow or refused past 4,300 digits."""
    return OversizedNumber(len(text)) if len(text) > NUMBER_TEXT_MAX else int(text)


def bounded_decimal(text):
    """``parse_float`` for json.loads: keeps prices exact and leaves long literals unconverted."""
    if len(text) > NUMBER_TEXT_MAX:
        return OversizedNumber(len(text))
    try:
        return Decimal(text)
    except InvalidOperation:
        # Only an exponent past Decimal's limits gets here; 10**±1000000 is as far out of range.
        mantissa, _, exponent = text.lower().partition("e")
        return Decimal(f"{mantissa}e{'-' if exponent.startswith('-') else ''}1000000")


def _too_long(field):
    return f"{field} must be at most {NUMBER_TEXT_MAX} characters long."


def _price(value):
    if isinstance(value, bool):
        return None, "Price must be a number."
    if isinstance(value, OversizedNumber):
        return None, _too_long("Price")
    if isinstance(value, int):
        # bit_length is O(1); Decimal(int) of a huge int would not be.
        if value.bit_length() > 64:
            return None, "Price must not be negative." if value < 0 else "Price must be at most 99,999,999.99."
        price = Decimal(value)
    elif isinstance(value, Decimal):
        price = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None, "Price must be a number."
        price = Decimal(str(value))
    elif isinstance(value, str):
        if len(value) > NUMBER_TEXT_MAX:
            return None, _too_long("Price")
        text = value.strip()
        if not text:
            return None, "Price is required."
        if not text.isascii() or "_" in text:
            return None, "Price must be a number, for example 150000 or 12500.50."
        try:
            price = Decimal(text)
        except InvalidOperation:
            return None, "Price must be a number, for example 150000 or 12500.50."
    elif value is None:
        return None, "Price is required."
    else:
        return None, "Price must be a number."
    if not price.is_finite():
        return None, "Price must be a number."
    # Comparisons read the sign and adjusted exponent first, so 1e1000000 costs nothing here.
    if price < 0:
        return None, "Price must not be negative."
    if price > PRICE_MAX:
        return None, "Price must be at most 99,999,999.99."
    if price.as_tuple().exponent < -2:
        return None, "Price can have at most 2 decimal places."
    return price.quantize(Decimal("0.01")), None


def _stock(value):
    if isinstance(value, bool):
        return None, "Stock must be a whole number."
    if isinstance(value, OversizedNumber):
        return None, _too_long("Stock")
    if isinstance(value, int):
        stock = value
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return None, "Stock must be a whole number."
        # Range first: int(Decimal("1e1000000")) would build a million-digit integer.
        if value < 0:
            return None, "Stock must not be negative."
        if value > STOCK_MAX:
            return None, f"Stock must be at most {STOCK_MAX:,}."
        if value != value.to_integral_value():
            return None, "Stock must be a whole number."
        stock = int(value)
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None, "Stock must be a whole number."
        stock = int(value)
    elif isinstance(value, str):
        if len(value) > NUMBER_TEXT_MAX:
            return None, _too_long("Stock")
        text = value.strip()
        if not text:
            return None, "Stock is required."
        digits = text[1:] if text[0] in "+-" else text
        if not digits.isascii() or not digits.isdigit():
            return None, "Stock must be a whole number."
        stock = int(text)
    elif value is None:
        return None, "Stock is required."
    else:
        return None, "Stock must be a whole number."
    if stock < 0:
        return None, "Stock must not be negative."
    if stock > STOCK_MAX:
        return None, f"Stock must be at most {STOCK_MAX:,}."
    return stock, None


def _name(value):
    if value is None:
        return None, "Name is required."
    if not isinstance(value, str):
        return None, "Name must be text."
    name = value.strip()
    if not name:
        return None, "Name is required."
    if len(name) > NAME_MAX:
        return None, f"Name must be at most {NAME_MAX} characters."
    bad = NAME_FORBIDDEN.search(name)
    if bad:
        if "\ud800" <= bad.group() <= "\udfff":
            return None, "Name must be valid Unicode text: it contains an unpaired surrogate."
        return None, f"Name must not contain control characters (found U+{ord(bad.group()):04X})."
    return name, None


def validate_product(data):
    """Return ``(clean, errors)``: clean holds name/price/stock when errors is empty."""
    clean, errors = {}, {}
    for field, check in (("name", _name), ("price", _price), ("stock", _stock)):
        value, error = check(data.get(field))
        if error:
            errors[field] = error
        else:
            clean[field] = value
    return clean, errors


class PageError(ValueError):
    """A list page's query parameter is wrong; the message names it."""


def _whole_param(args, name, default, low, high):
    values = args.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise PageError(f"Query parameter '{name}' is given more than once.")
    value = values[0]
    if not WHOLE_PARAM.fullmatch(value) or not low <= int(value) <= high:
        raise PageError(f"Query parameter '{name}' must be a whole number from {low} to {high}.")
    return int(value)


def page_args(args, default_limit):
    """``(limit, before)`` of a list page from its query string: at most ``limit`` products
    with an id below ``before`` (None: from the newest). Raises PageError naming a bad one."""
    limit = _whole_param(args, "limit", default_limit, 1, MAX_PAGE_SIZE)
    before = _whole_param(args, "before", None, 1, STOCK_MAX)
    return limit, before
