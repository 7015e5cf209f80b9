"""Seeded synthetic customers with the IBM Telco churn schema, realistic relationships and defects.

The bundled ``data/customers.csv`` is made by this module; later snapshots (and drift tests)
use the ``DistributionShift`` knobs to move distributions away from the reference.

    python -m churn_assets.generator --rows 7043 --seed 7 --out data/customers.csv
    python -m churn_assets.generator --rows 2000 --seed 8 --month-to-month-share 0.85 \
        --charges-multiplier 1.3 --out data/landing/shifted.csv
    python -m churn_assets.generator --rows 2000 --seed 9 --concept-shift 1 \
        --out data/landing/concept_shifted.csv

Tables are made and written ``CHUNK_ROWS`` customers at a time (``iter_customers``), so
writing ten million rows holds one chunk in memory, not the table. A table of at most one
chunk is exactly what a single draw made before chunking (the bundled file is unchanged);
each later chunk draws from its own seeded stream, from the same distribution.
"""

from __future__ import annotations

import argparse
import string
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_CHURN_RATE = 0.265
ONLINE_SERVICES = (
    "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
    "StreamingMovies",
)
PAYMENT_METHODS = (
    "Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)",
)
# Rows generated and written at a time: about 0.4 GB of Python objects per chunk (the whole
# 3M-row table at once held 5 GB). Changing it changes tables larger than one chunk.
CHUNK_ROWS = 250_000
ID_DIGITS, ID_LETTERS = 10_000, 26**5  # "dddd-LLLLL": 10^4 * 26^5 possible ids


@dataclass(frozen=True)
class DistributionShift:
    """Knobs that move the generated population; the defaults reproduce the reference."""

    month_to_month_share: float = 0.55
    fiber_share: float = 0.44
    no_internet_share: float = 0.22
    electronic_check_share: float = 0.34
    senior_share: float = 0.16
    charges_multiplier: float = 1.0
    tenure_multiplier: float = 1.0
    # Concept drift, 0..1: changes how features relate to churn, not their distributions.
    # At 1 the contract and tenure effects are reversed and customers without internet (a
    # safe segment before) churn; the overall churn rate stays at the target.
    concept_shift: float = 0.0


