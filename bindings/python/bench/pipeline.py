"""canonicalize + hash + encrypt of the 1 MiB bench artifact: airlock_harp beside the seed.

    python bench/pipeline.py ARTIFACT_FILE [ROUNDS]

Both sides run the seed's ``encrypt_and_submit_artifact`` pipeline on the same text —
``canonical_json.canonicalize``, ``crypto_helpers.sha256_hex``,
``crypto_helpers.aes_gcm_encrypt`` — in alternating rounds in this one process. Prints
``bench <key> <value>`` lines for `cargo xtask bench`: MB/s of each side and the median of
the per-round ratios.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, List, Tuple

import airlock_gateway.canonical_json as seed_jcs
import airlock_gateway.crypto_helpers as seed_crypto

import airlock_harp.canonical_json as ours_jcs
import airlock_harp.crypto_helpers as ours_crypto


def pipeline(jcs: ModuleType, crypto: ModuleType, key: str) -> Callable[[str], Tuple[str, str]]:
    def run(text: str) -> Tuple[str, str]:
        canonical = jcs.canonicalize(text)
        artifact_hash = crypto.sha256_hex(canonical)
        sealed = crypto.aes_gcm_encrypt(key, canonical)
        return artifact_hash, sealed.data

    return run


def timed(run: Callable[[str], Tuple[str, str]], text: str) -> float:
    started = time.perf_counter()
    run(text)
    return time.perf_counter() - started


def main() -> None:
    text = Path(sys.argv[1]).read_text(encoding="utf-8")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    key = ours_crypto.derive_shared_key(
        ours_crypto.generate_x25519_keypair().private_key,
        ours_crypto.generate_x25519_keypair().public_key,
    )
    ours = pipeline(ours_jcs, ours_crypto, key)
    seed = pipeline(seed_jcs, seed_crypto, key)
    if ours(text)[0] != seed(text)[0]:
        print("note: the seed's canonical form of the artifact differs (its RFC 8785 bugs)",
              file=sys.stderr)
    mb = len(text.encode("utf-8")) / 1e6
    ours_times: List[float] = []
    seed_times: List[float] = []
    for _ in range(rounds):
        ours_times.append(timed(ours, text))
        seed_times.append(timed(seed, text))
    print(f"bench python.pipeline.ours {mb / statistics.median(ours_times):.2f}")
    print(f"bench python.pipeline.seed {mb / statistics.median(seed_times):.2f}")
    ratios = [s / o for o, s in zip(ours_times, seed_times)]
    print(f"bench python.pipeline.ours_per_seed {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
