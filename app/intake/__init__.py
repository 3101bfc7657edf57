"""The intake flow: what happens to a message between its arrival in the inbound queue and its place in
the operators' queue (moderation → KB match → routing → follow-up → suggestions → deadline → alerts →
content hold → search index). It sits above the domains: it calls their services, they never import it.

- `context.py`: `PipelineContext`, the typed state one message carries through the steps.
- `steps.py`: the `Step` protocol and the production steps, wired in `default_steps()`.
- `pipeline.py`: `Pipeline`, which drains the queue in batches and runs the steps."""
