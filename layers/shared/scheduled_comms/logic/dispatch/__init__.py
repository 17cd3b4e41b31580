"""The dispatch engine, one idea per module: ``engine`` (the tick's passes, claims and takeovers),
``policy`` (send, hold, skip or fail; backoff; expiry), ``cadence`` (voice follow-ups, shared with the
call-outcome webhook) and ``report`` (what a tick did, and its metrics).

Import from the modules: the webhook needs ``cadence`` without loading the engine.
"""
