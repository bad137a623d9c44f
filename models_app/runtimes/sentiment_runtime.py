"""Sentiment with VADER: a lexicon shipped in the package, so it works offline (~40 us a text)."""

from __future__ import annotations

from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_THRESHOLD = 0.1
NEGATIVE_THRESHOLD = -0.1


class VaderRuntime:
    """Compound score in [-1, 1]; Positive above 0.1, Negative below -0.1, else Neutral."""

    kind = "vader"

    def __init__(
        self, *, positive: float = POSITIVE_THRESHOLD, negative: float = NEGATIVE_THRESHOLD
    ) -> None:
        self.analyzer = SentimentIntensityAnalyzer()
        self.positive = positive
        self.negative = negative

    def analyze(self, texts: list[str]) -> list[dict[str, Any]]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> dict[str, Any]:
        score = float(self.analyzer.polarity_scores(text)["compound"])
        if score > self.positive:
            label = "Positive"
        elif score < self.negative:
            label = "Negative"
        else:
            label = "Neutral"
        return {"sentiment_score": score, "classification": label}
