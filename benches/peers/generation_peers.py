#!/usr/bin/env python3
"""The peers of `benches/compare.rs`: SDV's GaussianCopula and CTGAN, and imbalanced-learn's
SMOTE-NC, on the demo tables.

Usage: generation_peers.py SHARED_DIR OUT_DIR [EPOCHS] [PEERS]

PEERS is a comma-separated list among sdv_gaussian_copula, sdv_ctgan, sdv_tvae and
imblearn_smote_nc (default: all but sdv_tvae); EPOCHS applies to CTGAN and TVAE (default 100).

Prepares each table (the same columns and the same stratified 80/20 split the Rust side reads),
runs every peer on the training rows, unconditionally (as many rows as the training set) and
conditioned on the rarest class with at least 15 rows (200 rows; smaller classes leave too few hold-out rows to measure recall), and writes OUT_DIR/manifest.json with timings and
what failed. Needs `pip install sdv imbalanced-learn` (not part of SAIL-KG; never run in CI).
"""

import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def split(frame, target, seed=7, fraction=0.2):
    """Stratified: round(fraction * count) of every class held out, at least one kept."""
    rng = np.random.default_rng(seed)
    train, holdout = [], []
    for _, rows in frame.groupby(target, sort=True).groups.items():
        rows = list(rows)
        rng.shuffle(rows)
        held = min(int(round(fraction * len(rows))), len(rows) - 1)
        holdout += rows[:held]
        train += rows[held:]
    return frame.loc[sorted(train)].reset_index(drop=True), frame.loc[sorted(holdout)].reset_index(drop=True)


def tables(shared):
    demo = os.path.join(shared, "data", "demo")
    disasters = pd.read_csv(os.path.join(demo, "disasters.csv"))
    movies = pd.read_json(os.path.join(demo, "movies.json"))
    numeric = ["US Gross", "Worldwide Gross", "Production Budget", "Running Time min",
               "Rotten Tomatoes Rating", "IMDB Rating", "IMDB Votes"]
    for column in numeric:
        movies[column] = pd.to_numeric(movies[column], errors="coerce")
    movies = movies[numeric + ["MPAA Rating", "Creative Type", "Major Genre"]]
    movies = movies[movies["Major Genre"].notna()].reset_index(drop=True)
    with open(os.path.join(demo, "earthquakes.json")) as f:
        features = json.load(f)["features"]
    quakes = pd.DataFrame([
        {"mag": p["mag"], "depth": g["coordinates"][2], "latitude": g["coordinates"][1],
         "longitude": g["coordinates"][0], "gap": p["gap"], "rms": p["rms"], "sig": p["sig"],
         "magType": p["magType"]}
        for p, g in ((f["properties"], f["geometry"]) for f in features)
    ])
    quakes = quakes[quakes["magType"].notna()].reset_index(drop=True)
    return [("disasters", disasters, "Entity"), ("movies", movies, "Major Genre"), ("earthquakes", quakes, "magType")]


def timed(action):
    start = time.perf_counter()
    try:
        return action(), time.perf_counter() - start, None
    except Exception as error:  # a peer's failure is a result
        return None, time.perf_counter() - start, f"{type(error).__name__}: {error}"[:300]


def single(sample):
    return next(iter(sample.values())) if isinstance(sample, dict) else sample


