"""Audio of simulated calls: each party "speaks" in turns (a tone of its own pitch with a
syllable-like envelope), silence between turns; 8 kHz mono, 16-bit.

The regular recording mixes every party and is encoded as GSM 6.10 in a WAV container
(``WAVE_FORMAT_GSM610``, what the seed's "GSM" recordings with ``.wav`` names are) with
libsndfile through ``soundfile``; ``recordings_format = "wav"``, or a machine without
libsndfile, gives 16-bit PCM WAV instead. Multichannel segments are always PCM WAV
(the seed: "uncompressed PCM").
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

RATE = 8000
PITCHES = (220.0, 330.0, 440.0, 550.0)  # customer, agent, further parties

Pcm = npt.NDArray[np.int16]

try:  # libsndfile: GSM 6.10 encoder
    import soundfile  # type: ignore[import-untyped]  # ships no type information

    HAVE_GSM = True
except (ImportError, OSError):  # pragma: no cover - depends on the machine
    soundfile = None
    HAVE_GSM = False


@dataclass(frozen=True)
class Voice:
    """One party's part of the call: when its recording starts and how long it lasts."""

    offset: float  # seconds after the call's start
    duration: float


def _rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def synthesize(seed: str, duration: float, voices: list[Voice]) -> tuple[Pcm, list[Pcm]]:
    """The mixed call and each voice's own channel (same length as its ``duration``)."""
    total = max(1, round(duration * RATE))
    rng = _rng(seed)
    channels = [np.zeros(max(1, round(v.duration * RATE)), dtype=np.float64) for v in voices]
    mixed = np.zeros(total, dtype=np.float64)
    t = 0.3
    speaker = 0
    while t < duration and voices:
        turn = rng.uniform(0.8, 3.0)
        voice = voices[speaker % len(voices)]
        start, end = max(t, voice.offset), min(t + turn, voice.offset + voice.duration, duration)
        if end > start:
            n = round((end - start) * RATE)
            x = np.arange(n) / RATE
            pitch = PITCHES[speaker % len(voices) % len(PITCHES)] * rng.uniform(0.95, 1.05)
            syllables = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3.0, 5.0) * x) ** 2
            fade = np.minimum(1.0, np.minimum(x, x[::-1]) / 0.02)
            tone = 6000.0 * np.sin(2 * np.pi * pitch * x) * syllables * fade
            a = round(start * RATE)
            mixed[a : a + n] += tone[: max(0, total - a)]
            own = channels[speaker % len(voices)]
            b = round((start - voice.offset) * RATE)
            own[b : b + n] += tone[: max(0, len(own) - b)]
        t += turn + rng.uniform(0.2, 0.8)
        speaker += 1
    return _clip(mixed), [_clip(c) for c in channels]


def _clip(values: npt.NDArray[np.float64]) -> Pcm:
    return np.clip(values, -32767, 32767).astype(np.int16)


def pcm_wav(pcm: Pcm) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()


def gsm_wav(pcm: Pcm) -> bytes:
    """GSM 6.10 in a WAV container (1625 bytes a second)."""
    if soundfile is None:  # pragma: no cover - depends on the machine
        raise RuntimeError("GSM 6.10 needs libsndfile (the soundfile package)")
    out = io.BytesIO()
    soundfile.write(out, pcm, RATE, format="WAV", subtype="GSM610")
    return out.getvalue()


def encode(pcm: Pcm, fmt: str) -> tuple[bytes, str]:
    """The file's bytes and its actual format (``gsm`` falls back to ``wav``)."""
    if fmt == "gsm" and HAVE_GSM:
        return gsm_wav(pcm), "gsm"
    if fmt == "gsm":  # pragma: no cover - depends on the machine
        log.warning("recordings: no libsndfile, writing PCM WAV instead of GSM 6.10")
    return pcm_wav(pcm), "wav"


def decode_wav(data: bytes) -> list[Pcm]:
    """The channels of a 16-bit PCM WAV file (a carrier's recording) at ``RATE``."""
    with wave.open(io.BytesIO(data), "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        frames = w.readframes(w.getnframes())
    if width != 2 or channels < 1:
        raise ValueError("only 16-bit PCM WAV recordings are supported")
    samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
    out: list[Pcm] = []
    for c in range(channels):
        pcm = samples[:, c].astype(np.float64)
        if rate != RATE and len(pcm):
            n = max(1, round(len(pcm) * RATE / rate))
            pcm = np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm)
        out.append(_clip(pcm))
    return out


def mix(channels: list[Pcm]) -> Pcm:
    if not channels:
        return np.zeros(1, dtype=np.int16)
    length = max(len(c) for c in channels)
    total = np.zeros(length, dtype=np.float64)
    for c in channels:
        total[: len(c)] += c
    return _clip(total)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
