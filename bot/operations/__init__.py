"""The operator's side of the bots: metrics, health, the answer log, feedback, statistics."""
