"""The brand's rules at run time: what fired, for whom, and what it wrote.

    facts      what an inbound update did (pure: derived from the engine's input and effects)
    firing     one rule firing for a set of fans, in SQL: the history, then the actions
    events     event triggers, inside the inbound update's transaction
    ticks      schedule, anniversary and inactivity triggers, one SQL pass per rule and zone
    apply      delayed tag, field and cancel actions, applied by the sender when due
    dry_run    who matches now and when their send would land

Rule actions never trigger other rules (a tag a rule adds is not a `tag_added` fact), so
rules cannot loop.
"""
