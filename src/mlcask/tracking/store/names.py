"""Random readable names for runs and logged models, shaped like MLflow's ("brave-otter-417")."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able", "agile", "amber", "ample", "bold", "brave", "bright", "brisk", "calm", "clever", "cool", "crisp",
    "daring", "deft", "eager", "early", "fair", "fast", "fierce", "fond", "gentle", "glad", "golden", "grand",
    "happy", "hardy", "honest", "jolly", "keen", "kind", "lively", "loyal", "lucid", "merry", "mighty", "modest",
    "neat", "nimble", "noble", "patient", "polite", "proud", "quick", "quiet", "rapid", "rare", "silver", "sleek",
    "smart", "steady", "sunny", "swift", "tidy", "upbeat", "valiant", "vivid", "warm", "wise", "witty", "zesty",
)

_ANIMALS = (
    "ant", "auk", "bass", "bat", "bear", "bee", "bison", "boar", "carp", "cat", "cod", "crab", "crane", "crow",
    "deer", "dove", "duck", "eel", "elk", "finch", "fox", "frog", "gnat", "goat", "hare", "hawk", "hen", "heron",
    "ibis", "jay", "koala", "lark", "lion", "lynx", "mole", "moth", "mule", "newt", "owl", "ox", "panda", "perch",
    "pike", "puma", "quail", "ram", "robin", "seal", "shrew", "skunk", "slug", "snail", "stork", "swan", "tern",
    "toad", "trout", "vole", "wasp", "wolf", "wren", "yak", "zebra",
)


def random_name() -> str:
    """``adjective-animal-number``, at most 20 characters."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}-{random.randint(0, 999)}"
