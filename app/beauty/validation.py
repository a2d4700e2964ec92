"""Product input rules, shared by the HTML form and the JSON API."""

import math
from decimal import Decimal, InvalidOperation

NAME_MAX = 255
PRICE_MAX = Decimal("99999999.99")  # DECIMAL(10,2)
STOCK_MAX = 2**31 - 1  # INT


def _price(value):
    if isinstance(value, bool):
        return None, "Price must be a number."
    if isinstance(value, (int, Decimal)):
        price = Decimal(value)
    elif isinstance(value, float):
        price = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None, "Price is required."
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
    if isinstance(value, int):
        stock = value
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            return None, "Stock must be a whole number."
        stock = int(value)
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None, "Stock must be a whole number."
        stock = int(value)
    elif isinstance(value, str):
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