def sdv_peer(kind, train, target, rare, n, n_rare, out, name, epochs):
    from sdv.metadata import Metadata
    from sdv.sampling import Condition
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    metadata = Metadata.detect_from_dataframes(data={"data": train}, infer_keys=None)
    for column in train.columns:  # every column is data here, none a key or PII
        sdtype = "numerical" if pd.api.types.is_numeric_dtype(train[column]) else "categorical"
        metadata.update_column(column_name=column, table_name="data", sdtype=sdtype)
    if kind == "sdv_gaussian_copula":
        make = lambda: GaussianCopulaSynthesizer(metadata)  # noqa: E731
    elif kind == "sdv_tvae":
        make = lambda: TVAESynthesizer(metadata, epochs=epochs)  # noqa: E731
    else:
        make = lambda: CTGANSynthesizer(metadata, epochs=epochs)  # noqa: E731
    runs = 3 if kind == "sdv_gaussian_copula" else 1
    fits, samples = [], []
    for _ in range(runs):
        synthesizer = make()
        # SDV 2 takes and gives single tables as {name: frame}.
        _, fit_seconds, error = timed(lambda: synthesizer.fit({"data": train}))
        if error:
            return {"error": error}
        sample, sample_seconds, error = timed(lambda: synthesizer.sample(num_rows=n))
        if error:
            return {"error": error}
        sample = single(sample)
        fits.append(fit_seconds)
        samples.append(sample_seconds)
    path = os.path.join(out, f"{name}.{kind}.csv")
    sample.to_csv(path, index=False)
    result = {"fit_seconds": float(np.median(fits)), "sample_seconds": float(np.median(samples)),
              "rows": len(sample), "csv": path}
    condition = Condition(num_rows=n_rare, column_values={target: rare})
    rare_sample, seconds, error = timed(lambda: single(synthesizer.sample_from_conditions([condition])))
    result["rare_seconds"] = seconds
    if error or rare_sample is None or len(rare_sample) == 0:
        result["rare_error"] = error or "no rows"
    else:
        rare_path = os.path.join(out, f"{name}.{kind}.rare.csv")
        rare_sample.to_csv(rare_path, index=False)
        result["rare_rows"] = len(rare_sample)
        result["rare_csv"] = rare_path
    return result


def smote_peer(train, target, rare, n_rare, out, name):
    from imblearn.over_sampling import SMOTE, SMOTENC

    x = train.drop(columns=[target]).copy()
    categorical = [i for i, c in enumerate(x.columns) if not pd.api.types.is_numeric_dtype(x[c])]
    for column in x.columns:  # SMOTE takes no missing values
        if pd.api.types.is_numeric_dtype(x[column]):
            x[column] = x[column].fillna(x[column].median())
        else:
            x[column] = x[column].fillna("(missing)").astype(str)
    y = train[target].astype(str)
    count = int((y == rare).sum())
    strategy = {rare: count + n_rare}
    k = min(5, count - 1)
    sampler = (SMOTENC(categorical_features=categorical, sampling_strategy=strategy, k_neighbors=k, random_state=7)
               if categorical else SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=7))
    resampled, seconds, error = timed(lambda: sampler.fit_resample(x, y))
    if error:
        return {"rare_error": error, "rare_seconds": seconds}
    xs, ys = resampled
    new = xs.iloc[len(x):].copy()
    new[target] = ys.iloc[len(x):].values
    new = new[train.columns]
    path = os.path.join(out, f"{name}.imblearn_smote_nc.rare.csv")
    new.to_csv(path, index=False)
    return {"rare_seconds": seconds, "rare_rows": len(new), "rare_csv": path}


def main():
    shared, out = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    peers = sys.argv[4].split(",") if len(sys.argv) > 4 else ["sdv_gaussian_copula", "sdv_ctgan", "imblearn_smote_nc"]
    os.makedirs(out, exist_ok=True)
    import imblearn
    import sdv
    manifest = {"versions": {"sdv": sdv.__version__, "imbalanced-learn": imblearn.__version__,
                             "pandas": pd.__version__}, "ctgan_epochs": epochs, "epochs": epochs, "datasets": []}
    for name, frame, target in tables(shared):
        counts = frame[target].value_counts()
        rare = str(counts[counts >= 15].index[-1])
        train, holdout = split(frame, target)
        train_path, holdout_path = os.path.join(out, f"{name}.train.csv"), os.path.join(out, f"{name}.holdout.csv")
        train.to_csv(train_path, index=False)
        holdout.to_csv(holdout_path, index=False)
        n, n_rare = len(train), 200
        entry = {"name": name, "target": target, "rare": rare, "rare_train_rows": int((train[target] == rare).sum()),
                 "train_csv": train_path, "holdout_csv": holdout_path, "n": n, "n_rare": n_rare, "peers": {}}
        for kind in [k for k in peers if k.startswith("sdv_")]:
            print(f"{name}: {kind} ...", file=sys.stderr, flush=True)
            entry["peers"][kind] = sdv_peer(kind, train, target, rare, n, n_rare, out, name, epochs)
        if "imblearn_smote_nc" in peers:
            print(f"{name}: imblearn SMOTE-NC ...", file=sys.stderr, flush=True)
            entry["peers"]["imblearn_smote_nc"] = smote_peer(train, target, rare, n_rare, out, name)
        manifest["datasets"].append(entry)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
