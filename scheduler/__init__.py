"""Time: the outbox sender and its contact policy, the daily planner, the scheduler's ticks."""
