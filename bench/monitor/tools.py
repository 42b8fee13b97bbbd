"""The reference tools' side of bench/monitor/run.sh: one drift computation per process, so
that /usr/bin/time sees each tool's own wall time and peak RSS.

  python tools.py make-synthetic OUT_DIR ROWS REF_ROWS
  python tools.py nannyml REF CUR CHUNK_ROWS NUMERIC CATEGORICAL [default|exact|all]
      (comma-separated columns; default: KS with NannyML's default computation and
      chi-square, as issue 15 measures it; exact: the same with exact KS; all: KS,
      Jensen-Shannon, Wasserstein, Hellinger / chi-square, Jensen-Shannon, Hellinger,
      L-infinity)
  python tools.py evidently REF CUR NUMERIC CATEGORICAL
Prints one `name: value unit` line with the time spent in the drift computation itself
(reading the Parquet files excluded).
"""
import os
import sys
import time

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML otherwise tries to phone home

import numpy as np
import pandas as pd


def cols(s):
    return [c for c in s.split(",") if c]


def make_synthetic(out, rows, ref_rows):
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(7)

    def frame(n, shift):
        data = {}
        for i in range(40):
            scale = 1 + i % 5
            data[f"num_{i}"] = rng.normal(shift * (i % 3 == 0), scale, n).round(4)
        for i in range(10):
            k = 3 + 3 * i
            p = np.arange(1, k + 1, dtype=float)
            if shift and i % 2 == 0:
                p = p[::-1]
            data[f"cat_{i}"] = rng.choice([f"c{j}" for j in range(k)], n, p=p / p.sum())
        return pa.table(data)

    pq.write_table(frame(ref_rows, 0.0), os.path.join(out, "synthetic_reference.parquet"), row_group_size=100_000)
    pq.write_table(frame(rows, 0.05), os.path.join(out, "synthetic_current.parquet"), row_group_size=100_000)


def main():
    what = sys.argv[1]
    if what == "make-synthetic":
        make_synthetic(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    ref = pd.read_parquet(sys.argv[2])
    cur = pd.read_parquet(sys.argv[3])
    if what == "nannyml":
        import nannyml as nml
        chunk, numeric, categorical = int(sys.argv[4]), cols(sys.argv[5]), cols(sys.argv[6])
        mode = sys.argv[7] if len(sys.argv) > 7 else "default"
        for c in categorical:
            ref[c] = ref[c].astype(str)
            cur[c] = cur[c].astype(str)
        t = time.perf_counter()
        if mode == "all":
            continuous = ["kolmogorov_smirnov", "jensen_shannon", "wasserstein", "hellinger"]
            categorical_methods = ["chi2", "jensen_shannon", "hellinger", "l_infinity"]
        else:
            continuous, categorical_methods = ["kolmogorov_smirnov"], ["chi2"]
        params = None
        if mode == "exact":
            # NannyML 0.13.1's KS looks for its own key in computation_params, then reads
            # 'calculation_method' from the top level of the dict: both are given.
            params = {"kolmogorov_smirnov": {"calculation_method": "exact"}, "calculation_method": "exact"}
        calc = nml.UnivariateDriftCalculator(
            column_names=numeric + categorical,
            treat_as_categorical=categorical,
            continuous_methods=continuous,
            categorical_methods=categorical_methods,
            chunk_size=chunk,
            computation_params=params,
        )
        calc.fit(ref)
        if mode == "exact":
            ks = calc._column_to_models_mapping[numeric[0]][0]
            assert ks.calculation_method == "exact", ks.calculation_method
        result = calc.calculate(cur)
        df = result.to_df()
        print(f"nannyml_{mode}_drift_seconds: {time.perf_counter() - t:.2f} s")
        print(f"nannyml_{mode}_chunks: {len(df)} chunks")
    elif what == "evidently":
        from evidently import Dataset, DataDefinition, Report
        from evidently.presets import DataDriftPreset
        numeric, categorical = cols(sys.argv[4]), cols(sys.argv[5])
        for c in categorical:
            ref[c] = ref[c].astype(str)
            cur[c] = cur[c].astype(str)
        t = time.perf_counter()
        definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        report = Report([DataDriftPreset()])
        snapshot = report.run(
            current_data=Dataset.from_pandas(cur[numeric + categorical], data_definition=definition),
            reference_data=Dataset.from_pandas(ref[numeric + categorical], data_definition=definition),
        )
        snapshot.dict()
        print(f"evidently_drift_seconds: {time.perf_counter() - t:.2f} s")


main()
