"""Text the text tests write: spam/ham messages and a small English corpus (our own words)."""

from __future__ import annotations

import csv

import numpy as np

HAM = [
    "are we still meeting for lunch today", "i will be late, the bus is slow",
    "can you send me the notes from class", "happy birthday! see you tonight",
    "thanks for dinner, it was lovely", "call me when you get home",
    "the meeting moved to three o'clock", "did you feed the cat this morning",
    "let's watch a film on friday", "mum says hello and wants a call",
    "i left my keys at your place", "see you at the station at six",
]
SPAM = [
    "win a free prize now, claim your cash", "urgent: your account won £1000 — click to claim",
    "congratulations! you are selected for a free cruise", "cheap loans, reply yes for cash now",
    "free entry in our weekly draw, text win to 80086", "claim your free ringtone, call now",
    "you have won a guaranteed reward, click the link", "exclusive offer: free gift card today",
]
EXTRA_HAM = ["ok", "sure", "on my way", "love you", "good night", "talk later", "running late"]
EXTRA_SPAM = ["act now", "limited offer", "winner!!", "100% free", "call 0800 now"]


def messages(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs: phrases of each class joined with fillers, ~35 % spam."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        spam = rng.random() < 0.35
        base, extra = (SPAM, EXTRA_SPAM) if spam else (HAM, EXTRA_HAM)
        parts = [base[rng.integers(len(base))]]
        if rng.random() < 0.5:
            parts.append(extra[rng.integers(len(extra))])
        out.append((" ".join(parts), "spam" if spam else "ham"))
    return out


def write_messages_csv(path, n: int = 400, seed: int = 0, with_length: bool = False) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["message", *(["hour"] if with_length else []), "label"])
        rng = np.random.default_rng(seed + 1)
        for text, label in messages(n, seed):
            w.writerow([text, *([int(rng.integers(0, 24))] if with_length else []), label])


SENTENCES = [
    "the little boat sailed across the quiet lake at dawn.",
    "she opened the window and the cold air filled the room.",
    "we walked along the river and talked about the old days.",
    "the garden was full of roses and the bees were busy.",
    "a tall man in a grey coat waited by the station door.",
    "the children laughed as the dog chased its own tail.",
    "after the rain the streets were bright and the sky was clear.",
    "he wrote a long letter to his sister in the north.",
]


def corpus_text(n_sentences: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "\n".join(SENTENCES[i] for i in rng.integers(0, len(SENTENCES), n_sentences)) + "\n"
