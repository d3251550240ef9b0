"""The customer list: who can walk into the store.

Users already have ``customers.csv`` files in the layout of the service this package replaces
(``customer_id,name,age_range,...``). Only ``customer_id`` is needed to simulate; the other
columns are kept for analysis. A list that cannot be used is reported with the file, the line
and the column at fault.

When no file is configured the built-in list is used: 1,000 invented customers made by
:func:`synthetic_customers` from a fixed seed, the same rows as the shipped ``customers.csv``
(``scripts/make_customers.py`` writes it).
"""

from __future__ import annotations

import codecs
import csv
import functools
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from customersim.config import SETTINGS
from customersim.errors import CustomerListError, excerpt

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "name",
    "age_range",
    "marital_status",
    "family_size",
    "no_of_children",
    "income_bracket",
    "gender",
    "mean_discount_used_by_cust",
    "unique_items_bought_by_cust",
    "mean_selling_price_paid_by_cust",
    "mean_quantity_bought_by_cust",
    "total_discount_used_by_cust",
    "total_coupons_used_by_cust",
    "total_price_paid_by_cust",
    "total_quantity_bought_by_cust",
)
BUILT_IN_SEED = 20260105
BUILT_IN_SIZE = 1000


def load_customers(path: str | os.PathLike[str] | None) -> pd.DataFrame:
    """Load and check a customer list; ``None`` gives the built-in list.

    Returns:
        A frame with a string ``customer_id`` column first and every other column of the file
        as text, in file order.

    Raises:
        CustomerListError: the file is missing, empty, has no ``customer_id`` column, or has a
            blank or duplicate id; the message names the file, the line and the column.
    """
    if path is None:
        return synthetic_customers()
    return _load_file(str(path), *_file_stamp(str(path))).copy()


def load_customer_ids(path: str | os.PathLike[str] | None) -> list[str]:
    """The ids of a customer list, in file order, checked as :func:`load_customers` checks them.

    What the simulation needs, without building a frame: writing a dataset (``generate``)
    never imports pandas. ``None`` gives the ids of the built-in list, ``"1"`` to ``"1000"``.

    Raises:
        CustomerListError: as :func:`load_customers`.
    """
    if path is None:
        return [str(number) for number in range(1, BUILT_IN_SIZE + 1)]
    return list(_load_ids(str(path), *_file_stamp(str(path))))


def load_customer_columns(path: str | os.PathLike[str] | None) -> dict[str, np.ndarray]:
    """Every column of a customer list as an array of text, checked as :func:`load_customers`.

    What segments need to place each customer, without pandas. ``None`` gives the built-in
    list's columns.

    Raises:
        CustomerListError: as :func:`load_customers`.
    """
    if path is None:
        return dict(_synthetic_columns(BUILT_IN_SIZE, BUILT_IN_SEED))
    return dict(_load_columns(str(path), *_file_stamp(str(path))))


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A customer-list frame's columns as arrays of text, as :func:`load_customer_columns` gives."""
    return {name: frame[name].astype(str).to_numpy() for name in frame.columns}


