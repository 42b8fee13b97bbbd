"""A small Parquet file with the physical types pandas/pyarrow users produce, for
slipway-data's reader test `parquet_physical_types_map_to_logical`.

    python crates/slipway-data/tests/reference/make_parquet_fixture.py

writes pyarrow_types.parquet next to this file.
"""

import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq

table = pa.table(
    {
        "i8": pa.array([1, -2, None, 4, 5], type=pa.int8()),
        "u32": pa.array([10, 20, 30, None, 50], type=pa.uint32()),
        "f32": pa.array([0.5, None, 1.25, 2.0, -3.5], type=pa.float32()),
        "day": pa.array(
            [dt.date(2024, 1, 31), dt.date(1970, 1, 2), None, dt.date(2000, 2, 29), dt.date(1969, 12, 31)],
            type=pa.date32(),
        ),
        "when": pa.array(
            [dt.datetime(2024, 1, 31, 10, 0, 0, 123456), None, dt.datetime(1970, 1, 1),
             dt.datetime(1969, 12, 31, 23, 59, 59, 999999), dt.datetime(2001, 9, 9, 1, 46, 40)],
            type=pa.timestamp("us", tz="UTC"),
        ),
        "dict": pa.array(["a", "b", None, "a", "c"]).dictionary_encode(),
        "large": pa.array(["x", None, "y", "z", "x"], type=pa.large_string()),
        "flag": pa.array([True, False, None, True, True]),
    }
)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyarrow_types.parquet")
pq.write_table(table, path)
print("wrote", path)