def _customer_ids(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    ids: set[str] = set()
    letters = np.array(list(string.ascii_uppercase))
    while len(ids) < n_rows:
        need = n_rows - len(ids)
        digits = rng.integers(0, 10_000, size=need)
        tails = rng.choice(letters, size=(need, 5))
        ids.update(f"{d:04d}-{''.join(t)}" for d, t in zip(digits, tails, strict=True))
    return rng.permutation(np.array(sorted(ids)))



def _id_codes(ids: np.ndarray) -> np.ndarray:
    """"dddd-LLLLL" ids -> int64 codes (digits * 26^5 + letters in base 26), for set tests."""
    raw = np.frombuffer(np.asarray(ids, dtype="S10").tobytes(), dtype=np.uint8).reshape(-1, 10)
    digits = (raw[:, :4].astype(np.int64) - ord("0")) @ np.array([1000, 100, 10, 1])
    letters = (raw[:, 5:].astype(np.int64) - ord("A")) @ (26 ** np.arange(4, -1, -1))
    return digits * ID_LETTERS + letters


def _id_texts(codes: np.ndarray) -> np.ndarray:
    digits, letters = np.divmod(codes, ID_LETTERS)
    chars = np.empty((codes.size, 10), dtype=np.uint8)
    for position, power in enumerate((1000, 100, 10, 1)):
        chars[:, position] = ord("0") + digits // power % 10
    chars[:, 4] = ord("-")
    for position in range(5):
        chars[:, 5 + position] = ord("A") + letters // 26 ** (4 - position) % 26
    return chars.view("S10").ravel().astype(str).astype(object)


def _fresh_customer_ids(rng: np.random.Generator, n_rows: int, taken: np.ndarray
                        ) -> np.ndarray:
    """``n_rows`` distinct random ids, none of whose codes is in the sorted array ``taken``:
    ids stay unique across chunks without holding the earlier chunks' strings."""
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < n_rows:
        codes = rng.integers(0, ID_DIGITS * ID_LETTERS, size=n_rows - chosen.size)
        position = np.searchsorted(taken, codes).clip(max=max(taken.size - 1, 0))
        fresh = codes[taken[position] != codes] if taken.size else codes
        merged = np.concatenate([chosen, fresh])
        _, first = np.unique(merged, return_index=True)
        chosen = merged[np.sort(first)]  # drop repeats, keep the draw order
    return _id_texts(chosen)

def _yes_no(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, "Yes", "No")


def _contracts(rng: np.random.Generator, tenure: np.ndarray, m2m_share: float) -> np.ndarray:
    # Long-tenure customers hold longer contracts; m2m_share moves the population share
    # (the default 0.55 gives about 60% month-to-month, close to Telco's 55%).
    loyalty = tenure / 72.0
    p_m2m = np.clip(m2m_share * (1.6 - 1.2 * loyalty), 0.02, 0.97)
    p_two = (1 - p_m2m) * np.clip(0.25 + 0.6 * loyalty, 0, 0.95)
    draw = rng.random(tenure.size)
    return np.select(
        [draw < p_m2m, draw < p_m2m + p_two], ["Month-to-month", "Two year"], "One year"
    )


def _churn_logit(
    frame: pd.DataFrame, total_internet: np.ndarray, concept_shift: float = 0.0
) -> np.ndarray:
    contract = frame["Contract"].to_numpy()
    internet = frame["InternetService"].to_numpy()
    z = (
        1.25 * (contract == "Month-to-month")
        - 1.45 * (contract == "Two year")
        + 0.85 * (internet == "Fiber optic")
        - 0.9 * (internet == "No")
        + 0.55 * (frame["PaymentMethod"].to_numpy() == "Electronic check")
        + 0.3 * (frame["PaperlessBilling"].to_numpy() == "Yes")
        + 0.3 * frame["SeniorCitizen"].to_numpy()
        - 0.45 * (frame["TechSupport"].to_numpy() == "Yes")
        - 0.4 * (frame["OnlineSecurity"].to_numpy() == "Yes")
        - 0.2 * (frame["Dependents"].to_numpy() == "Yes")
        - 1.6 * np.log1p(frame["tenure"].to_numpy()) / np.log(73)
        + 0.012 * (frame["MonthlyCharges"].to_numpy() - 65)
        + 0.1 * total_internet
    )
    if concept_shift:  # skipped at 0, so the reference data stays byte for byte the same
        # Subtracting twice an effect reverses it at concept_shift=1 (halves it at 0.25).
        log_tenure = np.log1p(frame["tenure"].to_numpy()) / np.log(73)
        z = z - 2 * concept_shift * (
            1.25 * (contract == "Month-to-month") - 1.45 * (contract == "Two year")
            - 1.6 * log_tenure
        ) + 2.5 * concept_shift * (internet == "No")
    return 1.25 * z


def _churn_intercept(logit: np.ndarray, rate: float) -> float:
    low, high = -10.0, 10.0
    for _ in range(60):  # bisection on the intercept so the expected churn rate is `rate`
        mid = (low + high) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() > rate:
            high = mid
        else:
            low = mid
    return low


def generate_customers(
    n_rows: int = 7043,
    seed: int = 7,
    shift: DistributionShift | None = None,
    churn_rate: float = TARGET_CHURN_RATE,
) -> pd.DataFrame:
    """Return ``n_rows`` customers with the Telco columns, in the CSV's textual form.

    ``churn_rate`` is the expected churn rate of the *reference* population (default
    covariate knobs). The covariate knobs move who the customers are, never how churn
    depends on them (pure covariate shift: P(churn | features) is unchanged), so a riskier
    population churns more. ``concept_shift`` changes P(churn | features), with the
    reference churn rate kept. The same rows as ``iter_customers`` yields, in one frame.
    """
    chunks = list(iter_customers(n_rows, seed, shift, churn_rate))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def iter_customers(
    n_rows: int = 7043,
    seed: int = 7,
    shift: DistributionShift | None = None,
    churn_rate: float = TARGET_CHURN_RATE,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """``generate_customers`` in frames of at most ``chunk_rows`` rows (index continuing
    from chunk to chunk). Chunk 0 draws from ``seed`` exactly as one draw of its size would;
    chunk i > 0 from the seed sequence (seed, i). The churn intercept is fitted once, on
    chunk 0's reference population, so every chunk has the same P(churn | features)."""
    if n_rows < 1:
        raise ValueError(f"n_rows must be positive, got {n_rows}")
    shift = shift or DistributionShift()
    reference = DistributionShift(concept_shift=shift.concept_shift)
    intercept, taken = 0.0, np.empty(0, dtype=np.int64)
    for index, start in enumerate(range(0, n_rows, chunk_rows)):
        rows = min(chunk_rows, n_rows - start)
        chunk_seed = seed if index == 0 else [seed, index]
        frame, logit, rng = _population(rows, chunk_seed, shift, None if index == 0 else taken)
        if index == 0:
            # The intercept is fitted on the same seed's reference population: fitting it on
            # the shifted rows would quietly change P(churn | features) with every knob.
            reference_logit = logit if shift == reference else \
                _population(rows, chunk_seed, reference)[1]
            intercept = _churn_intercept(reference_logit, churn_rate)
        if start + rows < n_rows:  # later chunks must not repeat these ids
            taken = np.union1d(taken, _id_codes(frame["customerID"].to_numpy()))
        probability = 1 / (1 + np.exp(-(logit + intercept)))
        frame["Churn"] = _yes_no(rng.random(rows) < probability)
        frame.index = pd.RangeIndex(start, start + rows)
        yield frame


def _population(
    n_rows: int, seed: int | list[int], shift: DistributionShift,
    taken_ids: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray, np.random.Generator]:
    """The customers without the label, their churn logits (no intercept) and the generator
    positioned where the label draw comes next. ``taken_ids``: codes of ids earlier chunks
    used (None for the first chunk, whose ids are drawn as before chunking)."""
    rng = np.random.default_rng(seed)
    n = n_rows

    new_customer = rng.random(n) < 0.3
    tenure = np.where(new_customer, rng.exponential(6.0, n), rng.uniform(1, 80, n))
    tenure = np.clip(np.ceil(tenure * shift.tenure_multiplier), 1, 72).astype(int)
    tenure[rng.random(n) < 0.0016] = 0  # brand-new customers: no bill yet, blank TotalCharges

    senior = (rng.random(n) < shift.senior_share).astype(int)
    partner = rng.random(n) < 0.35 + 0.25 * (tenure / 72)
    dependents = rng.random(n) < np.where(partner, 0.5, 0.1)
    phone = rng.random(n) < 0.9
    multiple = np.where(phone, _yes_no(rng.random(n) < 0.3 + 0.4 * (tenure / 72)),
                        "No phone service")
    fiber_cut = shift.fiber_share
    draw = rng.random(n)
    internet = np.select(
        [draw < fiber_cut, draw < fiber_cut + shift.no_internet_share], ["Fiber optic", "No"], "DSL"
    )
    has_internet = internet != "No"
    services = {}
    for name, base in zip(ONLINE_SERVICES, (0.35, 0.4, 0.4, 0.35, 0.45, 0.45), strict=True):
        taken = rng.random(n) < base + 0.25 * (tenure / 72)
        services[name] = np.where(has_internet, _yes_no(taken), "No internet service")
    total_internet = sum((services[s] == "Yes").astype(int) for s in ONLINE_SERVICES)

    contract = _contracts(rng, tenure, shift.month_to_month_share)
    paperless = rng.random(n) < np.where(internet == "Fiber optic", 0.75, 0.5)
    other = (1 - shift.electronic_check_share) / 3
    p_pay = [shift.electronic_check_share, other, other, other]
    payment = rng.choice(np.array(PAYMENT_METHODS), size=n, p=p_pay)

    monthly = (
        20.0 * phone
        + 5.0 * (multiple == "Yes")
        + np.select([internet == "Fiber optic", internet == "DSL"], [50.0, 27.0], 0.0)
        + 5.0 * total_internet
        + rng.normal(0, 2.0, n)
    )
    monthly = np.clip(monthly * shift.charges_multiplier, 18.25, 118.75 * shift.charges_multiplier)
    monthly = np.round(np.maximum(monthly, 18.25), 2)
    total = np.round(monthly * tenure * rng.normal(1.0, 0.05, n), 2)
    total_text = np.where(tenure == 0, " ", np.char.mod("%.2f", np.maximum(total, monthly)))

    frame = pd.DataFrame(
        {
            "customerID": _customer_ids(rng, n) if taken_ids is None
            else _fresh_customer_ids(rng, n, taken_ids),
            "gender": rng.choice(["Female", "Male"], size=n),
            "SeniorCitizen": senior,
            "Partner": _yes_no(partner),
            "Dependents": _yes_no(dependents),
            "tenure": tenure,
            "PhoneService": _yes_no(phone),
            "MultipleLines": multiple,
            "InternetService": internet,
            **services,
            "Contract": contract,
            "PaperlessBilling": _yes_no(paperless),
            "PaymentMethod": payment,
            "MonthlyCharges": monthly,
            "TotalCharges": total_text,
        }
    )
    return frame, _churn_logit(frame, total_internet, shift.concept_shift), rng


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=7043)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--churn-rate", type=float, default=TARGET_CHURN_RATE)
    parser.add_argument("--out", type=Path, required=True, help=".csv or .parquet")
    for knob in fields(DistributionShift):
        parser.add_argument(f"--{knob.name.replace('_', '-')}", type=float, default=knob.default)
    return parser.parse_args(argv)


def write_customers(args: argparse.Namespace) -> str:
    """Generate from parsed options (rows, seed, churn_rate, the shift knobs) and write
    ``args.out`` as CSV or Parquet, one chunk at a time; returns the line to print."""
    shift = DistributionShift(**{k.name: getattr(args, k.name) for k in fields(DistributionShift)})
    rows, churned = write_customer_file(args.out, args.rows, args.seed, shift, args.churn_rate)
    return f"wrote {rows} customers ({churned / rows:.1%} churn) to {args.out}"


def write_customer_file(
    out: Path, n_rows: int, seed: int = 7, shift: DistributionShift | None = None,
    churn_rate: float = TARGET_CHURN_RATE, chunk_rows: int = CHUNK_ROWS,
) -> tuple[int, int]:
    """Write ``iter_customers`` to ``out`` (.parquet, else CSV) chunk by chunk: memory stays
    at one chunk whatever ``n_rows``. Returns (rows written, churned rows)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = churned = 0
    writer = None
    try:
        for chunk in iter_customers(n_rows, seed, shift, churn_rate, chunk_rows):
            if out.suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:  # pandas metadata from the first chunk: a RangeIndex-free
                    writer = pq.ParquetWriter(out, table.schema)  # frame reads back as written
                writer.write_table(table)
            else:
                chunk.to_csv(out, index=False, header=rows == 0, mode="w" if rows == 0 else "a")
            rows += len(chunk)
            churned += int(chunk["Churn"].eq("Yes").sum())
    finally:
        if writer is not None:
            writer.close()
    return rows, churned


def main(argv: list[str] | None = None) -> None:
    print(write_customers(_parse_args(argv)))


if __name__ == "__main__":
    main()
