"""The dispatch engine: ``engine`` (the tick), ``policy`` (what to do with a row), ``cadence`` (voice
follow-ups, shared with the call-outcome webhook) and ``report``. Import from the modules themselves."""