def _file_stamp(path: str) -> tuple[int, int]:
    variable = SETTINGS.env("customers_file")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CustomerListError(f"{path}: customer list file not found ({variable})") from None
    except OSError as error:
        raise CustomerListError(f"{path}: cannot read the customer list: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CustomerListError(f"{path}: is a directory; expected a CSV file ({variable})")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block the read forever, waiting for a writer.
        raise CustomerListError(
            f"{path}: is not a regular file (a pipe or a device?); expected a CSV file ({variable})"
        )
    return info.st_mtime_ns, info.st_size


@functools.lru_cache(maxsize=8)
def _load_file(path: str, _mtime_ns: int, _size: int) -> pd.DataFrame:
    # Cached by path and file stamp: the app and repeated simulations read a list once.
    return _frame(*_checked_rows(_decode(_read(path), path), path))


@functools.lru_cache(maxsize=8)
def _load_ids(path: str, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    header, body = _checked_rows(_decode(_read(path), path), path)
    column = header.index("customer_id")
    return tuple(row[column].strip() for row in body)


@functools.lru_cache(maxsize=8)
def _load_columns(path: str, _mtime_ns: int, _size: int) -> dict[str, np.ndarray]:
    import numpy as np

    header, body = _checked_rows(_decode(_read(path), path), path)
    columns = list(zip(*body, strict=True))
    return {name: np.array([v.strip() for v in values]) for name, values in zip(header, columns, strict=True)}


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CustomerListError(f"{path}: cannot read the customer list: {error.strerror}") from None


def parse_customer_bytes(data: bytes, source: str = "<customers>") -> pd.DataFrame:
    """Parse the bytes of a customer-list file: UTF-8 CSV text (a BOM is allowed).

    Raises:
        CustomerListError: the bytes are not UTF-8 text (another encoding, a Parquet or other
            binary file), or the text is not a usable list; the message names ``source``.
    """
    return parse_customers(_decode(data, source), source)


def _decode(data: bytes, source: str) -> str:
    expected = "a CSV text file in UTF-8 with a customer_id column"
    if data.startswith(b"PAR1"):
        raise CustomerListError(f"{source}: is a Parquet file; expected {expected}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CustomerListError(f"{source}: is UTF-16 text; expected {expected} (save it as UTF-8)")
    if b"\x00" in data:
        raise CustomerListError(f"{source}: is a binary file (it holds NUL bytes); expected {expected}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Count the line of the first bad byte so the message points at it.
        line = data[: error.start].count(b"\n") + 1
        raise CustomerListError(
            f"{source}, line {line}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); expected {expected} (save it as UTF-8)"
        ) from None


def parse_customers(text: str, source: str = "<customers>") -> pd.DataFrame:
    """Parse customer-list CSV text (what :func:`load_customers` does after reading a file).

    ``source`` is the name errors use for the file (an upload's name in the app).
    """
    return _frame(*_checked_rows(text, source))


def _checked_rows(text: str, source: str) -> tuple[list[str], list[list[str]]]:
    """The header (names stripped) and the rows of customer-list CSV text, every row checked."""
    reader = csv.reader(text.splitlines())
    try:
        rows = list(reader)
    except csv.Error as error:  # e.g. a field longer than the csv module's limit
        raise CustomerListError(f"{source}, line {reader.line_num}: not a CSV line: {error}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise CustomerListError(
            f"{source}: the file is empty; expected a header line with a customer_id column"
        )
    header = [cell.strip() for cell in rows[0]]
    if "customer_id" not in header:
        raise CustomerListError(
            f"{source}, line 1: no customer_id column in the header (found: {_names(header)})"
        )
    id_col = header.index("customer_id")
    body = rows[1:]
    if not body:
        raise CustomerListError(f"{source}: the file has a header but no customers")
    seen: dict[str, int] = {}
    for offset, row in enumerate(body):
        line = offset + 2
        if len(row) != len(header):
            if not any(cell.strip() for cell in row):
                raise CustomerListError(f"{source}, line {line}: blank line inside the list")
            raise CustomerListError(
                f"{source}, line {line}: {len(row)} fields where the header has {len(header)}"
            )
        customer_id = row[id_col].strip()
        if not customer_id:
            raise CustomerListError(f"{source}, line {line}, column customer_id: blank id")
        if customer_id in seen:
            raise CustomerListError(
                f"{source}, line {line}, column customer_id: duplicate id {excerpt(customer_id)} "
                f"(first on line {seen[customer_id]})"
            )
        seen[customer_id] = line
    return header, body


def _frame(header: list[str], body: list[list[str]]) -> pd.DataFrame:
    import pandas as pd

    columns = list(zip(*body, strict=True))
    frame = pd.DataFrame(
        {name: pd.array(values, dtype="str") for name, values in zip(header, columns, strict=True)}
    )
    frame["customer_id"] = frame["customer_id"].str.strip()
    return frame[["customer_id", *[c for c in header if c != "customer_id"]]]


def _names(header: list[str], shown: int = 5) -> str:
    if not any(header):
        return "nothing"
    more = f" and {len(header) - shown} more" if len(header) > shown else ""
    return ", ".join(excerpt(name, 20) for name in header[:shown]) + more


_FIRST_NAMES = (
    "Ada",
    "Ben",
    "Carla",
    "Dev",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kiri",
    "Luca",
    "Mina",
    "Nils",
    "Oona",
    "Pavel",
    "Qiu",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
_LAST_NAMES = (
    "Abbott",
    "Berg",
    "Costa",
    "Dahl",
    "Eze",
    "Fischer",
    "Gomez",
    "Haddad",
    "Ivanov",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Sato",
    "Tanaka",
    "Ueda",
    "Vidal",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
)
_AGE_RANGES = ("18-25", "26-35", "36-45", "46-55", "56-70", "70+")


@functools.lru_cache(maxsize=4)
def _synthetic(size: int, seed: int) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(dict(_synthetic_columns(size, seed))).astype("str")


@functools.lru_cache(maxsize=4)
def _synthetic_columns(size: int, seed: int) -> dict[str, np.ndarray]:
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = np.arange(1, size + 1)
    married = rng.random(size) < 0.55
    family = np.where(married, rng.integers(2, 6, size), rng.integers(1, 3, size))
    children = np.maximum(0, family - np.where(married, 2, 1))
    items = rng.integers(5, 900, size)
    quantity = items * rng.uniform(1.0, 4.0, size)
    mean_price = rng.uniform(40, 200, size)
    mean_discount = rng.uniform(0, 25, size)
    visits = rng.integers(5, 200, size)
    columns = {
        "customer_id": ids.astype(str),
        "name": np.array(
            [
                f"{_FIRST_NAMES[a]} {_LAST_NAMES[b]}"
                for a, b in zip(
                    rng.integers(0, len(_FIRST_NAMES), size),
                    rng.integers(0, len(_LAST_NAMES), size),
                    strict=False,
                )
            ]
        ),
        "age_range": np.array(_AGE_RANGES)[rng.integers(0, len(_AGE_RANGES), size)],
        "marital_status": np.where(married, "Married", "Single"),
        "family_size": family.astype(str),
        "no_of_children": children.astype(str),
        "income_bracket": rng.integers(1, 13, size).astype(str),
        "gender": np.where(rng.random(size) < 0.5, "F", "M"),
        "mean_discount_used_by_cust": np.round(-mean_discount, 2).astype(str),
        "unique_items_bought_by_cust": items.astype(str),
        "mean_selling_price_paid_by_cust": np.round(mean_price, 2).astype(str),
        "mean_quantity_bought_by_cust": np.round(quantity / visits, 2).astype(str),
        "total_discount_used_by_cust": np.round(-mean_discount * visits, 2).astype(str),
        "total_coupons_used_by_cust": rng.integers(0, 40, size).astype(str),
        "total_price_paid_by_cust": np.round(mean_price * quantity, 2).astype(str),
        "total_quantity_bought_by_cust": np.round(quantity).astype(int).astype(str),
    }
    return {name: np.asarray(values).astype(str) for name, values in columns.items()}


def synthetic_customers(size: int = BUILT_IN_SIZE, seed: int = BUILT_IN_SEED) -> pd.DataFrame:
    """Invented customers in the column layout of ``customers.csv`` (names from small lists)."""
    return _synthetic(size, seed).copy()


def write_customers(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a customer list as CSV (the shipped file's format)."""
    Path(path).write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
