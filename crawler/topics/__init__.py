"""Topic tagging: topic specs, term matching with Russian word forms, the engine."""
